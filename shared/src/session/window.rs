//! Flow control for deliveries: at most `size` deliveries are unacknowledged
//! per connection. The hub sends the next one only when the node has
//! acknowledged (`Received`) an earlier one, so a node catching up on a large
//! backlog never has more in flight than it buffers, and its requests'
//! answers, which share the stream, are never stuck behind deliveries.

use std::collections::HashSet;

use crate::error::{ErrorCode, ProtoError};

/// Largest window a hub may be configured with: clients buffer 1024 events.
pub const MAX_WINDOW: usize = 1024;

#[derive(Debug)]
pub struct Window {
    size: usize,
    outstanding: HashSet<u64>,
}

impl Window {
    pub fn new(size: usize) -> Window {
        Window {
            size: size.clamp(1, MAX_WINDOW),
            outstanding: HashSet::new(),
        }
    }

    pub fn has_room(&self) -> bool {
        self.outstanding.len() < self.size
    }

    /// Mark `seq` as sent and not yet acknowledged.
    pub fn take(&mut self, seq: u64) {
        self.outstanding.insert(seq);
    }

    /// The node acknowledged these. An acknowledgement may name only
    /// deliveries in flight on this connection, each once, so it is never
    /// longer than the window: anything else (a 16 MiB list of invented
    /// numbers once stalled every other node's sends) is a `bad_request`, and
    /// the session ends. Nothing is freed then.
    pub fn release(&mut self, seqs: &[u64]) -> Result<(), ProtoError> {
        let bad = |m: &str| Err(ProtoError::new(ErrorCode::BadRequest, m.to_owned()));
        if seqs.len() > self.outstanding.len() {
            return bad("received names more deliveries than are in flight");
        }
        let mut seen = HashSet::with_capacity(seqs.len());
        if !seqs
            .iter()
            .all(|s| self.outstanding.contains(s) && seen.insert(*s))
        {
            return bad("received names a delivery that is not in flight");
        }
        for s in seqs {
            self.outstanding.remove(s);
        }
        Ok(())
    }

    /// Deliveries sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.outstanding.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_and_only_real_acks_free_slots() {
        let mut w = Window::new(2);
        w.take(1);
        w.take(2);
        assert!(!w.has_room(), "a third delivery waits");
        // Never sent, repeated, or longer than what is in flight: refused, frees nothing.
        for bad in [&[7, 8, 9][..], &[1, 1], &[1, 2, 2], &[3]] {
            assert_eq!(w.release(bad).unwrap_err().code, ErrorCode::BadRequest);
        }
        assert!(!w.has_room());
        w.release(&[1]).unwrap();
        assert!(w.has_room());
        w.take(3);
        assert_eq!(w.in_flight(), 2);
        assert!(!w.has_room());
    }
}
