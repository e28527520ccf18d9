//! Bytes a session has queued for its driver to write.

use std::collections::VecDeque;

/// Frames are appended to the last buffer while it is smaller than this, so
/// that many small answers go out in one write.
const COALESCE: usize = 64 * 1024;

/// Encoded frames waiting to be written, in order. The driver takes them with
/// [`take`](Outgoing::take) and reports what it wrote with
/// [`written`](Outgoing::written); until then they count as queued, so a
/// session can stop producing while its peer does not read.
#[derive(Debug, Default)]
pub struct Outgoing {
    buffers: VecDeque<Vec<u8>>,
    /// Bytes queued or taken and not yet reported written.
    queued: usize,
}

impl Outgoing {
    pub fn push(&mut self, frame: Vec<u8>) {
        self.queued += frame.len();
        match self.buffers.back_mut() {
            Some(last) if last.len() + frame.len() <= COALESCE => last.extend_from_slice(&frame),
            _ => self.buffers.push_back(frame),
        }
    }

    /// The next buffer to write; it still counts as queued until written.
    pub fn take(&mut self) -> Option<Vec<u8>> {
        self.buffers.pop_front()
    }

    /// The driver wrote `n` bytes of what it took.
    pub fn written(&mut self, n: usize) {
        self.queued = self.queued.saturating_sub(n);
    }

    /// Bytes queued or being written.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// Nothing left to take.
    pub fn is_empty(&self) -> bool {
        self.buffers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_frames_share_a_buffer_and_count_until_written() {
        let mut o = Outgoing::default();
        o.push(vec![1; 10]);
        o.push(vec![2; 10]);
        o.push(vec![3; COALESCE]);
        assert_eq!(o.queued(), COALESCE + 20);
        let first = o.take().unwrap();
        assert_eq!(first.len(), 20);
        o.written(5);
        assert_eq!(o.queued(), COALESCE + 15);
        o.written(15);
        assert_eq!(o.take().unwrap().len(), COALESCE);
        assert!(o.is_empty());
        o.written(COALESCE);
        assert_eq!(o.queued(), 0);
    }
}
