//! The conference's state: a pure fold over its messages, given the roster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    AgendaItem, ConfEvent, ConfMsg, Meeting, Published, RemindOf, Resolution, Roster, Rsvp, Slot,
};
use crate::error::{ErrorCode, ProtoError};
use crate::ids::{MessageId, NodeId};
use crate::payload::Attachment;
use crate::rotation::{self, PoolChange};

/// A pool member's own signed answer about its turns (a `decline` or a
/// `swap`), which a schedule's changes must name.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PoolAnswer {
    pub from: NodeId,
    pub at: i64,
    pub msg: ConfMsg,
}

/// A proposed agenda item as the host sees it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Proposal {
    pub id: MessageId,
    pub from: NodeId,
    pub at: i64,
    pub item: AgendaItem,
}

/// The minutes as published (the latest version).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MinutesState {
    pub id: MessageId,
    pub at: i64,
    /// 1 for the first version, 2 after a correction…
    pub version: u32,
    pub text: String,
    pub resolutions: Vec<Resolution>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// One session as this node holds it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MeetingState {
    pub meeting: Meeting,
    /// The first convening message: the meeting's stable identity (calendar UID).
    pub uid: MessageId,
    /// 0 when first convened; +1 for every reschedule or cancellation.
    pub sequence: u32,
    pub convened_at: i64,
    pub updated_at: i64,
    pub cancelled: Option<String>,
    pub proposals: Vec<Proposal>,
    /// Published agenda (empty until the host publishes one).
    pub agenda: Vec<Slot>,
    pub rsvps: BTreeMap<NodeId, (Rsvp, i64)>,
    /// Reminders sent: when, of what.
    pub reminders: Vec<(i64, RemindOf)>,
    pub minutes: Option<MinutesState>,
    /// Acknowledgements of the current minutes: who, when.
    pub acks: BTreeMap<NodeId, i64>,
}

impl MeetingState {
    pub fn proposal(&self, id: &MessageId) -> Option<&Proposal> {
        self.proposals.iter().find(|p| &p.id == id)
    }

    /// Participants who have not answered the invitation.
    pub fn unanswered(&self, roster: &Roster) -> Vec<NodeId> {
        roster
            .everyone()
            .into_iter()
            .filter(|n| !self.rsvps.contains_key(n))
            .collect()
    }

    /// Participants who have not acknowledged the current minutes (none before minutes).
    pub fn unacknowledged(&self, roster: &Roster, host: Option<&NodeId>) -> Vec<NodeId> {
        if self.minutes.is_none() {
            return Vec::new();
        }
        roster
            .everyone()
            .into_iter()
            .filter(|n| Some(n) != host && !self.acks.contains_key(n))
            .collect()
    }
}

/// A message in the conference log, with why it was ignored if it was.
pub type Entry = crate::event::Step<ConfMsg, super::Standings>;

/// The joint conference as this node holds it.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Conference {
    pub roster: Roster,
    /// The rotation schedule in force (the chair's latest valid one).
    pub schedule: Option<Published>,
    pub schedule_id: Option<MessageId>,
    pub meetings: BTreeMap<u32, MeetingState>,
    /// Declines and swap agreements the members sent, by message id.
    #[serde(default)]
    pub answers: BTreeMap<MessageId, PoolAnswer>,
}

pub(super) fn err(code: ErrorCode, m: impl Into<String>) -> ProtoError {
    ProtoError::new(code, m)
}

impl Conference {
    pub fn new(roster: Roster) -> Conference {
        Conference {
            roster,
            ..Default::default()
        }
    }

    /// Members' answers the schedule in force does not name yet: what the
    /// chair has still to take into the next schedule.
    pub fn pending_answers(&self) -> Vec<(&MessageId, &PoolAnswer)> {
        let named: Vec<&MessageId> = self
            .schedule
            .iter()
            .flat_map(|p| p.input.changes.iter())
            .flat_map(|c| match c {
                PoolChange::Decline { by, .. } => by.iter().collect::<Vec<_>>(),
                PoolChange::Swap { by, .. } => by.iter().collect(),
                _ => Vec::new(),
            })
            .collect();
        self.answers
            .iter()
            .filter(|(id, _)| !named.contains(id))
            .collect()
    }

    /// The member's `decline` of `session`, if it sent one.
    pub fn decline_of(&self, node: &NodeId, session: u32) -> Option<(&MessageId, &str)> {
        self.answers.iter().rev().find_map(|(id, a)| match &a.msg {
            ConfMsg::Decline { session: s, reason } if &a.from == node && *s == session => {
                Some((id, reason.as_str()))
            }
            _ => None,
        })
    }

    /// `node`'s latest agreement to swap with `with`, if it sent one.
    pub fn swap_of(&self, node: &NodeId, with: &NodeId) -> Option<&MessageId> {
        self.answers.iter().rev().find_map(|(id, a)| match &a.msg {
            ConfMsg::Swap { with: w } if &a.from == node && w == with => Some(id),
            _ => None,
        })
    }

    /// Who holds the executive vice-chair for `session` in the schedule in force.
    /// Whether `me` receives every answer to `session`'s invitation: answers
    /// go to the chair and the session's host only, so any other node knows
    /// its own answer and nobody else's.
    pub fn sees_answers(&self, me: &NodeId, session: u32) -> bool {
        self.roster.chair.as_ref() == Some(me) || self.host(session) == Some(me)
    }

    pub fn host(&self, session: u32) -> Option<&NodeId> {
        self.schedule
            .as_ref()?
            .turns
            .iter()
            .find(|t| t.session == session)?
            .holder
            .as_ref()
    }

    /// The next session from `session` on with a holder: whose turn is next.
    pub fn next_turn(&self, session: u32) -> Option<(u32, &NodeId)> {
        let s = self.schedule.as_ref()?;
        s.turns
            .iter()
            .filter(|t| t.session >= session)
            .find_map(|t| t.holder.as_ref().map(|h| (t.session, h)))
    }

    /// The first session not yet held (no minutes, not cancelled): the
    /// "current" one for the presidium.
    pub fn upcoming_session(&self) -> u32 {
        let held = self
            .meetings
            .values()
            .filter(|m| m.minutes.is_some())
            .map(|m| m.meeting.session)
            .max();
        held.map_or_else(
            || self.schedule.as_ref().map_or(1, |s| s.input.first_session),
            |s| s + 1,
        )
    }

    /// The presidium (主席团) for `session`: the pool minus that session's host.
    pub fn presidium(&self, session: u32) -> Vec<NodeId> {
        let pool = match &self.schedule {
            Some(p) => rotation::members(&p.input, session),
            None => self.roster.pool.clone(),
        };
        let host = self.host(session);
        pool.into_iter().filter(|n| Some(n) != host).collect()
    }

    /// Calendar years with fewer than two meetings convened (and not cancelled),
    /// among the years that have any.
    /// Only years from `from_year` on: a past year cannot be mended, so it
    /// is not warned about again and again.
    pub fn thin_years(&self, from_year: i16) -> Vec<(i16, usize)> {
        let mut per: BTreeMap<i16, usize> = BTreeMap::new();
        for m in self.meetings.values() {
            if let Some(y) = m.meeting.year().filter(|y| *y >= from_year) {
                *per.entry(y).or_default() += usize::from(m.cancelled.is_none());
            }
        }
        per.into_iter().filter(|(_, n)| *n < 2).collect()
    }

    /// Apply a message that passed [`Conference::check`].
    fn apply(&mut self, e: &ConfEvent) {
        let at = e.created_at;
        if matches!(e.msg, ConfMsg::Decline { .. } | ConfMsg::Swap { .. }) {
            self.answers.insert(
                e.id,
                PoolAnswer {
                    from: e.sender.clone(),
                    at,
                    msg: e.msg.clone(),
                },
            );
            return;
        }
        if let ConfMsg::Schedule(p) = &e.msg {
            self.schedule = Some((**p).clone());
            self.schedule_id = Some(e.id);
            return;
        }
        if let ConfMsg::Convene(m) = &e.msg {
            match self.meetings.get_mut(&m.session) {
                Some(old) => {
                    old.meeting = (**m).clone();
                    old.sequence += 1;
                    old.cancelled = None;
                    old.updated_at = at;
                }
                None => {
                    self.meetings.insert(
                        m.session,
                        MeetingState {
                            meeting: (**m).clone(),
                            uid: e.id,
                            sequence: 0,
                            convened_at: at,
                            updated_at: at,
                            cancelled: None,
                            proposals: Vec::new(),
                            agenda: Vec::new(),
                            rsvps: BTreeMap::new(),
                            reminders: Vec::new(),
                            minutes: None,
                            acks: BTreeMap::new(),
                        },
                    );
                }
            }
            return;
        }
        let Some(session) = e.msg.session() else {
            return;
        };
        let Some(m) = self.meetings.get_mut(&session) else {
            return;
        };
        m.updated_at = m.updated_at.max(at);
        match &e.msg {
            ConfMsg::Cancel { reason, .. } => {
                m.cancelled = Some(reason.clone());
                m.sequence += 1;
            }
            ConfMsg::Propose { item, .. } => m.proposals.push(Proposal {
                id: e.id,
                from: e.sender.clone(),
                at,
                item: item.clone(),
            }),
            ConfMsg::Agenda { slots, .. } => m.agenda = slots.clone(),
            ConfMsg::Rsvp { answer, .. } => {
                m.rsvps.insert(e.sender.clone(), (answer.clone(), at));
            }
            ConfMsg::Remind { of, .. } => m.reminders.push((at, *of)),
            ConfMsg::Minutes {
                text,
                resolutions,
                attachments,
                ..
            } => {
                let version = m.minutes.as_ref().map_or(1, |x| x.version + 1);
                m.minutes = Some(MinutesState {
                    id: e.id,
                    at,
                    version,
                    text: text.clone(),
                    resolutions: resolutions.clone(),
                    attachments: attachments.clone(),
                });
                m.acks.clear();
            }
            ConfMsg::Ack { .. } => {
                m.acks.insert(e.sender.clone(), at);
            }
            ConfMsg::Schedule(_)
            | ConfMsg::Convene(_)
            | ConfMsg::Decline { .. }
            | ConfMsg::Swap { .. } => {}
        }
    }
}

/// The conference after `events`, and its log with ignored messages marked.
/// The same events in any order give the same result.
pub fn fold(roster: Roster, events: &[ConfEvent]) -> (Conference, Vec<Entry>) {
    let mut sorted: Vec<&ConfEvent> = events.iter().collect();
    sorted.sort_by_key(|e| (e.created_at, e.id));
    sorted.dedup_by(|a, b| a.id == b.id);
    let mut state = Conference::new(roster);
    let mut log = Vec::with_capacity(sorted.len());
    for e in sorted {
        let ignored = state
            .check(&e.sender, e.created_at, &e.msg, &e.context)
            .err();
        if ignored.is_none() {
            state.apply(e);
        }
        log.push(Entry {
            event: e.clone(),
            ignored,
        });
    }
    (state, log)
}
