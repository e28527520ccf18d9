//! Wake-ups between hubs sharing one database. After each commit that
//! queued something, a hub's writer sends one `NOTIFY lianxi_queued` with the
//! recipients (outside the durable transaction: NOTIFY takes a cluster-wide
//! lock at commit, so it is sent once per batch, after it). Each hub LISTENs
//! on its own connection and wakes its connections of those nodes. A lost
//! notification or a listener reconnect only delays a delivery: the hub also
//! polls (`HubStore::poll_interval`), and wakes everyone after reconnecting.

use std::time::Duration;

use lianxi_shared::NodeId;
use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, Client, NoTls};

use super::pg_err;
use crate::store::StoreError;

pub const CHANNEL: &str = "lianxi_queued";
/// What a payload says when every node should look (an embargo held, or a
/// listener that may have missed notifications).
pub const EVERYONE: &str = "*";
/// NOTIFY payloads must stay under 8000 bytes.
const MAX_PAYLOAD: usize = 7_000;

/// A wake-up: these nodes have something new (`None`: everyone may).
pub type Wake = Option<Vec<NodeId>>;

/// Announce what a batch queued: one NOTIFY per 7 KB of node ids.
pub async fn announce(c: &Client, nodes: &[NodeId], held: bool) -> Result<(), StoreError> {
    let mut payloads = Vec::new();
    let mut cur = String::new();
    for n in nodes {
        if cur.len() + n.as_str().len() + 1 > MAX_PAYLOAD {
            payloads.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(',');
        }
        cur.push_str(n.as_str());
    }
    if !cur.is_empty() {
        payloads.push(cur);
    }
    if held {
        payloads.push(EVERYONE.to_owned());
    }
    for p in payloads {
        c.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &p])
            .await
            .map_err(pg_err)?;
    }
    Ok(())
}

/// Listen for other hubs' announcements until the process ends,
/// reconnecting with a pause when the connection is lost.
pub async fn listen(url: String, tx: broadcast::Sender<Wake>) {
    loop {
        let connected = match super::pg_config(&url) {
            Ok(cfg) => cfg.connect(NoTls).await.map_err(pg_err),
            Err(e) => Err(e),
        };
        match connected {
            Ok((client, mut conn)) => {
                let (msgs, mut rx) = tokio::sync::mpsc::unbounded_channel();
                let pump = tokio::spawn(async move {
                    loop {
                        match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                            Some(Ok(AsyncMessage::Notification(n))) => {
                                if msgs.send(n.payload().to_owned()).is_err() {
                                    return;
                                }
                            }
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "PostgreSQL listener connection lost");
                                return;
                            }
                            None => return,
                        }
                    }
                });
                if client
                    .batch_execute(&format!("LISTEN {CHANNEL}"))
                    .await
                    .is_ok()
                {
                    // What was announced while nobody listened is found by looking.
                    let _ = tx.send(None);
                    while let Some(p) = rx.recv().await {
                        let wake = if p == EVERYONE {
                            None
                        } else {
                            Some(p.split(',').filter_map(|n| NodeId::new(n).ok()).collect())
                        };
                        let _ = tx.send(wake);
                    }
                }
                pump.abort();
            }
            Err(e) => tracing::warn!(error = %e, "PostgreSQL listener cannot connect"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
