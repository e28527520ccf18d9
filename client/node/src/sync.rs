//! Receiving: verify and decrypt deliveries off the async threads, store them in
//! one transaction per batch, then acknowledge them to the hub. Also the `sync`
//! (until drained) and `listen` (forever, reconnecting) loops.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use lianxi_shared::backoff::Backoff;
use lianxi_shared::{Envelope, ErrorCode, NodeId, NodeInfo, ProtoError};
use tokio::sync::mpsc;

use crate::archive::{Applied, EventKind, Forwarded, Incoming, MessageRow};
use crate::net::{Event, Session};
use crate::node::{Node, open_with};
use crate::{Result, now_ms};

/// Deliveries taken off the channel at once. Half the hub's default delivery
/// window, so that the next batch is already arriving while one is stored.
const MAX_BATCH: usize = 128;

/// What happened to one batch.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub new: Vec<MessageRow>,
    pub duplicates: usize,
    /// Receipts, reminders, withdrawals and case messages applied.
    pub events: usize,
    /// Case messages among them.
    pub case_messages: usize,
    /// Joint-conference messages among them.
    pub conference_messages: usize,
    pub rejected: Vec<ProtoError>,
    /// References kept until the bulletin they refer to arrives.
    pub parked: usize,
    /// Outbox entries waiting (receipts queued by this batch among them).
    pub outbox_pending: u64,
}

/// Directory snapshot used to verify senders.
pub struct Receiver {
    directory: Arc<HashMap<NodeId, NodeInfo>>,
}

impl Receiver {
    pub async fn new(node: &Node) -> Result<Receiver> {
        let mut r = Receiver {
            directory: Arc::default(),
        };
        r.reload(node).await?;
        Ok(r)
    }

    async fn reload(&mut self, node: &Node) -> Result<()> {
        let dir = node.directory().await?;
        self.directory = Arc::new(dir.into_iter().map(|n| (n.node_id.clone(), n)).collect());
        Ok(())
    }

    /// Verify, decrypt, store and acknowledge a batch of deliveries.
    pub async fn process(
        &mut self,
        node: &Node,
        session: &Session,
        batch: Vec<(u64, Envelope, Vec<u8>)>,
    ) -> Result<BatchOutcome> {
        let opened = self.open(node, session, batch).await?;
        store(node, session, opened).await
    }

    /// The first stage: verify and decrypt a batch on every core. Nothing is
    /// stored or acknowledged yet; [`store`] does both.
    pub async fn open(
        &mut self,
        node: &Node,
        session: &Session,
        batch: Vec<(u64, Envelope, Vec<u8>)>,
    ) -> Result<OpenedBatch> {
        let unknown_sender = batch.iter().any(|(_, e, _)| {
            e.decode_header()
                .map(|h| !self.directory.contains_key(&h.sender))
                .unwrap_or(false)
        });
        if unknown_sender {
            // A node that joined since the last refresh: fetch and verify the directory again.
            if let Err(e) = node.refresh_directory(session).await {
                tracing::warn!(code = %e.code, "directory refresh failed");
            }
            self.reload(node).await?;
        }
        let seqs: Vec<u64> = batch.iter().map(|b| b.0).collect();
        let opened = open_parallel(node, self.directory.clone(), batch).await?;
        let now = now_ms();
        let mut out = OpenedBatch {
            seqs,
            incoming: Vec::with_capacity(opened.len()),
            rejects: Vec::new(),
            rejected: Vec::new(),
        };
        for (envelope, wrap, r) in opened {
            match r {
                Ok((o, (forwarded, history))) => out.incoming.push(Incoming {
                    forwarded,
                    history,
                    opened: o,
                    envelope,
                    wrap,
                    received_at: now,
                }),
                Err(e) => {
                    tracing::warn!(code = %e.code, reason = %e.message, "delivery rejected");
                    out.rejects.push((envelope.header, e.clone()));
                    out.rejected.push(e);
                }
            }
        }
        Ok(out)
    }
}

/// A batch verified and decrypted, not yet stored nor acknowledged.
pub struct OpenedBatch {
    seqs: Vec<u64>,
    incoming: Vec<Incoming>,
    /// Headers of deliveries that failed to open, with why (kept in the archive).
    rejects: Vec<(Vec<u8>, ProtoError)>,
    rejected: Vec<ProtoError>,
}

/// The second stage: store an opened batch in one archive transaction, then
/// acknowledge it to the hub (only after the commit: the hub may then drop
/// its copies).
pub async fn store(node: &Node, session: &Session, batch: OpenedBatch) -> Result<BatchOutcome> {
    let OpenedBatch {
        seqs,
        incoming,
        rejects,
        rejected,
    } = batch;
    let mut out = BatchOutcome {
        rejected,
        ..Default::default()
    };
    let now = now_ms();
    let (applied, pending) = node
        .archive
        .call(move |a| {
            for (h, e) in &rejects {
                a.reject(h, e, now)?;
            }
            let applied = a.apply_incoming(&incoming)?;
            Ok((applied, a.pending_count()?))
        })
        .await?;
    for a in applied {
        match a {
            Applied::New(row) => out.new.push(row),
            Applied::Duplicate => out.duplicates += 1,
            Applied::Event { kind, .. } => {
                out.events += 1;
                match kind {
                    EventKind::Case => out.case_messages += 1,
                    EventKind::Conference => out.conference_messages += 1,
                    EventKind::Withdrawal
                    | EventKind::Reminder
                    | EventKind::Receipt
                    | EventKind::Forward => {}
                }
            }
            Applied::Parked(e) => {
                tracing::info!(code = %e.code, reason = %e.message, "parked until what it refers to arrives");
                out.parked += 1;
            }
            Applied::Rejected(e) => {
                tracing::warn!(code = %e.code, reason = %e.message, "message refused by the archive rules");
                out.rejected.push(e);
            }
        }
    }
    out.outbox_pending = pending;
    // Revisions and withdrawals of threads this node forwarded go on to the
    // same audiences (waiting in the archive, so a crash here loses nothing).
    match node.follow_forwards().await {
        Ok(0) => {}
        Ok(_) => out.outbox_pending = node.archive.call(|a| a.pending_count()).await?,
        Err(e) => tracing::warn!(code = %e.code, "could not forward a thread's later message"),
    }
    if out.case_messages > 0 {
        // A referral this node made may have been accepted: grant access now.
        match node.settle_cases().await {
            Ok(0) => {}
            Ok(_) => out.outbox_pending = node.archive.call(|a| a.pending_count()).await?,
            Err(e) => tracing::warn!(code = %e.code, "could not settle case grants"),
        }
    }
    session.ack(seqs).await?;
    Ok(out)
}

/// Originals a message carries (a forward's, a case share's earlier steps),
/// each verified against its own sender.
type Carried = (Option<Forwarded>, Vec<Forwarded>);

fn open_carried(o: &lianxi_shared::Opened, dir: &HashMap<NodeId, NodeInfo>) -> Result<Carried> {
    match &o.payload {
        lianxi_shared::Payload::Forward(f) => {
            Ok((Some(open_original(&f.envelope, &f.key, dir)?), Vec::new()))
        }
        lianxi_shared::Payload::Case(lianxi_shared::case::CaseMsg {
            change: lianxi_shared::case::CaseChange::Notice(n),
            ..
        }) => {
            let history = n
                .history
                .iter()
                .map(|h| open_original(&h.envelope, &h.key, dir))
                .collect::<Result<Vec<_>>>()?;
            Ok((None, history))
        }
        _ => Ok((None, Vec::new())),
    }
}

fn open_original(
    envelope: &Envelope,
    key: &str,
    dir: &HashMap<NodeId, NodeInfo>,
) -> Result<Forwarded> {
    let h = envelope.decode_header()?;
    let sender = dir.get(&h.sender).ok_or_else(|| {
        ProtoError::new(
            ErrorCode::UnknownSender,
            format!(
                "original sender {} is not in the verified directory",
                h.sender
            ),
        )
    })?;
    let opened = lianxi_shared::envelope::open_forwarded(envelope, key, sender)?;
    Ok(Forwarded {
        opened,
        envelope: envelope.clone(),
        key: key.to_owned(),
    })
}

async fn open_parallel(
    node: &Node,
    directory: Arc<HashMap<NodeId, NodeInfo>>,
    batch: Vec<(u64, Envelope, Vec<u8>)>,
) -> Result<Vec<(Envelope, Vec<u8>, Result<(lianxi_shared::Opened, Carried)>)>> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8);
    let chunk = batch.len().div_ceil(workers).max(1);
    let mut handles = Vec::new();
    let mut it = batch.into_iter().peekable();
    while it.peek().is_some() {
        let part: Vec<_> = it.by_ref().take(chunk).collect();
        let (id, me, dir) = (node.identity(), node.me.clone(), directory.clone());
        handles.push(tokio::task::spawn_blocking(move || {
            part.into_iter()
                .map(|(_, env, wrap)| {
                    let r = open_with(&id, &me, &dir, &env, &wrap).and_then(|o| {
                        let fw = open_carried(&o, &dir)?;
                        Ok((o, fw))
                    });
                    (env, wrap, r)
                })
                .collect::<Vec<_>>()
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.extend(h.await.map_err(|_| ProtoError::code(ErrorCode::Internal))?);
    }
    Ok(out)
}

/// Take the first event and whatever else is already waiting.
async fn next_batch(
    events: &mut mpsc::Receiver<Event>,
) -> (Vec<(u64, Envelope, Vec<u8>)>, Option<Event>) {
    let mut batch = Vec::new();
    let first = events.recv().await;
    let mut other;
    let push = |ev: Event, batch: &mut Vec<_>| match ev {
        Event::Deliver {
            seq,
            envelope,
            wrap,
        } => {
            batch.push((seq, envelope, wrap));
            None
        }
        e => Some(e),
    };
    match first {
        Some(ev) => other = push(ev, &mut batch),
        None => {
            return (
                batch,
                Some(Event::Closed(ProtoError::new(
                    ErrorCode::HubUnreachable,
                    "connection closed",
                ))),
            );
        }
    }
    while other.is_none() && batch.len() < MAX_BATCH {
        match events.try_recv() {
            Ok(ev) => other = push(ev, &mut batch),
            Err(_) => break,
        }
    }
    (batch, other)
}

#[derive(Debug, Default, serde::Serialize)]
pub struct SyncReport {
    pub sent: usize,
    pub send_failures: Vec<(String, ProtoError)>,
    pub received: usize,
    /// Case messages received (intakes, steps, shares, grants).
    pub case_messages: usize,
    /// Joint-conference messages received.
    pub conference_messages: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// Why each was refused (the code, and what the refusal says).
    pub rejections: Vec<ProtoError>,
    /// Revisions, withdrawals and reminders waiting for their bulletin.
    pub parked: usize,
    pub pending_outbox: u64,
}

impl SyncReport {
    fn add(&mut self, out: &BatchOutcome) {
        self.received += out.new.len();
        self.case_messages += out.case_messages;
        self.conference_messages += out.conference_messages;
        self.duplicates += out.duplicates;
        self.rejected += out.rejected.len();
        self.rejections.extend(out.rejected.iter().cloned());
        self.parked += out.parked;
    }
}

/// Connect, flush the outbox, receive everything pending, and return.
pub async fn sync(node: &Node, timeout: Duration) -> Result<SyncReport> {
    let deadline = tokio::time::Instant::now() + timeout;
    let (session, mut events) = node.connect(timeout.min(Duration::from_secs(10))).await?;
    node.refresh_directory(&session).await?;
    session.subscribe().await?;
    let flush = node.flush_outbox(&session).await?;
    let mut report = SyncReport {
        sent: flush.sent.len(),
        send_failures: flush
            .failed
            .into_iter()
            .map(|(id, e)| (id.to_string(), e))
            .collect(),
        ..Default::default()
    };
    // Two stages overlap: while one batch is stored and acknowledged, the
    // next is received and opened. Each batch is still acknowledged only
    // after its own commit, and batches are stored in the order they came.
    let mut rx = Receiver::new(node).await?;
    let mut pending: Option<OpenedBatch> = None;
    loop {
        let storing = async {
            match pending.take() {
                Some(p) => store(node, &session, p).await.map(Some),
                None => Ok(None),
            }
        };
        let fetching = async {
            let step = tokio::time::timeout_at(deadline, next_batch(&mut events)).await;
            let Ok((batch, other)) = step else {
                return Err(ProtoError::new(
                    ErrorCode::HubUnreachable,
                    "sync timed out before the backlog was drained",
                ));
            };
            let opened = if batch.is_empty() {
                None
            } else {
                Some(rx.open(node, &session, batch).await?)
            };
            Ok((opened, other))
        };
        let (stored, fetched) = tokio::join!(storing, fetching);
        if let Some(out) = stored? {
            report.add(&out);
        }
        let (opened, other) = match fetched {
            Ok(f) => f,
            Err(e) => {
                session.close().await;
                return Err(e);
            }
        };
        pending = opened;
        match other {
            Some(Event::Drained { .. }) => {
                if let Some(p) = pending.take() {
                    report.add(&store(node, &session, p).await?);
                }
                break;
            }
            Some(Event::Closed(e)) => {
                // Keep what was opened: stored now, it is delivered again
                // (and recognised as a duplicate) only if the ack was lost.
                if let Some(p) = pending.take() {
                    let _ = store(node, &session, p).await;
                }
                return Err(e);
            }
            _ => {}
        }
    }
    // Receipts queued while receiving go out before we leave.
    if node.archive.call(|a| a.pending_count()).await? > 0 {
        let again = node.flush_outbox(&session).await?;
        report.sent += again.sent.len();
        report
            .send_failures
            .extend(again.failed.into_iter().map(|(id, e)| (id.to_string(), e)));
    }
    session.close().await;
    report.pending_outbox = node.archive.call(|a| a.pending_count()).await?;
    Ok(report)
}

/// Connection state, for front ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnState {
    Connecting,
    Connected {
        /// The address of the hub it is on (one of the node's hubs).
        hub: String,
    },
    Reconnecting {
        attempt: u32,
        in_ms: u64,
        reason: String,
    },
}

/// What a front end asks of the connection worker.
#[derive(Debug)]
pub enum NetCmd {
    /// Send what is in the outbox now.
    Flush,
}

/// What the connection worker reports.
#[allow(clippy::large_enum_variant)] // short-lived; a message row is the common case
#[derive(Debug)]
pub enum NetEvent {
    State(ConnState),
    Arrived(MessageRow),
    /// The outbox was flushed: ids sent and failures.
    Flushed {
        sent: Vec<String>,
        failed: Vec<(String, ProtoError)>,
    },
    /// The verified directory was refreshed.
    Directory,
    /// Case messages arrived.
    Cases,
    /// Joint-conference messages arrived.
    Conference,
}

/// Stay connected until `cmds` closes or `events` is dropped: receive and store
/// everything, flush the outbox on connect and on [`NetCmd::Flush`], and
/// reconnect with back-off.
pub async fn run_connected(
    node: &Node,
    mut cmds: mpsc::Receiver<NetCmd>,
    events: mpsc::Sender<NetEvent>,
) -> Result<()> {
    let mut backoff = Backoff::default();
    loop {
        if events
            .send(NetEvent::State(ConnState::Connecting))
            .await
            .is_err()
        {
            return Ok(());
        }
        let reason = match session_loop(node, &mut backoff, &mut cmds, &events).await {
            Ok(false) => return Ok(()),
            Ok(true) => "connection closed".to_owned(),
            Err(e)
                if matches!(
                    e.code,
                    ErrorCode::ArchiveCorrupt | ErrorCode::KeyFile | ErrorCode::Io
                ) =>
            {
                return Err(e);
            }
            Err(e) => {
                node.follow_moved_session(&e);
                e.to_string()
            }
        };
        let delay = backoff.next_delay(rand::random::<f64>());
        let state = ConnState::Reconnecting {
            attempt: backoff.attempts(),
            in_ms: delay.as_millis() as u64,
            reason,
        };
        if events.send(NetEvent::State(state)).await.is_err() {
            return Ok(());
        }
        // Wait out the delay, but a Flush request (or shutdown) cuts it short.
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            c = cmds.recv() => if c.is_none() { return Ok(()) },
        }
    }
}

async fn flush(node: &Node, session: &Session, events: &mpsc::Sender<NetEvent>) -> Result<()> {
    let r = node.flush_outbox(session).await?;
    let ev = NetEvent::Flushed {
        sent: r.sent.iter().map(|(id, _)| id.to_string()).collect(),
        failed: r
            .failed
            .into_iter()
            .map(|(id, e)| (id.to_string(), e))
            .collect(),
    };
    let _ = events.send(ev).await;
    Ok(())
}

/// One connected session. Ok(true): reconnect; Ok(false): stop.
async fn session_loop(
    node: &Node,
    backoff: &mut Backoff,
    cmds: &mut mpsc::Receiver<NetCmd>,
    events: &mpsc::Sender<NetEvent>,
) -> Result<bool> {
    let (session, mut incoming) = node.connect(Duration::from_secs(10)).await?;
    backoff.reset();
    if events
        .send(NetEvent::State(ConnState::Connected {
            hub: node.hub_addr().unwrap_or_else(|_| session.hub_name.clone()),
        }))
        .await
        .is_err()
    {
        session.close().await;
        return Ok(false);
    }
    node.refresh_directory(&session).await?;
    let _ = events.send(NetEvent::Directory).await;
    session.subscribe().await?;
    flush(node, &session, events).await?;
    let mut rx = Receiver::new(node).await?;
    loop {
        tokio::select! {
            (batch, other) = next_batch(&mut incoming) => {
                if !batch.is_empty() {
                    let out = rx.process(node, &session, batch).await?;
                    if out.outbox_pending > 0 {
                        flush(node, &session, events).await?;
                    }
                    if out.case_messages > 0 {
                        let _ = events.send(NetEvent::Cases).await;
                    }
                    if out.conference_messages > 0 {
                        let _ = events.send(NetEvent::Conference).await;
                    }
                    for m in out.new {
                        if events.send(NetEvent::Arrived(m)).await.is_err() {
                            session.close().await;
                            return Ok(false);
                        }
                    }
                }
                if let Some(Event::Closed(e)) = other {
                    return Err(e);
                }
            }
            cmd = cmds.recv() => match cmd {
                Some(NetCmd::Flush) => flush(node, &session, events).await?,
                None => {
                    session.close().await;
                    return Ok(false);
                }
            },
        }
    }
}
