//! What the hub's operator sees: the Prometheus `/metrics` endpoint scraped
//! with a real HTTP client while real nodes send through the real hub, JSON
//! logs, and `lianxi-hub status --json`.

#![allow(clippy::unwrap_used)]

mod common;

use common::rogue::Rogue;
use common::{Net, bin, s};
use lianxi_shared::{Bulletin, MessageId, Payload};

/// A free loopback TCP port (the hub binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scrape(url: &str) -> (String, String) {
    let mut r = ureq::get(url).call().unwrap();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (ctype, r.body_mut().read_to_string().unwrap())
}

/// The value of one sample line (`name{labels} value`), if present.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

#[test]
fn metrics_count_what_the_hub_does_and_name_no_one() {
    let port = free_port();
    let mut net = Net::new().with_crl();
    net.hub_config = Some(format!(
        "metrics = \"127.0.0.1:{port}\"\nlog_format = \"json\"\n"
    ));
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let url = format!("http://127.0.0.1:{port}/metrics");

    a.send("gd", "关于报送年度总结的通知", "请于月底前报送。");
    // A modified node sends a message dated a day ahead: refused, counted by code.
    let rogue = Rogue::new(&a.home);
    let ahead = lianxi_node::now_ms() + 86_400_000;
    let payload = Payload::Bulletin(Bulletin {
        title: "来自未来".into(),
        body: "x".into(),
        ..Default::default()
    });
    let refused = rogue
        .send_sealed(rogue.seal(&["gd"], &payload, MessageId::generate(ahead), ahead))
        .unwrap_err();
    assert_eq!(refused.code.as_str(), "clock_skew");

    let (ctype, before) = scrape(&url);
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    assert!(before.ends_with("# EOF\n"), "{before}");
    assert_eq!(
        sample(&before, "lianxi_hub_sends_accepted_total"),
        Some(1.0),
        "{before}"
    );
    assert_eq!(
        sample(
            &before,
            "lianxi_hub_sends_refused_total{code=\"clock_skew\"}"
        ),
        Some(1.0),
        "{before}"
    );
    assert_eq!(
        sample(&before, "lianxi_hub_queued_envelopes"),
        Some(1.0),
        "{before}"
    );
    assert!(sample(&before, "lianxi_hub_commit_batch_size_operations_count").unwrap() >= 1.0);
    assert!(sample(&before, "lianxi_hub_signature_batch_size_sends_count").unwrap() >= 1.0);
    assert!(sample(&before, "lianxi_hub_commit_duration_seconds_sum").unwrap() > 0.0);
    assert_eq!(sample(&before, "lianxi_hub_crl_loaded"), Some(1.0));
    let age = sample(&before, "lianxi_hub_crl_age_seconds").unwrap();
    assert!((0.0..3600.0).contains(&age), "CRL age {age}");
    assert!(sample(&before, "lianxi_hub_store_size_bytes").unwrap() > 0.0);
    for line in before.lines().filter(|l| l.starts_with("# TYPE")) {
        let name = line.split_whitespace().nth(2).unwrap();
        assert!(name.starts_with("lianxi_hub_"), "{line}");
    }

    b.ok(&["sync"]);
    let (_, after) = scrape(&url);
    assert_eq!(
        sample(&after, "lianxi_hub_queued_envelopes"),
        Some(0.0),
        "{after}"
    );
    assert!(sample(&after, "lianxi_hub_deliveries_total").unwrap() >= 1.0);
    assert!(sample(&after, "lianxi_hub_delivery_acks_total").unwrap() >= 1.0);

    // Blind: no node, name or title in what the operator scrapes; the only
    // labels are error codes and histogram bounds.
    for text in [&before, &after] {
        for secret in ["全国", "广东", "年度总结", "来自未来", "\"nat\"", "\"gd\""] {
            assert!(!text.contains(secret), "{secret} in metrics");
        }
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            if let Some(labels) = line.split_once('{').map(|x| x.1) {
                let key = labels.split('=').next().unwrap();
                assert!(key == "code" || key == "le", "label {key}: {line}");
            }
        }
    }
    // Only /metrics, only GET.
    assert!(matches!(
        ureq::get(&format!("http://127.0.0.1:{port}/")).call(),
        Err(ureq::Error::StatusCode(404))
    ));

    // JSON logs: every line on stderr is one JSON object.
    let log = std::fs::read_to_string(net.dir.path().join("hub-1.log")).unwrap();
    assert!(log.lines().count() > 3);
    for line in log.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
    }
}

#[test]
fn metrics_listen_only_on_loopback() {
    let mut net = Net::new();
    net.hub_config = Some("metrics = \"0.0.0.0:9464\"\n".into());
    let dir = net.dir.path().to_owned();
    let out = std::process::Command::new(bin("lianxi-hub"))
        .args(["serve", "--no-crl", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.join("hub-data"))
        .args(["--ca", s(&net.ca_dir().join("ca.crt"))])
        .args(["--cert", s(&dir.join("hub").join("hub.crt"))])
        .args(["--key", s(&dir.join("hub").join("hub.key"))])
        .args(["--metrics", "0.0.0.0:9464"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a loopback address"), "{err}");
}

fn hub_status(net: &Net) -> serde_json::Value {
    let out = std::process::Command::new(bin("lianxi-hub"))
        .args(["status", "--json", "--data", s(&net.hub_data())])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_renewed_hub_certificate_is_served_without_a_restart() {
    let mut net = Net::new().with_crl();
    net.hub_config = Some("[limits]\ncrl_poll_ms = 100\n".into());
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let pid = net.hub_pid();
    let first = hub_status(&net);
    let old_serial = first["certificate"]["serial"].as_str().unwrap().to_owned();
    assert!(
        first["certificate_days_left"].as_i64().unwrap() > 300,
        "{first}"
    );
    assert_eq!(first["warnings"], serde_json::json!([]), "{first}");

    // A certificate issued for 20 days: `status` warns, as the hub's log does.
    let next = net.dir.path().join("hub-next");
    common::ca_ok(&[
        "hub",
        "--dir",
        s(&net.ca_dir()),
        "--host",
        "localhost",
        "--host",
        "127.0.0.1",
        "--out",
        s(&next),
        "--days",
        "20",
    ]);
    let live = net.dir.path().join("hub");
    // The certificate first, its key a moment later, as a person copies them.
    std::fs::copy(next.join("hub.crt"), live.join("hub.crt")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    std::fs::copy(next.join("hub.key"), live.join("hub.key")).unwrap();
    common::eventually(
        "the hub reloads its certificate",
        std::time::Duration::from_secs(20),
        || hub_status(&net)["certificate"]["serial"] != old_serial.as_str(),
    );
    let st = hub_status(&net);
    assert_eq!(st["certificate_days_left"], 20, "{st}");
    assert!(
        st["warnings"][0]
            .as_str()
            .unwrap()
            .contains("expires in 20 day"),
        "{st}"
    );
    assert_eq!(net.hub_pid(), pid, "no restart");

    // New connections get the new certificate and work as before.
    a.send("gd", "换证之后", "照常收发。");
    b.ok(&["sync"]);
    assert!(b.titles().contains(&"换证之后".to_string()));
    let log = std::fs::read_to_string(net.dir.path().join("hub-1.log")).unwrap();
    assert!(log.contains("hub certificate reloaded"), "{log}");
}

fn hub_backup(net: &Net, out: &std::path::Path) -> (bool, serde_json::Value) {
    let o = std::process::Command::new(bin("lianxi-hub"))
        .args(["backup", "--json", "--data", s(&net.hub_data())])
        .args(["--out", s(out)])
        .output()
        .unwrap();
    (
        o.status.success(),
        serde_json::from_slice(&o.stdout).unwrap_or_default(),
    )
}

/// `lianxi-hub backup` while the hub serves and a node sends: a checked,
/// private copy; restored into a stopped hub, it delivers what it held,
/// each message once. A second backup never overwrites the first.
#[test]
fn a_serving_hub_is_backed_up_and_restored() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    for i in 0..5 {
        a.send("gd", &format!("备份前的通报 {i}"), "正文");
    }
    let out = net.dir.path().join("backups").join("hub-1.db");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let (ok, v) = std::thread::scope(|sc| {
        let sender = sc.spawn(|| {
            for i in 0..10 {
                a.send("gd", &format!("备份期间的通报 {i}"), "正文");
            }
        });
        let r = hub_backup(&net, &out);
        sender.join().unwrap();
        r
    });
    assert!(ok, "{v}");
    assert_eq!(v["nodes"], 2, "{v}");
    assert!(v["queued"].as_i64().unwrap() >= 5, "{v}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the copy is private");
    }
    assert!(!out.with_extension("db.partial").exists());
    let (ok, again) = hub_backup(&net, &out);
    assert!(!ok, "an existing file is not overwritten: {again}");
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exists"),
        "{again}"
    );

    // Restore: stop the hub, put the copy in place, start again.
    net.kill_hub();
    let db = net.hub_data().join("hub.db");
    for f in ["hub.db-wal", "hub.db-shm"] {
        let _ = std::fs::remove_file(net.hub_data().join(f));
    }
    std::fs::copy(&out, &db).unwrap();
    net.start_hub();
    b.ok(&["sync"]);
    let titles = b.titles();
    for i in 0..5 {
        let t = format!("备份前的通报 {i}");
        assert_eq!(titles.iter().filter(|x| **x == t).count(), 1, "{t}");
    }
    let during = titles.iter().filter(|t| t.starts_with("备份期间")).count();
    assert!(during <= 10);
    let mut unique = titles.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), titles.len(), "nothing twice");
}
