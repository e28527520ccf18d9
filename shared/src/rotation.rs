//! The executive vice-chair rotation (执行副主席轮值) of the joint conference.
//!
//! [`generate`] turns a rotation pool, in its agreed order, and the changes
//! agreed since (declined turns, confirmed swaps, members joining or leaving)
//! into who holds the executive vice-chair at each of the next sessions. The
//! rule: **nobody gets a second turn before everyone in the pool has had one.**
//! Turns are grouped in cycles; a cycle ends when every member has held the
//! rotation once. A member that declines its turn moves to the next free
//! session; a member joining mid-cycle is owed a turn in that cycle; a member
//! leaving is owed nothing more.
//!
//! [`check`] verifies a published schedule against the same inputs without
//! using the generator's bookkeeping, so any node can confirm that the chair's
//! schedule follows the rules. Both are pure and deterministic.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, ProtoError};
use crate::ids::{MessageId, NodeId};

/// Most sessions scheduled at once.
pub const MAX_SESSIONS: u32 = 200;

/// A change to the rotation agreed after the pool was set.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolChange {
    /// `node` declines to host `session`; it moves to the next free session.
    Decline {
        node: NodeId,
        session: u32,
        #[serde(default)]
        reason: String,
        /// The member's own signed `decline` message this change stands on;
        /// a conference schedule must name it ([`crate::conference`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<MessageId>,
    },
    /// Two members exchange their next turns; only when both confirmed.
    Swap {
        a: NodeId,
        b: NodeId,
        confirmed_a: bool,
        confirmed_b: bool,
        /// The members' own signed `swap` messages behind each confirmation.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        by: Vec<MessageId>,
    },
    /// A member from `session` on (placed at the end of the agreed order).
    Join { node: NodeId, session: u32 },
    /// No longer a member from `session` on.
    Leave { node: NodeId, session: u32 },
}

impl PoolChange {
    /// The nodes it concerns.
    pub fn nodes(&self) -> Vec<NodeId> {
        match self {
            PoolChange::Decline { node, .. }
            | PoolChange::Join { node, .. }
            | PoolChange::Leave { node, .. } => vec![node.clone()],
            PoolChange::Swap { a, b, .. } => vec![a.clone(), b.clone()],
        }
    }
}

/// What the schedule is generated from.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RotationInput {
    /// The rotation pool in the agreed order.
    pub pool: Vec<NodeId>,
    /// The first session to schedule (第N次联席会议).
    pub first_session: u32,
    /// How many sessions to schedule.
    pub sessions: u32,
    /// Members that already held the rotation in the cycle under way.
    #[serde(default)]
    pub served: Vec<NodeId>,
    #[serde(default)]
    pub changes: Vec<PoolChange>,
}

/// Who hosts one session.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Turn {
    pub session: u32,
    /// `None`: nobody eligible accepted this session (every member still owed a
    /// turn declined it).
    pub holder: Option<NodeId>,
    /// 0 for the cycle under way at `first_session`, then 1, 2, …
    pub cycle: u32,
    /// Declines and swaps that shaped this turn, in words.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// A generated schedule.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Schedule {
    pub turns: Vec<Turn>,
    /// Changes that could not take effect (an unconfirmed swap…), in words.
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Schedule {
    /// The first session from `session` on with a holder.
    pub fn next_from(&self, session: u32) -> Option<&Turn> {
        self.turns
            .iter()
            .find(|t| t.session >= session && t.holder.is_some())
    }
}

fn bad(m: impl Into<String>) -> ProtoError {
    ProtoError::new(ErrorCode::BadRequest, m)
}

fn declined<'a>(input: &'a RotationInput, node: &NodeId, session: u32) -> Option<&'a str> {
    input.changes.iter().find_map(|c| match c {
        PoolChange::Decline {
            node: n,
            session: s,
            reason,
            ..
        } if n == node && *s == session => Some(reason.as_str()),
        _ => None,
    })
}

/// Members at `session`, in the agreed order: the pool, then joiners in the
/// order they joined; minus those that left at or before it.
pub fn members(input: &RotationInput, session: u32) -> Vec<NodeId> {
    let mut order: Vec<NodeId> = input.pool.clone();
    let mut joins: Vec<(u32, usize, &NodeId)> = input
        .changes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            PoolChange::Join { node, session: s } if *s <= session => Some((*s, i, node)),
            _ => None,
        })
        .collect();
    joins.sort();
    for (_, _, n) in joins {
        if !order.contains(n) {
            order.push(n.clone());
        }
    }
    order.retain(|n| {
        // The latest join or leave at or before `session` decides.
        let last = input
            .changes
            .iter()
            .filter_map(|c| match c {
                PoolChange::Join { node, session: s } if node == n && *s <= session => {
                    Some((*s, true))
                }
                PoolChange::Leave { node, session: s } if node == n && *s <= session => {
                    Some((*s, false))
                }
                _ => None,
            })
            .max_by_key(|(s, joined)| (*s, !*joined));
        last.is_none_or(|(_, joined)| joined)
    });
    order
}

fn validate(input: &RotationInput) -> Result<(), ProtoError> {
    if input.pool.is_empty() {
        return Err(bad("the rotation pool is empty"));
    }
    let unique: BTreeSet<&NodeId> = input.pool.iter().collect();
    if unique.len() != input.pool.len() {
        return Err(bad("a node appears twice in the rotation pool"));
    }
    if input.sessions == 0 || input.sessions > MAX_SESSIONS {
        return Err(bad(format!(
            "schedule between 1 and {MAX_SESSIONS} sessions"
        )));
    }
    if input.first_session == 0 || input.first_session.checked_add(input.sessions).is_none() {
        return Err(bad("sessions are numbered from 1"));
    }
    Ok(())
}

/// Generate the schedule. Deterministic: the same input gives the same schedule.
pub fn generate(input: &RotationInput) -> Result<Schedule, ProtoError> {
    validate(input)?;
    let end = input.first_session + input.sessions;
    let mut served: Vec<NodeId> = input.served.clone();
    let mut deferred: Vec<NodeId> = Vec::new();
    let mut cycle = 0;
    let mut turns = Vec::with_capacity(input.sessions as usize);
    for s in input.first_session..end {
        let mem = members(input, s);
        // A member that leaves and rejoins within a cycle keeps its turn served.
        deferred.retain(|n| mem.contains(n) && !served.contains(n));
        let owed = |served: &Vec<NodeId>, deferred: &Vec<NodeId>| -> Vec<NodeId> {
            deferred
                .iter()
                .chain(mem.iter().filter(|n| !deferred.contains(n)))
                .filter(|n| !served.contains(n))
                .cloned()
                .collect()
        };
        let mut candidates = owed(&served, &deferred);
        if candidates.is_empty() && !mem.is_empty() {
            cycle += 1;
            served.clear();
            deferred.clear();
            candidates = owed(&served, &deferred);
        }
        let mut notes = Vec::new();
        let mut holder = None;
        for c in candidates {
            match declined(input, &c, s) {
                Some(reason) => {
                    notes.push(format!("{c} 请辞第{s}次（{reason}），顺延"));
                    if !deferred.contains(&c) {
                        deferred.push(c);
                    }
                }
                None => {
                    holder = Some(c);
                    break;
                }
            }
        }
        if let Some(h) = &holder {
            served.push(h.clone());
            deferred.retain(|n| n != h);
        }
        turns.push(Turn {
            session: s,
            holder,
            cycle,
            notes,
        });
    }
    let mut schedule = Schedule {
        turns,
        notes: Vec::new(),
    };
    apply_swaps(input, &mut schedule);
    Ok(schedule)
}

fn apply_swaps(input: &RotationInput, schedule: &mut Schedule) {
    for c in &input.changes {
        let PoolChange::Swap {
            a,
            b,
            confirmed_a,
            confirmed_b,
            ..
        } = c
        else {
            continue;
        };
        if !(*confirmed_a && *confirmed_b) {
            schedule
                .notes
                .push(format!("{a} 与 {b} 互换未获双方确认，未生效"));
            continue;
        }
        let find = |n: &NodeId| {
            schedule
                .turns
                .iter()
                .position(|t| t.holder.as_ref() == Some(n))
        };
        let (Some(i), Some(j)) = (find(a), find(b)) else {
            schedule
                .notes
                .push(format!("{a} 与 {b} 互换：一方在本期内无轮值，未生效"));
            continue;
        };
        let (ti, tj) = (&schedule.turns[i], &schedule.turns[j]);
        let allowed = ti.cycle == tj.cycle
            && members(input, tj.session).contains(a)
            && members(input, ti.session).contains(b)
            && declined(input, a, tj.session).is_none()
            && declined(input, b, ti.session).is_none();
        if !allowed {
            schedule.notes.push(format!(
                "{a} 与 {b} 互换：不在同一轮次、已退出或已请辞对方场次，未生效"
            ));
            continue;
        }
        let (si, sj) = (ti.session, tj.session);
        schedule.turns[i].holder = Some(b.clone());
        schedule.turns[j].holder = Some(a.clone());
        if check(input, schedule).is_err() {
            // e.g. a vacant session between the two turns would no longer be justified
            schedule.turns[i].holder = Some(a.clone());
            schedule.turns[j].holder = Some(b.clone());
            schedule
                .notes
                .push(format!("{a} 与 {b} 互换会违反轮值规则，未生效"));
            continue;
        }
        schedule.turns[i].notes.push(format!(
            "{a} 与 {b} 互换（第{si}次 ↔ 第{sj}次，双方已确认）"
        ));
        schedule.turns[j].notes.push(format!(
            "{a} 与 {b} 互换（第{si}次 ↔ 第{sj}次，双方已确认）"
        ));
    }
}

/// Verify that `schedule` follows the rules for `input`, independently of how
/// it was made: sessions in order, holders are members who did not decline,
/// nobody twice in a cycle, a new cycle only once every member has served, and
/// a session left vacant only if every member still owed a turn declined it.
pub fn check(input: &RotationInput, schedule: &Schedule) -> Result<(), ProtoError> {
    validate(input)?;
    let broken = |m: String| {
        Err(ProtoError::new(
            ErrorCode::BadPayload,
            format!("rotation: {m}"),
        ))
    };
    if schedule.turns.len() != input.sessions as usize {
        return broken("wrong number of sessions".into());
    }
    let mut cycle = 0u32;
    let mut served: BTreeSet<NodeId> = input.served.iter().cloned().collect();
    let mut prev_members = members(input, input.first_session);
    for (k, t) in schedule.turns.iter().enumerate() {
        let s = input.first_session + k as u32;
        if t.session != s {
            return broken(format!("session {} out of order", t.session));
        }
        let mem = members(input, s);
        if t.cycle != cycle {
            if t.cycle != cycle + 1 {
                return broken(format!("session {s}: cycle jumps to {}", t.cycle));
            }
            if let Some(m) = mem
                .iter()
                .find(|m| prev_members.contains(m) && !served.contains(*m))
            {
                return broken(format!(
                    "session {s} starts a new cycle before {m} had its turn"
                ));
            }
            cycle = t.cycle;
            served.clear();
        }
        match &t.holder {
            Some(h) => {
                if !mem.contains(h) {
                    return broken(format!("{h} holds session {s} but is not a member then"));
                }
                if declined(input, h, s).is_some() {
                    return broken(format!("{h} holds session {s}, which it declined"));
                }
                if !served.insert(h.clone()) {
                    return broken(format!("{h} holds a second turn in cycle {cycle}"));
                }
            }
            None => {
                let owed: Vec<&NodeId> = mem.iter().filter(|m| !served.contains(*m)).collect();
                if owed.is_empty() && !mem.is_empty() {
                    return broken(format!(
                        "session {s} is vacant although a new cycle could start"
                    ));
                }
                if let Some(m) = owed.iter().find(|m| declined(input, m, s).is_none()) {
                    return broken(format!("session {s} is vacant although {m} is owed a turn"));
                }
            }
        }
        prev_members = mem;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
