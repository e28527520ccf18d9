//! One client connection: authenticate by certificate, then serve its stream.

use std::sync::Arc;
use std::time::Duration;

use lianxi_shared::frame::FrameDecoder;
use lianxi_shared::rules::check_send;
use lianxi_shared::wire::{ClientMsg, HubMsg};
use lianxi_shared::{
    ALPN, Envelope, ErrorCode, NodeId, NodeInfo, PROTOCOL_VERSION, ProtoError, Wrap,
};
use rustls_pki_types::CertificateDer;
use tokio::sync::{Notify, Semaphore, mpsc};

use crate::server::{Live, Shared};
use crate::store::{Inserted, NewEnvelope};
use crate::window::Window;

/// Application close codes.
const CLOSE_OK: u32 = 0;
const CLOSE_PROTOCOL: u32 = 1;

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

/// Why reading a frame stopped.
enum ReadEnd {
    Closed,
    Error(ProtoError),
}

/// How long a frame may take: a grace period once it starts, plus time
/// earned by every byte received at the slowest rate the hub accepts. A slow
/// but honest link finishes a large attachment; a peer that trickles bytes to
/// hold a connection open runs out of time.
#[derive(Clone, Copy)]
pub(crate) struct FramePace {
    pub grace: Duration,
    pub min_bytes_per_sec: u64,
}

impl FramePace {
    fn earned(&self, bytes: usize) -> Duration {
        Duration::from_secs_f64(bytes as f64 / self.min_bytes_per_sec.max(1) as f64)
    }
}

/// Read the next frame, within the time `pace` allows once it has started.
async fn read_frame(
    recv: &mut quinn::RecvStream,
    dec: &mut FrameDecoder,
    pace: FramePace,
) -> Result<Vec<u8>, ReadEnd> {
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        if let Some(f) = dec.next_frame().map_err(ReadEnd::Error)? {
            return Ok(f);
        }
        if dec.buffered() > 0 && deadline.is_none() {
            deadline = Some(tokio::time::Instant::now() + pace.grace + pace.earned(dec.buffered()));
        }
        let read = recv.read_chunk(64 * 1024, true);
        let chunk = match deadline {
            Some(d) => match tokio::time::timeout_at(d, read).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(ReadEnd::Error(ProtoError::new(
                        ErrorCode::TruncatedFrame,
                        "frame not completed in time",
                    )));
                }
            },
            None => read.await,
        };
        match chunk {
            Ok(Some(chunk)) => {
                if let Some(d) = deadline.as_mut() {
                    *d += pace.earned(chunk.bytes.len());
                }
                dec.push(&chunk.bytes);
            }
            Ok(None) => {
                return match dec.finish() {
                    Ok(()) => Err(ReadEnd::Closed),
                    Err(e) => Err(ReadEnd::Error(e)),
                };
            }
            Err(_) => return Err(ReadEnd::Closed),
        }
    }
}

/// An encoded frame, and the share of the connection's byte budget it holds
/// until it is written.
type Frame = (Vec<u8>, Option<tokio::sync::OwnedSemaphorePermit>);

async fn write_loop(mut send: quinn::SendStream, mut rx: mpsc::Receiver<Frame>) {
    while let Some((frame, _budget)) = rx.recv().await {
        if send.write_all(&frame).await.is_err() {
            return;
        }
    }
    let _ = send.finish();
    let _ = tokio::time::timeout(Duration::from_secs(2), send.stopped()).await;
}

async fn session(
    shared: &Arc<Shared>,
    conn: &quinn::Connection,
    info: &NodeInfo,
    notify: Arc<Notify>,
) -> Result<(), ProtoError> {
    let limits = &shared.config.limits;
    let hello_wait = Duration::from_secs(limits.hello_timeout_secs);
    let (send, mut recv) = match tokio::time::timeout(hello_wait, conn.accept_bi()).await {
        Ok(Ok(s)) => s,
        Ok(Err(_)) => return Ok(()),
        Err(_) => {
            return Err(ProtoError::new(
                ErrorCode::BadRequest,
                "no stream opened in time",
            ));
        }
    };
    let (out, out_rx) = mpsc::channel::<Frame>(256);
    let writer = tokio::spawn(write_loop(send, out_rx));
    let mut dec = FrameDecoder::new(limits.max_frame);
    let result = serve(shared, info, notify, &mut recv, &mut dec, &out, hello_wait).await;
    if let Err(e) = &result {
        let _ = out
            .send((HubMsg::Error { error: e.clone() }.to_frame(), None))
            .await;
    }
    drop(out);
    let _ = tokio::time::timeout(Duration::from_secs(3), writer).await;
    result
}

async fn serve(
    shared: &Arc<Shared>,
    info: &NodeInfo,
    notify: Arc<Notify>,
    recv: &mut quinn::RecvStream,
    dec: &mut FrameDecoder,
    out: &mpsc::Sender<Frame>,
    hello_wait: Duration,
) -> Result<(), ProtoError> {
    let node = &info.node_id;
    let pace = FramePace {
        grace: Duration::from_secs(shared.config.limits.frame_timeout_secs.max(1)),
        min_bytes_per_sec: shared.config.limits.frame_min_bytes_per_sec,
    };
    let first = match tokio::time::timeout(hello_wait, read_frame(recv, dec, pace)).await {
        Ok(Ok(f)) => f,
        Ok(Err(ReadEnd::Closed)) => return Ok(()),
        Ok(Err(ReadEnd::Error(e))) => return Err(e),
        Err(_) => return Err(ProtoError::new(ErrorCode::BadRequest, "no Hello in time")),
    };
    match ClientMsg::decode(&first)? {
        ClientMsg::Hello { protocol, .. } if protocol == PROTOCOL_VERSION => {}
        ClientMsg::Hello { protocol, .. } => {
            return Err(ProtoError::new(
                ErrorCode::UnsupportedVersion,
                format!("protocol {protocol} is not supported; this hub speaks {PROTOCOL_VERSION}"),
            ));
        }
        _ => {
            return Err(ProtoError::new(
                ErrorCode::BadRequest,
                "the first frame must be Hello",
            ));
        }
    }
    let welcome = HubMsg::Welcome {
        protocol: PROTOCOL_VERSION,
        node: node.clone(),
        hub: shared.config.name.clone(),
        time_ms: crate::now_ms(),
    };
    send_frame(out, welcome).await?;
    let inflight = Arc::new(Semaphore::new(
        shared.config.limits.max_inflight_sends.max(1),
    ));
    // Bytes held by sends being checked and stored on this connection.
    let inflight_bytes_total = shared
        .config
        .limits
        .max_inflight_send_bytes
        .max(shared.config.limits.max_frame)
        .min(u32::MAX as usize);
    let inflight_bytes = Arc::new(Semaphore::new(inflight_bytes_total));
    // Outgoing bytes queued for the writer (deliveries and directory answers).
    let budget_total = shared.config.limits.out_buffer_bytes.max(1 << 16);
    let budget = Arc::new(Semaphore::new(budget_total));
    let mut directory_rate = DirectoryRate::new(shared.config.limits.directory_per_minute);
    let window = Arc::new(Window::new(shared.config.limits.delivery_window));
    let mut deliverer: Option<tokio::task::JoinHandle<()>> = None;
    let result = loop {
        let body = match read_frame(recv, dec, pace).await {
            Ok(b) => b,
            Err(ReadEnd::Closed) => break Ok(()),
            Err(ReadEnd::Error(e)) => break Err(e),
        };
        let frame_len = body.len();
        let msg = match ClientMsg::decode(&body) {
            Ok(m) => m,
            Err(e) => break Err(e),
        };
        match msg {
            ClientMsg::Hello { .. } => {
                break Err(ProtoError::new(ErrorCode::BadRequest, "Hello sent twice"));
            }
            ClientMsg::Send {
                rid,
                envelope,
                wraps,
            } => {
                if !shared.allow_send(node) {
                    let error = ProtoError::new(
                        ErrorCode::RateLimited,
                        "sending too fast; slow down and retry",
                    );
                    send_frame(out, HubMsg::Refused { rid, error }).await?;
                    continue;
                }
                let Ok(permit) = inflight.clone().acquire_owned().await else {
                    break Ok(());
                };
                // Wait (and stop reading) while this connection's sends hold
                // too many bytes.
                let share = u32::try_from(frame_len.min(inflight_bytes_total)).unwrap_or(u32::MAX);
                let Ok(bytes_permit) = inflight_bytes.clone().acquire_many_owned(share).await
                else {
                    break Ok(());
                };
                let (shared, node, out) = (shared.clone(), node.clone(), out.clone());
                tokio::spawn(async move {
                    let reply = match accept_send(&shared, &node, envelope, wraps).await {
                        Ok((id, recipients, duplicate, missing)) => HubMsg::Accepted {
                            rid,
                            id,
                            recipients,
                            duplicate,
                            missing,
                        },
                        Err(error) => {
                            tracing::info!(node = %node, code = %error.code, "send refused");
                            HubMsg::Refused { rid, error }
                        }
                    };
                    let _ = out.send((reply.to_frame(), None)).await;
                    drop(permit);
                    drop(bytes_permit);
                });
            }
            ClientMsg::Subscribe => {
                if deliverer.is_none() {
                    deliverer = Some(tokio::spawn(deliver_loop(
                        shared.clone(),
                        node.clone(),
                        notify.clone(),
                        window.clone(),
                        out.clone(),
                        budget.clone(),
                    )));
                }
            }
            ClientMsg::Received { seqs } => {
                if let Err(e) = window.release(&seqs) {
                    break Err(e);
                }
                let (shared, node) = (shared.clone(), node.clone());
                tokio::spawn(async move {
                    if let Err(e) = shared.store.ack(node.clone(), seqs).await {
                        tracing::error!(node = %node, error = %e, "ack not stored; deliveries will repeat");
                    }
                });
            }
            ClientMsg::Directory { rid } => {
                if !directory_rate.allow(std::time::Instant::now()) {
                    let error = ProtoError::new(
                        ErrorCode::RateLimited,
                        "too many directory requests; the directory changes rarely",
                    );
                    send_frame(out, HubMsg::Refused { rid, error }).await?;
                    continue;
                }
                let dir = shared.directory();
                let mut certs: Vec<(&NodeId, &Arc<Vec<u8>>)> = dir.certs.iter().collect();
                certs.sort_by(|a, b| a.0.cmp(b.0));
                let certs = certs.into_iter().map(|(_, c)| c.as_ref().clone()).collect();
                let frame = HubMsg::DirectoryIs {
                    rid,
                    certs,
                    crl: shared.crl_der(),
                }
                .to_frame();
                // Like a delivery: the answer waits for room in this
                // connection's outgoing budget, so asking again and again
                // while not reading cannot grow the hub.
                let share = u32::try_from(frame.len().min(budget_total)).unwrap_or(u32::MAX);
                let Ok(permit) = budget.clone().acquire_many_owned(share).await else {
                    break Ok(());
                };
                if out.send((frame, Some(permit))).await.is_err() {
                    break Ok(());
                }
            }
            ClientMsg::Ping { rid } => {
                send_frame(
                    out,
                    HubMsg::Pong {
                        rid,
                        time_ms: crate::now_ms(),
                    },
                )
                .await?
            }
        }
    };
    if let Some(d) = deliverer {
        d.abort();
    }
    result
}

/// At most `per_minute` directory answers per connection in any minute.
struct DirectoryRate {
    per_minute: u32,
    recent: std::collections::VecDeque<std::time::Instant>,
}

impl DirectoryRate {
    fn new(per_minute: u32) -> DirectoryRate {
        DirectoryRate {
            per_minute: per_minute.max(1),
            recent: std::collections::VecDeque::new(),
        }
    }

    fn allow(&mut self, now: std::time::Instant) -> bool {
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.per_minute as usize {
            return false;
        }
        self.recent.push_back(now);
        true
    }
}

async fn send_frame(out: &mpsc::Sender<Frame>, msg: HubMsg) -> Result<(), ProtoError> {
    out.send((msg.to_frame(), None))
        .await
        .map_err(|_| ProtoError::code(ErrorCode::Unavailable))
}

/// Bodies at least this large are hashed on a blocking thread.
const HASH_OFF_REACTOR: usize = 64 * 1024;

async fn accept_send(
    shared: &Arc<Shared>,
    node: &NodeId,
    envelope: Envelope,
    wraps: Vec<Wrap>,
) -> Result<(lianxi_shared::MessageId, u32, bool, Vec<NodeId>), ProtoError> {
    let dir = shared.directory();
    let now = crate::now_ms();
    let limits = shared.config.time_limits();
    // Small envelopes are checked on this task's worker thread: one signature
    // verification (tens of microseconds) costs less than handing it to a
    // blocking thread and back, which showed as a fifth of the hub's time in
    // context switches. A large body's two SHA-256 passes (tens of
    // milliseconds at 16 MiB) would stall every connection on this worker, so
    // those run on a blocking thread.
    let check = move |envelope: Envelope, node: NodeId| {
        let checked = check_send(&envelope, wraps, &node, &dir.nodes, now, limits);
        let digest = envelope.digest();
        (checked, digest, envelope)
    };
    let (checked, digest, envelope) = if envelope.body.len() >= HASH_OFF_REACTOR {
        let node = node.clone();
        tokio::task::spawn_blocking(move || check(envelope, node))
            .await
            .map_err(|_| ProtoError::code(ErrorCode::Internal))?
    } else {
        check(envelope, node.clone())
    };
    let checked = checked?;
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
    match shared.store.insert(new, now).await? {
        Inserted::Stored { ready, held } => {
            tracing::debug!(%id, sender = %node, recipients, bytes = size, held, "stored");
            if held {
                shared.release_wake.notify_one();
            }
            for n in &ready {
                shared.wake(n);
            }
            Ok((id, recipients, false, checked.missing))
        }
        Inserted::Duplicate => {
            tracing::debug!(%id, sender = %node, "duplicate send; already stored");
            Ok((id, recipients, true, checked.missing))
        }
    }
}

async fn deliver_loop(
    shared: Arc<Shared>,
    node: NodeId,
    notify: Arc<Notify>,
    window: Arc<Window>,
    out: mpsc::Sender<Frame>,
    budget: Arc<Semaphore>,
) {
    // Outgoing frames may hold at most this many bytes queued for the writer.
    let budget_total = shared.config.limits.out_buffer_bytes.max(1 << 16);
    let mut cursor = 0u64;
    let mut drained = false;
    let mut delivered = 0u64;
    loop {
        let rows = match shared
            .store
            .fetch(node.clone(), cursor, 256, budget_total)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(node = %node, error = %e, "cannot read deliveries");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if rows.is_empty() {
            if !drained {
                drained = true;
                if out
                    .send((HubMsg::Drained { delivered }.to_frame(), None))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            notify.notified().await;
            continue;
        }
        for row in rows {
            cursor = row.seq;
            let Ok(sig) = <[u8; 64]>::try_from(row.sig.as_slice()) else {
                tracing::error!(node = %node, seq = row.seq, "stored signature has the wrong size; skipped");
                continue;
            };
            let msg = HubMsg::Deliver {
                seq: row.seq,
                envelope: Envelope {
                    header: row.header,
                    sig,
                    body: row.body,
                },
                wrap: row.wrap,
            };
            let frame = msg.to_frame();
            if !window.take(row.seq).await {
                return;
            }
            let share = u32::try_from(frame.len().min(budget_total)).unwrap_or(u32::MAX);
            let Ok(permit) = budget.clone().acquire_many_owned(share).await else {
                return;
            };
            if out.send((frame, Some(permit))).await.is_err() {
                return;
            }
            delivered += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_rate_allows_per_minute_then_recovers() {
        let t0 = std::time::Instant::now();
        let mut r = DirectoryRate::new(3);
        assert!((0..3).all(|_| r.allow(t0)));
        assert!(!r.allow(t0 + Duration::from_secs(59)));
        assert!(r.allow(t0 + Duration::from_secs(60)));
    }
}
