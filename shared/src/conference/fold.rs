//! The conference's state: a pure fold over its messages, given the roster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    AgendaItem, ConfEvent, ConfMsg, Meeting, Outcome, Published, RemindOf, Resolution, Roster,
    Rsvp, Slot, Standing, Standings,
};
use crate::error::{ErrorCode, ProtoError};
use crate::ids::{MessageId, NodeId};
use crate::payload::Attachment;
use crate::rotation::{self, PoolChange, Schedule};

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
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Entry {
    pub event: ConfEvent,
    pub ignored: Option<ProtoError>,
}

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

fn err(code: ErrorCode, m: impl Into<String>) -> ProtoError {
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
    pub fn thin_years(&self) -> Vec<(i16, usize)> {
        let mut per: BTreeMap<i16, usize> = BTreeMap::new();
        for m in self.meetings.values() {
            if let Some(y) = m.meeting.year() {
                *per.entry(y).or_default() += usize::from(m.cancelled.is_none());
            }
        }
        per.into_iter().filter(|(_, n)| *n < 2).collect()
    }

    fn meeting(&self, session: u32) -> Result<&MeetingState, ProtoError> {
        self.meetings.get(&session).ok_or_else(|| {
            err(
                ErrorCode::UnknownReference,
                format!("session {session} has not been convened"),
            )
        })
    }

    fn require_chair(sender: &NodeId, standings: &Standings) -> Result<(), ProtoError> {
        if standings.get(sender).is_some_and(Standing::is_chair) {
            Ok(())
        } else {
            Err(err(
                ErrorCode::NotChair,
                format!("{sender} is not the chair of the joint conference"),
            ))
        }
    }

    fn require_host(&self, sender: &NodeId, session: u32) -> Result<(), ProtoError> {
        match self.host(session) {
            Some(h) if h == sender => Ok(()),
            Some(h) => Err(err(
                ErrorCode::NotHost,
                format!("{h} hosts session {session}, not {sender}"),
            )),
            None => Err(err(
                ErrorCode::NotHost,
                format!("session {session} has no host in the rotation schedule"),
            )),
        }
    }

    fn require_open(m: &MeetingState) -> Result<(), ProtoError> {
        if let Some(r) = &m.cancelled {
            return Err(err(
                ErrorCode::AgendaClosed,
                format!("session {} was cancelled: {r}", m.meeting.session),
            ));
        }
        Ok(())
    }

    /// Does every change in a schedule stand on the members' own answers?
    fn check_change(&self, c: &PoolChange) -> Result<(), ProtoError> {
        match c {
            PoolChange::Decline {
                node,
                session,
                reason,
                by,
            } => {
                let signed = by.as_ref().and_then(|id| self.answers.get(id)).is_some_and(|a| {
                    &a.from == node
                        && matches!(&a.msg, ConfMsg::Decline { session: s, reason: r } if s == session && r == reason)
                });
                if !signed {
                    return Err(err(
                        ErrorCode::BadSchedule,
                        format!(
                            "{node} declining session {session} is not {node}'s own signed answer (it sends `conference decline`; the schedule names that message)"
                        ),
                    ));
                }
            }
            PoolChange::Swap {
                a,
                b,
                confirmed_a,
                confirmed_b,
                by,
            } => {
                for (x, y, confirmed) in [(a, b, confirmed_a), (b, a, confirmed_b)] {
                    let signed = by.iter().any(|id| {
                        self.answers.get(id).is_some_and(|ans| {
                            &ans.from == x
                                && matches!(&ans.msg, ConfMsg::Swap { with } if with == y)
                        })
                    });
                    if *confirmed && !signed {
                        return Err(err(
                            ErrorCode::BadSchedule,
                            format!(
                                "{x}'s agreement to swap with {y} is not {x}'s own signed answer (it sends `conference swap`; the schedule names that message)"
                            ),
                        ));
                    }
                }
            }
            PoolChange::Join { .. } | PoolChange::Leave { .. } => {}
        }
        Ok(())
    }

    /// May `sender` send `msg` at `at`? The same check on every node, against
    /// the standings recorded when the message was accepted.
    pub fn check(
        &self,
        sender: &NodeId,
        at: i64,
        msg: &ConfMsg,
        standings: &Standings,
    ) -> Result<(), ProtoError> {
        msg.validate()?;
        let in_pool = |n: &NodeId| standings.get(n).is_some_and(Standing::in_pool);
        if !standings.get(sender).is_some_and(Standing::takes_part) {
            return Err(err(
                ErrorCode::NotMember,
                format!("{sender} is not a member of the joint conference"),
            ));
        }
        match msg {
            ConfMsg::Schedule(p) => {
                Self::require_chair(sender, standings)?;
                let schedule = rotation::generate(&p.input)
                    .map_err(|e| err(ErrorCode::BadSchedule, e.message))?;
                if schedule.turns != p.turns {
                    return Err(err(
                        ErrorCode::BadSchedule,
                        "the turns are not the ones the rules give for these inputs",
                    ));
                }
                rotation::check(
                    &p.input,
                    &Schedule {
                        turns: p.turns.clone(),
                        notes: Vec::new(),
                    },
                )
                .map_err(|e| err(ErrorCode::BadSchedule, e.message))?;
                if let Some(m) = p.input.pool.iter().find(|n| !in_pool(n)) {
                    return Err(err(
                        ErrorCode::BadSchedule,
                        format!("{m} is not a provincial association in the directory"),
                    ));
                }
                for c in &p.input.changes {
                    self.check_change(c)?;
                }
                // Sessions already held keep the host that held them.
                for (s, m) in &self.meetings {
                    if m.minutes.is_some() {
                        let was = self.host(*s);
                        let now = p
                            .turns
                            .iter()
                            .find(|t| t.session == *s)
                            .and_then(|t| t.holder.as_ref());
                        if now.is_some() && was != now {
                            return Err(err(
                                ErrorCode::BadSchedule,
                                format!("session {s} was already held; its host cannot change"),
                            ));
                        }
                    }
                }
                Ok(())
            }
            ConfMsg::Convene(m) => {
                Self::require_chair(sender, standings)?;
                if self.host(m.session).is_none() {
                    return Err(err(
                        ErrorCode::BadSchedule,
                        format!(
                            "session {} has no executive vice-chair in the rotation schedule; publish one that covers it first",
                            m.session
                        ),
                    ));
                }
                if let Some(old) = self.meetings.get(&m.session)
                    && old.minutes.is_some()
                {
                    return Err(err(
                        ErrorCode::AgendaClosed,
                        format!("session {} was already held", m.session),
                    ));
                }
                Ok(())
            }
            ConfMsg::Cancel { session, .. } => {
                Self::require_chair(sender, standings)?;
                let m = self.meeting(*session)?;
                Self::require_open(m)?;
                if m.minutes.is_some() {
                    return Err(err(ErrorCode::AgendaClosed, "the session was already held"));
                }
                Ok(())
            }
            ConfMsg::Propose { session, .. } => {
                let m = self.meeting(*session)?;
                Self::require_open(m)?;
                if at > m.meeting.deadline_ms()? || m.minutes.is_some() {
                    return Err(err(
                        ErrorCode::AgendaClosed,
                        format!(
                            "the call for agenda items of session {session} closed at {} ({})",
                            m.meeting.agenda_deadline, m.meeting.tz
                        ),
                    ));
                }
                Ok(())
            }
            ConfMsg::Agenda { session, slots } => {
                self.require_host(sender, *session)?;
                let m = self.meeting(*session)?;
                Self::require_open(m)?;
                if m.minutes.is_some() {
                    return Err(err(ErrorCode::AgendaClosed, "the session was already held"));
                }
                if let Some(s) = slots.iter().find(|s| m.proposal(&s.item).is_none()) {
                    return Err(err(
                        ErrorCode::UnknownReference,
                        format!(
                            "agenda item {} was never proposed for session {session}",
                            s.item
                        ),
                    ));
                }
                let total: u32 = slots.iter().map(|s| s.minutes).sum();
                if total > m.meeting.minutes {
                    return Err(err(
                        ErrorCode::BadRequest,
                        format!(
                            "the agenda needs {total} minutes; the meeting lasts {}",
                            m.meeting.minutes
                        ),
                    ));
                }
                Ok(())
            }
            ConfMsg::Rsvp { session, .. } => {
                let m = self.meeting(*session)?;
                Self::require_open(m)?;
                if m.minutes.is_some() {
                    return Err(err(ErrorCode::AgendaClosed, "the session was already held"));
                }
                Ok(())
            }
            ConfMsg::Remind { session, of, .. } => {
                self.require_host(sender, *session)?;
                let m = self.meeting(*session)?;
                if *of == RemindOf::Minutes && m.minutes.is_none() {
                    return Err(err(
                        ErrorCode::BadRequest,
                        "there are no minutes to acknowledge yet",
                    ));
                }
                Ok(())
            }
            ConfMsg::Minutes {
                session,
                resolutions,
                ..
            } => {
                self.require_host(sender, *session)?;
                let m = self.meeting(*session)?;
                Self::require_open(m)?;
                if at < m.meeting.start_ms()? {
                    return Err(err(
                        ErrorCode::BadRequest,
                        format!("session {session} has not started yet"),
                    ));
                }
                for r in resolutions {
                    if let Outcome::Votes(v) = &r.outcome
                        && let Some(n) = v
                            .keys()
                            .find(|n| !standings.get(*n).is_some_and(Standing::takes_part))
                    {
                        return Err(err(
                            ErrorCode::NotMember,
                            format!(
                                "{n} voted on {:?} but is not a member of the joint conference",
                                r.title
                            ),
                        ));
                    }
                }
                Ok(())
            }
            ConfMsg::Ack { session, minutes } => {
                let m = self.meeting(*session)?;
                match &m.minutes {
                    Some(cur) if &cur.id == minutes => Ok(()),
                    Some(_) => Err(err(
                        ErrorCode::UnknownReference,
                        "these minutes were replaced by a newer version",
                    )),
                    None => Err(err(
                        ErrorCode::UnknownReference,
                        "no minutes for this session",
                    )),
                }
            }
            ConfMsg::Decline { session, .. } => {
                if !in_pool(sender) {
                    return Err(err(
                        ErrorCode::NotMember,
                        format!("{sender} is not in the rotation pool"),
                    ));
                }
                if self
                    .meetings
                    .get(session)
                    .is_some_and(|m| m.minutes.is_some())
                {
                    return Err(err(
                        ErrorCode::AgendaClosed,
                        format!("session {session} was already held"),
                    ));
                }
                Ok(())
            }
            ConfMsg::Swap { with } => {
                if !in_pool(sender) || !in_pool(with) || with == sender {
                    return Err(err(
                        ErrorCode::NotMember,
                        format!(
                            "a swap is between two members of the rotation pool, not {sender} and {with}"
                        ),
                    ));
                }
                Ok(())
            }
        }
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
            .check(&e.sender, e.created_at, &e.msg, &e.standings)
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
