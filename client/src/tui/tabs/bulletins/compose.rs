//! The compose form (a new bulletin) as the bulletins tab draws it.

use lianxi_shared::Audience;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::tui::app::{App, Field, Mode, audience_options};
use crate::tui::render::{audience_label, popup};
use crate::tui::tabs::bulletins::view::human_size;
use crate::tui::theme::{bold, dim, selected};
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
        let h = u16::try_from(app.directory.items.len())
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
