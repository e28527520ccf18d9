//! Who may send what: the check every node applies to each conference
//! message, against the state the fold has reached and the standings recorded
//! when the message was accepted.

use super::fold::err;
use super::{
    ConfMsg, Conference, MeetingState, Outcome, Published, RemindOf, Resolution, Slot, Standing,
    Standings,
};
use crate::error::{ErrorCode, ProtoError};
use crate::ids::NodeId;
use crate::rotation::{self, PoolChange, Schedule};

impl Conference {
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

    fn require_not_held(m: &MeetingState) -> Result<(), ProtoError> {
        if m.minutes.is_some() {
            return Err(err(ErrorCode::AgendaClosed, "the session was already held"));
        }
        Ok(())
    }

    /// A rotation schedule: the chair's, the turns the rules give for its
    /// inputs, every change standing on the members' own answers, and no
    /// session already held given another host.
    fn check_schedule(
        &self,
        sender: &NodeId,
        p: &Published,
        standings: &Standings,
    ) -> Result<(), ProtoError> {
        let in_pool = |n: &NodeId| standings.get(n).is_some_and(Standing::in_pool);
        Self::require_chair(sender, standings)?;
        let schedule =
            rotation::generate(&p.input).map_err(|e| err(ErrorCode::BadSchedule, e.message))?;
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

    /// An agenda: the host's, for an open session, of proposals made for it,
    /// fitting in the meeting's time.
    fn check_agenda(
        &self,
        sender: &NodeId,
        session: u32,
        slots: &[Slot],
    ) -> Result<(), ProtoError> {
        self.require_host(sender, session)?;
        let m = self.meeting(session)?;
        Self::require_open(m)?;
        Self::require_not_held(m)?;
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

    /// Minutes: the host's, once the session started, with votes only from members.
    fn check_minutes(
        &self,
        sender: &NodeId,
        at: i64,
        session: u32,
        resolutions: &[Resolution],
        standings: &Standings,
    ) -> Result<(), ProtoError> {
        self.require_host(sender, session)?;
        let m = self.meeting(session)?;
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
            ConfMsg::Schedule(p) => self.check_schedule(sender, p, standings),
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
                Self::require_not_held(m)?;
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
            ConfMsg::Agenda { session, slots } => self.check_agenda(sender, *session, slots),
            ConfMsg::Rsvp { session, .. } => {
                let m = self.meeting(*session)?;
                Self::require_open(m)?;
                Self::require_not_held(m)?;
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
            } => self.check_minutes(sender, at, *session, resolutions, standings),
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
}
