//! The joint conference (联席会议): roster, rotation schedules, meetings,
//! agendas, RSVPs, minutes and resolutions, as signed messages.
//!
//! Like a case ([`crate::case`]), the conference is the set of its messages and
//! its state is a pure fold over them ([`fold::fold`]): messages are applied in
//! (creation time, id) order, each checked against the state it meets, and one
//! that is not allowed (a non-chair convening, a non-host publishing minutes, a
//! schedule that breaks the fairness rule) stays in the log as ignored and
//! changes nothing. The sending client runs the very same check first and
//! refuses with the same code.
//!
//! Authority is judged against the certificates as they were when this node
//! accepted each message ([`Standing`], recorded with the message), never
//! against today's directory: enrolling a second chair or dropping a node's
//! certificate later does not rewrite what the conference decided. The
//! [`Roster`] from today's directory only says who is expected to answer.
//! Declines and swaps in the rotation are the members' own signed messages
//! ([`ConfMsg::Decline`], [`ConfMsg::Swap`]), which the chair's schedule names.

mod check;
mod fold;
mod meeting;

pub use fold::{Conference, Entry, MeetingState, MinutesState, PoolAnswer, Proposal, fold};
pub use meeting::{DEFAULT_TZ, Meeting, clock_after, local_to_ms};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::directory::NodeInfo;
use crate::error::{ErrorCode, ProtoError};
use crate::ids::{MessageId, NodeId, Role, Tier};
use crate::payload::Attachment;
use crate::rotation::{RotationInput, Turn};

/// Who takes part in the joint conference, from the verified directory.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Roster {
    /// The national-tier node with the `chair` role (the first by id if several).
    pub chair: Option<NodeId>,
    /// Provincial associations: the rotation pool, by id (the chair's schedule
    /// sets the agreed order).
    pub pool: Vec<NodeId>,
    /// Prefecture associations (成员).
    pub members: Vec<NodeId>,
}

impl Roster {
    pub fn from_directory(dir: &[NodeInfo]) -> Roster {
        let mut nodes: Vec<&NodeInfo> = dir.iter().collect();
        nodes.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        let of = |tier: Tier| -> Vec<NodeId> {
            nodes
                .iter()
                .filter(|n| n.tier == tier)
                .map(|n| n.node_id.clone())
                .collect()
        };
        Roster {
            chair: nodes
                .iter()
                .find(|n| n.tier == Tier::National && n.roles.contains(&Role::Chair))
                .map(|n| n.node_id.clone()),
            pool: of(Tier::Provincial),
            members: of(Tier::Prefecture),
        }
    }

    /// Everyone who takes part: the chair, the pool, the members.
    pub fn everyone(&self) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = self.chair.iter().cloned().collect();
        out.extend(self.pool.iter().cloned());
        out.extend(self.members.iter().cloned());
        out
    }

    pub fn takes_part(&self, node: &NodeId) -> bool {
        self.chair.as_ref() == Some(node) || self.pool.contains(node) || self.members.contains(node)
    }
}

/// What a node's certificate said of it (tier, roles) when this node accepted
/// a message that the node sent or that names it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Standing {
    pub tier: Tier,
    #[serde(default)]
    pub roles: Vec<Role>,
}

impl Standing {
    pub fn of(info: &NodeInfo) -> Standing {
        Standing {
            tier: info.tier,
            roles: info.roles.clone(),
        }
    }

    /// A national node with the chair role.
    pub fn is_chair(&self) -> bool {
        self.tier == Tier::National && self.roles.contains(&Role::Chair)
    }

    /// A provincial association: in the rotation pool.
    pub fn in_pool(&self) -> bool {
        self.tier == Tier::Provincial
    }

    /// The chair, a provincial or a prefecture association.
    pub fn takes_part(&self) -> bool {
        self.is_chair() || self.tier != Tier::National
    }
}

/// The standing of a message's sender and of every node it names, as this node
/// verified their certificates when it accepted the message.
pub type Standings = BTreeMap<NodeId, Standing>;

/// The standings for `msg` from `sender`, from a verified directory: what a
/// node records when it accepts (or sends) the message.
pub fn standings(dir: &[NodeInfo], sender: &NodeId, msg: &ConfMsg) -> Standings {
    let mut wanted = msg.named();
    wanted.push(sender.clone());
    dir.iter()
        .filter(|n| wanted.contains(&n.node_id))
        .map(|n| (n.node_id.clone(), Standing::of(n)))
        .collect()
}

/// A schedule as the chair publishes it: the inputs and the turns generated
/// from them. Receivers generate again and check.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Published {
    pub input: RotationInput,
    pub turns: Vec<Turn>,
}

/// A proposed agenda item (议题).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AgendaItem {
    pub title: String,
    #[serde(default)]
    pub summary: String,
    /// Time it needs, minutes.
    pub minutes: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// One slot of the agenda: an accepted proposal and the time given to it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Slot {
    /// The proposal's message id.
    pub item: MessageId,
    pub minutes: u32,
}

/// An answer to the invitation.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rsvp {
    Attend,
    /// Someone else attends for the organisation.
    Delegate {
        name: String,
    },
    Absent {
        reason: String,
    },
}

impl Rsvp {
    pub fn as_str(&self) -> &'static str {
        match self {
            Rsvp::Attend => "attend",
            Rsvp::Delegate { .. } => "delegate",
            Rsvp::Absent { .. } => "absent",
        }
    }
}

/// A vote on a resolution.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Vote {
    For,
    Against,
    Abstain,
}

impl Vote {
    pub fn as_str(self) -> &'static str {
        match self {
            Vote::For => "for",
            Vote::Against => "against",
            Vote::Abstain => "abstain",
        }
    }
}

impl std::str::FromStr for Vote {
    type Err = ProtoError;
    fn from_str(s: &str) -> Result<Self, ProtoError> {
        match s {
            "for" | "赞成" => Ok(Vote::For),
            "against" | "反对" => Ok(Vote::Against),
            "abstain" | "弃权" => Ok(Vote::Abstain),
            _ => Err(ProtoError::new(
                ErrorCode::BadRequest,
                format!("unknown vote {s:?}: for (赞成), against (反对) or abstain (弃权)"),
            )),
        }
    }
}

/// How a resolution was reached.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 协商一致
    Consensus,
    /// Each organisation's vote.
    Votes(BTreeMap<NodeId, Vote>),
}

/// A resolution (决议) in the minutes.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Resolution {
    pub title: String,
    #[serde(default)]
    pub text: String,
    pub outcome: Outcome,
}

impl Resolution {
    /// (for, against, abstaining)
    pub fn tally(&self) -> (usize, usize, usize) {
        match &self.outcome {
            Outcome::Consensus => (0, 0, 0),
            Outcome::Votes(v) => (
                v.values().filter(|x| **x == Vote::For).count(),
                v.values().filter(|x| **x == Vote::Against).count(),
                v.values().filter(|x| **x == Vote::Abstain).count(),
            ),
        }
    }

    /// Adopted: by consensus, or more for than against.
    pub fn adopted(&self) -> bool {
        let (f, a, _) = self.tally();
        matches!(self.outcome, Outcome::Consensus) || f > a
    }
}

/// What a reminder asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemindOf {
    Rsvp,
    Minutes,
}

/// Every conference message.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfMsg {
    /// The chair publishes (or replaces) the rotation schedule.
    Schedule(Box<Published>),
    /// The chair convenes a session, or reschedules it (a later one replaces it).
    Convene(Box<Meeting>),
    /// The chair cancels a session.
    Cancel { session: u32, reason: String },
    /// A participant proposes an agenda item.
    Propose { session: u32, item: AgendaItem },
    /// The host publishes the agenda: accepted items, in order, with their times.
    Agenda { session: u32, slots: Vec<Slot> },
    /// A participant answers the invitation (a later answer replaces it).
    Rsvp { session: u32, answer: Rsvp },
    /// The host reminds those who have not answered or acknowledged.
    Remind {
        session: u32,
        of: RemindOf,
        #[serde(default)]
        note: String,
    },
    /// The host publishes the minutes (纪要) and resolutions (a later one replaces them).
    Minutes {
        session: u32,
        text: String,
        #[serde(default)]
        resolutions: Vec<Resolution>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<Attachment>,
    },
    /// A participant acknowledges the minutes it read.
    Ack { session: u32, minutes: MessageId },
    /// A pool member declines its turn at `session`, in its own words; the
    /// chair's next schedule names this message.
    Decline { session: u32, reason: String },
    /// A pool member agrees to exchange its next turn with `with`; a swap takes
    /// effect once both have sent one and the chair's schedule names them.
    Swap { with: NodeId },
}

/// Longest free text in a conference message, bytes.
pub const MAX_TEXT: usize = 256 * 1024;

impl ConfMsg {
    pub fn kind(&self) -> &'static str {
        match self {
            ConfMsg::Schedule(_) => "schedule",
            ConfMsg::Convene(_) => "convene",
            ConfMsg::Cancel { .. } => "cancel",
            ConfMsg::Propose { .. } => "propose",
            ConfMsg::Agenda { .. } => "agenda",
            ConfMsg::Rsvp { .. } => "rsvp",
            ConfMsg::Remind { .. } => "remind",
            ConfMsg::Minutes { .. } => "minutes",
            ConfMsg::Ack { .. } => "ack",
            ConfMsg::Decline { .. } => "decline",
            ConfMsg::Swap { .. } => "swap",
        }
    }

    /// The nodes the message names whose standing its check needs (besides
    /// its sender): a schedule's pool and changes, voters, a swap partner.
    pub fn named(&self) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = match self {
            ConfMsg::Schedule(p) => {
                let mut v = p.input.pool.clone();
                v.extend(p.input.served.iter().cloned());
                v.extend(p.input.changes.iter().flat_map(|c| c.nodes()));
                v
            }
            ConfMsg::Minutes { resolutions, .. } => resolutions
                .iter()
                .flat_map(|r| match &r.outcome {
                    Outcome::Votes(v) => v.keys().cloned().collect(),
                    Outcome::Consensus => Vec::new(),
                })
                .collect(),
            ConfMsg::Swap { with } => vec![with.clone()],
            _ => Vec::new(),
        };
        out.sort();
        out.dedup();
        out
    }

    /// The session it concerns (none for a schedule or a swap).
    pub fn session(&self) -> Option<u32> {
        match self {
            ConfMsg::Schedule(_) | ConfMsg::Swap { .. } => None,
            ConfMsg::Convene(m) => Some(m.session),
            ConfMsg::Cancel { session, .. }
            | ConfMsg::Propose { session, .. }
            | ConfMsg::Agenda { session, .. }
            | ConfMsg::Rsvp { session, .. }
            | ConfMsg::Remind { session, .. }
            | ConfMsg::Minutes { session, .. }
            | ConfMsg::Ack { session, .. }
            | ConfMsg::Decline { session, .. } => Some(*session),
        }
    }

    /// Shape checks that need no state.
    pub fn validate(&self) -> Result<(), ProtoError> {
        let bad = |m: &str| Err(ProtoError::new(ErrorCode::BadPayload, m.to_owned()));
        use crate::payload::check_attachments;
        use crate::text::{check_line, check_text};
        match self {
            ConfMsg::Schedule(p) if p.turns.is_empty() => return bad("a schedule with no turns"),
            ConfMsg::Convene(m) => m.validate()?,
            ConfMsg::Cancel { reason, .. } if reason.trim().is_empty() => {
                return bad("a cancellation needs a reason");
            }
            ConfMsg::Propose { item, .. } => {
                if item.title.trim().is_empty() {
                    return bad("an agenda item needs a title (at most 1 KiB)");
                }
                check_line(
                    "an agenda item's title",
                    &item.title,
                    crate::Payload::MAX_TITLE,
                )?;
                if item.minutes == 0 || item.minutes > 24 * 60 || item.summary.len() > MAX_TEXT {
                    return bad(
                        "an agenda item needs 1 to 1440 minutes and a summary under 256 KiB",
                    );
                }
                check_attachments(&item.attachments)?;
            }
            ConfMsg::Agenda { slots, .. } => {
                if slots.iter().any(|s| s.minutes == 0 || s.minutes > 24 * 60) {
                    return bad("each agenda slot needs 1 to 1440 minutes");
                }
                let mut ids: Vec<_> = slots.iter().map(|s| s.item).collect();
                ids.sort();
                ids.dedup();
                if ids.len() != slots.len() {
                    return bad("an item appears twice in the agenda");
                }
            }
            ConfMsg::Rsvp { answer, .. } => match answer {
                Rsvp::Delegate { name } if name.trim().is_empty() => {
                    return bad("a delegate needs a name");
                }
                Rsvp::Delegate { name } => {
                    check_line("a delegate's name", name, crate::payload::MAX_FIELD)?
                }
                Rsvp::Absent { reason } if reason.trim().is_empty() => {
                    return bad("an absence needs a reason");
                }
                Rsvp::Absent { reason } => check_text("a reason", reason, MAX_TEXT)?,
                _ => {}
            },
            ConfMsg::Minutes {
                text,
                resolutions,
                attachments,
                ..
            } => {
                if text.trim().is_empty() || text.len() > MAX_TEXT {
                    return bad("minutes need text (at most 256 KiB)");
                }
                if resolutions.iter().any(|r| r.title.trim().is_empty()) {
                    return bad("a resolution needs a title");
                }
                for r in resolutions {
                    check_line("a resolution's title", &r.title, crate::Payload::MAX_TITLE)?;
                    check_text("a resolution", &r.text, MAX_TEXT)?;
                }
                if resolutions
                    .iter()
                    .any(|r| matches!(&r.outcome, Outcome::Votes(v) if v.is_empty()))
                {
                    return bad("a vote with no votes: record it as consensus or list the votes");
                }
                check_attachments(attachments)?;
            }
            ConfMsg::Cancel { reason, .. } => check_text("a reason", reason, MAX_TEXT)?,
            ConfMsg::Decline { reason, .. } if reason.trim().is_empty() => {
                return bad("declining a turn needs a reason");
            }
            ConfMsg::Decline { reason, .. } => {
                check_line("a reason", reason, crate::payload::MAX_FIELD)?
            }
            _ => {}
        }
        Ok(())
    }
}

/// A conference message as the log holds it; its context is the sender's
/// and named nodes' standings when this node accepted it.
pub type ConfEvent = crate::event::Event<ConfMsg, Standings>;

#[cfg(test)]
mod tests;
