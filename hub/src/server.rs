//! The hub's server: the state every connection shares, the endpoint, and
//! the tasks beside it (the store's upkeep in `upkeep.rs`, the file watcher
//! in `files.rs`, the cluster's in `cluster.rs`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;
use lianxi_certs::Crl;
use lianxi_shared::{ErrorCode, NodeId, NodeInfo};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::cluster::{cluster_loop, wakeup_loop};
use crate::config::HubConfig;
use crate::directory::Snapshot;
use crate::files::{files_loop, read_crl, warn_if_expiring, warn_if_stale};
use crate::metrics::{self, Metrics};
use crate::store::{HubStore, Store, StoreLimits};
use crate::tls::{self, TlsMaterial};
use crate::upkeep::{forget_loop, release_loop};

pub(crate) struct Live {
    pub notify: Arc<Notify>,
    pub conn: quinn::Connection,
    pub cert: Arc<Vec<u8>>,
}

/// The current CRL: its DER (served to clients) and its parsed form.
type CrlState = (Arc<Vec<u8>>, Arc<Crl>);

pub(crate) struct Shared {
    pub config: HubConfig,
    pub store: Store,
    pub ca_der: Vec<u8>,
    dir: RwLock<Arc<Snapshot>>,
    all_certs: Mutex<HashMap<NodeId, Vec<u8>>>,
    crl: RwLock<Option<CrlState>>,
    registry: Mutex<HashMap<NodeId, HashMap<u64, Live>>>,
    next_conn: AtomicU64,
    pub release_wake: Notify,
    buckets: Mutex<HashMap<NodeId, Bucket>>,
    pub metrics: Metrics,
    /// The hub certificate's notAfter (seconds), as last loaded.
    pub cert_not_after: AtomicI64,
    /// This process among the hubs of a cluster: a random token, and the
    /// address nodes reach it at.
    pub instance: String,
    pub advertise: String,
}

/// A token bucket: sends per second with a burst.
struct Bucket {
    tokens: f64,
    at: std::time::Instant,
}

impl Shared {
    pub fn directory(&self) -> Arc<Snapshot> {
        self.dir.read().map(|d| d.clone()).unwrap_or_default()
    }

    pub fn crl_der(&self) -> Option<Vec<u8>> {
        self.crl
            .read()
            .ok()
            .and_then(|c| c.as_ref().map(|(der, _)| der.as_ref().clone()))
    }

    /// Record a connected node's certificate (already verified by TLS).
    pub async fn register(
        &self,
        info: &NodeInfo,
        der: &[u8],
    ) -> Result<(), crate::store::StoreError> {
        let changed = {
            let mut all = self
                .all_certs
                .lock()
                .map_err(|_| crate::store::StoreError::Closed)?;
            let changed = all.get(&info.node_id).map(Vec::as_slice) != Some(der);
            if changed {
                all.insert(info.node_id.clone(), der.to_vec());
            }
            changed
        };
        if changed {
            // Copy and swap under the write lock: two nodes registering at
            // once must both end up in the snapshot (a copy taken before the
            // lock lost one of them when a thousand nodes connected together).
            if let Ok(mut d) = self.dir.write() {
                let next = d.with(info.clone(), der.to_vec());
                *d = Arc::new(next);
            }
        }
        self.store
            .register(info.node_id.clone(), der.to_vec(), crate::now_ms() / 1000)
            .await
    }

    /// Take certificates other hubs of the cluster recorded: each one new
    /// or changed here is verified (CA, CRL in use, validity, node id) like
    /// one presented in a handshake, then added to the directory.
    pub fn learn(&self, certs: Vec<(NodeId, Vec<u8>)>) {
        let now = crate::now_ms() / 1000;
        let crl = self
            .crl
            .read()
            .ok()
            .and_then(|c| c.as_ref().map(|(_, c)| c.clone()));
        for (id, der) in certs {
            let known = self
                .all_certs
                .lock()
                .map(|a| a.get(&id).map(Vec::as_slice) == Some(der.as_slice()))
                .unwrap_or(true);
            if known {
                continue;
            }
            match lianxi_certs::verify_node_cert(&der, &self.ca_der, crl.as_deref(), now) {
                Ok(info) if info.node_id == id => {
                    if let Ok(mut all) = self.all_certs.lock() {
                        all.insert(id.clone(), der.clone());
                    }
                    if let Ok(mut d) = self.dir.write() {
                        let next = d.with(info, der);
                        *d = Arc::new(next);
                    }
                    tracing::info!(node = %id, "node learnt from another hub");
                }
                _ => {
                    tracing::warn!(node = %id, "a certificate another hub recorded does not verify here; ignored")
                }
            }
        }
    }

    pub fn add_live(&self, node: &NodeId, live: Live) -> u64 {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut r) = self.registry.lock() {
            r.entry(node.clone()).or_default().insert(id, live);
        }
        id
    }

    pub fn remove_live(&self, node: &NodeId, id: u64) {
        if let Ok(mut r) = self.registry.lock()
            && let Some(m) = r.get_mut(node)
        {
            m.remove(&id);
            if m.is_empty() {
                r.remove(node);
            }
        }
    }

    /// Wake the delivery tasks of every live connection.
    pub fn wake_all(&self) {
        if let Ok(r) = self.registry.lock() {
            for live in r.values().flat_map(|m| m.values()) {
                live.notify.notify_one();
            }
        }
    }

    /// Close this hub's sessions of `node`: it opened one on the hub at
    /// `addr`, which serves it now.
    pub fn session_moved(&self, node: &NodeId, addr: &str) {
        if let Ok(r) = self.registry.lock()
            && let Some(m) = r.get(node)
        {
            let reason = format!("{}: {addr}", ErrorCode::SessionMoved.as_str());
            for live in m.values() {
                live.conn.close(
                    quinn::VarInt::from_u32(crate::conn::CLOSE_PROTOCOL),
                    reason.as_bytes(),
                );
            }
            tracing::info!(node = %node, to = %addr, sessions = m.len(), "session moved to another hub; closed here");
        }
    }

    /// The nodes with a session on this hub now.
    pub fn live_nodes(&self) -> Vec<NodeId> {
        self.registry
            .lock()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Wake the delivery tasks of a node's live connections.
    pub fn wake(&self, node: &NodeId) {
        if let Ok(r) = self.registry.lock()
            && let Some(m) = r.get(node)
        {
            for live in m.values() {
                live.notify.notify_one();
            }
        }
    }

    /// Take one send token for `node`; false when it sends too fast.
    pub fn allow_send(&self, node: &NodeId) -> bool {
        let (rate, burst) = (
            self.config.limits.send_rate_per_sec,
            self.config.limits.send_burst,
        );
        let Ok(mut b) = self.buckets.lock() else {
            return true;
        };
        let now = std::time::Instant::now();
        let bucket = b.entry(node.clone()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Connections open now: (all, this node's).
    pub fn live_counts(&self, node: &NodeId) -> (usize, usize) {
        self.registry
            .lock()
            .map(|r| {
                (
                    r.values().map(HashMap::len).sum(),
                    r.get(node).map(HashMap::len).unwrap_or(0),
                )
            })
            .unwrap_or((0, 0))
    }

    /// The `/metrics` text: counters as they stand, gauges read now.
    pub async fn metrics_text(&self) -> String {
        let (queued, held) = self.store.queue_totals().await.unwrap_or_default();
        let (connections, connected_nodes) = self
            .registry
            .lock()
            .map(|r| (r.values().map(HashMap::len).sum::<usize>(), r.len()))
            .unwrap_or_default();
        let now = crate::now_ms() / 1000;
        let snap = metrics::Snapshot {
            queued,
            held,
            connections: connections as i64,
            connected_nodes: connected_nodes as i64,
            db_bytes: self.store.size_bytes().map_or(0, |n| n as i64),
            crl_age_secs: self
                .crl
                .read()
                .ok()
                .and_then(|c| c.as_ref().map(|(_, crl)| now - crl.this_update)),
            cert_not_after: Some(self.cert_not_after.load(Ordering::Relaxed)),
        };
        self.metrics.encode(&snap)
    }

    pub fn live_count(&self) -> usize {
        self.registry
            .lock()
            .map(|r| r.values().map(HashMap::len).sum())
            .unwrap_or(0)
    }

    /// Apply a new CRL: rebuild the directory and drop revoked live connections.
    pub fn apply_crl(&self, der: Vec<u8>, crl: Crl) {
        warn_if_stale(&crl);
        crate::state::record(
            &self.config.data,
            &crate::state::CrlState::of(Some(&crl), crate::now_ms() / 1000),
        );
        let crl = Arc::new(crl);
        if let Ok(mut c) = self.crl.write() {
            *c = Some((Arc::new(der), crl.clone()));
        }
        // Under the directory's write lock, so a node registering meanwhile
        // is not lost (register takes the certificate lock, releases it, then
        // this one: no lock is held while waiting for the other).
        if let Ok(mut d) = self.dir.write() {
            let all = self.all_certs.lock().map(|a| a.clone()).unwrap_or_default();
            *d = Arc::new(Snapshot::build(
                &all,
                &self.ca_der,
                Some(&crl),
                crate::now_ms() / 1000,
            ));
        }
        if let Ok(r) = self.registry.lock() {
            for (node, conns) in r.iter() {
                for live in conns.values() {
                    let revoked = lianxi_certs::verify::serial_hex(&live.cert)
                        .ok()
                        .and_then(|s| hex_to_bytes(&s))
                        .is_some_and(|s| crl.is_revoked(&s));
                    if revoked {
                        tracing::warn!(node = %node, "certificate revoked; closing connection");
                        live.conn.close(quinn::VarInt::from_u32(2), b"revoked");
                    }
                }
            }
        }
    }
}

fn hex_to_bytes(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A running hub.
pub struct HubHandle {
    pub addr: SocketAddr,
    /// Where `/metrics` is served, when it is.
    pub metrics_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    join: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl HubHandle {
    /// Stop accepting, close connections and wait for the hub's tasks.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.join.await;
    }

    /// Connections currently open.
    pub fn connections(&self) -> usize {
        self.shared.live_count()
    }
}

/// Start a hub: open the store, bind the endpoint and spawn its tasks.
pub async fn start(config: HubConfig) -> anyhow::Result<HubHandle> {
    let material = TlsMaterial::load(&config.ca, &config.cert, &config.key)?;
    let ca_der = material.ca.to_vec();
    let crl = match &config.crl {
        Some(p) => Some(read_crl(p, &ca_der)?),
        None => None,
    };
    if let Some((_, c)) = &crl {
        warn_if_stale(c);
    }
    let limits = StoreLimits {
        max_db_bytes: config.limits.max_db_bytes,
        queue_count_per_pair: config.limits.queue_count_per_pair,
        queue_bytes_per_pair: config.limits.queue_bytes_per_pair,
    };
    let store = match &config.storage.database {
        None => Store::open_limited(&config.data, limits)
            .with_context(|| format!("hub data {}", config.data.display()))?,
        Some(url) => crate::store::PgStore::open(
            url,
            limits,
            Duration::from_millis(config.storage.poll_ms.max(50)),
        )
        .await
        .map(Store::Postgres)
        .with_context(|| format!("database {}", config.storage.redacted()))?,
    };
    tracing::info!(storage = %config.storage.redacted(), "store opened");
    crate::state::record(
        &config.data,
        &crate::state::CrlState::of(crl.as_ref().map(|c| &c.1), crate::now_ms() / 1000),
    );
    let all: HashMap<NodeId, Vec<u8>> = store.node_certs().await?.into_iter().collect();
    let snap = Snapshot::build(
        &all,
        &ca_der,
        crl.as_ref().map(|c| &c.1),
        crate::now_ms() / 1000,
    );
    let server_cfg = tls::server_config(
        &material,
        crl.as_ref().map(|c| c.0.as_slice()),
        config.limits.idle_timeout_secs,
    )?;
    let (socket, short) = crate::udp::bind(config.listen, config.udp_buffer_bytes)?;
    if let Some(g) = short {
        tracing::warn!(
            asked = g.asked,
            recv = g.recv,
            send = g.send,
            "the kernel gave the UDP socket smaller buffers than udp_buffer_bytes: \
             packets may be dropped when many nodes connect at once; raise \
             net.core.rmem_max and net.core.wmem_max (see DEPLOYMENT.md)"
        );
    }
    let endpoint = quinn::Endpoint::new(
        tls::endpoint_config(&material),
        Some(server_cfg),
        socket,
        Arc::new(quinn::TokioRuntime),
    )
    .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = endpoint.local_addr()?;
    let metrics_listener = match config.metrics {
        Some(a) => Some(metrics::http::bind(a).await?),
        None => None,
    };
    let metrics_addr = metrics_listener
        .as_ref()
        .map(tokio::net::TcpListener::local_addr)
        .transpose()?;
    let cert_state = material.cert_state(crate::now_ms() / 1000);
    if let Some(c) = &cert_state {
        crate::state::record(&config.data, c);
        warn_if_expiring(c);
    }
    let shared = Arc::new(Shared {
        metrics: Metrics::new(store.commit_metrics()),
        cert_not_after: AtomicI64::new(cert_state.map_or(0, |c| c.not_after)),
        store,
        ca_der,
        dir: RwLock::new(Arc::new(snap)),
        all_certs: Mutex::new(all),
        crl: RwLock::new(crl.map(|(d, c)| (Arc::new(d), Arc::new(c)))),
        registry: Mutex::new(HashMap::new()),
        next_conn: AtomicU64::new(1),
        release_wake: Notify::new(),
        buckets: Mutex::new(HashMap::new()),
        instance: instance_token(),
        advertise: config.advertise.clone().unwrap_or_else(|| addr.to_string()),
        config,
    });
    let (tx, rx) = watch::channel(false);
    if let Some(l) = metrics_listener {
        tokio::spawn(metrics::http::serve(l, shared.clone(), rx.clone()));
    }
    let join = tokio::spawn(run(shared.clone(), endpoint, material, rx));
    tracing::info!(%addr, metrics = ?metrics_addr, "hub listening");
    Ok(HubHandle {
        addr,
        metrics_addr,
        shutdown: tx,
        join,
        shared,
    })
}

async fn run(
    shared: Arc<Shared>,
    endpoint: quinn::Endpoint,
    material: TlsMaterial,
    mut stop: watch::Receiver<bool>,
) {
    let release = tokio::spawn(release_loop(shared.clone()));
    let forget = tokio::spawn(forget_loop(shared.clone()));
    let wakeups = shared
        .store
        .wakeups()
        .map(|rx| tokio::spawn(wakeup_loop(shared.clone(), rx)));
    let crl_watch = tokio::spawn(files_loop(shared.clone(), endpoint.clone(), material));
    let cluster = tokio::spawn(cluster_loop(shared.clone()));
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            inc = endpoint.accept() => match inc {
                Some(inc) => { tokio::spawn(crate::conn::handle(shared.clone(), inc)); }
                None => break,
            },
        }
    }
    release.abort();
    forget.abort();
    crl_watch.abort();
    cluster.abort();
    if let Some(w) = wakeups {
        w.abort();
    }
    endpoint.close(quinn::VarInt::from_u32(0), b"hub shutting down");
    let _ = tokio::time::timeout(Duration::from_secs(3), endpoint.wait_idle()).await;
    tracing::info!("hub stopped");
}

/// A random token naming this hub process among those of a cluster.
fn instance_token() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    format!(
        "{:016x}",
        u64::from_be_bytes(b) ^ u64::from(std::process::id())
    )
}
