//! The intake form and the typical-case editor as drafts
//! (`tui/drafting.rs` does the rest). An intake draft holds the
//! confidential fields as typed: drafts stay in this node's archive.

use lianxi_shared::case::{CaseCategory, Support, Urgency};
use serde_json::json;

use super::{IntakeField, IntakeForm, TypicalView};
use crate::archive::drafts::{Draft, DraftKind};
use crate::drafts::DraftInput;
use crate::tui::app::Mode;
use crate::tui::drafting::{DraftState, Drafted};

impl Drafted for IntakeForm {
    const KIND: DraftKind = DraftKind::CaseIntake;

    fn drafting(&self) -> &DraftState {
        &self.drafting
    }

    fn drafting_mut(&mut self) -> &mut DraftState {
        &mut self.drafting
    }

    fn content(&self) -> DraftInput {
        DraftInput {
            id: self.drafting.id.clone(),
            kind: Some(DraftKind::CaseIntake),
            context: String::new(),
            title: self.title.text(),
            body: self.summary.text(),
            fields: json!({
                "category": CaseCategory::ALL[self.category].as_str(),
                "jurisdiction": self.jurisdiction.text(),
                "enterprise": self.enterprise.text(),
                "contact": self.contact.text(),
                "support": Support::ALL.iter().zip(self.support)
                    .filter(|(_, on)| *on).map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
                "urgency": Urgency::ALL[self.urgency].as_str(),
            }),
            attachments: Vec::new(),
        }
    }

    fn is_blank(&self) -> bool {
        [
            &self.title,
            &self.jurisdiction,
            &self.enterprise,
            &self.contact,
            &self.summary,
        ]
        .iter()
        .all(|e| e.text().trim().is_empty())
    }

    fn restore(&self, d: &Draft) -> IntakeForm {
        let text = |k: &str| d.fields[k].as_str().unwrap_or_default().to_owned();
        let mut f = IntakeForm {
            drafting: DraftState::restored(d),
            ..IntakeForm::default()
        };
        f.title.set_text(&d.title);
        f.summary.set_text(&d.body);
        f.jurisdiction.set_text(&text("jurisdiction"));
        f.enterprise.set_text(&text("enterprise"));
        f.contact.set_text(&text("contact"));
        let code = text("category");
        f.category = CaseCategory::ALL
            .iter()
            .position(|c| c.as_str() == code)
            .unwrap_or(0);
        let code = text("urgency");
        f.urgency = Urgency::ALL
            .iter()
            .position(|u| u.as_str() == code)
            .unwrap_or(0);
        let chosen: Vec<&str> = d.fields["support"]
            .as_array()
            .map(|v| v.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        for (i, s) in Support::ALL.iter().enumerate() {
            f.support[i] = chosen.contains(&s.as_str());
        }
        f.focus = IntakeField::Summary;
        f
    }

    fn into_mode(self) -> Mode {
        Mode::Intake(Box::new(self))
    }
}

impl Drafted for TypicalView {
    const KIND: DraftKind = DraftKind::Typical;

    fn drafting(&self) -> &DraftState {
        &self.drafting
    }

    fn drafting_mut(&mut self) -> &mut DraftState {
        &mut self.drafting
    }

    fn content(&self) -> DraftInput {
        DraftInput {
            id: self.drafting.id.clone(),
            kind: Some(DraftKind::Typical),
            context: self.case.clone(),
            title: self.title.text(),
            body: self.body.text(),
            fields: json!({"number": self.number}),
            attachments: Vec::new(),
        }
    }

    /// Unchanged from the prepared text: nothing of the person's to keep.
    fn is_blank(&self) -> bool {
        (self.title.text(), self.body.text()) == self.prepared
    }

    fn context(&self) -> String {
        self.case.clone()
    }

    fn restore(&self, d: &Draft) -> TypicalView {
        let mut v = self.clone();
        v.drafting = DraftState::restored(d);
        v.title.set_text(&d.title);
        v.body.set_text(&d.body);
        v.on_title = false;
        v.recheck();
        v
    }

    fn into_mode(self) -> Mode {
        Mode::Typical(Box::new(self))
    }
}
