//! The embedded store's writer alone: what storing and acknowledging an
//! envelope costs the writer thread, without QUIC, sessions or signatures
//! (those are `lianxi-bench`'s relay). Workload: 8 senders → 8 recipients,
//! 1 KiB envelopes with one recipient each, every pair 64 inserts in flight,
//! then its deliveries read and acknowledged in acks of 64, all pairs at
//! once, so commits mix inserts and acks as in the relay. `synchronous=FULL`
//! on a file in a temp directory.
//!
//! Prints the writer thread's CPU time per envelope (insert and ack) from
//! `/proc/self/task/*/schedstat`, and the rate.
//!
//! `cargo bench -p lianxi-hub --bench writer`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use lianxi_hub::store::{HubStore, NewEnvelope, SqliteStore, StoreLimits};
use lianxi_shared::{MessageId, NodeId};

const PAIRS: usize = 8;
const ROUNDS: usize = 60;
const IN_FLIGHT: usize = 64;

/// Nanoseconds the store's writer thread has run. The thread is named
/// "hub-store-writer" (`store/sqlite/mod.rs`), which Linux cuts to 15 bytes.
fn writer_cpu_ns() -> u64 {
    let mut found = None;
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten() {
        let dir = task.unwrap().path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() == "hub-store-write" {
            let s = std::fs::read_to_string(dir.join("schedstat")).unwrap();
            found = s.split_whitespace().next().and_then(|t| t.parse().ok());
        }
    }
    found.expect("no writer thread named hub-store-write: was it renamed?")
}

fn envelope(sender: &NodeId, to: &NodeId, now: i64, k: usize) -> NewEnvelope {
    let mut digest = [0u8; 32];
    digest[..8].copy_from_slice(&(k as u64).to_le_bytes());
    NewEnvelope {
        id: MessageId::generate(now),
        sender: sender.clone(),
        digest,
        header: vec![7; 220],
        sig: [9; 64],
        body: vec![5; 1100],
        created_at: now,
        not_before: None,
        deliveries: vec![(to.clone(), vec![3; 200])],
    }
}

async fn pair(store: SqliteStore, p: usize) -> usize {
    let sender = NodeId::new(format!("s{p}.bench")).unwrap();
    let to = NodeId::new(format!("r{p}.bench")).unwrap();
    let now = 1_800_000_000_000;
    let mut after = 0;
    let mut done = 0;
    for round in 0..ROUNDS {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..IN_FLIGHT {
            let (s, e) = (
                store.clone(),
                envelope(&sender, &to, now, round * IN_FLIGHT + i),
            );
            set.spawn(async move { s.insert(e, now).await });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap().unwrap();
        }
        let rows = store
            .fetch(to.clone(), after, IN_FLIGHT, usize::MAX)
            .await
            .unwrap();
        after = rows.last().map_or(after, |r| r.seq);
        let seqs: Vec<u64> = rows.iter().map(|r| r.seq).collect();
        done += store.ack(to.clone(), seqs).await.unwrap();
    }
    done
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let store = SqliteStore::open_limited(dir.path(), StoreLimits::default()).unwrap();
        // Warm up: the tables' first pages, the statement cache.
        pair(store.clone(), PAIRS).await;
        let (cpu0, t0) = (writer_cpu_ns(), Instant::now());
        let mut set = tokio::task::JoinSet::new();
        for p in 0..PAIRS {
            set.spawn(pair(store.clone(), p));
        }
        let mut n = 0;
        while let Some(r) = set.join_next().await {
            n += r.unwrap();
        }
        let (cpu, secs) = (writer_cpu_ns() - cpu0, t0.elapsed().as_secs_f64());
        println!(
            "writer (SQLite, synchronous=FULL): {n} envelopes stored and acknowledged in {secs:.2} s \
             = {:.0}/s; writer thread {:.1} µs CPU per envelope",
            n as f64 / secs,
            cpu as f64 / 1e3 / n as f64,
        );
    });
}
