//! The session: what the hub and a node say to each other on their one
//! stream, as two sans-IO state machines.
//!
//! [`HubSession`] and [`ClientSession`] take bytes and time in and give
//! frames to write, a next timer and events out; they never touch a socket
//! or a clock. The hub's `conn.rs` and the node's `net.rs` are drivers: they
//! read the stream into `handle_bytes`, write what `poll_transmit` hands
//! them, sleep until `poll_timeout` and act on `poll_event` (store a send,
//! fetch deliveries, wake a waiting request). Every rule of the session —
//! Hello first, one protocol version, the delivery window, what an
//! acknowledgement may name, how long a frame may take, when to stop reading
//! a client that does not read — is decided here and tested with the
//! [`pair`](self) harness in milliseconds of virtual time.
//!
//! Time comes in as [`Now`]: a monotonic instant for timers and the wall
//! clock, in Unix milliseconds, for what the hub reports (`Welcome`, `Pong`).

mod client;
mod hub;
mod outgoing;
mod window;

#[cfg(test)]
mod pair;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

pub use client::{ClientEvent, ClientLimits, ClientSession};
pub use hub::{HubEvent, HubLimits, HubSession};
pub use outgoing::Outgoing;
pub use window::{MAX_WINDOW, Window};

/// The time, as a driver passes it in.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    /// For timers.
    pub instant: Instant,
    /// Wall-clock time, Unix milliseconds: only ever reported, never trusted.
    pub unix_ms: i64,
}

impl Now {
    pub fn new(instant: Instant, unix_ms: i64) -> Now {
        Now { instant, unix_ms }
    }

    /// The same clock `d` later (virtual time in tests).
    pub fn after(self, d: Duration) -> Now {
        Now {
            instant: self.instant + d,
            unix_ms: self
                .unix_ms
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        }
    }
}
