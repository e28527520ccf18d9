//! Wake-ups between hubs sharing one database. After each commit that
//! queued something, a hub's writer hands the recipients to its announcer,
//! which sends `NOTIFY lianxi_queued` on a connection of its own (outside the
//! durable transaction: NOTIFY takes a cluster-wide lock at commit, so it is
//! sent at most once per batch, after it, and merges batches under load). Each hub LISTENs
//! on its own connection and wakes its connections of those nodes. A lost
//! notification or a listener reconnect only delays a delivery: the hub also
//! polls (`HubStore::poll_interval`), and wakes everyone after reconnecting.
//!
//! A hub that opens a session for a node announces it on `lianxi_session`
//! (its instance and address): the other hubs close their sessions of that
//! node, so a node is served by one hub of the cluster at a time.

use std::time::Duration;

use lianxi_shared::NodeId;
use tokio::sync::{broadcast, mpsc};
use tokio_postgres::{AsyncMessage, Client, NoTls};

use super::pg_err;
use crate::store::StoreError;

pub const CHANNEL: &str = "lianxi_queued";
pub const SESSIONS: &str = "lianxi_session";
/// What a payload says when every node should look (an embargo held, or a
/// listener that may have missed notifications).
pub const EVERYONE: &str = "*";
/// NOTIFY payloads must stay under 8000 bytes.
const MAX_PAYLOAD: usize = 7_000;

/// What another hub announced.
#[derive(Clone, Debug)]
pub enum Wake {
    /// These nodes have something new (`None`: everyone may).
    Queued(Option<Vec<NodeId>>),
    /// `node` opened a session on hub `instance`, which nodes reach at `addr`.
    Session {
        node: NodeId,
        instance: String,
        addr: String,
    },
}

impl Wake {
    fn parse(channel: &str, p: &str) -> Option<Wake> {
        if channel == SESSIONS {
            let mut it = p.split(' ');
            let (instance, node, addr) = (it.next()?, it.next()?, it.next()?);
            return Some(Wake::Session {
                node: NodeId::new(node).ok()?,
                instance: instance.to_owned(),
                addr: addr.to_owned(),
            });
        }
        Some(Wake::Queued((p != EVERYONE).then(|| {
            p.split(',').filter_map(|n| NodeId::new(n).ok()).collect()
        })))
    }
}

/// Announce that this hub (`instance`, reached at `addr`) serves `node` now.
pub fn session_payload(instance: &str, node: &NodeId, addr: &str) -> String {
    format!("{instance} {node} {addr}")
}

/// What one commit queued: for these nodes, and whether something was held.
pub type Queued = (Vec<NodeId>, bool);

/// Send the writer's announcements on a connection of its own, so the
/// writer goes on to its next batch at once; what commits while one is being
/// sent goes out merged in the next. The connection commits without waiting
/// for the disk: what it announces is durable already, and a lost
/// announcement only delays (the hubs poll), so it costs no second fsync.
pub async fn announcer(url: String, mut rx: mpsc::UnboundedReceiver<Queued>) {
    let mut client: Option<Client> = None;
    while let Some((mut nodes, mut held)) = rx.recv().await {
        while let Ok((more, h)) = rx.try_recv() {
            nodes.extend(more);
            held |= h;
        }
        nodes.sort();
        nodes.dedup();
        if client.as_ref().is_none_or(Client::is_closed) {
            client = match super::connect(&url).await {
                Ok(c) => match c.batch_execute("SET synchronous_commit TO OFF").await {
                    Ok(()) => Some(c),
                    Err(e) => {
                        tracing::warn!(error = %pg_err(e), "cannot set up the announcing connection");
                        None
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "cannot connect to announce; the other hubs will poll");
                    None
                }
            };
        }
        if let Some(c) = &client
            && let Err(e) = announce(c, &nodes, held).await
        {
            tracing::warn!(error = %e, "could not notify the other hubs; they will poll");
        }
    }
}

/// One NOTIFY per 7 KB of node ids (and one for everyone if something was held).
async fn announce(c: &Client, nodes: &[NodeId], held: bool) -> Result<(), StoreError> {
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
                                if msgs
                                    .send((n.channel().to_owned(), n.payload().to_owned()))
                                    .is_err()
                                {
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
                    .batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {SESSIONS}"))
                    .await
                    .is_ok()
                {
                    // What was announced while nobody listened is found by looking.
                    let _ = tx.send(Wake::Queued(None));
                    while let Some((channel, p)) = rx.recv().await {
                        if let Some(wake) = Wake::parse(&channel, &p) {
                            let _ = tx.send(wake);
                        }
                    }
                }
                pump.abort();
            }
            Err(e) => tracing::warn!(error = %e, "PostgreSQL listener cannot connect"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
