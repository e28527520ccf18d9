//! The conference's state: a pure fold over its messages, given the roster.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    AgendaItem, ConfEvent, ConfMsg, Meeting, Outcome, Published, RemindOf, Resolution, Roster,
    Rsvp, Slot,
};
use crate::error::{ErrorCode, ProtoError};
use crate::ids::{MessageId, NodeId};
use crate::payload::Attachment;
use crate::rotation::{self, Schedule};

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

    fn require_chair(&self, sender: &NodeId) -> Result<(), ProtoError> {
        if self.roster.chair.as_ref() == Some(sender) {
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

    /// May `sender` send `msg` at `at`? The same check on every node.
    pub fn check(&self, sender: &NodeId, at: i64, msg: &ConfMsg) -> Result<(), ProtoError> {
        msg.validate()?;
        if !self.roster.takes_part(sender) {
            return Err(err(
                ErrorCode::NotMember,
                format!("{sender} is not a member of the joint conference"),
            ));
        }
        match msg {
            ConfMsg::Schedule(p) => {
                self.require_chair(sender)?;
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
                if let Some(m) = p.input.pool.iter().find(|n| !self.roster.pool.contains(n)) {
                    return Err(err(
                        ErrorCode::BadSchedule,
                        format!("{m} is not a provincial association in the directory"),
                    ));
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
                self.require_chair(sender)?;
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
                self.require_chair(sender)?;
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
                        && let Some(n) = v.keys().find(|n| !self.roster.takes_part(n))
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
        }
    }

    /// Apply a message that passed [`Conference::check`].
    fn apply(&mut self, e: &ConfEvent) {
        let at = e.created_at;
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
            ConfMsg::Schedule(_) | ConfMsg::Convene(_) => {}
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
        let ignored = state.check(&e.sender, e.created_at, &e.msg).err();
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
