//! `lianxi-bench`: every scenario against the real hub binary and the real
//! client core over QUIC on 127.0.0.1, with the machine's limits and a peer
//! broker measured in the same run, printed as one table.
//!
//! `cargo run --release -p lianxi-bench` for the full run (minutes);
//! `-- --smoke` for a quick run that only proves every scenario still works.

mod archive_fill;
mod baseline;
mod cluster;
mod durable_relay;
mod fanout;
mod fed;
mod peers;
mod scenarios;
mod search;
mod ui;

use std::time::Duration;

use clap::Parser;

#[derive(Parser)]
#[command(
    about = "Lianxi benchmarks: hub and client against the machine's limits and durable peers (RabbitMQ, NATS JetStream; Mosquitto informative)"
)]
struct Args {
    /// Seconds-long run of every scenario (CI): the figures are not results.
    #[arg(long)]
    smoke: bool,
    /// Only these scenarios (baselines, mosquitto, peers, relay, latency, fan-out,
    /// connections, catch-up, search, ui, cluster; `relay-alone`: the relay
    /// without its peers and limits, for profiling the hub).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

struct Row {
    scenario: &'static str,
    workload: String,
    figure: String,
    baseline: String,
    ratio: String,
    target: &'static str,
    /// Whether the figure meets the target (`None`: no target).
    met: Option<bool>,
}

impl Row {
    fn result(&self, smoke: bool) -> &'static str {
        match self.met {
            None => "",
            Some(_) if smoke => "smoke: not a result",
            Some(true) => "met",
            Some(false) => "**missed**",
        }
    }
}

/// The scenario's result, or a row saying it failed and why (the others go on).
/// A peer's row: its messages/s, SKIPPED (said on stderr) when it cannot be
/// installed here, or its failure said on stderr (a peer never fails the bench).
fn peer_row(
    rows: &mut Vec<Row>,
    scenario: &'static str,
    workload: &str,
    r: anyhow::Result<Option<f64>>,
) -> Option<f64> {
    match r {
        Ok(Some(rate)) => {
            rows.push(Row {
                scenario,
                workload: workload.into(),
                figure: format!("{} msgs/s", fmt_rate(rate)),
                baseline: "—".into(),
                ratio: "—".into(),
                target: "",
                met: None,
            });
            Some(rate)
        }
        Ok(None) => {
            eprintln!("SKIPPED {scenario}: not installed and cannot be installed here");
            None
        }
        Err(e) => {
            eprintln!("{scenario} failed: {e:#}");
            None
        }
    }
}

fn ok<T>(rows: &mut Vec<Row>, scenario: &'static str, r: anyhow::Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("{scenario} failed: {e:#}");
            rows.push(Row {
                scenario,
                workload: String::new(),
                figure: format!("FAILED: {e}"),
                baseline: String::new(),
                ratio: String::new(),
                target: "",
                met: None,
            });
            None
        }
    }
}

fn fmt_rate(x: f64) -> String {
    let v = x.round() as u64;
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |p| p.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or(String::new(), |k| format!(", {} GiB", k / 1024 / 1024));
    format!("{cpu}, {cores} cores{mem}")
}

/// Two hubs on one PostgreSQL against one hub on SQLite, with the same
/// run's PostgreSQL baseline; cross-hub latency; failover time.
async fn cluster_rows(rows: &mut Vec<Row>, smoke: bool, sqlite: Option<&scenarios::Relay>) {
    let Some(pg) = cluster::Pg::start() else {
        eprintln!("SKIPPED cluster scenarios: PostgreSQL is not installed");
        return;
    };
    let secs = if smoke { 0.5 } else { 5.0 };
    let base = ok(
        rows,
        "limit: PostgreSQL",
        cluster::pg_baseline(&pg, 8, secs).await,
    );
    if let Some(b) = base {
        rows.push(Row {
            scenario: "limit: PostgreSQL",
            workload: "8 connections, 32 × 1 KiB rows per transaction (one INSERT … unnest), fsync and synchronous_commit on".into(),
            figure: format!("{} rows/s", fmt_rate(b)),
            baseline: "—".into(),
            ratio: "—".into(),
            target: "",
            met: None,
        });
    }
    let (pairs, per) = if smoke { (8, 200) } else { (8, 20_000) };
    let limit = Duration::from_secs(if smoke { 60 } else { 300 });
    if let Some(r) = ok(
        rows,
        "relay, 2 hubs on PostgreSQL",
        cluster::relay(&pg, pairs, per, limit).await,
    ) {
        let vs_sqlite = sqlite.map(|s| r.per_sec / s.per_sec);
        let vs_pg = base.map(|b| r.per_sec / b);
        rows.push(Row {
            scenario: "relay, 2 hubs on PostgreSQL",
            workload: format!("{pairs} senders on hub 1 → {pairs} receivers on hub 2, {} pre-sealed 1 KiB envelopes, durable acks ({:.1} s; CPU of both hubs {:.0} µs/envelope{})", fmt_rate(r.delivered as f64), r.secs, r.hub_cpu_us, sqlite.map_or(String::new(), |s| format!(", one SQLite hub {:.0}", s.hub_cpu_us))),
            figure: format!("{} envelopes/s", fmt_rate(r.per_sec)),
            baseline: format!(
                "one hub on SQLite {}; PostgreSQL {} rows/s",
                sqlite.map_or("—".into(), |s| fmt_rate(s.per_sec)),
                base.map_or("—".into(), fmt_rate)
            ),
            ratio: format!(
                "{}× SQLite hub, {}× PostgreSQL",
                vs_sqlite.map_or("—".into(), |v| format!("{v:.2}")),
                vs_pg.map_or("—".into(), |v| format!("{v:.2}"))
            ),
            target: "≥ 0.5× one hub on SQLite and ≥ 0.5× PostgreSQL",
            met: Some(vs_sqlite.is_some_and(|v| v >= 0.5) && vs_pg.is_some_and(|v| v >= 0.5)),
        });
    }
    if let Some(l) = ok(
        rows,
        "latency across hubs",
        cluster::latency(&pg, 1000, if smoke { 1.0 } else { 10.0 }).await,
    ) {
        rows.push(Row {
            scenario: "latency across hubs",
            workload: format!("1,000 envelopes/s from a node on hub 1 to a node on hub 2 (woken by NOTIFY), sealed beforehand, timed from the hand-over to the session, verified + decrypted ({} samples)", fmt_rate(l.n as f64)),
            figure: format!("p50 {:.2} ms, p99 {:.2} ms", l.p50_ms, l.p99_ms),
            baseline: "—".into(),
            ratio: "—".into(),
            target: "p99 ≤ 50 ms",
            met: Some(l.p99_ms <= 50.0),
        });
    }
    let rounds = if smoke { 1 } else { 3 };
    if let Some(f) = ok(rows, "failover", cluster::failover(&pg, rounds).await) {
        let worst = f.iter().copied().fold(0.0, f64::max);
        let each: Vec<String> = f.iter().map(|s| format!("{s:.2} s")).collect();
        rows.push(Row {
            scenario: "failover",
            workload: format!("SIGKILL of the node's hub → its next acknowledged send through the other hub (`lianxi send`'s 5 s connect budget, dead hub tried first); {} kills", f.len()),
            figure: format!("worst {worst:.2} s ({})", each.join(", ")),
            baseline: "—".into(),
            ratio: "—".into(),
            target: "≤ 5 s",
            met: Some(worst <= 5.0),
        });
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let want = |s: &str| args.only.is_empty() || args.only.iter().any(|o| o == s);
    let smoke = args.smoke;
    let secs = if smoke { 0.5 } else { 5.0 };
    let tmp = tempfile::Builder::new().prefix("lianxi-bench").tempdir()?;
    println!(
        "lianxi-bench{} on {}",
        if smoke { " (smoke)" } else { "" },
        machine()
    );
    let mut rows: Vec<Row> = Vec::new();

    // ---- Baselines, same run.
    let quinn = baseline::quinn_frames(secs).await?;
    let verify = baseline::ed25519_verify(secs);
    let commits = baseline::sqlite_commits(tmp.path(), secs)?;
    let durable = if want("baselines") || want("relay") {
        ok(
            &mut rows,
            "limit: durable relay",
            durable_relay::durable_relay(tmp.path(), 8, secs).await,
        )
    } else {
        None
    };
    if let Some(d) = durable {
        rows.push(Row {
            scenario: "limit: durable relay",
            workload: "8 → 8, raw 1 KiB QUIC frames in, one SQLite writer with group commit (WAL, synchronous=FULL), acked after commit, handed out from memory, consumer acks deleting rows; no signatures, envelopes, quotas or sessions".into(),
            figure: format!("{} frames/s", fmt_rate(d)),
            baseline: "—".into(),
            ratio: "—".into(),
            target: "",
            met: None,
        });
    }
    if want("baselines") {
        rows.push(Row {
            scenario: "limit: quinn",
            workload: "1 KiB frames, one stream, loopback, ring, no storage".into(),
            figure: format!("{} frames/s", fmt_rate(quinn)),
            baseline: "—".into(),
            ratio: "—".into(),
            target: "",
            met: None,
        });
        rows.push(Row {
            scenario: "limit: ed25519",
            workload: "verify_strict, one core".into(),
            figure: format!("{} verifications/s", fmt_rate(verify)),
            baseline: "—".into(),
            ratio: "—".into(),
            target: "",
            met: None,
        });
        rows.push(Row {
            scenario: "limit: SQLite",
            workload: "one-row transactions, WAL, synchronous=FULL".into(),
            figure: format!("{} commits/s", fmt_rate(commits)),
            baseline: "—".into(),
            ratio: "—".into(),
            target: "",
            met: None,
        });
    }
    // Informative only: Mosquitto is not a durable peer.
    if want("mosquitto") || want("relay") {
        let n = if smoke { 2_000 } else { 100_000 };
        peer_row(
            &mut rows,
            "peer: Mosquitto",
            "1 KiB, QoS 1, persistence on, 1 publisher → 1 subscriber; informative only: no fsync per message, no signature checks",
            peers::mosquitto::mosquitto_qos1(tmp.path(), n).await,
        );
    }
    let (jetstream, rabbitmq) = if want("peers") || want("relay") {
        let js = peer_row(
            &mut rows,
            "peer: NATS JetStream",
            "8 → 8, 1 KiB, file storage, sync_interval always (fsync before each ack), R1, publisher acks awaited (256 outstanding), pull consumers with explicit acks, every message checked",
            peers::nats::jetstream(tmp.path(), 8, secs).await,
        );
        let rq = peer_row(
            &mut rows,
            "peer: RabbitMQ quorum queues",
            "8 → 8, 1 KiB persistent, one quorum queue per pair (confirms after the WAL's fsync), publisher confirms awaited (256 outstanding), consumers with manual acks (prefetch 256), every message checked",
            peers::rabbitmq::quorum_queues(tmp.path(), 8, secs).await,
        );
        (js, rq)
    } else {
        (None, None)
    };
    // The best durable peer's delivered messages/s, and its name.
    let best_peer = [("JetStream", jetstream), ("RabbitMQ", rabbitmq)]
        .into_iter()
        .filter_map(|(name, rate)| rate.map(|r| (name, r)))
        .max_by(|a, b| a.1.total_cmp(&b.1));

    // ---- Scenarios.
    // About 30 s of relaying at this machine's rate (the target's workload).
    let (pairs, per) = if smoke { (8, 200) } else { (8, 55_000) };
    let mut sqlite_relay = None;
    let relay_run = if want("relay") || want("relay-alone") || want("cluster") {
        let bracket_secs = if smoke { 0.25 } else { 2.0 };
        let before = baseline::ed25519_verify(bracket_secs);
        let run = scenarios::relay(
            pairs,
            per,
            Duration::from_secs(if smoke { 60 } else { 300 }),
        )
        .await;
        let after = baseline::ed25519_verify(bracket_secs);
        ok(&mut rows, "relay", run).map(|r| (r, baseline::Bracket { before, after }))
    } else {
        None
    };
    if let Some((r, bracket)) = relay_run {
        // Judged against the verify rate that brackets the relay (see
        // `baseline::Bracket`), not the one measured minutes before.
        let verify = bracket.mean();
        let drift = if bracket.drift() > 0.1 {
            format!(
                "; the ed25519 baseline moved {:.0}% across the relay: ratios uncertain",
                100.0 * bracket.drift()
            )
        } else {
            String::new()
        };
        rows.push(Row {
            scenario: "relay",
            workload: format!("{pairs} senders → {pairs} receivers, {} pre-sealed 1 KiB envelopes, durable acks, signatures checked ({:.1} s; hub RSS {:.0} MiB; hub CPU {:.0} µs/envelope)", fmt_rate(r.delivered as f64), r.secs, r.hub_rss_mib, r.hub_cpu_us),
            figure: format!("{} envelopes/s", fmt_rate(r.per_sec)),
            baseline: format!(
                "ed25519 {}/s ({} right before, {} right after the relay); durable relay {}; best durable peer {}",
                fmt_rate(verify),
                fmt_rate(bracket.before),
                fmt_rate(bracket.after),
                durable.map_or("skipped".into(), |d| format!("{}/s", fmt_rate(d))),
                best_peer.map_or("skipped".into(), |(name, n)| format!("{name} {}/s", fmt_rate(n)))
            ),
            // Hub CPU per envelope in units of one `verify_strict` on this
            // machine (a same-run ratio; the hub before issue "Relay speed"
            // took 3.3 here: the target is half of that).
            ratio: format!(
                "{:.2}× ed25519, {}, {}; hub CPU {:.1} verifies/envelope{drift}",
                r.per_sec / verify,
                durable.map_or("durable relay skipped".into(), |d| format!("{:.2}× durable relay", r.per_sec / d)),
                best_peer.map_or("peers skipped".into(), |(name, n)| format!("{:.2}× {name}", r.per_sec / n)),
                r.hub_cpu_us * verify / 1e6
            ),
            target: "≥ 1.0× ed25519, ≥ 0.5× durable relay, ≥ 1.5× best durable peer, hub CPU ≤ 1.65 verifies/envelope",
            met: Some(
                r.per_sec >= verify
                    && durable.is_none_or(|d| r.per_sec >= 0.5 * d)
                    && best_peer.is_none_or(|(_, n)| r.per_sec >= 1.5 * n)
                    && r.hub_cpu_us * verify / 1e6 <= 1.65,
            ),
        });
        sqlite_relay = Some(r);
    }
    if want("cluster") {
        cluster_rows(&mut rows, smoke, sqlite_relay.as_ref()).await;
    }
    if want("latency")
        && let Some(l) = ok(
            &mut rows,
            "latency",
            scenarios::latency(1000, if smoke { 1.0 } else { 10.0 }).await,
        )
    {
        rows.push(Row {
            scenario: "latency",
            workload: format!("1,000 envelopes/s, sealed beforehand, timed from the hand-over to the session, verified + decrypted at the recipient ({} samples)", fmt_rate(l.n as f64)),
            figure: format!("p50 {:.2} ms, p99 {:.2} ms", l.p50_ms, l.p99_ms),
            baseline: "—".into(),
            ratio: "—".into(),
            target: "p50 ≤ 2 ms, p99 ≤ 10 ms",
            met: Some(l.p50_ms <= 2.0 && l.p99_ms <= 10.0),
        });
    }
    if want("catch-up")
        && let Some(c) = ok(
            &mut rows,
            "catch-up",
            scenarios::catch_up(if smoke { 1_000 } else { 100_000 }).await,
        )
    {
        rows.push(Row {
            scenario: "catch-up",
            workload: format!(
                "{} × 1 KiB queued while offline, then `sync` ({:.1} s)",
                fmt_rate(c.n as f64),
                c.secs
            ),
            figure: format!(
                "{}/s drained, verified, decrypted, stored, indexed",
                fmt_rate(c.per_sec)
            ),
            baseline: format!(
                "SQLite {} commits/s, ed25519 {} verify/s",
                fmt_rate(commits),
                fmt_rate(verify)
            ),
            ratio: format!("{:.1}× one-row commits", c.per_sec / commits),
            target: "≥ 3,000/s",
            met: Some(c.per_sec >= 3_000.0),
        });
    }

    if want("fan-out")
        && let Some(f) = ok(
            &mut rows,
            "fan-out",
            fanout::fan_out(if smoke { 50 } else { 1_000 }).await,
        )
    {
        rows.push(Row {
            scenario: "fan-out",
            workload: format!(
                "one bulletin (encrypted body {} B) to {} connected nodes",
                f.body,
                fmt_rate(f.n as f64)
            ),
            figure: format!(
                "last delivery {:.0} ms; {} B per recipient",
                f.last_ms, f.per_recipient
            ),
            baseline: format!("body + {} B", f.per_recipient.saturating_sub(f.body)),
            ratio: "—".into(),
            target: "≤ 1 s; ≤ body + 1 KiB",
            met: Some(f.last_ms <= 1_000.0 && f.per_recipient <= f.body + 1024),
        });
    }
    if want("connections")
        && let Some(c) = ok(
            &mut rows,
            "connections",
            fanout::connections(if smoke { 100 } else { 10_000 }).await,
        )
    {
        rows.push(Row {
            scenario: "connections",
            workload: format!(
                "{} idle connected, subscribed nodes (hub RSS {:.0} MiB)",
                fmt_rate(c.n as f64),
                c.rss_mib
            ),
            figure: format!("{:.1} KiB per connection", c.per_conn_kib),
            baseline: "—".into(),
            ratio: "—".into(),
            target: "≤ 64 KiB",
            met: Some(c.per_conn_kib <= 64.0),
        });
    }
    if want("search") || want("ui") {
        let n = if smoke { 2_000 } else { 200_000 };
        let path = tmp.path().join("archive.db");
        let t = std::time::Instant::now();
        archive_fill::fill(&path, n, 500);
        let fill_s = t.elapsed().as_secs_f64();
        if want("search") {
            let s = search::search(&path, if smoke { 5 } else { 50 })?;
            let worst = s.rows.iter().map(|r| r.2).fold(0.0, f64::max);
            let detail: Vec<String> = s
                .rows
                .iter()
                .map(|(q, p50, p99, h)| format!("{q}: {p50:.1}/{p99:.1} ms ({h})"))
                .collect();
            rows.push(Row {
                scenario: "search",
                workload: format!("{} messages of ~500 characters (filled and indexed in {fill_s:.0} s); 50 hits; p50/p99 per query: {}", fmt_rate(n as f64), detail.join("; ")),
                figure: format!("worst p99 {worst:.1} ms"),
                baseline: "—".into(),
                ratio: "—".into(),
                target: "p99 ≤ 10 ms",
                met: Some(worst <= 10.0),
            });
        }
        if want("ui") {
            // The UI target is for 100,000 messages: an archive of that size.
            let n = if smoke { 2_000 } else { 100_000 };
            let path = tmp.path().join("ui.db");
            archive_fill::fill(&path, n, 500);
            let u = ui::ui(&path, if smoke { 200 } else { 2_000 })?;
            rows.push(Row {
                scenario: "UI",
                workload: format!(
                    "120x40, list + detail, {} archived messages, {} frames",
                    fmt_rate(n as f64),
                    u.frames
                ),
                figure: format!(
                    "first screen {:.0} ms (open {:.0}, page {:.0}, counts {:.0}); frame p50 {:.2} ms, p99 {:.2} ms",
                    u.first_ms, u.open_ms, u.list_ms, u.count_ms, u.frame_p50_ms, u.frame_p99_ms
                ),
                baseline: "—".into(),
                ratio: "—".into(),
                target: "frame ≤ 4 ms; first screen ≤ 200 ms",
                met: Some(u.frame_p99_ms <= 4.0 && u.first_ms <= 200.0),
            });
        }
    }

    println!();
    let failures = rows
        .iter()
        .filter(|r| r.figure.starts_with("FAILED"))
        .count();
    println!("| scenario | workload | figure | same-run baseline | ratio | target | result |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.scenario,
            r.workload,
            r.figure,
            r.baseline,
            r.ratio,
            r.target,
            r.result(smoke)
        );
    }
    anyhow::ensure!(failures == 0, "{failures} scenario(s) failed");
    Ok(())
}
