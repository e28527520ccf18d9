//! The hub's store-and-forward storage, behind one seam ([`HubStore`]): what
//! the hub needs of its database, whatever the database. Each backend keeps
//! the same promises, checked by one conformance suite
//! (`hub/tests/conformance.rs`) run against every backend:
//! - a send is acknowledged only once it is durable (many sends may share one
//!   commit);
//! - an id is stored once: the same envelope again is a duplicate, another
//!   envelope with that id is refused as replayed;
//! - a sender's queue to each recipient is held to its quota;
//! - each recipient's deliveries are numbered in commit order, and a fetch
//!   after a number never skips one committed later;
//! - an embargoed delivery is held until its time and released once.
//!
//! `sqlite/` is the embedded default (one hub, nothing to install).

pub mod follow;
pub mod postgres;
pub mod sqlite;

use std::future::Future;

use lianxi_shared::{ErrorCode, MessageId, NodeId, ProtoError};
use serde::Serialize;

use crate::metrics::CommitMetrics;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use sqlite::{Backup, backup, status};

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
    /// The shared database failed or cannot be reached; nothing was stored.
    #[error("postgresql: {0}")]
    Postgres(String),
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
            StoreError::Postgres(_) => ProtoError::new(
                ErrorCode::Unavailable,
                "the hub's database cannot be reached; nothing was stored, try again",
            ),
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

/// One queued delivery with its envelope.
#[derive(Clone, Debug)]
pub struct DeliveryRow {
    pub seq: u64,
    pub header: Vec<u8>,
    pub sig: Vec<u8>,
    pub body: Vec<u8>,
    pub wrap: Vec<u8>,
}

impl DeliveryRow {
    /// The bytes it holds (what a session's budget counts).
    pub fn size(&self) -> usize {
        self.header.len() + self.sig.len() + self.body.len() + self.wrap.len()
    }
}

/// A node as the store knows it, for `lianxi-hub status`.
#[derive(Debug, Serialize)]
pub struct NodeStatus {
    pub node_id: String,
    pub first_seen: i64,
    pub last_seen: i64,
    /// Deliveries waiting for the node.
    pub queued: i64,
    /// Embargoed deliveries not yet released.
    pub held: i64,
    /// With several hubs: the address of the hub serving its session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
}

/// [`lianxi_certs::Crl::version`]: (CRL number, thisUpdate).
pub type CrlVersion = (i64, i64);
/// A CRL shared between the hubs: its DER and version.
pub type SharedCrl = (Vec<u8>, CrlVersion);

/// What the hub needs of its storage. Every method is durable when it
/// returns `Ok`, and safe to call from any task.
pub trait HubStore: Clone + Send + Sync + 'static {
    /// Store an envelope and its deliveries (or hold them until
    /// `not_before`), within the quotas; a duplicate changes nothing.
    fn insert(
        &self,
        env: NewEnvelope,
        now: i64,
    ) -> impl Future<Output = Result<Inserted, StoreError>> + Send;
    /// A node has stored these deliveries: drop them. Returns how many were.
    fn ack(
        &self,
        node: NodeId,
        seqs: Vec<u64>,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Record a node's certificate (on every connection).
    fn register(
        &self,
        node: NodeId,
        cert: Vec<u8>,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Forget up to `limit` ids older than `floor` (by the time in the
    /// UUIDv7, its first 48 bits): every such id whose envelope is gone, in
    /// time, and perhaps those of envelopes still queued (their deliveries
    /// stay); returns how many were forgotten. The hub passes the oldest id
    /// it could still accept ([`lianxi_shared::rules::replay_horizon_ms`]):
    /// an older id comes with a `created_at` the time rules refuse, so no
    /// replay check needs it.
    fn forget_ids_before(
        &self,
        floor: MessageId,
        limit: usize,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Queue the embargoed deliveries that are due; returns who got some.
    fn release(&self, now: i64) -> impl Future<Output = Result<Vec<NodeId>, StoreError>> + Send;
    /// Up to `limit` of a node's deliveries after `after`, in order,
    /// stopping once `max_bytes` of them are read.
    fn fetch(
        &self,
        node: NodeId,
        after: u64,
        limit: usize,
        max_bytes: usize,
    ) -> impl Future<Output = Result<Vec<DeliveryRow>, StoreError>> + Send;
    /// When the next embargo ends, if any is held.
    fn next_release(&self) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;
    /// Every node's last certificate.
    fn node_certs(&self)
    -> impl Future<Output = Result<Vec<(NodeId, Vec<u8>)>, StoreError>> + Send;
    /// Deliveries queued and held, over all nodes.
    fn queue_totals(&self) -> impl Future<Output = Result<(i64, i64), StoreError>> + Send;
    /// Commit batch sizes and durations, for `/metrics`.
    fn commit_metrics(&self) -> CommitMetrics;
    /// The size of what the store holds on disk, if it knows.
    fn size_bytes(&self) -> Option<u64>;
    /// Have `node`'s deliveries handed over from memory as they are
    /// committed (see [`follow`]), with at most `budget` bytes waiting.
    /// `None`: the store cannot (deliveries are read with `fetch`).
    fn follow(&self, _node: &NodeId, _budget: usize) -> Option<follow::Follow> {
        None
    }
    /// Other hubs sharing the store announce what they queued here (`None`
    /// in a message: every node may have something). `None`: no other hub.
    fn wakeups(&self) -> Option<tokio::sync::broadcast::Receiver<postgres::Wake>> {
        None
    }
    /// How often to look for what other hubs queued, in case an
    /// announcement was lost. `None`: only this hub writes.
    fn poll_interval(&self) -> Option<std::time::Duration> {
        None
    }
    /// Share a verified CRL with the other hubs (kept only if its version,
    /// [`lianxi_certs::Crl::version`], is newer than the one shared). A store
    /// no other hub reads keeps nothing.
    fn publish_crl(
        &self,
        _der: Vec<u8>,
        _version: CrlVersion,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async { Ok(()) }
    }
    /// Certificates of the nodes registered or seen since `since` (seconds)
    /// by any hub on this store: how a hub learns of nodes that connected
    /// only to the others. A store no other hub writes returns none.
    fn node_certs_since(
        &self,
        _since: i64,
    ) -> impl Future<Output = Result<Vec<(NodeId, Vec<u8>)>, StoreError>> + Send {
        async { Ok(Vec::new()) }
    }
    /// Say that hub `instance` (reached at `addr`) serves `node`'s session
    /// now; the other hubs of the cluster close theirs. A store no other hub
    /// reads keeps nothing.
    fn claim_session(
        &self,
        _node: NodeId,
        _instance: String,
        _addr: String,
        _now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async { Ok(()) }
    }
    /// Which hub serves each of `nodes` (node, instance, address), for those
    /// a hub has claimed.
    fn session_hubs(
        &self,
        _nodes: Vec<NodeId>,
    ) -> impl Future<Output = Result<Vec<(NodeId, String, String)>, StoreError>> + Send {
        async { Ok(Vec::new()) }
    }
    /// The newest CRL a hub of the cluster shared: (DER, version). It is
    /// verified against the CA again before use.
    fn shared_crl(&self) -> impl Future<Output = Result<Option<SharedCrl>, StoreError>> + Send {
        async { Ok(None) }
    }
}

/// The store a hub runs on.
#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Store {
    /// Open (or create) the embedded store in `data`. Must be called inside a
    /// tokio runtime.
    pub fn open(data: &std::path::Path) -> Result<Store, StoreError> {
        Self::open_limited(data, StoreLimits::default())
    }

    /// The embedded store, with limits: at `max_db_bytes` writes fail with
    /// [`StoreError::Full`], over a queue quota with [`StoreError::QueueFull`];
    /// either way nothing already stored is touched.
    pub fn open_limited(data: &std::path::Path, limits: StoreLimits) -> Result<Store, StoreError> {
        SqliteStore::open_limited(data, limits).map(Store::Sqlite)
    }

    /// The embedded store's database file in `data`.
    pub fn db_path(data: &std::path::Path) -> std::path::PathBuf {
        SqliteStore::db_path(data)
    }
}

/// Each method to the backend in use.
macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}

impl HubStore for Store {
    async fn insert(&self, env: NewEnvelope, now: i64) -> Result<Inserted, StoreError> {
        each!(self, s => s.insert(env, now).await)
    }
    async fn ack(&self, node: NodeId, seqs: Vec<u64>) -> Result<usize, StoreError> {
        each!(self, s => s.ack(node, seqs).await)
    }
    async fn register(&self, node: NodeId, cert: Vec<u8>, now: i64) -> Result<(), StoreError> {
        each!(self, s => s.register(node, cert, now).await)
    }
    async fn forget_ids_before(&self, floor: MessageId, limit: usize) -> Result<usize, StoreError> {
        each!(self, s => s.forget_ids_before(floor, limit).await)
    }
    async fn release(&self, now: i64) -> Result<Vec<NodeId>, StoreError> {
        each!(self, s => s.release(now).await)
    }
    async fn fetch(
        &self,
        node: NodeId,
        after: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        each!(self, s => s.fetch(node, after, limit, max_bytes).await)
    }
    async fn next_release(&self) -> Result<Option<i64>, StoreError> {
        each!(self, s => s.next_release().await)
    }
    async fn node_certs(&self) -> Result<Vec<(NodeId, Vec<u8>)>, StoreError> {
        each!(self, s => s.node_certs().await)
    }
    async fn queue_totals(&self) -> Result<(i64, i64), StoreError> {
        each!(self, s => s.queue_totals().await)
    }
    fn commit_metrics(&self) -> CommitMetrics {
        each!(self, s => s.commit_metrics())
    }
    fn size_bytes(&self) -> Option<u64> {
        each!(self, s => s.size_bytes())
    }
    fn follow(&self, node: &NodeId, budget: usize) -> Option<follow::Follow> {
        each!(self, s => s.follow(node, budget))
    }
    fn wakeups(&self) -> Option<tokio::sync::broadcast::Receiver<postgres::Wake>> {
        each!(self, s => s.wakeups())
    }
    fn poll_interval(&self) -> Option<std::time::Duration> {
        each!(self, s => s.poll_interval())
    }
    async fn publish_crl(&self, der: Vec<u8>, version: CrlVersion) -> Result<(), StoreError> {
        each!(self, s => s.publish_crl(der, version).await)
    }
    async fn node_certs_since(&self, since: i64) -> Result<Vec<(NodeId, Vec<u8>)>, StoreError> {
        each!(self, s => s.node_certs_since(since).await)
    }
    async fn claim_session(
        &self,
        node: NodeId,
        instance: String,
        addr: String,
        now: i64,
    ) -> Result<(), StoreError> {
        each!(self, s => s.claim_session(node, instance, addr, now).await)
    }
    async fn session_hubs(
        &self,
        nodes: Vec<NodeId>,
    ) -> Result<Vec<(NodeId, String, String)>, StoreError> {
        each!(self, s => s.session_hubs(nodes).await)
    }
    async fn shared_crl(&self) -> Result<Option<SharedCrl>, StoreError> {
        each!(self, s => s.shared_crl().await)
    }
}
