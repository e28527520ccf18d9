//! Drawing the Meetings tab (the rotation, a session with its agenda and
//! attendance list) and the agenda builder. Every cut and wrap goes through
//! `text`, so Chinese never breaks the layout.

use crate::tui::i18n::Texts;
use crate::tui::theme::{bold, dim};
use lianxi_shared::NodeId;
use lianxi_shared::conference::{Conference, MeetingState, Outcome, Rsvp};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::tui::app::{App, Mode};
use crate::tui::i18n::MeetingStrings;
use crate::tui::widgets::text::{fit, width, wrap};

fn heading(text: &str) -> Line<'static> {
    Line::styled(
        format!("── {text} ──"),
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
    )
}

fn name(app: &App, id: &NodeId) -> String {
    let n = app.node_name(id.as_str()).unwrap_or(id.as_str()).to_owned();
    if id == &app.me.node_id {
        format!("{n} ({})", app.lang.meetings().me)
    } else {
        n
    }
}

fn status<'a>(mt: &'a MeetingStrings, m: Option<&MeetingState>) -> &'a str {
    match m {
        None => mt.status[3],
        Some(m) if m.cancelled.is_some() => mt.status[2],
        Some(m) if m.minutes.is_some() => mt.status[1],
        Some(_) => mt.status[0],
    }
}

/// The Meetings tab: the sessions of the rotation on the left, the selected
/// session on the right.
pub fn render_meetings(f: &mut Frame, app: &App, area: Rect) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
    let mt = app.lang.meetings();
    let block = Block::new()
        .borders(Borders::ALL)
        .title(format!(" {} ", mt.title))
        .title_bottom(Span::styled(format!(" {} ", mt.list_hint), dim()));
    let inner = block.inner(left);
    f.render_widget(block, left);
    let w = usize::from(inner.width);
    let v = &app.meetings;
    let Some(c) = &v.conf else {
        f.render_widget(
            Paragraph::new(Line::styled(app.lang.t().empty, dim())),
            inner,
        );
        render_detail(f, app, right);
        return;
    };
    let mut lines = Vec::new();
    let next = c.next_turn(c.upcoming_session());
    match next {
        Some((s, h)) => lines.push(Line::from(vec![
            Span::styled(format!("{}: ", mt.next_turn), dim()),
            Span::styled(
                fit(
                    &format!("{} {}", mt.session(s), name(app, h)),
                    w.saturating_sub(width(mt.next_turn) + 2),
                ),
                bold(),
            ),
        ])),
        None => lines.push(Line::styled(fit(mt.no_schedule, w), dim())),
    }
    for (y, n) in c.thin_years(crate::time_fmt::current_year()) {
        lines.push(Line::styled(
            fit(&format!("⚠ {}", mt.thin_year(y, n)), w),
            Style::new().fg(Color::Red),
        ));
    }
    let sessions = v.sessions();
    let sw = mt.status.iter().map(|s| width(s)).max().unwrap_or(6);
    let room = usize::from(inner.height).saturating_sub(lines.len());
    for (i, s) in sessions.iter().enumerate().skip(v.scroll).take(room) {
        let turn = c
            .schedule
            .as_ref()
            .and_then(|p| p.turns.iter().find(|t| t.session == *s));
        let m = c.meetings.get(s);
        let holder = c.host(*s).map_or("—".to_owned(), |h| name(app, h));
        let cycle = turn.map_or(String::new(), |t| mt.cycle(t.cycle + 1));
        let mark = if next.is_some_and(|(n, _)| n == *s) {
            "▶"
        } else {
            " "
        };
        let date = m.map_or(String::new(), |m| m.meeting.date.clone());
        let head = format!(
            "{mark}{} {} ",
            fit(&mt.session(*s), 7),
            fit(&cycle, width(&mt.cycle(9)))
        );
        // Narrow: the holder matters more than the date.
        let wide = w >= 50;
        let tail = if wide {
            format!(" {} {}", fit(&date, 10), fit(status(mt, m), sw))
        } else {
            format!(" {}", fit(status(mt, m), sw))
        };
        let room = w.saturating_sub(width(&head) + width(&tail));
        let mut style = if i == v.selected {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new()
        };
        if m.is_some_and(|m| m.cancelled.is_some()) {
            style = style.add_modifier(Modifier::CROSSED_OUT);
        }
        lines.push(Line::styled(
            format!("{head}{}{tail}", fit(&holder, room)),
            style,
        ));
    }
    f.render_widget(Paragraph::new(lines), inner);
    render_detail(f, app, right);
}

fn push_wrapped(lines: &mut Vec<Line<'static>>, text: &str, w: usize, style: Style) {
    for row in wrap(text, w) {
        lines.push(Line::styled(row, style));
    }
}

fn render_detail(f: &mut Frame, app: &App, area: Rect) {
    let block = Block::new().borders(Borders::ALL);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mt = app.lang.meetings();
    let w = usize::from(inner.width).max(4);
    let v = &app.meetings;
    let (Some(c), Some(s)) = (&v.conf, v.selected_session()) else {
        f.render_widget(
            Paragraph::new(Line::styled(app.lang.t().no_selection, dim())),
            inner,
        );
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    let host = c.host(s).map_or("—".to_owned(), |h| name(app, h));
    let presidium: Vec<String> = c.presidium(s).iter().map(|n| name(app, n)).collect();
    let Some(m) = c.meetings.get(&s) else {
        lines.push(Line::styled(
            fit(&format!("{}  [{}]", mt.session(s), mt.status[3]), w),
            bold(),
        ));
        push_wrapped(&mut lines, &format!("{}: {host}", mt.host), w, Style::new());
        push_wrapped(
            &mut lines,
            &format!("{}: {}", mt.presidium, presidium.join(app.lang.list_sep())),
            w,
            Style::new(),
        );
        f.render_widget(Paragraph::new(lines), inner);
        return;
    };
    let mtg = &m.meeting;
    let title = format!("{}  [{}]", mtg.display_title(), status(mt, Some(m)));
    push_wrapped(&mut lines, &title, w, bold());
    let end = mtg.local_time_after(mtg.minutes);
    let when = format!(
        "{}: {} {}–{} ({})",
        mt.when, mtg.date, mtg.start, end, mtg.tz
    );
    push_wrapped(&mut lines, &when, w, Style::new());
    let place = [mtg.place.trim(), mtg.link.trim()]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" / ");
    push_wrapped(
        &mut lines,
        &format!("{}: {place}", mt.place),
        w,
        Style::new(),
    );
    push_wrapped(&mut lines, &format!("{}: {host}", mt.host), w, Style::new());
    push_wrapped(
        &mut lines,
        &format!("{}: {}", mt.presidium, presidium.join(app.lang.list_sep())),
        w,
        Style::new(),
    );
    push_wrapped(
        &mut lines,
        &format!("{}: {}", mt.deadline, mtg.agenda_deadline),
        w,
        dim(),
    );
    if let Some(r) = &m.cancelled {
        push_wrapped(
            &mut lines,
            &format!("{}: {r}", mt.status[2]),
            w,
            Style::new().fg(Color::Red),
        );
    }
    agenda_lines(&mut lines, app, m, w);
    attendance_lines(&mut lines, app, c, m, w);
    minutes_lines(&mut lines, app, c, m, w);
    f.render_widget(Paragraph::new(lines), inner);
}

fn agenda_lines(lines: &mut Vec<Line<'static>>, app: &App, m: &MeetingState, w: usize) {
    let mt = app.lang.meetings();
    if !m.agenda.is_empty() {
        lines.push(heading(mt.agenda));
        let mut at = 0;
        for s in &m.agenda {
            let (title, from) = m
                .proposal(&s.item)
                .map_or(("?".to_owned(), String::new()), |p| {
                    (p.item.title.clone(), name(app, &p.from))
                });
            let head = format!(
                "{} {:>3}{} ",
                m.meeting.local_time_after(at),
                s.minutes,
                mt.min
            );
            let room = w.saturating_sub(width(&head));
            lines.push(Line::from(vec![
                Span::raw(head),
                Span::raw(fit(&format!("{title} — {from}"), room)),
            ]));
            at += s.minutes;
        }
    } else if !m.proposals.is_empty() {
        lines.push(heading(mt.proposals));
        for p in &m.proposals {
            let head = format!("· {:>3}{} ", p.item.minutes, mt.min);
            let room = w.saturating_sub(width(&head));
            lines.push(Line::raw(format!(
                "{head}{}",
                fit(&format!("{} — {}", p.item.title, name(app, &p.from)), room)
            )));
        }
    }
}

fn attendance_lines(
    lines: &mut Vec<Line<'static>>,
    app: &App,
    c: &Conference,
    m: &MeetingState,
    w: usize,
) {
    let mt = app.lang.meetings();
    let everyone = c.roster.everyone();
    let sees = c.sees_answers(&app.me.node_id, m.meeting.session);
    if sees {
        lines.push(heading(&format!(
            "{} {}/{} {}",
            mt.attendance,
            m.rsvps.len(),
            everyone.len(),
            mt.answered
        )));
    } else {
        lines.push(heading(mt.attendance));
    }
    for (n, (r, _)) in &m.rsvps {
        let (label, extra, style) = match r {
            Rsvp::Attend => (mt.answers[0], String::new(), Style::new().fg(Color::Green)),
            Rsvp::Delegate { name } => (
                mt.answers[1],
                format!(" ({name})"),
                Style::new().fg(Color::Green),
            ),
            Rsvp::Absent { reason } => (
                mt.answers[2],
                format!(" — {reason}"),
                Style::new().fg(Color::Yellow),
            ),
        };
        let head = format!("{} ", fit(label, 6));
        let room = w.saturating_sub(width(&head));
        lines.push(Line::from(vec![
            Span::styled(head, style),
            Span::raw(fit(&format!("{}{extra}", name(app, n)), room)),
        ]));
    }
    let missing = m.unanswered(&c.roster);
    if !sees {
        for row in wrap(mt.answers_hidden, w.max(1)) {
            lines.push(Line::styled(row, dim()));
        }
    } else if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|n| name(app, n)).collect();
        let head = format!("{} ", fit(mt.answers[3], 6));
        for (i, row) in wrap(
            &names.join(app.lang.list_sep()),
            w.saturating_sub(width(&head)).max(1),
        )
        .into_iter()
        .enumerate()
        {
            let lead = if i == 0 {
                head.clone()
            } else {
                " ".repeat(width(&head))
            };
            lines.push(Line::from(vec![
                Span::styled(lead, Style::new().fg(Color::Red)),
                Span::raw(row),
            ]));
        }
    }
}

fn minutes_lines(
    lines: &mut Vec<Line<'static>>,
    app: &App,
    c: &Conference,
    m: &MeetingState,
    w: usize,
) {
    let mt = app.lang.meetings();
    let Some(x) = &m.minutes else { return };
    lines.push(heading(mt.minutes));
    for r in &x.resolutions {
        let how = match r.outcome {
            Outcome::Consensus => mt.consensus.to_owned(),
            Outcome::Votes(_) => {
                let (f, a, ab) = r.tally();
                mt.votes(f, a, ab)
            }
        };
        let verdict = if r.adopted() { mt.adopted } else { mt.rejected };
        push_wrapped(
            lines,
            &format!("· {}: {how}, {verdict}", r.title),
            w,
            Style::new(),
        );
    }
    let host = c.host(m.meeting.session);
    let total = m.acks.len() + m.unacknowledged(&c.roster, host).len();
    lines.push(Line::styled(
        format!("{} {}/{total}", mt.acknowledged, m.acks.len()),
        dim(),
    ));
}

/// The agenda builder over the whole main area.
pub fn render_agenda(f: &mut Frame, app: &App, area: Rect) {
    let Mode::Agenda(b) = &app.mode else { return };
    let mt = app.lang.meetings();
    let block = Block::new()
        .borders(Borders::ALL)
        .title(format!(" {} · {} ", mt.builder_title, b.title))
        .title_bottom(Span::styled(format!(" {} ", mt.builder_hint), dim()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let w = usize::from(inner.width);
    let mut lines = Vec::new();
    let over = b.total() > b.length;
    lines.push(Line::styled(
        format!("{} {}/{} {}", mt.total, b.total(), b.length, mt.min),
        if over {
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
        } else {
            bold()
        },
    ));
    if let Some(e) = &b.error {
        push_wrapped(&mut lines, e, w, Style::new().fg(Color::Red));
    }
    for (i, r) in b.rows.iter().enumerate() {
        let start = if r.included {
            lianxi_shared::conference::clock_after(&b.start, b.offset(i))
        } else {
            "  —  ".to_owned()
        };
        let check = if r.included { "[x]" } else { "[ ]" };
        let head = format!("{check} {start} {:>4}{} ", r.minutes, mt.min);
        let from = app.node_name(&r.from).unwrap_or(&r.from).to_owned();
        let room = w.saturating_sub(width(&head));
        let style = match (i == b.at, r.included) {
            (true, _) => Style::new().bg(Color::Blue).fg(Color::White),
            (false, true) => Style::new(),
            (false, false) => dim(),
        };
        lines.push(Line::styled(
            format!("{head}{}", fit(&format!("{} — {from}", r.title), room)),
            style,
        ));
    }
    if b.rows.is_empty() {
        lines.push(Line::styled(app.lang.t().empty, dim()));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
