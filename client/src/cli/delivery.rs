//! Sending what a command just queued, at once if the hub answers: one
//! helper for every command family.

use std::time::Duration;

use lianxi::ProtoError;
use lianxi::node::Node;
use lianxi_shared::MessageId;

use crate::cli::output::tr;

/// What became of a message a command just queued.
#[derive(Debug)]
pub enum Delivery {
    /// Nobody else receives it: it is only recorded here.
    Local,
    /// The hub stored it durably for this many recipients.
    Sent(u32),
    /// Still in the outbox (the hub is not reachable, or asked to retry
    /// later): it goes out on the next sync. Why, when known.
    Queued(Option<ProtoError>),
}

impl Delivery {
    /// `local`, `sent` or `queued`: the `status` of the JSON output.
    pub fn status(&self) -> &'static str {
        match self {
            Delivery::Local => "local",
            Delivery::Sent(_) => "sent",
            Delivery::Queued(_) => "queued",
        }
    }

    /// How many recipients the hub stored it for, once sent.
    pub fn recipients(&self) -> Option<u32> {
        match self {
            Delivery::Sent(n) => Some(*n),
            _ => None,
        }
    }

    /// Why it is still queued, with its code (the JSON `reason`).
    pub fn reason(&self) -> Option<String> {
        match self {
            Delivery::Queued(Some(e)) => Some(e.to_string()),
            _ => None,
        }
    }

    /// Why it is still queued, in words.
    pub fn why(&self) -> String {
        match self {
            Delivery::Queued(Some(e)) => e.message.clone(),
            _ => String::new(),
        }
    }

    /// The line a command prints about `what` (already in the output's
    /// language: "通报 0190…", "LX-2026-0001 备注已添加"), sent to `n` nodes.
    pub fn text(&self, what: &str, n: usize) -> String {
        let why = self.why();
        let why = if why.is_empty() {
            String::new()
        } else {
            tr(format!("（{why}）"), format!(" ({why})"))
        };
        match self {
            Delivery::Sent(_) => tr(
                format!("{what}：已送达枢纽，收件方 {n} 个"),
                format!("{what}: sent to {n} recipient(s)"),
            ),
            Delivery::Local => tr(
                format!("{what}：已记录（尚无其他节点接收）"),
                format!("{what}: recorded (nobody else receives it)"),
            ),
            Delivery::Queued(_) => tr(
                format!("{what}：已排队，暂时无法连接枢纽{why}；下次同步时发出"),
                format!(
                    "{what}: queued, the hub is not reachable{why}; it goes out on the next sync"
                ),
            ),
        }
    }
}

/// Try to send what is queued now, if the hub answers.
pub async fn deliver_now(node: &Node, id: MessageId) -> anyhow::Result<Delivery> {
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
                (Some(n), _) => Delivery::Sent(n),
                (None, Some(e)) if lianxi::node::is_transient(e.code) => Delivery::Queued(Some(e)),
                (None, Some(e)) => return Err(e.into()),
                (None, None) => Delivery::Queued(None),
            })
        }
        Err(e) => Ok(Delivery::Queued(Some(e))),
    }
}

/// Deliver now unless nobody else receives it.
pub async fn deliver_unless_local(
    node: &Node,
    id: MessageId,
    has_recipients: bool,
) -> anyhow::Result<Delivery> {
    if has_recipients {
        deliver_now(node, id).await
    } else {
        Ok(Delivery::Local)
    }
}
