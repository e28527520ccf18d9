//! The archive refuses files it must not touch, and keeps working data intact.

#![allow(clippy::unwrap_used)]

use lianxi_node::ErrorCode;
use lianxi_node::archive::Archive;

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

/// A bulletin as the receive path hands it to the archive.
fn incoming(title: &str, body: &str, not_before: Option<i64>) -> lianxi_node::archive::Incoming {
    use lianxi_shared::envelope::{Header, Opened};
    use lianxi_shared::{Audience, Bulletin, Envelope, MessageId, NodeId, Payload};
    let now = lianxi_node::now_ms();
    let payload = Payload::Bulletin(Bulletin {
        title: title.into(),
        body: body.into(),
        ..Default::default()
    });
    let header = Header {
        v: 1,
        id: MessageId::generate(now),
        sender: NodeId::new("nat").unwrap(),
        audience: Audience::All,
        created_at: now,
        not_before,
        body_sha256: [0; 32],
        body_len: 0,
        key: String::new(),
    };
    lianxi_node::archive::Incoming {
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
        history: Vec::new(),
        forwarded: None,
    }
}

#[test]
fn an_embargoed_message_is_hidden_until_its_release_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Archive::open(&dir.path().join("a.db")).unwrap();
    let now = lianxi_node::now_ms();
    let early = incoming("尚未发布", "机密", Some(now + 3_600_000));
    let id = early.opened.header.id.to_string();
    a.apply_incoming(&[early, incoming("已发布", "机密", Some(now - 1))])
        .unwrap();
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

#[test]
fn a_latin_prefix_finds_every_word_it_begins_also_in_an_archive_from_before_the_word_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut a = Archive::open(&path).unwrap();
    let mut batch = vec![
        incoming("WTO 规则解读", "世贸组织争端解决", None),
        incoming("Englishman 来访", "外宾交流", None),
        incoming("English 培训通知", "商务英语", None),
        incoming("减税降费", "纯中文通知", None),
    ];
    // More words beginning with "e" than a query names: FTS5's own prefix search.
    for i in 0..40 {
        batch.push(incoming(&format!("e{i}x 编号"), "批量", None));
    }
    a.apply_incoming(&batch).unwrap();
    let titles = |a: &Archive, q: &str| {
        let mut t: Vec<String> = a
            .search(q, 100)
            .unwrap()
            .into_iter()
            .map(|h| h.message.title)
            .collect();
        t.sort();
        t
    };
    let check = |a: &Archive| {
        assert_eq!(titles(a, "engl"), ["English 培训通知", "Englishman 来访"]);
        assert_eq!(
            titles(a, "ENGLISH"),
            ["English 培训通知", "Englishman 来访"]
        );
        assert_eq!(titles(a, "englishm"), ["Englishman 来访"]);
        assert_eq!(titles(a, "wt 规则"), ["WTO 规则解读"]);
        assert_eq!(
            titles(a, "e").len(),
            42,
            "40 numbered words and two English ones"
        );
        assert_eq!(
            titles(a, "e1"),
            [
                "e10x 编号",
                "e11x 编号",
                "e12x 编号",
                "e13x 编号",
                "e14x 编号",
                "e15x 编号",
                "e16x 编号",
                "e17x 编号",
                "e18x 编号",
                "e19x 编号",
                "e1x 编号"
            ]
        );
        assert!(titles(a, "englx").is_empty());
        assert_eq!(titles(a, "纯中文"), ["减税降费"]);
    };
    check(&a);
    drop(a);

    // The same archive as the previous schema left it: no word list yet.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "DROP TABLE search_words; ALTER TABLE case_events DROP COLUMN msg_key;
             DROP TABLE parked; ALTER TABLE conf_events DROP COLUMN standings;
             ALTER TABLE events DROP COLUMN wrap; DROP TABLE follow;
             DROP TABLE drafts; DROP TABLE draft_files;
             PRAGMA user_version = 5;",
        )
        .unwrap();
    }
    let a = Archive::open(&path).unwrap();
    check(&a);
    let c = rusqlite::Connection::open(&path).unwrap();
    let words: Vec<String> = c
        .prepare("SELECT word FROM search_words ORDER BY word")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        words.len(),
        43,
        "english, englishman, wto and the 40 numbered: {words:?}"
    );
    assert!(
        words.iter().all(|w| w.is_ascii()),
        "no CJK token: {words:?}"
    );
}
