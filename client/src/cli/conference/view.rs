//! What `lianxi conference show` prints: the overview and one meeting, as
//! text for people and as JSON for scripts.

use std::fmt::Write as _;

use lianxi::case_file::Names;
use lianxi_shared::NodeId;
use lianxi_shared::conference::{ConfMsg, Conference, MeetingState, Outcome, Rsvp};
use lianxi_shared::rotation::Turn;
use serde_json::{Value, json};

use lianxi::lang::Lang;

use crate::cli::output::{lang, tr};

fn ids(v: &[NodeId]) -> Vec<&str> {
    v.iter().map(NodeId::as_str).collect()
}

fn status(m: &MeetingState) -> &'static str {
    if m.cancelled.is_some() {
        "cancelled"
    } else if m.minutes.is_some() {
        "held"
    } else {
        "convened"
    }
}

/// [`status`] for people, in the output's language.
fn status_text(m: &MeetingState) -> &'static str {
    match status(m) {
        "cancelled" => tr("已取消", "cancelled"),
        "held" => tr("已召开", "held"),
        _ => tr("已召集", "convened"),
    }
}

/// "第3次" or "session 3".
fn session_text(n: u32) -> String {
    match lang() {
        Lang::Zh => format!("第{n}次"),
        Lang::En => format!("session {n}"),
    }
}

pub fn overview_json(c: &Conference, me: &NodeId) -> Value {
    let upcoming = c.upcoming_session();
    json!({
        "chair": c.roster.chair.as_ref().map(NodeId::as_str),
        "pool": ids(&c.roster.pool),
        "presidium": ids(&c.presidium(upcoming)),
        "members": ids(&c.roster.members),
        "next_turn": c.next_turn(upcoming).map(|(s, h)| json!({"session": s, "holder": h.as_str()})),
        "schedule": c.schedule.as_ref().map(|p| json!({"input": p.input, "turns": turns_json(&p.turns)})),
        "meetings": c.meetings.values().map(|m| json!({
            "session": m.meeting.session, "title": m.meeting.display_title(),
            "date": m.meeting.date, "start": m.meeting.start, "tz": m.meeting.tz,
            "host": c.host(m.meeting.session).map(NodeId::as_str),
            "status": status(m), "sequence": m.sequence,
            "answers_visible": c.sees_answers(me, m.meeting.session),
            "answered": c.sees_answers(me, m.meeting.session).then_some(m.rsvps.len()),
            "unanswered": c.sees_answers(me, m.meeting.session).then(|| json!(ids(&m.unanswered(&c.roster)))),
        })).collect::<Vec<_>>(),
        "awaiting_chair": c.pending_answers().iter().map(|(id, a)| json!({
            "id": id.to_string(), "from": a.from.as_str(), "kind": a.msg.kind(),
            "session": a.msg.session(),
            "reason": match &a.msg { ConfMsg::Decline { reason, .. } => Some(reason), _ => None },
            "with": match &a.msg { ConfMsg::Swap { with } => Some(with.as_str()), _ => None },
        })).collect::<Vec<_>>(),
        "warnings": c.thin_years(lianxi::time_fmt::current_year()).iter().map(|(y, n)| format!(
            "only {n} meeting(s) convened in {y}; the conference meets at least twice a year")).collect::<Vec<_>>(),
    })
}

/// Turns for scripts, cycles counted from 1 as in the text (the signed
/// schedule counts from 0; that encoding does not change).
pub fn turns_json(turns: &[Turn]) -> Value {
    json!(
        turns
            .iter()
            .map(|t| json!({
                "session": t.session,
                "holder": t.holder.as_ref().map(NodeId::as_str),
                "cycle": t.cycle + 1,
                "notes": t.notes,
            }))
            .collect::<Vec<_>>()
    )
}

pub fn turns_text(turns: &[Turn], notes: &[String], names: &Names) -> String {
    let mut out = tr(
        "   会次  轮次  执行副主席\n",
        "   session  cycle  executive vice-chair\n",
    )
    .to_owned();
    for t in turns {
        let holder = t.holder.as_ref().map_or(
            tr("—（无人符合条件）", "— (nobody eligible)").into(),
            |h| names.of(h),
        );
        let _ = writeln!(
            out,
            "{:>10}  {:>5}  {holder}",
            session_text(t.session),
            t.cycle + 1
        );
        for n in &t.notes {
            let _ = writeln!(out, "                {n}");
        }
    }
    for n in notes {
        let _ = writeln!(out, "{}{n}", tr("说明：", "note: "));
    }
    out.trim_end().to_owned()
}

pub fn overview_text(c: &Conference, names: &Names, me: &NodeId) -> String {
    let mut out = String::new();
    let upcoming = c.upcoming_session();
    let chair = c.roster.chair.as_ref().map_or(
        tr(
            "—（没有具主席角色的全国级节点）",
            "— (no national node with the chair role)",
        )
        .into(),
        |n| names.of(n),
    );
    let _ = writeln!(out, "{}{chair}", tr("主席：", "chair: "));
    let sep = lang().list_sep();
    let list = |v: &[NodeId]| v.iter().map(|n| names.of(n)).collect::<Vec<_>>().join(sep);
    let _ = writeln!(
        out,
        "{}{}",
        tr("主席团：", "presidium: "),
        list(&c.presidium(upcoming))
    );
    let _ = writeln!(
        out,
        "{}{}",
        tr("成员：", "members: "),
        list(&c.roster.members)
    );
    let next = tr("下一轮值：", "next turn: ");
    match c.next_turn(upcoming) {
        Some((s, h)) => {
            let _ = writeln!(out, "{next}{} {}", session_text(s), names.of(h));
        }
        None => {
            let _ = match lang() {
                Lang::Zh => writeln!(
                    out,
                    "{next}尚无覆盖第{upcoming}次会议的轮值表；由主席用 `lianxi conference rotation --publish` 发布"
                ),
                Lang::En => writeln!(
                    out,
                    "{next}no schedule covers session {upcoming}; the chair publishes one with `lianxi conference rotation --publish`"
                ),
            };
        }
    }
    if let Some(p) = &c.schedule {
        let _ = writeln!(out, "\n{}", turns_text(&p.turns, &[], names));
    }
    let pending = c.pending_answers();
    if !pending.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            tr(
                "待主席纳入下一轮值表：",
                "awaiting the chair's next schedule:"
            )
        );
    }
    for (_, a) in pending {
        let line = match &a.msg {
            ConfMsg::Decline { session, reason } => match lang() {
                Lang::Zh => {
                    format!("{} 辞任第{session}次：{reason}", names.of(&a.from))
                }
                Lang::En => {
                    format!("{} declines session {session}: {reason}", names.of(&a.from))
                }
            },
            ConfMsg::Swap { with } => {
                format!(
                    "{}{}{}",
                    names.of(&a.from),
                    tr(" 同意与 ", " agrees to swap turns with "),
                    names.of(with)
                ) + tr(" 互换轮次", "")
            }
            _ => continue,
        };
        let _ = writeln!(out, "  {line}");
    }
    if !c.meetings.is_empty() {
        let _ = writeln!(out);
    }
    for m in c.meetings.values() {
        let mt = &m.meeting;
        let host = c.host(mt.session).map_or("—".into(), |h| names.of(h));
        let answers = if c.sees_answers(me, mt.session) {
            format!(
                "{}{}/{}",
                tr("已回复 ", "answered "),
                m.rsvps.len(),
                c.roster.everyone().len()
            )
        } else {
            tr(
                "回复只送主席和执行副主席，本节点不得而知",
                "answers go to the chair and host; this node cannot know them",
            )
            .to_owned()
        };
        let _ = writeln!(
            out,
            "{}  {} {} ({})  {}{host}  [{}]  {answers}",
            mt.display_title(),
            mt.date,
            mt.start,
            mt.tz,
            tr("执行副主席 ", "host "),
            status_text(m),
        );
    }
    for (y, n) in c.thin_years(lianxi::time_fmt::current_year()) {
        let _ = match lang() {
            Lang::Zh => writeln!(
                out,
                "注意：{y} 年只召集了 {n} 次会议；联席会议每年至少召开两次"
            ),
            Lang::En => writeln!(
                out,
                "warning: only {n} meeting(s) convened in {y}; the conference meets at least twice a year"
            ),
        };
    }
    out.trim_end().to_owned()
}

fn rsvp_json(r: &Rsvp) -> Value {
    match r {
        Rsvp::Attend => json!({"answer": "attend"}),
        Rsvp::Delegate { name } => json!({"answer": "delegate", "delegate": name}),
        Rsvp::Absent { reason } => json!({"answer": "absent", "reason": reason}),
    }
}

pub fn meeting_json(c: &Conference, m: &MeetingState, me: &NodeId) -> Value {
    let host = c.host(m.meeting.session);
    let mut at = 0;
    json!({
        "meeting": m.meeting, "uid": m.uid.to_string(), "sequence": m.sequence,
        "status": status(m), "cancelled": m.cancelled,
        "host": host.map(NodeId::as_str),
        "proposals": m.proposals.iter().enumerate().map(|(i, p)| json!({
            "number": i + 1, "id": p.id.to_string(), "from": p.from.as_str(),
            "title": p.item.title, "summary": p.item.summary, "minutes": p.item.minutes,
            "attachments": p.item.attachments.iter().map(|a| &a.name).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "agenda": m.agenda.iter().map(|s| {
            let start = m.meeting.local_time_after(at);
            at += s.minutes;
            json!({"item": s.item.to_string(), "start": start, "minutes": s.minutes,
                   "title": m.proposal(&s.item).map(|p| p.item.title.clone())})
        }).collect::<Vec<_>>(),
        "rsvps": m.rsvps.iter().map(|(n, (r, at))| {
            let mut v = rsvp_json(r);
            v["node"] = json!(n.as_str());
            v["at"] = json!(lianxi::time_fmt::rfc3339(*at));
            v
        }).collect::<Vec<_>>(),
        "answers_visible": c.sees_answers(me, m.meeting.session),
        "unanswered": c.sees_answers(me, m.meeting.session).then(|| json!(ids(&m.unanswered(&c.roster)))),
        "reminders": m.reminders.len(),
        "minutes": m.minutes.as_ref().map(|x| json!({
            "id": x.id.to_string(), "version": x.version, "text": x.text,
            "resolutions": x.resolutions.iter().map(|r| {
                let (f, a, ab) = r.tally();
                json!({"title": r.title, "text": r.text, "adopted": r.adopted(),
                       "consensus": matches!(r.outcome, Outcome::Consensus),
                       "for": f, "against": a, "abstain": ab,
                       "votes": match &r.outcome { Outcome::Votes(v) => json!(v), Outcome::Consensus => json!({}) }})
            }).collect::<Vec<_>>(),
        })),
        "acknowledged": m.acks.keys().map(NodeId::as_str).collect::<Vec<_>>(),
        "unacknowledged": ids(&m.unacknowledged(&c.roster, host)),
    })
}

pub fn meeting_text(c: &Conference, m: &MeetingState, names: &Names, me: &NodeId) -> String {
    let mt = &m.meeting;
    let mut out = String::new();
    let host = c.host(mt.session);
    let min = tr("分钟", "min");
    let _ = writeln!(out, "{}  [{}]", mt.display_title(), status_text(m));
    let _ = writeln!(
        out,
        "{}{} {}, {} {min} ({})",
        tr("时间：", "when: "),
        mt.date,
        mt.start,
        mt.minutes,
        mt.tz
    );
    let _ = writeln!(out, "{}{} {}", tr("地点：", "where: "), mt.place, mt.link);
    let _ = writeln!(
        out,
        "{}{}",
        tr("执行副主席：", "host: "),
        host.map_or("—".into(), |h| names.of(h))
    );
    let _ = writeln!(
        out,
        "{}{}",
        tr("议题征集截止：", "agenda items by: "),
        mt.agenda_deadline
    );
    if let Some(r) = &m.cancelled {
        let _ = writeln!(out, "{}{r}", tr("已取消：", "cancelled: "));
    }
    let _ = writeln!(out, "\n{}", tr("提议议题：", "proposals:"));
    for (i, p) in m.proposals.iter().enumerate() {
        let _ = writeln!(
            out,
            "  #{} {} ({} {min}) — {}",
            i + 1,
            p.item.title,
            p.item.minutes,
            names.of(&p.from)
        );
    }
    if !m.agenda.is_empty() {
        let _ = writeln!(out, "\n{}", tr("议程：", "agenda:"));
        let mut at = 0;
        for s in &m.agenda {
            let title = m.proposal(&s.item).map_or("?", |p| p.item.title.as_str());
            let _ = writeln!(
                out,
                "  {} {title} ({} {min})",
                mt.local_time_after(at),
                s.minutes
            );
            at += s.minutes;
        }
    }
    let _ = writeln!(out, "\n{}", tr("出席：", "attendance:"));
    for (n, (r, _)) in &m.rsvps {
        let a = match r {
            Rsvp::Attend => tr("出席", "attend").to_owned(),
            Rsvp::Delegate { name } => format!("{}{name}", tr("委派：", "delegate: ")),
            Rsvp::Absent { reason } => format!("{}{reason}", tr("请假：", "absent: ")),
        };
        let _ = writeln!(out, "  {}  {a}", names.of(n));
    }
    let un = m.unanswered(&c.roster);
    if !c.sees_answers(me, mt.session) {
        let _ = writeln!(
            out,
            "  {}",
            tr(
                "其他成员的回复只送主席和执行副主席，本节点不得而知",
                "others' answers go to the chair and host only; this node cannot know them"
            )
        );
    } else if !un.is_empty() {
        let _ = writeln!(
            out,
            "  {}{}",
            tr("未回复：", "no answer: "),
            un.iter()
                .map(|n| names.of(n))
                .collect::<Vec<_>>()
                .join(lang().list_sep())
        );
    }
    if let Some(x) = &m.minutes {
        let head = match lang() {
            Lang::Zh => format!("纪要（第{}版）：", x.version),
            Lang::En => format!("minutes (version {}):", x.version),
        };
        let _ = writeln!(out, "\n{head}\n{}", x.text.trim_end());
        for r in &x.resolutions {
            let (f, a, ab) = r.tally();
            let how = match (&r.outcome, lang()) {
                (Outcome::Consensus, _) => tr("协商一致", "consensus").to_owned(),
                (Outcome::Votes(_), Lang::Zh) => {
                    format!("赞成 {f} / 反对 {a} / 弃权 {ab}")
                }
                (Outcome::Votes(_), Lang::En) => {
                    format!("for {f} / against {a} / abstain {ab}")
                }
            };
            let verdict = if r.adopted() {
                tr("通过", "adopted")
            } else {
                tr("未通过", "not adopted")
            };
            let _ = writeln!(
                out,
                "  {}{}: {how}, {verdict}",
                tr("决议 ", "resolution "),
                r.title
            );
        }
        let _ = writeln!(
            out,
            "  {}{}/{}",
            tr("已确认：", "acknowledged: "),
            m.acks.len(),
            m.acks.len() + m.unacknowledged(&c.roster, host).len()
        );
    }
    out.trim_end().to_owned()
}
