//! What every form that takes typing does with its draft, whatever the form:
//! it is saved 500 ms after the last change (by the runtime, off the render
//! loop, in order), and on quit; Esc on a form with something in it asks
//! keep / discard / back; a form opened empty offers the newest draft of its
//! kind (and case or session); sending deletes it. A form says how it reads
//! and restores itself through [`Drafted`].

use crate::archive::drafts::{Draft, DraftKind};
use crate::drafts::{DraftInput, new_draft_id};
use crate::tui::app::{App, Mode};
use crate::tui::i18n::Texts;
use crate::tui::update::{Action, Effect, common, notice};

/// A form is saved this long after its last change: a crash loses at most
/// this much typing.
pub const DRAFT_SAVE_MS: i64 = 500;

/// A form's draft bookkeeping.
#[derive(Clone, Debug, Default)]
pub struct DraftState {
    /// The draft the form is saved into.
    pub id: String,
    /// Changed since the last save, at this time (ms).
    pub dirty_since: Option<i64>,
    /// Esc on a form with something in it: keep, discard or go back?
    pub leaving: bool,
    /// The newest unsent draft of this form, offered when it opens empty.
    pub offer: Option<Box<Draft>>,
    /// An offer was made, or the form was restored: not offered again.
    pub offered: bool,
}

impl DraftState {
    /// A new form's state, with a draft id unique to this session.
    pub fn new(app: &mut App) -> DraftState {
        app.draft_seq += 1;
        DraftState {
            id: new_draft_id(app.now_ms, app.draft_seq),
            ..DraftState::default()
        }
    }

    /// A form restored from `d`: saved into `d` again.
    pub fn restored(d: &Draft) -> DraftState {
        DraftState {
            id: d.id.clone(),
            offered: true,
            ..DraftState::default()
        }
    }
}

/// The draft state of the form on screen, if it keeps one.
pub fn of(mode: &Mode) -> Option<&DraftState> {
    match mode {
        Mode::Compose(c) => Some(&c.drafting),
        Mode::Intake(f) => Some(&f.drafting),
        Mode::Typical(v) => Some(&v.drafting),
        _ => None,
    }
}

/// A form that keeps a draft.
pub trait Drafted: Sized {
    const KIND: DraftKind;
    fn drafting(&self) -> &DraftState;
    fn drafting_mut(&mut self) -> &mut DraftState;
    /// The form's content as a draft (its id from [`DraftState`]).
    fn content(&self) -> DraftInput;
    /// Nothing typed yet (choices left as they open do not count).
    fn is_blank(&self) -> bool;
    /// The case or session a draft of this form belongs to ("" for none).
    fn context(&self) -> String {
        String::new()
    }
    /// Esc belongs to something open inside the form (a picker).
    fn takes_esc(&self) -> bool {
        false
    }
    /// This form holding `d` (the cursor at the end of its longest text).
    fn restore(&self, d: &Draft) -> Self;
    fn into_mode(self) -> Mode;
}

/// What the draft layer does with `action` before the form sees it:
/// `Err(mode)` when it is handled here, `Ok` to let the form go on.
pub fn before<F: Drafted>(
    app: &mut App,
    mut f: F,
    action: Action,
    out: &mut Vec<Effect>,
) -> Result<(F, Action), Mode> {
    if f.drafting().leaving {
        return Err(leaving(app, f, action, out));
    }
    let picking = f.takes_esc();
    match action {
        Action::Tick(now) => {
            if let Some(since) = f.drafting().dirty_since
                && now - since >= DRAFT_SAVE_MS
            {
                out.push(Effect::SaveDraft(Box::new(f.content())));
                f.drafting_mut().dirty_since = None;
            }
            common(app, Action::Tick(now), out);
            Err(f.into_mode())
        }
        Action::DraftsLoaded(list) => {
            app.drafts.loaded(list);
            if !f.drafting().offered && f.is_blank() {
                let (own, context) = (f.drafting().id.clone(), f.context());
                f.drafting_mut().offer = app
                    .drafts
                    .items
                    .iter()
                    .find(|d| d.kind == F::KIND && d.id != own && d.context == context)
                    .cloned()
                    .map(Box::new);
            }
            f.drafting_mut().offered = true;
            Err(f.into_mode())
        }
        Action::Enter if f.drafting().offer.is_some() => {
            let d = f.drafting_mut().offer.take();
            Err(match d {
                Some(d) => f.restore(&d).into_mode(),
                None => f.into_mode(),
            })
        }
        Action::Back if f.drafting().offer.is_some() => {
            f.drafting_mut().offer = None;
            Err(f.into_mode())
        }
        Action::Back if !picking && !f.is_blank() => {
            f.drafting_mut().leaving = true;
            Err(f.into_mode())
        }
        Action::Back if !picking => {
            // Emptied by hand: an autosaved draft of it is not kept.
            out.push(Effect::DeleteDraft(f.drafting().id.clone()));
            Err(Mode::Normal)
        }
        Action::Quit => {
            if !f.is_blank() {
                out.push(Effect::SaveDraft(Box::new(f.content())));
            }
            app.quit = true;
            Err(f.into_mode())
        }
        // The offer stays until the form changes: results arriving in the
        // background (the directory, a page, an arrival) do not take it away.
        other => Ok((f, other)),
    }
}

/// Mark the form changed if the action changed what a draft keeps; a change
/// also withdraws the offer of an earlier draft.
pub fn after(app: &App, before: &DraftInput, mode: Mode) -> Mode {
    let mark = |d: &mut DraftState, now: DraftInput| {
        if now != *before {
            d.offer = None;
            if d.dirty_since.is_none() {
                d.dirty_since = Some(app.now_ms);
            }
        }
    };
    match mode {
        Mode::Compose(mut c) => {
            let now = c.content();
            mark(c.drafting_mut(), now);
            Mode::Compose(c)
        }
        Mode::Intake(mut f) => {
            let now = f.content();
            mark(f.drafting_mut(), now);
            Mode::Intake(f)
        }
        Mode::Typical(mut v) => {
            let now = v.content();
            mark(v.drafting_mut(), now);
            Mode::Typical(v)
        }
        m => m,
    }
}

/// The Esc question: k or Enter keeps the draft, d discards it, Esc goes
/// back to editing.
fn leaving<F: Drafted>(app: &mut App, mut f: F, action: Action, out: &mut Vec<Effect>) -> Mode {
    let t = app.lang.t();
    match action {
        Action::Char('k' | 'K') | Action::Enter => {
            out.push(Effect::SaveDraft(Box::new(f.content())));
            notice(app, t.draft_kept);
            Mode::Normal
        }
        Action::Char('d' | 'D') => {
            out.push(Effect::DeleteDraft(f.drafting().id.clone()));
            notice(app, t.draft_discarded);
            Mode::Normal
        }
        Action::Back => {
            f.drafting_mut().leaving = false;
            f.into_mode()
        }
        Action::Quit => {
            out.push(Effect::SaveDraft(Box::new(f.content())));
            app.quit = true;
            f.into_mode()
        }
        other => {
            common(app, other, out);
            f.into_mode()
        }
    }
}
