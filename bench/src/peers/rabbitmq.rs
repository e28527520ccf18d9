//! Peer: RabbitMQ quorum queues with the promises the hub makes. The
//! distribution's `rabbitmq-server` (installed if missing), one node on
//! 127.0.0.1 with its own epmd port, cookie, data and logs in a temp
//! directory; one durable quorum queue per pair (its publisher confirms
//! come after the shared WAL's fsync, which RabbitMQ batches: the group
//! commit the hub's writer does too); 8 publishers with publisher confirms
//! (at most [`WINDOW`] outstanding) → 8 consumers with manual acks, 1 KiB
//! persistent messages, every message checked on arrival (size, content,
//! order).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Confirmation, Connection, ConnectionProperties};

use super::{Server, WINDOW, check, free_port, install_deb, payload};

/// Where the broker's start script is, installing the Debian package if
/// it is missing.
fn server_script() -> Option<PathBuf> {
    let find = || {
        [
            "/usr/lib/rabbitmq/bin/rabbitmq-server",
            "/usr/sbin/rabbitmq-server",
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
    };
    if let Some(p) = find() {
        return Some(p);
    }
    eprintln!("rabbitmq-server is missing; installing the Debian package …");
    install_deb("rabbitmq-server");
    find()
}

/// The broker, with the epmd it started on its own port stopped after it.
struct Broker {
    server: Option<Server>,
    epmd_port: u16,
}

impl Drop for Broker {
    fn drop(&mut self) {
        drop(self.server.take());
        // epmd refuses to stop while the node is still registered: the
        // node's death reaches it a moment later.
        for _ in 0..50 {
            let killed = Command::new("epmd")
                .arg("-kill")
                .env("ERL_EPMD_PORT", self.epmd_port.to_string())
                .output()
                .is_ok_and(|o| o.stdout.starts_with(b"Killed"));
            if killed {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn start(script: &Path, dir: &Path, amqp: u16) -> anyhow::Result<Broker> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("rabbitmq.conf"),
        format!("listeners.tcp.default = 127.0.0.1:{amqp}\nloopback_users = none\n"),
    )?;
    std::fs::write(dir.join("enabled_plugins"), "[].\n")?;
    let epmd_port = free_port()?;
    let dist = free_port()?;
    let d = |p: &str| dir.join(p);
    let server = Server::spawn(
        Command::new(script)
            // Erlang writes its cookie under HOME: keep it in the temp dir.
            .env("HOME", dir)
            .env("ERL_EPMD_PORT", epmd_port.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODENAME", "lianxi-bench@localhost")
            .env("RABBITMQ_DIST_PORT", dist.to_string())
            .env("RABBITMQ_CONFIG_FILE", d("rabbitmq"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d("enabled_plugins"))
            .env("RABBITMQ_MNESIA_BASE", d("mnesia"))
            .env("RABBITMQ_LOG_BASE", d("log"))
            .env("RABBITMQ_PID_FILE", d("rabbitmq.pid")),
        &d("server.log"),
    )?;
    Ok(Broker {
        server: Some(server),
        epmd_port,
    })
}

/// Delivered messages/s, or `Ok(None)` when no broker can be installed.
pub async fn quorum_queues(dir: &Path, pairs: usize, secs: f64) -> anyhow::Result<Option<f64>> {
    let Some(script) = server_script() else {
        return Ok(None);
    };
    let port = free_port()?;
    let _broker = start(&script, &dir.join("rabbitmq"), port)?;
    let url = format!("amqp://guest:guest@127.0.0.1:{port}/%2f");
    // The broker takes some 15 s to boot here.
    let connect = || Connection::connect(&url, ConnectionProperties::default());
    let mut first = None;
    for _ in 0..240 {
        if let Ok(c) = connect().await {
            first = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let first = first.context("rabbitmq-server did not start (see its server.log)")?;
    let setup = first.create_channel().await?;
    let mut quorum = FieldTable::default();
    quorum.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    for k in 0..pairs {
        setup
            .queue_declare(
                format!("bench.{k}").as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                quorum.clone(),
            )
            .await
            .with_context(|| format!("declare quorum queue bench.{k}"))?;
    }
    let delivered = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..pairs {
        let conn = connect().await?;
        let ch = conn.create_channel().await?;
        ch.basic_qos(WINDOW as u16, BasicQosOptions::default())
            .await?;
        let mut consumer = ch
            .basic_consume(
                format!("bench.{k}").as_str().into(),
                format!("c{k}").as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let delivered = delivered.clone();
        tasks.spawn(async move {
            let _conn = conn;
            let mut next = 1u64;
            loop {
                let left = until.saturating_duration_since(Instant::now());
                let Ok(Some(d)) = tokio::time::timeout(left, consumer.next()).await else {
                    return anyhow::Ok(());
                };
                let d = d?;
                check(&d.data, next)?;
                next += 1;
                d.ack(BasicAckOptions::default()).await?;
                delivered.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let start = Instant::now();
    for k in 0..pairs {
        let conn = connect().await?;
        tasks.spawn(async move {
            let ch = conn.create_channel().await?;
            ch.confirm_select(ConfirmSelectOptions::default()).await?;
            let queue = format!("bench.{k}");
            let mut confirms = std::collections::VecDeque::new();
            let mut id = 0u64;
            while Instant::now() < until {
                id += 1;
                let confirm = ch
                    .basic_publish(
                        "".into(),
                        queue.as_str().into(),
                        BasicPublishOptions::default(),
                        &payload(id),
                        // Persistent.
                        BasicProperties::default().with_delivery_mode(2),
                    )
                    .await?;
                confirms.push_back(confirm);
                if confirms.len() >= WINDOW
                    && let Some(c) = confirms.pop_front()
                    && !matches!(c.await?, Confirmation::Ack(_))
                {
                    bail!("publish {id} not confirmed");
                }
            }
            for c in confirms {
                let _ = tokio::time::timeout(Duration::from_secs(5), c).await;
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let rate = delivered.load(Ordering::Relaxed) as f64 / until.duration_since(start).as_secs_f64();
    drop(first);
    Ok(Some(rate))
}
