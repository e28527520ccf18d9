//! The Lianxi node: identity, archive, connection, outbox and sync.
//!
//! This is the core every front end uses: the CLI (`main.rs`) now, the terminal
//! UI later. It holds no user-interface code.

pub mod archive;
pub mod bulletins;
pub mod case_file;
pub mod cases;
pub mod conference;
pub mod demo;
pub mod home;
pub mod ics;
pub mod identity;
pub mod net;
pub mod node;
pub mod search;
pub mod sync;
pub mod time_fmt;
pub mod trust;
pub mod tui;

pub use lianxi_shared::{ErrorCode, ProtoError};

/// The core's result type: every error has a stable code.
pub type Result<T, E = ProtoError> = std::result::Result<T, E>;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn io_err(what: impl std::fmt::Display, e: impl std::fmt::Display) -> ProtoError {
    ProtoError::new(ErrorCode::Io, format!("{what}: {e}"))
}
