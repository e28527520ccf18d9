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
