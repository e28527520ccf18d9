//! `lianxi-hub`: the QUIC relay. It stores and forwards envelopes it cannot read.
//!
//! The hub only does I/O: the rules it applies live in `lianxi-shared`
//! (`rules::check_send`, framing, audiences). See `docs/ARCHITECTURE.md`.

mod accept;
mod cluster;
pub mod config;
mod conn;
pub mod directory;
mod files;
pub mod metrics;
pub mod server;
pub mod state;
pub mod store;
pub mod tls;
mod udp;
mod upkeep;

pub use config::HubConfig;
pub use server::{HubHandle, start};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
