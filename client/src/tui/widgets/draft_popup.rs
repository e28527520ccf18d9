//! The two questions a form with a draft asks over itself: Esc on a filled
//! form (keep / discard / back), and the offer of the newest draft when the
//! form opens empty.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::archive::drafts::Draft;
use crate::tui::app::App;
use crate::tui::drafting::DraftState;
use crate::tui::i18n::{Strings, Texts};
use crate::tui::render::popup;
use crate::tui::theme::{bold, dim, selected};
use crate::tui::widgets::text::{truncate, width};

/// Draw the question the form is asking, if any; `true` if one is drawn
/// (the form's cursor is then not placed).
pub fn render(f: &mut Frame, app: &App, d: &DraftState, area: Rect) -> bool {
    let t = app.lang.t();
    if d.leaving {
        render_leaving(f, t, area);
        return true;
    }
    if let Some(offer) = &d.offer {
        render_offer(f, app, t, area, offer);
        return true;
    }
    false
}

/// Esc on a form with something in it: keep, discard, or back.
fn render_leaving(f: &mut Frame, t: &Strings, area: Rect) {
    let w = (width(t.leave_hint) + 4).max(30);
    let inner = popup(
        f,
        area,
        (u16::try_from(w).unwrap_or(60), 3),
        format!(" {} ", t.leave_title),
    );
    let line = Line::styled(truncate(t.leave_hint, usize::from(inner.width)), bold());
    f.render_widget(Paragraph::new(line), inner);
}

/// The newest unsent draft, offered when the form opens empty.
fn render_offer(f: &mut Frame, app: &App, t: &Strings, area: Rect, d: &Draft) {
    let inner = popup(f, area, (64, 6), format!(" {} ", t.offer_title));
    let w = usize::from(inner.width);
    let title = if d.title.trim().is_empty() {
        t.untitled
    } else {
        d.title.as_str()
    };
    let first = d.body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let lines = vec![
        Line::styled(truncate(title, w), bold()),
        Line::styled(truncate(first, w), dim()),
        Line::raw(truncate(
            &format!(
                "{} · {} {}",
                crate::time_fmt::ago(app.now_ms - d.updated_at, app.lang),
                d.body.chars().count(),
                t.chars
            ),
            w,
        )),
        Line::styled(truncate(t.offer_hint, w), selected()),
    ];
    f.render_widget(Paragraph::new(lines), inner);
}
