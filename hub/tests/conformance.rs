//! The store conformance suite: every promise the hub relies on from its
//! storage, checked the same way against each backend (`HubStore`). A new
//! backend runs `all` against a fresh, empty store of its own.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

mod common;

use common::pg::Pg;
use lianxi_hub::store::{HubStore, Inserted, NewEnvelope, PgStore, Store, StoreError, StoreLimits};
use lianxi_shared::{MessageId, NodeId};

const NOW: i64 = 1_795_000_000_000;
const POLL: std::time::Duration = std::time::Duration::from_secs(2);

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn env(i: u32, from: &str, to: &[&str], size: usize) -> NewEnvelope {
    let b = i.to_be_bytes();
    let mut r = [0u8; 16];
    r[..4].copy_from_slice(&b);
    NewEnvelope {
        id: MessageId::new_v7(NOW + i64::from(i), r),
        sender: id(from),
        digest: [b[3]; 32],
        header: vec![b[3]; 64],
        sig: [b[3]; 64],
        body: vec![b[3]; size],
        created_at: NOW,
        not_before: None,
        deliveries: to.iter().map(|n| (id(n), vec![7; 100])).collect(),
    }
}

async fn seqs<S: HubStore>(s: &S, node: &str) -> Vec<u64> {
    s.fetch(id(node), 0, 10_000, usize::MAX)
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect()
}

/// Every check, each on a fresh store from `open` (which takes the limits).
pub async fn all<S: HubStore>(open: impl AsyncFn(StoreLimits) -> S) {
    let quota = |count, bytes| StoreLimits {
        queue_count_per_pair: count,
        queue_bytes_per_pair: bytes,
        max_db_bytes: 0,
    };
    order_and_windows(open(StoreLimits::default()).await).await;
    duplicates_and_replays(open(StoreLimits::default()).await).await;
    acks(open(StoreLimits::default()).await).await;
    quotas(open(quota(2, 0)).await).await;
    byte_quotas(open(quota(0, 5_000)).await).await;
    embargoes(open(StoreLimits::default()).await).await;
    certificates(open(StoreLimits::default()).await).await;
    concurrent_senders(open(StoreLimits::default()).await).await;
    at_once_as_one_by_one(open(quota(2, 0)).await).await;
    forgetting(open(StoreLimits::default()).await).await;
}

/// Ids older than a floor are forgotten once their envelopes are gone, in
/// chunks of the limit asked for (a resend of one is then new: the hub's
/// time rules refuse it before it gets here); newer ids are still known and
/// queued deliveries stay whole.
async fn forgetting<S: HubStore>(s: S) {
    for i in 1..=4 {
        s.insert(env(i, "a", &["b"], 10), NOW).await.unwrap();
    }
    let queued = seqs(&s, "b").await;
    assert_eq!(s.ack(id("b"), queued[..2].to_vec()).await.unwrap(), 2);
    // Ids 1 to 3 are older than the floor; 1 and 2 are delivered.
    let floor = MessageId::new_v7(NOW + 4, [0; 16]);
    assert_eq!(s.forget_ids_before(floor, 1).await.unwrap(), 1);
    let more = s.forget_ids_before(floor, 100).await.unwrap();
    assert!((1..=2).contains(&more), "{more}");
    assert_eq!(s.forget_ids_before(floor, 100).await.unwrap(), 0);
    // 3 and 4 are still there, whole.
    let rows = s.fetch(id("b"), 0, 100, usize::MAX).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), queued[2..]);
    assert!(rows.iter().all(|r| r.body == vec![r.body[0]; 10]));
    assert_eq!(
        s.insert(env(4, "a", &["b"], 10), NOW).await.unwrap(),
        Inserted::Duplicate
    );
    // 1 was forgotten: the store takes it as new.
    assert!(matches!(
        s.insert(env(1, "a", &["b"], 10), NOW).await.unwrap(),
        Inserted::Stored { .. }
    ));
    // Nothing before the epoch: nothing to forget.
    let none = MessageId::new_v7(0, [0; 16]);
    assert_eq!(s.forget_ids_before(none, 100).await.unwrap(), 0);
}

/// Operations that arrive together (and may share one commit) come out as
/// they would one after the other: of four envelopes with one id, one is
/// stored and each other is a duplicate or a replay by its digest; of five
/// to one recipient under a quota of two, two are stored.
async fn at_once_as_one_by_one<S: HubStore>(s: S) {
    let mut tasks = Vec::new();
    for k in 0..4u8 {
        let s = s.clone();
        let mut e = env(1, "a", &["b"], 10);
        if k == 3 {
            e.digest = [77; 32];
        }
        let digest = e.digest;
        tasks.push(tokio::spawn(
            async move { (digest, s.insert(e, NOW).await) },
        ));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let stored: Vec<[u8; 32]> = results
        .iter()
        .filter(|(_, r)| matches!(r, Ok(Inserted::Stored { .. })))
        .map(|(d, _)| *d)
        .collect();
    assert_eq!(stored.len(), 1, "{results:?}");
    for (d, r) in &results {
        match r {
            Ok(Inserted::Stored { .. }) => {}
            Ok(Inserted::Duplicate) => assert_eq!(*d, stored[0]),
            Err(StoreError::Replayed(_)) => assert_ne!(*d, stored[0]),
            other => panic!("{other:?}"),
        }
    }
    let mut tasks = Vec::new();
    for i in 10..15 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.insert(env(i, "q", &["r"], 10), NOW).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(Inserted::Stored { .. }) => ok += 1,
            Err(StoreError::QueueFull(v)) => assert_eq!(v, [id("r")]),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ok, 2);
    assert_eq!(seqs(&s, "r").await.len(), 2);
}

/// A recipient's deliveries come in commit order; a fetch after a number,
/// with a limit or a byte budget, returns the next ones; others get nothing.
async fn order_and_windows<S: HubStore>(s: S) {
    for i in 1..=5 {
        let r = s.insert(env(i, "a", &["b"], 1_000), NOW).await.unwrap();
        assert_eq!(
            r,
            Inserted::Stored {
                ready: vec![id("b")],
                held: false
            }
        );
    }
    let all = s.fetch(id("b"), 0, 100, usize::MAX).await.unwrap();
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "ordered");
    assert_eq!(all[0].body, vec![1; 1_000]);
    assert_eq!(all[4].wrap, vec![7; 100]);
    let after = s.fetch(id("b"), all[1].seq, 2, usize::MAX).await.unwrap();
    assert_eq!(
        after.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [all[2].seq, all[3].seq]
    );
    // A byte budget stops after the row that reaches it.
    let budget = s.fetch(id("b"), 0, 100, 1_500).await.unwrap();
    assert_eq!(budget.len(), 2);
    assert!(
        s.fetch(id("c"), 0, 100, usize::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.queue_totals().await.unwrap(), (5, 0));
}

/// The same envelope twice is a duplicate (no second delivery), before and
/// after it is delivered; another envelope with that id is refused.
async fn duplicates_and_replays<S: HubStore>(s: S) {
    let e = env(1, "a", &["b", "c"], 10);
    s.insert(e, NOW).await.unwrap();
    assert_eq!(
        s.insert(env(1, "a", &["b", "c"], 10), NOW).await.unwrap(),
        Inserted::Duplicate
    );
    let mut other = env(1, "a", &["b"], 10);
    other.digest = [99; 32];
    assert!(matches!(
        s.insert(other, NOW).await,
        Err(StoreError::Replayed(_))
    ));
    assert_eq!(seqs(&s, "b").await.len(), 1);
    for n in ["b", "c"] {
        let q = seqs(&s, n).await;
        assert_eq!(s.ack(id(n), q).await.unwrap(), 1);
    }
    // Delivered everywhere: the content is gone, the id still recognised.
    assert_eq!(
        s.insert(env(1, "a", &["b", "c"], 10), NOW).await.unwrap(),
        Inserted::Duplicate
    );
    let mut other = env(1, "a", &["b"], 10);
    other.digest = [98; 32];
    assert!(matches!(
        s.insert(other, NOW).await,
        Err(StoreError::Replayed(_))
    ));
    assert!(seqs(&s, "b").await.is_empty());
}

/// An ack drops exactly the node's own deliveries it names.
async fn acks<S: HubStore>(s: S) {
    for i in 1..=3 {
        s.insert(env(i, "a", &["b", "c"], 10), NOW).await.unwrap();
    }
    let b = seqs(&s, "b").await;
    let c = seqs(&s, "c").await;
    assert_eq!(s.ack(id("b"), vec![b[0], 999_999]).await.unwrap(), 1);
    assert_eq!(s.ack(id("b"), vec![b[0]]).await.unwrap(), 0, "acked once");
    // c's numbers mean nothing for b (unless they are b's own).
    let foreign: Vec<u64> = c.iter().copied().filter(|x| !b.contains(x)).collect();
    assert_eq!(s.ack(id("b"), foreign).await.unwrap(), 0);
    assert_eq!(seqs(&s, "b").await, b[1..]);
    assert_eq!(seqs(&s, "c").await, c);
    assert_eq!(s.ack(id("b"), vec![]).await.unwrap(), 0);
}

/// A sender's queue to one recipient is held to its count; other pairs are
/// not affected; collecting frees the quota.
async fn quotas<S: HubStore>(s: S) {
    s.insert(env(1, "a", &["b"], 10), NOW).await.unwrap();
    s.insert(env(2, "a", &["b", "c"], 10), NOW).await.unwrap();
    match s.insert(env(3, "a", &["b", "c"], 10), NOW).await {
        Err(StoreError::QueueFull(v)) => assert_eq!(v, [id("b")]),
        other => panic!("expected the quota: {other:?}"),
    }
    // Nothing of the refused envelope was stored.
    assert_eq!(seqs(&s, "c").await.len(), 1);
    // With the queue full, a retry is still told it is stored, and another
    // envelope under a stored id is still a replay.
    assert_eq!(
        s.insert(env(2, "a", &["b", "c"], 10), NOW).await.unwrap(),
        Inserted::Duplicate
    );
    let mut other = env(1, "a", &["b"], 10);
    other.digest = [97; 32];
    assert!(matches!(
        s.insert(other, NOW).await,
        Err(StoreError::Replayed(_))
    ));
    s.insert(env(4, "a", &["c"], 10), NOW).await.unwrap();
    s.insert(env(5, "x", &["b"], 10), NOW).await.unwrap();
    let b = seqs(&s, "b").await;
    s.ack(id("b"), vec![b[0]]).await.unwrap();
    s.insert(env(3, "a", &["b"], 10), NOW).await.unwrap();
}

/// A queue is held to its bytes (envelope and wrap), and collecting gives
/// back exactly what was counted, whether the envelope goes with the
/// delivery or stays for another recipient. Each delivery here counts 64
/// (header) + 64 (signature) + 100 (wrap) + its body: 2,228 or 238 bytes.
async fn byte_quotas<S: HubStore>(s: S) {
    s.insert(env(1, "a", &["b", "c"], 2_000), NOW)
        .await
        .unwrap();
    s.insert(env(2, "a", &["b", "c"], 2_000), NOW)
        .await
        .unwrap();
    assert!(matches!(
        s.insert(env(3, "a", &["b"], 2_000), NOW).await,
        Err(StoreError::QueueFull(_))
    ));
    s.insert(env(4, "a", &["b"], 10), NOW).await.unwrap();
    // Collect all but the small one, so the queue is never empty (an empty
    // queue starts again from nothing anyway).
    let b = seqs(&s, "b").await;
    assert_eq!(s.ack(id("b"), b[..2].to_vec()).await.unwrap(), 2);
    // 238 + 2 × 2,228 + 238 = 4,932 of 5,000: fits only if exactly what was
    // collected was given back.
    for i in 5..=7 {
        let size = if i < 7 { 2_000 } else { 10 };
        s.insert(env(i, "a", &["b"], size), NOW).await.unwrap();
    }
    assert!(matches!(
        s.insert(env(8, "a", &["b"], 10), NOW).await,
        Err(StoreError::QueueFull(_))
    ));
    // c's queue was untouched by b's acknowledgements, and is freed by its own.
    assert!(matches!(
        s.insert(env(10, "a", &["c"], 2_000), NOW).await,
        Err(StoreError::QueueFull(_))
    ));
    let c = seqs(&s, "c").await;
    assert_eq!(s.ack(id("c"), c).await.unwrap(), 2);
    s.insert(env(10, "a", &["c"], 2_000), NOW).await.unwrap();
}

/// An embargoed delivery is held, announced by `next_release`, and queued
/// once when its time comes.
async fn embargoes<S: HubStore>(s: S) {
    let mut e = env(1, "a", &["b", "c"], 10);
    e.not_before = Some(NOW + 60_000);
    assert_eq!(
        s.insert(e, NOW).await.unwrap(),
        Inserted::Stored {
            ready: vec![],
            held: true
        }
    );
    assert!(seqs(&s, "b").await.is_empty());
    assert_eq!(s.next_release().await.unwrap(), Some(NOW + 60_000));
    assert_eq!(s.queue_totals().await.unwrap(), (0, 2));
    assert!(s.release(NOW + 59_999).await.unwrap().is_empty());
    assert_eq!(s.release(NOW + 60_000).await.unwrap(), [id("b"), id("c")]);
    assert!(s.release(NOW + 60_000).await.unwrap().is_empty(), "once");
    assert_eq!(s.next_release().await.unwrap(), None);
    assert_eq!(seqs(&s, "b").await.len(), 1);
    // A time already past is not held.
    let mut e = env(2, "a", &["b"], 10);
    e.not_before = Some(NOW - 1);
    assert_eq!(
        s.insert(e, NOW).await.unwrap(),
        Inserted::Stored {
            ready: vec![id("b")],
            held: false
        }
    );
}

/// The newest certificate of each node.
async fn certificates<S: HubStore>(s: S) {
    s.register(id("a"), b"cert-a-1".to_vec(), NOW)
        .await
        .unwrap();
    s.register(id("b"), b"cert-b".to_vec(), NOW).await.unwrap();
    s.register(id("a"), b"cert-a-2".to_vec(), NOW + 1)
        .await
        .unwrap();
    assert_eq!(
        s.node_certs().await.unwrap(),
        [
            (id("a"), b"cert-a-2".to_vec()),
            (id("b"), b"cert-b".to_vec())
        ]
    );
}

/// Many senders at once: every envelope is stored once, and the recipient's
/// numbers are unique and ordered as fetched.
async fn concurrent_senders<S: HubStore>(s: S) {
    let mut tasks = Vec::new();
    for i in 1..=200u32 {
        let s = s.clone();
        let from = format!("s{}", i % 8);
        tasks.push(tokio::spawn(async move {
            s.insert(env(i, &from, &["b"], 100), NOW).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let rows = s.fetch(id("b"), 0, 10_000, usize::MAX).await.unwrap();
    assert_eq!(rows.len(), 200);
    let unique: BTreeSet<u64> = rows.iter().map(|r| r.seq).collect();
    assert_eq!(unique.len(), 200);
    assert!(rows.windows(2).all(|w| w[0].seq < w[1].seq));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_sqlite_store_keeps_every_promise() {
    let dirs = std::sync::Mutex::new(Vec::new());
    all(async |limits| {
        let d = tempfile::tempdir().unwrap();
        let s = Store::open_limited(d.path(), limits).unwrap();
        dirs.lock().unwrap().push(d);
        s
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgresql_store_keeps_every_promise() {
    let Some(pg) = Pg::start() else {
        return;
    };
    let n = std::sync::atomic::AtomicU32::new(0);
    all(async |limits| {
        // A fresh database for each check.
        let name = format!("c{}", n.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let (admin, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        PgStore::open(&pg.url_of(&name), limits, POLL)
            .await
            .unwrap()
    })
    .await;
}

/// A database of something else, or of a newer hub, is refused untouched.
#[tokio::test]
async fn postgresql_refuses_a_foreign_or_newer_database() {
    let Some(pg) = Pg::start() else {
        return;
    };
    let (admin, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    for db in ["other", "newer"] {
        admin
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .unwrap();
    }
    let (other, conn) = tokio_postgres::connect(&pg.url_of("other"), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    other
        .batch_execute("CREATE TABLE invoices(x INT)")
        .await
        .unwrap();
    assert!(matches!(
        PgStore::open(&pg.url_of("other"), StoreLimits::default(), POLL).await,
        Err(StoreError::Foreign(_))
    ));
    let tables: i64 = other
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 1, "left untouched");
    drop(
        PgStore::open(&pg.url_of("newer"), StoreLimits::default(), POLL)
            .await
            .unwrap(),
    );
    let (newer, conn) = tokio_postgres::connect(&pg.url_of("newer"), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    newer
        .batch_execute("UPDATE lianxi_hub SET version = 999")
        .await
        .unwrap();
    assert!(matches!(
        PgStore::open(&pg.url_of("newer"), StoreLimits::default(), POLL).await,
        Err(StoreError::Newer { found: 999, .. })
    ));
}

/// Two hubs (two stores, two writers) on one database at once: every
/// envelope stored once with numbers unique and ordered per recipient, a
/// quota held across both, an embargo released by exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgresql_hubs_share_one_database_correctly() {
    let Some(pg) = Pg::start() else {
        return;
    };
    let limits = StoreLimits {
        queue_count_per_pair: 40,
        queue_bytes_per_pair: 0,
        max_db_bytes: 0,
    };
    let h1 = PgStore::open(&pg.url(), limits, POLL).await.unwrap();
    let h2 = PgStore::open(&pg.url(), limits, POLL).await.unwrap();
    // 8 senders through both hubs to one recipient, 50 each against a quota
    // of 40: whichever hub takes a send, each sender gets exactly 40 in.
    let mut tasks = Vec::new();
    for i in 1..=400u32 {
        let h = if i % 2 == 0 { h1.clone() } else { h2.clone() };
        let from = format!("s{}", i % 8);
        tasks.push(tokio::spawn(async move {
            (i % 8, h.insert(env(i, &from, &["b"], 100), NOW).await)
        }));
    }
    let mut stored = [0; 8];
    for t in tasks {
        match t.await.unwrap() {
            (s, Ok(Inserted::Stored { .. })) => stored[s as usize] += 1,
            (_, Err(StoreError::QueueFull(_))) => {}
            (s, other) => panic!("s{s}: {other:?}"),
        }
    }
    assert_eq!(stored, [40; 8], "the quota holds across both hubs");
    // Seen from either hub: the same rows, numbered uniquely in order.
    for h in [&h1, &h2] {
        let rows = h.fetch(id("b"), 0, 10_000, usize::MAX).await.unwrap();
        assert_eq!(rows.len(), 320);
        assert!(rows.windows(2).all(|w| w[0].seq < w[1].seq));
    }
    // The same id through both hubs at once: one stores, one sees a duplicate.
    let (a, b) = tokio::join!(
        h1.insert(env(9_001, "x", &["c"], 10), NOW),
        h2.insert(env(9_001, "x", &["c"], 10), NOW)
    );
    let mut r = [a.unwrap(), b.unwrap()];
    r.sort_by_key(|x| matches!(x, Inserted::Duplicate));
    assert!(matches!(r[0], Inserted::Stored { .. }) && r[1] == Inserted::Duplicate);
    // An embargo released once, whichever hub gets there.
    let mut e = env(9_002, "x", &["c", "d"], 10);
    e.not_before = Some(NOW + 1_000);
    h1.insert(e, NOW).await.unwrap();
    let (a, b) = tokio::join!(h1.release(NOW + 1_000), h2.release(NOW + 1_000));
    let mut released: Vec<NodeId> = a.unwrap();
    released.extend(b.unwrap());
    released.sort();
    assert_eq!(released, [id("c"), id("d")], "each delivery released once");
    assert_eq!(seqs(&h2, "c").await.len(), 2);
    assert_eq!(seqs(&h1, "d").await.len(), 1);
}
