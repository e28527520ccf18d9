//! Drawing the [`App`]. Pure: reads the state, writes into a ratatui frame, so it
//! works on any backend (the terminal, or `TestBackend` in snapshot tests).

use crate::tui::theme::{bold, dim, selected};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::app::{App, ConnView, Field, Mode, Tab, audience_options};
use super::i18n::Strings;
use super::widgets::text::{fit, truncate, width, wrap};
use crate::archive::{MessageRow, OutboxState};
use crate::time_fmt;
use lianxi_shared::Audience;

pub fn audience_label(t: &Strings, a: &Audience) -> String {
    match a {
        Audience::All => t.audience_all.into(),
        Audience::Tier(x) => t.tiers[lianxi_shared::Tier::ALL
            .iter()
            .position(|y| y == x)
            .unwrap_or(0)]
        .into(),
        Audience::Role(x) => t.roles[lianxi_shared::Role::ALL
            .iter()
            .position(|y| y == x)
            .unwrap_or(0)]
        .into(),
        Audience::Nodes(v) if v.is_empty() => t.audience_nodes.into(),
        Audience::Nodes(v) => format!("{} ({})", t.audience_nodes, v.len()),
    }
}

/// An audience as stored (`all`, `provincial`, `role:chair`, `gd,zj`), in words.
fn audience_text(app: &App, stored: &str) -> String {
    let t = app.lang.t();
    match stored.parse::<Audience>() {
        Ok(Audience::Nodes(ids)) => ids
            .iter()
            .map(|id| app.node_name(id.as_str()).unwrap_or(id.as_str()).to_owned())
            .collect::<Vec<_>>()
            .join("、"),
        Ok(a) => audience_label(t, &a),
        Err(_) => stored.to_owned(),
    }
}

pub fn render(f: &mut Frame, app: &App) {
    let area = f.area();
    let [tabs, main, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    render_tabs(f, app, tabs);
    render_status(f, app, status);
    match &app.mode {
        Mode::Compose(_) => render_compose(f, app, main),
        Mode::Search(_) => render_search(f, app, main),
        Mode::Intake(_) => super::tabs::cases::view::render_intake(f, app, main),
        Mode::Typical(_) => super::tabs::cases::view::render_typical(f, app, main),
        Mode::Agenda(_) => super::tabs::meetings::view::render_agenda(f, app, main),
        _ if app.tab == Tab::Meetings => super::tabs::meetings::view::render_meetings(f, app, main),
        _ if app.tab == Tab::Cases => super::tabs::cases::view::render_cases(f, app, main),
        _ => render_main(f, app, main),
    }
    if matches!(app.mode, Mode::Help) {
        render_help(f, app, main);
    }
}

fn render_tabs(f: &mut Frame, app: &App, area: Rect) {
    let t = app.lang.t();
    let mut spans = vec![Span::styled(format!(" {} ", t.app), bold().fg(Color::Red))];
    for (i, tab) in Tab::ALL.iter().enumerate() {
        let count = match tab {
            Tab::Directory => format!(" {}", app.directory.len()),
            Tab::Outbox => format!(" {}", app.pending),
            Tab::Cases => format!(" {}", app.cases.rows.len()),
            Tab::Meetings => format!(
                " {}",
                app.meetings.conf.as_ref().map_or(0, |c| c.meetings.len())
            ),
            _ => {
                let l = &app.lists[i];
                if l.unread > 0 {
                    format!(" {} ({})", l.total, l.unread)
                } else {
                    format!(" {}", l.total)
                }
            }
        };
        let label = format!(" {}{} ", t.tabs[i], count);
        let style = if *tab == app.tab {
            selected().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        spans.push(Span::raw("│"));
        spans.push(Span::styled(label, style));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_status(f: &mut Frame, app: &App, area: Rect) {
    let t = app.lang.t();
    let (dot, state, color) = match app.conn {
        ConnView::Connected => ("●", t.connected.to_owned(), Color::Green),
        ConnView::Connecting => ("◌", t.connecting.to_owned(), Color::Yellow),
        ConnView::Reconnecting { attempt, in_ms } => (
            "◌",
            format!(
                "{} #{attempt} {:.0}s",
                t.reconnecting,
                in_ms as f64 / 1000.0
            ),
            Color::Yellow,
        ),
        ConnView::Offline => ("○", t.offline.to_owned(), Color::Red),
    };
    let crl = if app.crl_stale {
        format!("{} │ ", t.crl_stale)
    } else {
        String::new()
    };
    let left = format!(
        " {state} {} │ {crl}{} {} │ {} {} ",
        app.hub_addr, t.pending, app.pending, app.me.node_id, app.me.name
    );
    let right = match &app.notice {
        Some((n, _)) => format!("{n}  {}", t.help_hint),
        None => t.help_hint.to_owned(),
    };
    let cols = usize::from(area.width);
    let right = truncate(&right, cols.saturating_sub(2) / 2);
    let left_w = cols.saturating_sub(width(&right) + 2);
    let line = Line::from(vec![
        Span::styled(format!(" {dot}"), Style::new().fg(color)),
        Span::raw(fit(&left, left_w)),
        Span::styled(right, dim()),
    ]);
    f.render_widget(
        Paragraph::new(line).style(Style::new().bg(Color::Black)),
        area,
    );
}

fn split(area: Rect) -> [Rect; 2] {
    let list = if area.width >= 100 {
        area.width * 2 / 5
    } else {
        area.width / 2
    };
    Layout::horizontal([Constraint::Length(list), Constraint::Min(10)]).areas(area)
}

fn render_main(f: &mut Frame, app: &App, area: Rect) {
    let [left, right] = split(area);
    let t = app.lang.t();
    let filter = app
        .list(app.tab)
        .filter(|l| l.preset > 0)
        .map(|l| format!(" · {}", t.presets[l.preset]))
        .unwrap_or_default();
    let block = Block::new()
        .borders(Borders::ALL)
        .title(format!(" {}{filter} ", t.tabs[app.tab.index()]));
    let inner = block.inner(left);
    f.render_widget(block, left);
    let w = usize::from(inner.width);
    let h = usize::from(inner.height);
    let mut lines = Vec::new();
    match app.tab {
        Tab::Directory => {
            for (i, n) in app.directory.iter().enumerate().take(h) {
                let tier = t.tiers[lianxi_shared::Tier::ALL
                    .iter()
                    .position(|x| *x == n.tier)
                    .unwrap_or(0)];
                let text = format!(
                    "{} {} {}",
                    fit(n.node_id.as_str(), 10),
                    fit(tier, 6),
                    n.name
                );
                let style = if i == app.dir_selected {
                    selected()
                } else {
                    Style::new()
                };
                lines.push(Line::styled(fit(&text, w), style));
            }
        }
        Tab::Outbox => {
            for (i, o) in app.outbox.iter().enumerate().rev().take(h) {
                let state = match o.state {
                    OutboxState::Queued => t.state_queued,
                    OutboxState::Sent => t.state_sent,
                    OutboxState::Failed => t.state_failed,
                };
                let text = format!("{} {}", fit(state, 5), o.title);
                let style = if i == app.outbox_selected {
                    selected()
                } else {
                    Style::new()
                };
                lines.push(Line::styled(fit(&text, w), style));
            }
        }
        tab => {
            let l = &app.lists[tab.index()];
            for i in l.scroll..(l.scroll + h).min(l.total) {
                let style = if i == l.selected {
                    selected()
                } else {
                    Style::new()
                };
                match l.row(i) {
                    Some(r) => lines.push(message_line(app, r, w, style)),
                    None => lines.push(Line::styled(fit(t.loading, w), style.patch(dim()))),
                }
            }
        }
    }
    if lines.is_empty() {
        lines.push(Line::styled(t.empty, dim()));
    }
    f.render_widget(Paragraph::new(lines), inner);
    render_detail(f, app, right);
}

fn message_line(app: &App, r: &MessageRow, w: usize, style: Style) -> Line<'static> {
    let marker = if r.read { "  " } else { "● " };
    let who = app.node_name(&r.sender).unwrap_or(&r.sender);
    let time = time_fmt::short(r.created_at);
    let wide = w >= 44;
    let meta_w = if wide { 21 } else { 7 };
    let meta = if wide {
        format!(" {} {}", fit(who, 8), time)
    } else {
        format!(" {}", &time[6..])
    };
    let title_w = w.saturating_sub(2 + meta_w);
    let mut s = if r.read {
        style
    } else {
        style.add_modifier(Modifier::BOLD)
    };
    if !r.read {
        s = s.fg(Color::Yellow);
    }
    Line::from(vec![
        Span::styled(marker.to_owned(), s),
        Span::styled(fit(&r.title, title_w), s),
        Span::styled(fit(&meta, meta_w), style.patch(dim())),
    ])
}

fn render_detail(f: &mut Frame, app: &App, area: Rect) {
    let t = app.lang.t();
    let block = Block::new().borders(Borders::ALL);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let w = usize::from(inner.width).max(2);
    let mut lines: Vec<Line> = Vec::new();
    match app.tab {
        Tab::Directory => {
            if let Some(n) = app.directory.get(app.dir_selected) {
                lines.push(Line::styled(truncate(&n.name, w), bold()));
                lines.push(Line::raw(truncate(
                    &format!("{}: {}", t.org_label, n.org),
                    w,
                )));
                lines.push(Line::raw(format!("id: {}", n.node_id)));
                let tier = t.tiers[lianxi_shared::Tier::ALL
                    .iter()
                    .position(|x| *x == n.tier)
                    .unwrap_or(0)];
                lines.push(Line::raw(format!("{}: {tier}", t.tier_label)));
                let roles: Vec<&str> = n
                    .roles
                    .iter()
                    .map(|r| {
                        t.roles[lianxi_shared::Role::ALL
                            .iter()
                            .position(|x| x == r)
                            .unwrap_or(0)]
                    })
                    .collect();
                lines.push(Line::raw(truncate(
                    &format!("{}: {}", t.roles_label, roles.join("、")),
                    w,
                )));
                lines.push(Line::raw(format!(
                    "{}: {}",
                    t.cert_until,
                    time_fmt::long(n.not_after * 1000)
                )));
            }
        }
        Tab::Outbox => {
            if let Some(o) = app.outbox.get(app.outbox_selected) {
                lines.push(Line::styled(truncate(&o.title, w), bold()));
                lines.push(Line::raw(truncate(
                    &format!("{}: {}", t.to, audience_text(app, &o.audience)),
                    w,
                )));
                lines.push(Line::raw(format!(
                    "{}: {}",
                    t.time,
                    time_fmt::long(o.created_at)
                )));
                if let Some(n) = o.recipients {
                    lines.push(Line::raw(format!("{}: {n}", t.recipients)));
                }
                if let Some(e) = &o.last_error {
                    for l in wrap(e, w) {
                        lines.push(Line::styled(l, Style::new().fg(Color::Red)));
                    }
                }
            }
        }
        _ => match &app.detail {
            Some(m) => detail_lines(app, m, w, &mut lines),
            None => lines.push(Line::styled(t.no_selection, dim())),
        },
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// Light Markdown, shown readably: headings bold, list items with bullets,
/// `**strong**` markers dropped.
fn markdown_line(line: &str) -> (String, Style) {
    let trimmed = line.trim_start();
    if let Some(h) = trimmed.strip_prefix('#') {
        return (h.trim_start_matches('#').trim().replace("**", ""), bold());
    }
    let text = match trimmed
        .strip_prefix("- ")
        .or_else(|| trimmed.strip_prefix("* "))
    {
        Some(item) => format!("• {item}"),
        None => line.to_owned(),
    };
    (text.replace("**", ""), Style::new())
}

fn detail_lines(app: &App, m: &MessageRow, w: usize, lines: &mut Vec<Line<'static>>) {
    let t = app.lang.t();
    let d = m.detail.as_deref();
    for l in wrap(&m.title, w) {
        lines.push(Line::styled(l, bold()));
    }
    if m.state == "withdrawn" {
        let reason = d.and_then(|d| d.note.clone()).unwrap_or_default();
        lines.push(Line::styled(
            truncate(&format!("【{}】{reason}", t.withdrawn), w),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ));
    } else if m.revision > 0 {
        let note = d.and_then(|d| d.note.clone()).unwrap_or_default();
        lines.push(Line::styled(
            truncate(&format!("【{} {}】{note}", t.revision, m.revision), w),
            Style::new().fg(Color::Yellow),
        ));
    }
    let who = app
        .node_name(&m.sender)
        .map(|n| format!("{n} ({})", m.sender))
        .unwrap_or(m.sender.clone());
    lines.push(Line::styled(
        truncate(&format!("{}: {who}", t.from), w),
        dim(),
    ));
    if let Some(via) = d.and_then(|d| d.via.as_deref()) {
        let name = app.node_name(via).unwrap_or(via);
        lines.push(Line::styled(
            truncate(&format!("{}: {name}", t.via), w),
            dim(),
        ));
    }
    lines.push(Line::styled(
        truncate(&format!("{}: {}", t.time, time_fmt::long(m.created_at)), w),
        dim(),
    ));
    lines.push(Line::styled(
        truncate(&format!("{}: {}", t.to, audience_text(app, &m.audience)), w),
        dim(),
    ));
    let mut meta = Vec::new();
    if let Some(c) = m
        .category
        .as_deref()
        .and_then(|c| c.parse::<lianxi_shared::payload::Category>().ok())
    {
        meta.push(if app.lang == super::i18n::Lang::Zh {
            c.zh().to_owned()
        } else {
            c.as_str().to_owned()
        });
    }
    if let Some(d) = d {
        meta.extend(d.doc_number.clone());
        meta.extend(d.issuer.clone());
        meta.extend(d.effective.clone());
        if !d.tags.is_empty() {
            meta.push(
                d.tags
                    .iter()
                    .map(|x| format!("#{x}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
    }
    if !meta.is_empty() {
        lines.push(Line::styled(
            truncate(&meta.join(" · "), w),
            Style::new().fg(Color::Cyan),
        ));
    }
    if m.direction == crate::archive::Direction::In && m.ack_required {
        let (text, style) = if m.acked {
            (t.acked.to_owned(), Style::new().fg(Color::Green))
        } else {
            let reminded = if d.and_then(|d| d.reminded_at).is_some() {
                format!(" ({})", t.reminded)
            } else {
                String::new()
            };
            (
                format!("{}{reminded}", t.ack_needed),
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            )
        };
        lines.push(Line::styled(truncate(&text, w), style));
    }
    if let Some(d) = d.filter(|d| d.history.len() > 1) {
        let versions: Vec<String> = d
            .history
            .iter()
            .map(|h| {
                let label = if h.revision == 0 {
                    "0".to_owned()
                } else {
                    h.revision.to_string()
                };
                if h.id == m.id {
                    format!("[{} {label}]", t.revision)
                } else {
                    format!("{} {label}", t.revision)
                }
            })
            .collect();
        lines.push(Line::styled(truncate(&versions.join(" → "), w), dim()));
    }
    if let Some(d) = d.filter(|d| !d.attachments.is_empty()) {
        let list: Vec<String> = d
            .attachments
            .iter()
            .map(|a| format!("{} ({})", a.name, human_size(a.size)))
            .collect();
        lines.push(Line::styled(
            truncate(&format!("{}: {}", t.attachments_label, list.join("、")), w),
            dim(),
        ));
    }
    if let Some(r) = app.receipts.as_ref().filter(|r| r.id == m.id) {
        lines.push(Line::raw(""));
        let summary = format!(
            "{} {}/{} · {} {} · {} {}",
            t.receipts_title,
            r.acknowledged,
            r.recipients.len(),
            t.receipt_states[2],
            r.read,
            t.overdue,
            r.overdue
        );
        lines.push(Line::styled(truncate(&summary, w), bold()));
        for x in &r.recipients {
            let (i, at) = match (x.acked_at, x.read_at, x.delivered_at) {
                (Some(a), _, _) => (3, Some(a)),
                (None, Some(a), _) => (2, Some(a)),
                (None, None, Some(a)) => (1, Some(a)),
                _ => (0, None),
            };
            let name = app.node_name(&x.node_id).unwrap_or(&x.node_id);
            let color = [Color::DarkGray, Color::Blue, Color::Cyan, Color::Green][i];
            let mut spans = vec![
                Span::raw(fit(name, w.saturating_sub(22).clamp(6, 24))),
                Span::styled(
                    fit(&format!(" {}", t.receipt_states[i]), 8),
                    Style::new().fg(color),
                ),
                Span::styled(
                    at.map(|a| format!(" {}", time_fmt::short(a)))
                        .unwrap_or_default(),
                    dim(),
                ),
            ];
            if x.overdue {
                spans.push(Span::styled(
                    format!(" {}", t.overdue),
                    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                ));
            }
            lines.push(Line::from(spans));
            if let Some(reply) = &x.reply {
                lines.push(Line::styled(truncate(&format!("    “{reply}”"), w), dim()));
            }
        }
    }
    lines.push(Line::raw(""));
    for raw in m.body.as_deref().unwrap_or("").split('\n') {
        let (text, style) = markdown_line(raw);
        for l in wrap(&text, w) {
            lines.push(Line::styled(l, style));
        }
    }
}

fn human_size(n: i64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.0} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

fn render_search(f: &mut Frame, app: &App, area: Rect) {
    let Mode::Search(s) = &app.mode else { return };
    let t = app.lang.t();
    let [left, right] = split(area);
    let [input_area, results_area] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(1)]).areas(left);
    let block = Block::new()
        .borders(Borders::ALL)
        .title(format!(" {} / ", t.search_title));
    let inner = block.inner(input_area);
    f.render_widget(block, input_area);
    let layout = s.input.layout(usize::from(inner.width).max(2) * 4);
    f.render_widget(
        Paragraph::new(layout.rows.first().cloned().unwrap_or_default()),
        inner,
    );
    let cx = inner.x
        + u16::try_from(layout.cursor.1)
            .unwrap_or(0)
            .min(inner.width.saturating_sub(1));
    f.set_cursor_position((cx, inner.y));
    let block = Block::new()
        .borders(Borders::ALL)
        .title(format!(" {} ", t.search_hint));
    let inner = block.inner(results_area);
    f.render_widget(block, results_area);
    let w = usize::from(inner.width);
    let mut lines = Vec::new();
    for (i, h) in s.hits.iter().enumerate() {
        let style = if i == s.selected {
            selected()
        } else {
            Style::new()
        };
        lines.push(Line::styled(
            fit(&h.message.title, w),
            style.add_modifier(Modifier::BOLD),
        ));
        lines.push(Line::styled(
            fit(&format!("  {}", h.snippet), w),
            style.patch(dim()),
        ));
    }
    if lines.is_empty() && !s.shown.is_empty() {
        lines.push(Line::styled(t.no_results, dim()));
    }
    f.render_widget(Paragraph::new(lines), inner);
    render_detail(f, app, right);
}

fn render_compose(f: &mut Frame, app: &App, area: Rect) {
    let Mode::Compose(c) = &app.mode else { return };
    let t = app.lang.t();
    let block = Block::new()
        .borders(Borders::ALL)
        .title(format!(" {} ", t.compose_title));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let att_rows = u16::try_from(c.attachments.len().min(3)).unwrap_or(3);
    let [title_a, aud_a, body_a, att_a, hint_a] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(3),
        Constraint::Min(3),
        Constraint::Length(3 + att_rows),
        Constraint::Length(1),
    ])
    .areas(inner);
    let field = |name: &str, focus: bool| {
        let style = if focus {
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        Block::new()
            .borders(Borders::ALL)
            .title(Span::styled(format!(" {name} "), style))
            .border_style(style)
    };
    // Title
    let b = field(t.field_title, c.focus == Field::Title);
    let ti = b.inner(title_a);
    f.render_widget(b, title_a);
    let tl = c.title.layout(usize::from(ti.width).max(2) * 8);
    f.render_widget(
        Paragraph::new(truncate(
            tl.rows.first().map(String::as_str).unwrap_or(""),
            usize::from(ti.width),
        )),
        ti,
    );
    // Audience
    let b = field(t.field_audience, c.focus == Field::Audience);
    let ai = b.inner(aud_a);
    f.render_widget(b, aud_a);
    let opts = audience_options();
    let current = c.audience();
    let label = audience_label(t, &current);
    let mut spans = vec![
        Span::raw("◀ "),
        Span::styled(label, bold()),
        Span::raw(" ▶"),
    ];
    if let Audience::Nodes(v) = &current {
        let names: Vec<&str> = v
            .iter()
            .map(|id| app.node_name(id.as_str()).unwrap_or(id.as_str()))
            .collect();
        spans.push(Span::styled(format!("  {}", names.join("、")), dim()));
    }
    spans.push(Span::styled(
        format!("  {}/{}", c.audience + 1, opts.len()),
        dim(),
    ));
    f.render_widget(Paragraph::new(Line::from(spans)), ai);
    // Body
    let b = field(t.field_body, c.focus == Field::Body);
    let bi = b.inner(body_a);
    f.render_widget(b, body_a);
    let bl = c.body.layout(usize::from(bi.width).max(2));
    let h = usize::from(bi.height).max(1);
    let top = bl.cursor.0.saturating_sub(h - 1);
    f.render_widget(
        Paragraph::new(
            bl.rows
                .iter()
                .skip(top)
                .take(h)
                .map(|r| Line::raw(r.clone()))
                .collect::<Vec<_>>(),
        ),
        bi,
    );
    // Attachments and the receipt option
    let b = field(t.field_attachments, c.focus == Field::Attachments);
    let xi = b.inner(att_a);
    f.render_widget(b, att_a);
    let check = if c.ack_required { "[x]" } else { "[ ]" };
    let mut att_lines: Vec<Line> = c
        .attachments
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(|(p, size)| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("?");
            Line::raw(fit(
                &format!(
                    "📎 {name} ({})",
                    human_size(i64::try_from(*size).unwrap_or(i64::MAX))
                ),
                usize::from(xi.width),
            ))
        })
        .collect();
    let input_w = usize::from(xi.width).saturating_sub(width(t.ack_option) + 6);
    let il = c.attach_input.layout(input_w.max(2) * 8);
    att_lines.push(Line::from(vec![
        Span::raw(fit(
            &format!("+ {}", il.rows.first().map(String::as_str).unwrap_or("")),
            input_w,
        )),
        Span::styled(
            format!("  {check} {}", t.ack_option),
            if c.ack_required {
                bold().fg(Color::Green)
            } else {
                dim()
            },
        ),
    ]));
    f.render_widget(Paragraph::new(att_lines), xi);
    // Hint or error
    let hint = match &c.error {
        Some(e) => Line::styled(
            truncate(e, usize::from(hint_a.width)),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
        None if c.focus == Field::Attachments => {
            Line::styled(truncate(t.attach_hint, usize::from(hint_a.width)), dim())
        }
        None => Line::styled(truncate(t.compose_hint, usize::from(hint_a.width)), dim()),
    };
    f.render_widget(Paragraph::new(hint), hint_a);
    // The real terminal cursor at the insertion point (input methods draw there).
    match c.focus {
        Field::Attachments if c.picker.is_none() => {
            let x = u16::try_from(il.cursor.1 + 2)
                .unwrap_or(0)
                .min(xi.width.saturating_sub(1));
            let y = xi.y + att_rows;
            f.set_cursor_position((xi.x + x, y));
        }
        Field::Title if c.picker.is_none() => {
            let x = u16::try_from(tl.cursor.1)
                .unwrap_or(0)
                .min(ti.width.saturating_sub(1));
            f.set_cursor_position((ti.x + x, ti.y));
        }
        Field::Body if c.picker.is_none() => {
            let x = u16::try_from(bl.cursor.1)
                .unwrap_or(0)
                .min(bi.width.saturating_sub(1));
            let y = u16::try_from(bl.cursor.0 - top).unwrap_or(0);
            f.set_cursor_position((bi.x + x, bi.y + y));
        }
        _ => {}
    }
    if let Some(sel) = c.picker {
        let h = u16::try_from(app.directory.len())
            .unwrap_or(20)
            .saturating_add(3)
            .max(5);
        let pi = popup(
            f,
            area,
            (60, h),
            format!(" {} · {} ", t.picker_title, t.picker_hint),
        );
        let rows = usize::from(pi.height);
        let top = sel.saturating_sub(rows.saturating_sub(1));
        let lines: Vec<Line> = app
            .directory
            .iter()
            .enumerate()
            .skip(top)
            .take(rows)
            .map(|(i, n)| {
                let mark = if c.chosen.contains(&n.node_id) {
                    "[x]"
                } else {
                    "[ ]"
                };
                let style = if i == sel { selected() } else { Style::new() };
                Line::styled(
                    fit(
                        &format!("{mark} {} {}", fit(n.node_id.as_str(), 10), n.name),
                        usize::from(pi.width),
                    ),
                    style,
                )
            })
            .collect();
        f.render_widget(Paragraph::new(lines), pi);
    }
}

/// A bordered box of at most `size` centred in `area`, cleared; returns its inside.
fn popup(f: &mut Frame, area: Rect, size: (u16, u16), title: String) -> Rect {
    let (w, h) = (area.width.min(size.0), area.height.min(size.1));
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    f.render_widget(Clear, rect);
    let block = Block::new().borders(Borders::ALL).title(title);
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    inner
}

fn render_help(f: &mut Frame, app: &App, area: Rect) {
    let t = app.lang.t();
    let h = u16::try_from(t.keys.len()).unwrap_or(10).saturating_add(2);
    let inner = popup(f, area, (56, h), format!(" {} ", t.help_title));
    let lines: Vec<Line> = t
        .keys
        .iter()
        .map(|(k, d)| {
            Line::from(vec![
                Span::styled(fit(k, 24), bold()),
                Span::raw(truncate(d, usize::from(inner.width).saturating_sub(24))),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}
