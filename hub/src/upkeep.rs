//! The store's upkeep while the hub runs: embargoed deliveries queued when
//! they are due, and message ids forgotten once no send could use them again.

use std::sync::Arc;
use std::time::Duration;

use lianxi_shared::MessageId;
use lianxi_shared::rules::{TimeLimits, replay_horizon_ms};

use crate::server::Shared;
use crate::store::HubStore;

/// Ids forgotten in one transaction, so that other writes go in between.
const FORGET_CHUNK: usize = 10_000;
/// How often the hub forgets the ids past the replay horizon.
const FORGET_EVERY: Duration = Duration::from_secs(3600);

/// Queue embargoed deliveries when they are due, and wake their recipients.
pub(crate) async fn release_loop(shared: Arc<Shared>) {
    loop {
        let now = crate::now_ms();
        match shared.store.next_release().await {
            Ok(Some(t)) if t <= now => match shared.store.release(now).await {
                Ok(nodes) => {
                    tracing::info!(nodes = nodes.len(), "embargo released");
                    for n in &nodes {
                        shared.wake(n);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "embargo release failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
            Ok(Some(t)) => {
                let wait = Duration::from_millis((t - now).clamp(1, 60_000) as u64);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shared.release_wake.notified() => {}
                }
            }
            Ok(None) => {
                // Another hub may hold an embargo this one never heard of.
                let idle = shared
                    .store
                    .poll_interval()
                    .unwrap_or(Duration::from_secs(60));
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    _ = shared.release_wake.notified() => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read embargo schedule");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Forget, every hour, the ids of messages older than the replay horizon
/// (`rules::replay_horizon_ms` with this hub's time limits): a send with
/// such an id is refused by the time rules before any replay check, so
/// remembering them only grows the store. The first pass comes a minute
/// after the start, not in its rush.
pub(crate) async fn forget_loop(shared: Arc<Shared>) {
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::time::sleep(wait).await;
        wait = FORGET_EVERY;
        let floor = forget_floor(crate::now_ms(), shared.config.time_limits());
        let mut forgotten = 0;
        loop {
            match shared.store.forget_ids_before(floor, FORGET_CHUNK).await {
                Ok(n) => {
                    forgotten += n;
                    if n < FORGET_CHUNK {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot forget old message ids; trying again in an hour");
                    break;
                }
            }
        }
        if forgotten > 0 {
            tracing::info!(forgotten, "message ids past the replay horizon forgotten");
        }
    }
}

/// The lowest id still remembered: the first of the horizon's millisecond.
fn forget_floor(now_ms: i64, limits: TimeLimits) -> MessageId {
    MessageId::new_v7(replay_horizon_ms(now_ms, limits), [0; 16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_lies_past_the_horizon_and_below_every_acceptable_id() {
        let limits = TimeLimits::default();
        let now = 1_800_000_000_000;
        let floor = forget_floor(now, limits);
        let horizon = replay_horizon_ms(now, limits);
        assert!(MessageId::new_v7(horizon - 1, [0xff; 16]) < floor);
        assert!(MessageId::new_v7(horizon, [0; 16]) >= floor);
        // The oldest id the time rules still let through, and a new one.
        let oldest = now - limits.max_age_ms - lianxi_shared::rules::ID_TIME_TOLERANCE_MS as i64;
        assert!(MessageId::new_v7(oldest, [0; 16]) > floor);
        assert!(MessageId::generate(now) > floor);
        // A clock before the epoch forgets nothing.
        assert_eq!(forget_floor(0, limits), MessageId::new_v7(0, [0; 16]));
    }
}
