//! The same run's baselines: what this machine can do at all (raw QUIC on
//! loopback with the same crypto provider, one core of ed25519 verification,
//! durable SQLite commits on the same disk) and a peer broker (Mosquitto,
//! QoS 1, persistence on).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

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

/// A free TCP port on 127.0.0.1 for a peer to listen on.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A peer's server process, stopped by its pid when dropped.
pub struct Server(std::process::Child);

impl Server {
    /// Write `conf` to `data/file` (making `data`), then start `bin -c`
    /// with it, its output discarded.
    pub fn start(
        bin: &std::path::Path,
        data: &std::path::Path,
        file: &str,
        conf: String,
    ) -> anyhow::Result<Server> {
        std::fs::create_dir_all(data)?;
        std::fs::write(data.join(file), conf)?;
        Ok(Server(
            std::process::Command::new(bin)
                .arg("-c")
                .arg(data.join(file))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()?,
        ))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where Mosquitto is, installing the Debian package if it is missing.
fn mosquitto_binary() -> Option<std::path::PathBuf> {
    let find = || {
        [
            "/usr/sbin/mosquitto",
            "/usr/bin/mosquitto",
            "/usr/local/sbin/mosquitto",
        ]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
    };
    if let Some(p) = find() {
        return Some(p);
    }
    eprintln!("mosquitto is missing; installing the Debian package …");
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let apt = |args: &[&str]| {
        let mut c = if root {
            std::process::Command::new("apt-get")
        } else {
            let mut c = std::process::Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        };
        c.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !apt(&["install", "-y", "-qq", "mosquitto"]) {
        let _ = apt(&["update", "-qq"]);
        let _ = apt(&["install", "-y", "-qq", "mosquitto"]);
    }
    find()
}

/// Mosquitto with persistence on, one QoS 1 publisher and one QoS 1
/// subscriber, `n` payloads of 1 KiB: delivered/s. `Ok(None)`: not installable.
pub async fn mosquitto_qos1(dir: &std::path::Path, n: usize) -> anyhow::Result<Option<f64>> {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let Some(bin) = mosquitto_binary() else {
        return Ok(None);
    };
    let port = free_port()?;
    let data = dir.join("mosquitto");
    let guard = Server::start(
        &bin,
        &data,
        "mosquitto.conf",
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nmax_inflight_messages 100\nmax_queued_messages 0\n",
            data.display()
        ),
    )?;
    // Wait for the listener.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let opts = |id: &str| {
        let mut o = MqttOptions::new(id, "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(30));
        o.set_clean_session(false);
        o.set_inflight(100);
        o
    };
    let (sub, mut sub_loop) = AsyncClient::new(opts("bench-sub"), 1024);
    sub.subscribe("lianxi/bench", QoS::AtLeastOnce).await?;
    let mut subscribed = false;
    while !subscribed {
        if let Event::Incoming(Packet::SubAck(_)) = sub_loop.poll().await? {
            subscribed = true;
        }
    }
    let received = tokio::spawn(async move {
        let mut got = 0usize;
        let mut first = None;
        while got < n {
            match tokio::time::timeout(Duration::from_secs(30), sub_loop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::Publish(_)))) => {
                    first.get_or_insert_with(Instant::now);
                    got += 1;
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(anyhow::anyhow!("subscriber: {e}")),
                Err(_) => break,
            }
        }
        Ok((got, first.map_or(1.0, |f| f.elapsed().as_secs_f64())))
    });
    let (publ, mut pub_loop) = AsyncClient::new(opts("bench-pub"), 1024);
    let pumping = tokio::spawn(async move {
        loop {
            if pub_loop.poll().await.is_err() {
                break;
            }
        }
    });
    let payload = vec![7u8; 1024];
    for _ in 0..n {
        publ.publish("lianxi/bench", QoS::AtLeastOnce, false, payload.clone())
            .await?;
    }
    let (got, secs) = received.await??;
    pumping.abort();
    drop(guard);
    if got < n {
        bail!("mosquitto delivered {got} of {n}");
    }
    Ok(Some(got as f64 / secs))
}
