//! The bulletins tab's effects: pages, details, search, receipts,
//! acknowledgements, reminders, attachments and queueing a bulletin.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::node::Node;
use crate::sync::NetCmd;
use crate::tui::update::{Action, Effect};
use crate::{Result, now_ms};

/// Do one of this tab's effects; the result comes back through `send`.
pub(crate) async fn run(
    node: &Arc<Node>,
    net: &mpsc::Sender<NetCmd>,
    send: &(dyn Fn(Action) + Send + Sync),
    effect: Effect,
) -> Result<()> {
    match effect {
        Effect::LoadPage { start, len, preset } => {
            let f = super::list::preset_filter(preset);
            let (rows, (total, unread)) = node
                .archive
                .call(move |a| Ok((a.list_filtered(&f, len, start)?, a.count_filtered(&f)?)))
                .await?;
            send(Action::PageLoaded(super::list::Page {
                start,
                total,
                unread,
                rows,
                preset,
            }));
        }
        Effect::LoadDetail { id, mark_read } => {
            let m = node
                .archive
                .call(move |a| a.show(&id, mark_read, now_ms()))
                .await?;
            send(Action::DetailLoaded(m));
        }
        Effect::Search(query) => {
            let q = query.clone();
            let hits = node.archive.call(move |a| a.search(&q, 50)).await?;
            send(Action::SearchDone { query, hits });
        }
        Effect::Remind(id) => match node.remind(&id, String::new()).await {
            Ok((_, n)) => {
                let _ = net.send(NetCmd::Flush).await;
                send(Action::Reminded(Ok(n)));
            }
            Err(e) => send(Action::Reminded(Err(e.message))),
        },
        Effect::LoadReceipts(id) => {
            let r = node
                .archive
                .call(move |a| a.receipts(&id, now_ms()))
                .await?;
            send(Action::ReceiptsLoaded(r));
        }
        Effect::Acknowledge(id) => {
            node.acknowledge(&id, None).await?;
            let _ = net.send(NetCmd::Flush).await;
            let m = node
                .archive
                .call(move |a| a.show(&id, false, now_ms()))
                .await?;
            send(Action::DetailLoaded(m));
        }
        Effect::CheckAttachment(path) => {
            let max = node
                .config
                .max_attachment
                .unwrap_or(lianxi_shared::payload::DEFAULT_MAX_ATTACHMENT);
            let r = match std::fs::metadata(&path) {
                Err(e) => Err(format!("{}: {e}", path.display())),
                Ok(m) if !m.is_file() => Err(format!("{} is not a file", path.display())),
                Ok(m) if m.len() > max => Err(format!(
                    "{} is {} bytes; the limit is {max}",
                    path.display(),
                    m.len()
                )),
                Ok(m) => Ok((path, m.len())),
            };
            send(Action::Attached(r));
        }
        Effect::Queue {
            audience,
            title,
            body,
            attachments,
            ack_required,
            draft,
        } => {
            // The form as it stands is saved as its draft first; sending
            // queues the draft's content and deletes it in one transaction,
            // so a refusal (a file too large…) leaves the draft to fix.
            let max = node
                .config
                .max_attachment
                .unwrap_or(lianxi_shared::payload::DEFAULT_MAX_ATTACHMENT);
            let sizes: Vec<(std::path::PathBuf, u64)> =
                match app_sizes(node, &draft, attachments).await {
                    Ok(s) => s,
                    Err(e) => {
                        send(Action::Queued(Err(e.message)));
                        return Ok(());
                    }
                };
            let input = crate::drafts::DraftInput {
                id: draft.clone(),
                kind: Some(crate::archive::drafts::DraftKind::Bulletin),
                context: String::new(),
                title,
                body,
                fields: crate::drafts::bulletin_fields(&audience, ack_required),
                attachments: sizes,
            };
            let sent = match node.save_draft(input, max).await {
                Ok(()) => {
                    node.send_bulletin_draft(&draft, Some(audience), |_| {})
                        .await
                }
                Err(e) => Err(e),
            };
            match sent {
                Ok(id) => {
                    send(Action::Queued(Ok(id.to_string())));
                    let _ = net.send(NetCmd::Flush).await;
                }
                Err(e) => send(Action::Queued(Err(e.message))),
            }
            if let Ok(d) = node.drafts().await {
                send(Action::DraftsLoaded(d));
            }
        }
        Effect::SaveDraft(input) => {
            let max = node
                .config
                .max_attachment
                .unwrap_or(lianxi_shared::payload::DEFAULT_MAX_ATTACHMENT);
            if let Err(e) = node.save_draft(*input, max).await {
                send(Action::DraftNotSaved(e.message));
            }
        }
        Effect::DeleteDraft(id) => {
            node.delete_draft(&id).await?;
            send(Action::DraftsLoaded(node.drafts().await?));
        }
        Effect::LoadDrafts => send(Action::DraftsLoaded(node.drafts().await?)),
        _ => {}
    }
    Ok(())
}

/// The form's files with their sizes: a file on disk as it is now, a file
/// restored from the draft (only its name) as the draft holds it.
async fn app_sizes(
    node: &crate::node::Node,
    draft: &str,
    paths: Vec<std::path::PathBuf>,
) -> crate::Result<Vec<(std::path::PathBuf, u64)>> {
    let held = match node.draft(draft).await {
        Ok(d) => d.attachments,
        Err(_) => Vec::new(),
    };
    let mut out = Vec::new();
    for p in paths {
        // A bare name is a file restored from the draft: the draft's bytes,
        // whatever a file of that name in the current folder holds.
        let bare = p.parent().is_none_or(|d| d.as_os_str().is_empty());
        let name = p.to_string_lossy();
        let size = match held.iter().find(|h| bare && h.name == name) {
            Some(h) => h.size,
            None => std::fs::metadata(&p)
                .map_err(|e| crate::io_err(p.display(), e))?
                .len(),
        };
        out.push((p, size));
    }
    Ok(out)
}
