//! The embedded store: SQLite in WAL mode with one writer thread.
//!
//! Every write goes through the writer thread, which groups whatever is queued
//! into one transaction and commits it with `synchronous=FULL` before answering
//! any of the callers: a send is acknowledged only once it is durable, and many
//! sends share one fsync. Reads use a small pool of read connections on tokio's
//! blocking threads, never on the async reactor.

mod backup;
pub use backup::{Backup, backup};
mod reads;
pub mod schema;
mod tally;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use lianxi_shared::{MessageId, NodeId};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use super::follow::{Follow, Followers};
use super::{DeliveryRow, HubStore, Inserted, NewEnvelope, NodeStatus, StoreError, StoreLimits};
use crate::metrics::CommitMetrics;

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
    Forget(MessageId, usize, oneshot::Sender<Result<usize, StoreError>>),
}

/// The embedded store: SQLite in WAL mode with one writer thread.
#[derive(Clone)]
pub struct SqliteStore {
    tx: mpsc::Sender<Op>,
    path: PathBuf,
    pool: Arc<reads::ReadPool>,
    commits: CommitMetrics,
    followers: Arc<Followers>,
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
    // Room for every statement the writer or a reader runs: rusqlite's
    // default of 16 is fewer than the writer's, and an evicted statement is
    // parsed again on its next use.
    conn.set_prepared_statement_cache_capacity(64);
    // One plan per statement, whatever its parameters: SQLite otherwise
    // marks a statement whose plan could depend on a bound value (the
    // fetch's `seq > ?` with `ORDER BY … LIMIT`) to be parsed and planned
    // again at every new binding, which was half of each fetch's CPU.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    if write {
        schema::check(&conn)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if mode != "wal" {
            return Err(StoreError::Corrupt(format!(
                "cannot enable WAL (journal_mode={mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        // The writer's working set (the tables' upper levels, the pages of
        // the batch it is writing) in memory: at SQLite's default of 2 MiB a
        // busy batch spilled pages to the WAL before its commit and read
        // pages back from the file.
        conn.pragma_update(None, "cache_size", -64 * 1024)?;
    }
    Ok(conn)
}

impl SqliteStore {
    pub fn db_path(data: &Path) -> PathBuf {
        data.join("hub.db")
    }

    /// Open (or create) the store in `data` with limits, checking that an
    /// existing file is a hub database this version understands. At
    /// `max_db_bytes`, writes fail with [`StoreError::Full`]; over a queue
    /// quota, with [`StoreError::QueueFull`]; either way nothing already
    /// stored is touched. Must be called inside a tokio runtime.
    pub fn open_limited(data: &Path, limits: StoreLimits) -> Result<SqliteStore, StoreError> {
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
        let followers = Arc::new(Followers::default());
        let pushing = followers.clone();
        std::thread::Builder::new()
            .name("hub-store-writer".into())
            .spawn(move || writer::run(conn, rx, limits, observed, &pushing))
            .map_err(|e| StoreError::Corrupt(format!("cannot start writer: {e}")))?;
        Ok(SqliteStore {
            tx,
            path: path.clone(),
            pool: Arc::new(reads::ReadPool {
                path,
                idle: Mutex::new(Vec::new()),
            }),
            commits,
            followers,
        })
    }
}

impl HubStore for SqliteStore {
    fn commit_metrics(&self) -> CommitMetrics {
        self.commits.clone()
    }

    fn size_bytes(&self) -> Option<u64> {
        std::fs::metadata(&self.path).ok().map(|m| m.len())
    }

    fn follow(&self, node: &NodeId, budget: usize) -> Option<Follow> {
        Some(self.followers.follow(node, budget))
    }

    async fn queue_totals(&self) -> Result<(i64, i64), StoreError> {
        self.read(reads::totals).await
    }

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
        node: NodeId,
        after: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        self.read(move |c| reads::fetch(c, &node, after, limit, max_bytes))
            .await
    }

    async fn next_release(&self) -> Result<Option<i64>, StoreError> {
        self.read(reads::next_release).await
    }

    async fn node_certs(&self) -> Result<Vec<(NodeId, Vec<u8>)>, StoreError> {
        self.read(reads::node_certs).await
    }
}

impl SqliteStore {
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

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || pool.with(f))
            .await
            .map_err(|_| StoreError::Closed)?
    }
}

/// Status of a hub's data directory, read without starting the hub.
pub fn status(data: &Path) -> Result<Vec<NodeStatus>, StoreError> {
    let path = SqliteStore::db_path(data);
    if !path.exists() {
        return Err(StoreError::Foreign(format!(
            "{} does not exist",
            path.display()
        )));
    }
    let conn = open_conn(&path, false)?;
    backup::check_app(&conn)?;
    reads::status(&conn)
}
