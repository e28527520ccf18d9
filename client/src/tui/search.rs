//! The search mode: typing a query (debounced), results, opening one.

use crate::tui::app::{App, Mode, Search};
use crate::tui::update::{Action, Effect, SEARCH_DEBOUNCE_MS, common};

pub(crate) fn update(app: &mut App, mut s: Search, action: Action, out: &mut Vec<Effect>) -> Mode {
    let edited = match action {
        Action::Back | Action::Quit => return Mode::Normal,
        Action::Char(c) => {
            s.input.insert(c);
            true
        }
        Action::Paste(p) => {
            s.input.insert_str(&p);
            true
        }
        Action::Backspace => {
            s.input.backspace();
            true
        }
        Action::Delete => {
            s.input.delete();
            true
        }
        Action::Left => {
            s.input.left();
            false
        }
        Action::Right => {
            s.input.right();
            false
        }
        Action::Home => {
            s.input.home();
            false
        }
        Action::End => {
            s.input.end();
            false
        }
        Action::Up => {
            s.selected = s.selected.saturating_sub(1);
            false
        }
        Action::Down => {
            s.selected = (s.selected + 1).min(s.hits.len().saturating_sub(1));
            false
        }
        Action::Enter => {
            if let Some(h) = s.hits.get(s.selected) {
                out.push(Effect::LoadDetail {
                    id: h.message.id.clone(),
                    mark_read: true,
                });
                app.detail = Some(h.message.clone());
            }
            false
        }
        Action::Tick(now) => {
            common(app, Action::Tick(now), out);
            if let Some(t) = s.dirty_since
                && now - t >= SEARCH_DEBOUNCE_MS
            {
                s.dirty_since = None;
                let q = s.input.text();
                if q.trim().is_empty() {
                    s.hits.clear();
                    s.shown = q;
                } else {
                    out.push(Effect::Search(q));
                }
            }
            false
        }
        Action::SearchDone { query, hits } => {
            if query == s.input.text() {
                s.hits = hits;
                s.shown = query;
                s.selected = 0;
            }
            false
        }
        other => {
            common(app, other, out);
            false
        }
    };
    if edited {
        s.dirty_since = Some(app.now_ms);
    }
    Mode::Search(s)
}
