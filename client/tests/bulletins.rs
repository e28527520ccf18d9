//! Bulletins with receipts against the real hub: the three receipt states and
//! the sender's matrix (with a recipient that was offline), reminders,
//! revisions and withdrawal (and a forged revision refused), forwarding with a
//! verifiable original, attachments and their size limit, filters and export.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Net, s};
use lianxi_node::home::Home;
use lianxi_node::node::Node;
use lianxi_shared::payload::Revision;
use lianxi_shared::{Audience, Bulletin, Payload};

fn state(matrix: &serde_json::Value, node: &str) -> String {
    let r = matrix["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["node_id"] == node)
        .unwrap();
    r["state"].as_str().unwrap().to_owned()
}

#[test]
fn receipts_flow_through_three_states_and_the_matrix_is_right() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let c = net.node("zj", "浙江省中小企业协会", "provincial", "secretary");
    let sent = a.ok(&[
        "send",
        "bulletin",
        "--to",
        "provincial",
        "--title",
        "关于报送年度总结的通知",
        "--body",
        "请于月底前报送。",
        "--category",
        "notice",
        "--doc-number",
        "联席发〔2026〕7号",
        "--ack",
        "--ack-by",
        "2020-01-01",
    ]);
    let id = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(sent["recipients"], 2);
    let m = a.ok(&["receipts", &id]);
    assert_eq!(
        (state(&m, "gd"), state(&m, "zj")),
        ("pending".into(), "pending".into())
    );
    assert_eq!(m["overdue"], 2, "the deadline has passed");

    // B receives: a delivered receipt goes back automatically.
    assert_eq!(b.ok(&["sync"])["received"], 1);
    a.ok(&["sync"]);
    assert_eq!(state(&a.ok(&["receipts", &id]), "gd"), "delivered");
    // B opens it: read.
    let shown = b.ok(&["show", &id]);
    assert_eq!(shown["doc_number"], "联席发〔2026〕7号");
    assert_eq!(shown["ack_required"], true);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(state(&a.ok(&["receipts", &id]), "gd"), "read");
    // B confirms with a reply: acknowledged. A second confirmation changes nothing.
    assert_eq!(
        b.ok(&["list", "--unacked"])["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    b.ok(&["ack", &id, "--reply", "已收到，将按时报送"]);
    assert_eq!(b.ok(&["ack", &id])["status"], "already_acknowledged");
    assert_eq!(
        b.ok(&["list", "--unacked"])["messages"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    a.ok(&["sync"]);
    let m = a.ok(&["receipts", &id]);
    let gd = m["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["node_id"] == "gd")
        .unwrap()
        .clone();
    assert_eq!(gd["state"], "acknowledged");
    assert_eq!(gd["reply"], "已收到，将按时报送");
    assert_eq!(gd["overdue"], false);
    assert!(
        gd["delivered_at"].is_string()
            && gd["read_at"].is_string()
            && gd["acknowledged_at"].is_string()
    );
    assert_eq!(
        (m["acknowledged"].as_u64(), m["overdue"].as_u64()),
        (Some(1), Some(1))
    );

    // C was offline all along: remind only it.
    let r = a.ok(&["remind", &id, "--note", "请尽快回执"]);
    assert_eq!(r["reminded"], 1);
    assert_eq!(r["recipients"], 1);
    let cs = c.ok(&["sync"]);
    assert_eq!(cs["received"], 1, "{cs}");
    let shown = c.ok(&["show", &id]);
    assert!(shown["reminded_at"].is_string(), "{shown}");
    c.ok(&["ack", &id]);
    a.ok(&["sync"]);
    let m = a.ok(&["receipts", &id]);
    assert_eq!(
        (m["acknowledged"].as_u64(), m["overdue"].as_u64()),
        (Some(2), Some(0))
    );
    assert!(
        m["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["node_id"] == "zj")
            .unwrap()["reminded_at"]
            .is_string()
    );
    assert_eq!(
        a.fails(&["remind", &id]),
        "empty_audience",
        "everyone has acknowledged"
    );
    // Receipts are for the sender's own bulletins only.
    assert_eq!(b.fails(&["receipts", &id]), "unknown_reference");
}

#[test]
fn revisions_and_withdrawal_by_the_sender_and_a_forgery_refused() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let c = net.node("zj", "浙江省中小企业协会", "provincial", "secretary");
    let id = a.send("all", "关于会议时间的通知", "会议定于周三召开。")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    b.ok(&["sync"]);
    c.ok(&["sync"]);
    // B may not revise A's bulletin: refused locally…
    assert_eq!(b.fails(&["revise", &id, "--title", "篡改"]), "not_entitled");
    // …and a forged revision sent by B anyway is refused by C's archive, which stays unchanged.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let node = Node::open(Home::new(&b.home)).unwrap();
        let forged = Payload::Revision(Revision {
            original: id.parse().unwrap(),
            revision: 1,
            bulletin: Bulletin {
                title: "会议取消（伪造）".into(),
                body: "x".into(),
                ..Default::default()
            },
            note: String::new(),
        });
        node.queue(Audience::Nodes(vec!["zj".parse().unwrap()]), forged, None)
            .await
            .unwrap();
        let (s, _ev) = node.connect(Duration::from_secs(5)).await.unwrap();
        assert_eq!(
            node.flush_outbox(&s).await.unwrap().sent.len(),
            1,
            "the hub relays it: it cannot read it"
        );
        s.close().await;
    });
    let r = c.ok(&["sync"]);
    assert_eq!(r["rejected"], 1, "{r}");
    assert_eq!(c.titles(), ["关于会议时间的通知"]);

    // A genuine revision supersedes; the thread keeps the history.
    let rev = a.ok(&[
        "revise",
        &id,
        "--body",
        "会议改为周四召开。",
        "--note",
        "日期调整",
    ]);
    assert_eq!(rev["status"], "sent");
    c.ok(&["sync"]);
    assert_eq!(
        c.titles(),
        ["关于会议时间的通知"],
        "only the current version is listed"
    );
    let rid = rev["id"].as_str().unwrap();
    let shown = c.ok(&["show", rid]);
    assert_eq!(shown["body"], "会议改为周四召开。");
    assert_eq!(shown["revision"], 1);
    let hist = shown["history"].as_array().unwrap();
    assert_eq!(hist.len(), 2);
    assert_eq!(hist[0]["state"], "superseded");
    assert_eq!(hist[1]["note"], "日期调整");
    // Withdrawal with a reason.
    a.ok(&["withdraw", &id, "--reason", "会议延期，另行通知"]);
    c.ok(&["sync"]);
    let shown = c.ok(&["show", rid]);
    assert_eq!(shown["state"], "withdrawn");
    assert_eq!(shown["note"], "会议延期，另行通知");
    assert_eq!(b.fails(&["withdraw", &id, "--reason", "x"]), "not_entitled");
    b.ok(&["sync"]);
    assert_eq!(b.ok(&["show", rid])["state"], "withdrawn");
}

#[test]
fn forwarding_keeps_a_verifiable_original() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let c = net.node("sz", "深圳市中小企业服务协会", "prefecture", "member");
    let id = a.send("gd", "只发广东的政策解读", "原文内容")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    b.ok(&["sync"]);
    assert_eq!(c.ok(&["sync"])["received"], 0);
    let f = b.ok(&["forward", &id, "--to", "sz", "--note", "请深圳会员参考"]);
    assert_eq!(f["status"], "sent");
    assert_eq!(c.ok(&["sync"])["received"], 1);
    let shown = c.ok(&["show", &id]);
    assert_eq!(shown["sender"], "nat", "the original sender, verified");
    assert_eq!(shown["via"], "gd");
    assert_eq!(shown["note"], "请深圳会员参考");
    // The original envelope checks with standard tools.
    let out = net.dir.path().join("fwd");
    c.ok(&["export", "envelope", &id, "--out", s(&out)]);
    assert!(
        out.join("message.key").exists()
            && out.join("body.age").exists()
            && out.join("sender.crt").exists()
    );
    if std::process::Command::new("age")
        .arg("--version")
        .output()
        .is_ok()
    {
        let p = std::process::Command::new("age")
            .args([
                "-d",
                "-i",
                s(&out.join("message.key")),
                s(&out.join("body.age")),
            ])
            .output()
            .unwrap();
        assert!(p.status.success());
        assert!(String::from_utf8_lossy(&p.stdout).contains("只发广东的政策解读"));
    }
}

#[test]
fn attachments_round_trip_byte_for_byte_and_the_limit_is_enforced() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let dir = net.dir.path();
    let big: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("评估报告.bin"), &big).unwrap();
    std::fs::write(dir.join("notes.txt"), "附件二").unwrap();
    let id = a.ok(&[
        "send",
        "bulletin",
        "--to",
        "all",
        "--title",
        "附件测试",
        "--body",
        "见附件",
        "--attach",
        s(&dir.join("评估报告.bin")),
        "--attach",
        s(&dir.join("notes.txt")),
        "--tag",
        "评估",
        "--category",
        "policy",
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    b.ok(&["sync"]);
    let shown = b.ok(&["show", &id]);
    let atts = shown["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2);
    assert_eq!(atts[0]["name"], "评估报告.bin");
    assert_eq!(atts[0]["size"], 300_000);
    let saved = dir.join("saved");
    std::fs::create_dir_all(&saved).unwrap();
    b.ok(&["attachment", &id, "1", "--out", s(&saved)]);
    assert!(
        std::fs::read(saved.join("评估报告.bin")).unwrap() == big,
        "byte for byte"
    );
    b.ok(&[
        "attachment",
        &id,
        "notes.txt",
        "--out",
        s(&saved.join("n.txt")),
    ]);
    assert_eq!(
        std::fs::read_to_string(saved.join("n.txt")).unwrap(),
        "附件二"
    );
    // Filters and export.
    assert_eq!(
        b.ok(&["list", "--category", "policy"])["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        b.ok(&["list", "--category", "notice"])["messages"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        b.ok(&["list", "--tag", "评估"])["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        b.ok(&["list", "--from", "nat", "--since", "2020-01-01"])["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        b.ok(&["list", "--until", "2020-01-01"])["messages"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    b.ok(&[
        "export",
        "bulletin",
        &id,
        "--format",
        "md",
        "--out",
        s(&dir.join("x.md")),
    ]);
    let md = std::fs::read_to_string(dir.join("x.md")).unwrap();
    assert!(
        md.starts_with("# 附件测试")
            && md.contains("政策法规")
            && md.contains("评估报告.bin (300000 bytes)"),
        "{md}"
    );
    b.ok(&[
        "export",
        "bulletin",
        &id,
        "--format",
        "json",
        "--out",
        s(&dir.join("x.json")),
    ]);
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("x.json")).unwrap()).unwrap();
    assert_eq!(j["bulletins"][0]["title"], "附件测试");

    // Over the limit: a clear error, nothing queued.
    let limit_home = a.home.join("node.toml");
    let cfg = std::fs::read_to_string(&limit_home).unwrap();
    std::fs::write(&limit_home, format!("max_attachment = 100000\n{cfg}")).unwrap();
    let (ok, v) = a.run(&[
        "send",
        "bulletin",
        "--to",
        "all",
        "--title",
        "太大",
        "--body",
        "x",
        "--attach",
        s(&dir.join("评估报告.bin")),
    ]);
    assert!(!ok);
    assert_eq!(v["error"]["code"], "too_large");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("100000"),
        "{v}"
    );
    assert_eq!(
        a.ok(&["outbox"])["outbox"].as_array().unwrap().len(),
        1,
        "only the first bulletin"
    );
}
