//! The metrics endpoint: `GET /metrics` over plain HTTP/1.1 on a loopback
//! address, one request per connection.
//!
//! Hand-written on tokio rather than an HTTP framework: it answers one fixed
//! path to a local scraper, and hyper/axum would more than double the hub's
//! dependency tree for that. Requests are bounded (8 KiB of header, 5 s) and
//! at most 16 are served at once, so a misbehaving local client cannot hold
//! the hub's memory or its tasks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::server::Shared;

/// The content type of the OpenMetrics text format, which Prometheus reads.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const MAX_HEAD: usize = 8 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_AT_ONCE: usize = 16;

/// Why a metrics address is refused.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error(
        "metrics address {0} is not a loopback address: /metrics has no authentication, \
         so it listens on 127.0.0.1 or ::1 only (scrape it from this machine or through a tunnel)"
    )]
    NotLoopback(SocketAddr),
    #[error("cannot listen for metrics on {0}: {1}")]
    Io(SocketAddr, std::io::Error),
}

/// Bind the metrics listener; only loopback addresses are accepted.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, BindError> {
    if !addr.ip().is_loopback() {
        return Err(BindError::NotLoopback(addr));
    }
    TcpListener::bind(addr)
        .await
        .map_err(|e| BindError::Io(addr, e))
}

/// Serve scrapes until `stop` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_AT_ONCE));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    drop(stream);
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    let _ = tokio::time::timeout(TIMEOUT, answer(stream, &shared)).await;
                });
            }
        }
    }
}

async fn answer(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "text/plain",
                "",
            )
            .await;
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    match (method, target) {
        (b"GET", b"/metrics") => {
            let text = shared.metrics_text().await;
            respond(&mut stream, "200 OK", CONTENT_TYPE, &text).await
        }
        (b"GET", _) => respond(&mut stream, "404 Not Found", "text/plain", "try /metrics\n").await,
        _ => {
            respond(
                &mut stream,
                "405 Method Not Allowed",
                "text/plain",
                "GET /metrics\n",
            )
            .await
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    ctype: &str,
    body: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}
