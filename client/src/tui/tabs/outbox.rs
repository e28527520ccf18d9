//! The outbox tab: what waits to be sent, and why.

use crate::tui::i18n::Texts;
use ratatui::style::{Color, Style};
use ratatui::text::Line;

use crate::archive::{OutboxItem, OutboxState};
use crate::time_fmt;
use crate::tui::app::App;
use crate::tui::render::audience_text;
use crate::tui::theme::{bold, selected};
use crate::tui::widgets::scroll::Selection;
use crate::tui::widgets::text::{fit, truncate, wrap};

/// What waits to be sent (and was), and which entry is selected.
pub type OutboxView = Selection<OutboxItem>;

/// The tab's list, `h` rows at most, each `w` columns wide.
pub fn list_lines(app: &App, w: usize, h: usize, lines: &mut Vec<Line<'static>>) {
    let t = app.lang.t();
    for (i, o) in app.outbox.items.iter().enumerate().rev().take(h) {
        let state = match o.state {
            OutboxState::Queued => t.state_queued,
            OutboxState::Sent => t.state_sent,
            OutboxState::Failed => t.state_failed,
        };
        let text = format!("{} {}", fit(state, 5), o.title);
        let style = if i == app.outbox.selected {
            selected()
        } else {
            Style::new()
        };
        lines.push(Line::styled(fit(&text, w), style));
    }
}

/// The selected entry in full.
pub fn detail_lines(app: &App, w: usize, lines: &mut Vec<Line<'static>>) {
    let t = app.lang.t();
    if let Some(o) = app.outbox.current() {
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
