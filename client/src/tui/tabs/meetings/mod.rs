//! The Meetings tab's state and its part of `update`: the rotation with
//! "whose turn next", a session's agenda and attendance list, and the host's
//! agenda builder. Pure: archive and network work goes out as [`Effect`]s and
//! comes back as [`Action`]s.

pub mod effects;
pub mod view;

use crate::tui::i18n::Texts;
use crate::tui::widgets::scroll::keep_visible;
use lianxi_shared::MessageId;
use lianxi_shared::conference::{Conference, MeetingState, RemindOf, Slot};

use crate::tui::app::{App, Mode};
use crate::tui::update::{Action, Effect, notice};

/// Minutes added or removed per key press in the agenda builder.
pub const STEP_MINUTES: u32 = 5;

#[derive(Clone, Debug, Default)]
pub struct MeetingsView {
    pub conf: Option<Box<Conference>>,
    pub selected: usize,
    pub scroll: usize,
    pub loaded: bool,
}

impl MeetingsView {
    /// The sessions listed: every turn of the schedule and every convened
    /// meeting, by number.
    pub fn sessions(&self) -> Vec<u32> {
        let Some(c) = &self.conf else {
            return Vec::new();
        };
        let mut v: Vec<u32> = c.meetings.keys().copied().collect();
        if let Some(p) = &c.schedule {
            v.extend(p.turns.iter().map(|t| t.session));
        }
        v.sort_unstable();
        v.dedup();
        v
    }

    pub fn selected_session(&self) -> Option<u32> {
        self.sessions().get(self.selected).copied()
    }

    pub fn selected_meeting(&self) -> Option<&MeetingState> {
        let s = self.selected_session()?;
        self.conf.as_ref()?.meetings.get(&s)
    }
}

/// One proposal in the agenda builder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgendaRow {
    pub item: MessageId,
    pub title: String,
    pub from: String,
    pub minutes: u32,
    pub included: bool,
}

/// The host orders and times proposals into the agenda.
#[derive(Clone, Debug)]
pub struct AgendaBuilder {
    pub session: u32,
    pub title: String,
    /// The meeting's local start, `HH:MM`, and length.
    pub start: String,
    pub length: u32,
    pub rows: Vec<AgendaRow>,
    pub at: usize,
    pub sending: bool,
    pub error: Option<String>,
}

impl AgendaBuilder {
    /// The published agenda first (in its order), then the other proposals.
    pub fn new(m: &MeetingState) -> AgendaBuilder {
        let mut rows: Vec<AgendaRow> = Vec::new();
        let row = |p: &lianxi_shared::conference::Proposal, minutes, included| AgendaRow {
            item: p.id,
            title: p.item.title.clone(),
            from: p.from.to_string(),
            minutes,
            included,
        };
        for s in &m.agenda {
            if let Some(p) = m.proposal(&s.item) {
                rows.push(row(p, s.minutes, true));
            }
        }
        for p in &m.proposals {
            if !rows.iter().any(|r| r.item == p.id) {
                rows.push(row(p, p.item.minutes, m.agenda.is_empty()));
            }
        }
        AgendaBuilder {
            session: m.meeting.session,
            title: m.meeting.display_title(),
            start: m.meeting.start.clone(),
            length: m.meeting.minutes,
            rows,
            at: 0,
            sending: false,
            error: None,
        }
    }

    pub fn total(&self) -> u32 {
        self.rows
            .iter()
            .filter(|r| r.included)
            .map(|r| r.minutes)
            .sum()
    }

    /// Minutes from the meeting's start to row `i` (included rows before it).
    pub fn offset(&self, i: usize) -> u32 {
        self.rows[..i]
            .iter()
            .filter(|r| r.included)
            .map(|r| r.minutes)
            .sum()
    }

    pub fn slots(&self) -> Vec<Slot> {
        self.rows
            .iter()
            .filter(|r| r.included)
            .map(|r| Slot {
                item: r.item,
                minutes: r.minutes,
            })
            .collect()
    }
}

fn load(out: &mut Vec<Effect>) {
    out.push(Effect::LoadConference);
}

fn follow(app: &mut App) {
    let h = app.list_height().saturating_sub(2).max(1);
    let v = &mut app.meetings;
    keep_visible(v.selected, &mut v.scroll, h);
}

/// Entering the tab.
pub fn entered(out: &mut Vec<Effect>) {
    load(out);
    out.push(Effect::LoadDirectory);
}

fn is_host(app: &App, session: u32) -> bool {
    app.meetings
        .conf
        .as_ref()
        .and_then(|c| c.host(session))
        .is_some_and(|h| h == &app.me.node_id)
}

/// Normal-mode actions on the Meetings tab. `None`: not a meetings action.
pub fn normal(app: &mut App, action: &Action, out: &mut Vec<Effect>) -> Option<Mode> {
    let mt = app.lang.meetings();
    let page = app.list_height() as isize;
    let delta = match action {
        Action::Up => -1,
        Action::Down => 1,
        Action::PageUp => -page,
        Action::PageDown => page,
        Action::Top => isize::MIN / 2,
        Action::Bottom => isize::MAX / 2,
        Action::Open => {
            load(out);
            return Some(Mode::Normal);
        }
        Action::EditAgenda => {
            let Some(m) = app.meetings.selected_meeting() else {
                notice(app, mt.not_convened);
                return Some(Mode::Normal);
            };
            let session = m.meeting.session;
            if !is_host(app, session) {
                notice(app, mt.only_host);
                return Some(Mode::Normal);
            }
            if m.minutes.is_some() || m.cancelled.is_some() {
                notice(app, mt.closed);
                return Some(Mode::Normal);
            }
            return Some(Mode::Agenda(Box::new(AgendaBuilder::new(m))));
        }
        Action::Attend => {
            match app.meetings.selected_meeting() {
                Some(m) if m.minutes.is_none() && m.cancelled.is_none() => {
                    out.push(Effect::ConfAttend(m.meeting.session));
                }
                Some(_) => notice(app, mt.closed),
                None => notice(app, mt.not_convened),
            }
            return Some(Mode::Normal);
        }
        Action::Acknowledge => {
            let me = app.me.node_id.clone();
            match app.meetings.selected_meeting() {
                Some(m) if m.minutes.is_some() && !m.acks.contains_key(&me) => {
                    out.push(Effect::ConfAck(m.meeting.session));
                }
                _ => notice(app, mt.nothing_to_ack),
            }
            return Some(Mode::Normal);
        }
        Action::Remind => {
            match app.meetings.selected_meeting() {
                Some(m) if is_host(app, m.meeting.session) => {
                    let of = if m.minutes.is_some() {
                        RemindOf::Minutes
                    } else {
                        RemindOf::Rsvp
                    };
                    out.push(Effect::ConfRemind(m.meeting.session, of));
                }
                _ => notice(app, mt.only_host),
            }
            return Some(Mode::Normal);
        }
        _ => return None,
    };
    let len = app.meetings.sessions().len();
    if len > 0 {
        let next = (app.meetings.selected as isize + delta).clamp(0, len as isize - 1);
        app.meetings.selected = next as usize;
        follow(app);
    }
    Some(Mode::Normal)
}

/// The agenda builder's actions.
pub fn agenda(app: &mut App, mut b: AgendaBuilder, action: Action, out: &mut Vec<Effect>) -> Mode {
    let n = b.rows.len();
    match action {
        Action::Back | Action::Quit => return Mode::Normal,
        Action::Up => b.at = b.at.saturating_sub(1),
        Action::Down => b.at = (b.at + 1).min(n.saturating_sub(1)),
        Action::Char(' ') | Action::Enter if n > 0 => {
            b.rows[b.at].included = !b.rows[b.at].included;
        }
        Action::Right | Action::Char('+') if n > 0 => {
            let r = &mut b.rows[b.at];
            r.minutes = (r.minutes + STEP_MINUTES).min(24 * 60);
        }
        Action::Left | Action::Char('-') if n > 0 => {
            let r = &mut b.rows[b.at];
            r.minutes = r.minutes.saturating_sub(STEP_MINUTES).max(STEP_MINUTES);
        }
        Action::Char('u') if b.at > 0 => {
            b.rows.swap(b.at, b.at - 1);
            b.at -= 1;
        }
        Action::Char('d') if b.at + 1 < n => {
            b.rows.swap(b.at, b.at + 1);
            b.at += 1;
        }
        Action::Submit if !b.sending => {
            let mt = app.lang.meetings();
            if b.total() > b.length {
                b.error = Some(mt.too_long.to_owned());
            } else {
                b.error = None;
                b.sending = true;
                out.push(Effect::PublishAgenda {
                    session: b.session,
                    slots: b.slots(),
                });
            }
        }
        Action::AgendaDone(Ok(done)) => {
            notice(app, app.lang.meetings().done(done));
            load(out);
            return Mode::Normal;
        }
        Action::AgendaDone(Err(e)) => {
            b.sending = false;
            b.error = Some(e);
        }
        other => crate::tui::update::common(app, other, out),
    }
    Mode::Agenda(Box::new(b))
}

/// Results from the runtime (any mode). Returns the action if it is not ours.
pub fn common(app: &mut App, action: Action, out: &mut Vec<Effect>) -> Option<Action> {
    match action {
        Action::ConferenceLoaded(c) => {
            let keep = app.meetings.selected_session();
            app.meetings.conf = Some(c);
            let sessions = app.meetings.sessions();
            let next = app
                .meetings
                .conf
                .as_ref()
                .and_then(|c| c.next_turn(c.upcoming_session()).map(|(s, _)| s));
            let pick = if app.meetings.loaded {
                keep
            } else {
                next.or(keep)
            };
            app.meetings.selected = pick
                .and_then(|k| sessions.iter().position(|s| *s == k))
                .unwrap_or(app.meetings.selected)
                .min(sessions.len().saturating_sub(1));
            app.meetings.loaded = true;
            follow(app);
        }
        Action::ConferenceChanged => load(out),
        Action::ConfDone(r) | Action::AgendaDone(r) => {
            let text = match r {
                Ok(done) => app.lang.meetings().done(done),
                Err(e) => e,
            };
            notice(app, text);
            load(out);
        }
        other => return Some(other),
    }
    None
}

/// What an operation's result tells the user.
pub fn outcome(
    r: crate::Result<crate::conference::ConfQueued>,
) -> Result<(&'static str, usize), String> {
    r.map(|q| (q.kind, q.recipients.len()))
        .map_err(|e| e.to_string())
}
