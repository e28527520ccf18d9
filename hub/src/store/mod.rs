//! The hub's store-and-forward storage: SQLite in WAL mode with one writer thread.
//!
//! Every write goes through the writer thread, which groups whatever is queued
//! into one transaction and commits it with `synchronous=FULL` before answering
//! any of the callers: a send is acknowledged only once it is durable, and many
//! sends share one fsync. Reads use a small pool of read connections on tokio's
//! blocking threads, never on the async reactor.

mod reads;
pub mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use lianxi_shared::{ErrorCode, MessageId, NodeId, ProtoError};
use rusqlite::{Connection, OpenFlags};

use crate::metrics::CommitMetrics;
use tokio::sync::{mpsc, oneshot};

pub use reads::{DeliveryRow, NodeStatus};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the disk is full")]
    Full,
    #[error("message id {0} was already used for a different envelope")]
    Replayed(MessageId),
    #[error("not a Lianxi hub database ({0}); refusing to touch it")]
    Foreign(String),
    #[error("the database is from a newer hub (schema {found}, this hub knows {supported})")]
    Newer { found: i64, supported: i64 },
    #[error("the database file is damaged: {0}")]
    Corrupt(String),
    #[error("queue quota reached for {0:?}")]
    QueueFull(Vec<NodeId>),
    #[error("the store is shut down")]
    Closed,
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full,
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                StoreError::Corrupt(e.to_string())
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

impl From<StoreError> for ProtoError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Full => ProtoError::new(
                ErrorCode::StorageFull,
                "the hub's disk is full; nothing was stored",
            ),
            StoreError::Replayed(id) => ProtoError::new(
                ErrorCode::ReplayedId,
                format!("message id {id} was already used"),
            ),
            StoreError::QueueFull(nodes) => ProtoError::new(
                ErrorCode::QuotaExceeded,
                format!(
                    "your queue to {} is full until they collect what is waiting; retry later",
                    nodes
                        .iter()
                        .map(NodeId::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            StoreError::Closed => ProtoError::code(ErrorCode::Unavailable),
            other => ProtoError::new(ErrorCode::Internal, format!("storage: {other}")),
        }
    }
}

/// Storage limits; 0 means unlimited.
#[derive(Clone, Copy, Debug, Default)]
pub struct StoreLimits {
    /// Size of the database file.
    pub max_db_bytes: u64,
    /// Envelopes one sender may have queued for one recipient.
    pub queue_count_per_pair: u64,
    /// Bytes one sender may have queued for one recipient.
    pub queue_bytes_per_pair: u64,
}

/// A verified envelope ready to be stored.
#[derive(Debug)]
pub struct NewEnvelope {
    pub id: MessageId,
    pub sender: NodeId,
    pub digest: [u8; 32],
    pub header: Vec<u8>,
    pub sig: [u8; 64],
    pub body: Vec<u8>,
    pub created_at: i64,
    pub not_before: Option<i64>,
    pub deliveries: Vec<(NodeId, Vec<u8>)>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Inserted {
    /// Stored; these recipients have it queued now (empty when held for an embargo).
    Stored { ready: Vec<NodeId>, held: bool },
    /// The same envelope was stored before (a retry): nothing changed.
    Duplicate,
}

pub(crate) enum Op {
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

#[derive(Clone)]
pub struct Store {
    tx: mpsc::Sender<Op>,
    pool: Arc<reads::ReadPool>,
    commits: CommitMetrics,
}

pub(crate) fn open_conn(path: &Path, write: bool) -> Result<Connection, StoreError> {
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    if write {
        schema::check(&conn)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if mode != "wal" {
            return Err(StoreError::Corrupt(format!(
                "cannot enable WAL (journal_mode={mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
    }
    Ok(conn)
}

impl Store {
    pub fn db_path(data: &Path) -> PathBuf {
        data.join("hub.db")
    }

    /// Open (or create) the store in `data`, checking that an existing file is a
    /// hub database this version understands. Must be called inside a tokio runtime.
    pub fn open(data: &Path) -> Result<Store, StoreError> {
        Self::open_limited(data, StoreLimits::default())
    }

    /// Open with limits. At `max_db_bytes`, writes fail with
    /// [`StoreError::Full`]; over a queue quota, with [`StoreError::QueueFull`];
    /// either way nothing already stored is touched.
    pub fn open_limited(data: &Path, limits: StoreLimits) -> Result<Store, StoreError> {
        let max_db_bytes = limits.max_db_bytes;
        std::fs::create_dir_all(data)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", data.display())))?;
        let path = Self::db_path(data);
        let mut conn = open_conn(&path, true)?;
        schema::migrate(&mut conn)?;
        if max_db_bytes > 0 {
            let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            let pages = (max_db_bytes as i64 / page.max(512)).max(16);
            let _: i64 = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                r.get(0)
            })?;
        }
        let (tx, rx) = mpsc::channel(4096);
        let commits = CommitMetrics::default();
        let observed = commits.clone();
        std::thread::Builder::new()
            .name("hub-store-writer".into())
            .spawn(move || writer::run(conn, rx, limits, observed))
            .map_err(|e| StoreError::Corrupt(format!("cannot start writer: {e}")))?;
        Ok(Store {
            tx,
            pool: Arc::new(reads::ReadPool {
                path,
                idle: Mutex::new(Vec::new()),
            }),
            commits,
        })
    }

    /// The writer's commit sizes and durations, for `/metrics`.
    pub fn commit_metrics(&self) -> CommitMetrics {
        self.commits.clone()
    }

    /// Deliveries queued and held (embargo) for all nodes.
    pub async fn queue_totals(&self) -> Result<(i64, i64), StoreError> {
        self.read(reads::totals).await
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

    /// Store an envelope and its deliveries durably.
    pub async fn insert(&self, env: NewEnvelope, now: i64) -> Result<Inserted, StoreError> {
        self.call(|r| Op::Insert(Box::new(env), now, r)).await
    }

    /// A node has stored these deliveries: drop them. Returns how many were removed.
    pub async fn ack(&self, node: NodeId, seqs: Vec<u64>) -> Result<usize, StoreError> {
        self.call(|r| Op::Ack(node, seqs, r)).await
    }

    /// Record a node's certificate (on every connection).
    pub async fn register(&self, node: NodeId, cert: Vec<u8>, now: i64) -> Result<(), StoreError> {
        self.call(|r| Op::Register(node, cert, now, r)).await
    }

    /// Move embargoed deliveries that are due into the queues; returns who got some.
    pub async fn release(&self, now: i64) -> Result<Vec<NodeId>, StoreError> {
        self.call(|r| Op::Release(now, r)).await
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || pool.with(f))
            .await
            .map_err(|_| StoreError::Closed)?
    }

    /// Up to `limit` deliveries after `after`, stopping once `max_bytes` of them are read.
    pub async fn fetch(
        &self,
        node: NodeId,
        after: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        self.read(move |c| reads::fetch(c, &node, after, limit, max_bytes))
            .await
    }

    pub async fn next_release(&self) -> Result<Option<i64>, StoreError> {
        self.read(reads::next_release).await
    }

    pub async fn node_certs(&self) -> Result<Vec<(NodeId, Vec<u8>)>, StoreError> {
        self.read(reads::node_certs).await
    }
}

/// Status of a hub's data directory, read without starting the hub.
pub fn status(data: &Path) -> Result<Vec<NodeStatus>, StoreError> {
    let path = Store::db_path(data);
    if !path.exists() {
        return Err(StoreError::Foreign(format!(
            "{} does not exist",
            path.display()
        )));
    }
    let conn = open_conn(&path, false)?;
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if app != schema::APPLICATION_ID {
        return Err(StoreError::Foreign(format!("application_id {app:#x}")));
    }
    reads::status(&conn)
}
