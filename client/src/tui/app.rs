//! The UI's whole state. Only [`super::update::update`] changes it.

use std::collections::BTreeSet;

use lianxi_shared::{Audience, NodeId, NodeInfo, Role, Tier};

use super::i18n::Lang;
use super::widgets::editor::Editor;
use crate::archive::{MessageRow, SearchHit};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Bulletins,
    Cases,
    Meetings,
    Directory,
    Outbox,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Bulletins,
        Tab::Cases,
        Tab::Meetings,
        Tab::Directory,
        Tab::Outbox,
    ];

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnView {
    Offline,
    Connecting,
    Connected,
    Reconnecting { attempt: u32, in_ms: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Title,
    Audience,
    Body,
    Attachments,
}

/// The audience options offered, in order.
pub fn audience_options() -> Vec<Audience> {
    let mut v = vec![Audience::All];
    v.extend(Tier::ALL.iter().map(|t| Audience::Tier(*t)));
    v.extend(Role::ALL.iter().map(|r| Audience::Role(*r)));
    v.push(Audience::Nodes(vec![]));
    v
}

#[derive(Clone, Debug)]
pub struct Compose {
    pub focus: Field,
    pub title: Editor,
    pub body: Editor,
    /// Index into [`audience_options`].
    pub audience: usize,
    pub chosen: BTreeSet<NodeId>,
    /// The node picker is open, with this directory row selected.
    pub picker: Option<usize>,
    pub error: Option<String>,
    pub sending: bool,
    /// Path being typed in the attachments field.
    pub attach_input: Editor,
    /// Files added: (path, size in bytes).
    pub attachments: Vec<(std::path::PathBuf, u64)>,
    /// Ask recipients to acknowledge (Ctrl-R).
    pub ack_required: bool,
    /// Its draft, saved as it is typed (`tui/drafting.rs`).
    pub drafting: super::drafting::DraftState,
}

impl Default for Compose {
    fn default() -> Self {
        Compose {
            focus: Field::Title,
            title: Editor::new(true),
            body: Editor::new(false),
            audience: 0,
            chosen: BTreeSet::new(),
            picker: None,
            error: None,
            sending: false,
            attach_input: Editor::new(true),
            attachments: vec![],
            ack_required: false,
            drafting: Default::default(),
        }
    }
}

impl Compose {
    pub fn audience(&self) -> Audience {
        match audience_options().swap_remove(self.audience.min(audience_options().len() - 1)) {
            Audience::Nodes(_) => Audience::Nodes(self.chosen.iter().cloned().collect()),
            a => a,
        }
    }
    pub fn picks_nodes(&self) -> bool {
        matches!(self.audience(), Audience::Nodes(_))
    }
}

#[derive(Clone, Debug)]
pub struct Search {
    pub input: Editor,
    pub hits: Vec<SearchHit>,
    pub selected: usize,
    /// The query typed, and when (ms) it last changed; searched after a pause.
    pub dirty_since: Option<i64>,
    /// The query whose results are shown.
    pub shown: String,
}

#[derive(Clone, Debug)]
pub enum Mode {
    Normal,
    Help,
    Search(Search),
    Compose(Box<Compose>),
    /// The case intake form.
    Intake(Box<super::tabs::cases::IntakeForm>),
    /// A typical case being reviewed before publication.
    Typical(Box<super::tabs::cases::TypicalView>),
    /// The host orders and times the agenda.
    Agenda(Box<super::tabs::meetings::AgendaBuilder>),
}

pub struct App {
    pub lang: Lang,
    pub me: NodeInfo,
    pub hub_addr: String,
    pub tab: Tab,
    pub bulletins: super::tabs::bulletins::list::ListView,
    pub directory: super::tabs::directory::DirectoryView,
    pub outbox: super::tabs::outbox::OutboxView,
    /// Unsent drafts, newest first (the outbox tab lists them).
    pub drafts: super::tabs::outbox::DraftsView,
    /// The outbox tab shows the drafts instead of the outbox.
    pub show_drafts: bool,
    /// Drafts made in this session so far (makes each new draft id unique).
    pub draft_seq: u64,
    pub cases: super::tabs::cases::CasesView,
    pub meetings: super::tabs::meetings::MeetingsView,
    pub detail: Option<MessageRow>,
    /// Receipts of the detail, when it is a bulletin this node sent.
    pub receipts: Option<crate::archive::bulletins::Receipts>,
    pub conn: ConnView,
    pub pending: u64,
    pub mode: Mode,
    /// A one-line notice in the status bar, and when it was set (ms).
    pub notice: Option<(String, i64)>,
    /// The newest CRL this node has seen is past its next update: revocations
    /// since may be missing (shown in the status bar until it is renewed).
    pub crl_stale: bool,
    pub now_ms: i64,
    pub size: (u16, u16),
    pub quit: bool,
}

impl App {
    pub fn new(me: NodeInfo, hub_addr: String, lang: Lang) -> App {
        App {
            lang,
            me,
            hub_addr,
            tab: Tab::Bulletins,
            bulletins: Default::default(),
            directory: Default::default(),
            outbox: Default::default(),
            drafts: Default::default(),
            show_drafts: false,
            draft_seq: 0,
            cases: Default::default(),
            meetings: Default::default(),
            detail: None,
            receipts: None,
            conn: ConnView::Offline,
            pending: 0,
            mode: Mode::Normal,
            notice: None,
            crl_stale: false,
            now_ms: 0,
            size: (80, 24),
            quit: false,
        }
    }

    /// The message list a tab shows, if it shows one.
    pub fn list(&self, tab: Tab) -> Option<&super::tabs::bulletins::list::ListView> {
        (tab == Tab::Bulletins).then_some(&self.bulletins)
    }

    /// Rows of the list area (screen height minus tabs, borders and status bar).
    pub fn list_height(&self) -> usize {
        usize::from(self.size.1).saturating_sub(4).max(1)
    }

    pub fn node_name(&self, id: &str) -> Option<&str> {
        self.directory
            .items
            .iter()
            .find(|n| n.node_id.as_str() == id)
            .map(|n| n.name.as_str())
    }
}
