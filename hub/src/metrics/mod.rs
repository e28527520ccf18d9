//! What the hub does, for its operator: counters, gauges and histograms in the
//! Prometheus / OpenMetrics text format, served by [`http`] on a separate,
//! loopback-only address (`metrics` in hub.toml, `--metrics`).
//!
//! Only counts, sizes, times and error codes: no node id, no message id, no
//! content. Names follow Prometheus conventions (`lianxi_hub_` prefix, base
//! units in the name, `_total` on counters).

pub mod http;

use lianxi_shared::ErrorCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// The label of a refused send: its stable error code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    pub code: &'static str,
}

/// The store's writer: how many operations each commit carried and how long
/// it took (fsync included).
#[derive(Clone)]
pub struct CommitMetrics {
    pub batch_size: Histogram,
    pub duration: Histogram,
}

impl Default for CommitMetrics {
    fn default() -> Self {
        CommitMetrics {
            // 1, 2, 4 ... 1024 (the writer's largest batch).
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 11)),
            // 0.5 ms .. ~4 s.
            duration: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
        }
    }
}

/// Values read when a scrape comes, not counted as things happen.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub queued: i64,
    pub held: i64,
    pub connections: i64,
    pub connected_nodes: i64,
    pub db_bytes: i64,
    /// Seconds since the enforced CRL was issued; `None` without a CRL.
    pub crl_age_secs: Option<i64>,
    /// The hub certificate's notAfter, seconds since the epoch.
    pub cert_not_after: Option<i64>,
}

/// Every metric the hub exports.
pub struct Metrics {
    registry: Registry,
    sends_accepted: Counter,
    sends_refused: Family<CodeLabel, Counter>,
    deliveries: Counter,
    delivery_acks: Counter,
    signature_batch: Histogram,
    queued: Gauge,
    held: Gauge,
    connections: Gauge,
    connected_nodes: Gauge,
    db_bytes: Gauge,
    crl_loaded: Gauge,
    crl_age: Gauge,
    cert_not_after: Gauge,
}

impl Metrics {
    pub fn new(commits: CommitMetrics) -> Metrics {
        let mut r = Registry::with_prefix("lianxi_hub");
        let m = Metrics {
            registry: Registry::default(),
            sends_accepted: Counter::default(),
            sends_refused: Family::default(),
            deliveries: Counter::default(),
            delivery_acks: Counter::default(),
            // 1, 2, 4 ... 64 (the largest batch).
            signature_batch: Histogram::new(exponential_buckets(1.0, 2.0, 7)),
            queued: Gauge::default(),
            held: Gauge::default(),
            connections: Gauge::default(),
            connected_nodes: Gauge::default(),
            db_bytes: Gauge::default(),
            crl_loaded: Gauge::default(),
            crl_age: Gauge::default(),
            cert_not_after: Gauge::default(),
        };
        r.register(
            "sends_accepted",
            "Envelopes accepted and stored durably (retries of a stored envelope included)",
            m.sends_accepted.clone(),
        );
        r.register(
            "sends_refused",
            "Envelopes refused, by the stable error code the sender was given",
            m.sends_refused.clone(),
        );
        r.register(
            "deliveries",
            "Envelopes handed to a recipient's connection (a redelivery after a cut counts again)",
            m.deliveries.clone(),
        );
        r.register(
            "delivery_acks",
            "Deliveries a recipient confirmed it stored",
            m.delivery_acks.clone(),
        );
        r.register(
            "queued_envelopes",
            "Deliveries waiting for their recipient to collect them",
            m.queued.clone(),
        );
        r.register(
            "held_envelopes",
            "Deliveries held until their embargo ends",
            m.held.clone(),
        );
        r.register(
            "connections",
            "Open node connections",
            m.connections.clone(),
        );
        r.register(
            "connected_nodes",
            "Nodes with at least one open connection",
            m.connected_nodes.clone(),
        );
        r.register_with_unit(
            "store_size",
            "Size of the hub database file",
            Unit::Bytes,
            m.db_bytes.clone(),
        );
        r.register_with_unit(
            "commit_batch_size",
            "Operations grouped into one durable commit by the store's writer",
            Unit::Other("operations".into()),
            commits.batch_size,
        );
        r.register_with_unit(
            "signature_batch_size",
            "Sends from one connection whose signatures were checked together",
            Unit::Other("sends".into()),
            m.signature_batch.clone(),
        );
        r.register_with_unit(
            "commit_duration",
            "Time one commit took, fsync included",
            Unit::Seconds,
            commits.duration,
        );
        r.register(
            "crl_loaded",
            "1 when the hub enforces a CRL, 0 when it runs with --no-crl",
            m.crl_loaded.clone(),
        );
        r.register_with_unit(
            "crl_age",
            "Time since the enforced CRL was issued (its thisUpdate); 0 without a CRL",
            Unit::Seconds,
            m.crl_age.clone(),
        );
        r.register_with_unit(
            "certificate_expiry_timestamp",
            "When the hub's own certificate expires (notAfter), since the Unix epoch",
            Unit::Seconds,
            m.cert_not_after.clone(),
        );
        // The metrics share their values with the clones registered above.
        Metrics { registry: r, ..m }
    }

    /// `n` sends from one connection checked together.
    pub fn checked_together(&self, n: usize) {
        self.signature_batch.observe(n as f64);
    }

    pub fn accepted(&self) {
        self.sends_accepted.inc();
    }

    pub fn refused(&self, code: ErrorCode) {
        self.sends_refused
            .get_or_create(&CodeLabel {
                code: code.as_str(),
            })
            .inc();
    }

    pub fn delivered(&self) {
        self.deliveries.inc();
    }

    pub fn acked(&self, n: usize) {
        self.delivery_acks.inc_by(n as u64);
    }

    /// The text a scrape returns, with `snap` as the current gauges.
    pub fn encode(&self, snap: &Snapshot) -> String {
        self.queued.set(snap.queued);
        self.held.set(snap.held);
        self.connections.set(snap.connections);
        self.connected_nodes.set(snap.connected_nodes);
        self.db_bytes.set(snap.db_bytes);
        self.crl_loaded.set(i64::from(snap.crl_age_secs.is_some()));
        self.crl_age.set(snap.crl_age_secs.unwrap_or(0).max(0));
        self.cert_not_after.set(snap.cert_not_after.unwrap_or(0));
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
