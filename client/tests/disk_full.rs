//! A real full disk under the hub: its data directory on a small tmpfs that the
//! test mounts itself and fills with another file, as when something else on
//! the machine eats the space. Sends are refused with `storage_full`, nothing
//! stored is damaged, and service resumes when the space comes back.
//!
//! Mounting needs root (CI runs as root); elsewhere the test says SKIPPED.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Net, flush, queue_many};
use lianxi_node::home::Home;
use lianxi_node::node::Node;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, bytes: u64) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(Tmpfs(at.to_owned()))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fill the filesystem holding `path` completely, then give back `leave` bytes.
fn fill_leaving(path: &Path, leave: u64) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0x5au8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    let _ = f.sync_all();
    f.set_len(written.saturating_sub(leave)).unwrap();
    f.sync_all().unwrap();
}

#[test]
fn a_full_disk_refuses_sends_damages_nothing_and_service_resumes() {
    let mut net = Net::new();
    let data = net.hub_data();
    let _disk = match Tmpfs::mount(&data, 16 << 20) {
        Ok(t) => t,
        Err(why) => {
            eprintln!("SKIPPED: cannot mount a tmpfs for the hub's data ({why}); needs root");
            return;
        }
    };
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let c = net.node("zj", "浙江省中小企业协会", "provincial", "secretary");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let node = Node::open(Home::new(&a.home)).unwrap();

    // Something else on the disk leaves the hub about 1.5 MB.
    let filler = data.join("other-program.dat");
    fill_leaving(&filler, 1_500_000);
    queue_many(&node, &rt, 30, "gd", 100_000);
    let r = flush(&node, &rt);
    assert!(!r.sent.is_empty(), "some fit in what is left");
    assert!(!r.failed.is_empty(), "the rest do not");
    for (_, e) in &r.failed {
        assert_eq!(e.code, lianxi_node::ErrorCode::StorageFull, "{e}");
    }
    let stored = r.sent.len();
    let outbox = a.ok(&["outbox"]);
    let waiting = outbox["outbox"]
        .as_array()
        .map(|v| v.iter().filter(|e| e["state"] != "sent").count())
        .unwrap_or_default();
    assert_eq!(waiting, 30 - stored, "refused sends stay queued: {outbox}");

    // The hub keeps serving: another node's small send is answered (stored
    // or refused with the same code, never a broken connection).
    let (ok, v) = c.run(&[
        "send",
        "bulletin",
        "--to",
        "gd",
        "--title",
        "小通知",
        "--body",
        "短",
    ]);
    assert!(
        ok || v.to_string().contains("storage_full"),
        "a clear answer while full: {v}"
    );

    // What was acknowledged is intact and is delivered.
    assert!(
        b.ok(&["sync"])["received"].as_u64().unwrap() as usize >= stored,
        "everything acknowledged arrives"
    );
    {
        let conn = rusqlite::Connection::open_with_flags(
            data.join("hub.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            check, "ok",
            "the hub's database is intact while the disk is full"
        );
    }

    // The other program frees its space: the held-back sends go through.
    std::fs::remove_file(&filler).unwrap();
    let mut total = stored;
    for _ in 0..10 {
        if total == 30 {
            break;
        }
        total += flush(&node, &rt).sent.len();
    }
    assert_eq!(total, 30, "every refused send went out once space returned");
    b.ok(&["sync"]);
    let titles: Vec<String> = b
        .titles()
        .into_iter()
        .filter(|t| t.starts_with("批量"))
        .collect();
    assert_eq!(titles.len(), 30, "each exactly once: {titles:?}");
    let unique: std::collections::BTreeSet<_> = titles.iter().collect();
    assert_eq!(unique.len(), 30, "no duplicates");
}
