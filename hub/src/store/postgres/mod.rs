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

mod inserts;
mod notify;
mod schema;
mod status;
mod writer;

pub use notify::Wake;
pub use status::status;

use std::sync::Arc;

use lianxi_shared::{MessageId, NodeId};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::{Client, NoTls};

use super::{
    CrlVersion, DeliveryRow, HubStore, Inserted, NewEnvelope, SharedCrl, StoreError, StoreLimits,
};
use crate::metrics::CommitMetrics;

/// Largest number of operations grouped into one commit.
const MAX_BATCH: usize = 512;

/// A database error in words: the server's message and SQLSTATE when it
/// sent one (the driver's own text says only "db error").
pub(crate) fn pg_err(e: tokio_postgres::Error) -> StoreError {
    StoreError::Postgres(match e.as_db_error() {
        Some(d) => format!("{} ({})", d.message(), d.code().code()),
        None => e.to_string(),
    })
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
    Forget(MessageId, usize, oneshot::Sender<Result<usize, StoreError>>),
}

/// A hub's handle on the shared PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    tx: mpsc::Sender<Op>,
    url: Arc<str>,
    /// Read connections, each with its prepared fetch; a read takes a free one.
    readers: Arc<[Mutex<Option<Reader>>]>,
    next_reader: Arc<std::sync::atomic::AtomicUsize>,
    commits: CommitMetrics,
    wakes: tokio::sync::broadcast::Sender<Wake>,
    poll: std::time::Duration,
}

/// The connection settings of `url`, with a connect timeout (5 s) unless the
/// URL sets one (a database host that does not answer must not hold a
/// writer for minutes while senders wait), and custom plans.
pub(crate) fn pg_config(url: &str) -> Result<tokio_postgres::Config, StoreError> {
    let mut cfg: tokio_postgres::Config = url.parse().map_err(pg_err)?;
    if cfg.get_connect_timeout().is_none() {
        cfg.connect_timeout(std::time::Duration::from_secs(5));
    }
    // Every statement planned for its values and the tables as they are:
    // a plan cached while a table was small (a fresh database, before
    // autovacuum's first ANALYZE) scanned the whole envelopes table for
    // each batch once it had grown, and the writer fell behind.
    let options = format!(
        "{} -c plan_cache_mode=force_custom_plan",
        cfg.get_options().unwrap_or_default()
    );
    cfg.options(options.trim_start());
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
        tokio::spawn(writer::writer(url.to_owned(), rx, limits, commits.clone()));
        let (wakes, _) = tokio::sync::broadcast::channel(1024);
        tokio::spawn(notify::listen(url.to_owned(), wakes.clone()));
        Ok(PgStore {
            tx,
            url: url.into(),
            readers: (0..READERS).map(|_| Mutex::new(None)).collect(),
            next_reader: Arc::default(),
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

    /// The certificates of the nodes last seen at or after `since` (s).
    async fn certs_seen_since(&self, since: i64) -> Result<Vec<(NodeId, Vec<u8>)>, StoreError> {
        let rows = self
            .read(async |r| {
                let c = &r.client;
                c.query(
                    "SELECT node_id, cert FROM nodes WHERE last_seen >= $1 ORDER BY node_id",
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

    /// Run a read on a free read connection (each reconnected when lost).
    async fn read<T>(
        &self,
        f: impl AsyncFnOnce(&Reader) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, StoreError> {
        use std::sync::atomic::Ordering::Relaxed;
        let start = self.next_reader.fetch_add(1, Relaxed);
        let n = self.readers.len();
        let free = (0..n).find_map(|k| self.readers[(start + k) % n].try_lock().ok());
        let mut guard = match free {
            Some(g) => g,
            None => self.readers[start % n].lock().await,
        };
        if guard.as_ref().is_none_or(|r| r.client.is_closed()) {
            let client = connect(&self.url).await?;
            let fetch = client.prepare(FETCH).await.map_err(pg_err)?;
            *guard = Some(Reader { client, fetch });
        }
        let Some(r) = guard.as_ref() else {
            return Err(StoreError::Closed);
        };
        f(r).await.map_err(pg_err)
    }
}

/// Read connections per hub: delivery feeds read side by side.
const READERS: usize = 4;

const FETCH: &str = "SELECT d.seq, e.header, e.sig, e.body, d.wrap FROM deliveries d
     JOIN envelopes e ON e.id = d.envelope_id
     WHERE d.node_id = $1 AND d.seq > $2 ORDER BY d.seq LIMIT $3";

/// A read connection and its prepared delivery fetch.
struct Reader {
    client: Client,
    fetch: tokio_postgres::Statement,
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

    async fn forget_ids_before(&self, floor: MessageId, limit: usize) -> Result<usize, StoreError> {
        self.call(|r| Op::Forget(floor, limit, r)).await
    }

    async fn fetch(
        &self,
        who: NodeId,
        after: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let rows = self
            .read(async |r| {
                let c = &r.client;
                c.query(
                    &r.fetch,
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
        self.read(async |r| {
            let c = &r.client;
            c.query_one("SELECT min(release_at) FROM held", &[])
                .await
                .map(|r| r.get(0))
        })
        .await
    }

    async fn node_certs(&self) -> Result<Vec<(NodeId, Vec<u8>)>, StoreError> {
        self.certs_seen_since(i64::MIN).await
    }

    async fn queue_totals(&self) -> Result<(i64, i64), StoreError> {
        self.read(async |r| {
            let c = &r.client;
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
        self.read(async |r| {
            let c = &r.client;
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
        self.certs_seen_since(since).await
    }

    async fn claim_session(
        &self,
        node: NodeId,
        instance: String,
        addr: String,
        now: i64,
    ) -> Result<(), StoreError> {
        let payload = notify::session_payload(&instance, &node, &addr);
        self.read(async |r| {
            let c = &r.client;
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
            .read(async |r| {
                let c = &r.client;
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
        self.read(async |r| {
            let c = &r.client;
            c.query_opt("SELECT der, number, this_update FROM crl WHERE id = 1", &[])
                .await
                .map(|r| r.map(|r| (r.get(0), (r.get(1), r.get(2)))))
        })
        .await
    }
}
