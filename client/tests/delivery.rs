//! Store-and-forward through the real hub binary: offline delivery, a hub
//! killed with SIGKILL after an acknowledged send, audiences, the outbox.

#![allow(clippy::unwrap_used)]

mod common;

use common::Net;

#[test]
fn offline_delivery_survives_kill_9_of_the_hub_exactly_once() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary,chair");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    // B is offline (not connected) while A sends; the send is acknowledged.
    let sent = a.send(
        "all",
        "关于减税降费政策的通报",
        "各省级协会：现将减税降费政策转发给你们。🎉",
    );
    assert_eq!(sent["status"], "sent", "{sent}");
    assert_eq!(sent["recipients"], 1);
    // The hub dies hard between A's acknowledged send and B's sync.
    net.kill_hub();
    net.start_hub();
    let r = b.ok(&["sync"]);
    assert_eq!(r["received"], 1, "{r}");
    assert_eq!(b.titles(), ["关于减税降费政策的通报"]);
    // Exactly once: a second sync brings nothing, even after another restart.
    net.kill_hub();
    net.start_hub();
    assert_eq!(b.ok(&["sync"])["received"], 0);
    assert_eq!(b.titles().len(), 1);
    let id = sent["id"].as_str().unwrap();
    let shown = b.ok(&["show", id]);
    assert_eq!(shown["sender"], "nat");
    assert_eq!(shown["kind"], "bulletin");
    assert_eq!(shown["body"], "各省级协会：现将减税降费政策转发给你们。🎉");
    assert_eq!(shown["read"], true);
    // The sender keeps its own copy.
    assert_eq!(a.titles(), ["关于减税降费政策的通报"]);
}

#[test]
fn a_send_while_the_hub_is_down_is_queued_then_delivered() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("sz", "深圳市中小企业协会", "prefecture", "member");
    net.kill_hub();
    let q = a.send("sz", "会议通知", "请于下周一参加联席会议。");
    assert_eq!(q["status"], "queued", "{q}");
    assert_eq!(a.ok(&["outbox"])["outbox"][0]["state"], "queued");
    net.start_hub();
    let r = a.ok(&["sync"]);
    assert_eq!(r["sent"], 1, "{r}");
    assert_eq!(a.ok(&["outbox"])["outbox"][0]["state"], "sent");
    assert_eq!(b.ok(&["sync"])["received"], 1);
    assert_eq!(b.titles(), ["会议通知"]);
}

#[test]
fn nodes_outside_the_audience_never_receive_it() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let zj = net.node("zj", "浙江省中小企业协会", "provincial", "secretary");
    let sz = net.node("sz", "深圳市中小企业协会", "prefecture", "member");
    let hotline = net.node("hotline", "维权热线", "national", "legal-aid");
    a.send("gd", "只给广东", "定向通报");
    a.send("provincial", "省级协会通报", "省级");
    a.send("role:legal-aid", "维权通知", "热线");
    assert_eq!(gd.ok(&["sync"])["received"], 2);
    assert_eq!(zj.ok(&["sync"])["received"], 1);
    assert_eq!(sz.ok(&["sync"])["received"], 0);
    assert_eq!(hotline.ok(&["sync"])["received"], 1);
    assert_eq!(zj.titles(), ["省级协会通报"]);
    assert_eq!(hotline.titles(), ["维权通知"]);
    // Unknown recipients and empty audiences are refused with their codes.
    assert_eq!(
        a.fails(&[
            "send", "bulletin", "--to", "nobody", "--title", "x", "--body", "y"
        ]),
        "unknown_recipient"
    );
    assert_eq!(
        a.fails(&[
            "send",
            "bulletin",
            "--to",
            "role:chair",
            "--title",
            "x",
            "--body",
            "y"
        ]),
        "empty_audience"
    );
}

#[test]
fn search_finds_chinese_of_any_length_and_traditional_forms() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    a.send(
        "all",
        "关于进一步减税降费的通知",
        "为支持中小企业发展，现就有关事项通知如下。WTO 规则",
    );
    a.send("all", "协会活动简报", "本月举办培训两场。");
    b.ok(&["sync"]);
    let hits = |q: &str| b.ok(&["search", q])["hits"].as_array().unwrap().len();
    assert_eq!(hits("税"), 1);
    assert_eq!(hits("减税"), 1);
    assert_eq!(hits("减税降费"), 1);
    assert_eq!(hits("發展"), 1, "traditional finds simplified");
    assert_eq!(hits("wto"), 1);
    assert_eq!(hits("协会"), 1);
    assert_eq!(hits("无关内容"), 0);
    let v = b.ok(&["search", "培训"]);
    assert!(
        v["hits"][0]["snippet"].as_str().unwrap().contains("[培训]"),
        "{v}"
    );
}

/// A release time `secs` from now, and its RFC 3339 text for `--embargo`.
fn release_in(secs: i64) -> (time::OffsetDateTime, String) {
    let release = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs);
    let text = release
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    (release, text)
}

/// Sleep until just after `release`.
fn sleep_past(release: time::OffsetDateTime) {
    while time::OffsetDateTime::now_utc() < release + time::Duration::milliseconds(300) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn an_embargo_holds_across_a_hub_restart_and_releases_on_time() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let (release, at) = release_in(4);
    let sent = a.ok(&[
        "send",
        "bulletin",
        "--to",
        "all",
        "--title",
        "评估结果（禁发至发布时间）",
        "--body",
        "名单",
        "--embargo",
        &at,
    ]);
    assert_eq!(sent["status"], "sent");
    assert_eq!(
        b.ok(&["sync"])["received"],
        0,
        "held by the hub before the release time"
    );
    net.kill_hub();
    net.start_hub();
    assert_eq!(b.ok(&["sync"])["received"], 0, "still held after a restart");
    sleep_past(release);
    common::eventually("released", std::time::Duration::from_secs(10), || {
        b.ok(&["sync"])["received"] == 1
    });
    assert_eq!(b.titles(), ["评估结果（禁发至发布时间）"]);
}

/// A correction of an embargoed bulletin keeps its embargo: nothing arrives
/// early, and after the release the recipient holds the revision, withdrawn,
/// never the original as current.
#[test]
fn revising_and_withdrawing_an_embargoed_bulletin_keeps_the_embargo() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let (release, at) = release_in(4);
    let sent = a.ok(&[
        "send",
        "bulletin",
        "--to",
        "gd",
        "--title",
        "评估结果",
        "--body",
        "名单",
        "--embargo",
        &at,
    ]);
    let id = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(a.fails(&["remind", &id]), "embargoed");
    let rev = a.ok(&["revise", &id, "--body", "名单（更正）"]);
    assert_eq!(rev["status"], "sent");
    a.ok(&["withdraw", &id, "--reason", "评估延期"]);
    assert_eq!(b.ok(&["sync"])["received"], 0, "all three held by the hub");
    sleep_past(release);
    common::eventually("released", std::time::Duration::from_secs(10), || {
        b.ok(&["sync"]);
        let (ok, shown) = b.run(&["show", rev["id"].as_str().unwrap()]);
        ok && shown["state"] == "withdrawn"
    });
    let shown = b.ok(&["show", rev["id"].as_str().unwrap()]);
    assert_eq!(shown["body"], "名单（更正）");
    assert_eq!(b.ok(&["show", &id])["state"], "superseded");
    assert_eq!(b.ok(&["sync"])["rejected"], 0);
}

/// `lianxi listen --json` for the node at `home`, its lines on a channel,
/// once it has had a moment to connect.
fn listen(home: &std::path::Path) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(common::bin("lianxi"))
        .args(["--home", common::s(home), "listen", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(800));
    (child, rx)
}

#[test]
fn listen_prints_arrivals_live_as_json_lines() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let (mut child, rx) = listen(&b.home);
    a.send("gd", "实时通报", "现在到达");
    let line = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("an arrival line");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["title"], "实时通报");
    assert_eq!(v["sender"], "nat");
    let _ = child.kill();
    let _ = child.wait();
}

/// A revision that arrives before its bulletin (another path, a late
/// original) waits for it, and applies when it comes, instead of being
/// refused for good.
#[test]
fn a_revision_that_arrives_before_its_bulletin_waits_for_it() {
    use lianxi_shared::payload::Revision;
    use lianxi_shared::{Bulletin, MessageId, Payload};
    let mut net = Net::new();
    net.start_hub();
    let nat = net.node("nat", "全国中小企业协会", "national", "secretary");
    let gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let node = common::rogue::Rogue::new(&nat.home);
    let now = lianxi_node::now_ms();
    let (oid, rid) = (MessageId::generate(now), MessageId::generate(now + 1));
    let bulletin = |title: &str| Bulletin {
        title: title.into(),
        body: "正文".into(),
        ..Default::default()
    };
    let revision = Payload::Revision(Revision {
        original: oid,
        revision: 1,
        bulletin: bulletin("更正后的通知"),
        note: "更正".into(),
    });
    node.send_sealed(node.seal(&["gd"], &revision, rid, now + 1))
        .unwrap();
    let first = gd.ok(&["sync"]);
    assert_eq!(
        (first["parked"].as_u64(), first["rejected"].as_u64()),
        (Some(1), Some(0))
    );
    assert!(gd.titles().is_empty());
    let original = Payload::Bulletin(bulletin("原通知"));
    node.send_sealed(node.seal(&["gd"], &original, oid, now))
        .unwrap();
    gd.ok(&["sync"]);
    assert_eq!(gd.titles(), vec!["更正后的通知".to_owned()]);
    assert_eq!(gd.ok(&["show", &oid.to_string()])["state"], "superseded");
}

/// A recipient online while far more arrives than its hub-side budget holds
/// (the hub's writer hands deliveries over until the budget is spent, then
/// the session reads the store and catches up): every message arrives, once,
/// and an embargo that ends meanwhile arrives too.
#[test]
fn a_live_recipient_far_behind_its_budget_gets_everything_once() {
    let mut net = Net::new();
    net.hub_config = Some(
        "[limits]\nsend_rate_per_sec = 100000.0\nsend_burst = 100000.0\nout_buffer_bytes = 65536\n"
            .into(),
    );
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let (mut child, rx) = listen(&b.home);
    let (release, at) = release_in(3);
    let held = a.ok(&[
        "send",
        "bulletin",
        "--to",
        "gd",
        "--title",
        "禁发通报",
        "--body",
        "到点才发",
        "--embargo",
        &at,
    ]);
    assert_eq!(held["status"], "sent");
    // 150 bulletins of about 9 KB: some twenty times the budget.
    let node = lianxi_node::node::Node::open(lianxi_node::home::Home::new(&a.home)).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    common::queue_many(&node, &rt, 150, "gd", 9_000);
    assert_eq!(common::flush(&node, &rt).sent.len(), 150);
    sleep_past(release);
    let mut titles = Vec::new();
    while titles.len() < 151 {
        let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(20)) else {
            break;
        };
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        titles.push(v["title"].as_str().unwrap_or_default().to_string());
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut bulk: Vec<&String> = titles.iter().filter(|t| t.starts_with("批量")).collect();
    bulk.sort();
    let mut want: Vec<String> = (0..150).map(|i| format!("批量 {i}")).collect();
    want.sort();
    assert_eq!(bulk, want.iter().collect::<Vec<_>>(), "each once");
    assert!(
        titles.iter().any(|t| t == "禁发通报"),
        "the embargo ended and it came"
    );
    assert_eq!(titles.len(), 151);
}
