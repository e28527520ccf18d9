//! `lianxi conference …`: the joint conference from the command line, every
//! subcommand with `--json`. `args` holds the clap definitions, `parse` turns
//! their words into messages, `view` renders the conference as text and JSON.

pub mod args;
mod parse;
pub mod view;

use anyhow::Context;
use lianxi::case_file::Names;
use lianxi::conference::{ConfQueued, MinutesDraft};
use lianxi::node::Node;
use lianxi::{ErrorCode, ProtoError};
use lianxi_shared::NodeId;
use lianxi_shared::conference::{
    AgendaItem, ConfMsg, Conference, Meeting, MeetingState, Published, RemindOf, Rsvp,
};
use lianxi_shared::payload::DEFAULT_MAX_ATTACHMENT;
use serde_json::json;

pub use self::args::ConfCmd;
use self::args::{ConveneArgs, RotationArgs};
use self::parse::{bad, node_id, parse_resolution, proposal_ref, rotation_input};
use crate::cli::commands::print;
use crate::cli::delivery::deliver_unless_local;
use crate::cli::output::tr;

async fn report(node: &Node, q: ConfQueued, json: bool, what: &str) -> anyhow::Result<()> {
    let d = deliver_unless_local(node, q.id, !q.recipients.is_empty()).await?;
    let v = json!({
        "id": q.id.to_string(), "kind": q.kind, "session": q.session, "status": d.status(),
        "recipients": q.recipients.iter().map(NodeId::as_str).collect::<Vec<_>>(),
        "reason": d.reason(),
    });
    print(json, v, || d.text(what, q.recipients.len()));
    Ok(())
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
    let node = &node;
    match cmd {
        ConfCmd::Show { session } => show(node, &names, json, session).await,
        ConfCmd::Rotation(a) => rotation(node, &names, json, &a).await,
        ConfCmd::Convene(a) => convene(node, json, a).await,
        ConfCmd::Decline { session, reason } => {
            let q = node.decline_turn(session, reason).await?;
            let what = tr(
                format!("已辞任第{session}次会议的轮值"),
                format!("turn at session {session} declined"),
            );
            report(node, q, json, &what).await
        }
        ConfCmd::Swap { with } => {
            let with = node_id(&with)?;
            let q = node.agree_swap(with.clone()).await?;
            let what = tr(
                format!("已同意与 {with} 互换轮次"),
                format!("swap with {with} agreed"),
            );
            report(node, q, json, &what).await
        }
        ConfCmd::Cancel { session, reason } => {
            let q = node.cancel_meeting(session, reason).await?;
            let what = tr(
                format!("第{session}次会议已取消"),
                format!("session {session} cancelled"),
            );
            report(node, q, json, &what).await
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
            report(node, q, json, "agenda item proposed").await
        }
        ConfCmd::Agenda { session, items } => agenda(node, json, session, &items).await,
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
                    let m = "answer with one of --attend, --delegate NAME, --absent REASON";
                    return Err(bad(m).into());
                }
            };
            let q = node.rsvp(session, answer).await?;
            report(node, q, json, "answer").await
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
            report(node, q, json, "reminder").await
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
            report(node, q, json, "minutes published").await
        }
        ConfCmd::Ack { session } => {
            let q = node.ack_minutes(session).await?;
            report(node, q, json, "minutes acknowledged").await
        }
        ConfCmd::Ics { session, output } => {
            let (conf, _) = node.conference().await?;
            let ics = lianxi::ics::calendar(&conf, &session, &names)?;
            let Some(path) = output else {
                crate::cli::output::raw(&ics);
                return Ok(());
            };
            std::fs::write(&path, &ics).with_context(|| format!("writing {}", path.display()))?;
            let n = ics.matches("BEGIN:VEVENT").count();
            print(json, json!({"path": path, "events": n}), || {
                tr(
                    format!("已将 {n} 次会议写入 {}", path.display()),
                    format!("{n} meeting(s) written to {}", path.display()),
                )
            });
            Ok(())
        }
    }
}

/// A session the chair has convened, or `not_found`.
fn convened(conf: &Conference, session: u32) -> Result<&MeetingState, ProtoError> {
    conf.meetings.get(&session).ok_or_else(|| {
        let m = format!("session {session} has not been convened");
        ProtoError::new(ErrorCode::NotFound, m)
    })
}

async fn show(node: &Node, names: &Names, json: bool, session: Option<u32>) -> anyhow::Result<()> {
    let (conf, _) = node.conference().await?;
    let me = &node.me.node_id;
    match session {
        None => print(json, view::overview_json(&conf, me), || {
            view::overview_text(&conf, names, me)
        }),
        Some(s) => {
            let m = convened(&conf, s)?;
            print(json, view::meeting_json(&conf, m, me), || {
                view::meeting_text(&conf, m, names, me)
            });
        }
    }
    Ok(())
}

async fn rotation(node: &Node, names: &Names, json: bool, a: &RotationArgs) -> anyhow::Result<()> {
    let (conf, _) = node.conference().await?;
    let input = rotation_input(node.rotation_base().await?, a, &conf)?;
    if a.publish {
        let q = node.rotation_publish(input).await?;
        return report(node, q, json, "rotation schedule").await;
    }
    let s = Node::rotation_preview(&input)?;
    // The preview stands only if publishing it would: the receivers' checks
    // (pool from the directory, declines and swaps the members sent), all but
    // who may publish.
    let published = Published {
        input: input.clone(),
        turns: s.turns.clone(),
    };
    match node.may_send(ConfMsg::Schedule(Box::new(published))).await {
        Err(e) if e.code != ErrorCode::NotChair => return Err(e.into()),
        _ => {}
    }
    let v = json!({"input": input, "turns": view::turns_json(&s.turns), "notes": s.notes});
    print(json, v, || view::turns_text(&s.turns, &s.notes, names));
    Ok(())
}

async fn convene(node: &Node, json: bool, a: ConveneArgs) -> anyhow::Result<()> {
    let m = Meeting {
        session: a.session,
        title: a.title,
        date: a.date,
        start: a.time,
        minutes: a.minutes,
        tz: a.tz,
        place: a.place,
        link: a.link,
        agenda_deadline: a.agenda_by,
        note: a.note,
    };
    let what = tr(
        format!("{} 已召集", m.display_title()),
        format!("{} convened", m.display_title()),
    );
    let q = node.convene(m).await?;
    report(node, q, json, &what).await?;
    // How many meetings each year has is the overview's to say
    // (`conference show`), not a warning repeated at every convening.
    Ok(())
}

async fn agenda(node: &Node, json: bool, session: u32, items: &[String]) -> anyhow::Result<()> {
    let (conf, _) = node.conference().await?;
    let m = convened(&conf, session)?;
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
    report(node, q, json, tr("议程已发布", "agenda published")).await
}
