//! The bulletins tab's effects: pages, details, search, receipts,
//! acknowledgements, reminders, attachments and queueing a bulletin.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::node::Node;
use crate::sync::NetCmd;
use crate::tui::update::{Action, Effect};
use crate::{Result, now_ms};
use lianxi_shared::{Bulletin, Payload};

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
        } => {
            let max = node
                .config
                .max_attachment
                .unwrap_or(lianxi_shared::payload::DEFAULT_MAX_ATTACHMENT);
            let files = match crate::bulletins::read_attachments(&attachments, max) {
                Ok(f) => f,
                Err(e) => {
                    send(Action::Queued(Err(e.message)));
                    return Ok(());
                }
            };
            let b = Bulletin {
                title,
                body,
                attachments: files,
                ack_required,
                ..Default::default()
            };
            match node.queue(audience, Payload::Bulletin(b), None).await {
                Ok(id) => {
                    send(Action::Queued(Ok(id.to_string())));
                    let _ = net.send(NetCmd::Flush).await;
                }
                Err(e) => send(Action::Queued(Err(e.message))),
            }
        }
        _ => {}
    }
    Ok(())
}
