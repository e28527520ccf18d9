//! The embedded (SQLite) store's own promises: a size limit refuses writes
//! with `Full` and keeps what is stored; a foreign or newer file is refused and
//! left untouched. What every backend promises is in `conformance.rs`.

#![allow(clippy::unwrap_used)]

use lianxi_hub::store::{HubStore, Inserted, NewEnvelope, Store, StoreError, StoreLimits};
use lianxi_shared::{MessageId, NodeId};

fn env(i: u8, size: usize) -> NewEnvelope {
    NewEnvelope {
        id: MessageId::new_v7(1_700_000_000_000 + i64::from(i), [i; 16]),
        sender: NodeId::new("a").unwrap(),
        digest: [i; 32],
        header: vec![i; 64],
        sig: [i; 64],
        body: vec![i; size],
        created_at: 0,
        not_before: None,
        deliveries: vec![(NodeId::new("b").unwrap(), vec![1; 300])],
    }
}

#[tokio::test]
async fn a_size_limit_refuses_writes_and_keeps_what_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_limited(
        dir.path(),
        StoreLimits {
            max_db_bytes: 600_000,
            ..Default::default()
        },
    )
    .unwrap();
    let mut stored = 0;
    let mut full = false;
    for i in 0..20u8 {
        match store.insert(env(i, 100_000), 0).await {
            Ok(Inserted::Stored { .. }) => stored += 1,
            Err(StoreError::Full) => {
                full = true;
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(full, "the limit is reached");
    assert!(stored >= 3, "{stored}");
    let rows = store
        .fetch(NodeId::new("b").unwrap(), 0, 100, usize::MAX)
        .await
        .unwrap();
    assert_eq!(rows.len(), stored, "everything stored before is intact");
    // Acknowledging frees space: writes resume.
    let seqs: Vec<u64> = rows.iter().map(|r| r.seq).collect();
    store.ack(NodeId::new("b").unwrap(), seqs).await.unwrap();
    assert!(matches!(
        store.insert(env(100, 100_000), 0).await,
        Ok(Inserted::Stored { .. })
    ));
}

#[tokio::test]
async fn foreign_and_newer_files_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = Store::db_path(dir.path());
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
            .unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::Foreign(_))
    ));
    assert!(std::fs::read(&db).unwrap() == before, "untouched");
    let dir2 = tempfile::tempdir().unwrap();
    drop(Store::open(dir2.path()).unwrap());
    {
        let c = rusqlite::Connection::open(Store::db_path(dir2.path())).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    assert!(matches!(
        Store::open(dir2.path()),
        Err(StoreError::Newer { found: 99, .. })
    ));
}
