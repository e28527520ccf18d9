//! The compose form (a new bulletin) as the bulletins tab draws it.

use crate::tui::i18n::Texts;
use lianxi_shared::Audience;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::tui::app::{App, Compose, Field, Mode, audience_options};
use crate::tui::i18n::Strings;
use crate::tui::render::{audience_label, popup};
use crate::tui::tabs::bulletins::view::human_size;
use crate::tui::theme::{bold, dim, selected};
use crate::tui::widgets::draft_popup;
use crate::tui::widgets::text::{fit, truncate, width};

pub fn render_compose(f: &mut Frame, app: &App, area: Rect) {
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
    let cursors = [
        (Field::Title, render_title(f, c, t, title_a)),
        (Field::Audience, render_audience(f, app, c, t, aud_a)),
        (Field::Body, render_body(f, c, t, body_a)),
        (Field::Attachments, render_attachments(f, c, t, att_a)),
    ];
    render_hint(f, c, t, hint_a);
    if draft_popup::render(f, app, &c.drafting, area) {
        return;
    }
    match c.picker {
        // The real terminal cursor at the insertion point (input methods draw there).
        None => {
            if let Some((_, Some(at))) = cursors.iter().find(|(fd, _)| *fd == c.focus) {
                f.set_cursor_position(*at);
            }
        }
        Some(sel) => render_picker(f, app, c, t, area, sel),
    }
}

/// A field's frame, highlighted when it has the focus.
fn field(name: &str, focus: bool) -> Block<'static> {
    let style = if focus {
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    Block::new()
        .borders(Borders::ALL)
        .title(Span::styled(format!(" {name} "), style))
        .border_style(style)
}

/// Draws a field's frame and returns the area inside it.
fn framed(f: &mut Frame, name: &str, focus: bool, area: Rect) -> Rect {
    let b = field(name, focus);
    let inner = b.inner(area);
    f.render_widget(b, area);
    inner
}

/// A column index as a terminal x inside `area`, kept inside it.
fn column(area: Rect, col: usize) -> u16 {
    area.x
        + u16::try_from(col)
            .unwrap_or(0)
            .min(area.width.saturating_sub(1))
}

fn render_title(f: &mut Frame, c: &Compose, t: &Strings, area: Rect) -> Option<(u16, u16)> {
    let ti = framed(f, t.field_title, c.focus == Field::Title, area);
    let tl = c.title.layout(usize::from(ti.width).max(2) * 8);
    let first = tl.rows.first().map(String::as_str).unwrap_or("");
    f.render_widget(Paragraph::new(truncate(first, usize::from(ti.width))), ti);
    Some((column(ti, tl.cursor.1), ti.y))
}

fn render_audience(
    f: &mut Frame,
    app: &App,
    c: &Compose,
    t: &Strings,
    area: Rect,
) -> Option<(u16, u16)> {
    let ai = framed(f, t.field_audience, c.focus == Field::Audience, area);
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
    let of = audience_options().len();
    spans.push(Span::styled(format!("  {}/{of}", c.audience + 1), dim()));
    f.render_widget(Paragraph::new(Line::from(spans)), ai);
    None
}

fn render_body(f: &mut Frame, c: &Compose, t: &Strings, area: Rect) -> Option<(u16, u16)> {
    let bi = framed(f, t.field_body, c.focus == Field::Body, area);
    let bl = c.body.layout(usize::from(bi.width).max(2));
    let h = usize::from(bi.height).max(1);
    let top = bl.cursor.0.saturating_sub(h - 1);
    let rows: Vec<Line> = bl
        .rows
        .iter()
        .skip(top)
        .take(h)
        .map(|r| Line::raw(r.clone()))
        .collect();
    f.render_widget(Paragraph::new(rows), bi);
    let y = u16::try_from(bl.cursor.0 - top).unwrap_or(0);
    Some((column(bi, bl.cursor.1), bi.y + y))
}

/// The last three attachments, the path being typed and the receipt option.
fn render_attachments(f: &mut Frame, c: &Compose, t: &Strings, area: Rect) -> Option<(u16, u16)> {
    let xi = framed(f, t.field_attachments, c.focus == Field::Attachments, area);
    let shown = c.attachments.len().min(3);
    let mut lines: Vec<Line> = c.attachments[c.attachments.len() - shown..]
        .iter()
        .map(|(p, size)| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("?");
            let size = human_size(i64::try_from(*size).unwrap_or(i64::MAX));
            Line::raw(fit(&format!("📎 {name} ({size})"), usize::from(xi.width)))
        })
        .collect();
    let input_w = usize::from(xi.width).saturating_sub(width(t.ack_option) + 6);
    let il = c.attach_input.layout(input_w.max(2) * 8);
    let typed = il.rows.first().map(String::as_str).unwrap_or("");
    let (check, style) = if c.ack_required {
        ("[x]", bold().fg(Color::Green))
    } else {
        ("[ ]", dim())
    };
    lines.push(Line::from(vec![
        Span::raw(fit(&format!("+ {typed}"), input_w)),
        Span::styled(format!("  {check} {}", t.ack_option), style),
    ]));
    f.render_widget(Paragraph::new(lines), xi);
    let y = xi.y + u16::try_from(shown).unwrap_or(3);
    Some((column(xi, il.cursor.1 + 2), y))
}

/// The error, or what the keys do in the focused field.
fn render_hint(f: &mut Frame, c: &Compose, t: &Strings, area: Rect) {
    let w = usize::from(area.width);
    let hint = match &c.error {
        Some(e) => Line::styled(
            truncate(e, w),
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
        None if c.focus == Field::Attachments => Line::styled(truncate(t.attach_hint, w), dim()),
        None => Line::styled(truncate(t.compose_hint, w), dim()),
    };
    f.render_widget(Paragraph::new(hint), area);
}

/// The node picker over the form, `sel` the selected directory row.
fn render_picker(f: &mut Frame, app: &App, c: &Compose, t: &Strings, area: Rect, sel: usize) {
    let h = u16::try_from(app.directory.items.len())
        .unwrap_or(20)
        .saturating_add(3)
        .max(5);
    let title = format!(" {} · {} ", t.picker_title, t.picker_hint);
    let pi = popup(f, area, (60, h), title);
    let rows = usize::from(pi.height);
    let top = sel.saturating_sub(rows.saturating_sub(1));
    let lines: Vec<Line> = app
        .directory
        .items
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
            let text = format!("{mark} {} {}", fit(n.node_id.as_str(), 10), n.name);
            Line::styled(fit(&text, usize::from(pi.width)), style)
        })
        .collect();
    f.render_widget(Paragraph::new(lines), pi);
}
