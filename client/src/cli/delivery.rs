//! Sending what a command just queued, at once if the hub answers: one
//! helper for every command family.

use std::time::Duration;

use lianxi::ProtoError;
use lianxi::node::Node;
use lianxi_shared::MessageId;

/// Try to send what is queued now. Returns ("sent" | "queued", recipients, why queued).
pub async fn deliver_now(
    node: &Node,
    id: MessageId,
) -> anyhow::Result<(&'static str, Option<u32>, Option<ProtoError>)> {
    match node.connect(Duration::from_secs(5)).await {
        Ok((s, _ev)) => {
            let _ = node.refresh_directory(&s).await;
            let report = node.flush_outbox(&s).await?;
            s.close().await;
            let mine = report.sent.iter().find(|(m, _)| *m == id).map(|(_, n)| *n);
            let err = report
                .failed
                .iter()
                .find(|(m, _)| *m == id)
                .map(|(_, e)| e.clone());
            Ok(match (mine, err) {
                (Some(n), _) => ("sent", Some(n), None),
                (None, Some(e)) if lianxi::node::is_transient(e.code) => ("queued", None, Some(e)),
                (None, Some(e)) => return Err(e.into()),
                (None, None) => ("queued", None, None),
            })
        }
        Err(e) => Ok(("queued", None, Some(e))),
    }
}
