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
    pub limits: Limits,
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
    /// Close a connection silent for this long, seconds.
    pub idle_timeout_secs: u64,
    /// A connection must send `Hello` within this time, seconds.
    pub hello_timeout_secs: u64,
    /// Sends being verified and stored at once per connection.
    pub max_inflight_sends: usize,
    /// How often the CRL file is checked for changes, milliseconds.
    pub crl_poll_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame: lianxi_shared::frame::DEFAULT_MAX_FRAME,
            max_embargo_days: 400,
            max_clock_skew_secs: 600,
            idle_timeout_secs: 60,
            hello_timeout_secs: 10,
            max_inflight_sends: 256,
            crl_poll_ms: 1000,
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
            limits: Limits::default(),
        }
    }
}

impl HubConfig {
    pub fn load(path: &Path) -> anyhow::Result<HubConfig> {
        let text = std::fs::read_to_string(path)?;
        Ok(toml::from_str(&text)?)
    }

    pub fn time_limits(&self) -> lianxi_shared::rules::TimeLimits {
        lianxi_shared::rules::TimeLimits {
            max_future_skew_ms: self.limits.max_clock_skew_secs * 1000,
            max_embargo_ms: self.limits.max_embargo_days * 86_400_000,
        }
    }
}
