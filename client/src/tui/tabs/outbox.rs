//! The outbox tab: what waits to be sent, and why.

use crate::tui::i18n::Texts;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::Block;

use crate::archive::{OutboxItem, OutboxState};
use crate::time_fmt;
use crate::tui::app::{App, Mode};
use crate::tui::render::audience_text;
use crate::tui::theme::{bold, dim, selected};
use crate::tui::update::{Action, Effect};
use crate::tui::widgets::scroll::Selection;
use crate::tui::widgets::text::{fit, truncate, wrap};

/// What waits to be sent (and was), and which entry is selected.
pub type OutboxView = Selection<OutboxItem>;

/// Unsent drafts, and which is selected.
pub type DraftsView = Selection<crate::archive::drafts::Draft>;

/// The list's frame: titled "drafts" when they are shown, with the keys.
pub fn frame(app: &App, block: Block<'static>) -> Block<'static> {
    let t = app.lang.t();
    let block = if app.show_drafts {
        block.title(format!(" {} {} ", t.drafts_title, app.drafts.items.len()))
    } else {
        block
    };
    block.title_bottom(Line::styled(format!(" {} ", t.drafts_hint), dim()))
}

/// The tab's list, `h` rows at most, each `w` columns wide.
pub fn list_lines(app: &App, w: usize, h: usize, lines: &mut Vec<Line<'static>>) {
    let t = app.lang.t();
    if app.show_drafts {
        return draft_lines(app, w, h, lines);
    }
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

/// The drafts, newest first: age and title.
fn draft_lines(app: &App, w: usize, h: usize, lines: &mut Vec<Line<'static>>) {
    let t = app.lang.t();
    if app.drafts.items.is_empty() {
        lines.push(Line::styled(t.drafts_empty, dim()));
    }
    let top = app.drafts.selected.saturating_sub(h.saturating_sub(1));
    for (i, d) in app.drafts.items.iter().enumerate().skip(top).take(h) {
        let title = if d.title.trim().is_empty() {
            t.untitled
        } else {
            d.title.as_str()
        };
        let age = time_fmt::ago(app.now_ms - d.updated_at, app.lang);
        let text = format!("{} {title}", fit(&age, 10));
        let style = if i == app.drafts.selected {
            selected()
        } else {
            Style::new()
        };
        lines.push(Line::styled(fit(&text, w), style));
    }
}

/// The selected draft: what it is, when it was saved, its start.
fn draft_detail(app: &App, w: usize, lines: &mut Vec<Line<'static>>) {
    let t = app.lang.t();
    let Some(d) = app.drafts.current() else {
        return;
    };
    let title = if d.title.trim().is_empty() {
        t.untitled
    } else {
        d.title.as_str()
    };
    lines.push(Line::styled(truncate(title, w), bold()));
    if let Some(a) = d.fields["audience"].as_str() {
        lines.push(Line::raw(truncate(
            &format!("{}: {}", t.to, audience_text(app, a)),
            w,
        )));
    }
    lines.push(Line::raw(truncate(
        &format!(
            "{}: {} · {} {}",
            t.time,
            time_fmt::long(d.updated_at),
            d.body.chars().count(),
            t.chars
        ),
        w,
    )));
    for f in &d.attachments {
        lines.push(Line::raw(truncate(&format!("+ {}", f.name), w)));
    }
    lines.push(Line::raw(""));
    for l in d.body.lines().flat_map(|l| wrap(l, w)).take(12) {
        lines.push(Line::raw(l));
    }
}

/// The selected entry in full.
pub fn detail_lines(app: &App, w: usize, lines: &mut Vec<Line<'static>>) {
    let t = app.lang.t();
    if app.show_drafts {
        return draft_detail(app, w, lines);
    }
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

/// The outbox tab's own keys: `d` shows the drafts (or the outbox again);
/// in the drafts, Enter opens one in the compose form and `x` deletes it.
pub fn normal(app: &mut App, action: &Action, out: &mut Vec<Effect>) -> Option<Mode> {
    match action {
        Action::ToggleDrafts => {
            app.show_drafts = !app.show_drafts;
            out.push(if app.show_drafts {
                Effect::LoadDrafts
            } else {
                Effect::LoadOutbox
            });
        }
        Action::Up | Action::Down if app.show_drafts => {
            let n = app.drafts.items.len();
            let s = &mut app.drafts.selected;
            *s = match action {
                Action::Up => s.saturating_sub(1),
                _ => (*s + 1).min(n.saturating_sub(1)),
            };
        }
        Action::Open if app.show_drafts => {
            let d = app.drafts.current()?;
            out.push(Effect::LoadDirectory);
            let c = crate::tui::tabs::bulletins::draft::restore(d);
            return Some(Mode::Compose(Box::new(c)));
        }
        Action::DeleteDraft if app.show_drafts => {
            let d = app.drafts.current()?;
            out.push(Effect::DeleteDraft(d.id.clone()));
        }
        _ => return None,
    }
    Some(Mode::Normal)
}
