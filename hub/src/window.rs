//! Flow control for deliveries: at most `size` deliveries are unacknowledged
//! per connection. The hub sends the next one only when the node has
//! acknowledged (`Received`) an earlier one, so a node catching up on a large
//! backlog never has more in flight than it buffers, and its requests'
//! answers, which share the stream, are never stuck behind deliveries.

use std::collections::HashSet;
use std::sync::Mutex;

use lianxi_shared::{ErrorCode, ProtoError};
use tokio::sync::Semaphore;

/// Largest window a hub may be configured with: clients buffer 1024 events.
pub const MAX_WINDOW: usize = 1024;

pub(crate) struct Window {
    slots: Semaphore,
    outstanding: Mutex<HashSet<u64>>,
}

impl Window {
    pub fn new(size: usize) -> Window {
        Window {
            slots: Semaphore::new(size.clamp(1, MAX_WINDOW)),
            outstanding: Mutex::new(HashSet::new()),
        }
    }

    /// Wait for a free slot and mark `seq` as in flight. False if the window was closed.
    pub async fn take(&self, seq: u64) -> bool {
        let Ok(permit) = self.slots.acquire().await else {
            return false;
        };
        permit.forget();
        if let Ok(mut o) = self.outstanding.lock() {
            o.insert(seq);
        }
        true
    }

    /// The node acknowledged these: free their slots. An acknowledgement may
    /// name only deliveries in flight on this connection, each once, so it is
    /// never longer than the window: anything else (a 16 MiB list of invented
    /// numbers once stalled every other node's sends) is a `bad_request`, and
    /// the caller closes the connection. Nothing is freed then.
    pub fn release(&self, seqs: &[u64]) -> Result<(), ProtoError> {
        let bad = |m: &str| Err(ProtoError::new(ErrorCode::BadRequest, m.to_owned()));
        let Ok(mut o) = self.outstanding.lock() else {
            return bad("window poisoned");
        };
        if seqs.len() > o.len() {
            return bad("received names more deliveries than are in flight");
        }
        let mut seen = HashSet::with_capacity(seqs.len());
        if !seqs.iter().all(|s| o.contains(s) && seen.insert(*s)) {
            return bad("received names a delivery that is not in flight");
        }
        for s in seqs {
            o.remove(s);
        }
        self.slots.add_permits(seqs.len());
        Ok(())
    }

    /// Deliveries sent and not yet acknowledged.
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.outstanding.lock().map(|o| o.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn blocks_when_full_and_only_real_acks_free_slots() {
        let w = Window::new(2);
        assert!(w.take(1).await);
        assert!(w.take(2).await);
        let blocked = tokio::time::timeout(Duration::from_millis(50), w.take(3)).await;
        assert!(blocked.is_err(), "a third delivery waits");
        // Never sent, repeated, or longer than what is in flight: refused, frees nothing.
        for bad in [&[7, 8, 9][..], &[1, 1], &[1, 2, 2]] {
            assert_eq!(w.release(bad).unwrap_err().code, ErrorCode::BadRequest);
        }
        let still = tokio::time::timeout(Duration::from_millis(50), w.take(3)).await;
        assert!(still.is_err());
        w.release(&[1]).unwrap();
        assert!(w.take(3).await);
        assert_eq!(w.in_flight(), 2);
        let again = tokio::time::timeout(Duration::from_millis(50), w.take(4)).await;
        assert!(again.is_err());
    }
}
