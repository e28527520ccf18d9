//! The same run's baselines: what this machine can do at all (raw QUIC on
//! loopback with the same crypto provider, one core of ed25519 verification,
//! durable SQLite commits on the same disk).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

/// A QUIC server on 127.0.0.1 with a self-signed certificate and a client
/// that trusts it, with the hub's crypto provider: (server, client, address).
pub fn endpoints() -> anyhow::Result<(quinn::Endpoint, quinn::Endpoint, std::net::SocketAddr)> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
    let cert_der = rustls_pki_types::CertificateDer::from(cert.cert.der().to_vec());
    let key = rustls_pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let server_tls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key)?;
    let server_cfg = quinn::ServerConfig::with_crypto(Arc::new(
        quinn::crypto::rustls::QuicServerConfig::try_from(server_tls)?,
    ));
    let server = quinn::Endpoint::server(server_cfg, "127.0.0.1:0".parse()?)?;
    let addr = server.local_addr()?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der)?;
    let client_tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut client = quinn::Endpoint::client("127.0.0.1:0".parse()?)?;
    client.set_default_client_config(quinn::ClientConfig::new(Arc::new(
        quinn::crypto::rustls::QuicClientConfig::try_from(client_tls)?,
    )));
    Ok((server, client, addr))
}

/// 1 KiB length-prefixed frames on one QUIC stream, no storage: frames/s.
pub async fn quinn_frames(secs: f64) -> anyhow::Result<f64> {
    let (server, client, addr) = endpoints()?;
    let reader = tokio::spawn(async move {
        let conn = server.accept().await.context("no connection")?.await?;
        let (_s, mut recv) = conn.accept_bi().await?;
        let mut n = 0u64;
        let mut buf = vec![0u8; 1024];
        let mut start = None;
        loop {
            let mut len = [0u8; 4];
            if recv.read_exact(&mut len).await.is_err() {
                break;
            }
            start.get_or_insert_with(Instant::now);
            let l = u32::from_be_bytes(len) as usize;
            buf.resize(l, 0);
            recv.read_exact(&mut buf).await?;
            n += 1;
        }
        let secs = start.map_or(1.0, |s| s.elapsed().as_secs_f64());
        anyhow::Ok(n as f64 / secs)
    });
    let conn = client.connect(addr, "localhost")?.await?;
    let (mut send, _r) = conn.open_bi().await?;
    let mut frame = (1024u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&[7u8; 1024]);
    let batch: Vec<u8> = frame.repeat(32);
    let until = Instant::now() + Duration::from_secs_f64(secs);
    while Instant::now() < until {
        send.write_all(&batch).await?;
    }
    send.finish()?;
    let rate = reader.await??;
    conn.close(0u32.into(), b"done");
    Ok(rate)
}

/// Single-core ed25519 `verify_strict` of a 200-byte message: verifications/s.
pub fn ed25519_verify(secs: f64) -> f64 {
    use ed25519_dalek::{Signer, SigningKey};
    let sk = SigningKey::from_bytes(&[9; 32]);
    let vk = sk.verifying_key();
    let msg = [5u8; 200];
    let sig = sk.sign(&msg);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        for _ in 0..256 {
            let ok = vk.verify_strict(std::hint::black_box(&msg), &sig).is_ok();
            std::hint::black_box(ok);
        }
        n += 256;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// `verify_strict`'s rate measured right before and right after a scenario.
///
/// These virtual machines drift: the same 5-second measurement read 18,658,
/// 14,893 and 13,758 verifications/s in three runs a minute apart. A ratio to
/// a baseline taken minutes earlier then says more about the host than about
/// the hub, so the relay is judged against the mean of the two readings that
/// bracket it, and the table shows both.
pub struct Bracket {
    pub before: f64,
    pub after: f64,
}

impl Bracket {
    pub fn mean(&self) -> f64 {
        (self.before + self.after) / 2.0
    }

    /// How far the two readings lie apart, relative to their mean.
    pub fn drift(&self) -> f64 {
        (self.before - self.after).abs() / self.mean()
    }
}

/// One-row transactions with WAL and `synchronous=FULL` (the hub's settings)
/// on the disk the bench uses: durable commits/s.
pub fn sqlite_commits(dir: &std::path::Path, secs: f64) -> anyhow::Result<f64> {
    let conn = rusqlite::Connection::open(dir.join("commits.db"))?;
    let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)", [])?;
    let blob = vec![1u8; 1024];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        conn.execute("INSERT INTO t(b) VALUES (?1)", [&blob])?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}
