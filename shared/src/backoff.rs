//! Reconnection back-off, with time and randomness passed in.

use std::time::Duration;

/// Exponential back-off with full jitter, capped.
#[derive(Clone, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    attempt: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(250),
            max: Duration::from_secs(30),
            attempt: 0,
        }
    }
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max,
            attempt: 0,
        }
    }

    /// The delay before the next attempt. `jitter` in `[0, 1)` picks a point in
    /// the upper half of the window, so delays grow but never synchronise.
    pub fn next_delay(&mut self, jitter: f64) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.attempt.min(16));
        let cap = exp.min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        cap.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }

    /// How many attempts failed in a row.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Call after a successful connection.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let d: Vec<u128> = (0..8).map(|_| b.next_delay(1.0).as_millis()).collect();
        assert_eq!(d, [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
        assert_eq!(b.next_delay(0.0).as_millis(), 1000);
        b.reset();
        assert_eq!(b.next_delay(1.0).as_millis(), 100);
    }
}
