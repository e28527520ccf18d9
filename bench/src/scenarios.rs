//! Scenarios against the real hub binary and the real client core.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use lianxi_node::net::Event;
use lianxi_shared::envelope::{SealInput, Sealed, open, seal};
use lianxi_shared::{Audience, Bulletin, MessageId, Payload, Tier};
use tokio::sync::Semaphore;

use crate::fed::{BenchNode, Fed};

/// A bulletin whose encoded payload is about 1 KiB (`stamp` first in the body).
fn payload_1k(stamp: u64) -> Payload {
    let mut body = format!("{stamp:020} ");
    while body.len() < 1000 {
        body.push_str("联席基准测试 bench ");
    }
    Payload::Bulletin(Bulletin {
        title: "基准".into(),
        body,
        ..Default::default()
    })
}

pub fn seal_to(from: &BenchNode, to: &BenchNode, stamp: u64) -> anyhow::Result<Sealed> {
    let now = lianxi_node::now_ms();
    let recipients = [(to.info.node_id.clone(), to.identity.age.to_public())];
    Ok(seal(
        SealInput {
            sender: &from.info.node_id,
            signing_key: &from.identity.signing,
            audience: Audience::Nodes(vec![to.info.node_id.clone()]),
            recipients: &recipients,
            id: MessageId::generate(now),
            created_at: now,
            not_before: None,
        },
        &payload_1k(stamp),
    )?)
}

/// Send every sealed envelope, `window` at a time, each awaiting the hub's
/// durable acknowledgement.
async fn send_all(
    s: &lianxi_node::net::Session,
    sealed: Vec<Sealed>,
    window: usize,
) -> anyhow::Result<()> {
    let sem = Arc::new(Semaphore::new(window));
    let mut tasks = tokio::task::JoinSet::new();
    for x in sealed {
        let permit = sem.clone().acquire_owned().await?;
        let s = s.clone();
        tasks.spawn(async move {
            let r = s.send_envelope(x.envelope, x.wraps).await;
            drop(permit);
            r
        });
        while let Some(done) = tasks.try_join_next() {
            done??;
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// Receive until `want` deliveries arrived (acknowledging them), or `limit`.
async fn receive(
    mut events: tokio::sync::mpsc::Receiver<Event>,
    s: lianxi_node::net::Session,
    want: u64,
    counter: Arc<AtomicU64>,
    limit: Duration,
) -> anyhow::Result<()> {
    let until = tokio::time::Instant::now() + limit;
    let mut got = 0u64;
    let mut seqs = Vec::with_capacity(128);
    while got < want {
        let ev = tokio::time::timeout_at(until, events.recv()).await;
        match ev {
            Ok(Some(Event::Deliver { seq, .. })) => {
                got += 1;
                counter.fetch_add(1, Ordering::Relaxed);
                seqs.push(seq);
                if seqs.len() >= 64 {
                    s.ack(std::mem::take(&mut seqs)).await?;
                }
            }
            Ok(Some(Event::Drained { .. })) => s.ack(std::mem::take(&mut seqs)).await?,
            Ok(Some(Event::Closed(e))) => anyhow::bail!("receiver closed: {e}"),
            Ok(None) | Err(_) => break,
        }
    }
    s.ack(seqs).await?;
    Ok(())
}

pub struct Relay {
    /// The (first) hub's resident memory after the run, MiB.
    pub hub_rss_mib: f64,
    pub per_sec: f64,
    pub delivered: u64,
    pub secs: f64,
    /// CPU time of all hub processes per delivered envelope, microseconds.
    pub hub_cpu_us: f64,
}

/// Pre-sealed 1 KiB envelopes, `pairs` senders → `pairs` receivers, every
/// send acknowledged only once durable; the hub verifies every signature.
pub async fn relay(pairs: usize, per_sender: usize, limit: Duration) -> anyhow::Result<Relay> {
    let fed = Fed::new()?;
    let one = [fed.addr.clone()];
    relay_in(&fed, &one, &one, pairs, per_sender, limit).await
}

/// [`relay`] with the senders on `sender_hubs` and the receivers on
/// `receiver_hubs` (several hubs sharing one database).
pub async fn relay_in(
    fed: &Fed,
    sender_hubs: &[String],
    receiver_hubs: &[String],
    pairs: usize,
    per_sender: usize,
    limit: Duration,
) -> anyhow::Result<Relay> {
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for i in 0..pairs {
        senders.push(fed.node_on(&format!("s{i}"), Tier::Provincial, sender_hubs)?);
        receivers.push(fed.node_on(&format!("r{i}"), Tier::Prefecture, receiver_hubs)?);
    }
    // Receivers connect first (so the hub knows them) and subscribe.
    let counter = Arc::new(AtomicU64::new(0));
    let mut recv_tasks = Vec::new();
    for r in &receivers {
        let (s, ev) = r.node.connect(Duration::from_secs(10)).await?;
        s.subscribe().await?;
        recv_tasks.push(tokio::spawn(receive(
            ev,
            s,
            per_sender as u64,
            counter.clone(),
            limit,
        )));
    }
    // Seal outside the measured time, on every core.
    let mut sealed: Vec<Vec<Sealed>> = Vec::new();
    let senders = Arc::new(senders);
    let receivers = Arc::new(receivers);
    let mut jobs = Vec::new();
    for i in 0..pairs {
        let (s, r) = (senders.clone(), receivers.clone());
        jobs.push(tokio::task::spawn_blocking(move || {
            (0..per_sender)
                .map(|k| seal_to(&s[i], &r[i], k as u64))
                .collect::<anyhow::Result<Vec<_>>>()
        }));
    }
    for j in jobs {
        sealed.push(j.await??);
    }
    let mut sessions = Vec::new();
    for s in senders.iter() {
        sessions.push(s.node.connect(Duration::from_secs(10)).await?.0);
    }
    let start = Instant::now();
    let cpu_before = fed.hubs_cpu_secs();
    let mut send_tasks = Vec::new();
    for (s, batch) in sessions.iter().cloned().zip(sealed) {
        send_tasks.push(tokio::spawn(async move { send_all(&s, batch, 256).await }));
    }
    for t in send_tasks {
        t.await??;
    }
    for t in recv_tasks {
        t.await??;
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = fed.hubs_cpu_secs() - cpu_before;
    let delivered = counter.load(Ordering::Relaxed);
    Ok(Relay {
        hub_rss_mib: fed.hub_rss_kib() as f64 / 1024.0,
        per_sec: delivered as f64 / secs,
        delivered,
        secs,
        hub_cpu_us: cpu * 1e6 / delivered.max(1) as f64,
    })
}

pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub n: usize,
}

/// `rate` envelopes/s for `secs` from a real client to another, verified and
/// decrypted at the recipient; from the moment each is handed to the
/// sender's session to the moment it is opened. The envelopes are sealed
/// beforehand (as in the relay scenario: the sender's crypto is the
/// client's, not the relay's, and on these two cores it took half a core).
pub async fn latency(rate: u32, secs: f64) -> anyhow::Result<Latency> {
    let fed = Fed::new()?;
    let one = [fed.addr.clone()];
    latency_in(&fed, &one, &one, rate, secs).await
}

/// [`latency`] from a node on `a_hubs` to one on `b_hubs`.
pub async fn latency_in(
    fed: &Fed,
    a_hubs: &[String],
    b_hubs: &[String],
    rate: u32,
    secs: f64,
) -> anyhow::Result<Latency> {
    let a = Arc::new(fed.node_on("a", Tier::Provincial, a_hubs)?);
    let b = Arc::new(fed.node_on("b", Tier::Prefecture, b_hubs)?);
    let n = (f64::from(rate) * secs) as usize;
    // Envelope i leaves at `i / rate` seconds after the start; it carries
    // `i`, and `sent[i]` says when it left.
    let slot = move |i: usize| Duration::from_secs_f64(i as f64 / f64::from(rate));
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let sealed = {
        let (a, b) = (a.clone(), b.clone());
        tokio::task::spawn_blocking(move || {
            (0..n)
                .map(|i| seal_to(&a, &b, i as u64))
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .await??
    };
    let (rs, mut events) = b.node.connect(Duration::from_secs(10)).await?;
    rs.subscribe().await?;
    let (ss, _ev) = a.node.connect(Duration::from_secs(10)).await?;
    let origin = Instant::now();
    let a_info = a.info.clone();
    let sent_at = sent.clone();
    let receiver = tokio::spawn(async move {
        let mut lat = Vec::with_capacity(n);
        while lat.len() < n {
            let Some(ev) = tokio::time::timeout(Duration::from_secs(30), events.recv())
                .await
                .ok()
                .flatten()
            else {
                break;
            };
            if let Event::Deliver {
                seq,
                envelope,
                wrap,
            } = ev
            {
                let o = open(&envelope, &wrap, &a_info, &b.info, &b.identity.age)?;
                let i: usize = o.payload.body()[..20].parse().context("stamp")?;
                let now = origin.elapsed().as_micros() as u64;
                let at = sent_at.get(i).context("stamp")?.load(Ordering::Relaxed);
                lat.push(now.saturating_sub(at) as f64 / 1000.0);
                rs.ack(vec![seq]).await?;
            }
        }
        anyhow::Ok(lat)
    });
    let mut sends = tokio::task::JoinSet::new();
    for (i, s) in sealed.into_iter().enumerate() {
        tokio::time::sleep_until((origin + slot(i)).into()).await;
        sent[i].store(origin.elapsed().as_micros() as u64, Ordering::Relaxed);
        let ss = ss.clone();
        sends.spawn(async move { ss.send_envelope(s.envelope, s.wraps).await });
        while let Some(r) = sends.try_join_next() {
            r??;
        }
    }
    while let Some(r) = sends.join_next().await {
        r??;
    }
    let mut lat = receiver.await??;
    lat.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        lat.get(((lat.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    Ok(Latency {
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        n: lat.len(),
    })
}

pub struct CatchUp {
    pub per_sec: f64,
    pub n: u64,
    pub secs: f64,
}

/// `n` 1 KiB envelopes queue for an offline node; it reconnects and drains:
/// verified, decrypted, stored and indexed (`lianxi_node::sync::sync`).
pub async fn catch_up(n: usize) -> anyhow::Result<CatchUp> {
    let fed = Fed::new()?;
    let a = Arc::new(fed.node("a", Tier::Provincial)?);
    let b = Arc::new(fed.node("b", Tier::Prefecture)?);
    // b says hello once so the hub knows it, then goes offline.
    let (s, _) = b.node.connect(Duration::from_secs(10)).await?;
    s.close().await;
    let workers = std::thread::available_parallelism().map_or(2, |p| p.get());
    let mut jobs = Vec::new();
    for w in 0..workers {
        let (a, b) = (a.clone(), b.clone());
        jobs.push(tokio::task::spawn_blocking(move || {
            (w..n)
                .step_by(workers)
                .map(|k| seal_to(&a, &b, k as u64))
                .collect::<anyhow::Result<Vec<_>>>()
        }));
    }
    let (ss, _ev) = a.node.connect(Duration::from_secs(10)).await?;
    for j in jobs {
        send_all(&ss, j.await??, 256).await?;
    }
    ss.close().await;
    let start = Instant::now();
    let report = lianxi_node::sync::sync(&b.node, Duration::from_secs(3600)).await?;
    let secs = start.elapsed().as_secs_f64();
    let got = report.received as u64;
    anyhow::ensure!(got == n as u64, "drained {got} of {n}");
    drop(fed);
    Ok(CatchUp {
        per_sec: got as f64 / secs,
        n: got,
        secs,
    })
}
