//! Several hubs on one PostgreSQL database, over real QUIC with the real
//! binaries: node A on hub 1 and node B on hub 2 exchange bulletins both
//! ways, and an embargoed bulletin is released once.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::pg::Pg;
use common::{Net, OtherHub, bin, eventually, s, set_hubs};

/// Start the first hub on `pg` (polling every `poll_ms`, else the default);
/// the configuration, for the second.
fn start_first(net: &mut Net, pg: &Pg, poll_ms: Option<u64>) -> String {
    let mut config = format!("[storage]\ndatabase = \"{}\"\n", pg.url());
    if let Some(ms) = poll_ms {
        config.push_str(&format!("poll_ms = {ms}\n"));
    }
    net.hub_config = Some(config.clone());
    net.start_hub();
    config
}

fn second_hub(net: &Net, config: &str) -> OtherHub {
    OtherHub::start(net, config)
}

/// Point a node at another hub.
fn move_to(node: &common::Node, addr: &str) {
    set_hubs(&node.home, &[addr]);
}

/// Two hubs on a throwaway PostgreSQL, node A (nat) and node B (gd)
/// enrolled with hub 1; hub 1 polls every `poll_ms` (else the default).
/// Dropped in reverse: the nodes, hub 2, hub 1, then the database.
struct Cluster {
    pg: Pg,
    net: Net,
    hub2: OtherHub,
    a: common::Node,
    b: common::Node,
}

fn cluster(poll_ms: Option<u64>) -> Option<Cluster> {
    let pg = Pg::start()?;
    let mut net = Net::new();
    let config = start_first(&mut net, &pg, poll_ms);
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let hub2 = second_hub(&net, &config);
    Some(Cluster {
        pg,
        net,
        hub2,
        a,
        b,
    })
}

#[test]
fn two_hubs_on_one_postgresql_relay_between_their_nodes() {
    // Polling only every minute: a live delivery across hubs within seconds
    // is the notification's doing.
    let Some(Cluster {
        pg: _pg,
        mut net,
        hub2,
        a,
        b,
    }) = cluster(Some(60000))
    else {
        return;
    };
    move_to(&b, &hub2.addr);
    assert!(!net.hub_data().join("hub.db").exists(), "no SQLite file");

    // A on hub 1 → B on hub 2, and back.
    let sent = a.send("gd", "经由两台联络中心的通报", "正文");
    assert_eq!(sent["status"], "sent", "{sent}");
    b.ok(&["sync"]);
    assert_eq!(b.titles(), ["经由两台联络中心的通报"]);
    let back = b.send("nat", "回复：已收到", "收到");
    assert_eq!(back["status"], "sent", "{back}");
    a.ok(&["sync"]);
    assert!(a.titles().contains(&"回复：已收到".to_owned()));

    // Live: B listens on hub 2 while A sends through hub 1.
    let mut listen = Command::new(bin("lianxi"))
        .args(["--home", s(&b.home), "--json", "listen"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = listen.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // Connected once the archive's messages are replayed or a moment passes.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let started = std::time::Instant::now();
    a.send("gd", "实时送达的通报", "正文");
    let got = loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("no live delivery across hubs within 10 s");
        if line.contains("实时送达的通报") {
            break started.elapsed();
        }
    };
    let _ = listen.kill();
    let _ = listen.wait();
    assert!(
        got < std::time::Duration::from_secs(8),
        "live across hubs in {got:?} (polling is every minute)"
    );

    // Failover: A knows both hubs; hub 1 is killed; A's next send goes
    // through hub 2, and B gets it once.
    let hub1 = net.hub_addr();
    set_hubs(&a.home, &[&hub1, &hub2.addr]);
    assert_eq!(a.ok(&["whoami"])["hubs"].as_array().unwrap().len(), 2);
    net.kill_hub();
    let started = std::time::Instant::now();
    let sent = a.send("gd", "联络中心宕机后的通报", "正文");
    assert_eq!(sent["status"], "sent", "{sent}");
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(10),
        "failover took {took:?}"
    );
    b.ok(&["sync"]);
    let n = b
        .titles()
        .iter()
        .filter(|t| t.as_str() == "联络中心宕机后的通报")
        .count();
    assert_eq!(n, 1);
    // The embargo below goes through hub 2 alone now.
    move_to(&a, &hub2.addr);

    // An embargo: held, then released once, whichever hub does it.
    let at = lianxi::time_fmt::rfc3339(lianxi::now_ms() + 3_000);
    let e = a.ok(&[
        "send",
        "bulletin",
        "--to",
        "gd",
        "--title",
        "定时发布的通报",
        "--body",
        "x",
        "--embargo",
        &at,
    ]);
    assert_eq!(e["status"], "sent", "{e}");
    b.ok(&["sync"]);
    assert!(!b.titles().contains(&"定时发布的通报".to_owned()), "held");
    eventually(
        "the embargo released",
        std::time::Duration::from_secs(20),
        || {
            b.ok(&["sync"]);
            b.titles().contains(&"定时发布的通报".to_owned())
        },
    );
    let n = b
        .titles()
        .iter()
        .filter(|t| t.as_str() == "定时发布的通报")
        .count();
    assert_eq!(n, 1, "released once");
    drop(hub2);
}

/// A node revoked by the CRL that one hub loads is refused by every hub of
/// the cluster, also one started without a CRL file.
#[test]
fn a_revocation_reaches_every_hub_through_the_database() {
    let Some(pg) = Pg::start() else {
        return;
    };
    let mut net = Net::new().with_crl();
    let config = start_first(&mut net, &pg, None);
    let c = net.node("sz", "深圳市中小企业服务协会", "prefecture", "member");
    let hub2 = second_hub(&net, &config);
    move_to(&c, &hub2.addr);
    c.ok(&["sync"]);
    net.revoke("sz");
    let start = std::time::Instant::now();
    while c.run(&["sync", "--timeout", "3"]).0 {
        let logs = |f: &str| std::fs::read_to_string(net.dir.path().join(f)).unwrap_or_default();
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "hub 2 still serves the revoked node\nhub 1: {}\nhub 2: {}",
            logs("hub-1.log"),
            logs("hub2.log")
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    drop(hub2);
}

/// PostgreSQL stopped hard (`-m immediate`, as a crash) and started again
/// while node A sends through hub 1 to node B on hub 2: sends during the
/// outage are refused with `unavailable` and stay in A's outbox; afterwards
/// everything reaches B exactly once, and neither hub was restarted.
#[test]
fn a_postgresql_restart_under_traffic_loses_and_duplicates_nothing() {
    let Some(Cluster {
        pg,
        net,
        hub2,
        a,
        b,
    }) = cluster(Some(500))
    else {
        return;
    };
    move_to(&b, &hub2.addr);
    b.ok(&["sync"]);

    const N: usize = 30;
    let title = |i: usize| format!("数据库重启期间的通报 {i}");
    let mut reasons = Vec::new();
    let mut sent = 0;
    let down = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|sc| {
        let outage = sc.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(800));
            pg.stop_immediate();
            down.store(true, std::sync::atomic::Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_secs(3));
            pg.ctl_start();
        });
        for i in 0..N {
            let v = a.send("gd", &title(i), "正文");
            match v["status"].as_str() {
                Some("sent") => sent += 1,
                Some("queued") => reasons.push(v["reason"].as_str().unwrap_or_default().to_owned()),
                other => panic!("send {i}: {other:?} {v}"),
            }
            std::thread::sleep(std::time::Duration::from_millis(150));
        }
        outage.join().unwrap();
    });
    assert!(down.load(std::sync::atomic::Ordering::SeqCst));
    assert!(
        sent > 0,
        "some sends before or after the outage went through"
    );
    assert!(!reasons.is_empty(), "no send met the outage");
    assert!(
        reasons.iter().all(|r| r.contains("unavailable")),
        "refused with a clear code: {reasons:?}\n{}",
        std::fs::read_to_string(net.dir.path().join("hub-1.log")).unwrap_or_default()
    );
    // The hubs recover by themselves: A's outbox empties, B gets each once.
    eventually(
        "A's outbox flushed after the restart",
        std::time::Duration::from_secs(30),
        || {
            a.ok(&["sync"]);
            a.ok(&["outbox"])["outbox"]
                .as_array()
                .is_some_and(|o| o.iter().all(|m| m["state"] != "queued"))
        },
    );
    eventually(
        "B has every bulletin",
        std::time::Duration::from_secs(30),
        || {
            b.ok(&["sync"]);
            let t = b.titles();
            (0..N).all(|i| t.contains(&title(i)))
        },
    );
    let titles = b.titles();
    for i in 0..N {
        let n = titles.iter().filter(|t| **t == title(i)).count();
        assert_eq!(n, 1, "{} arrived {n} times", title(i));
    }
    drop(hub2);
}

/// One session per node across the cluster: node A listens on hub 1; a
/// session of A opened on hub 2 takes it over, hub 1 closes its session
/// with `session_moved` and the hub's address, and A's listener follows to
/// hub 2 (not back to hub 1, which would push the other session off) and
/// keeps receiving there.
#[test]
fn a_session_opened_on_another_hub_takes_the_node_over() {
    let Some(Cluster {
        pg,
        net,
        hub2,
        a,
        b,
    }) = cluster(Some(60000))
    else {
        return;
    };
    let hub1 = net.hub_addr();
    let both = |node: &common::Node, first: &str, second: &str| {
        set_hubs(&node.home, &[first, second]);
    };
    both(&a, &hub1, &hub2.addr);

    let mut listen = Command::new(bin("lianxi"))
        .args(["--home", s(&a.home), "--lang", "en", "listen"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for out in [
        Box::new(listen.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(listen.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
    }
    let wait_for = |what: &str, f: &dyn Fn(&str) -> bool| -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match rx.recv_timeout(std::time::Duration::from_secs(15)) {
                Ok(line) => {
                    let hit = f(&line);
                    seen.push(line);
                    if hit {
                        return seen;
                    }
                }
                Err(_) => panic!("{what} not seen; the listener said: {seen:#?}"),
            }
        }
    };
    wait_for("connected to hub 1", &|l| {
        l.contains("Connected") && l.contains(&hub1)
    });

    // Another session of A, opened on hub 2 (its first hub there).
    both(&a, &hub2.addr, &hub1);
    a.ok(&["sync"]);
    let seen = wait_for("the listener connected to hub 2", &|l| {
        l.contains("Connected") && l.contains(&hub2.addr)
    });
    assert!(
        seen.iter()
            .any(|l| l.contains("session_moved") && l.contains(&hub2.addr)),
        "closed by hub 1 with the new hub's address: {seen:#?}"
    );
    let log = std::fs::read_to_string(net.dir.path().join("hub-1.log")).unwrap();
    assert!(
        log.contains("session moved to another hub"),
        "hub 1 says so"
    );
    // The operator sees it too: which hub serves each node.
    let out = Command::new(bin("lianxi-hub"))
        .args(["status", "--json", "--database", &pg.url()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nat = st["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node_id"] == "nat")
        .cloned()
        .unwrap_or_default();
    assert_eq!(nat["hub"], hub2.addr.as_str(), "{st}");

    // And it stays there, receiving live.
    b.send("nat", "会话迁移后的通报", "正文");
    wait_for("the bulletin on hub 2", &|l| l.contains("会话迁移后的通报"));
    let _ = listen.kill();
    let _ = listen.wait();
    drop(hub2);
}

/// A node that has only ever connected to hub 2 is known to hub 1 at once
/// (the session announcement, else the next poll): hub 1's directory lists
/// it and a node on hub 1 sends to it.
#[test]
fn a_node_seen_only_by_one_hub_is_known_to_the_others() {
    let Some(Cluster {
        pg: _pg,
        net,
        hub2,
        a,
        b: _,
    }) = cluster(Some(60000))
    else {
        return;
    };
    a.ok(&["sync"]);
    let c = net.node_at(
        "hz",
        "杭州市中小企业协会",
        "prefecture",
        "member",
        &[],
        &hub2.addr,
    );
    c.ok(&["sync"]);
    eventually(
        "hub 1 lists the node of hub 2",
        std::time::Duration::from_secs(10),
        || {
            a.ok(&["sync"]);
            a.ok(&["directory"])["nodes"]
                .as_array()
                .is_some_and(|n| n.iter().any(|x| x["node_id"] == "hz"))
        },
    );
    let sent = a.send("hz", "发往另一台联络中心节点的通报", "正文");
    assert_eq!(sent["status"], "sent", "{sent}");
    c.ok(&["sync"]);
    assert_eq!(c.titles(), ["发往另一台联络中心节点的通报"]);
    let log = std::fs::read_to_string(net.dir.path().join("hub-1.log")).unwrap();
    assert!(log.contains("node learnt from another hub"), "{log}");
    drop(hub2);
}
