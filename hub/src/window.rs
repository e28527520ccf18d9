//! Flow control for deliveries: at most `size` deliveries are unacknowledged
//! per connection. The hub sends the next one only when the node has
//! acknowledged (`Received`) an earlier one, so a node catching up on a large
//! backlog never has more in flight than it buffers, and its requests'
//! answers, which share the stream, are never stuck behind deliveries.

use std::collections::HashSet;
use std::sync::Mutex;

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

    /// The node acknowledged these: free their slots. Sequence numbers that are
    /// not in flight (repeated or invented acks) free nothing.
    pub fn release(&self, seqs: &[u64]) {
        let freed = match self.outstanding.lock() {
            Ok(mut o) => seqs.iter().filter(|s| o.remove(s)).count(),
            Err(_) => 0,
        };
        self.slots.add_permits(freed);
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
        w.release(&[7, 8, 9]); // never sent: frees nothing
        let still = tokio::time::timeout(Duration::from_millis(50), w.take(3)).await;
        assert!(still.is_err());
        w.release(&[1, 1]); // repeated ack frees once
        assert!(w.take(3).await);
        assert_eq!(w.in_flight(), 2);
        let again = tokio::time::timeout(Duration::from_millis(50), w.take(4)).await;
        assert!(again.is_err());
    }
}
