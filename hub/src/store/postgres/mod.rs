//! PostgreSQL: several hub processes sharing one database.
//!
//! Each hub runs one writer task that groups whatever is queued into one
//! transaction and answers its callers after the commit, as the SQLite writer
//! does. What one SQLite writer gave for free is designed here, for writers in
//! several processes at once:
//! - each recipient's deliveries are numbered by `next_seq`, a row updated in
//!   the committing transaction: its lock is held to the commit, so numbers
//!   are handed out in commit order and a fetch after a number never skips a
//!   row that commits later;
//! - a sender's quota counters are locked (`FOR UPDATE`) before they are
//!   checked, so two hubs cannot both pass the same quota;
//! - an id is claimed with `ON CONFLICT DO NOTHING`, and its digest then says
//!   duplicate or replayed;
//! - every check comes before any write of its operation, so a refused
//!   operation leaves nothing behind and no savepoint is needed;
//! - embargoed rows are taken with `FOR UPDATE SKIP LOCKED`: exactly one hub
//!   releases each.

mod notify;
mod schema;
mod status;

pub use notify::Wake;
pub use status::status;

use std::sync::Arc;

use lianxi_shared::NodeId;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::{Client, NoTls, Transaction};

use super::{
    CrlVersion, DeliveryRow, HubStore, Inserted, NewEnvelope, SharedCrl, StoreError, StoreLimits,
};
use crate::metrics::CommitMetrics;

/// Largest number of operations grouped into one commit.
const MAX_BATCH: usize = 512;

pub(crate) fn pg_err(e: tokio_postgres::Error) -> StoreError {
    StoreError::Postgres(e.to_string())
}

enum Op {
    Insert(
        Box<NewEnvelope>,
        i64,
        oneshot::Sender<Result<Inserted, StoreError>>,
    ),
    Ack(NodeId, Vec<u64>, oneshot::Sender<Result<usize, StoreError>>),
    Register(
        NodeId,
        Vec<u8>,
        i64,
        oneshot::Sender<Result<(), StoreError>>,
    ),
    Release(i64, oneshot::Sender<Result<Vec<NodeId>, StoreError>>),
}

/// A hub's handle on the shared PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    tx: mpsc::Sender<Op>,
    url: Arc<str>,
    reader: Arc<Mutex<Option<Client>>>,
    commits: CommitMetrics,
    wakes: tokio::sync::broadcast::Sender<Wake>,
    poll: std::time::Duration,
}

/// The connection settings of `url`, with a connect timeout (5 s) unless the
/// URL sets one: a database host that does not answer must not hold a
/// writer for minutes while senders wait.
pub(crate) fn pg_config(url: &str) -> Result<tokio_postgres::Config, StoreError> {
    let mut cfg: tokio_postgres::Config = url.parse().map_err(pg_err)?;
    if cfg.get_connect_timeout().is_none() {
        cfg.connect_timeout(std::time::Duration::from_secs(5));
    }
    Ok(cfg)
}

async fn connect(url: &str) -> Result<Client, StoreError> {
    let (client, conn) = pg_config(url)?.connect(NoTls).await.map_err(pg_err)?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(error = %e, "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

impl PgStore {
    /// Connect to `url` (`postgresql://…`), check or create the schema, and
    /// start this hub's writer.
    /// Other hubs' commits wake this one's connections (LISTEN/NOTIFY), and
    /// it looks anyway every `poll` in case a notification was lost.
    pub async fn open(
        url: &str,
        limits: StoreLimits,
        poll: std::time::Duration,
    ) -> Result<PgStore, StoreError> {
        let mut c = connect(url).await?;
        schema::migrate(&mut c).await?;
        let (tx, rx) = mpsc::channel(4096);
        let commits = CommitMetrics::default();
        tokio::spawn(writer(url.to_owned(), Some(c), rx, limits, commits.clone()));
        let (wakes, _) = tokio::sync::broadcast::channel(1024);
        tokio::spawn(notify::listen(url.to_owned(), wakes.clone()));
        Ok(PgStore {
            tx,
            url: url.into(),
            reader: Arc::new(Mutex::new(None)),
            commits,
            wakes,
            poll,
        })
    }

    async fn call<T>(
        &self,
        op: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Op,
    ) -> Result<T, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(op(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Run a read on the shared read connection (reconnected when lost).
    async fn read<T>(
        &self,
        f: impl AsyncFnOnce(&Client) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut guard = self.reader.lock().await;
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(connect(&self.url).await?);
        }
        let Some(c) = guard.as_ref() else {
            return Err(StoreError::Closed);
        };
        f(c).await.map_err(pg_err)
    }
}

fn node(s: String) -> Option<NodeId> {
    NodeId::new(s).ok()
}

impl HubStore for PgStore {
    async fn insert(&self, env: NewEnvelope, now: i64) -> Result<Inserted, StoreError> {
        self.call(|r| Op::Insert(Box::new(env), now, r)).await
    }

    async fn ack(&self, node: NodeId, seqs: Vec<u64>) -> Result<usize, StoreError> {
        self.call(|r| Op::Ack(node, seqs, r)).await
    }

    async fn register(&self, node: NodeId, cert: Vec<u8>, now: i64) -> Result<(), StoreError> {
        self.call(|r| Op::Register(node, cert, now, r)).await
    }

    async fn release(&self, now: i64) -> Result<Vec<NodeId>, StoreError> {
        self.call(|r| Op::Release(now, r)).await
    }

    async fn fetch(
        &self,
        who: NodeId,
        after: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let rows = self
            .read(async |c| {
                c.query(
                    "SELECT d.seq, e.header, e.sig, e.body, d.wrap FROM deliveries d
                     JOIN envelopes e ON e.id = d.envelope_id
                     WHERE d.node_id = $1 AND d.seq > $2 ORDER BY d.seq LIMIT $3",
                    &[
                        &who.as_str(),
                        &i64::try_from(after).unwrap_or(i64::MAX),
                        &i64::try_from(limit).unwrap_or(i64::MAX),
                    ],
                )
                .await
            })
            .await?;
        let mut out = Vec::new();
        let mut bytes = 0;
        for r in rows {
            let row = DeliveryRow {
                seq: r.get::<_, i64>(0) as u64,
                header: r.get::<_, Option<Vec<u8>>>(1).unwrap_or_default(),
                sig: r.get::<_, Option<Vec<u8>>>(2).unwrap_or_default(),
                body: r.get::<_, Option<Vec<u8>>>(3).unwrap_or_default(),
                wrap: r.get(4),
            };
            bytes += row.body.len() + row.wrap.len();
            out.push(row);
            if bytes >= max_bytes {
                break;
            }
        }
        Ok(out)
    }

    async fn next_release(&self) -> Result<Option<i64>, StoreError> {
        self.read(async |c| {
            c.query_one("SELECT min(release_at) FROM held", &[])
                .await
                .map(|r| r.get(0))
        })
        .await
    }

    async fn node_certs(&self) -> Result<Vec<(NodeId, Vec<u8>)>, StoreError> {
        let rows = self
            .read(async |c| {
                c.query("SELECT node_id, cert FROM nodes ORDER BY node_id", &[])
                    .await
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((node(r.get(0))?, r.get(1))))
            .collect())
    }

    async fn queue_totals(&self) -> Result<(i64, i64), StoreError> {
        self.read(async |c| {
            c.query_one(
                "SELECT (SELECT count(*) FROM deliveries), (SELECT count(*) FROM held)",
                &[],
            )
            .await
            .map(|r| (r.get(0), r.get(1)))
        })
        .await
    }

    fn commit_metrics(&self) -> CommitMetrics {
        self.commits.clone()
    }

    fn size_bytes(&self) -> Option<u64> {
        None
    }

    fn wakeups(&self) -> Option<tokio::sync::broadcast::Receiver<Wake>> {
        Some(self.wakes.subscribe())
    }

    fn poll_interval(&self) -> Option<std::time::Duration> {
        Some(self.poll)
    }

    async fn publish_crl(&self, der: Vec<u8>, version: CrlVersion) -> Result<(), StoreError> {
        self.read(async |c| {
            c.execute(
                "INSERT INTO crl(id, der, number, this_update) VALUES (1, $1, $2, $3)
                 ON CONFLICT (id) DO UPDATE
                 SET der = excluded.der, number = excluded.number, this_update = excluded.this_update
                 WHERE (crl.number, crl.this_update) < (excluded.number, excluded.this_update)",
                &[&der, &version.0, &version.1],
            )
            .await
        })
        .await
        .map(|_| ())
    }

    async fn node_certs_since(&self, since: i64) -> Result<Vec<(NodeId, Vec<u8>)>, StoreError> {
        let rows = self
            .read(async |c| {
                c.query(
                    "SELECT node_id, cert FROM nodes WHERE last_seen >= $1",
                    &[&since],
                )
                .await
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((node(r.get(0))?, r.get(1))))
            .collect())
    }

    async fn claim_session(
        &self,
        node: NodeId,
        instance: String,
        addr: String,
        now: i64,
    ) -> Result<(), StoreError> {
        let payload = notify::session_payload(&instance, &node, &addr);
        self.read(async |c| {
            c.execute(
                "INSERT INTO sessions(node, instance, addr, since) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (node) DO UPDATE
                 SET instance = excluded.instance, addr = excluded.addr, since = excluded.since",
                &[&node.as_str(), &instance, &addr, &now],
            )
            .await?;
            c.execute("SELECT pg_notify($1, $2)", &[&notify::SESSIONS, &payload])
                .await
        })
        .await
        .map(|_| ())
    }

    async fn session_hubs(
        &self,
        nodes: Vec<NodeId>,
    ) -> Result<Vec<(NodeId, String, String)>, StoreError> {
        let names: Vec<&str> = nodes.iter().map(NodeId::as_str).collect();
        let rows = self
            .read(async |c| {
                c.query(
                    "SELECT node, instance, addr FROM sessions WHERE node = ANY($1)",
                    &[&names],
                )
                .await
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((node(r.get(0))?, r.get(1), r.get(2))))
            .collect())
    }

    async fn shared_crl(&self) -> Result<Option<SharedCrl>, StoreError> {
        self.read(async |c| {
            c.query_opt("SELECT der, number, this_update FROM crl WHERE id = 1", &[])
                .await
                .map(|r| r.map(|r| (r.get(0), (r.get(1), r.get(2)))))
        })
        .await
    }
}

/// This hub's writer: batches of operations, one transaction each.
async fn writer(
    url: String,
    mut client: Option<Client>,
    mut rx: mpsc::Receiver<Op>,
    limits: StoreLimits,
    metrics: CommitMetrics,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        if client.as_ref().is_none_or(Client::is_closed) {
            client = connect(&url).await.ok();
        }
        let (size, started) = (batch.len(), std::time::Instant::now());
        let ops = std::mem::take(&mut batch);
        match client.as_mut() {
            Some(c) => apply_batch(c, ops, &limits).await,
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
    }
}

/// One result per operation, to send after the commit.
enum Done {
    Insert(
        oneshot::Sender<Result<Inserted, StoreError>>,
        Result<Inserted, StoreError>,
    ),
    Ack(oneshot::Sender<Result<usize, StoreError>>, usize),
    Unit(oneshot::Sender<Result<(), StoreError>>),
    Nodes(
        oneshot::Sender<Result<Vec<NodeId>, StoreError>>,
        Vec<NodeId>,
    ),
}

async fn apply_batch(c: &mut Client, ops: Vec<Op>, limits: &StoreLimits) {
    let mut done = Vec::with_capacity(ops.len());
    let mut pending = ops.into_iter();
    let result: Result<(), StoreError> = async {
        let tx = c.transaction().await.map_err(pg_err)?;
        for op in pending.by_ref() {
            let d = match op {
                Op::Insert(env, now, r) => match insert(&tx, &env, now, limits).await {
                    Err(StoreError::Postgres(e)) => {
                        done.push(Done::Insert(r, Err(StoreError::Postgres(e.clone()))));
                        return Err(StoreError::Postgres(e));
                    }
                    other => Done::Insert(r, other),
                },
                Op::Ack(n, seqs, r) => match ack(&tx, &n, &seqs).await {
                    Ok(k) => Done::Ack(r, k),
                    Err(e) => {
                        drop(r.send(Err(StoreError::Postgres("batch failed".into()))));
                        return Err(e);
                    }
                },
                Op::Register(n, cert, now, r) => match register(&tx, &n, &cert, now).await {
                    Ok(()) => Done::Unit(r),
                    Err(e) => {
                        drop(r.send(Err(StoreError::Postgres("batch failed".into()))));
                        return Err(e);
                    }
                },
                Op::Release(now, r) => match release(&tx, now).await {
                    Ok(v) => Done::Nodes(r, v),
                    Err(e) => {
                        drop(r.send(Err(StoreError::Postgres("batch failed".into()))));
                        return Err(e);
                    }
                },
            };
            done.push(d);
        }
        tx.commit().await.map_err(pg_err)
    }
    .await;
    match result {
        Ok(()) => {
            // Tell the other hubs, after the commit and once per batch.
            let mut ready: Vec<NodeId> = Vec::new();
            let mut held = false;
            for d in &done {
                match d {
                    Done::Insert(_, Ok(Inserted::Stored { ready: r, held: h })) => {
                        ready.extend(r.iter().cloned());
                        held |= *h;
                    }
                    Done::Nodes(_, v) => ready.extend(v.iter().cloned()),
                    _ => {}
                }
            }
            ready.sort();
            ready.dedup();
            if (!ready.is_empty() || held)
                && let Err(e) = notify::announce(c, &ready, held).await
            {
                tracing::warn!(error = %e, "could not notify the other hubs; they will poll");
            }
            for d in done {
                match d {
                    Done::Insert(r, v) => drop(r.send(v)),
                    Done::Ack(r, k) => drop(r.send(Ok(k))),
                    Done::Unit(r) => drop(r.send(Ok(()))),
                    Done::Nodes(r, v) => drop(r.send(Ok(v))),
                }
            }
        }
        Err(e) => {
            // Nothing of this batch was stored: every caller hears so.
            tracing::error!(error = %e, "PostgreSQL transaction failed; nothing in this batch was stored");
            let msg = e.to_string();
            let err = || StoreError::Postgres(msg.clone());
            for d in done {
                match d {
                    Done::Insert(r, _) => drop(r.send(Err(err()))),
                    Done::Ack(r, _) => drop(r.send(Err(err()))),
                    Done::Unit(r) => drop(r.send(Err(err()))),
                    Done::Nodes(r, _) => drop(r.send(Err(err()))),
                }
            }
            for op in pending {
                fail(op, err());
            }
        }
    }
}

/// Bytes a queued delivery counts against its sender's quota.
fn queued_size(e: &NewEnvelope, wrap: &[u8]) -> i64 {
    (e.header.len() + e.body.len() + e.sig.len() + wrap.len()) as i64
}

/// The next number of `node`'s queue; the row stays locked to the commit.
async fn next_seq(tx: &Transaction<'_>, node: &str) -> Result<i64, StoreError> {
    let row = tx
        .query_one(
            "INSERT INTO next_seq(node_id, seq) VALUES ($1, 1)
             ON CONFLICT (node_id) DO UPDATE SET seq = next_seq.seq + 1 RETURNING seq",
            &[&node],
        )
        .await
        .map_err(pg_err)?;
    Ok(row.get(0))
}

async fn insert(
    tx: &Transaction<'_>,
    e: &NewEnvelope,
    now: i64,
    limits: &StoreLimits,
) -> Result<Inserted, StoreError> {
    let id = e.id.as_bytes().as_slice();
    let seen = |d: Vec<u8>| {
        if d == e.digest {
            Ok(Inserted::Duplicate)
        } else {
            Err(StoreError::Replayed(e.id))
        }
    };
    if let Some(r) = tx
        .query_opt("SELECT digest FROM envelopes WHERE id = $1", &[&id])
        .await
        .map_err(pg_err)?
    {
        return seen(r.get(0));
    }
    let quota = limits.queue_count_per_pair > 0 || limits.queue_bytes_per_pair > 0;
    if quota {
        let mut over = Vec::new();
        for (node, wrap) in &e.deliveries {
            // The counter row exists before it is locked, so two hubs
            // queueing the first envelope of a pair still take turns.
            tx.execute(
                "INSERT INTO queued(sender, recipient, count, bytes) VALUES ($1, $2, 0, 0)
                 ON CONFLICT DO NOTHING",
                &[&e.sender.as_str(), &node.as_str()],
            )
            .await
            .map_err(pg_err)?;
            let r = tx
                .query_one(
                    "SELECT count, bytes FROM queued WHERE sender = $1 AND recipient = $2 FOR UPDATE",
                    &[&e.sender.as_str(), &node.as_str()],
                )
                .await
                .map_err(pg_err)?;
            let (count, bytes): (i64, i64) = (r.get(0), r.get(1));
            let count_over =
                limits.queue_count_per_pair > 0 && (count + 1) as u64 > limits.queue_count_per_pair;
            let bytes_over = limits.queue_bytes_per_pair > 0
                && (bytes + queued_size(e, wrap)) as u64 > limits.queue_bytes_per_pair;
            if count_over || bytes_over {
                over.push(node.clone());
            }
        }
        if !over.is_empty() {
            return Err(StoreError::QueueFull(over));
        }
    }
    let claimed = tx
        .query_opt(
            "INSERT INTO envelopes(id, sender, digest, header, sig, body, created_at, stored_at, pending)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING RETURNING id",
            &[
                &id,
                &e.sender.as_str(),
                &e.digest.as_slice(),
                &e.header,
                &e.sig.as_slice(),
                &e.body,
                &e.created_at,
                &now,
                &(e.deliveries.len() as i32),
            ],
        )
        .await
        .map_err(pg_err)?;
    if claimed.is_none() {
        // Another hub stored this id since the first look.
        let r = tx
            .query_one("SELECT digest FROM envelopes WHERE id = $1", &[&id])
            .await
            .map_err(pg_err)?;
        return seen(r.get(0));
    }
    for (node, wrap) in &e.deliveries {
        tx.execute(
            "INSERT INTO queued(sender, recipient, count, bytes) VALUES ($1, $2, 1, $3)
             ON CONFLICT (sender, recipient) DO UPDATE
             SET count = queued.count + 1, bytes = queued.bytes + excluded.bytes",
            &[&e.sender.as_str(), &node.as_str(), &queued_size(e, wrap)],
        )
        .await
        .map_err(pg_err)?;
    }
    let held = e.not_before.is_some_and(|t| t > now);
    for (node, wrap) in &e.deliveries {
        if held {
            tx.execute(
                "INSERT INTO held(envelope_id, node_id, wrap, release_at) VALUES ($1, $2, $3, $4)",
                &[&id, &node.as_str(), wrap, &e.not_before],
            )
            .await
            .map_err(pg_err)?;
        } else {
            let seq = next_seq(tx, node.as_str()).await?;
            tx.execute(
                "INSERT INTO deliveries(node_id, seq, envelope_id, wrap) VALUES ($1, $2, $3, $4)",
                &[&node.as_str(), &seq, &id, wrap],
            )
            .await
            .map_err(pg_err)?;
        }
    }
    Ok(Inserted::Stored {
        ready: if held {
            vec![]
        } else {
            e.deliveries.iter().map(|d| d.0.clone()).collect()
        },
        held,
    })
}

async fn ack(tx: &Transaction<'_>, node: &NodeId, seqs: &[u64]) -> Result<usize, StoreError> {
    let seqs: Vec<i64> = seqs.iter().filter_map(|s| i64::try_from(*s).ok()).collect();
    if seqs.is_empty() {
        return Ok(0);
    }
    let gone = tx
        .query(
            "DELETE FROM deliveries d USING envelopes e
             WHERE d.node_id = $1 AND d.seq = ANY($2) AND e.id = d.envelope_id
             RETURNING d.envelope_id, e.sender,
                 coalesce(octet_length(e.header), 0) + coalesce(octet_length(e.body), 0) + 64
                     + octet_length(d.wrap)",
            &[&node.as_str(), &seqs],
        )
        .await
        .map_err(pg_err)?;
    for r in &gone {
        let (env, sender, bytes): (Vec<u8>, String, i32) = (r.get(0), r.get(1), r.get(2));
        tx.execute(
            "UPDATE queued SET count = count - 1, bytes = bytes - $3
             WHERE sender = $1 AND recipient = $2",
            &[&sender, &node.as_str(), &i64::from(bytes)],
        )
        .await
        .map_err(pg_err)?;
        // Keep the id and digest to recognise replays; drop the content.
        tx.execute(
            "UPDATE envelopes SET pending = pending - 1,
                 header = CASE WHEN pending <= 1 THEN NULL ELSE header END,
                 sig = CASE WHEN pending <= 1 THEN NULL ELSE sig END,
                 body = CASE WHEN pending <= 1 THEN NULL ELSE body END
             WHERE id = $1",
            &[&env],
        )
        .await
        .map_err(pg_err)?;
    }
    tx.execute(
        "DELETE FROM queued WHERE recipient = $1 AND count <= 0",
        &[&node.as_str()],
    )
    .await
    .map_err(pg_err)?;
    Ok(gone.len())
}

async fn register(
    tx: &Transaction<'_>,
    node: &NodeId,
    cert: &[u8],
    now: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO nodes(node_id, cert, first_seen, last_seen) VALUES ($1, $2, $3, $3)
         ON CONFLICT (node_id) DO UPDATE SET cert = excluded.cert, last_seen = excluded.last_seen",
        &[&node.as_str(), &cert, &now],
    )
    .await
    .map_err(pg_err)?;
    Ok(())
}

/// Queue what is due; rows another hub is releasing are skipped, not waited for.
async fn release(tx: &Transaction<'_>, now: i64) -> Result<Vec<NodeId>, StoreError> {
    let due = tx
        .query(
            "DELETE FROM held WHERE (envelope_id, node_id) IN (
                 SELECT envelope_id, node_id FROM held WHERE release_at <= $1
                 ORDER BY release_at, envelope_id FOR UPDATE SKIP LOCKED)
             RETURNING envelope_id, node_id, wrap, release_at",
            &[&now],
        )
        .await
        .map_err(pg_err)?;
    let mut rows: Vec<(i64, Vec<u8>, String, Vec<u8>)> = due
        .into_iter()
        .map(|r| (r.get(3), r.get(0), r.get(1), r.get(2)))
        .collect();
    rows.sort();
    let mut nodes = Vec::new();
    for (_, env, node, wrap) in rows {
        let seq = next_seq(tx, &node).await?;
        tx.execute(
            "INSERT INTO deliveries(node_id, seq, envelope_id, wrap) VALUES ($1, $2, $3, $4)",
            &[&node, &seq, &env, &wrap],
        )
        .await
        .map_err(pg_err)?;
        nodes.push(node);
    }
    nodes.sort();
    nodes.dedup();
    Ok(nodes.into_iter().filter_map(node).collect())
}
