//! The hub's acceptance rules for a `Send`, as a pure function. The hub calls
//! this (off its async threads: it verifies a signature) and stores the result.

use std::collections::{BTreeSet, HashMap};

use crate::directory::NodeInfo;
use crate::envelope::{Envelope, Header, Wrap};
use crate::error::{ErrorCode, ProtoError};
use crate::ids::NodeId;

/// How far the time in a message id (UUIDv7) may be from its `created_at`.
pub const ID_TIME_TOLERANCE_MS: u64 = 120_000;

/// How far past the local clock a node dates a message so that it comes after
/// every step it already holds (the folds order by time). No further: a step
/// dated far ahead by another node does not drag this node's messages
/// outside what the hub accepts.
pub const MAX_ORDER_BUMP_MS: i64 = 60_000;

/// The time a node gives a new message: now, or just after the newest of
/// `held` if that is a little ahead, never more than [`MAX_ORDER_BUMP_MS`].
pub fn next_time(now: i64, held: impl IntoIterator<Item = i64>) -> i64 {
    let limit = now.saturating_add(MAX_ORDER_BUMP_MS);
    held.into_iter()
        .map(|t| t.saturating_add(1))
        .filter(|t| *t <= limit)
        .fold(now, i64::max)
}

/// Time limits the hub enforces on headers.
#[derive(Clone, Copy, Debug)]
pub struct TimeLimits {
    /// How far ahead of the hub's clock `created_at` may be.
    pub max_future_skew_ms: i64,
    /// How far behind the hub's clock `created_at` may be (a node offline
    /// longer sends its queue with a time too old: refused, clock_skew).
    pub max_age_ms: i64,
    /// How far ahead `not_before` may be.
    pub max_embargo_ms: i64,
}

impl Default for TimeLimits {
    fn default() -> Self {
        TimeLimits {
            max_future_skew_ms: 10 * 60 * 1000,
            max_age_ms: 30 * 86_400_000,
            max_embargo_ms: 400 * 24 * 3600 * 1000,
        }
    }
}

/// The margin [`replay_horizon_ms`] keeps: a hub clock stepped back, or a
/// `max_age_ms` raised, by up to a day.
pub const REPLAY_MARGIN_MS: i64 = 86_400_000;

/// Before this time no message id can be accepted again, whatever comes with
/// it: an id's time is within [`ID_TIME_TOLERANCE_MS`] of its `created_at`
/// (checked when the header is decoded), and a `created_at` older than
/// `max_age_ms` is refused (`clock_skew`) before any replay check. So a hub
/// need not remember the ids older than this, less [`REPLAY_MARGIN_MS`].
pub fn replay_horizon_ms(now_ms: i64, limits: TimeLimits) -> i64 {
    now_ms
        .saturating_sub(limits.max_age_ms)
        .saturating_sub(ID_TIME_TOLERANCE_MS as i64)
        .saturating_sub(REPLAY_MARGIN_MS)
}

/// A send that passed every check.
#[derive(Debug)]
pub struct CheckedSend {
    pub header: Header,
    /// Recipients with their wraps, in node id order.
    pub deliveries: Vec<(NodeId, Vec<u8>)>,
    /// Addressed nodes the sender supplied no wrap for (its directory was stale).
    pub missing: Vec<NodeId>,
}

/// Check a `Send` from the TLS-authenticated node `from`.
pub fn check_send(
    envelope: &Envelope,
    wraps: Vec<Wrap>,
    from: &NodeId,
    directory: &HashMap<NodeId, NodeInfo>,
    now_ms: i64,
    limits: TimeLimits,
) -> Result<CheckedSend, ProtoError> {
    check_sends(vec![(envelope, wraps)], from, directory, now_ms, limits)
        .pop()
        .unwrap_or_else(|| Err(ProtoError::code(ErrorCode::Internal)))
}

/// Check several `Send`s from `from` at once: their signatures are checked
/// as one batch ([`crate::sigbatch`]), each answered as [`check_send`] would.
pub fn check_sends(
    sends: Vec<(&Envelope, Vec<Wrap>)>,
    from: &NodeId,
    directory: &HashMap<NodeId, NodeInfo>,
    now_ms: i64,
    limits: TimeLimits,
) -> Vec<Result<CheckedSend, ProtoError>> {
    let key = directory
        .get(from)
        .ok_or_else(|| {
            ProtoError::new(
                ErrorCode::UnknownSender,
                format!("{from} is not registered"),
            )
        })
        .and_then(|s| crate::envelope::sender_key_of(&s.signing_key));
    let headers: Vec<Result<Header, ProtoError>> = sends
        .iter()
        .map(|(e, _)| {
            let header = e.decode_header()?;
            if &header.sender != from {
                return Err(ProtoError::new(
                    ErrorCode::SenderMismatch,
                    format!(
                        "envelope claims sender {} but the connection is {from}",
                        header.sender
                    ),
                ));
            }
            key.as_ref().map_err(Clone::clone)?;
            Ok(header)
        })
        .collect();
    // The signatures of those with a good header, together.
    let signed: Vec<(usize, Vec<u8>)> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| h.is_ok())
        .map(|(i, _)| (i, sends[i].0.signed_message()))
        .collect();
    let mut verdict = vec![false; sends.len()];
    if let Ok(key) = &key {
        let items: Vec<(&[u8], ed25519_dalek::Signature)> = signed
            .iter()
            .map(|(i, m)| (m.as_slice(), sends[*i].0.signature()))
            .collect();
        for ((i, _), ok) in signed
            .iter()
            .zip(crate::sigbatch::verify_strict_all(key, &items))
        {
            verdict[*i] = ok;
        }
    }
    sends
        .into_iter()
        .zip(headers)
        .zip(verdict)
        .map(|(((envelope, wraps), header), signed)| {
            let header = header?;
            if !signed {
                return Err(ProtoError::code(ErrorCode::BadSignature));
            }
            envelope.check_body(&header)?;
            check_signed(header, wraps, from, directory, now_ms, limits)
        })
        .collect()
}

/// The rest of [`check_send`], for a header whose signature and body passed.
fn check_signed(
    header: Header,
    wraps: Vec<Wrap>,
    from: &NodeId,
    directory: &HashMap<NodeId, NodeInfo>,
    now_ms: i64,
    limits: TimeLimits,
) -> Result<CheckedSend, ProtoError> {
    if header.created_at > now_ms.saturating_add(limits.max_future_skew_ms) {
        return Err(ProtoError::new(
            ErrorCode::ClockSkew,
            "created_at is in the future; check the node's clock",
        ));
    }
    if header.created_at < now_ms.saturating_sub(limits.max_age_ms) {
        return Err(ProtoError::new(
            ErrorCode::ClockSkew,
            format!(
                "created_at is more than {} days in the past; check the node's clock",
                limits.max_age_ms / 86_400_000
            ),
        ));
    }
    if let Some(nb) = header.not_before
        && nb > now_ms.saturating_add(limits.max_embargo_ms)
    {
        return Err(ProtoError::new(
            ErrorCode::EmbargoTooFar,
            format!(
                "embargo is more than {} days ahead",
                limits.max_embargo_ms / 86_400_000
            ),
        ));
    }
    let addressed: BTreeSet<NodeId> = header
        .audience
        .expand(from, directory.values())?
        .into_iter()
        .collect();
    if wraps.is_empty() {
        return Err(ProtoError::new(
            ErrorCode::EmptyAudience,
            "no key wraps: nobody could read it",
        ));
    }
    let mut deliveries = Vec::with_capacity(wraps.len());
    let mut seen = BTreeSet::new();
    for w in wraps {
        if !directory.contains_key(&w.to) {
            return Err(ProtoError::new(
                ErrorCode::UnknownRecipient,
                format!("unknown recipient {}", w.to),
            ));
        }
        if !addressed.contains(&w.to) {
            return Err(ProtoError::new(
                ErrorCode::NotInAudience,
                format!("{} is not in the audience", w.to),
            ));
        }
        if !seen.insert(w.to.clone()) {
            return Err(ProtoError::new(
                ErrorCode::BadRequest,
                format!("two wraps for {}", w.to),
            ));
        }
        deliveries.push((w.to, w.key));
    }
    deliveries.sort_by(|a, b| a.0.cmp(&b.0));
    let missing = addressed
        .into_iter()
        .filter(|n| !seen.contains(n))
        .collect();
    Ok(CheckedSend {
        header,
        deliveries,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_at(id_ms: i64, created_at: i64) -> Header {
        Header {
            v: 1,
            id: crate::MessageId::new_v7(id_ms, [9; 16]),
            sender: NodeId::new("rogue").expect("a name"),
            audience: crate::directory::Audience::All,
            created_at,
            not_before: None,
            body_sha256: [0; 32],
            body_len: 0,
            key: String::new(),
        }
    }

    #[test]
    fn no_id_before_the_replay_horizon_passes_the_time_rules() {
        let limits = TimeLimits::default();
        let now = 1_800_000_000_000;
        let from = NodeId::new("rogue").expect("a name");
        let skew = |h: Header| {
            check_signed(h, Vec::new(), &from, &HashMap::new(), now, limits)
                .err()
                .map(|e| e.code)
        };
        // The newest `created_at` an id just before the horizon may carry
        // (the id's time is checked against it when the header is decoded).
        let before = replay_horizon_ms(now, limits) - 1 + REPLAY_MARGIN_MS;
        let latest = before + ID_TIME_TOLERANCE_MS as i64;
        assert_eq!(skew(header_at(before, latest)), Some(ErrorCode::ClockSkew));
        // An id at the oldest time still accepted passes the time rules (and
        // fails later, on its empty audience).
        let oldest = now - limits.max_age_ms;
        assert_ne!(skew(header_at(oldest, oldest)), Some(ErrorCode::ClockSkew));
        assert!(replay_horizon_ms(now, limits) < oldest - ID_TIME_TOLERANCE_MS as i64);
        assert_eq!(replay_horizon_ms(i64::MIN, limits), i64::MIN);
    }

    #[test]
    fn next_time_follows_held_steps_but_not_far_ahead() {
        assert_eq!(next_time(1_000, []), 1_000);
        assert_eq!(next_time(1_000, [500, 1_000]), 1_001);
        assert_eq!(next_time(1_000, [30_000]), 30_001);
        // A step dated an hour ahead is not followed.
        assert_eq!(next_time(1_000, [3_601_000, 2_000]), 2_001);
        assert_eq!(next_time(i64::MAX, [i64::MAX]), i64::MAX);
    }
}
