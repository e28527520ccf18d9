//! Joint-conference operations on a node: rotation schedules, convening,
//! agenda items, RSVPs, reminders, minutes and acknowledgements.
//!
//! Every operation is checked against the conference as this node holds it
//! (the check every receiver applies, [`Conference::check`]) and queued as one
//! signed, encrypted message, durably, before it is sent.

use lianxi_shared::conference::{
    AgendaItem, ConfMsg, Conference, Entry, Meeting, Published, RemindOf, Resolution, Rsvp, Slot,
};
use lianxi_shared::payload::Attachment;
use lianxi_shared::rotation::{self, RotationInput, Schedule};
use lianxi_shared::{ErrorCode, MessageId, NodeId, ProtoError};

use crate::node::Node;
use crate::{Result, now_ms};

/// What queueing a conference message did.
#[derive(Clone, Debug)]
pub struct ConfQueued {
    pub id: MessageId,
    pub kind: &'static str,
    pub session: Option<u32>,
    pub recipients: Vec<NodeId>,
}

/// Minutes as the host writes them.
#[derive(Clone, Debug, Default)]
pub struct MinutesDraft {
    pub text: String,
    pub resolutions: Vec<Resolution>,
    pub attachments: Vec<Attachment>,
}

impl Node {
    /// The conference and its log, as this node holds them.
    pub async fn conference(&self) -> Result<(Conference, Vec<Entry>)> {
        self.archive.call(|a| a.conference()).await
    }

    async fn queue_conf(
        &self,
        msg: ConfMsg,
        to: impl FnOnce(&Conference) -> Vec<NodeId>,
    ) -> Result<ConfQueued> {
        let (conf, _) = self.conference().await?;
        let recipients = to(&conf);
        let now = now_ms();
        let id = MessageId::generate(now);
        let me = self.me.node_id.clone();
        let (kind, session) = (msg.kind(), msg.session());
        let recipients = self
            .archive
            .call(move |a| a.queue_conf(id, now, &me, msg, recipients))
            .await?;
        Ok(ConfQueued {
            id,
            kind,
            session,
            recipients,
        })
    }

    /// The rotation inputs to start from: the schedule in force, or the pool
    /// from the directory in id order starting at session 1.
    pub async fn rotation_base(&self) -> Result<RotationInput> {
        let (conf, _) = self.conference().await?;
        Ok(match conf.schedule {
            Some(p) => p.input,
            None => RotationInput {
                pool: conf.roster.pool.clone(),
                first_session: 1,
                sessions: conf.roster.pool.len().max(1) as u32,
                served: Vec::new(),
                changes: Vec::new(),
            },
        })
    }

    /// Generate (without publishing) the schedule for `input`.
    pub fn rotation_preview(input: &RotationInput) -> Result<Schedule> {
        let s = rotation::generate(input)?;
        rotation::check(input, &s)?;
        Ok(s)
    }

    /// Publish the schedule for `input` to the whole conference (chair only).
    pub async fn rotation_publish(&self, input: RotationInput) -> Result<ConfQueued> {
        let turns = Self::rotation_preview(&input)?.turns;
        let msg = ConfMsg::Schedule(Box::new(Published { input, turns }));
        self.queue_conf(msg, |c| c.roster.everyone()).await
    }

    /// Decline this node's turn at `session`, in its own words (pool members);
    /// the chair's next schedule names this message.
    pub async fn decline_turn(&self, session: u32, reason: String) -> Result<ConfQueued> {
        self.queue_conf(ConfMsg::Decline { session, reason }, |c| {
            c.roster.everyone()
        })
        .await
    }

    /// Agree to exchange this node's next turn with `with` (pool members); the
    /// swap takes effect when both agreed and the chair publishes it.
    pub async fn agree_swap(&self, with: NodeId) -> Result<ConfQueued> {
        self.queue_conf(ConfMsg::Swap { with }, |c| c.roster.everyone())
            .await
    }

    /// Would the conference accept `msg` from this node now? The receivers'
    /// check, for a clear refusal before any other work.
    pub async fn may_send(&self, msg: ConfMsg) -> Result<()> {
        let me = self.me.node_id.clone();
        self.archive
            .call(move |a| {
                let (conf, _) = a.conference()?;
                let standings = lianxi_shared::conference::standings(&a.directory()?, &me, &msg);
                conf.check(&me, now_ms(), &msg, &standings)
            })
            .await
    }

    /// Convene (or reschedule) a session (chair only).
    pub async fn convene(&self, meeting: Meeting) -> Result<ConfQueued> {
        meeting.validate()?;
        self.queue_conf(ConfMsg::Convene(Box::new(meeting)), |c| c.roster.everyone())
            .await
    }

    pub async fn cancel_meeting(&self, session: u32, reason: String) -> Result<ConfQueued> {
        self.queue_conf(ConfMsg::Cancel { session, reason }, |c| c.roster.everyone())
            .await
    }

    /// Propose an agenda item; every participant sees what was proposed.
    pub async fn propose(&self, session: u32, item: AgendaItem) -> Result<ConfQueued> {
        self.queue_conf(ConfMsg::Propose { session, item }, |c| c.roster.everyone())
            .await
    }

    /// Publish the agenda (host only): proposals in order with their minutes.
    pub async fn publish_agenda(&self, session: u32, slots: Vec<Slot>) -> Result<ConfQueued> {
        self.queue_conf(ConfMsg::Agenda { session, slots }, |c| c.roster.everyone())
            .await
    }

    /// Answer the invitation; the chair and the host receive it.
    pub async fn rsvp(&self, session: u32, answer: Rsvp) -> Result<ConfQueued> {
        self.queue_conf(ConfMsg::Rsvp { session, answer }, |c| {
            chair_and_host(c, session)
        })
        .await
    }

    /// Remind those who have not answered (or not acknowledged the minutes).
    pub async fn remind_meeting(
        &self,
        session: u32,
        of: RemindOf,
        note: String,
    ) -> Result<ConfQueued> {
        let q = self
            .queue_conf(ConfMsg::Remind { session, of, note }, |c| {
                let host = c.host(session).cloned();
                c.meetings
                    .get(&session)
                    .map(|m| match of {
                        RemindOf::Rsvp => m.unanswered(&c.roster),
                        RemindOf::Minutes => m.unacknowledged(&c.roster, host.as_ref()),
                    })
                    .unwrap_or_default()
            })
            .await?;
        if q.recipients.is_empty() {
            return Err(ProtoError::new(
                ErrorCode::BadRequest,
                "everyone has answered: nobody to remind",
            ));
        }
        Ok(q)
    }

    /// Publish the minutes and resolutions (host only).
    pub async fn publish_minutes(&self, session: u32, d: MinutesDraft) -> Result<ConfQueued> {
        let msg = ConfMsg::Minutes {
            session,
            text: d.text,
            resolutions: d.resolutions,
            attachments: d.attachments,
        };
        self.queue_conf(msg, |c| c.roster.everyone()).await
    }

    /// Acknowledge the current minutes; the chair and the host receive it.
    pub async fn ack_minutes(&self, session: u32) -> Result<ConfQueued> {
        let (conf, _) = self.conference().await?;
        let minutes = conf
            .meetings
            .get(&session)
            .and_then(|m| m.minutes.as_ref())
            .map(|m| m.id)
            .ok_or_else(|| {
                ProtoError::new(
                    ErrorCode::NotFound,
                    format!("no minutes for session {session} here yet"),
                )
            })?;
        self.queue_conf(ConfMsg::Ack { session, minutes }, |c| {
            chair_and_host(c, session)
        })
        .await
    }
}

fn chair_and_host(c: &Conference, session: u32) -> Vec<NodeId> {
    c.roster
        .chair
        .iter()
        .chain(c.host(session))
        .cloned()
        .collect()
}
