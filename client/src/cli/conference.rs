//! `lianxi conference …`: the joint conference from the command line, every
//! subcommand with `--json`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use lianxi::case_file::Names;
use lianxi::conference::{ConfQueued, MinutesDraft};
use lianxi::node::Node;
use lianxi::{ErrorCode, ProtoError};
use lianxi_shared::NodeId;
use lianxi_shared::conference::{
    AgendaItem, ConfMsg, Conference, DEFAULT_TZ, Meeting, MeetingState, Outcome, RemindOf,
    Resolution, Rsvp, Slot, Vote,
};
use lianxi_shared::payload::DEFAULT_MAX_ATTACHMENT;
use lianxi_shared::rotation::{PoolChange, RotationInput};
use serde_json::json;

use crate::cli::commands::print;
use crate::cli::delivery::{Delivery, deliver_unless_local};

/// `lianxi conference …` (联席会议).
#[derive(Subcommand)]
pub enum ConfCmd {
    /// The roster, the rotation ("whose turn next") and the meetings; with
    /// `--session`, one meeting's agenda, attendance and minutes.
    Show {
        #[arg(long)]
        session: Option<u32>,
    },
    /// Preview the executive vice-chair rotation, or publish it (`--publish`, chair only).
    /// Starts from the schedule in force; the options change it.
    Rotation {
        /// How many sessions to schedule.
        #[arg(long)]
        sessions: Option<u32>,
        /// The first session to schedule.
        #[arg(long)]
        first: Option<u32>,
        /// The pool in the agreed order (comma-separated node ids).
        #[arg(long, value_delimiter = ',')]
        pool: Vec<String>,
        /// Members that already held the rotation in the cycle under way.
        #[arg(long, value_delimiter = ',')]
        served: Vec<String>,
        /// NODE:SESSION: take in NODE's own decline of SESSION (it sent
        /// `conference decline`; repeatable).
        #[arg(long)]
        decline: Vec<String>,
        /// A:B: A and B swap their next turns; both sent `conference swap`
        /// (repeatable).
        #[arg(long)]
        swap: Vec<String>,
        /// NODE:SESSION joins the pool from SESSION (repeatable).
        #[arg(long)]
        join: Vec<String>,
        /// NODE:SESSION leaves the pool from SESSION (repeatable).
        #[arg(long)]
        leave: Vec<String>,
        /// Sign and send it to the whole conference.
        #[arg(long)]
        publish: bool,
    },
    /// Decline this association's turn as executive vice-chair at a session
    /// (pool members); the chair takes it into the next schedule.
    Decline {
        #[arg(long)]
        session: u32,
        #[arg(long)]
        reason: String,
    },
    /// Agree to swap this association's next turn with another pool member;
    /// it takes effect once both agreed and the chair publishes it.
    Swap {
        #[arg(long)]
        with: String,
    },
    /// Convene a session, or reschedule it (chair only).
    Convene {
        #[arg(long)]
        session: u32,
        /// YYYY-MM-DD
        #[arg(long)]
        date: String,
        /// HH:MM, local time in --tz.
        #[arg(long)]
        time: String,
        #[arg(long, default_value_t = 120)]
        minutes: u32,
        #[arg(long, default_value = DEFAULT_TZ)]
        tz: String,
        #[arg(long, default_value = "")]
        place: String,
        #[arg(long, default_value = "")]
        link: String,
        /// The call for agenda items closes at this local time, "YYYY-MM-DD HH:MM".
        #[arg(long = "agenda-by")]
        agenda_by: String,
        #[arg(long, default_value = "")]
        title: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Cancel a session (chair only).
    Cancel {
        #[arg(long)]
        session: u32,
        #[arg(long)]
        reason: String,
    },
    /// Propose an agenda item (议题).
    Propose {
        #[arg(long)]
        session: u32,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        summary: String,
        /// Time it needs, minutes.
        #[arg(long)]
        minutes: u32,
        /// A file to attach (repeatable).
        #[arg(long = "attach")]
        attachments: Vec<PathBuf>,
    },
    /// Publish the agenda (host only): proposals in order, each ITEM:MINUTES,
    /// ITEM being the proposal's number in `show --session` or its id.
    Agenda {
        #[arg(long)]
        session: u32,
        #[arg(required = true)]
        items: Vec<String>,
    },
    /// Answer the invitation: attend, send a delegate, or be absent with a reason.
    Rsvp {
        #[arg(long)]
        session: u32,
        #[arg(long, conflicts_with_all = ["delegate", "absent"])]
        attend: bool,
        #[arg(long, conflicts_with = "absent")]
        delegate: Option<String>,
        /// The reason for the absence.
        #[arg(long)]
        absent: Option<String>,
    },
    /// Remind those who have not answered (host only); `--minutes`: those who
    /// have not acknowledged the minutes.
    Remind {
        #[arg(long)]
        session: u32,
        #[arg(long)]
        minutes: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Publish the minutes (纪要) and resolutions (决议) (host only).
    Minutes {
        #[arg(long)]
        session: u32,
        /// The minutes' text (a file).
        #[arg(long)]
        file: PathBuf,
        /// A resolution: "TITLE" (by consensus) or "TITLE=bj:for,sh:against,sz:abstain" (repeatable).
        #[arg(long = "resolution")]
        resolutions: Vec<String>,
        #[arg(long = "attach")]
        attachments: Vec<PathBuf>,
    },
    /// Acknowledge the minutes of a session.
    Ack {
        #[arg(long)]
        session: u32,
    },
    /// Export meetings as an iCalendar (.ics) file (all, or the given sessions).
    Ics {
        #[arg(long)]
        session: Vec<u32>,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

fn bad(m: impl Into<String>) -> ProtoError {
    ProtoError::new(ErrorCode::BadRequest, m)
}

fn node_id(s: &str) -> Result<NodeId, ProtoError> {
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

fn parse_resolution(s: &str) -> Result<Resolution, ProtoError> {
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

async fn report(node: &Node, q: ConfQueued, json: bool, what: &str) -> anyhow::Result<()> {
    let d = deliver_unless_local(node, q.id, !q.recipients.is_empty()).await?;
    let v = json!({
        "id": q.id.to_string(), "kind": q.kind, "session": q.session, "status": d.status(),
        "recipients": q.recipients.iter().map(NodeId::as_str).collect::<Vec<_>>(),
        "reason": d.reason(),
    });
    print(json, v, || match d {
        Delivery::Sent(_) => format!("{what}: sent to {}", q.recipients.len()),
        Delivery::Local => format!("{what}: recorded"),
        Delivery::Queued(_) => format!(
            "{what}: queued, the hub is not reachable ({}); it goes out on the next sync",
            d.why()
        ),
    });
    Ok(())
}

fn rotation_input(
    base: RotationInput,
    cmd: &ConfCmd,
    conf: &Conference,
) -> Result<RotationInput, ProtoError> {
    let ConfCmd::Rotation {
        sessions,
        first,
        pool,
        served,
        decline,
        swap,
        join,
        leave,
        ..
    } = cmd
    else {
        return Ok(base);
    };
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

fn proposal_ref(m: &MeetingState, s: &str) -> Result<Slot, ProtoError> {
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

/// The roster comes from the verified directory: refresh it when the hub
/// answers, so a node enrolled since is counted; offline, use the cached one.
async fn refresh_directory(node: &Node) {
    if let Ok((s, _ev)) = node.connect(std::time::Duration::from_secs(3)).await {
        if let Err(e) = node.refresh_directory(&s).await {
            tracing::warn!(code = %e.code, "directory refresh failed; using the cached one");
        }
        s.close().await;
    }
}

pub async fn run(cmd: ConfCmd, node: Node, json: bool) -> anyhow::Result<()> {
    if !matches!(cmd, ConfCmd::Show { .. } | ConfCmd::Ics { .. }) {
        refresh_directory(&node).await;
    }
    let names = Names::new(&node.directory().await?);
    match cmd {
        ConfCmd::Show { session } => {
            let (conf, _) = node.conference().await?;
            match session {
                None => {
                    let v = crate::cli::conf_view::overview_json(&conf);
                    print(json, v, || {
                        crate::cli::conf_view::overview_text(&conf, &names)
                    });
                }
                Some(s) => {
                    let m = conf.meetings.get(&s).ok_or_else(|| {
                        ProtoError::new(
                            ErrorCode::NotFound,
                            format!("session {s} has not been convened"),
                        )
                    })?;
                    let v = crate::cli::conf_view::meeting_json(&conf, m);
                    print(json, v, || {
                        crate::cli::conf_view::meeting_text(&conf, m, &names)
                    });
                }
            }
        }
        ref c @ ConfCmd::Rotation { publish, .. } => {
            let (conf, _) = node.conference().await?;
            let input = rotation_input(node.rotation_base().await?, c, &conf)?;
            if publish {
                let q = node.rotation_publish(input).await?;
                report(&node, q, json, "rotation schedule").await?;
            } else {
                let s = Node::rotation_preview(&input)?;
                let v = json!({"input": input, "turns": s.turns, "notes": s.notes});
                print(json, v, || {
                    crate::cli::conf_view::turns_text(&s.turns, &s.notes, &names)
                });
            }
        }
        ConfCmd::Convene {
            session,
            date,
            time,
            minutes,
            tz,
            place,
            link,
            agenda_by,
            title,
            note,
        } => {
            let m = Meeting {
                session,
                title,
                date,
                start: time,
                minutes,
                tz,
                place,
                link,
                agenda_deadline: agenda_by,
                note,
            };
            let what = format!("{} convened", m.display_title());
            let q = node.convene(m).await?;
            report(&node, q, json, &what).await?;
            let (conf, _) = node.conference().await?;
            for (year, n) in conf.thin_years() {
                crate::cli::output::warn(&format!(
                    "warning: only {n} meeting(s) convened in {year}; the conference meets at least twice a year"
                ));
            }
        }
        ConfCmd::Decline { session, reason } => {
            let q = node.decline_turn(session, reason).await?;
            report(
                &node,
                q,
                json,
                &format!("turn at session {session} declined"),
            )
            .await?;
        }
        ConfCmd::Swap { with } => {
            let with = node_id(&with)?;
            let q = node.agree_swap(with.clone()).await?;
            report(&node, q, json, &format!("swap with {with} agreed")).await?;
        }
        ConfCmd::Cancel { session, reason } => {
            let q = node.cancel_meeting(session, reason).await?;
            report(&node, q, json, &format!("session {session} cancelled")).await?;
        }
        ConfCmd::Propose {
            session,
            title,
            summary,
            minutes,
            attachments,
        } => {
            let attachments =
                lianxi::bulletins::read_attachments(&attachments, DEFAULT_MAX_ATTACHMENT)?;
            let item = AgendaItem {
                title,
                summary,
                minutes,
                attachments,
            };
            let q = node.propose(session, item).await?;
            report(&node, q, json, "agenda item proposed").await?;
        }
        ConfCmd::Agenda { session, items } => {
            let (conf, _) = node.conference().await?;
            let m = conf.meetings.get(&session).ok_or_else(|| {
                ProtoError::new(
                    ErrorCode::NotFound,
                    format!("session {session} has not been convened"),
                )
            })?;
            // Authority first: a non-host hears "not the host", not "no such item".
            node.may_send(ConfMsg::Agenda {
                session,
                slots: Vec::new(),
            })
            .await?;
            let slots = items
                .iter()
                .map(|s| proposal_ref(m, s))
                .collect::<Result<Vec<_>, _>>()?;
            let q = node.publish_agenda(session, slots).await?;
            report(&node, q, json, "agenda published").await?;
        }
        ConfCmd::Rsvp {
            session,
            attend,
            delegate,
            absent,
        } => {
            let answer = match (attend, delegate, absent) {
                (true, None, None) => Rsvp::Attend,
                (false, Some(name), None) => Rsvp::Delegate { name },
                (false, None, Some(reason)) => Rsvp::Absent { reason },
                _ => {
                    return Err(bad(
                        "answer with one of --attend, --delegate NAME, --absent REASON",
                    )
                    .into());
                }
            };
            let q = node.rsvp(session, answer).await?;
            report(&node, q, json, "answer").await?;
        }
        ConfCmd::Remind {
            session,
            minutes,
            note,
        } => {
            let of = if minutes {
                RemindOf::Minutes
            } else {
                RemindOf::Rsvp
            };
            let q = node.remind_meeting(session, of, note).await?;
            report(&node, q, json, "reminder").await?;
        }
        ConfCmd::Minutes {
            session,
            file,
            resolutions,
            attachments,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let draft = MinutesDraft {
                text,
                resolutions: resolutions
                    .iter()
                    .map(|r| parse_resolution(r))
                    .collect::<Result<_, _>>()?,
                attachments: lianxi::bulletins::read_attachments(
                    &attachments,
                    DEFAULT_MAX_ATTACHMENT,
                )?,
            };
            let q = node.publish_minutes(session, draft).await?;
            report(&node, q, json, "minutes published").await?;
        }
        ConfCmd::Ack { session } => {
            let q = node.ack_minutes(session).await?;
            report(&node, q, json, "minutes acknowledged").await?;
        }
        ConfCmd::Ics { session, output } => {
            let (conf, _) = node.conference().await?;
            let ics = lianxi::ics::calendar(&conf, &session, &names)?;
            match output {
                Some(path) => {
                    std::fs::write(&path, &ics)
                        .with_context(|| format!("writing {}", path.display()))?;
                    let n = ics.matches("BEGIN:VEVENT").count();
                    print(json, json!({"path": path, "events": n}), || {
                        format!("{n} meeting(s) written to {}", path.display())
                    });
                }
                None => crate::cli::output::raw(&ics),
            }
        }
    }
    Ok(())
}
