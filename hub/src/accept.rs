//! What a connection sends: checked together (their signatures as one batch:
//! one connection is one sender, see `lianxi_shared::sigbatch`), each stored
//! and answered on its own. Under light load a batch is one send and nothing
//! changes; under load a read of the stream holds dozens.

use std::sync::Arc;

use lianxi_shared::rules::{CheckedSend, check_sends};
use lianxi_shared::wire::HubMsg;
use lianxi_shared::{Envelope, ErrorCode, MessageId, NodeId, ProtoError, Wrap};
use tokio::sync::mpsc;

use crate::server::Shared;
use crate::store::{HubStore, Inserted, NewEnvelope};

/// One `Send` as the session handed it over: its request id, envelope and wraps.
pub(crate) type Send = (u64, Envelope, Vec<Wrap>);

/// Sends whose bodies together are at least this large are checked on a
/// blocking thread: a large body's two SHA-256 passes (tens of milliseconds
/// at 16 MiB) would stall every connection on this worker. Smaller ones are
/// checked on this task's worker thread: a batch of signature checks costs
/// less than handing it to a blocking thread and back, which showed as a
/// fifth of the hub's time in context switches.
const HASH_OFF_REACTOR: usize = 64 * 1024;

/// Check and store `sends` from `node` off the driver; each answer comes
/// back on `replies`.
pub(crate) fn spawn_sends(
    shared: &Arc<Shared>,
    node: &NodeId,
    sends: Vec<Send>,
    replies: &mpsc::UnboundedSender<HubMsg>,
) {
    if sends.is_empty() {
        return;
    }
    let (shared, node, replies) = (shared.clone(), node.clone(), replies.clone());
    tokio::spawn(async move {
        let now = crate::now_ms();
        for (rid, checked) in check(&shared, &node, sends, now).await {
            let (shared, node, replies) = (shared.clone(), node.clone(), replies.clone());
            // Each stored on its own task, so the store's writer finds them
            // all queued and commits them together.
            tokio::spawn(async move {
                let stored = match checked {
                    Ok((checked, envelope, digest)) => {
                        store(&shared, &node, checked, envelope, digest, now).await
                    }
                    Err(e) => Err(e),
                };
                let _ = replies.send(answer(&shared, &node, rid, stored));
            });
        }
    });
}

type Checked = Result<(CheckedSend, Envelope, [u8; 32]), ProtoError>;

/// The hub's rules for each send, their signatures checked together.
async fn check(
    shared: &Arc<Shared>,
    node: &NodeId,
    sends: Vec<Send>,
    now: i64,
) -> Vec<(u64, Checked)> {
    shared.metrics.checked_together(sends.len());
    let dir = shared.directory();
    let limits = shared.config.time_limits();
    let large = sends.iter().map(|(_, e, _)| e.body.len()).sum::<usize>() >= HASH_OFF_REACTOR;
    let node = node.clone();
    let rids: Vec<u64> = sends.iter().map(|(rid, _, _)| *rid).collect();
    let work = move || {
        let mut rids = Vec::with_capacity(sends.len());
        let mut envelopes = Vec::with_capacity(sends.len());
        let mut wraps = Vec::with_capacity(sends.len());
        for (rid, e, w) in sends {
            rids.push(rid);
            envelopes.push(e);
            wraps.push(w);
        }
        let items = envelopes.iter().zip(wraps).collect();
        let results = check_sends(items, &node, &dir.nodes, now, limits);
        rids.into_iter()
            .zip(envelopes.into_iter().zip(results))
            .map(|(rid, (envelope, result))| {
                let checked = result.map(|c| {
                    let digest = envelope.digest();
                    (c, envelope, digest)
                });
                (rid, checked)
            })
            .collect::<Vec<_>>()
    };
    if large {
        // A blocking thread that failed answers each send with `internal`.
        tokio::task::spawn_blocking(work).await.unwrap_or_else(|_| {
            rids.into_iter()
                .map(|rid| (rid, Err(ProtoError::code(ErrorCode::Internal))))
                .collect()
        })
    } else {
        work()
    }
}

/// What was stored for one accepted send.
struct Stored {
    id: MessageId,
    recipients: u32,
    duplicate: bool,
    missing: Vec<NodeId>,
}

async fn store(
    shared: &Arc<Shared>,
    node: &NodeId,
    checked: CheckedSend,
    envelope: Envelope,
    digest: [u8; 32],
    now: i64,
) -> Result<Stored, ProtoError> {
    let id = checked.header.id;
    let recipients = checked.deliveries.len() as u32;
    let size = envelope.body.len();
    let new = NewEnvelope {
        id,
        sender: node.clone(),
        digest,
        header: envelope.header,
        sig: envelope.sig,
        body: envelope.body,
        created_at: checked.header.created_at,
        not_before: checked.header.not_before,
        deliveries: checked.deliveries,
    };
    let duplicate = match shared.store.insert(new, now).await? {
        Inserted::Stored { ready, held } => {
            tracing::debug!(%id, sender = %node, recipients, bytes = size, held, "stored");
            if held {
                shared.release_wake.notify_one();
            }
            for n in &ready {
                shared.wake(n);
            }
            false
        }
        Inserted::Duplicate => {
            tracing::debug!(%id, sender = %node, "duplicate send; already stored");
            true
        }
    };
    Ok(Stored {
        id,
        recipients,
        duplicate,
        missing: checked.missing,
    })
}

fn answer(shared: &Shared, node: &NodeId, rid: u64, stored: Result<Stored, ProtoError>) -> HubMsg {
    match stored {
        Ok(s) => {
            shared.metrics.accepted();
            HubMsg::Accepted {
                rid,
                id: s.id,
                recipients: s.recipients,
                duplicate: s.duplicate,
                missing: s.missing,
            }
        }
        Err(error) => {
            shared.metrics.refused(error.code);
            tracing::info!(node = %node, code = %error.code, "send refused");
            HubMsg::Refused { rid, error }
        }
    }
}
