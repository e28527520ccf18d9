//! Hub configuration: a TOML file, overridden by command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HubConfig {
    /// UDP address to listen on.
    pub listen: SocketAddr,
    /// Data directory (holds `hub.db`).
    pub data: PathBuf,
    /// The federation CA certificate (PEM).
    pub ca: PathBuf,
    /// The hub's certificate and key (PEM), issued by `lianxi-ca hub`.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CRL file (PEM or DER), reloaded when it changes.
    pub crl: Option<PathBuf>,
    /// Name the hub reports in `Welcome`.
    pub name: String,
    /// TCP address of the Prometheus `/metrics` endpoint; loopback only.
    /// `None`: no endpoint.
    pub metrics: Option<SocketAddr>,
    /// How the hub writes its log lines to stderr.
    pub log_format: LogFormat,
    /// Where envelopes and queues are kept.
    pub storage: Storage,
    /// The address nodes reach this hub at (`host:port`, as in their
    /// `node.toml`). With other hubs on the database, a node's session
    /// taken over by this hub is closed on the others with this address, so
    /// the node follows it. Default: the address the hub listens on.
    pub advertise: Option<String>,
    /// Receive and send buffer of the hub's UDP socket, bytes. Every node's
    /// packets arrive on this one socket: when nodes reconnect together (a
    /// hub restart) the kernel's default (about 208 KiB) overflows while
    /// handshakes keep the hub busy, and dropped keep-alives end idle
    /// sessions. Linux caps it at `net.core.rmem_max`/`wmem_max` (the hub
    /// warns when it got less; see DEPLOYMENT.md).
    pub udp_buffer_bytes: usize,
    pub limits: Limits,
}

/// The store: the embedded SQLite file in `data` (the default), or a
/// PostgreSQL database shared by several hubs.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Storage {
    /// `postgresql://user@host/db?…` (a password is better given in
    /// `PGPASSWORD` or `~/.pgpass` than here). `None`: SQLite in `data`.
    pub database: Option<String>,
    /// With a shared database: how often a hub looks for what other hubs
    /// queued for its nodes, milliseconds, in case a notification is lost.
    pub poll_ms: u64,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            database: None,
            poll_ms: 2_000,
        }
    }
}

impl Storage {
    /// The database's address without user or password, for logs and errors.
    pub fn redacted(&self) -> String {
        match &self.database {
            None => "sqlite".into(),
            Some(url) => match url.split_once("://") {
                Some((scheme, rest)) => {
                    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
                    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
                    format!("{scheme}://{rest}")
                }
                None => "postgresql".into(),
            },
        }
    }
}

/// Log lines as text for people, or one JSON object per line for a collector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest frame accepted, bytes.
    pub max_frame: usize,
    /// How far ahead an embargo may be, days.
    pub max_embargo_days: i64,
    /// How far ahead of the hub's clock a message's creation time may be, seconds.
    pub max_clock_skew_secs: i64,
    /// How old a message's creation time may be, days: what a node queued
    /// offline for longer is refused (clock_skew) and shown as failed there.
    /// The hub forgets the ids older than this and a day (`upkeep.rs`): no
    /// send can use them again.
    pub max_message_age_days: i64,
    /// Close a connection silent for this long, seconds (QUIC idle timeout).
    /// Clients send keep-alives every 10 s: keep it above that, or idle but
    /// healthy clients are dropped and reconnect.
    pub idle_timeout_secs: u64,
    /// A connection must send `Hello` within this time, seconds.
    pub hello_timeout_secs: u64,
    /// Sends being verified and stored at once per connection.
    pub max_inflight_sends: usize,
    /// Bytes those in-flight sends may hold at once per connection (frames
    /// are read only as this allows, so a node cannot park 256 × 16 MiB).
    pub max_inflight_send_bytes: usize,
    /// `directory` requests answered per connection per minute; more are
    /// refused with rate_limited. Each answer also takes its size from the
    /// connection's outgoing byte budget, like deliveries.
    pub directory_per_minute: u32,
    /// How often the CRL file is checked for changes, milliseconds.
    pub crl_poll_ms: u64,
    /// Once a frame has started, it must be complete within this grace
    /// period, seconds, plus the time its bytes take at `frame_min_bytes_per_sec`.
    pub frame_timeout_secs: u64,
    /// The slowest upload the hub waits for, bytes per second (a peer that
    /// trickles bytes more slowly is cut off).
    pub frame_min_bytes_per_sec: u64,
    /// Bytes of outgoing frames queued per connection before the hub stops
    /// reading more for it (a slow reader cannot grow the hub's memory).
    pub out_buffer_bytes: usize,
    /// Deliveries sent to a node and not yet acknowledged, at most (1..=1024).
    pub delivery_window: usize,
    /// Sends per second per node (token bucket), and the burst allowed.
    pub send_rate_per_sec: f64,
    pub send_burst: f64,
    /// Open connections at most, in all and per node.
    pub max_connections: usize,
    pub max_connections_per_node: usize,
    /// Largest hub database, bytes (0: no limit). When it is reached, sends are
    /// refused with `storage_full` and everything stored stays intact.
    pub max_db_bytes: u64,
    /// Envelopes one sender may have waiting for one recipient (0: no limit).
    pub queue_count_per_pair: u64,
    /// Bytes one sender may have waiting for one recipient (0: no limit).
    pub queue_bytes_per_pair: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame: lianxi_shared::frame::DEFAULT_MAX_FRAME,
            max_embargo_days: 400,
            max_clock_skew_secs: 600,
            max_message_age_days: 30,
            idle_timeout_secs: 60,
            hello_timeout_secs: 10,
            max_inflight_sends: 256,
            max_inflight_send_bytes: 64 * 1024 * 1024,
            directory_per_minute: 30,
            crl_poll_ms: 1000,
            frame_timeout_secs: 30,
            frame_min_bytes_per_sec: 8 * 1024,
            out_buffer_bytes: 8 * 1024 * 1024,
            delivery_window: 256,
            send_rate_per_sec: 500.0,
            send_burst: 2000.0,
            max_connections: 50_000,
            max_connections_per_node: 8,
            max_db_bytes: 0,
            queue_count_per_pair: 50_000,
            queue_bytes_per_pair: 256 << 20,
        }
    }
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7443)),
            data: PathBuf::from("hub-data"),
            ca: PathBuf::from("ca.crt"),
            cert: PathBuf::from("hub.crt"),
            key: PathBuf::from("hub.key"),
            crl: None,
            name: "lianxi-hub".into(),
            metrics: None,
            advertise: None,
            udp_buffer_bytes: 8 << 20,
            log_format: LogFormat::Text,
            storage: Storage::default(),
            limits: Limits::default(),
        }
    }
}

impl HubConfig {
    pub fn load(path: &Path) -> anyhow::Result<HubConfig> {
        let text = std::fs::read_to_string(path)?;
        Ok(toml::from_str(&text)?)
    }

    /// What one session may do: the rules are `lianxi_shared::session`'s.
    pub fn session_limits(&self) -> lianxi_shared::session::HubLimits {
        let l = &self.limits;
        lianxi_shared::session::HubLimits {
            max_frame: l.max_frame,
            hello_timeout: std::time::Duration::from_secs(l.hello_timeout_secs),
            frame_grace: std::time::Duration::from_secs(l.frame_timeout_secs.max(1)),
            frame_min_bytes_per_sec: l.frame_min_bytes_per_sec,
            delivery_window: l.delivery_window,
            out_buffer_bytes: l.out_buffer_bytes,
            max_inflight_sends: l.max_inflight_sends,
            max_inflight_send_bytes: l.max_inflight_send_bytes,
            directory_per_minute: l.directory_per_minute,
        }
    }

    pub fn time_limits(&self) -> lianxi_shared::rules::TimeLimits {
        lianxi_shared::rules::TimeLimits {
            max_future_skew_ms: self.limits.max_clock_skew_secs * 1000,
            max_age_ms: self.limits.max_message_age_days * 86_400_000,
            max_embargo_ms: self.limits.max_embargo_days * 86_400_000,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_database_address_is_shown_without_its_secrets() {
        let s = super::Storage {
            database: Some(
                "postgresql://hub:secret@db1.example.org:5432/lianxi?sslmode=require".into(),
            ),
            poll_ms: 2_000,
        };
        assert_eq!(s.redacted(), "postgresql://db1.example.org:5432/lianxi");
        assert_eq!(super::Storage::default().redacted(), "sqlite");
    }

    use super::*;

    /// deploy/hub.toml is what operators copy: it must load, and the limits
    /// it shows as defaults must be the defaults.
    #[test]
    fn the_example_config_loads_and_tells_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/hub.toml");
        let cfg = HubConfig::load(&path).expect("deploy/hub.toml loads");
        assert_eq!(cfg.listen.port(), 7443);
        assert_eq!(cfg.data, PathBuf::from("/var/lib/lianxi-hub"));
        assert_eq!(cfg.metrics, Some(SocketAddr::from(([127, 0, 0, 1], 9464))));
        assert_eq!(cfg.log_format, LogFormat::Json);
        assert_eq!(cfg.storage.database, None);
        assert_eq!(cfg.udp_buffer_bytes, HubConfig::default().udp_buffer_bytes);
        assert_eq!(
            format!("{:?}", cfg.limits),
            format!("{:?}", Limits::default())
        );
    }
}
