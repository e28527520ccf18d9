//! One client connection: authenticate by certificate, then drive its
//! session (`lianxi_shared::session::HubSession`) over the stream.

use std::sync::Arc;
use std::time::Duration;

use std::collections::VecDeque;
use std::time::Instant;

use lianxi_shared::session::{HubEvent, HubSession, Now};
use lianxi_shared::wire::HubMsg;
use lianxi_shared::{ALPN, Envelope, ErrorCode, NodeId, NodeInfo, ProtoError};
use rustls_pki_types::CertificateDer;
use tokio::sync::{Notify, mpsc};

use crate::accept::{self, spawn_sends};
use crate::server::{Live, Shared};
use crate::store::follow::{Follow, Pushed};
use crate::store::{DeliveryRow, HubStore};

/// Application close codes.
const CLOSE_OK: u32 = 0;
pub(crate) const CLOSE_PROTOCOL: u32 = 1;

pub(crate) async fn handle(shared: Arc<Shared>, incoming: quinn::Incoming) {
    let remote = incoming.remote_address();
    let conn = match incoming.await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(%remote, error = %e, "handshake refused");
            return;
        }
    };
    let alpn = conn
        .handshake_data()
        .and_then(|h| h.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|h| h.protocol);
    if alpn.as_deref() != Some(ALPN) {
        tracing::info!(%remote, "wrong ALPN; closing");
        conn.close(
            quinn::VarInt::from_u32(CLOSE_PROTOCOL),
            b"unsupported_version: ALPN must be lianxi/1",
        );
        return;
    }
    let der = conn
        .peer_identity()
        .and_then(|i| i.downcast::<Vec<CertificateDer<'static>>>().ok())
        .and_then(|v| v.first().map(|c| c.to_vec()));
    let Some(der) = der else {
        conn.close(
            quinn::VarInt::from_u32(CLOSE_PROTOCOL),
            b"bad_certificate: no client certificate",
        );
        return;
    };
    let info = match lianxi_certs::parse_node_cert(&der) {
        Ok(i) => i,
        Err(e) => {
            tracing::info!(%remote, code = %e.code, "certificate lacks Lianxi attributes");
            conn.close(quinn::VarInt::from_u32(CLOSE_PROTOCOL), b"bad_certificate");
            return;
        }
    };
    let limits = &shared.config.limits;
    let (all, mine) = shared.live_counts(&info.node_id);
    if all >= limits.max_connections || mine >= limits.max_connections_per_node {
        tracing::warn!(node = %info.node_id, all, mine, "connection limit reached; refusing");
        conn.close(
            quinn::VarInt::from_u32(CLOSE_PROTOCOL),
            b"unavailable: too many connections",
        );
        return;
    }
    match shared.register(&info, &der).await {
        Ok(()) => {}
        // A full disk must not keep a node from collecting: collecting is
        // what frees space. Its certificate is in the in-memory directory
        // already; only `last_seen` (and, for a new certificate, its record
        // across a restart) is not written now.
        Err(crate::store::StoreError::Full) => {
            tracing::warn!(node = %info.node_id, "disk full: node not recorded; serving it anyway");
        }
        // The shared database is down: say so, so the node tries another
        // hub (whose database connection may work) or keeps its outbox.
        Err(e @ crate::store::StoreError::Postgres(_)) => {
            tracing::warn!(node = %info.node_id, error = %e, "database unavailable; refusing the session");
            conn.close(
                quinn::VarInt::from_u32(CLOSE_PROTOCOL),
                b"unavailable: the hub cannot reach its database",
            );
            return;
        }
        Err(e) => {
            tracing::error!(node = %info.node_id, error = %e, "cannot record node");
            conn.close(quinn::VarInt::from_u32(CLOSE_PROTOCOL), b"internal");
            return;
        }
    }
    let notify = Arc::new(Notify::new());
    let live = Live {
        notify: notify.clone(),
        conn: conn.clone(),
        cert: Arc::new(der),
    };
    let id = shared.add_live(&info.node_id, live);
    // With other hubs on the database: this hub serves the node now, and
    // the others close their sessions of it. Best effort: a claim lost here
    // is corrected when the node next connects.
    if let Err(e) = shared
        .store
        .claim_session(
            info.node_id.clone(),
            shared.instance.clone(),
            shared.advertise.clone(),
            crate::now_ms(),
        )
        .await
    {
        tracing::warn!(node = %info.node_id, error = %e, "cannot announce the session to the other hubs");
    }
    tracing::info!(node = %info.node_id, %remote, "connected");
    let reason = session(&shared, &conn, &info, notify).await;
    shared.remove_live(&info.node_id, id);
    match reason {
        Ok(()) => {
            conn.close(quinn::VarInt::from_u32(CLOSE_OK), b"bye");
            tracing::info!(node = %info.node_id, "disconnected");
        }
        Err(e) => {
            tracing::info!(node = %info.node_id, code = %e.code, reason = %e.message, "connection ended");
            conn.close(
                quinn::VarInt::from_u32(CLOSE_PROTOCOL),
                e.code.as_str().as_bytes(),
            );
        }
    }
}

fn now() -> Now {
    Now::new(Instant::now(), crate::now_ms())
}

/// Sleep until the session's next timer, or forever if it has none.
async fn timer(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// What the driver took from the session to write, and how much of it is written.
type Writing = Option<(Vec<u8>, usize)>;

/// Write some of what is being written (cancel-safe: quinn's `write` writes
/// nothing unless it completes).
async fn write_some(send: &mut quinn::SendStream, w: &Writing) -> Result<usize, quinn::WriteError> {
    match w {
        Some((buf, off)) => send.write(&buf[*off..]).await,
        None => std::future::pending().await,
    }
}

/// The session's driver: the rules are [`HubSession`]'s; this moves bytes
/// between it and the stream, runs its timers, checks and stores sends,
/// feeds it deliveries from the store and answers directory requests.
async fn session(
    shared: &Arc<Shared>,
    conn: &quinn::Connection,
    info: &NodeInfo,
    notify: Arc<Notify>,
) -> Result<(), ProtoError> {
    let mut s = HubSession::new(
        now(),
        info.node_id.clone(),
        shared.config.name.clone(),
        shared.config.session_limits(),
    );
    let (mut send, mut recv) = tokio::select! {
        r = conn.accept_bi() => match r {
            Ok(streams) => streams,
            Err(_) => return Ok(()),
        },
        () = timer(s.poll_timeout()) => {
            s.handle_timeout(now());
            return match s.poll_event() {
                Some(HubEvent::Closed(r)) => r,
                _ => Err(ProtoError::new(ErrorCode::BadRequest, "no stream opened in time")),
            };
        }
    };
    let mut writing: Writing = None;
    let result = drive(
        shared,
        info,
        notify,
        &mut s,
        &mut send,
        &mut recv,
        &mut writing,
    )
    .await;
    // Write what is queued (an Error frame, when the session failed), briefly.
    let flush = async {
        loop {
            if writing.is_none() {
                writing = s.poll_transmit().map(|b| (b, 0));
            }
            let Some((buf, off)) = writing.take() else {
                break;
            };
            if send.write_all(&buf[off..]).await.is_err() {
                return;
            }
        }
        let _ = send.finish();
        let _ = send.stopped().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), flush).await;
    result
}

async fn drive(
    shared: &Arc<Shared>,
    info: &NodeInfo,
    notify: Arc<Notify>,
    s: &mut HubSession,
    send: &mut quinn::SendStream,
    recv: &mut quinn::RecvStream,
    writing: &mut Writing,
) -> Result<(), ProtoError> {
    let node = &info.node_id;
    let (replies_tx, mut replies) = mpsc::unbounded_channel::<HubMsg>();
    let (feed_tx, mut feed_rx) = mpsc::channel::<Vec<Feed>>(1);
    let mut feed: VecDeque<Feed> = VecDeque::new();
    let mut feeder = Feeder(None);
    let mut acks = Acks::new(shared, node);
    loop {
        // The sends of this pass over the session's events, checked together.
        let mut sends: Vec<accept::Send> = Vec::new();
        while let Some(ev) = s.poll_event() {
            match ev {
                HubEvent::Ready => {}
                HubEvent::Send {
                    rid,
                    envelope,
                    wraps,
                } => {
                    if shared.allow_send(node) {
                        sends.push((rid, envelope, wraps));
                    } else {
                        let error = ProtoError::new(
                            ErrorCode::RateLimited,
                            "sending too fast; slow down and retry",
                        );
                        shared.metrics.refused(error.code);
                        s.answer(now(), HubMsg::Refused { rid, error });
                    }
                }
                HubEvent::Subscribe => {
                    feeder.0 = Some(tokio::spawn(feed_loop(
                        shared.clone(),
                        node.clone(),
                        notify.clone(),
                        feed_tx.clone(),
                    )));
                }
                HubEvent::Received { seqs } => acks.add(seqs),
                HubEvent::Directory { rid } => s.answer(now(), directory_answer(shared, rid)),
                HubEvent::Closed(result) => {
                    // What came before the end is still checked and stored.
                    spawn_sends(shared, node, std::mem::take(&mut sends), &replies_tx);
                    return result;
                }
            }
        }
        spawn_sends(shared, node, sends, &replies_tx);
        while s.can_deliver() {
            match feed.pop_front() {
                Some(Feed::Row(row)) => {
                    if deliver(s, node, row) {
                        shared.metrics.delivered();
                    }
                }
                Some(Feed::Drained) => s.drained(),
                None => break,
            }
        }
        if writing.is_none() {
            *writing = s.poll_transmit().map(|b| (b, 0));
        }
        let reading = s.wants_read();
        tokio::select! {
            r = recv.read_chunk(64 * 1024, true), if reading => match r {
                Ok(Some(chunk)) => {
                    s.handle_bytes(now(), &chunk.bytes);
                    if !read_what_waits(s, recv, chunk.bytes.len()) {
                        return Ok(());
                    }
                }
                Ok(None) => s.handle_end(),
                Err(_) => return Ok(()),
            },
            r = write_some(send, writing) => match r {
                Ok(n) => {
                    s.transmitted(now(), n);
                    if let Some((buf, off)) = writing.as_mut() {
                        *off += n;
                        if *off >= buf.len() {
                            *writing = None;
                        }
                    }
                }
                Err(_) => return Ok(()),
            },
            Some(reply) = replies.recv() => s.answer(now(), reply),
            Some(batch) = feed_rx.recv(), if feed.is_empty() => feed.extend(batch),
            () = timer(s.poll_timeout()) => s.handle_timeout(now()),
            () = timer(acks.due) => acks.store(),
        }
    }
}

/// Hand the session what has already arrived after a read, up to 64 KiB in
/// all, without waiting: QUIC hands a stream over packet by packet, and the
/// sends of one pass over the session's events are checked together (their
/// signatures as one batch). False when the stream failed.
fn read_what_waits(s: &mut HubSession, recv: &mut quinn::RecvStream, mut read: usize) -> bool {
    use std::future::Future;
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    while read < 64 * 1024 && s.wants_read() {
        // Polled once: `read_chunk` loses nothing when dropped unfinished.
        let next = std::pin::pin!(recv.read_chunk(64 * 1024 - read, true)).poll(&mut cx);
        match next {
            std::task::Poll::Ready(Ok(Some(chunk))) => {
                read += chunk.bytes.len();
                s.handle_bytes(now(), &chunk.bytes);
            }
            std::task::Poll::Ready(Ok(None)) => {
                s.handle_end();
                break;
            }
            std::task::Poll::Ready(Err(_)) => return false,
            std::task::Poll::Pending => break,
        }
    }
    true
}

/// Acknowledgements gathered for a moment and stored together: a recipient
/// acknowledges each delivery, and one write for many keeps the store's
/// writer free for sends (with several hubs on PostgreSQL, one transaction
/// for dozens instead of one each). What is gathered is stored when the
/// moment ends, when enough have come, and when the session ends; a hub that
/// dies in the moment only delivers those again, and nodes recognise a
/// delivery they hold by its id.
struct Acks {
    shared: Arc<Shared>,
    node: NodeId,
    seqs: Vec<u64>,
    due: Option<Instant>,
}

impl Acks {
    /// How long acknowledgements wait for company.
    const GATHER: Duration = Duration::from_millis(20);
    /// How many are stored at once without waiting.
    const BATCH: usize = 256;

    fn new(shared: &Arc<Shared>, node: &NodeId) -> Acks {
        Acks {
            shared: shared.clone(),
            node: node.clone(),
            seqs: Vec::new(),
            due: None,
        }
    }

    fn add(&mut self, seqs: Vec<u64>) {
        self.seqs.extend(seqs);
        if self.seqs.len() >= Self::BATCH {
            self.store();
        } else if !self.seqs.is_empty() {
            self.due
                .get_or_insert_with(|| Instant::now() + Self::GATHER);
        }
    }

    /// Store what is gathered, off the driver.
    fn store(&mut self) {
        self.due = None;
        if self.seqs.is_empty() {
            return;
        }
        let seqs = std::mem::take(&mut self.seqs);
        let (shared, node) = (self.shared.clone(), self.node.clone());
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            match shared.store.ack(node.clone(), seqs).await {
                Ok(n) => shared.metrics.acked(n),
                Err(e) => {
                    tracing::error!(node = %node, error = %e, "ack not stored; deliveries will repeat")
                }
            }
        });
    }
}

impl Drop for Acks {
    fn drop(&mut self) {
        self.store();
    }
}

fn directory_answer(shared: &Shared, rid: u64) -> HubMsg {
    let dir = shared.directory();
    let mut certs: Vec<(&NodeId, &Arc<Vec<u8>>)> = dir.certs.iter().collect();
    certs.sort_by(|a, b| a.0.cmp(b.0));
    HubMsg::DirectoryIs {
        rid,
        certs: certs.into_iter().map(|(_, c)| c.as_ref().clone()).collect(),
        crl: shared.crl_der(),
    }
}

/// Hand one stored delivery to the session; false when the row is damaged.
fn deliver(s: &mut HubSession, node: &NodeId, row: DeliveryRow) -> bool {
    let Ok(sig) = <[u8; 64]>::try_from(row.sig.as_slice()) else {
        tracing::error!(node = %node, seq = row.seq, "stored signature has the wrong size; skipped");
        return false;
    };
    let envelope = Envelope {
        header: row.header,
        sig,
        body: row.body,
    };
    s.deliver(row.seq, envelope, row.wrap);
    true
}

/// What the store has for the node, in order.
enum Feed {
    Row(DeliveryRow),
    /// Nothing more waits (said once, after the backlog).
    Drained,
}

/// The feed's task, stopped with the session.
struct Feeder(Option<tokio::task::JoinHandle<()>>);

impl Drop for Feeder {
    fn drop(&mut self) {
        if let Some(h) = &self.0 {
            h.abort();
        }
    }
}

/// Read what waits for the node from the store, a budget's worth at a time
/// (the channel holds one batch: the driver asks for the next when it has
/// handed the last to the session), then take what the store's writer hands
/// over as it commits ([`crate::store::follow`]), going back to the store
/// whenever it says the feed fell behind. A store that cannot hand over
/// (several hubs on PostgreSQL) wakes the feed to read it again.
async fn feed_loop(
    shared: Arc<Shared>,
    node: NodeId,
    notify: Arc<Notify>,
    tx: mpsc::Sender<Vec<Feed>>,
) {
    let budget = shared.config.limits.out_buffer_bytes.max(1 << 16);
    // Before the first read: what is committed after it is handed over.
    let mut follow = shared.store.follow(&node, budget);
    let mut cursor = 0u64;
    let mut drained = false;
    loop {
        let rows = match shared.store.fetch(node.clone(), cursor, 256, budget).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(node = %node, error = %e, "cannot read deliveries");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if !rows.is_empty() {
            cursor = rows.last().map_or(cursor, |r| r.seq);
            if tx
                .send(rows.into_iter().map(Feed::Row).collect())
                .await
                .is_err()
            {
                return;
            }
            continue;
        }
        if !drained {
            drained = true;
            if tx.send(vec![Feed::Drained]).await.is_err() {
                return;
            }
        }
        match follow.as_mut() {
            Some(f) => match take_pushed(f, &mut cursor, budget, &tx).await {
                Pushes::Lagged => {}
                Pushes::StoreGone => follow = None,
                Pushes::SessionGone => return,
            },
            // Woken by an arrival; with other hubs on the store, also look
            // now and then in case their announcement was lost.
            None => match shared.store.poll_interval() {
                Some(every) => {
                    let _ = tokio::time::timeout(every, notify.notified()).await;
                }
                None => notify.notified().await,
            },
        }
    }
}

/// Why the feed stopped taking what the writer hands over.
enum Pushes {
    /// Deliveries were committed that did not come: read the store.
    Lagged,
    /// The store no longer hands over.
    StoreGone,
    /// The session ended.
    SessionGone,
}

/// Pass on what the writer hands over, in batches of what has come, skipping
/// what the feed read from the store already.
async fn take_pushed(
    f: &mut Follow,
    cursor: &mut u64,
    budget: usize,
    tx: &mpsc::Sender<Vec<Feed>>,
) -> Pushes {
    loop {
        let Some(mut next) = f.recv().await else {
            return Pushes::StoreGone;
        };
        let (mut batch, mut bytes, mut lagged) = (Vec::new(), 0, false);
        loop {
            match next {
                Pushed::Row(r) if r.seq > *cursor => {
                    *cursor = r.seq;
                    bytes += r.size();
                    batch.push(Feed::Row(r));
                }
                Pushed::Row(_) => {}
                Pushed::Lagged => {
                    lagged = true;
                    break;
                }
            }
            if batch.len() >= 256 || bytes >= budget {
                break;
            }
            match f.try_recv() {
                Some(p) => next = p,
                None => break,
            }
        }
        if !batch.is_empty() && tx.send(batch).await.is_err() {
            return Pushes::SessionGone;
        }
        if lagged {
            return Pushes::Lagged;
        }
    }
}
