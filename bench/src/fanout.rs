//! One bulletin to many connected nodes, and many idle connections: what the
//! hub spends per recipient and per connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lianxi_node::net::{Event, Session};
use lianxi_shared::envelope::{SealInput, seal};
use lianxi_shared::{Audience, MessageId, Tier};
use tokio::sync::Semaphore;

use crate::fed::{Fed, Ident};

/// Make `n` identities (keys on disk, certificates from the CA), in parallel.
async fn idents(fed: &Arc<Fed>, prefix: &str, n: usize) -> anyhow::Result<Vec<Ident>> {
    let workers = std::thread::available_parallelism().map_or(2, |p| p.get());
    let mut jobs = Vec::new();
    for w in 0..workers {
        let (fed, prefix) = (fed.clone(), prefix.to_owned());
        jobs.push(tokio::task::spawn_blocking(move || {
            (w..n)
                .step_by(workers)
                .map(|i| fed.ident(&format!("{prefix}{i}"), Tier::Prefecture))
                .collect::<anyhow::Result<Vec<_>>>()
        }));
    }
    let mut out = Vec::with_capacity(n);
    for j in jobs {
        out.extend(j.await??);
    }
    Ok(out)
}

/// Connect (and subscribe) every identity, 64 handshakes at a time.
async fn connect_all(
    addr: &str,
    ids: &[Ident],
) -> anyhow::Result<Vec<(Session, tokio::sync::mpsc::Receiver<Event>)>> {
    let sem = Arc::new(Semaphore::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, id) in ids.iter().enumerate() {
        let permit = sem.clone().acquire_owned().await?;
        let addr = addr.to_owned();
        let tls = lianxi_node::net::TlsSetup {
            ca: id.tls.ca.clone(),
            cert: id.tls.cert.clone(),
            key: id.tls.key.clone_key(),
            crl: None,
        };
        tasks.spawn(async move {
            // A handshake lost under a 2-core overload is retried, as a client would.
            let mut last = String::new();
            for _ in 0..3 {
                match Session::connect(&addr, "localhost", &tls, Duration::from_secs(60)).await {
                    Ok((s, ev)) => match s.subscribe().await {
                        Ok(()) => {
                            drop(permit);
                            return anyhow::Ok((i, s, ev));
                        }
                        Err(e) => last = e.to_string(),
                    },
                    Err(e) => last = e.to_string(),
                }
            }
            drop(permit);
            anyhow::bail!("node {i}: {last}")
        });
    }
    let mut out: Vec<Option<(Session, tokio::sync::mpsc::Receiver<Event>)>> =
        (0..ids.len()).map(|_| None).collect();
    while let Some(r) = tasks.join_next().await {
        let (i, s, ev) = r??;
        out[i] = Some((s, ev));
    }
    Ok(out.into_iter().flatten().collect())
}

pub struct FanOut {
    pub n: usize,
    pub last_ms: f64,
    pub body: usize,
    pub per_recipient: usize,
}

/// One bulletin (1 KiB body) to `n` connected nodes: time to the last delivery
/// (sealed beforehand) and bytes each recipient received in its delivery frame.
pub async fn fan_out(n: usize) -> anyhow::Result<FanOut> {
    let fed = Arc::new(Fed::new()?);
    let sender = fed.node("nat", Tier::National)?;
    let ids = idents(&fed, "m", n).await?;
    let sessions = connect_all(&fed.addr, &ids).await?;
    let recipients: Vec<_> = ids
        .iter()
        .map(|i| (i.info.node_id.clone(), i.identity.age.to_public()))
        .collect();
    let now = lianxi_node::now_ms();
    let payload = lianxi_shared::Payload::Bulletin(lianxi_shared::Bulletin {
        title: "关于召开第1次联席会议的通知".into(),
        body: "请各成员单位按时参会。".repeat(34), // about 1 KiB
        ..Default::default()
    });
    let sealed = seal(
        SealInput {
            sender: &sender.info.node_id,
            signing_key: &sender.identity.signing,
            audience: Audience::All,
            recipients: &recipients,
            id: MessageId::generate(now),
            created_at: now,
            not_before: None,
        },
        &payload,
    )?;
    let body = sealed.envelope.body.len();
    let mut waits = tokio::task::JoinSet::new();
    for (s, mut ev) in sessions {
        waits.spawn(async move {
            loop {
                match tokio::time::timeout(Duration::from_secs(60), ev.recv()).await {
                    Ok(Some(Event::Deliver {
                        seq,
                        envelope,
                        wrap,
                    })) => {
                        let at = Instant::now();
                        let bytes = envelope.header.len()
                            + envelope.sig.len()
                            + envelope.body.len()
                            + wrap.len();
                        s.ack(vec![seq]).await?;
                        return anyhow::Ok((at, bytes, s));
                    }
                    Ok(Some(_)) => {}
                    _ => anyhow::bail!("a recipient got nothing"),
                }
            }
        });
    }
    let (s, _ev) = sender.node.connect(Duration::from_secs(10)).await?;
    // The hub lists a node from its first hello; wait until it lists them all.
    for _ in 0..100 {
        let (certs, _) = s.directory().await?;
        if certs.len() > n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let start = Instant::now();
    let acc = s.send_envelope(sealed.envelope, sealed.wraps).await?;
    anyhow::ensure!(
        acc.recipients as usize == n,
        "addressed {} of {n}",
        acc.recipients
    );
    let mut last = start;
    let mut max_bytes = 0;
    let mut keep = Vec::new();
    while let Some(r) = waits.join_next().await {
        let (at, bytes, s) = r??;
        last = last.max(at);
        max_bytes = max_bytes.max(bytes);
        keep.push(s);
    }
    Ok(FanOut {
        n,
        last_ms: (last - start).as_secs_f64() * 1e3,
        body,
        per_recipient: max_bytes,
    })
}

pub struct Idle {
    pub n: usize,
    pub per_conn_kib: f64,
    pub rss_mib: f64,
}

/// `n` idle connected (and subscribed) nodes: the hub's memory per connection.
pub async fn connections(n: usize) -> anyhow::Result<Idle> {
    let fed = Arc::new(Fed::new()?);
    let ids = idents(&fed, "c", n + 1).await?;
    // One connection first, so the baseline includes a warm hub.
    let first = connect_all(&fed.addr, &ids[..1]).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = fed.hub_rss_kib();
    let rest = connect_all(&fed.addr, &ids[1..]).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = fed.hub_rss_kib();
    let mut rest = rest;
    let open = rest.iter().filter(|(s, _)| !s.is_closed()).count();
    if open != n {
        anyhow::bail!(
            "{open} of {n} connections stayed open; why the others closed: {}",
            close_reasons(&mut rest)
        );
    }
    drop(first);
    Ok(Idle {
        n,
        per_conn_kib: after.saturating_sub(before) as f64 / n as f64,
        rss_mib: after as f64 / 1024.0,
    })
}

/// Why the closed sessions closed, counted by reason: what a failed
/// `connections` run reports so it can be explained.
fn close_reasons(sessions: &mut [(Session, tokio::sync::mpsc::Receiver<Event>)]) -> String {
    let mut why = std::collections::BTreeMap::<String, usize>::new();
    for (s, ev) in sessions.iter_mut().filter(|(s, _)| s.is_closed()) {
        let mut reason = None;
        while let Ok(e) = ev.try_recv() {
            if let Event::Closed(e) = e {
                reason = Some(e.to_string());
            }
        }
        let reason =
            reason.unwrap_or_else(|| format!("no event; quinn says {:?}", s.close_reason()));
        *why.entry(reason).or_default() += 1;
    }
    why.iter()
        .map(|(r, n)| format!("{n} × {r}"))
        .collect::<Vec<_>>()
        .join("; ")
}
