//! The compose form's draft: saved as the person types (debounced, by the
//! runtime off the render loop), offered again when the form opens empty,
//! and the question Esc asks when the form has something in it.

use std::path::PathBuf;

use lianxi_shared::{Audience, NodeId};

use crate::archive::drafts::{Draft, DraftKind};
use crate::drafts::{DraftInput, bulletin_fields, new_draft_id};
use crate::tui::app::{App, Compose, Field, Mode, audience_options};
use crate::tui::i18n::Texts;
use crate::tui::update::{Action, Effect, common, notice};

/// A form is saved this long after its last change (a crash loses at most
/// this much typing).
pub const DRAFT_SAVE_MS: i64 = 500;

/// What of a form a draft keeps; compared before and after each action.
type Content = (
    String,
    String,
    usize,
    Vec<NodeId>,
    Vec<(PathBuf, u64)>,
    bool,
);

pub fn content(c: &Compose) -> Content {
    (
        c.title.text(),
        c.body.text(),
        c.audience,
        c.chosen.iter().cloned().collect(),
        c.attachments.clone(),
        c.ack_required,
    )
}

/// Nothing typed and nothing attached.
pub fn is_blank(c: &Compose) -> bool {
    c.title.text().trim().is_empty() && c.body.text().trim().is_empty() && c.attachments.is_empty()
}

/// A new, empty form with its own draft id.
pub fn new_form(app: &mut App) -> Compose {
    app.draft_seq += 1;
    Compose {
        draft: new_draft_id(app.now_ms, app.draft_seq),
        ..Compose::default()
    }
}

/// The form as a draft to save.
pub fn input(c: &Compose) -> DraftInput {
    DraftInput {
        id: c.draft.clone(),
        kind: Some(DraftKind::Bulletin),
        context: String::new(),
        title: c.title.text(),
        body: c.body.text(),
        fields: bulletin_fields(&c.audience(), c.ack_required),
        attachments: c.attachments.clone(),
    }
}

/// A form holding `d`, the cursor at the end of its body.
pub fn restore(d: &Draft) -> Compose {
    let mut c = Compose {
        draft: d.id.clone(),
        offered: true,
        ..Compose::default()
    };
    c.title.set_text(&d.title);
    c.body.set_text(&d.body);
    c.ack_required = d.fields["ack_required"].as_bool().unwrap_or(false);
    let audience: Option<Audience> = d.fields["audience"].as_str().and_then(|a| a.parse().ok());
    let options = audience_options();
    match audience {
        Some(Audience::Nodes(ids)) => {
            c.audience = options.len() - 1;
            c.chosen = ids.into_iter().collect();
        }
        Some(a) => c.audience = options.iter().position(|o| *o == a).unwrap_or(0),
        None => {}
    }
    // Restored files are the draft's own: named, with their size; the
    // bytes stay in the archive.
    c.attachments = d
        .attachments
        .iter()
        .map(|f| (PathBuf::from(&f.name), f.size))
        .collect();
    c.focus = Field::Body;
    c
}

/// The newest bulletin draft other than the form's own.
fn newest(app: &App, own: &str) -> Option<Draft> {
    app.drafts
        .items
        .iter()
        .find(|d| d.kind == DraftKind::Bulletin && d.id != own)
        .cloned()
}

/// What the draft layer does with `action` before the form sees it:
/// `Err(mode)` when it is handled here, `Ok(c)` to go on.
pub fn before(
    app: &mut App,
    mut c: Compose,
    action: Action,
    out: &mut Vec<Effect>,
) -> Result<(Compose, Action), Mode> {
    if c.leaving {
        return Err(leaving(app, c, action, out));
    }
    match action {
        Action::Tick(now) => {
            if let Some(since) = c.dirty_since
                && now - since >= DRAFT_SAVE_MS
            {
                out.push(Effect::SaveDraft(Box::new(input(&c))));
                c.dirty_since = None;
            }
            common(app, Action::Tick(now), out);
            Err(Mode::Compose(Box::new(c)))
        }
        Action::DraftsLoaded(list) => {
            app.drafts.loaded(list);
            if !c.offered && is_blank(&c) {
                c.offer = newest(app, &c.draft).map(Box::new);
            }
            c.offered = true;
            Err(Mode::Compose(Box::new(c)))
        }
        Action::Enter if c.offer.is_some() => {
            let d = c.offer.take().map(|d| *d);
            Err(Mode::Compose(Box::new(d.map_or(c, |d| restore(&d)))))
        }
        Action::Back if c.offer.is_some() => {
            c.offer = None;
            Err(Mode::Compose(Box::new(c)))
        }
        Action::Back if c.picker.is_none() && !is_blank(&c) => {
            c.leaving = true;
            Err(Mode::Compose(Box::new(c)))
        }
        Action::Back if c.picker.is_none() => {
            // Emptied by hand: an autosaved draft of it is not kept.
            out.push(Effect::DeleteDraft(c.draft.clone()));
            Err(Mode::Normal)
        }
        Action::Quit => {
            if !is_blank(&c) {
                out.push(Effect::SaveDraft(Box::new(input(&c))));
            }
            app.quit = true;
            Err(Mode::Compose(Box::new(c)))
        }
        other => {
            c.offer = None;
            Ok((c, other))
        }
    }
}

/// Mark the form changed if `action` changed it.
pub fn after(app: &App, before: &Content, mode: Mode) -> Mode {
    match mode {
        Mode::Compose(mut c) => {
            if c.dirty_since.is_none() && content(&c) != *before {
                c.dirty_since = Some(app.now_ms);
            }
            Mode::Compose(c)
        }
        m => m,
    }
}

/// The Esc question: k or Enter keeps the draft, d discards it, Esc goes
/// back to editing.
fn leaving(app: &mut App, mut c: Compose, action: Action, out: &mut Vec<Effect>) -> Mode {
    let t = app.lang.t();
    match action {
        Action::Char('k' | 'K' | '保') | Action::Enter => {
            out.push(Effect::SaveDraft(Box::new(input(&c))));
            notice(app, t.draft_kept);
            Mode::Normal
        }
        Action::Char('d' | 'D') => {
            out.push(Effect::DeleteDraft(c.draft.clone()));
            notice(app, t.draft_discarded);
            Mode::Normal
        }
        Action::Back => {
            c.leaving = false;
            Mode::Compose(Box::new(c))
        }
        Action::Quit => {
            out.push(Effect::SaveDraft(Box::new(input(&c))));
            app.quit = true;
            Mode::Compose(Box::new(c))
        }
        other => {
            common(app, other, out);
            Mode::Compose(Box::new(c))
        }
    }
}
