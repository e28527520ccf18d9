//! The bulletins list: a window of rows around the selection, its filter
//! presets, and how it follows the selection, arrivals and sends.

use crate::archive::MessageRow;
use crate::tui::app::App;
use crate::tui::update::Effect;
use crate::tui::widgets::scroll::keep_visible;

/// Rows loaded around the selection. Only a window of a list is ever in memory.
pub const PAGE: usize = 200;

#[derive(Clone, Debug, Default)]
pub struct ListView {
    pub total: usize,
    pub unread: usize,
    /// Index of `rows[0]` in the whole list.
    pub start: usize,
    pub rows: Vec<MessageRow>,
    pub selected: usize,
    /// First visible row.
    pub scroll: usize,
    pub loading: bool,
    /// Index into [`PRESETS`].
    pub preset: usize,
}

/// List filter presets, cycled with `f`: all, unread, awaiting my
/// acknowledgement, then each bulletin category.
pub const PRESETS: usize = 7;

/// The archive filter for a preset.
pub fn preset_filter(preset: usize) -> crate::archive::bulletins::Filter {
    let mut f = crate::archive::bulletins::Filter {
        kind: Some("bulletin".to_owned()),
        ..Default::default()
    };
    match preset {
        1 => f.unread = true,
        2 => f.unacked = true,
        3..=6 => {
            f.category = Some(
                lianxi_shared::payload::Category::ALL[preset - 3]
                    .as_str()
                    .to_owned(),
            )
        }
        _ => {}
    }
    f
}

impl ListView {
    pub fn row(&self, i: usize) -> Option<&MessageRow> {
        i.checked_sub(self.start).and_then(|j| self.rows.get(j))
    }
    pub fn selected_row(&self) -> Option<&MessageRow> {
        self.row(self.selected)
    }
    /// Whether the selection is outside the loaded window (or near its edge).
    pub fn needs_page(&self) -> bool {
        if self.total == 0 {
            return false;
        }
        let end = self.start + self.rows.len();
        let near_end = end < self.total && self.selected + 20 >= end;
        let near_start = self.start > 0 && self.selected < self.start + 20;
        self.selected < self.start || self.selected >= end || near_end || near_start
    }
    pub fn page_start(&self) -> usize {
        self.selected.saturating_sub(PAGE / 2)
    }
}

/// Keep the window and the detail in step with the selection.
pub(crate) fn follow(app: &mut App, out: &mut Vec<Effect>) {
    let height = app.list_height();
    let l = &mut app.bulletins;
    keep_visible(l.selected, &mut l.scroll, height);
    if l.needs_page() && !l.loading {
        l.loading = true;
        out.push(Effect::LoadPage {
            start: l.page_start(),
            len: PAGE,
            preset: l.preset,
        });
    }
    let id = l.selected_row().map(|r| r.id.clone());
    match id {
        Some(id) if app.detail.as_ref().map(|d| &d.id) != Some(&id) => {
            out.push(Effect::LoadDetail {
                id,
                mark_read: false,
            })
        }
        None => app.detail = None,
        _ => {}
    }
}

/// Show the next filter preset, from the top.
pub(crate) fn next_filter(app: &mut App, out: &mut Vec<Effect>) {
    let l = &mut app.bulletins;
    l.preset = (l.preset + 1) % PRESETS;
    l.selected = 0;
    l.scroll = 0;
    l.start = 0;
    l.rows.clear();
    l.loading = true;
    app.detail = None;
    out.push(Effect::LoadPage {
        start: 0,
        len: PAGE,
        preset: l.preset,
    });
}

/// A page came back from the archive.
pub(crate) fn loaded(app: &mut App, page: Page, out: &mut Vec<Effect>) {
    let l = &mut app.bulletins;
    if page.preset != l.preset {
        return; // a page for a filter no longer shown
    }
    l.loading = false;
    l.total = page.total;
    l.unread = page.unread;
    l.start = page.start;
    l.rows = page.rows;
    l.selected = l.selected.min(page.total.saturating_sub(1));
    if app.tab == crate::tui::app::Tab::Bulletins {
        follow(app, out);
    }
}

/// A bulletin arrived: reload the window, keeping the selection on the same
/// message (the list is newest first).
pub(crate) fn arrived(app: &mut App, out: &mut Vec<Effect>) {
    let shown = app.tab == crate::tui::app::Tab::Bulletins;
    let l = &mut app.bulletins;
    if l.total > 0 && (l.selected > 0 || !shown) {
        l.selected += 1;
        l.scroll += usize::from(l.scroll > 0);
    }
    reload(app, out);
}

/// Load the current window again.
pub(crate) fn reload(app: &mut App, out: &mut Vec<Effect>) {
    let l = &mut app.bulletins;
    l.loading = true;
    out.push(Effect::LoadPage {
        start: l.start,
        len: PAGE,
        preset: l.preset,
    });
}

/// A message was opened and is read now.
pub(crate) fn mark_read(app: &mut App, id: &str) {
    let l = &mut app.bulletins;
    if let Some(r) = l.rows.iter_mut().find(|r| r.id == id)
        && !r.read
    {
        r.read = true;
        l.unread = l.unread.saturating_sub(1);
    }
}

/// One page of the list, as loaded.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub start: usize,
    pub total: usize,
    pub unread: usize,
    pub rows: Vec<MessageRow>,
    /// The filter preset it was loaded for.
    pub preset: usize,
}
