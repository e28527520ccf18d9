//! The PostgreSQL writer: one task per hub grouping whatever is queued into
//! one transaction, answering each caller after the commit. Its statements
//! are prepared once per connection, and each operation takes few round
//! trips: a quota row is created-or-locked and read in one upsert, a
//! delivery's number is taken and its row written in one statement, and an
//! acknowledgement of many deliveries is one statement whatever their number.

use lianxi_shared::NodeId;
use tokio::sync::mpsc;
use tokio_postgres::{Client, Statement, Transaction};

use super::inserts::insert_all;
use super::{MAX_BATCH, Op, connect, notify, pg_err};
use crate::metrics::CommitMetrics;
use crate::store::{Inserted, NewEnvelope, StoreError, StoreLimits};

/// A connection and its prepared statements.
struct Conn {
    client: Client,
    st: Stmts,
}

pub(super) struct Stmts {
    pub(super) digests: Statement,
    pub(super) quota_lock: Statement,
    pub(super) claim: Statement,
    pub(super) quota_add: Statement,
    pub(super) take_seqs: Statement,
    pub(super) deliver_all: Statement,
    pub(super) hold_all: Statement,
    deliver: Statement,
    ack: Statement,
    register: Statement,
    release: Statement,
    pub(super) forget: Statement,
}

impl Stmts {
    async fn prepare(c: &Client) -> Result<Stmts, StoreError> {
        let p = async |sql: &str| c.prepare(sql).await.map_err(pg_err);
        Ok(Stmts {
            digests: p("SELECT id, digest FROM envelopes WHERE id = ANY($1)").await?,
            // Made if missing and locked in one step (ON CONFLICT DO UPDATE
            // locks the row), so two hubs queueing the first envelope of a
            // pair still take turns.
            // The pair's queue: what was queued (row locked) less what was
            // collected (read as committed: a late acknowledgement only makes
            // the quota stricter for a moment).
            quota_lock: p("WITH l AS (
                     INSERT INTO queued(sender, recipient, count, bytes)
                     SELECT s, r, 0, 0 FROM unnest($1::text[], $2::text[]) AS t(s, r)
                     ON CONFLICT (sender, recipient) DO UPDATE SET count = queued.count
                     RETURNING sender, recipient, count, bytes)
                 SELECT l.sender, l.recipient, l.count - coalesce(c.count, 0),
                        l.bytes - coalesce(c.bytes, 0)
                 FROM l LEFT JOIN collected c ON c.sender = l.sender AND c.recipient = l.recipient")
            .await?,
            claim: p("INSERT INTO envelopes(id, sender, digest, header, sig, body, created_at, stored_at, pending)
                 SELECT * FROM unnest($1::bytea[], $2::text[], $3::bytea[], $4::bytea[], $5::bytea[],
                                      $6::bytea[], $7::int8[], $8::int8[], $9::int4[])
                 ON CONFLICT (id) DO NOTHING RETURNING id")
            .await?,
            quota_add: p("INSERT INTO queued(sender, recipient, count, bytes)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[])
                 ON CONFLICT (sender, recipient) DO UPDATE
                 SET count = queued.count + excluded.count, bytes = queued.bytes + excluded.bytes")
            .await?,
            // Each recipient's row locked to the commit, so numbers follow
            // commit order: the last number of each range is returned.
            take_seqs: p("INSERT INTO next_seq(node_id, seq) SELECT * FROM unnest($1::text[], $2::int8[])
                 ON CONFLICT (node_id) DO UPDATE SET seq = next_seq.seq + excluded.seq
                 RETURNING node_id, seq")
            .await?,
            deliver_all: p("INSERT INTO deliveries(node_id, seq, envelope_id, wrap)
                 SELECT * FROM unnest($1::text[], $2::int8[], $3::bytea[], $4::bytea[])")
            .await?,
            hold_all: p("INSERT INTO held(envelope_id, node_id, wrap, release_at)
                 SELECT * FROM unnest($1::bytea[], $2::text[], $3::bytea[], $4::int8[])")
            .await?,
            // One released delivery: its recipient's next number and its row.
            deliver: p("WITH s AS (
                     INSERT INTO next_seq(node_id, seq) VALUES ($1, 1)
                     ON CONFLICT (node_id) DO UPDATE SET seq = next_seq.seq + 1 RETURNING seq)
                 INSERT INTO deliveries(node_id, seq, envelope_id, wrap)
                 SELECT $1, s.seq, $2, $3 FROM s")
            .await?,
            // Delete the deliveries, count them as collected from their senders and
            // drop each envelope's content once nobody waits for it (its id
            // and digest stay, to recognise replays).
            ack: p("WITH gone AS (
                     DELETE FROM deliveries d USING envelopes e
                     WHERE d.node_id = $1 AND d.seq = ANY($2) AND e.id = d.envelope_id
                     RETURNING d.envelope_id, e.sender,
                         coalesce(octet_length(e.header), 0) + coalesce(octet_length(e.body), 0) + 64
                             + octet_length(d.wrap) AS bytes),
                 q AS (
                     INSERT INTO collected(sender, recipient, count, bytes)
                     SELECT sender, $1, count(*), sum(bytes) FROM gone GROUP BY sender
                     ON CONFLICT (sender, recipient) DO UPDATE
                     SET count = collected.count + excluded.count,
                         bytes = collected.bytes + excluded.bytes),
                 en AS (
                     UPDATE envelopes SET pending = pending - g.n,
                         header = CASE WHEN pending <= g.n THEN NULL ELSE header END,
                         sig = CASE WHEN pending <= g.n THEN NULL ELSE sig END,
                         body = CASE WHEN pending <= g.n THEN NULL ELSE body END
                     FROM (SELECT envelope_id, count(*) AS n FROM gone GROUP BY envelope_id) g
                     WHERE envelopes.id = g.envelope_id)
                 SELECT count(*) FROM gone")
            .await?,
            register: p("INSERT INTO nodes(node_id, cert, first_seen, last_seen) VALUES ($1, $2, $3, $3)
                 ON CONFLICT (node_id) DO UPDATE SET cert = excluded.cert, last_seen = excluded.last_seen")
            .await?,
            // Ids older than the floor whose envelopes are gone (their
            // content dropped at the last acknowledgement): a range of the
            // primary key, whose first bytes are the id's time.
            forget: p("DELETE FROM envelopes WHERE id IN (
                     SELECT id FROM envelopes WHERE id < $1 AND pending = 0
                     ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)")
            .await?,
            release: p("DELETE FROM held WHERE (envelope_id, node_id) IN (
                     SELECT envelope_id, node_id FROM held WHERE release_at <= $1
                     ORDER BY release_at, envelope_id FOR UPDATE SKIP LOCKED)
                 RETURNING envelope_id, node_id, wrap, release_at")
            .await?,
        })
    }
}

async fn open(url: &str) -> Option<Conn> {
    let client = connect(url).await.ok()?;
    match Stmts::prepare(&client).await {
        Ok(st) => Some(Conn { client, st }),
        Err(e) => {
            tracing::warn!(error = %e, "cannot prepare the hub's statements");
            None
        }
    }
}

/// This hub's writer: batches of operations, one transaction each.
pub(super) async fn writer(
    url: String,
    mut rx: mpsc::Receiver<Op>,
    limits: StoreLimits,
    metrics: CommitMetrics,
) {
    let (announce, queued) = mpsc::unbounded_channel();
    tokio::spawn(notify::announcer(url.clone(), queued));
    let mut conn = open(&url).await;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        if conn.as_ref().is_none_or(|c| c.client.is_closed()) {
            conn = open(&url).await;
        }
        let (size, started) = (batch.len(), std::time::Instant::now());
        let ops = std::mem::take(&mut batch);
        match conn.as_mut() {
            Some(c) => apply_batch(c, ops, &limits, &announce).await,
            None => {
                let e = || StoreError::Postgres("the database cannot be reached".into());
                for op in ops {
                    fail(op, e());
                }
            }
        }
        metrics.batch_size.observe(size as f64);
        metrics.duration.observe(started.elapsed().as_secs_f64());
    }
}

fn fail(op: Op, e: StoreError) {
    match op {
        Op::Insert(_, _, r) => drop(r.send(Err(e))),
        Op::Ack(_, _, r) => drop(r.send(Err(e))),
        Op::Register(_, _, _, r) => drop(r.send(Err(e))),
        Op::Release(_, r) => drop(r.send(Err(e))),
        Op::Forget(_, _, r) => drop(r.send(Err(e))),
    }
}

/// What an operation came to, told to its caller after the commit.
enum Outcome {
    Insert(Result<Inserted, StoreError>),
    /// What was acknowledged or forgotten.
    Count(usize),
    Unit,
    Nodes(Vec<NodeId>),
}

/// Transactions PostgreSQL undid because they crossed another hub's (a
/// deadlock between two writers, or a serialization failure): nothing was
/// stored, and the same batch may simply run again.
fn retryable(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

/// Every operation of the batch in one transaction, committed: what each
/// came to. An error undid all of them.
async fn run_batch(
    c: &mut Client,
    st: &Stmts,
    ops: &[Op],
    limits: &StoreLimits,
) -> Result<Vec<Outcome>, tokio_postgres::Error> {
    let tx = c.transaction().await?;
    // The envelopes first, together; then the rest in order.
    let envs: Vec<(&NewEnvelope, i64)> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Insert(e, now, _) => Some((&**e, *now)),
            _ => None,
        })
        .collect();
    let mut inserted = if envs.is_empty() {
        Vec::new()
    } else {
        insert_all(&tx, st, &envs, limits).await?
    }
    .into_iter();
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        out.push(match op {
            Op::Insert(..) => Outcome::Insert(inserted.next().unwrap_or(Err(StoreError::Closed))),
            Op::Ack(n, seqs, _) => Outcome::Count(ack(&tx, st, n, seqs).await?),
            Op::Register(n, cert, now, _) => {
                register(&tx, st, n, cert, *now).await?;
                Outcome::Unit
            }
            Op::Release(now, _) => Outcome::Nodes(release(&tx, st, *now).await?),
            Op::Forget(floor, limit, _) => {
                let limit = i64::try_from(*limit).unwrap_or(i64::MAX);
                let n = tx
                    .execute(&st.forget, &[&floor.as_bytes().as_slice(), &limit])
                    .await?;
                Outcome::Count(usize::try_from(n).unwrap_or(usize::MAX))
            }
        });
    }
    tx.commit().await?;
    Ok(out)
}

/// Run a batch (again, up to three times, when PostgreSQL undid it for
/// crossing another hub's), then tell every caller: after the commit, or
/// that nothing was stored.
async fn apply_batch(
    conn: &mut Conn,
    ops: Vec<Op>,
    limits: &StoreLimits,
    announce: &mpsc::UnboundedSender<notify::Queued>,
) {
    let mut tries = 0;
    let result = loop {
        tries += 1;
        match run_batch(&mut conn.client, &conn.st, &ops, limits).await {
            Err(e) if retryable(&e) && tries < 3 => {
                tracing::info!(error = %pg_err(e), "transaction crossed another hub's; running it again");
            }
            other => break other,
        }
    };
    let outcomes = match result {
        Ok(o) => o,
        Err(e) => {
            let msg = pg_err(e).to_string();
            tracing::error!(error = %msg, "PostgreSQL transaction failed; nothing in this batch was stored");
            for op in ops {
                fail(op, StoreError::Postgres(msg.clone()));
            }
            return;
        }
    };
    // Tell the other hubs, after the commit and once per batch.
    let mut ready: Vec<NodeId> = Vec::new();
    let mut held = false;
    for o in &outcomes {
        match o {
            Outcome::Insert(Ok(Inserted::Stored { ready: r, held: h })) => {
                ready.extend(r.iter().cloned());
                held |= *h;
            }
            Outcome::Nodes(v) => ready.extend(v.iter().cloned()),
            _ => {}
        }
    }
    ready.sort();
    ready.dedup();
    // Callers first: their answer does not wait for the announcement.
    for (op, o) in ops.into_iter().zip(outcomes) {
        match (op, o) {
            (Op::Insert(_, _, r), Outcome::Insert(v)) => drop(r.send(v)),
            (Op::Ack(_, _, r), Outcome::Count(k)) => drop(r.send(Ok(k))),
            (Op::Register(_, _, _, r), Outcome::Unit) => drop(r.send(Ok(()))),
            (Op::Release(_, r), Outcome::Nodes(v)) => drop(r.send(Ok(v))),
            (Op::Forget(_, _, r), Outcome::Count(k)) => drop(r.send(Ok(k))),
            (op, _) => fail(op, StoreError::Closed),
        }
    }
    if !ready.is_empty() || held {
        let _ = announce.send((ready, held));
    }
}

async fn ack(
    tx: &Transaction<'_>,
    st: &Stmts,
    node: &NodeId,
    seqs: &[u64],
) -> Result<usize, tokio_postgres::Error> {
    let seqs: Vec<i64> = seqs.iter().filter_map(|s| i64::try_from(*s).ok()).collect();
    if seqs.is_empty() {
        return Ok(0);
    }
    let gone: i64 = tx
        .query_one(&st.ack, &[&node.as_str(), &seqs])
        .await?
        .get(0);
    Ok(gone as usize)
}

async fn register(
    tx: &Transaction<'_>,
    st: &Stmts,
    node: &NodeId,
    cert: &[u8],
    now: i64,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(&st.register, &[&node.as_str(), &cert, &now])
        .await?;
    Ok(())
}

/// Queue what is due; rows another hub is releasing are skipped, not waited for.
async fn release(
    tx: &Transaction<'_>,
    st: &Stmts,
    now: i64,
) -> Result<Vec<NodeId>, tokio_postgres::Error> {
    let due = tx.query(&st.release, &[&now]).await?;
    let mut rows: Vec<(i64, Vec<u8>, String, Vec<u8>)> = due
        .into_iter()
        .map(|r| (r.get(3), r.get(0), r.get(1), r.get(2)))
        .collect();
    rows.sort();
    let mut nodes = Vec::new();
    for (_, env, node, wrap) in rows {
        tx.execute(&st.deliver, &[&node, &env, &wrap]).await?;
        nodes.push(node);
    }
    nodes.sort();
    nodes.dedup();
    Ok(nodes
        .into_iter()
        .filter_map(|n| NodeId::new(n).ok())
        .collect())
}
