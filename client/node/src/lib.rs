//! The Lianxi node: identity, archive, connection, outbox and sync, and the
//! node's operations (bulletins, cases, the conference) on top of them.
//!
//! This is the core every front end uses (the `lianxi` binary's CLI and
//! terminal UI in `client/`). It holds no user-interface code and depends on
//! no UI or CLI crate: everything here is I/O around the rules in
//! `lianxi-shared`.

pub mod archive;
pub mod backup;
pub mod bulletins;
pub mod case_file;
pub mod cases;
pub mod conference;
pub mod drafts;
pub mod home;
pub mod ics;
pub mod identity;
pub mod lang;
pub mod net;
pub mod node;
pub mod renew;
pub mod search;
pub mod sync;
pub mod time_fmt;
pub mod trust;

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

/// An `io` error naming what could not be read or written.
pub fn io_err(what: impl std::fmt::Display, e: impl std::fmt::Display) -> ProtoError {
    ProtoError::new(ErrorCode::Io, format!("{what}: {e}"))
}
