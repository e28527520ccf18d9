//! The embedded (SQLite) store's own promises: a size limit refuses writes
//! with `Full` and keeps what is stored; a foreign or newer file is refused and
//! left untouched; a delivery whose envelope is missing can still be
//! acknowledged. What every backend promises is in `conformance.rs`.

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

/// What the writer hands to a follower is what `fetch` reads, in commit
/// order; an embargo's end, which it does not hand over, is announced so the
/// follower reads the store; a retry hands nothing over again.
#[tokio::test]
async fn a_follower_is_handed_each_commit_or_told_to_read() {
    use lianxi_hub::store::follow::Pushed;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let b = NodeId::new("b").unwrap();
    let mut follow = store.follow(&b, 1 << 20).expect("SQLite hands over");
    for i in 0..3u8 {
        store.insert(env(i, 500), 0).await.unwrap();
    }
    assert_eq!(
        store.insert(env(1, 500), 0).await.unwrap(),
        Inserted::Duplicate
    );
    let fetched = store.fetch(b.clone(), 0, 100, usize::MAX).await.unwrap();
    assert_eq!(fetched.len(), 3);
    for want in &fetched {
        let Some(Pushed::Row(got)) = follow.try_recv() else {
            panic!("expected row {}", want.seq)
        };
        assert_eq!(
            (got.seq, &got.header, &got.sig, &got.body, &got.wrap),
            (want.seq, &want.header, &want.sig, &want.body, &want.wrap)
        );
    }
    assert!(
        follow.try_recv().is_none(),
        "the duplicate is not handed over"
    );

    let mut held = env(9, 10);
    held.not_before = Some(1_000);
    store.insert(held, 0).await.unwrap();
    assert!(follow.try_recv().is_none(), "held: nothing to hand over");
    store.release(1_000).await.unwrap();
    assert!(matches!(follow.try_recv(), Some(Pushed::Lagged)));
    let after = fetched.last().unwrap().seq;
    let released = store
        .fetch(b.clone(), after, 100, usize::MAX)
        .await
        .unwrap();
    assert_eq!(released.len(), 1, "the read after the lag finds it");

    // Over its budget a follower is told to read instead.
    let mut small = store.follow(&b, 1_000).unwrap();
    store.insert(env(20, 500), 0).await.unwrap();
    store.insert(env(21, 500), 0).await.unwrap();
    assert!(matches!(small.try_recv(), Some(Pushed::Row(_))));
    assert!(matches!(small.try_recv(), Some(Pushed::Lagged)));
}

/// A delivery whose envelope row is missing (a file damaged or edited by
/// hand) is still dropped when acknowledged, instead of staying for ever.
#[tokio::test]
async fn a_delivery_without_its_envelope_can_still_be_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.insert(env(1, 10), 0).await.unwrap();
    store.insert(env(2, 10), 0).await.unwrap();
    let b = NodeId::new("b").unwrap();
    let rows = store.fetch(b.clone(), 0, 10, usize::MAX).await.unwrap();
    let seqs: Vec<u64> = rows.iter().map(|r| r.seq).collect();
    let file = rusqlite::Connection::open(Store::db_path(dir.path())).unwrap();
    file.busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    let removed = file
        .execute(
            "DELETE FROM envelopes WHERE n = (SELECT envelope FROM deliveries WHERE seq = ?1)",
            [i64::try_from(seqs[0]).unwrap()],
        )
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(store.ack(b.clone(), seqs.clone()).await.unwrap(), 2);
    let left: i64 = file
        .query_row("SELECT count(*) FROM deliveries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(store.ack(b, seqs).await.unwrap(), 0);
}
