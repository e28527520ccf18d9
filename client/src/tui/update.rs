//! Actions, effects, the key map and the pure `update` function.
//!
//! Key handlers only translate keys into [`Action`]s. [`update`] applies an action
//! to the [`App`] and returns [`Effect`]s: work for the runtime to do off the
//! render loop (archive queries, sending). Results come back as actions.

use crate::tui::i18n::Texts;
use lianxi_shared::{Audience, NodeInfo};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::app::{App, ConnView, Field, Mode, Search, Tab};
use super::tabs::bulletins::list::{self, Page};
use super::tabs::cases::{CaseDetail, IntakeField, TypicalView};
use super::widgets::editor::Editor;
use crate::archive::{MessageRow, OutboxItem, SearchHit};
use crate::sync::ConnState;

/// Search runs after typing pauses this long.
pub const SEARCH_DEBOUNCE_MS: i64 = 250;
const NOTICE_MS: i64 = 6_000;

#[derive(Debug, Clone)]
pub enum Action {
    // Navigation
    NextTab,
    PrevTab,
    GoTab(Tab),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Help,
    Back,
    Quit,
    StartSearch,
    StartCompose,
    // Editing
    Char(char),
    Paste(String),
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    Enter,
    NextField,
    PrevField,
    Submit,
    // From the runtime
    Tick(i64),
    Resize(u16, u16),
    /// A page of the bulletins list.
    PageLoaded(Page),
    DetailLoaded(MessageRow),
    SearchDone {
        query: String,
        hits: Vec<SearchHit>,
    },
    DirectoryLoaded(Vec<NodeInfo>),
    OutboxLoaded {
        items: Vec<OutboxItem>,
        pending: u64,
    },
    Conn(ConnState),
    Arrived(MessageRow),
    Queued(Result<String, String>),
    /// Unsent drafts, newest first.
    DraftsLoaded(Vec<crate::archive::drafts::Draft>),
    /// A draft could not be saved (why).
    DraftNotSaved(String),
    /// The outbox tab: show the drafts, or the outbox.
    ToggleDrafts,
    /// Delete the draft selected in the drafts list.
    DeleteDraft,
    ReceiptsLoaded(crate::archive::bulletins::Receipts),
    /// Acknowledge the bulletin in the detail pane.
    Acknowledge,
    /// Remind the recipients of the bulletin in the detail pane who have not acknowledged.
    Remind,
    /// Cycle the list filter.
    NextFilter,
    Reminded(Result<usize, String>),
    /// Toggle "acknowledgement required" while composing.
    ToggleAck,
    /// A file's size, checked when it was added to a draft.
    Attached(Result<(std::path::PathBuf, u64), String>),
    Flushed {
        sent: usize,
        failed: Vec<String>,
    },
    // Cases
    /// Prepare a typical case from the selected case.
    Typical,
    CasesLoaded {
        view: usize,
        rows: Vec<lianxi_shared::case::CaseState>,
    },
    CaseLoaded(Box<CaseDetail>),
    /// Case messages arrived: reload the list.
    CasesChanged,
    /// The intake was registered (its number) or refused.
    IntakeDone(Result<String, String>),
    TypicalReady(Result<Box<TypicalView>, String>),
    Published(Result<String, String>),
    // Meetings
    /// Open the agenda builder (the host of the selected session).
    EditAgenda,
    /// Answer "attend" to the selected session.
    Attend,
    ConferenceLoaded(Box<lianxi_shared::conference::Conference>),
    /// Conference messages arrived: reload.
    ConferenceChanged,
    /// An RSVP, acknowledgement or reminder went out (or was refused).
    /// What went out (the message kind) and to how many, or why not.
    ConfDone(Result<(&'static str, usize), String>),
    AgendaDone(Result<(&'static str, usize), String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A page of the bulletins list.
    LoadPage {
        start: usize,
        len: usize,
        /// Index into the filter presets.
        preset: usize,
    },
    Remind(String),
    LoadDetail {
        id: String,
        mark_read: bool,
    },
    Search(String),
    LoadDirectory,
    LoadOutbox,
    Queue {
        audience: Audience,
        title: String,
        body: String,
        attachments: Vec<std::path::PathBuf>,
        ack_required: bool,
        /// The form's draft: saved with this content, then sent and deleted
        /// in one transaction.
        draft: String,
    },
    /// Save a form's content as its draft.
    SaveDraft(Box<crate::drafts::DraftInput>),
    DeleteDraft(String),
    LoadDrafts,
    LoadReceipts(String),
    Acknowledge(String),
    /// Check a file to attach (exists, size within the limit).
    CheckAttachment(std::path::PathBuf),
    LoadCases {
        view: usize,
    },
    LoadCase(String),
    Intake(Box<crate::cases::Intake>),
    TypicalDraft(String),
    PublishTypical {
        case: String,
        draft: crate::cases::TypicalDraft,
    },
    LoadConference,
    PublishAgenda {
        session: u32,
        slots: Vec<lianxi_shared::conference::Slot>,
    },
    ConfAttend(u32),
    ConfAck(u32),
    ConfRemind(u32, lianxi_shared::conference::RemindOf),
}

/// Translate a key press into an action for the current mode.
pub fn on_key(app: &App, key: KeyEvent) -> Option<Action> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    let editing = |key: KeyEvent| -> Option<Action> {
        Some(match key.code {
            KeyCode::Char(c) if !ctrl => Action::Char(c),
            KeyCode::Backspace => Action::Backspace,
            KeyCode::Delete => Action::Delete,
            KeyCode::Left => Action::Left,
            KeyCode::Right => Action::Right,
            KeyCode::Home => Action::Home,
            KeyCode::End => Action::End,
            KeyCode::Up => Action::Up,
            KeyCode::Down => Action::Down,
            KeyCode::Enter => Action::Enter,
            KeyCode::Esc => Action::Back,
            _ => return None,
        })
    };
    let form = |key: KeyEvent, choice: bool| -> Option<Action> {
        match key.code {
            KeyCode::Char('s') if ctrl => Some(Action::Submit),
            KeyCode::Tab => Some(Action::NextField),
            KeyCode::BackTab => Some(Action::PrevField),
            KeyCode::Char(' ') if choice => Some(Action::Char(' ')),
            KeyCode::Left if choice => Some(Action::Left),
            KeyCode::Right if choice => Some(Action::Right),
            KeyCode::Enter if choice => Some(Action::NextField),
            KeyCode::Esc => Some(Action::Back),
            _ if choice => None,
            _ => editing(key),
        }
    };
    if super::drafting::of(&app.mode).is_some_and(|d| d.leaving) {
        // The Esc question: keep (k, Enter), discard (d), back (Esc).
        return match key.code {
            KeyCode::Char(ch) => Some(Action::Char(ch)),
            KeyCode::Enter => Some(Action::Enter),
            KeyCode::Esc => Some(Action::Back),
            _ => None,
        };
    }
    match &app.mode {
        Mode::Help => Some(Action::Back),
        Mode::Intake(f) => form(
            key,
            matches!(
                f.focus,
                IntakeField::Category | IntakeField::Support | IntakeField::Urgency
            ),
        ),
        Mode::Typical(_) => form(key, false),
        Mode::Agenda(_) => match key.code {
            KeyCode::Char('s') if ctrl => Some(Action::Submit),
            KeyCode::Up => Some(Action::Up),
            KeyCode::Down => Some(Action::Down),
            KeyCode::Left => Some(Action::Left),
            KeyCode::Right => Some(Action::Right),
            KeyCode::Enter => Some(Action::Enter),
            KeyCode::Esc => Some(Action::Back),
            KeyCode::Char(c @ (' ' | '+' | '-' | 'u' | 'd')) => Some(Action::Char(c)),
            _ => None,
        },
        Mode::Search(_) => editing(key),
        Mode::Compose(c) => match key.code {
            KeyCode::Char('s') if ctrl => Some(Action::Submit),
            KeyCode::Char('r') if ctrl => Some(Action::ToggleAck),
            KeyCode::Tab => Some(Action::NextField),
            KeyCode::BackTab => Some(Action::PrevField),
            KeyCode::Char(' ') if c.picker.is_some() => Some(Action::Char(' ')),
            _ if c.focus == Field::Audience || c.picker.is_some() => match key.code {
                KeyCode::Left => Some(Action::Left),
                KeyCode::Right => Some(Action::Right),
                KeyCode::Up => Some(Action::Up),
                KeyCode::Down => Some(Action::Down),
                KeyCode::Enter => Some(Action::Enter),
                KeyCode::Esc => Some(Action::Back),
                _ => None,
            },
            _ => editing(key),
        },
        Mode::Normal => Some(match key.code {
            KeyCode::Char('q') => Action::Quit,
            KeyCode::Tab | KeyCode::Right | KeyCode::Char('l') => Action::NextTab,
            KeyCode::BackTab | KeyCode::Left | KeyCode::Char('h') => Action::PrevTab,
            KeyCode::Char(c @ '1'..='5') => Action::GoTab(Tab::ALL[(c as u8 - b'1') as usize]),
            KeyCode::Up | KeyCode::Char('k') => Action::Up,
            KeyCode::Down | KeyCode::Char('j') => Action::Down,
            KeyCode::PageUp => Action::PageUp,
            KeyCode::PageDown | KeyCode::Char(' ') => Action::PageDown,
            KeyCode::Home | KeyCode::Char('g') => Action::Top,
            KeyCode::End | KeyCode::Char('G') => Action::Bottom,
            KeyCode::Enter => Action::Open,
            KeyCode::Char('?') => Action::Help,
            KeyCode::Char('/') => Action::StartSearch,
            KeyCode::Char('n') => Action::StartCompose,
            KeyCode::Char('a') => Action::Acknowledge,
            KeyCode::Char('R') => Action::Remind,
            KeyCode::Char('f') => Action::NextFilter,
            KeyCode::Char('t') if app.tab == Tab::Cases => Action::Typical,
            KeyCode::Char('e') if app.tab == Tab::Meetings => Action::EditAgenda,
            KeyCode::Char('y') if app.tab == Tab::Meetings => Action::Attend,
            KeyCode::Char('d') if app.tab == Tab::Outbox => Action::ToggleDrafts,
            KeyCode::Char('x') | KeyCode::Delete if app.tab == Tab::Outbox => Action::DeleteDraft,
            KeyCode::Esc => Action::Back,
            _ => return None,
        }),
    }
}

pub(crate) fn notice(app: &mut App, text: impl Into<String>) {
    app.notice = Some((text.into(), app.now_ms));
}

/// Effects that keep the current tab's window and detail in step with its selection.
fn follow_selection(app: &mut App, out: &mut Vec<Effect>) {
    if app.tab == Tab::Bulletins {
        list::follow(app, out);
    }
}

fn move_selection(app: &mut App, delta: isize, out: &mut Vec<Effect>) {
    let (sel, len) = match app.tab {
        Tab::Directory => (&mut app.directory.selected, app.directory.items.len()),
        Tab::Outbox => (&mut app.outbox.selected, app.outbox.items.len()),
        Tab::Bulletins => (&mut app.bulletins.selected, app.bulletins.total),
        Tab::Cases | Tab::Meetings => return,
    };
    if len == 0 {
        return;
    }
    let next = (*sel as isize + delta).clamp(0, len as isize - 1);
    *sel = next as usize;
    follow_selection(app, out);
}

fn switch_tab(app: &mut App, tab: Tab, out: &mut Vec<Effect>) {
    app.tab = tab;
    app.detail = None;
    match tab {
        Tab::Directory => out.push(Effect::LoadDirectory),
        Tab::Outbox => out.push(Effect::LoadOutbox),
        Tab::Cases => super::tabs::cases::entered(app, out),
        Tab::Meetings => super::tabs::meetings::entered(out),
        _ => follow_selection(app, out),
    }
}

/// Apply one action. Pure: no I/O, no clock; returns the work to do.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    let mut out = Vec::new();
    let mode = std::mem::replace(&mut app.mode, Mode::Normal);
    app.mode = match mode {
        Mode::Compose(c) => super::tabs::bulletins::compose_update(app, *c, action, &mut out),
        Mode::Intake(f) => super::tabs::cases::intake(app, *f, action, &mut out),
        Mode::Typical(v) => super::tabs::cases::typical(app, *v, action, &mut out),
        Mode::Agenda(b) => super::tabs::meetings::agenda(app, *b, action, &mut out),
        Mode::Search(s) => super::search::update(app, s, action, &mut out),
        Mode::Help => match action {
            Action::Back | Action::Quit | Action::Help | Action::Enter | Action::Open => {
                Mode::Normal
            }
            other => {
                common(app, other, &mut out);
                Mode::Help
            }
        },
        Mode::Normal => normal(app, action, &mut out),
    };
    out
}

fn normal(app: &mut App, action: Action, out: &mut Vec<Effect>) -> Mode {
    let page = app.list_height() as isize;
    if app.tab == Tab::Cases
        && let Some(mode) = super::tabs::cases::normal(app, &action, out)
    {
        return mode;
    }
    if app.tab == Tab::Meetings
        && let Some(mode) = super::tabs::meetings::normal(app, &action, out)
    {
        return mode;
    }
    if app.tab == Tab::Outbox
        && let Some(mode) = super::tabs::outbox::normal(app, &action, out)
    {
        return mode;
    }
    match action {
        Action::TypicalReady(Ok(mut v)) => {
            v.drafting = super::drafting::DraftState::new(app);
            out.push(Effect::LoadDrafts);
            return Mode::Typical(v);
        }
        Action::TypicalReady(Err(e)) => notice(app, e),
        Action::Quit => app.quit = true,
        Action::NextTab => switch_tab(app, Tab::ALL[(app.tab.index() + 1) % 5], out),
        Action::PrevTab => switch_tab(app, Tab::ALL[(app.tab.index() + 4) % 5], out),
        Action::GoTab(t) => switch_tab(app, t, out),
        Action::Up => move_selection(app, -1, out),
        Action::Down => move_selection(app, 1, out),
        Action::PageUp => move_selection(app, -page, out),
        Action::PageDown => move_selection(app, page, out),
        Action::Top => move_selection(app, isize::MIN / 2, out),
        Action::Bottom => move_selection(app, isize::MAX / 2, out),
        Action::Open => {
            if let Some(l) = app.list(app.tab)
                && let Some(r) = l.selected_row()
            {
                out.push(Effect::LoadDetail {
                    id: r.id.clone(),
                    mark_read: true,
                });
            }
        }
        Action::Remind => {
            if let Some(d) = app
                .detail
                .as_ref()
                .filter(|d| d.direction == crate::archive::Direction::Out && d.ack_required)
            {
                out.push(Effect::Remind(d.id.clone()));
            }
        }
        Action::NextFilter => {
            if app.tab == Tab::Bulletins {
                list::next_filter(app, out);
            }
        }
        Action::Acknowledge => {
            if let Some(d) = &app.detail
                && d.direction == crate::archive::Direction::In
                && d.ack_required
                && !d.acked
            {
                out.push(Effect::Acknowledge(d.id.clone()));
            }
        }
        Action::Help => return Mode::Help,
        Action::StartSearch => {
            return Mode::Search(Search {
                input: Editor::new(true),
                hits: vec![],
                selected: 0,
                dirty_since: None,
                shown: String::new(),
            });
        }
        Action::StartCompose => {
            out.push(Effect::LoadDirectory);
            out.push(Effect::LoadDrafts);
            let c = super::tabs::bulletins::draft::new_form(app);
            return Mode::Compose(Box::new(c));
        }
        other => common(app, other, out),
    }
    Mode::Normal
}

/// Actions from the runtime, handled the same in every mode.
pub(crate) fn common(app: &mut App, action: Action, out: &mut Vec<Effect>) {
    let Some(action) = super::tabs::cases::common(app, action, out) else {
        return;
    };
    let Some(action) = super::tabs::meetings::common(app, action, out) else {
        return;
    };
    match action {
        Action::Tick(now) => {
            app.now_ms = now;
            if app
                .notice
                .as_ref()
                .is_some_and(|(_, at)| now - at > NOTICE_MS)
            {
                app.notice = None;
            }
        }
        Action::Resize(w, h) => {
            app.size = (w, h);
            follow_selection(app, out);
        }
        Action::PageLoaded(page) => list::loaded(app, page, out),
        Action::DetailLoaded(m) => {
            let selected = app
                .list(app.tab)
                .and_then(|l| l.selected_row())
                .map(|r| r.id.clone());
            if m.read {
                list::mark_read(app, &m.id);
            }
            if selected.as_deref() == Some(m.id.as_str()) {
                if m.direction == crate::archive::Direction::Out && m.kind == "bulletin" {
                    out.push(Effect::LoadReceipts(m.id.clone()));
                } else {
                    app.receipts = None;
                }
                app.detail = Some(m);
            }
        }
        Action::DirectoryLoaded(d) => app.directory.loaded(d),
        Action::OutboxLoaded { items, pending } => {
            app.outbox.loaded(items);
            app.pending = pending;
        }
        Action::Conn(s) => {
            app.conn = match s {
                ConnState::Connecting => ConnView::Connecting,
                ConnState::Connected { hub } => {
                    // Which of the node's hubs it is on now.
                    app.hub_addr = hub;
                    ConnView::Connected
                }
                ConnState::Reconnecting { attempt, in_ms, .. } => {
                    ConnView::Reconnecting { attempt, in_ms }
                }
            };
            if app.conn == ConnView::Connected {
                out.push(Effect::LoadDirectory);
            }
        }
        Action::Arrived(m) if m.kind == "bulletin" => list::arrived(app, out),
        Action::Queued(Ok(_)) => {
            notice(app, app.lang.t().queued);
            out.push(Effect::LoadOutbox);
        }
        Action::Queued(Err(e)) => notice(app, format!("{}: {e}", app.lang.t().send_failed)),
        Action::DraftsLoaded(d) => app.drafts.loaded(d),
        Action::DraftNotSaved(e) => notice(app, format!("{}: {e}", app.lang.t().draft_not_saved)),
        Action::Reminded(Ok(n)) => notice(app, format!("{} {n}", app.lang.t().reminded_n)),
        Action::Reminded(Err(e)) => notice(app, e),
        Action::ReceiptsLoaded(r) if app.detail.as_ref().is_some_and(|d| d.id == r.id) => {
            app.receipts = Some(r)
        }
        Action::Flushed { sent, failed } => {
            if sent > 0 {
                notice(app, format!("{} {sent}", app.lang.t().sent_n));
                list::reload(app, out);
            }
            if let Some(e) = failed.first() {
                notice(app, format!("{}: {e}", app.lang.t().send_failed));
            }
            out.push(Effect::LoadOutbox);
        }
        _ => {}
    }
}

/// Apply an editing action to `ed`; any other action is handed back.
pub(crate) fn edit(ed: &mut Editor, a: Action) -> Option<Action> {
    match a {
        Action::Char(ch) => ed.insert(ch),
        Action::Paste(p) => ed.insert_str(&p),
        Action::Backspace => ed.backspace(),
        Action::Delete => ed.delete(),
        Action::Left => ed.left(),
        Action::Right => ed.right(),
        Action::Home => ed.home(),
        Action::End => ed.end(),
        Action::Up => ed.up(),
        Action::Down => ed.down(),
        other => return Some(other),
    }
    None
}
