//! The bulletin form as a draft (`tui/drafting.rs` does the rest).

use std::path::PathBuf;

use lianxi_shared::Audience;

use crate::archive::drafts::{Draft, DraftKind};
use crate::drafts::{DraftInput, bulletin_fields};
use crate::tui::app::{App, Compose, Field, Mode, audience_options};
use crate::tui::drafting::{DraftState, Drafted};

/// A new, empty form with its own draft.
pub fn new_form(app: &mut App) -> Compose {
    Compose {
        drafting: DraftState::new(app),
        ..Compose::default()
    }
}

impl Drafted for Compose {
    const KIND: DraftKind = DraftKind::Bulletin;

    fn drafting(&self) -> &DraftState {
        &self.drafting
    }

    fn drafting_mut(&mut self) -> &mut DraftState {
        &mut self.drafting
    }

    fn content(&self) -> DraftInput {
        DraftInput {
            id: self.drafting.id.clone(),
            kind: Some(DraftKind::Bulletin),
            context: String::new(),
            title: self.title.text(),
            body: self.body.text(),
            fields: bulletin_fields(&self.audience(), self.ack_required),
            attachments: self.attachments.clone(),
        }
    }

    fn is_blank(&self) -> bool {
        self.title.text().trim().is_empty()
            && self.body.text().trim().is_empty()
            && self.attachments.is_empty()
    }

    fn takes_esc(&self) -> bool {
        self.picker.is_some()
    }

    fn restore(&self, d: &Draft) -> Compose {
        restore(d)
    }

    fn into_mode(self) -> Mode {
        Mode::Compose(Box::new(self))
    }
}

/// A form holding `d`, the cursor at the end of its body.
pub fn restore(d: &Draft) -> Compose {
    let mut c = Compose {
        drafting: DraftState::restored(d),
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
