//! The archive refuses files it must not touch, and keeps working data intact.

#![allow(clippy::unwrap_used)]

use lianxi::ErrorCode;
use lianxi::archive::Archive;

#[test]
fn a_foreign_or_newer_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    // Someone else's SQLite file.
    let foreign = dir.path().join("foreign.db");
    {
        let c = rusqlite::Connection::open(&foreign).unwrap();
        c.execute_batch("CREATE TABLE accounts(id INTEGER); INSERT INTO accounts VALUES (42);")
            .unwrap();
    }
    let digest = |p: &std::path::Path| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::fs::read(p).unwrap().hash(&mut h);
        h.finish()
    };
    let before = digest(&foreign);
    let e = Archive::open(&foreign).err().expect("refused");
    assert_eq!(e.code, ErrorCode::ArchiveCorrupt, "{e}");
    assert!(
        digest(&foreign) == before,
        "the foreign file must not be modified"
    );

    // Not a database at all.
    let junk = dir.path().join("junk.db");
    std::fs::write(
        &junk,
        b"this is not sqlite at all, just text that happens to be here",
    )
    .unwrap();
    assert_eq!(
        Archive::open(&junk).err().expect("refused").code,
        ErrorCode::ArchiveCorrupt
    );

    // An archive from a newer Lianxi.
    let newer = dir.path().join("newer.db");
    drop(Archive::open(&newer).unwrap());
    {
        let c = rusqlite::Connection::open(&newer).unwrap();
        c.pragma_update(None, "user_version", 999).unwrap();
    }
    let e = Archive::open(&newer).err().expect("refused");
    assert_eq!(e.code, ErrorCode::ArchiveNewer);
    assert!(e.message.contains("upgrade"), "{e}");

    // A fresh archive opens again fine.
    let ok = dir.path().join("ok.db");
    drop(Archive::open(&ok).unwrap());
    let a = Archive::open(&ok).unwrap();
    assert_eq!(a.count().unwrap(), 0);
}

#[test]
fn an_embargoed_message_is_hidden_until_its_release_time() {
    use lianxi::archive::Incoming;
    use lianxi_shared::envelope::{Header, Opened};
    use lianxi_shared::{Audience, Bulletin, Envelope, MessageId, NodeId, Payload};
    let dir = tempfile::tempdir().unwrap();
    let mut a = Archive::open(&dir.path().join("a.db")).unwrap();
    let now = lianxi::now_ms();
    let mk = |release: i64, title: &str| {
        let payload = Payload::Bulletin(Bulletin {
            title: title.into(),
            body: "机密".into(),
            ..Default::default()
        });
        let header = Header {
            v: 1,
            id: MessageId::generate(now),
            sender: NodeId::new("nat").unwrap(),
            audience: Audience::All,
            created_at: now,
            not_before: Some(release),
            body_sha256: [0; 32],
            body_len: 0,
            key: String::new(),
        };
        Incoming {
            opened: Opened {
                header,
                payload_bytes: payload.encode(),
                payload,
            },
            envelope: Envelope {
                header: vec![],
                sig: [0; 64],
                body: vec![],
            },
            wrap: vec![],
            received_at: now,
            forwarded: None,
        }
    };
    let early = mk(now + 3_600_000, "尚未发布");
    let id = early.opened.header.id.to_string();
    a.apply_incoming(&[early, mk(now - 1, "已发布")]).unwrap();
    let titles: Vec<String> = a
        .list(Some("bulletin"), 10, 0)
        .unwrap()
        .into_iter()
        .map(|m| m.title)
        .collect();
    assert_eq!(titles, ["已发布"]);
    assert!(a.search("机密", 10).unwrap().len() == 1);
    assert_eq!(
        a.show(&id, true, now).unwrap_err().code,
        ErrorCode::Embargoed
    );
    assert_eq!(a.count_kind("bulletin").unwrap(), (1, 1));
}
