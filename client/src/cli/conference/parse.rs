//! Turning the command line's words into the conference's messages: node
//! ids, NODE:SESSION pairs, resolutions with votes, agenda slots, and the
//! rotation's input from the schedule in force plus the options.

use lianxi::{ErrorCode, ProtoError};
use lianxi_shared::NodeId;
use lianxi_shared::conference::{Conference, MeetingState, Outcome, Resolution, Slot, Vote};
use lianxi_shared::rotation::{PoolChange, RotationInput};

use super::args::RotationArgs;

pub(super) fn bad(m: impl Into<String>) -> ProtoError {
    ProtoError::new(ErrorCode::BadRequest, m)
}

pub(super) fn node_id(s: &str) -> Result<NodeId, ProtoError> {
    NodeId::new(s.trim())
}

/// `NODE:SESSION[:rest]`
fn node_session(s: &str) -> Result<(NodeId, u32, String), ProtoError> {
    let mut parts = s.splitn(3, ':');
    let (Some(n), Some(sess)) = (parts.next(), parts.next()) else {
        return Err(bad(format!("{s:?}: expected NODE:SESSION")));
    };
    let sess = sess
        .trim()
        .parse()
        .map_err(|_| bad(format!("{s:?}: the session is a number")))?;
    Ok((node_id(n)?, sess, parts.next().unwrap_or("").to_owned()))
}

pub(super) fn parse_resolution(s: &str) -> Result<Resolution, ProtoError> {
    let Some((title, votes)) = s.split_once('=') else {
        return Ok(Resolution {
            title: s.trim().to_owned(),
            text: String::new(),
            outcome: Outcome::Consensus,
        });
    };
    let mut map = std::collections::BTreeMap::new();
    for v in votes.split(',').filter(|v| !v.trim().is_empty()) {
        let (n, vote) = v
            .split_once(':')
            .ok_or_else(|| bad(format!("{v:?}: expected NODE:for|against|abstain")))?;
        map.insert(node_id(n)?, vote.trim().parse::<Vote>()?);
    }
    Ok(Resolution {
        title: title.trim().to_owned(),
        text: String::new(),
        outcome: Outcome::Votes(map),
    })
}

pub(super) fn rotation_input(
    base: RotationInput,
    a: &RotationArgs,
    conf: &Conference,
) -> Result<RotationInput, ProtoError> {
    let RotationArgs {
        sessions,
        first,
        pool,
        served,
        decline,
        swap,
        join,
        leave,
        ..
    } = a;
    let mut input = base;
    if !pool.is_empty() {
        input.pool = pool.iter().map(|s| node_id(s)).collect::<Result<_, _>>()?;
    }
    if !served.is_empty() {
        input.served = served
            .iter()
            .map(|s| node_id(s))
            .collect::<Result<_, _>>()?;
    }
    if let Some(n) = sessions {
        input.sessions = *n;
    }
    if let Some(f) = first {
        input.first_session = *f;
    }
    for d in decline {
        let (node, session, _) = node_session(d)?;
        let (by, reason) = conf.decline_of(&node, session).ok_or_else(|| {
            ProtoError::new(
                ErrorCode::NotFound,
                format!(
                    "{node} has not declined session {session} here: a decline is the member's own message (`lianxi conference decline --session {session} --reason …` on its node)"
                ),
            )
        })?;
        input.changes.push(PoolChange::Decline {
            node,
            session,
            reason: reason.to_owned(),
            by: Some(*by),
        });
    }
    for s in swap {
        let (a, b) = s
            .split_once(':')
            .ok_or_else(|| bad(format!("{s:?}: expected A:B")))?;
        let (a, b) = (node_id(a)?, node_id(b)?);
        let mut by = Vec::new();
        for (x, y) in [(&a, &b), (&b, &a)] {
            let id = conf.swap_of(x, y).ok_or_else(|| {
                ProtoError::new(
                    ErrorCode::NotFound,
                    format!(
                        "{x} has not agreed to swap with {y} here: each side sends `lianxi conference swap --with …` from its own node"
                    ),
                )
            })?;
            by.push(*id);
        }
        input.changes.push(PoolChange::Swap {
            a,
            b,
            confirmed_a: true,
            confirmed_b: true,
            by,
        });
    }
    for j in join {
        let (node, session, _) = node_session(j)?;
        input.changes.push(PoolChange::Join { node, session });
    }
    for l in leave {
        let (node, session, _) = node_session(l)?;
        input.changes.push(PoolChange::Leave { node, session });
    }
    Ok(input)
}

pub(super) fn proposal_ref(m: &MeetingState, s: &str) -> Result<Slot, ProtoError> {
    let (item, minutes) = s
        .rsplit_once(':')
        .ok_or_else(|| bad(format!("{s:?}: expected ITEM:MINUTES")))?;
    let minutes = minutes
        .trim()
        .parse()
        .map_err(|_| bad(format!("{s:?}: minutes are a number")))?;
    let item = item.trim().trim_start_matches('#');
    let found = match item.parse::<usize>() {
        Ok(n) if n >= 1 && n <= m.proposals.len() => Some(m.proposals[n - 1].id),
        _ => m
            .proposals
            .iter()
            .find(|p| p.id.to_string() == item)
            .map(|p| p.id),
    };
    let item = found.ok_or_else(|| {
        ProtoError::new(
            ErrorCode::NotFound,
            format!("no proposal {item:?} for session {}", m.meeting.session),
        )
    })?;
    Ok(Slot { item, minutes })
}
