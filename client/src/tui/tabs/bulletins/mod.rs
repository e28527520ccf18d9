//! The bulletins tab: its list (`list.rs`: state and update), its view, its
//! effects, and the compose form with its update.

pub mod compose;
pub mod draft;
pub mod effects;
pub mod list;
pub mod view;

use crate::tui::i18n::Texts;
use lianxi_shared::Audience;

use crate::tui::app::{App, Compose, Field, Mode, audience_options};
use crate::tui::drafting::{self, Drafted};
use crate::tui::update::{Action, Effect, common, edit};
use crate::tui::widgets::editor::Editor;

pub(crate) fn compose_update(
    app: &mut App,
    c: Compose,
    action: Action,
    out: &mut Vec<Effect>,
) -> Mode {
    let (c, action) = match drafting::before(app, c, action, out) {
        Ok(go_on) => go_on,
        Err(mode) => return mode,
    };
    let before = c.content();
    let mode = form_update(app, c, action, out);
    drafting::after(app, &before, mode)
}

/// The form's own keys: fields, audience, attachments, sending.
fn form_update(app: &mut App, mut c: Compose, action: Action, out: &mut Vec<Effect>) -> Mode {
    let t = app.lang.t();
    if let Some(sel) = c.picker {
        let n = app.directory.items.len();
        match action {
            Action::Up => c.picker = Some(sel.saturating_sub(1)),
            Action::Down => c.picker = Some((sel + 1).min(n.saturating_sub(1))),
            Action::Char(' ') => {
                if let Some(node) = app.directory.items.get(sel) {
                    let id = node.node_id.clone();
                    if !c.chosen.remove(&id) {
                        c.chosen.insert(id);
                    }
                }
            }
            Action::Enter | Action::Back => c.picker = None,
            other => common(app, other, out),
        }
        return Mode::Compose(Box::new(c));
    }
    let options = audience_options().len();
    match action {
        Action::Back => return Mode::Normal,
        Action::NextField | Action::PrevField => {
            let order = [
                Field::Title,
                Field::Audience,
                Field::Body,
                Field::Attachments,
            ];
            let i = order.iter().position(|f| *f == c.focus).unwrap_or(0);
            let step = if matches!(action, Action::NextField) {
                1
            } else {
                3
            };
            c.focus = order[(i + step) % 4];
        }
        Action::Submit => {
            let title = c.title.text().trim().to_owned();
            let audience = c.audience();
            if title.is_empty() {
                c.error = Some(t.need_title.into());
                c.focus = Field::Title;
            } else if matches!(&audience, Audience::Nodes(v) if v.is_empty()) {
                c.error = Some(t.need_nodes.into());
                c.focus = Field::Audience;
            } else {
                out.push(Effect::Queue {
                    audience,
                    title,
                    body: c.body.text(),
                    attachments: c.attachments.iter().map(|(p, _)| p.clone()).collect(),
                    ack_required: c.ack_required,
                    draft: c.drafting.id.clone(),
                });
                return Mode::Normal;
            }
        }
        Action::ToggleAck => c.ack_required = !c.ack_required,
        Action::Attached(Ok((p, size))) => {
            if !c.attachments.iter().any(|(q, _)| *q == p) {
                c.attachments.push((p, size));
            }
            c.attach_input = Editor::new(true);
            c.error = None;
        }
        Action::Attached(Err(e)) => c.error = Some(e),
        a if c.focus == Field::Attachments => match a {
            Action::Enter => {
                let path = c.attach_input.text().trim().to_owned();
                if !path.is_empty() {
                    out.push(Effect::CheckAttachment(path.into()));
                }
            }
            Action::Backspace if c.attach_input.is_empty() => {
                c.attachments.pop();
            }
            Action::Char(ch) => c.attach_input.insert(ch),
            Action::Paste(p) => c.attach_input.insert_str(p.trim()),
            Action::Backspace => c.attach_input.backspace(),
            Action::Delete => c.attach_input.delete(),
            Action::Left => c.attach_input.left(),
            Action::Right => c.attach_input.right(),
            Action::Home => c.attach_input.home(),
            Action::End => c.attach_input.end(),
            other => common(app, other, out),
        },
        a if c.focus == Field::Audience => match a {
            Action::Left => c.audience = (c.audience + options - 1) % options,
            Action::Right => c.audience = (c.audience + 1) % options,
            Action::Enter if c.picks_nodes() => c.picker = Some(0),
            Action::Enter => c.focus = Field::Body,
            other => common(app, other, out),
        },
        a => {
            let ed = if c.focus == Field::Title {
                &mut c.title
            } else {
                &mut c.body
            };
            match a {
                Action::Enter if c.focus == Field::Title => c.focus = Field::Audience,
                Action::Enter => ed.newline(),
                a => {
                    if let Some(other) = edit(ed, a) {
                        common(app, other, out);
                    }
                }
            }
            c.error = None;
        }
    }
    Mode::Compose(Box::new(c))
}
