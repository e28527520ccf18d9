//! One event type for every message kind that is folded into a state (cases,
//! the conference, bulletin threads): the signed header's id, sender and creation time, the
//! decoded message, and `context`, what the receiving node recorded when it
//! accepted the message (for the conference, the standings of the nodes it
//! concerns; nothing for cases).

use crate::error::ProtoError;
use crate::ids::{MessageId, NodeId};

/// A folded message as the log holds it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Event<M, C = ()> {
    pub id: MessageId,
    pub sender: NodeId,
    pub created_at: i64,
    pub msg: M,
    pub context: C,
}

/// What a fold did with one message: applied, or ignored and why.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Step<M, C = ()> {
    pub event: Event<M, C>,
    /// `None`: applied. `Some`: ignored, and why.
    pub ignored: Option<ProtoError>,
}

/// Why each step was ignored (`None`: applied), for tests of a fold.
#[cfg(test)]
pub(crate) fn ignored_codes<M, C>(steps: &[Step<M, C>]) -> Vec<Option<crate::ErrorCode>> {
    steps
        .iter()
        .map(|s| s.ignored.as_ref().map(|e| e.code))
        .collect()
}
