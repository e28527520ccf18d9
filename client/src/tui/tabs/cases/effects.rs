//! The Cases tab's effects that need more than one archive call.

use crate::archive::cases::CaseFilter;
use crate::node::Node;
use crate::{ErrorCode, ProtoError, Result};

use crate::tui::tabs::cases::{OVERDUE_DAYS, TypicalView};

/// The archive filter of a list view: all, mine, shared with me, overdue.
pub fn filter(view: usize, now: i64) -> CaseFilter {
    match view {
        1 => CaseFilter {
            mine: Some(true),
            ..Default::default()
        },
        2 => CaseFilter {
            mine: Some(false),
            ..Default::default()
        },
        3 => CaseFilter {
            stale_before: Some(now - OVERDUE_DAYS * 86_400_000),
            ..Default::default()
        },
        _ => CaseFilter::default(),
    }
}

/// A redacted draft and the fields to keep checking it against.
pub async fn typical(node: &Node, key: &str) -> Result<TypicalView> {
    let draft = node.typical_draft(key).await?;
    let file = node.case_file(key).await?;
    let conf = node.case_confidential(&file.state).ok_or_else(|| {
        ProtoError::new(
            ErrorCode::DecryptFailed,
            "this node cannot open the case's confidential fields",
        )
    })?;
    Ok(TypicalView::new(
        file.state.case.to_string(),
        file.state.facts.number.clone(),
        draft,
        conf,
    ))
}
