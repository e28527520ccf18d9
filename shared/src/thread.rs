//! Bulletin threads: a bulletin, its revisions and its withdrawal, folded
//! into what each version stands as; and who may send a receipt or a
//! reminder for a bulletin.
//!
//! Like cases and the conference this is a pure fold over the thread's
//! messages ([`Event<ThreadMsg>`](crate::event::Event)): the archive stores
//! and indexes them and writes back what [`fold`] decides, so the outcome
//! never depends on the order in which they arrived. A message is refused
//! only for what it is on its own (not from the bulletin's author, a
//! "revision 0"), never for what else has arrived: two nodes that hold the
//! same messages agree on the thread.

use crate::error::{ErrorCode, ProtoError};
use crate::event::{Event, Step};
use crate::ids::{MessageId, NodeId};

/// What a thread's message does (the bulletins' contents stay in the archive).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ThreadMsg {
    /// The bulletin that starts the thread: its id is the thread's.
    Original,
    /// The `revision`th correction (1, 2, …).
    Revision { revision: u32 },
    /// The author took the bulletin back.
    Withdrawal { reason: String },
}

pub type ThreadEvent = Event<ThreadMsg>;
pub type ThreadStep = Step<ThreadMsg>;

/// How one version of a bulletin stands.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Standing {
    Current,
    /// A later revision replaces it.
    Superseded,
    /// The latest version of a withdrawn bulletin.
    Withdrawn {
        reason: String,
    },
}

impl Standing {
    /// As the archive stores it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Standing::Current => "current",
            Standing::Superseded => "superseded",
            Standing::Withdrawn { .. } => "withdrawn",
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Version {
    pub id: MessageId,
    pub revision: u32,
    pub standing: Standing,
}

/// A thread as the node holds it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Thread {
    pub original: MessageId,
    /// The original's sender: the only node that may revise or withdraw it.
    pub author: NodeId,
    /// Every version, in order: revision, then creation time, then id.
    pub versions: Vec<Version>,
    /// The withdrawal that counts: the earliest, if there are several.
    pub withdrawal: Option<MessageId>,
}

impl Thread {
    /// The version readers see.
    pub fn latest(&self) -> Option<&Version> {
        self.versions.last()
    }

    pub fn standing(&self, id: &MessageId) -> Option<&Standing> {
        self.versions
            .iter()
            .find(|v| v.id == *id)
            .map(|v| &v.standing)
    }
}

/// Whether a message of a thread whose bulletin was sent by `author` may
/// take effect, judged on the message alone.
pub fn check(author: &NodeId, e: &ThreadEvent) -> Result<(), ProtoError> {
    let what = match &e.msg {
        ThreadMsg::Original => return Ok(()),
        ThreadMsg::Revision { revision: 0 } => {
            return Err(ProtoError::new(
                ErrorCode::BadPayload,
                "revision 0 is the bulletin itself; corrections count from 1",
            ));
        }
        ThreadMsg::Revision { .. } => "revise",
        ThreadMsg::Withdrawal { .. } => "withdraw",
    };
    if e.sender == *author {
        Ok(())
    } else {
        Err(ProtoError::new(
            ErrorCode::NotEntitled,
            format!("{} may not {what} a bulletin sent by {author}", e.sender),
        ))
    }
}

/// Fold a thread's messages. The order of `events` does not matter;
/// duplicates (same id) count once. Without the original there is no
/// thread yet, and every message waits for it.
pub fn fold(original: MessageId, events: &[ThreadEvent]) -> (Option<Thread>, Vec<ThreadStep>) {
    let mut sorted: Vec<&ThreadEvent> = events.iter().collect();
    sorted.sort_by_key(|e| (e.created_at, e.id));
    sorted.dedup_by(|a, b| a.id == b.id);
    let author = sorted
        .iter()
        .find(|e| e.id == original && e.msg == ThreadMsg::Original)
        .map(|e| e.sender.clone());
    let mut versions: Vec<(u32, i64, MessageId)> = Vec::new();
    let mut withdrawal: Option<(MessageId, String)> = None;
    let mut steps = Vec::with_capacity(sorted.len());
    for e in sorted {
        let verdict = match (&author, &e.msg) {
            (None, _) => Err(ProtoError::new(
                ErrorCode::UnknownReference,
                format!("bulletin {original} has not arrived"),
            )),
            (Some(_), ThreadMsg::Original) if e.id != original => Err(ProtoError::new(
                ErrorCode::BadPayload,
                "a bulletin that starts another thread",
            )),
            (Some(author), _) => check(author, e),
        };
        if verdict.is_ok() {
            match &e.msg {
                ThreadMsg::Original => versions.push((0, e.created_at, e.id)),
                ThreadMsg::Revision { revision } => versions.push((*revision, e.created_at, e.id)),
                ThreadMsg::Withdrawal { reason } => {
                    withdrawal.get_or_insert_with(|| (e.id, reason.clone()));
                }
            }
        }
        steps.push(Step {
            event: e.clone(),
            ignored: verdict.err(),
        });
    }
    let Some(author) = author else {
        return (None, steps);
    };
    versions.sort();
    let last = versions.len().saturating_sub(1);
    let versions = versions
        .into_iter()
        .enumerate()
        .map(|(i, (revision, _, id))| Version {
            id,
            revision,
            standing: match (&withdrawal, i == last) {
                (_, false) => Standing::Superseded,
                (None, true) => Standing::Current,
                (Some((_, reason)), true) => Standing::Withdrawn {
                    reason: reason.clone(),
                },
            },
        })
        .collect();
    let thread = Thread {
        original,
        author,
        versions,
        withdrawal: withdrawal.map(|(id, _)| id),
    };
    (Some(thread), steps)
}

/// What the archive knows of a bulletin a receipt or reminder names.
#[derive(Clone, Debug)]
pub struct Known {
    pub id: MessageId,
    pub sender: NodeId,
    /// This node sent it (else it received it).
    pub ours: bool,
}

/// A receipt from `from` for a bulletin this node sent, to `recipients`.
pub fn check_receipt(b: &Known, from: &NodeId, addressed: bool) -> Result<(), ProtoError> {
    if !b.ours {
        return Err(ProtoError::new(
            ErrorCode::UnknownReference,
            format!("receipt for bulletin {} sent by {}", b.id, b.sender),
        ));
    }
    if !addressed {
        return Err(ProtoError::new(
            ErrorCode::NotEntitled,
            format!("{from} was not a recipient of {}", b.id),
        ));
    }
    Ok(())
}

/// When a receipt says it happened: the recipient's clock is its own claim,
/// never later than the receipt's envelope, whose time the hub bounded.
pub fn receipt_time(claimed: i64, envelope_created: i64) -> i64 {
    claimed.min(envelope_created)
}

/// A reminder from `from` about a bulletin this node received.
pub fn check_reminder(b: &Known, from: &NodeId) -> Result<(), ProtoError> {
    if b.ours || b.sender != *from {
        return Err(ProtoError::new(
            ErrorCode::NotEntitled,
            format!("{from} did not send bulletin {}", b.id),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
