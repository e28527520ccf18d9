//! The Cases tab's effects that need more than one archive call.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::archive::cases::CaseFilter;
use crate::node::Node;
use crate::sync::NetCmd;
use crate::tui::update::{Action, Effect};
use crate::{ErrorCode, ProtoError, Result, now_ms};

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

/// Do one of this tab's effects; the result comes back through `send`.
pub(crate) async fn run(
    node: &Arc<Node>,
    net: &mpsc::Sender<NetCmd>,
    send: &(dyn Fn(Action) + Send + Sync),
    effect: Effect,
) -> Result<()> {
    match effect {
        Effect::LoadCases { view } => {
            let me = node.me.node_id.clone();
            let f = filter(view, now_ms());
            let rows = node.archive.call(move |a| a.cases(&me, &f)).await?;
            send(Action::CasesLoaded { view, rows });
        }
        Effect::LoadCase(key) => {
            let file = node.case_file(&key).await?;
            let confidential = if file.state.is_handler(&node.me.node_id) {
                node.case_confidential(&file.state)
            } else {
                None
            };
            send(Action::CaseLoaded(Box::new(
                crate::tui::tabs::cases::CaseDetail { file, confidential },
            )));
        }
        Effect::Intake(form) => match node.case_intake(*form).await {
            Ok(r) => {
                send(Action::IntakeDone(Ok(r.queued.number)));
                let _ = net.send(NetCmd::Flush).await;
            }
            Err(e) => send(Action::IntakeDone(Err(e.to_string()))),
        },
        Effect::TypicalDraft(key) => {
            send(Action::TypicalReady(
                typical(node, &key)
                    .await
                    .map(Box::new)
                    .map_err(|e| e.to_string()),
            ));
        }
        Effect::PublishTypical { case, draft } => {
            match node
                .publish_typical(&case, draft, lianxi_shared::Audience::All)
                .await
            {
                Ok(id) => {
                    send(Action::Published(Ok(id.to_string())));
                    let _ = net.send(NetCmd::Flush).await;
                }
                Err(e) => send(Action::Published(Err(e.to_string()))),
            }
        }
        _ => {}
    }
    Ok(())
}
