//! The connection to the hub: QUIC with mutual TLS, one bidirectional stream.
//! What is said on it is `lianxi_shared::session::ClientSession`'s to decide;
//! [`driver`] moves its bytes and timers. [`Session`] is the handle the node
//! uses: requests resolve with their answers, deliveries arrive as [`Event`]s
//! on a channel.

mod driver;
mod tls;

use std::net::SocketAddr;
use std::time::Duration;

use lianxi_shared::wire::{ClientMsg, HubMsg};
use lianxi_shared::{Envelope, ErrorCode, MessageId, NodeId, ProtoError, Wrap};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::{mpsc, oneshot};

use crate::Result;
use driver::Command;

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

/// A live session with the hub. Cheap to clone.
#[derive(Clone)]
pub struct Session {
    conn: quinn::Connection,
    endpoint: quinn::Endpoint,
    commands: mpsc::Sender<Command>,
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

/// Receive buffer asked for the node's UDP socket. A catch-up streams a
/// week of deliveries at once; with the kernel's default (about 208 KiB)
/// the bench's receiving nodes dropped datagrams whenever they paused to
/// store a batch, and each drop costs a retransmission and a slower
/// congestion window. The kernel caps it at `net.core.rmem_max`.
const UDP_BUFFER: usize = 4 << 20;

fn udp_socket(bind: SocketAddr) -> Result<std::net::UdpSocket> {
    let socket = std::net::UdpSocket::bind(bind)
        .map_err(|e| unreachable(format!("cannot open a UDP socket: {e}")))?;
    // Not fatal: the default buffer works, only worse under bursts.
    let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(UDP_BUFFER);
    Ok(socket)
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
        let mut endpoint = quinn::Endpoint::new(
            quinn::EndpointConfig::default(),
            None,
            udp_socket(bind)?,
            std::sync::Arc::new(quinn::TokioRuntime),
        )
        .map_err(|e| unreachable(format!("cannot open a UDP socket: {e}")))?;
        endpoint.set_default_client_config(tls::client_config(tls)?);
        let conn = endpoint
            .connect(remote, server_name)
            .map_err(|e| unreachable(format!("cannot connect to {addr}: {e}")))?
            .await
            .map_err(|e| tls::map_connect_error(addr, e))?;
        let (send, recv) = conn
            .open_bi()
            .await
            .map_err(|e| tls::map_connect_error(addr, e))?;
        let (commands, events, welcome) = driver::start(send, recv);
        let hub_name = welcome
            .await
            .map_err(|_| unreachable("the connection closed before the hub said Welcome"))??;
        let session = Session {
            conn,
            endpoint,
            commands,
            hub_name,
        };
        Ok((session, events))
    }

    async fn command(&self, c: Command) -> Result<()> {
        self.commands
            .send(c)
            .await
            .map_err(|_| unreachable("the connection is closed"))
    }

    /// Ask the hub; the session times the answer out (see `ClientLimits`).
    async fn request(&self, msg: impl FnOnce(u64) -> ClientMsg + Send + 'static) -> Result<HubMsg> {
        let (reply, answer) = oneshot::channel();
        self.command(Command::Request {
            msg: Box::new(msg),
            reply,
        })
        .await?;
        answer
            .await
            .map_err(|_| unreachable("the connection closed before the hub answered"))?
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
            other => Err(unexpected(&other)),
        }
    }

    /// Every node certificate the hub knows, and its CRL (both unverified).
    pub async fn directory(&self) -> Result<(Vec<Vec<u8>>, Option<Vec<u8>>)> {
        match self.request(|rid| ClientMsg::Directory { rid }).await? {
            HubMsg::DirectoryIs { certs, crl, .. } => Ok((certs, crl)),
            other => Err(unexpected(&other)),
        }
    }

    pub async fn ping(&self) -> Result<()> {
        self.request(|rid| ClientMsg::Ping { rid })
            .await
            .map(|_| ())
    }

    pub async fn subscribe(&self) -> Result<()> {
        self.command(Command::Subscribe).await
    }

    /// Tell the hub these deliveries are stored.
    pub async fn ack(&self, seqs: Vec<u64>) -> Result<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        self.command(Command::Ack(seqs)).await
    }

    pub fn is_closed(&self) -> bool {
        self.conn.close_reason().is_some() || self.commands.is_closed()
    }

    /// Why QUIC closed the connection, if it did (for diagnostics; the
    /// session's own reason arrives as `Event::Closed`).
    pub fn close_reason(&self) -> Option<String> {
        self.conn.close_reason().map(|e| e.to_string())
    }

    /// Close after the queued frames are written.
    pub async fn close(self) {
        // A ping round trip ensures earlier frames (acks) reached the hub.
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ping()).await;
        self.conn.close(quinn::VarInt::from_u32(0), b"bye");
        let _ = tokio::time::timeout(Duration::from_millis(500), self.endpoint.wait_idle()).await;
    }
}

/// An answer of the wrong kind for its request (named, never shown: it came
/// from the network).
fn unexpected(m: &HubMsg) -> ProtoError {
    let kind = match m {
        HubMsg::Accepted { .. } => "Accepted",
        HubMsg::DirectoryIs { .. } => "DirectoryIs",
        HubMsg::Pong { .. } => "Pong",
        _ => "another message",
    };
    ProtoError::new(ErrorCode::BadFrame, format!("unexpected answer: {kind}"))
}
