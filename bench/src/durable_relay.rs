//! "limit: durable relay": what a relay like the hub could do at most on this
//! machine. Raw QUIC frames in (the same quinn and crypto provider), one
//! SQLite writer with group commit (WAL, `synchronous=FULL`, as the hub),
//! each frame acknowledged to its publisher after its commit and handed to
//! its consumer from memory, the consumer's acknowledgement deleting the row
//! in a later commit. No signatures, no envelopes, no quotas, no sessions.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::AsyncWriteExt;
use tokio::sync::{Semaphore, mpsc};

use crate::baseline::endpoints;

/// Frames one publisher may have unacknowledged.
const WINDOW: usize = 256;
const BODY: usize = 1024;

enum Op {
    Frame {
        pair: u8,
        id: u64,
        body: Vec<u8>,
        acked: mpsc::UnboundedSender<u64>,
    },
    Ack {
        pair: u8,
        id: u64,
    },
}

/// Each consumer's outgoing frames, by pair.
type Consumers = std::sync::Mutex<HashMap<u8, mpsc::UnboundedSender<(u64, Vec<u8>)>>>;

/// `pairs` publishers → `pairs` consumers for `secs`: frames/s delivered.
pub async fn durable_relay(dir: &Path, pairs: usize, secs: f64) -> anyhow::Result<f64> {
    let (server, client, addr) = endpoints()?;
    let db = dir.join("durable-relay.db");
    let (ops_tx, ops_rx) = mpsc::channel::<Op>(8192);
    let consumers: Arc<Consumers> = Arc::default();
    let writer = {
        let consumers = consumers.clone();
        std::thread::spawn(move || write_loop(&db, ops_rx, &consumers))
    };
    // The relay: each connection opens one stream and says what it is.
    let relay = {
        let (ops_tx, consumers) = (ops_tx.clone(), consumers.clone());
        tokio::spawn(async move {
            while let Some(inc) = server.accept().await {
                let (ops_tx, consumers) = (ops_tx.clone(), consumers.clone());
                tokio::spawn(async move {
                    let conn = inc.await?;
                    let (send, mut recv) = conn.accept_bi().await?;
                    let mut role = [0u8; 2];
                    recv.read_exact(&mut role).await?;
                    if role[0] == b'P' {
                        publisher_side(role[1], send, recv, ops_tx).await
                    } else {
                        consumer_side(role[1], send, recv, ops_tx, consumers).await
                    }
                });
            }
        })
    };
    drop(ops_tx);
    let delivered = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for pair in 0..pairs as u8 {
        let conn = client.connect(addr, "localhost")?.await?;
        let (mut send, recv) = conn.open_bi().await?;
        send.write_all(&[b'C', pair]).await?;
        let delivered = delivered.clone();
        tasks.push(tokio::spawn(consume(conn, send, recv, delivered, until)));
    }
    // Consumers first, so no frame waits for one.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    let at_start = delivered.load(Ordering::Relaxed);
    for pair in 0..pairs as u8 {
        let conn = client.connect(addr, "localhost")?.await?;
        tasks.push(tokio::spawn(publish(conn, pair, until)));
    }
    for t in tasks {
        t.await??;
    }
    let rate =
        (delivered.load(Ordering::Relaxed) - at_start) as f64 / start.elapsed().as_secs_f64();
    relay.abort();
    client.close(0u32.into(), b"done");
    drop(writer);
    Ok(rate)
}

/// Frames from a publisher to the writer; its acknowledgements back as they commit.
async fn publisher_side(
    pair: u8,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    ops: mpsc::Sender<Op>,
) -> anyhow::Result<()> {
    let (acked, mut acks) = mpsc::unbounded_channel::<u64>();
    let writer = tokio::spawn(async move {
        while let Some(id) = acks.recv().await {
            let mut buf = id.to_be_bytes().to_vec();
            while let Ok(id) = acks.try_recv() {
                buf.extend_from_slice(&id.to_be_bytes());
            }
            if send.write_all(&buf).await.is_err() {
                break;
            }
        }
    });
    let mut head = [0u8; 8];
    while recv.read_exact(&mut head).await.is_ok() {
        let mut body = vec![0u8; BODY];
        recv.read_exact(&mut body).await?;
        let id = u64::from_be_bytes(head);
        let acked = acked.clone();
        if ops
            .send(Op::Frame {
                pair,
                id,
                body,
                acked,
            })
            .await
            .is_err()
        {
            break;
        }
    }
    drop(acked);
    let _ = writer.await;
    Ok(())
}

/// Committed frames out to a consumer; its acknowledgements to the writer.
async fn consumer_side(
    pair: u8,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    ops: mpsc::Sender<Op>,
    consumers: Arc<Consumers>,
) -> anyhow::Result<()> {
    let (tx, mut frames) = mpsc::unbounded_channel();
    consumers
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .insert(pair, tx);
    let out = tokio::spawn(async move {
        while let Some((id, body)) = frames.recv().await {
            let mut buf = Vec::with_capacity(8 + BODY);
            buf.extend_from_slice(&u64::to_be_bytes(id));
            buf.extend_from_slice(&body);
            if send.write_all(&buf).await.is_err() {
                break;
            }
        }
    });
    let mut id = [0u8; 8];
    while recv.read_exact(&mut id).await.is_ok() {
        let id = u64::from_be_bytes(id);
        if ops.send(Op::Ack { pair, id }).await.is_err() {
            break;
        }
    }
    out.abort();
    Ok(())
}

/// The single writer: whatever is queued, in one durable transaction.
fn write_loop(db: &Path, mut ops: mpsc::Receiver<Op>, consumers: &Consumers) -> anyhow::Result<()> {
    let mut conn = rusqlite::Connection::open(db)?;
    let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(
        "CREATE TABLE q(pair INTEGER, id INTEGER, body BLOB NOT NULL, PRIMARY KEY(pair, id)) WITHOUT ROWID",
    )?;
    let mut batch = Vec::with_capacity(1024);
    while let Some(first) = ops.blocking_recv() {
        batch.push(first);
        while batch.len() < 1024 {
            match ops.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut ins = tx.prepare_cached("INSERT INTO q(pair, id, body) VALUES (?1, ?2, ?3)")?;
            let mut del = tx.prepare_cached("DELETE FROM q WHERE pair = ?1 AND id = ?2")?;
            for op in &batch {
                match op {
                    Op::Frame { pair, id, body, .. } => {
                        ins.execute(rusqlite::params![pair, *id as i64, body])?;
                    }
                    Op::Ack { pair, id } => {
                        del.execute(rusqlite::params![pair, *id as i64])?;
                    }
                }
            }
        }
        tx.commit()?;
        let out = consumers.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        for op in batch.drain(..) {
            if let Op::Frame {
                pair,
                id,
                body,
                acked,
            } = op
            {
                let _ = acked.send(id);
                if let Some(c) = out.get(&pair) {
                    let _ = c.send((id, body));
                }
            }
        }
    }
    Ok(())
}

/// Frames of 1 KiB until `until`, at most [`WINDOW`] unacknowledged.
async fn publish(conn: quinn::Connection, pair: u8, until: Instant) -> anyhow::Result<()> {
    let (mut send, mut recv) = conn.open_bi().await?;
    send.write_all(&[b'P', pair]).await?;
    let window = Arc::new(Semaphore::new(WINDOW));
    let acks = {
        let window = window.clone();
        tokio::spawn(async move {
            let mut id = [0u8; 8];
            while recv.read_exact(&mut id).await.is_ok() {
                window.add_permits(1);
            }
        })
    };
    let body = vec![7u8; BODY];
    let mut id = 0u64;
    while Instant::now() < until {
        window.acquire().await.context("window")?.forget();
        id += 1;
        let mut frame = Vec::with_capacity(8 + BODY);
        frame.extend_from_slice(&id.to_be_bytes());
        frame.extend_from_slice(&body);
        send.write_all(&frame).await?;
    }
    // Wait for the last acknowledgements, then stop.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while window.available_permits() < WINDOW {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    acks.abort();
    send.flush().await?;
    Ok(())
}

/// Count what arrives until `until`, acknowledging each frame.
async fn consume(
    _conn: quinn::Connection,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    delivered: Arc<AtomicU64>,
    until: Instant,
) -> anyhow::Result<()> {
    let mut frame = vec![0u8; 8 + BODY];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        match tokio::time::timeout(left, recv.read_exact(&mut frame)).await {
            Ok(Ok(())) => {
                delivered.fetch_add(1, Ordering::Relaxed);
                send.write_all(&frame[..8]).await?;
            }
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Ok(()),
        }
    }
}
