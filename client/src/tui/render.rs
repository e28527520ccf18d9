//! Drawing the [`App`]. Pure: reads the state, writes into a ratatui frame, so it
//! works on any backend (the terminal, or `TestBackend` in snapshot tests).

use crate::tui::i18n::Texts;
use crate::tui::theme::{bold, dim, selected};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::app::{App, ConnView, Mode, Tab};
use super::i18n::Strings;
use super::widgets::text::{fit, truncate, width, wrap};
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
pub fn audience_text(app: &App, stored: &str) -> String {
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
        Mode::Compose(_) => super::tabs::bulletins::compose::render_compose(f, app, main),
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
            Tab::Directory => format!(" {}", app.directory.items.len()),
            Tab::Outbox => format!(" {}", app.pending),
            Tab::Cases => format!(" {}", app.cases.rows.len()),
            Tab::Meetings => format!(
                " {}",
                app.meetings.conf.as_ref().map_or(0, |c| c.meetings.len())
            ),
            Tab::Bulletins => {
                let l = &app.bulletins;
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
    let mut crl = if app.crl_stale {
        format!("{} │ ", t.crl_stale)
    } else {
        String::new()
    };
    match lianxi_certs::verify::expires_soon(app.me.not_after, app.now_ms / 1000) {
        Some(d) if d < 0 => crl += &format!("{} │ ", t.cert_expired),
        Some(d) => crl += &format!("{} {d} {} │ ", t.cert_expires_in, t.cert_days),
        None => {}
    }
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
    let mut block = Block::new()
        .borders(Borders::ALL)
        .title(format!(" {}{filter} ", t.tabs[app.tab.index()]));
    if app.tab == Tab::Outbox {
        block = super::tabs::outbox::frame(app, block);
    }
    let inner = block.inner(left);
    f.render_widget(block, left);
    let w = usize::from(inner.width);
    let h = usize::from(inner.height);
    let mut lines = Vec::new();
    match app.tab {
        Tab::Directory => super::tabs::directory::list_lines(app, w, h, &mut lines),
        Tab::Outbox => super::tabs::outbox::list_lines(app, w, h, &mut lines),
        _ => {
            let l = &app.bulletins;
            for i in l.scroll..(l.scroll + h).min(l.total) {
                let style = if i == l.selected {
                    selected()
                } else {
                    Style::new()
                };
                match l.row(i) {
                    Some(r) => {
                        lines.push(super::tabs::bulletins::view::message_line(app, r, w, style))
                    }
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

fn render_detail(f: &mut Frame, app: &App, area: Rect) {
    let t = app.lang.t();
    let block = Block::new().borders(Borders::ALL);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let w = usize::from(inner.width).max(2);
    let mut lines: Vec<Line> = Vec::new();
    match app.tab {
        Tab::Directory => super::tabs::directory::detail_lines(app, w, &mut lines),
        Tab::Outbox => super::tabs::outbox::detail_lines(app, w, &mut lines),
        _ => match &app.detail {
            Some(m) => super::tabs::bulletins::view::detail_lines(app, m, w, &mut lines),
            None => lines.push(Line::styled(t.no_selection, dim())),
        },
    }
    f.render_widget(Paragraph::new(lines), inner);
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

/// A bordered box of at most `size` centred in `area`, cleared; returns its inside.
pub fn popup(f: &mut Frame, area: Rect, size: (u16, u16), title: String) -> Rect {
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

/// The keys and what they do; a description wraps under itself instead of
/// being cut, and the popup grows (up to 84 columns) with the terminal.
fn render_help(f: &mut Frame, app: &App, area: Rect) {
    const KEY_W: usize = 24;
    let t = app.lang.t();
    let w = area.width.saturating_sub(4).clamp(40, 84);
    let desc_w = usize::from(w.saturating_sub(2))
        .saturating_sub(KEY_W)
        .max(8);
    let mut lines: Vec<Line> = Vec::new();
    for (k, d) in t.keys {
        for (i, row) in wrap(d, desc_w).into_iter().enumerate() {
            let key = if i == 0 {
                fit(k, KEY_W)
            } else {
                " ".repeat(KEY_W)
            };
            lines.push(Line::from(vec![Span::styled(key, bold()), Span::raw(row)]));
        }
    }
    let h = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let inner = popup(f, area, (w, h), format!(" {} ", t.help_title));
    f.render_widget(Paragraph::new(lines), inner);
}
