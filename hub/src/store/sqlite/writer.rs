//! The single writer: batches queued operations into one durable transaction.

use lianxi_shared::{MessageId, NodeId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::mpsc;

use crate::metrics::CommitMetrics;

use super::Op;
use super::tally::Tally;
use crate::store::follow::Followers;
use crate::store::{DeliveryRow, Inserted, NewEnvelope, StoreError, StoreLimits};

/// Largest number of operations grouped into one commit.
const MAX_BATCH: usize = 1024;

/// What one operation came to, told to its caller after the commit.
enum Outcome {
    /// With the number of its first delivery (the others follow it).
    Insert(Result<(Inserted, Option<u64>), StoreError>),
    /// What was acknowledged or forgotten.
    Count(Result<usize, StoreError>),
    Unit(Result<(), StoreError>),
    Nodes(Result<Vec<NodeId>, StoreError>),
}

impl Outcome {
    fn error(&self) -> Option<&StoreError> {
        match self {
            Outcome::Insert(r) => r.as_ref().err(),
            Outcome::Count(r) => r.as_ref().err(),
            Outcome::Unit(r) => r.as_ref().err(),
            Outcome::Nodes(r) => r.as_ref().err(),
        }
    }

    /// The same operation refused with `e` (when it had succeeded).
    fn fail(self, e: &Failure) -> Self {
        match self {
            Outcome::Insert(Ok(_)) => Outcome::Insert(Err(e.error())),
            Outcome::Count(Ok(_)) => Outcome::Count(Err(e.error())),
            Outcome::Unit(Ok(_)) => Outcome::Unit(Err(e.error())),
            Outcome::Nodes(Ok(_)) => Outcome::Nodes(Err(e.error())),
            other => other,
        }
    }
}

/// A failure of the whole transaction (begin or commit): every operation
/// that had succeeded is told this instead.
struct Failure {
    msg: String,
    full: bool,
}

impl Failure {
    fn of(e: rusqlite::Error) -> Failure {
        let msg = e.to_string();
        Failure {
            full: matches!(StoreError::from(e), StoreError::Full),
            msg,
        }
    }

    fn error(&self) -> StoreError {
        if self.full {
            StoreError::Full
        } else {
            StoreError::Corrupt(self.msg.clone())
        }
    }
}

fn respond(op: Op, outcome: Outcome) {
    match (op, outcome) {
        (Op::Insert(_, _, r), Outcome::Insert(v)) => drop(r.send(v.map(|(i, _)| i))),
        (Op::Ack(_, _, r), Outcome::Count(v)) => drop(r.send(v)),
        (Op::Register(_, _, _, r), Outcome::Unit(v)) => drop(r.send(v)),
        (Op::Release(_, r), Outcome::Nodes(v)) => drop(r.send(v)),
        (Op::Forget(_, _, r), Outcome::Count(v)) => drop(r.send(v)),
        // Not met: `exec` answers each operation in kind.
        (op, _) => refuse(op, || StoreError::Closed),
    }
}

fn refuse(op: Op, e: impl Fn() -> StoreError) {
    match op {
        Op::Insert(_, _, r) => drop(r.send(Err(e()))),
        Op::Ack(_, _, r) => drop(r.send(Err(e()))),
        Op::Register(_, _, _, r) => drop(r.send(Err(e()))),
        Op::Release(_, r) => drop(r.send(Err(e()))),
        Op::Forget(_, _, r) => drop(r.send(Err(e()))),
    }
}

pub(crate) fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Op>,
    limits: StoreLimits,
    metrics: CommitMetrics,
    followers: &Followers,
) {
    let mut tally = match Tally::load(&conn) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the queues; refusing every write");
            while let Some(op) = rx.blocking_recv() {
                refuse(op, || StoreError::Corrupt(e.to_string()));
            }
            return;
        }
    };
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let (size, started) = (batch.len(), std::time::Instant::now());
        let ops: Vec<Op> = std::mem::take(&mut batch);
        let outcomes = apply_batch(&mut conn, &ops, &limits, &mut tally);
        metrics.batch_size.observe(size as f64);
        metrics.duration.observe(started.elapsed().as_secs_f64());
        for (op, outcome) in ops.into_iter().zip(outcomes) {
            hand_over(followers, &op, &outcome);
            respond(op, outcome);
        }
    }
}

/// Give what an operation committed to the sessions following its
/// recipients (in commit order: the batch's order, after its commit).
fn hand_over(followers: &Followers, op: &Op, outcome: &Outcome) {
    match (op, outcome) {
        (
            Op::Insert(e, _, _),
            Outcome::Insert(Ok((Inserted::Stored { held: false, .. }, Some(first)))),
        ) => {
            for (seq, (node, wrap)) in (*first..).zip(&e.deliveries) {
                if followers.follows(node) {
                    followers.push(
                        node,
                        DeliveryRow {
                            seq,
                            header: e.header.clone(),
                            sig: e.sig.to_vec(),
                            body: e.body.clone(),
                            wrap: wrap.clone(),
                        },
                    );
                }
            }
        }
        (Op::Release(..), Outcome::Nodes(Ok(nodes))) => {
            for node in nodes {
                followers.lag(node);
            }
        }
        _ => {}
    }
}

/// Run a batch in one transaction: what each operation came to.
///
/// First without a savepoint per operation: every check that refuses an
/// operation (a replayed id, a full quota) runs before it writes anything,
/// so a refusal leaves nothing to undo. Only when an operation fails after
/// it may have written (a storage error) is the transaction rolled back and
/// the batch run again with each operation in its own savepoint, so one
/// failure leaves the others. The writer's tally follows: what was not
/// committed is taken back from it.
fn apply_batch(
    conn: &mut Connection,
    ops: &[Op],
    limits: &StoreLimits,
    tally: &mut Tally,
) -> Vec<Outcome> {
    let result = match attempt(conn, ops, limits, tally, false) {
        Err(Attempt::Undone) => {
            tally.undo_to(0);
            attempt(conn, ops, limits, tally, true)
        }
        other => other,
    };
    match result {
        Ok(outcomes) => {
            tally.committed();
            outcomes
        }
        Err(e) => {
            tally.undo_to(0);
            match e {
                Attempt::Undone => undone_twice(ops),
                Attempt::Failed(f, outcomes) => failed(ops, f, outcomes),
            }
        }
    }
}

enum Attempt {
    /// An operation failed after writing; nothing was committed.
    Undone,
    /// The transaction could not begin or commit: what had succeeded failed too.
    Failed(Failure, Vec<Outcome>),
}

fn failed(ops: &[Op], f: Failure, outcomes: Vec<Outcome>) -> Vec<Outcome> {
    tracing::error!(error = %f.msg, "commit failed; nothing in this batch was stored");
    let mut out: Vec<Outcome> = outcomes.into_iter().map(|o| o.fail(&f)).collect();
    // Operations never run (the transaction did not begin) fail alike.
    out.extend(ops[out.len()..].iter().map(|op| kind_of(op, f.error())));
    out
}

/// With savepoints an attempt is never undone whole; should it be, each
/// operation is told nothing was stored.
fn undone_twice(ops: &[Op]) -> Vec<Outcome> {
    ops.iter()
        .map(|op| kind_of(op, StoreError::Corrupt("batch undone".into())))
        .collect()
}

fn kind_of(op: &Op, e: StoreError) -> Outcome {
    match op {
        Op::Insert(..) => Outcome::Insert(Err(e)),
        Op::Ack(..) => Outcome::Count(Err(e)),
        Op::Register(..) => Outcome::Unit(Err(e)),
        Op::Release(..) => Outcome::Nodes(Err(e)),
        Op::Forget(..) => Outcome::Count(Err(e)),
    }
}

fn exec(c: &Connection, op: &Op, limits: &StoreLimits, tally: &mut Tally) -> Outcome {
    match op {
        Op::Insert(env, now, _) => Outcome::Insert(insert(c, env, *now, limits, tally)),
        Op::Ack(node, seqs, _) => Outcome::Count(ack(c, node, seqs, tally)),
        Op::Register(node, cert, now, _) => Outcome::Unit(register(c, node, cert, *now)),
        Op::Release(now, _) => Outcome::Nodes(release(c, *now, tally)),
        Op::Forget(floor, limit, _) => Outcome::Count(forget(c, floor, *limit)),
    }
}

/// Refusals decided before an operation writes.
fn refused_before_writing(e: &StoreError) -> bool {
    matches!(e, StoreError::Replayed(_) | StoreError::QueueFull(_))
}

fn attempt(
    conn: &mut Connection,
    ops: &[Op],
    limits: &StoreLimits,
    tally: &mut Tally,
    savepoints: bool,
) -> Result<Vec<Outcome>, Attempt> {
    let mut tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| Attempt::Failed(Failure::of(e), Vec::new()))?;
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        if !savepoints {
            let o = exec(&tx, op, limits, tally);
            if o.error().is_some_and(|e| !refused_before_writing(e)) {
                return Err(Attempt::Undone);
            }
            out.push(o);
            continue;
        }
        let o = match tx.savepoint() {
            Ok(sp) => {
                let mark = tally.mark();
                let o = exec(&sp, op, limits, tally);
                let _ = if o.error().is_none() {
                    sp.commit()
                } else {
                    tally.undo_to(mark);
                    sp.finish()
                };
                o
            }
            Err(e) => kind_of(op, StoreError::Corrupt(e.to_string())),
        };
        out.push(o);
    }
    match tally.save(&tx).and_then(|()| tx.commit()) {
        Ok(()) => Ok(out),
        Err(e) => Err(Attempt::Failed(Failure::of(e), out)),
    }
}

/// Bytes a queued delivery counts against its sender's quota.
fn queued_size(e: &NewEnvelope, wrap: &[u8]) -> i64 {
    (e.header.len() + e.body.len() + e.sig.len() + wrap.len()) as i64
}

/// Refuse if queuing `e` would take any recipient over its sender's quota.
fn check_quota(e: &NewEnvelope, limits: &StoreLimits, tally: &Tally) -> Result<(), StoreError> {
    if limits.queue_count_per_pair == 0 && limits.queue_bytes_per_pair == 0 {
        return Ok(());
    }
    let over: Vec<NodeId> = e
        .deliveries
        .iter()
        .filter(|(node, wrap)| {
            let q = tally.queued(&e.sender, node);
            let count_over = limits.queue_count_per_pair > 0
                && (q.count + 1) as u64 > limits.queue_count_per_pair;
            let bytes_over = limits.queue_bytes_per_pair > 0
                && (q.bytes + queued_size(e, wrap)) as u64 > limits.queue_bytes_per_pair;
            count_over || bytes_over
        })
        .map(|(node, _)| node.clone())
        .collect();
    if over.is_empty() {
        Ok(())
    } else {
        Err(StoreError::QueueFull(over))
    }
}

/// What an id already stored says of `e`: a retry of it, or a replay.
fn seen_before(c: &Connection, e: &NewEnvelope) -> Result<Option<Inserted>, StoreError> {
    let digest: Option<Vec<u8>> = c
        .prepare_cached("SELECT digest FROM seen WHERE id = ?1")?
        .query_row([e.id.as_bytes().as_slice()], |r| r.get(0))
        .optional()?;
    match digest {
        None => Ok(None),
        Some(d) if d == e.digest => Ok(Some(Inserted::Duplicate)),
        Some(_) => Err(StoreError::Replayed(e.id)),
    }
}

/// Store an envelope: its id (refused if taken by another envelope), the
/// envelope once, and a delivery (or a held row) for each recipient. Three
/// inserts, each appended to its tree, when the id is new and the quota has
/// room; refusals are decided before anything is written.
fn insert(
    c: &Connection,
    e: &NewEnvelope,
    now: i64,
    limits: &StoreLimits,
    tally: &mut Tally,
) -> Result<(Inserted, Option<u64>), StoreError> {
    if let Err(over) = check_quota(e, limits, tally) {
        // A retry of what is stored is told so even when the queue is full.
        return seen_before(c, e)?.map(|i| (i, None)).ok_or(over);
    }
    let new = c
        .prepare_cached(
            "INSERT INTO seen(id, digest, stored_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(id) DO NOTHING",
        )?
        .execute(params![
            e.id.as_bytes().as_slice(),
            e.digest.as_slice(),
            now
        ])?;
    if new == 0 {
        return seen_before(c, e)?
            .map(|i| (i, None))
            .ok_or_else(|| StoreError::Corrupt("id vanished".into()));
    }
    c.prepare_cached(
        "INSERT INTO envelopes(sender, header, sig, body, pending) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        e.sender.as_str(),
        e.header,
        e.sig.as_slice(),
        e.body,
        e.deliveries.len() as i64
    ])?;
    let n = c.last_insert_rowid();
    for (node, wrap) in &e.deliveries {
        tally.add(&e.sender, node, 1, queued_size(e, wrap));
    }
    if e.not_before.is_some_and(|t| t > now) {
        let mut st = c.prepare_cached(
            "INSERT INTO held(envelope, node_id, wrap, release_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (node, wrap) in &e.deliveries {
            st.execute(params![n, node.as_str(), wrap, e.not_before])?;
        }
        let held = Inserted::Stored {
            ready: vec![],
            held: true,
        };
        return Ok((held, None));
    }
    let mut st = c.prepare_cached(
        "INSERT INTO deliveries(node_id, seq, envelope, wrap) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut first = None;
    for (node, wrap) in &e.deliveries {
        let seq = tally.next_seq();
        first.get_or_insert(seq);
        st.execute(params![node.as_str(), seq, n, wrap])?;
    }
    let stored = Inserted::Stored {
        ready: e.deliveries.iter().map(|d| d.0.clone()).collect(),
        held: false,
    };
    Ok((stored, first.and_then(|s| u64::try_from(s).ok())))
}

/// Acknowledge delivered sequence numbers: each delivery goes, and its
/// envelope with its last one (its id and digest stay in `seen`, against
/// replays). Per number, one keyed read of the delivery with its envelope
/// and two keyed writes, none with RETURNING: SQLite runs a RETURNING
/// statement as a trigger, with a statement journal and a temporary table
/// each time, which cost more than the read.
fn ack(
    c: &Connection,
    node: &NodeId,
    seqs: &[u64],
    tally: &mut Tally,
) -> Result<usize, StoreError> {
    // The envelope's sender and queued size, and whether this is its last
    // delivery (none if the envelope were missing: the delivery still goes).
    let mut find = c.prepare_cached(
        "SELECT d.envelope, e.pending, e.sender,
                length(e.header) + length(e.body) + 64 + length(d.wrap)
         FROM deliveries d LEFT JOIN envelopes e ON e.n = d.envelope
         WHERE d.node_id = ?1 AND d.seq = ?2",
    )?;
    let mut take = c.prepare_cached("DELETE FROM deliveries WHERE node_id = ?1 AND seq = ?2")?;
    let mut drop_last = c.prepare_cached("DELETE FROM envelopes WHERE n = ?1")?;
    let mut count_down =
        c.prepare_cached("UPDATE envelopes SET pending = pending - 1 WHERE n = ?1")?;
    let mut n = 0;
    for seq in seqs.iter().filter_map(|s| i64::try_from(*s).ok()) {
        type Found = (i64, Option<i64>, Option<String>, Option<i64>);
        let found: Option<Found> = find
            .query_row(params![node.as_str(), seq], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let Some((envelope, pending, sender, size)) = found else {
            continue;
        };
        take.execute(params![node.as_str(), seq])?;
        n += 1;
        let (Some(pending), Some(sender), Some(size)) = (pending, sender, size) else {
            continue;
        };
        if pending <= 1 {
            drop_last.execute([envelope])?;
        } else {
            count_down.execute([envelope])?;
        }
        if let Ok(sender) = NodeId::new(sender) {
            tally.add(&sender, node, -1, -size);
        }
    }
    Ok(n)
}

fn register(c: &Connection, node: &NodeId, cert: &[u8], now: i64) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO nodes(node_id, cert, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT(node_id) DO UPDATE SET cert = excluded.cert, last_seen = excluded.last_seen",
    )?
    .execute(params![node.as_str(), cert, now])?;
    Ok(())
}

/// Forget up to `limit` ids older than `floor`: `seen` is keyed by the id,
/// whose first bytes are its time, so this is a range of its tree. An
/// envelope still queued keeps its deliveries (they are not keyed by its id).
fn forget(c: &Connection, floor: &MessageId, limit: usize) -> Result<usize, StoreError> {
    let n = c
        .prepare_cached(
            "DELETE FROM seen WHERE id IN (SELECT id FROM seen WHERE id < ?1 ORDER BY id LIMIT ?2)",
        )?
        .execute(params![
            floor.as_bytes().as_slice(),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ])?;
    Ok(n)
}

fn release(c: &Connection, now: i64, tally: &mut Tally) -> Result<Vec<NodeId>, StoreError> {
    let mut nodes: Vec<String> = c
        .prepare_cached("SELECT DISTINCT node_id FROM held WHERE release_at <= ?1")?
        .query_map([now], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let due: i64 = c
        .prepare_cached("SELECT count(*) FROM held WHERE release_at <= ?1")?
        .query_row([now], |r| r.get(0))?;
    if due == 0 {
        return Ok(Vec::new());
    }
    let before = tally.take_seqs(due);
    c.prepare_cached(
        "INSERT INTO deliveries(node_id, seq, envelope, wrap)
         SELECT node_id, ?2 + row_number() OVER (ORDER BY release_at, envelope, node_id),
                envelope, wrap
         FROM held WHERE release_at <= ?1",
    )?
    .execute([now, before])?;
    c.prepare_cached("DELETE FROM held WHERE release_at <= ?1")?
        .execute([now])?;
    nodes.sort();
    Ok(nodes
        .into_iter()
        .filter_map(|n| NodeId::new(n).ok())
        .collect())
}
