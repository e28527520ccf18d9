//! The Cases tab's state and its part of `update`: the case list with its
//! views, a case's timeline, the intake form and the typical-case preview.
//! Pure like the rest of `update`: archive and network work goes out as
//! [`Effect`]s and comes back as [`Action`]s.

pub mod draft;
pub mod effects;
pub mod view;

use crate::tui::i18n::Texts;
use crate::tui::widgets::scroll::keep_visible;
use lianxi_shared::case::{CaseCategory, CaseState, Confidential, Support, Urgency};

use crate::archive::cases::CaseFile;
use crate::cases::{Intake, TypicalDraft};
use crate::tui::app::{App, Mode};
use crate::tui::drafting::{self, Drafted};
use crate::tui::update::{Action, Effect};
use crate::tui::widgets::editor::Editor;

/// List views, cycled with `f`: all, mine, shared with me, overdue.
pub const CASE_VIEWS: usize = 4;
/// Days without an update after which an open case is overdue.
pub const OVERDUE_DAYS: i64 = 7;

/// A case shown in the detail pane.
#[derive(Clone, Debug)]
pub struct CaseDetail {
    pub file: CaseFile,
    /// Only when this node is a handler and can open them.
    pub confidential: Option<Confidential>,
}

#[derive(Clone, Debug, Default)]
pub struct CasesView {
    pub rows: Vec<CaseState>,
    pub selected: usize,
    pub scroll: usize,
    /// Index of the view (see [`CASE_VIEWS`]).
    pub view: usize,
    pub detail: Option<Box<CaseDetail>>,
    pub loaded: bool,
}

impl CasesView {
    pub fn selected_case(&self) -> Option<&CaseState> {
        self.rows.get(self.selected)
    }
}

/// The fields of the intake form, in tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntakeField {
    Title,
    Category,
    Jurisdiction,
    Enterprise,
    Contact,
    Summary,
    Support,
    Urgency,
}

impl IntakeField {
    pub const ALL: [IntakeField; 8] = [
        IntakeField::Title,
        IntakeField::Category,
        IntakeField::Jurisdiction,
        IntakeField::Enterprise,
        IntakeField::Contact,
        IntakeField::Summary,
        IntakeField::Support,
        IntakeField::Urgency,
    ];
    fn is_choice(self) -> bool {
        matches!(
            self,
            IntakeField::Category | IntakeField::Support | IntakeField::Urgency
        )
    }
}

/// The hotline's intake form (登记), built for speed during a phone call.
#[derive(Clone, Debug)]
pub struct IntakeForm {
    pub focus: IntakeField,
    pub title: Editor,
    pub category: usize,
    pub jurisdiction: Editor,
    pub enterprise: Editor,
    pub contact: Editor,
    pub summary: Editor,
    pub support: [bool; 3],
    /// The support option the cursor is on.
    pub support_at: usize,
    pub urgency: usize,
    pub error: Option<String>,
    pub sending: bool,
    /// Its draft, saved as it is typed (`tui/drafting.rs`).
    pub drafting: crate::tui::drafting::DraftState,
}

impl Default for IntakeForm {
    fn default() -> Self {
        IntakeForm {
            focus: IntakeField::Title,
            title: Editor::new(true),
            category: 0,
            jurisdiction: Editor::new(true),
            enterprise: Editor::new(true),
            contact: Editor::new(true),
            summary: Editor::new(false),
            support: [true, false, false],
            support_at: 0,
            urgency: 0,
            error: None,
            sending: false,
            drafting: Default::default(),
        }
    }
}

impl IntakeForm {
    fn editor(&mut self) -> Option<&mut Editor> {
        Some(match self.focus {
            IntakeField::Title => &mut self.title,
            IntakeField::Jurisdiction => &mut self.jurisdiction,
            IntakeField::Enterprise => &mut self.enterprise,
            IntakeField::Contact => &mut self.contact,
            IntakeField::Summary => &mut self.summary,
            _ => return None,
        })
    }

    /// The form as an intake, or what is missing.
    pub fn to_intake(&self, lang: crate::tui::i18n::Lang) -> Result<Intake, &'static str> {
        let t = lang.cases();
        let need = |e: &Editor, m| {
            if e.text().trim().is_empty() {
                Err(m)
            } else {
                Ok(e.text().trim().to_owned())
            }
        };
        Ok(Intake {
            title: need(&self.title, t.need_title)?,
            category: CaseCategory::ALL[self.category],
            jurisdiction: need(&self.jurisdiction, t.need_jurisdiction)?,
            enterprise: need(&self.enterprise, t.need_enterprise)?,
            contact: self.contact.text().trim().to_owned(),
            summary: self.summary.text(),
            support: Support::ALL
                .iter()
                .zip(self.support)
                .filter(|(_, on)| *on)
                .map(|(s, _)| *s)
                .collect(),
            urgency: Urgency::ALL[self.urgency],
            co_handlers: vec![],
            recused: vec![],
            share: None,
        })
    }
}

/// A redacted typical case under review (典型案例).
#[derive(Clone, Debug)]
pub struct TypicalView {
    pub case: String,
    pub number: String,
    pub title: Editor,
    pub body: Editor,
    /// Editing the title (else the body).
    pub on_title: bool,
    /// Kept in memory on this (handler's) node only, to re-check every edit.
    pub confidential: Confidential,
    pub leaks: usize,
    pub sending: bool,
    pub error: Option<String>,
    /// The text as prepared (unchanged, nothing to keep as a draft).
    pub prepared: (String, String),
    /// Its draft, saved as it is edited (`tui/drafting.rs`).
    pub drafting: crate::tui::drafting::DraftState,
}

impl TypicalView {
    pub fn new(
        case: String,
        number: String,
        draft: TypicalDraft,
        confidential: Confidential,
    ) -> Self {
        let mut title = Editor::new(true);
        title.set_text(&draft.title);
        let mut body = Editor::new(false);
        body.set_text(&draft.body);
        let mut v = TypicalView {
            case,
            number,
            title,
            body,
            on_title: false,
            confidential,
            leaks: 0,
            sending: false,
            error: None,
            prepared: (draft.title.clone(), draft.body.clone()),
            drafting: Default::default(),
        };
        v.recheck();
        v
    }

    pub(crate) fn recheck(&mut self) {
        self.leaks = self
            .confidential
            .leaks(&format!("{}\n{}", self.title.text(), self.body.text()))
            .len();
    }

    pub fn draft(&self) -> TypicalDraft {
        TypicalDraft {
            title: self.title.text(),
            body: self.body.text(),
        }
    }
}

fn load(app: &mut App, out: &mut Vec<Effect>) {
    out.push(Effect::LoadCases {
        view: app.cases.view,
    });
}

fn follow(app: &mut App, out: &mut Vec<Effect>) {
    let h = app.list_height();
    let c = &mut app.cases;
    keep_visible(c.selected, &mut c.scroll, h);
    match c.selected_case() {
        Some(s) if c.detail.as_ref().map(|d| d.file.state.case) != Some(s.case) => {
            out.push(Effect::LoadCase(s.case.to_string()))
        }
        None => c.detail = None,
        _ => {}
    }
}

/// Entering the tab.
pub fn entered(app: &mut App, out: &mut Vec<Effect>) {
    load(app, out);
}

/// Normal-mode actions on the Cases tab. `None`: not a case action.
pub fn normal(app: &mut App, action: &Action, out: &mut Vec<Effect>) -> Option<Mode> {
    let page = app.list_height() as isize;
    let delta = match action {
        Action::Up => -1,
        Action::Down => 1,
        Action::PageUp => -page,
        Action::PageDown => page,
        Action::Top => isize::MIN / 2,
        Action::Bottom => isize::MAX / 2,
        Action::NextFilter => {
            app.cases.view = (app.cases.view + 1) % CASE_VIEWS;
            app.cases.selected = 0;
            app.cases.scroll = 0;
            app.cases.detail = None;
            load(app, out);
            return Some(Mode::Normal);
        }
        Action::StartCompose => {
            out.push(Effect::LoadDirectory);
            out.push(Effect::LoadDrafts);
            let form = IntakeForm {
                drafting: crate::tui::drafting::DraftState::new(app),
                ..IntakeForm::default()
            };
            return Some(Mode::Intake(Box::new(form)));
        }
        Action::Typical => {
            if let Some(s) = app.cases.selected_case() {
                out.push(Effect::TypicalDraft(s.case.to_string()));
            }
            return Some(Mode::Normal);
        }
        Action::Open => {
            if let Some(s) = app.cases.selected_case() {
                out.push(Effect::LoadCase(s.case.to_string()));
            }
            return Some(Mode::Normal);
        }
        _ => return None,
    };
    let len = app.cases.rows.len();
    if len > 0 {
        let next = (app.cases.selected as isize + delta).clamp(0, len as isize - 1);
        app.cases.selected = next as usize;
        follow(app, out);
    }
    Some(Mode::Normal)
}

/// Results from the runtime (any mode).
pub fn common(app: &mut App, action: Action, out: &mut Vec<Effect>) -> Option<Action> {
    match action {
        Action::CasesLoaded { view, rows } if view == app.cases.view => {
            let keep = app.cases.selected_case().map(|s| s.case);
            app.cases.selected = keep
                .and_then(|k| rows.iter().position(|s| s.case == k))
                .unwrap_or(app.cases.selected)
                .min(rows.len().saturating_sub(1));
            app.cases.rows = rows;
            app.cases.loaded = true;
            // The selected case may have changed: reload its timeline.
            app.cases.detail = None;
            follow(app, out);
        }
        Action::CasesLoaded { .. } => {}
        Action::CaseLoaded(d) => {
            if app.cases.selected_case().map(|s| s.case) == Some(d.file.state.case) {
                app.cases.detail = Some(d);
            }
        }
        Action::CasesChanged => load(app, out),
        other => return Some(other),
    }
    None
}

/// The intake form, saved as its draft as it is typed.
pub fn intake(app: &mut App, form: IntakeForm, action: Action, out: &mut Vec<Effect>) -> Mode {
    let (form, action) = match drafting::before(app, form, action, out) {
        Ok(go_on) => go_on,
        Err(mode) => return mode,
    };
    let before = form.content();
    let mode = intake_form(app, form, action, out);
    drafting::after(app, &before, mode)
}

fn intake_form(app: &mut App, mut form: IntakeForm, action: Action, out: &mut Vec<Effect>) -> Mode {
    let pos = IntakeField::ALL
        .iter()
        .position(|f| *f == form.focus)
        .unwrap_or(0);
    let n = IntakeField::ALL.len();
    match action {
        Action::Back => return Mode::Normal,
        Action::NextField => form.focus = IntakeField::ALL[(pos + 1) % n],
        Action::PrevField => form.focus = IntakeField::ALL[(pos + n - 1) % n],
        Action::Left | Action::Right if form.focus.is_choice() => {
            let step = |i: usize, len: usize| match action {
                Action::Left => (i + len - 1) % len,
                _ => (i + 1) % len,
            };
            match form.focus {
                IntakeField::Category => {
                    form.category = step(form.category, CaseCategory::ALL.len())
                }
                IntakeField::Urgency => form.urgency = step(form.urgency, Urgency::ALL.len()),
                _ => form.support_at = step(form.support_at, 3),
            }
        }
        Action::Char(' ') if form.focus == IntakeField::Support => {
            form.support[form.support_at] = !form.support[form.support_at];
        }
        Action::Submit if !form.sending => match form.to_intake(app.lang) {
            Ok(i) => {
                form.sending = true;
                form.error = None;
                out.push(Effect::Intake(Box::new(i)));
            }
            Err(m) => form.error = Some(m.to_owned()),
        },
        Action::IntakeDone(Ok(number)) => {
            out.push(Effect::DeleteDraft(form.drafting.id.clone()));
            crate::tui::update::notice(app, format!("{} {number}", app.lang.cases().registered));
            out.push(Effect::LoadOutbox);
            load(app, out);
            return Mode::Normal;
        }
        Action::IntakeDone(Err(e)) => {
            form.sending = false;
            form.error = Some(e);
        }
        Action::Enter if form.focus == IntakeField::Summary => form.summary.newline(),
        Action::Enter => form.focus = IntakeField::ALL[(pos + 1) % n],
        other => match form.editor() {
            Some(e) => {
                if let Some(rest) = crate::tui::update::edit(e, other) {
                    crate::tui::update::common(app, rest, out);
                }
            }
            None => crate::tui::update::common(app, other, out),
        },
    }
    Mode::Intake(Box::new(form))
}

/// The typical-case preview: edit, see what remains confidential, publish;
/// saved as its draft as it is edited.
pub fn typical(app: &mut App, v: TypicalView, action: Action, out: &mut Vec<Effect>) -> Mode {
    let (v, action) = match drafting::before(app, v, action, out) {
        Ok(go_on) => go_on,
        Err(mode) => return mode,
    };
    let before = v.content();
    let mode = typical_view(app, v, action, out);
    drafting::after(app, &before, mode)
}

fn typical_view(app: &mut App, mut v: TypicalView, action: Action, out: &mut Vec<Effect>) -> Mode {
    match action {
        Action::Back => return Mode::Normal,
        Action::NextField | Action::PrevField => v.on_title = !v.on_title,
        Action::Submit if !v.sending => {
            if v.leaks > 0 {
                v.error = Some(app.lang.cases().still_confidential.to_owned());
            } else {
                v.sending = true;
                out.push(Effect::PublishTypical {
                    case: v.case.clone(),
                    draft: v.draft(),
                });
            }
        }
        Action::Published(Ok(_)) => {
            out.push(Effect::DeleteDraft(v.drafting.id.clone()));
            crate::tui::update::notice(app, app.lang.cases().published);
            out.push(Effect::LoadOutbox);
            return Mode::Normal;
        }
        Action::Published(Err(e)) => {
            v.sending = false;
            v.error = Some(e);
        }
        Action::Enter if !v.on_title => {
            v.body.newline();
            v.recheck();
        }
        other => {
            let e = if v.on_title {
                &mut v.title
            } else {
                &mut v.body
            };
            match crate::tui::update::edit(e, other) {
                None => v.recheck(),
                Some(rest) => crate::tui::update::common(app, rest, out),
            }
        }
    }
    Mode::Typical(Box::new(v))
}
