//! The connection to the hub: QUIC with mutual TLS, one bidirectional stream
//! carrying length-prefixed frames. Requests are pipelined by `rid`; deliveries
//! arrive as [`Event`]s on a channel.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lianxi_shared::frame::{DEFAULT_MAX_FRAME, FrameDecoder};
use lianxi_shared::wire::{ClientMsg, HubMsg};
use lianxi_shared::{
    ALPN, Envelope, ErrorCode, MessageId, NodeId, PROTOCOL_VERSION, ProtoError, Wrap,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::{mpsc, oneshot};

use crate::Result;

/// Certificates and key for mutual TLS.
pub struct TlsSetup {
    pub ca: CertificateDer<'static>,
    pub cert: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
    /// The newest CRL this node has seen: a revoked hub certificate is refused.
    pub crl: Option<rustls_pki_types::CertificateRevocationListDer<'static>>,
}

/// Something the hub sent that is not a response.
#[derive(Debug)]
pub enum Event {
    Deliver {
        seq: u64,
        envelope: Envelope,
        wrap: Vec<u8>,
    },
    Drained {
        delivered: u64,
    },
    Closed(ProtoError),
}

#[derive(Debug, Clone)]
pub struct Accepted {
    pub id: MessageId,
    pub recipients: u32,
    pub duplicate: bool,
    pub missing: Vec<NodeId>,
}

fn unreachable(m: impl Into<String>) -> ProtoError {
    ProtoError::new(ErrorCode::HubUnreachable, m)
}

fn client_config(tls: &TlsSetup) -> Result<quinn::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(tls.ca.clone())
        .map_err(|e| ProtoError::new(ErrorCode::BadCertificate, format!("CA certificate: {e}")))?;
    let mut verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    );
    if let Some(crl) = &tls.crl {
        verifier = verifier.with_crls([crl.clone()]);
    }
    let verifier = verifier
        .build()
        .map_err(|e| ProtoError::new(ErrorCode::BadCertificate, format!("CA or CRL: {e}")))?;
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| ProtoError::new(ErrorCode::Internal, e.to_string()))?
        .with_webpki_verifier(verifier)
        .with_client_auth_cert(vec![tls.cert.clone()], tls.key.clone_key())
        .map_err(|e| {
            ProtoError::new(ErrorCode::BadCertificate, format!("node certificate: {e}"))
        })?;
    cfg.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(cfg)
        .map_err(|e| ProtoError::new(ErrorCode::Internal, e.to_string()))?;
    let mut qc = quinn::ClientConfig::new(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(Duration::from_secs(10)));
    transport.max_idle_timeout(Some(
        Duration::from_secs(40)
            .try_into()
            .map_err(|_| ProtoError::code(ErrorCode::Internal))?,
    ));
    qc.transport_config(Arc::new(transport));
    Ok(qc)
}

struct Inner {
    conn: quinn::Connection,
    _endpoint: quinn::Endpoint,
    out: mpsc::Sender<Vec<u8>>,
    pending: Mutex<HashMap<u64, oneshot::Sender<HubMsg>>>,
    next_rid: AtomicU64,
}

/// A live session with the hub. Cheap to clone.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
    /// The hub's name, as it introduced itself.
    pub hub_name: String,
}

async fn resolve(addr: &str) -> Result<SocketAddr> {
    let mut it = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| unreachable(format!("cannot resolve {addr}: {e}")))?;
    it.next()
        .ok_or_else(|| unreachable(format!("{addr} resolves to no address")))
}

/// The TLS alert behind a failed connection, ours or the hub's: QUIC carries
/// it as a "crypto" transport error code (0x100 + the alert).
fn tls_alert(e: &quinn::ConnectionError) -> Option<rustls::AlertDescription> {
    let code = match e {
        quinn::ConnectionError::TransportError(t) => t.code,
        quinn::ConnectionError::ConnectionClosed(c) => c.error_code,
        _ => return None,
    };
    let raw = u64::from(code);
    (0x100..0x200)
        .contains(&raw)
        .then(|| rustls::AlertDescription::from((raw - 0x100) as u8))
}

fn map_connect_error(addr: &str, e: quinn::ConnectionError) -> ProtoError {
    use rustls::AlertDescription as A;
    let text = e.to_string();
    match (tls_alert(&e), &e) {
        (Some(A::CertificateRevoked), _) => ProtoError::new(
            ErrorCode::Revoked,
            format!(
                "the hub at {addr} presents a revoked certificate (per the newest CRL this node has seen), or refuses this node's: {text}"
            ),
        ),
        (
            Some(
                A::BadCertificate
                | A::UnsupportedCertificate
                | A::CertificateExpired
                | A::CertificateUnknown
                | A::CertificateRequired
                | A::UnknownCA
                | A::DecryptError,
            ),
            _,
        ) => ProtoError::new(
            ErrorCode::UntrustedCertificate,
            format!("TLS with {addr} failed: {text}"),
        ),
        (_, quinn::ConnectionError::ApplicationClosed(c)) => {
            let reason = String::from_utf8_lossy(&c.reason).to_string();
            ProtoError::new(
                ErrorCode::HubUnreachable,
                format!("the hub closed the connection: {reason}"),
            )
        }
        _ => unreachable(format!("cannot connect to {addr}: {text}")),
    }
}

impl Session {
    /// Connect, authenticate and say Hello. Returns the session and its events.
    pub async fn connect(
        addr: &str,
        server_name: &str,
        tls: &TlsSetup,
        timeout: Duration,
    ) -> Result<(Session, mpsc::Receiver<Event>)> {
        tokio::time::timeout(timeout, Self::connect_inner(addr, server_name, tls))
            .await
            .map_err(|_| {
                unreachable(format!(
                    "no answer from {addr} within {}s",
                    timeout.as_secs()
                ))
            })?
    }

    async fn connect_inner(
        addr: &str,
        server_name: &str,
        tls: &TlsSetup,
    ) -> Result<(Session, mpsc::Receiver<Event>)> {
        let remote = resolve(addr).await?;
        let bind: SocketAddr = if remote.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        }
        .parse()
        .map_err(|_| ProtoError::code(ErrorCode::Internal))?;
        let mut endpoint = quinn::Endpoint::client(bind)
            .map_err(|e| unreachable(format!("cannot open a UDP socket: {e}")))?;
        endpoint.set_default_client_config(client_config(tls)?);
        let conn = endpoint
            .connect(remote, server_name)
            .map_err(|e| unreachable(format!("cannot connect to {addr}: {e}")))?
            .await
            .map_err(|e| map_connect_error(addr, e))?;
        let (mut send, mut recv) = conn
            .open_bi()
            .await
            .map_err(|e| map_connect_error(addr, e))?;
        let hello = ClientMsg::Hello {
            protocol: PROTOCOL_VERSION,
            agent: format!("lianxi/{}", env!("CARGO_PKG_VERSION")),
        };
        send.write_all(&hello.to_frame())
            .await
            .map_err(|e| unreachable(format!("{e}")))?;
        let mut dec = FrameDecoder::new(DEFAULT_MAX_FRAME);
        let first = read_frame(&mut recv, &mut dec)
            .await?
            .ok_or_else(|| unreachable("the hub closed the stream"))?;
        let hub_name = match HubMsg::decode(&first)? {
            HubMsg::Welcome { hub, .. } => hub,
            HubMsg::Error { error } => return Err(error),
            other => {
                return Err(ProtoError::new(
                    ErrorCode::BadFrame,
                    format!("expected Welcome, got {other:?}"),
                ));
            }
        };
        let (out, out_rx) = mpsc::channel::<Vec<u8>>(256);
        let (events_tx, events) = mpsc::channel(1024);
        let inner = Arc::new(Inner {
            conn: conn.clone(),
            _endpoint: endpoint,
            out,
            pending: Mutex::new(HashMap::new()),
            next_rid: AtomicU64::new(1),
        });
        tokio::spawn(write_loop(send, out_rx));
        tokio::spawn(read_loop(recv, dec, inner.clone(), events_tx));
        Ok((Session { inner, hub_name }, events))
    }

    async fn send_msg(&self, msg: ClientMsg) -> Result<()> {
        self.inner
            .out
            .send(msg.to_frame())
            .await
            .map_err(|_| unreachable("the connection is closed"))
    }

    async fn request(&self, build: impl FnOnce(u64) -> ClientMsg) -> Result<HubMsg> {
        let rid = self.inner.next_rid.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = self.inner.pending.lock() {
            p.insert(rid, tx);
        }
        self.send_msg(build(rid)).await?;
        match tokio::time::timeout(Duration::from_secs(60), rx).await {
            Ok(Ok(HubMsg::Refused { error, .. })) => Err(error),
            Ok(Ok(m)) => Ok(m),
            Ok(Err(_)) => Err(unreachable("the connection closed before the hub answered")),
            Err(_) => {
                if let Ok(mut p) = self.inner.pending.lock() {
                    p.remove(&rid);
                }
                Err(unreachable("the hub did not answer within 60 s"))
            }
        }
    }

    /// Send an envelope; resolves when the hub has stored it durably.
    pub async fn send_envelope(&self, envelope: Envelope, wraps: Vec<Wrap>) -> Result<Accepted> {
        match self
            .request(|rid| ClientMsg::Send {
                rid,
                envelope,
                wraps,
            })
            .await?
        {
            HubMsg::Accepted {
                id,
                recipients,
                duplicate,
                missing,
                ..
            } => Ok(Accepted {
                id,
                recipients,
                duplicate,
                missing,
            }),
            other => Err(ProtoError::new(
                ErrorCode::BadFrame,
                format!("unexpected answer {other:?}"),
            )),
        }
    }

    /// Every node certificate the hub knows, and its CRL (both unverified).
    pub async fn directory(&self) -> Result<(Vec<Vec<u8>>, Option<Vec<u8>>)> {
        match self.request(|rid| ClientMsg::Directory { rid }).await? {
            HubMsg::DirectoryIs { certs, crl, .. } => Ok((certs, crl)),
            other => Err(ProtoError::new(
                ErrorCode::BadFrame,
                format!("unexpected answer {other:?}"),
            )),
        }
    }

    pub async fn ping(&self) -> Result<()> {
        self.request(|rid| ClientMsg::Ping { rid })
            .await
            .map(|_| ())
    }

    pub async fn subscribe(&self) -> Result<()> {
        self.send_msg(ClientMsg::Subscribe).await
    }

    /// Tell the hub these deliveries are stored.
    pub async fn ack(&self, seqs: Vec<u64>) -> Result<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        self.send_msg(ClientMsg::Received { seqs }).await
    }

    pub fn is_closed(&self) -> bool {
        self.inner.conn.close_reason().is_some()
    }

    /// Close after the queued frames are written.
    pub async fn close(self) {
        // A ping round trip ensures earlier frames (acks) reached the hub.
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ping()).await;
        self.inner.conn.close(quinn::VarInt::from_u32(0), b"bye");
        let _ = tokio::time::timeout(Duration::from_millis(500), self.inner._endpoint.wait_idle())
            .await;
    }
}

async fn read_frame(
    recv: &mut quinn::RecvStream,
    dec: &mut FrameDecoder,
) -> Result<Option<Vec<u8>>> {
    loop {
        if let Some(f) = dec.next_frame()? {
            return Ok(Some(f));
        }
        match recv.read_chunk(256 * 1024, true).await {
            Ok(Some(c)) => dec.push(&c.bytes),
            Ok(None) => return dec.finish().map(|_| None),
            Err(e) => return Err(unreachable(format!("connection lost: {e}"))),
        }
    }
}

async fn write_loop(mut send: quinn::SendStream, mut rx: mpsc::Receiver<Vec<u8>>) {
    while let Some(frame) = rx.recv().await {
        if send.write_all(&frame).await.is_err() {
            return;
        }
    }
    let _ = send.finish();
}

async fn read_loop(
    mut recv: quinn::RecvStream,
    mut dec: FrameDecoder,
    inner: Arc<Inner>,
    events: mpsc::Sender<Event>,
) {
    let end = loop {
        let frame = match read_frame(&mut recv, &mut dec).await {
            Ok(Some(f)) => f,
            Ok(None) => break unreachable("the hub closed the stream"),
            Err(e) => break e,
        };
        let msg = match HubMsg::decode(&frame) {
            Ok(m) => m,
            Err(e) => break e,
        };
        let rid = match &msg {
            HubMsg::Accepted { rid, .. }
            | HubMsg::Refused { rid, .. }
            | HubMsg::DirectoryIs { rid, .. }
            | HubMsg::Pong { rid, .. } => Some(*rid),
            _ => None,
        };
        if let Some(rid) = rid {
            let waiter = inner.pending.lock().ok().and_then(|mut p| p.remove(&rid));
            if let Some(w) = waiter {
                let _ = w.send(msg);
            }
            continue;
        }
        let ev = match msg {
            HubMsg::Deliver {
                seq,
                envelope,
                wrap,
            } => Event::Deliver {
                seq,
                envelope,
                wrap,
            },
            HubMsg::Drained { delivered } => Event::Drained { delivered },
            HubMsg::Error { error } => break error,
            _ => continue,
        };
        if events.send(ev).await.is_err() {
            break unreachable("session dropped");
        }
    };
    if let Ok(mut p) = inner.pending.lock() {
        p.clear();
    }
    let _ = events.send(Event::Closed(end)).await;
}
