//! The bulletins tab's view: a message's row in a list and its detail.

use crate::tui::i18n::Texts;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::archive::MessageRow;
use crate::archive::bulletins::Receipts;
use crate::time_fmt;
use crate::tui::app::App;
use crate::tui::render::audience_text;
use crate::tui::theme::{bold, dim};
use crate::tui::widgets::text::{fit, truncate, wrap};

pub fn message_line(app: &App, r: &MessageRow, w: usize, style: Style) -> Line<'static> {
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

/// Light Markdown, shown readably: headings bold, list items with bullets,
/// `**strong**` markers dropped.
pub fn markdown_line(line: &str) -> (String, Style) {
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

pub fn detail_lines(app: &App, m: &MessageRow, w: usize, lines: &mut Vec<Line<'static>>) {
    heading(app, m, w, lines);
    facts(app, m, w, lines);
    if let Some(r) = app.receipts.as_ref().filter(|r| r.id == m.id) {
        receipt_lines(app, r, w, lines);
    }
    lines.push(Line::raw(""));
    for raw in m.body.as_deref().unwrap_or("").split('\n') {
        let (text, style) = markdown_line(raw);
        for l in wrap(&text, w) {
            lines.push(Line::styled(l, style));
        }
    }
}

/// Title, its state in the thread, sender, forwarder, time and audience.
fn heading(app: &App, m: &MessageRow, w: usize, lines: &mut Vec<Line<'static>>) {
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
    if let Some(via) = m.via.as_deref() {
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
}

/// Category and document metadata, the receipt asked for, the versions and
/// the attachments.
fn facts(app: &App, m: &MessageRow, w: usize, lines: &mut Vec<Line<'static>>) {
    let t = app.lang.t();
    let d = m.detail.as_deref();
    let mut meta = Vec::new();
    if let Some(c) = m
        .category
        .as_deref()
        .and_then(|c| c.parse::<lianxi_shared::payload::Category>().ok())
    {
        meta.push(if app.lang == crate::tui::i18n::Lang::Zh {
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
}

/// Who has received, read and acknowledged a bulletin this node sent.
fn receipt_lines(app: &App, r: &Receipts, w: usize, lines: &mut Vec<Line<'static>>) {
    let t = app.lang.t();
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

pub fn human_size(n: i64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.0} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
