//! Crash safety: nothing lost, nothing duplicated.
//!
//! Five nodes exchange 10,000 envelopes (mixed sizes, direct and broadcast; one
//! node is offline most of the time) through the real hub binary, which is
//! killed with SIGKILL at random moments and restarted. A sixth node is driven
//! through the `lianxi` binary, whose `send` and `sync` processes are killed
//! mid-flight. At the end every envelope its sender saw acknowledged is in every
//! intended archive exactly once, byte-identical, and nothing else is.
//! `LIANXI_SOAK_ENVELOPES` changes the count (default 2,000, as in CI). The
//! full run: `LIANXI_SOAK_ENVELOPES=10000 cargo test -p lianxi --test soak -- --nocapture`.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::pg::Pg;
use common::{Net, OtherHub, bin, s, set_hubs};
use lianxi_node::home::Home;
use lianxi_node::node::Node;
use lianxi_shared::{Audience, Bulletin, NodeId, Payload};
use rand::{Rng, SeedableRng};

const NODES: [(&str, &str); 5] = [
    ("n0", "national"),
    ("n1", "provincial"),
    ("n2", "provincial"),
    ("n3", "prefecture"),
    ("n4", "prefecture"),
];

/// (id, envelope bytes) of every message this archive holds, by direction.
fn archive(home: &std::path::Path, direction: &str) -> BTreeMap<String, Vec<u8>> {
    let c = rusqlite::Connection::open_with_flags(
        home.join("archive.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut st = c
        .prepare("SELECT id, env_header, env_sig, env_body FROM messages WHERE direction = ?1")
        .unwrap();
    let rows = st
        .query_map([direction], |r| {
            let mut bytes: Vec<u8> = r.get(1)?;
            bytes.extend(r.get::<_, Vec<u8>>(2)?);
            bytes.extend(r.get::<_, Vec<u8>>(3)?);
            Ok((r.get(0)?, bytes))
        })
        .unwrap();
    let mut out = BTreeMap::new();
    for r in rows {
        let (id, bytes): (String, Vec<u8>) = r.unwrap();
        assert!(
            out.insert(id.clone(), bytes).is_none(),
            "{id} twice in {}",
            home.display()
        );
    }
    out
}

/// Recipients recorded by the sender for each message it sent.
fn recipients(home: &std::path::Path) -> BTreeMap<String, BTreeSet<String>> {
    let c = rusqlite::Connection::open_with_flags(
        home.join("archive.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut st = c
        .prepare("SELECT message_id, node_id FROM recipients")
        .unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
    {
        let (m, n) = r.unwrap();
        out.entry(m).or_default().insert(n);
    }
    out
}

/// One sync: connect, flush the outbox, receive (until drained when `until_drained`,
/// else for a few seconds), through the same code the `lianxi sync` command runs.
async fn round(node: &Node, until_drained: bool) -> Result<(), lianxi_node::ProtoError> {
    let timeout = Duration::from_secs(if until_drained { 60 } else { 3 });
    lianxi_node::sync::sync(node, timeout).await.map(|_| ())
}

#[test]
fn nothing_is_lost_or_duplicated_through_hub_and_node_kills() {
    soak(None);
}

/// The same through two hubs on one PostgreSQL, SIGKILLed in turn (one at a
/// time): every node knows both and moves to whichever answers.
#[test]
fn nothing_is_lost_or_duplicated_through_two_hubs_on_postgresql() {
    let Some(pg) = Pg::start() else {
        return;
    };
    soak(Some(&pg));
}

fn soak(pg: Option<&Pg>) {
    // CI runs 2,000 on one hub and 600 through two (a few minutes each on
    // two cores); the full 10,000 is run by hand and its figures are in
    // docs/RELIABILITY.md.
    let total: usize = std::env::var("LIANXI_SOAK_ENVELOPES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if pg.is_some() { 600 } else { 2_000 });
    let mut net = Net::new();
    let mut config = "[limits]\nsend_rate_per_sec = 1000000.0\nsend_burst = 1000000.0\n".to_owned();
    if let Some(pg) = pg {
        config.push_str(&format!(
            "[storage]\ndatabase = \"{}\"\npoll_ms = 500\n",
            pg.url()
        ));
    }
    net.hub_config = Some(config.clone());
    net.start_hub();
    let hub2 = pg.map(|_| OtherHub::start(&net, &config));
    let homes: Vec<_> = NODES
        .iter()
        .map(|(id, tier)| net.node(id, id, tier, "secretary").home)
        .collect();
    let k = net.node("k", "k", "provincial", "member");
    if let Some(h2) = &hub2 {
        for home in homes.iter().chain([&k.home]) {
            set_hubs(home, &[&net.hub_addr(), &h2.addr]);
        }
    }
    let hub2 = Arc::new(std::sync::Mutex::new(hub2));
    let net = Arc::new(std::sync::Mutex::new(net));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let nodes: Vec<Arc<Node>> = homes
        .iter()
        .map(|h| Arc::new(Node::open(Home::new(h)).unwrap()))
        .collect();
    for n in &nodes {
        rt.block_on(round(n, true)).unwrap(); // everyone knows everyone
    }
    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicUsize::new(0));
    // The killer: SIGKILL a hub at random moments and restart it (with two,
    // either one, never both at once).
    let killer = {
        let (net, hub2, stop, kills) = (net.clone(), hub2.clone(), stop.clone(), kills.clone());
        std::thread::spawn(move || {
            let mut rng = rand::rngs::StdRng::seed_from_u64(7);
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(rng.gen_range(1500..4000)));
                let mut second = hub2.lock().unwrap();
                match second.as_mut().filter(|_| rng.gen_bool(0.5)) {
                    Some(h2) => {
                        h2.kill();
                        kills.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(rng.gen_range(50..400)));
                        h2.restart();
                    }
                    None => {
                        drop(second);
                        let mut n = net.lock().unwrap();
                        n.kill_hub();
                        kills.fetch_add(1, Ordering::Relaxed);
                        drop(n);
                        std::thread::sleep(Duration::from_millis(rng.gen_range(50..400)));
                        net.lock().unwrap().start_hub();
                    }
                }
            }
        })
    };
    // Node k through the CLI: sends and syncs killed mid-flight.
    let cli = {
        let (stop, home) = (stop.clone(), k.home.clone());
        std::thread::spawn(move || {
            let mut rng = rand::rngs::StdRng::seed_from_u64(11);
            let mut killed = 0;
            while !stop.load(Ordering::Relaxed) {
                let args: Vec<String> = if rng.gen_bool(0.5) {
                    vec![
                        "send".into(),
                        "bulletin".into(),
                        "--to".into(),
                        "n1".into(),
                        "--title".into(),
                        format!("k {}", rng.r#gen::<u32>()),
                        "--body".into(),
                        "中".repeat(rng.gen_range(10..3000)),
                    ]
                } else {
                    vec!["sync".into(), "--timeout".into(), "5".into()]
                };
                let mut child = std::process::Command::new(bin("lianxi"))
                    .arg("--home")
                    .arg(&home)
                    .args(&args)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap();
                std::thread::sleep(Duration::from_millis(rng.gen_range(5..400)));
                if child.try_wait().unwrap().is_none() {
                    let _ = child.kill();
                    killed += 1;
                }
                let _ = child.wait();
            }
            killed
        })
    };
    // Traffic: each round every node queues a share, then syncs (n4 mostly stays offline).
    let started = Instant::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let ids: Vec<NodeId> = NODES
        .iter()
        .map(|(id, _)| NodeId::new(*id).unwrap())
        .collect();
    let mut queued = 0usize;
    let mut round_no = 0;
    // Until the count is queued and the hubs have been killed five times.
    while queued < total || kills.load(Ordering::Relaxed) < 5 {
        round_no += 1;
        for (i, node) in nodes.iter().enumerate() {
            let n = total.saturating_sub(queued).clamp(5, 60);
            let msgs: Vec<(Audience, Payload)> = (0..n)
                .map(|j| {
                    let audience = if rng.gen_bool(0.2) {
                        Audience::All
                    } else {
                        let mut to = rng.gen_range(0..ids.len());
                        if to == i {
                            to = (to + 1) % ids.len();
                        }
                        Audience::Nodes(vec![ids[to].clone()])
                    };
                    let size = if rng.gen_bool(0.02) {
                        200_000
                    } else {
                        rng.gen_range(50..8000)
                    };
                    let b = Bulletin {
                        title: format!("soak {round_no}/{i}/{j}"),
                        body: "文".repeat(size / 3),
                        ..Default::default()
                    };
                    (audience, Payload::Bulletin(b))
                })
                .collect();
            queued += n;
            rt.block_on(async {
                for (a, p) in msgs {
                    node.queue(a, p, None).await.unwrap();
                }
            });
            if i != 4 || round_no % 4 == 0 {
                let _ = rt.block_on(round(node, false)); // errors: the hub was killed; retried next round
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    killer.join().unwrap();
    let cli_kills = cli.join().unwrap();
    {
        let mut n = net.lock().unwrap();
        if n.hub.is_none() {
            n.start_hub();
        }
    }
    // Settle: everyone syncs until every outbox is empty and nothing more arrives.
    let all: Vec<Arc<Node>> = nodes
        .iter()
        .cloned()
        .chain([Arc::new(Node::open(Home::new(&k.home)).unwrap())])
        .collect();
    for _ in 0..3 {
        for n in &all {
            for _ in 0..10 {
                if rt.block_on(round(n, true)).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    }
    let pending: u64 = all
        .iter()
        .map(|n| rt.block_on(n.archive.call(|a| a.pending_count())).unwrap())
        .sum();
    assert_eq!(
        pending, 0,
        "every queued envelope was eventually acknowledged"
    );
    drop(all);
    drop(nodes);

    // Verify: expected deliveries from each sender's own record of what the hub acknowledged.
    let mut all_homes = homes.clone();
    all_homes.push(k.home.clone());
    let names: Vec<String> = NODES
        .iter()
        .map(|n| n.0.to_owned())
        .chain(["k".to_owned()])
        .collect();
    let mut expected: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    let mut acknowledged = 0;
    for home in &all_homes {
        let sent = archive(home, "out");
        let to = recipients(home);
        acknowledged += sent.len();
        for (id, bytes) in &sent {
            for r in to.get(id).cloned().unwrap_or_default() {
                expected
                    .entry(r)
                    .or_default()
                    .insert(id.clone(), bytes.clone());
            }
        }
    }
    let mut checked = 0;
    for (name, home) in names.iter().zip(&all_homes) {
        let got = archive(home, "in");
        let want = expected.remove(name).unwrap_or_default();
        assert_eq!(
            got.len(),
            want.len(),
            "{name}: received {} of {} addressed",
            got.len(),
            want.len()
        );
        for (id, bytes) in &want {
            assert!(
                got.get(id) == Some(bytes),
                "{name}: {id} missing or not byte-identical"
            );
        }
        checked += got.len();
    }
    let kills = kills.load(Ordering::Relaxed);
    eprintln!(
        "soak: {acknowledged} envelopes acknowledged, {checked} deliveries checked byte for byte, {kills} hub SIGKILLs, {cli_kills} node processes killed mid-flight, {:.0} s",
        started.elapsed().as_secs_f64()
    );
    assert!(acknowledged >= total, "{acknowledged} < {total}");
    assert!(kills >= 5, "the hub was killed {kills} times");
    let _ = s;
}
