//! Hostile members (issue "Hostile members"): a member's node that is modified,
//! compromised or buggy, driven as a rogue node over the real hub, and what
//! every other node does with what it sends: refused with its code, or
//! harmless, and everyone else still served.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::rogue::Rogue;
use common::{Net, raw_client, raw_session};
use lianxi_shared::payload::{Attachment, Forward};
use lianxi_shared::{Bulletin, Payload};

fn bulletin(title: &str) -> Payload {
    Payload::Bulletin(Bulletin {
        title: title.into(),
        body: "正文".into(),
        ..Default::default()
    })
}

/// `sync`, and how many arrivals it refused (each with its reason).
fn synced_rejections(node: &common::Node) -> u64 {
    let r = node.ok(&["sync"]);
    let n = r["rejected"].as_u64().unwrap();
    let why = r["rejections"].as_array().unwrap();
    assert_eq!(why.len() as u64, n, "each refusal says why: {r}");
    assert!(why.iter().all(|e| e["code"].is_string()), "{r}");
    n
}

#[test]
fn terminal_controls_and_unsafe_attachment_names_are_refused_at_send_and_on_receipt() {
    let mut net = Net::new();
    net.start_hub();
    let nat = net.node("nat", "全国中小企业协会", "national", "secretary");
    let gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let forged = "\r\u{1b}[2K2026-01-01 nat 伪造";
    // The stock CLI refuses it before anything is queued.
    let code = nat.fails(&[
        "send", "bulletin", "--to", "gd", "--title", forged, "--body", "x",
    ]);
    assert_eq!(code, "bad_payload");
    // A modified node sends it anyway; the hub cannot read it and stores it;
    // the recipient refuses it on receipt.
    let rogue = Rogue::new(&nat.home);
    rogue.send(&["gd"], &bulletin(forged)).unwrap();
    rogue
        .send(&["gd"], &bulletin("标题\u{1b}]0;pwned\u{7}"))
        .unwrap();
    rogue
        .send(&["gd"], &bulletin("rlo \u{202e}fdp.exe"))
        .unwrap();
    for name in [".bashrc", "-rf", "a\nb.txt", "x\u{1b}[31m.pdf"] {
        let p = Payload::Bulletin(Bulletin {
            title: "附件".into(),
            attachments: vec![Attachment {
                name: name.into(),
                data: b"data".to_vec(),
            }],
            ..Default::default()
        });
        rogue.send(&["gd"], &p).unwrap();
    }
    rogue.send(&["gd"], &bulletin("正常的通知")).unwrap();
    assert_eq!(synced_rejections(&gd), 7, "every unsafe message is refused");
    assert_eq!(gd.titles(), vec!["正常的通知".to_owned()]);
    // Plain-text output never carries a control character, whatever is stored.
    let out = std::process::Command::new(common::bin("lianxi"))
        .args(["--home", common::s(&gd.home), "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!out.stdout.contains(&0x1b));
}

#[test]
fn a_forwarded_original_dated_year_9999_is_refused_and_the_node_keeps_working() {
    let mut net = Net::new();
    net.start_hub();
    let nat = net.node("nat", "全国中小企业协会", "national", "secretary");
    let gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let rogue = Rogue::new(&nat.home);
    let (envelope, key) = rogue.original(&bulletin("来自未来"), 253_402_300_799_000);
    let fwd = Payload::Forward(Box::new(Forward {
        envelope,
        key,
        note: String::new(),
    }));
    rogue.send(&["gd"], &fwd).unwrap();
    // A bulletin whose deadline is out of every calendar.
    let p = Payload::Bulletin(Bulletin {
        title: "期限".into(),
        ack_required: true,
        ack_by: Some(i64::MAX),
        ..Default::default()
    });
    rogue.send(&["gd"], &p).unwrap();
    assert_eq!(synced_rejections(&gd), 2);
    assert!(gd.titles().is_empty());
    gd.ok(&["list"]);
}

#[test]
fn list_into_a_closed_pipe_exits_quietly_with_success() {
    let mut net = Net::new();
    net.start_hub();
    let nat = net.node("nat", "全国中小企业协会", "national", "secretary");
    let gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    for i in 0..3 {
        nat.send("gd", &format!("通知 {i}"), "正文");
    }
    gd.ok(&["sync"]);
    // `lianxi list | head -0`: the reader is gone before the first line.
    let mut child = std::process::Command::new(common::bin("lianxi"))
        .args(["--home", common::s(&gd.home), "list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn an_acknowledgement_of_deliveries_not_in_flight_closes_only_that_connection() {
    let mut net = Net::new();
    net.start_hub();
    let nat = net.node("nat", "全国中小企业协会", "national", "secretary");
    let gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let code = rt.block_on(async {
        let ep = raw_client(&net, lianxi_shared::ALPN, true, &nat.home);
        let (_conn, mut send, mut recv) = raw_session(&ep, &net.hub_addr()).await;
        // A million invented sequence numbers in one frame (about 5 MB).
        let seqs: Vec<u64> = (1..1_000_000).collect();
        let m = lianxi_shared::wire::ClientMsg::Received { seqs };
        send.write_all(&m.to_frame()).await.unwrap();
        common::hub_error(&mut recv).await
    });
    assert_eq!(code, "bad_request");
    // Everyone else is still served at once.
    nat.send("gd", "照常送达", "正文");
    gd.ok(&["sync", "--timeout", "10"]);
    assert_eq!(gd.titles(), vec!["照常送达".to_owned()]);
    let _ = Duration::ZERO;
}

#[cfg(unix)]
#[test]
fn the_node_home_and_its_archive_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let mut net = Net::new();
    net.start_hub();
    let nat = net.node("nat", "全国中小企业协会", "national", "secretary");
    let gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    nat.send("gd", "通知", "正文");
    gd.ok(&["sync"]);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&gd.home), 0o700);
    for f in std::fs::read_dir(&gd.home).unwrap() {
        let p = f.unwrap().path();
        if p.is_file() {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
    std::fs::set_permissions(&gd.home, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (ok, v) = gd.run(&["list"]);
    assert!(!ok);
    assert_eq!(v["error"]["code"], "key_file");
    assert!(v["error"]["message"].as_str().unwrap().contains("chmod"));
}

#[test]
fn saved_attachments_never_replace_or_follow_what_is_there() {
    let mut net = Net::new();
    net.start_hub();
    let nat = net.node("nat", "全国中小企业协会", "national", "secretary");
    let gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let dir = net.dir.path().to_path_buf();
    std::fs::write(dir.join("报告.pdf"), "第一版").unwrap();
    let id = nat.ok(&[
        "send",
        "bulletin",
        "--to",
        "gd",
        "--title",
        "附件",
        "--body",
        "见附件",
        "--attach",
        common::s(&dir.join("报告.pdf")),
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    gd.ok(&["sync"]);
    let saved = dir.join("saved");
    std::fs::create_dir_all(&saved).unwrap();
    // Something already at the attachment's name: a symlink planted to a file
    // the user cares about. It is neither followed nor replaced.
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    std::os::unix::fs::symlink(&victim, saved.join("报告.pdf")).unwrap();
    let first = gd.ok(&["attachment", &id, "1", "--out", common::s(&saved)]);
    assert_eq!(first["path"], common::s(&saved.join("报告 (1).pdf")));
    let second = gd.ok(&["attachment", &id, "1", "--out", common::s(&saved)]);
    assert_eq!(second["path"], common::s(&saved.join("报告 (2).pdf")));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert_eq!(
        std::fs::read_to_string(saved.join("报告 (2).pdf")).unwrap(),
        "第一版"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(saved.join("报告 (1).pdf"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // A file name that exists is refused without --force; with it, replaced
    // (the link itself, never its target).
    let named = saved.join("报告.pdf");
    let code = gd.fails(&["attachment", &id, "1", "--out", common::s(&named)]);
    assert_eq!(code, "io");
    gd.ok(&[
        "attachment",
        &id,
        "1",
        "--out",
        common::s(&named),
        "--force",
    ]);
    assert_eq!(std::fs::read_to_string(&named).unwrap(), "第一版");
    assert!(!std::fs::symlink_metadata(&named).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    // A folder that does not exist yet, named with a trailing slash.
    let fresh = format!("{}/", common::s(&dir.join("new")));
    let r = gd.ok(&["attachment", &id, "1", "--out", &fresh]);
    assert_eq!(r["path"], common::s(&dir.join("new").join("报告.pdf")));
    // No temp file is left behind.
    let leftovers = std::fs::read_dir(&saved)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(leftovers, 0);
}

/// Row 1: a member the case was only shared with sends a backdated `notice`
/// naming itself handler (and recusing the real one), to the handler and to
/// a node the case has not reached yet. Nobody takes it: the intake decides.
#[test]
fn a_shared_node_cannot_take_a_case_over_with_a_backdated_notice() {
    use lianxi_shared::case::{CaseChange, CaseMsg, CaseNotice};
    let mut net = Net::new();
    net.start_hub();
    let bj = net.node("bj", "北京市维权服务中心", "provincial", "legal-aid");
    let gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let sh = net.node("sh", "上海市维权服务中心", "provincial", "legal-aid");
    let v = bj.ok(&[
        "case",
        "intake",
        "--title",
        "出口企业遭遇反倾销调查",
        "--category",
        "trade_remedy",
        "--jurisdiction",
        "美国",
        "--enterprise",
        "某某光伏有限公司",
        "--contact",
        "13800138000",
        "--share",
        "gd",
    ]);
    let number = v["number"].as_str().unwrap().to_owned();
    let case: lianxi_shared::MessageId = v["case"].as_str().unwrap().parse().unwrap();
    gd.ok(&["sync"]);
    let held = gd.ok(&["case", "show", &number]);
    // gd's node, modified: a notice an hour older than the intake.
    let rogue = Rogue::new(&gd.home);
    let state = rogue.block_on(rogue.node.case_file(&number)).unwrap().state;
    let mut notice = CaseNotice {
        facts: state.facts.clone(),
        status: state.status,
        handlers: vec![lianxi_shared::NodeId::new("gd").unwrap()],
        shared: vec![lianxi_shared::NodeId::new("sh").unwrap()],
        recused: vec![lianxi_shared::NodeId::new("bj").unwrap()],
        sealed: vec![1, 2, 3],
        history: Vec::new(),
    };
    notice.facts.title = "已由广东接管".into();
    let payload = Payload::Case(CaseMsg {
        case,
        change: CaseChange::Notice(Box::new(notice)),
    });
    let at = state.created_at - 3_600_000;
    let id = lianxi_shared::MessageId::generate(at);
    rogue
        .send_sealed(rogue.seal(&["bj", "sh"], &payload, id, at))
        .unwrap();
    // The handler's view is unchanged and it can still recuse the rogue.
    bj.ok(&["sync"]);
    let shown = bj.ok(&["case", "show", &number]);
    assert_eq!(shown["origin"], "bj");
    assert_eq!(shown["handlers"], serde_json::json!(["bj"]));
    assert_eq!(shown["title"], held["title"]);
    let ignored: Vec<_> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["sender"] == "gd")
        .collect();
    assert_eq!(ignored.len(), 1);
    assert_eq!(ignored[0]["ignored"]["code"], "unknown_reference");
    bj.ok(&[
        "case", "recuse", &number, "--nodes", "gd", "--reason", "越权",
    ]);
    // A node reached later folds from the real intake, carried in the share.
    bj.ok(&["case", "share", &number, "--to", "sh"]);
    sh.ok(&["sync"]);
    let at_sh = sh.ok(&["case", "show", &number]);
    assert_eq!(at_sh["origin"], "bj");
    assert_eq!(at_sh["handlers"], serde_json::json!(["bj"]));
    assert_eq!(at_sh["recused"], serde_json::json!(["gd"]));
    assert_eq!(at_sh["title"], held["title"]);
}

/// No authority from a sender's clock: the hub bounds `created_at` on both
/// sides and the time in the id must agree with it.
#[test]
fn the_hub_refuses_times_outside_its_window_and_ids_that_disagree_with_them() {
    let mut net = Net::new();
    net.start_hub();
    let nat = net.node("nat", "全国中小企业协会", "national", "secretary");
    let gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let rogue = Rogue::new(&nat.home);
    let now = lianxi_node::now_ms();
    let p = bulletin("时间");
    let cases = [
        (
            "a year old",
            now - 365 * 86_400_000,
            now - 365 * 86_400_000,
            "clock_skew",
        ),
        (
            "eleven minutes ahead",
            now + 660_000,
            now + 660_000,
            "clock_skew",
        ),
        (
            "an id a day older than its time",
            now - 86_400_000,
            now,
            "bad_header",
        ),
    ];
    for (what, id_ms, at, code) in cases {
        let id = lianxi_shared::MessageId::generate(id_ms);
        let err = rogue
            .send_sealed(rogue.seal(&["gd"], &p, id, at))
            .expect_err(what);
        assert_eq!(err.code.as_str(), code, "{what}");
    }
    rogue.send(&["gd"], &bulletin("正常")).unwrap();
    assert_eq!(synced_rejections(&gd), 0);
    assert_eq!(gd.titles(), vec!["正常".to_owned()]);
}

/// Row 9: `directory` requests are rate-limited per connection and each
/// answer waits for room in the connection's outgoing byte budget.
#[test]
fn directory_requests_are_rate_limited_and_others_are_served() {
    use lianxi_shared::wire::{ClientMsg, HubMsg};
    let mut net = Net::new();
    net.start_hub();
    let nat = net.node("nat", "全国中小企业协会", "national", "secretary");
    let gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (answered, limited) = rt.block_on(async {
        let ep = raw_client(&net, lianxi_shared::ALPN, true, &nat.home);
        let (_conn, mut send, mut recv) = raw_session(&ep, &net.hub_addr()).await;
        let mut frames = Vec::new();
        for rid in 0..40u64 {
            frames.extend(ClientMsg::Directory { rid }.to_frame());
        }
        send.write_all(&frames).await.unwrap();
        let mut d = lianxi_shared::frame::FrameDecoder::new(1 << 24);
        let (mut answered, mut limited) = (0, 0);
        while answered + limited < 40 {
            let chunk =
                tokio::time::timeout(Duration::from_secs(10), recv.read_chunk(1 << 16, true))
                    .await
                    .expect("answers in time")
                    .unwrap()
                    .expect("stream open");
            d.push(&chunk.bytes);
            while let Ok(Some(f)) = d.next_frame() {
                match HubMsg::decode(&f).unwrap() {
                    HubMsg::DirectoryIs { certs, .. } => {
                        assert_eq!(certs.len(), 2);
                        answered += 1;
                    }
                    HubMsg::Refused { error, .. } => {
                        assert_eq!(error.code.as_str(), "rate_limited");
                        limited += 1;
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        (answered, limited)
    });
    assert_eq!((answered, limited), (30, 10));
    nat.send("gd", "照常送达", "正文");
    gd.ok(&["sync", "--timeout", "10"]);
    assert_eq!(gd.titles(), vec!["照常送达".to_owned()]);
}

#[test]
fn a_thread_stands_the_same_whatever_order_its_messages_arrive_in_and_only_its_author_changes_it() {
    use lianxi_shared::payload::{Revision, Withdrawal};
    let mut net = Net::new();
    net.start_hub();
    let nat = net.node("nat", "全国中小企业协会", "national", "secretary");
    let gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let zj = net.node("zj", "浙江省中小企业协会", "provincial", "secretary");
    let author = Rogue::new(&nat.home);
    let other = Rogue::new(&zj.home);
    let original = author.send(&["gd"], &bulletin("原通知")).unwrap();
    assert_eq!(synced_rejections(&gd), 0);
    let revision = |n: u32, title: &str| {
        let Payload::Bulletin(b) = bulletin(title) else {
            unreachable!()
        };
        Payload::Revision(Revision {
            original,
            revision: n,
            bulletin: b,
            note: String::new(),
        })
    };
    let withdrawal = Payload::Withdrawal(Withdrawal {
        original,
        reason: "政策已废止".into(),
    });
    // The author withdraws, then a correction it sent earlier arrives late
    // (a node offline for a while); another member tries both.
    author.send(&["gd"], &withdrawal).unwrap();
    author.send(&["gd"], &revision(2, "更正后的通知")).unwrap();
    other.send(&["gd"], &revision(9, "冒充的更正")).unwrap();
    other.send(&["gd"], &withdrawal).unwrap();
    assert_eq!(
        synced_rejections(&gd),
        2,
        "only the author revises or withdraws"
    );
    // One version is shown: the latest, withdrawn, with the author's reason.
    let list = gd.ok(&["list"]);
    let shown: Vec<_> = list["messages"].as_array().unwrap().iter().collect();
    assert_eq!(shown.len(), 1, "{list}");
    assert_eq!(shown[0]["title"], "更正后的通知");
    assert_eq!(shown[0]["state"], "withdrawn");
}
