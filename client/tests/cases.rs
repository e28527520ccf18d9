//! Rights-defence cases end to end: the `lianxi` binary on real archives, the
//! real hub over QUIC and mutual TLS, real age encryption.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Net, Node, s};
use lianxi_node::home::Home;
use lianxi_shared::case::{CaseChange, CaseMsg, CaseStatus};
use lianxi_shared::{Audience, NodeId, Payload};
use serde_json::Value;

const ENTERPRISE: &str = "深圳市保密甲科技有限公司";
const CONTACT: &str = "联系人乙 13912345678";

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every byte of a node's archive (database and write-ahead log).
fn archive_bytes(n: &Node) -> Vec<u8> {
    let mut all = Vec::new();
    for f in ["archive.db", "archive.db-wal"] {
        all.extend(std::fs::read(n.home.join(f)).unwrap_or_default());
    }
    all
}

fn assert_blind(bytes: &[u8], whose: &str) {
    for marker in [ENTERPRISE, "13912345678", "联系人乙"] {
        assert!(!contains(bytes, marker), "{marker} found in {whose}");
    }
}

struct Desks {
    net: Net,
    bj: Node,
    sh: Node,
    gd: Node,
    zj: Node,
}

fn desks() -> Desks {
    let mut net = Net::new();
    net.start_hub();
    let bj = net.node("bj", "北京市维权服务中心", "provincial", "legal-aid");
    let sh = net.node("sh", "上海市维权服务中心", "provincial", "legal-aid");
    let gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let zj = net.node("zj", "浙江省中小企业协会", "provincial", "secretary");
    Desks {
        net,
        bj,
        sh,
        gd,
        zj,
    }
}

fn intake(n: &Node, extra: &[&str]) -> Value {
    let mut args = vec![
        "case",
        "intake",
        "--title",
        "出口企业遭遇反倾销调查",
        "--category",
        "贸易救济/反倾销",
        "--jurisdiction",
        "美国",
        "--enterprise",
        ENTERPRISE,
        "--contact",
        CONTACT,
        "--summary",
        "企业出口的光伏组件被立案调查，请求法律与行会支持。",
        "--support",
        "legal,association",
        "--urgency",
        "紧急",
    ];
    args.extend_from_slice(extra);
    n.ok(&args)
}

fn show(n: &Node, case: &str) -> Value {
    n.ok(&["case", "show", case])
}

#[test]
fn a_non_handler_recipient_never_holds_the_confidential_fields() {
    let d = desks();
    let v = intake(&d.bj, &["--share", "gd"]);
    let number = v["number"].as_str().unwrap().to_owned();
    assert!(
        number.len() == 12 && number.contains("-BJ-") && number.ends_with("0001"),
        "{number}"
    );
    assert_eq!(v["recipients"], serde_json::json!(["gd"]));
    // Numbers are unique per organisation and count up.
    let second = intake(&d.bj, &[]);
    assert!(second["number"].as_str().unwrap().ends_with("-BJ-0002"));
    assert_eq!(second["status"], "local", "nobody else receives it yet");

    // The hub, before and after delivery, never sees the fields (nor the title).
    assert_blind(&d.net.hub_bytes(), "the hub's files (queued)");
    assert!(!contains(&d.net.hub_bytes(), "反倾销调查"));
    assert_eq!(d.gd.ok(&["sync"])["case_messages"], 1);
    assert_blind(&d.net.hub_bytes(), "the hub's files (delivered)");

    let g = show(&d.gd, &number);
    assert_eq!(g["title"], "出口企业遭遇反倾销调查");
    assert_eq!(g["category"], "trade_remedy");
    assert_eq!(g["mine"], false);
    assert!(g["confidential"].is_null(), "{g}");
    assert_blind(&archive_bytes(&d.gd), "gd's archive");
    // The handler reads them.
    let b = show(&d.bj, &number);
    assert_eq!(b["confidential"]["enterprise"], ENTERPRISE);
    assert_eq!(b["confidential"]["contact"], CONTACT);
    // Views: mine for bj, shared with gd.
    assert_eq!(
        d.bj.ok(&["case", "list", "--mine"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        d.bj.ok(&["case", "list", "--shared"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        d.gd.ok(&["case", "list", "--shared"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let found = d.gd.ok(&["case", "list", "--query", "反倾销"]);
    assert_eq!(
        found.as_array().unwrap().len(),
        1,
        "Chinese substring search"
    );
    assert_eq!(
        d.gd.ok(&["case", "list", "--category", "ip"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        d.gd.ok(&["case", "list", "--status", "登记"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Not overdue today; overdue once 0 days of silence count.
    assert_eq!(
        d.bj.ok(&["case", "list", "--overdue", "1"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        d.bj.ok(&["case", "list", "--overdue", "0"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn recusal_blocks_sharing_and_forwarding() {
    let d = desks();
    let v = intake(&d.bj, &["--recuse", "zj"]);
    let number = v["number"].as_str().unwrap();
    let case = v["case"].as_str().unwrap();
    assert_eq!(
        d.bj.fails(&["case", "share", number, "--to", "zj"]),
        "recused"
    );
    assert_eq!(
        d.bj.fails(&["case", "share", number, "--to", "gd,zj"]),
        "recused"
    );
    assert_eq!(d.bj.fails(&["forward", case, "--to", "zj"]), "recused");
    assert_eq!(
        d.bj.fails(&["case", "refer", number, "--to", "zj"]),
        "recused"
    );
    // A group share leaves the recused node out and says so.
    let r = d.bj.ok(&["case", "share", number, "--to", "provincial"]);
    assert_eq!(r["excluded"], serde_json::json!(["zj"]));
    let mut to: Vec<&str> = r["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    to.sort();
    assert_eq!(to, ["gd", "sh"]);
    assert_eq!(d.zj.ok(&["sync"])["case_messages"], 0);
    assert!(d.zj.fails(&["case", "show", number]) == "not_found");

    // Recusing a node the case was shared with takes it out of later steps.
    d.gd.ok(&["sync"]);
    d.bj.ok(&[
        "case",
        "recuse",
        number,
        "--nodes",
        "gd",
        "--reason",
        "与当事企业存在利益关系",
    ]);
    assert_eq!(d.bj.fails(&["forward", number, "--to", "gd"]), "recused");
    d.bj.ok(&["case", "status", number, "accepted"]);
    d.gd.ok(&["sync"]);
    assert_eq!(
        show(&d.gd, number)["status"],
        "reported",
        "gd hears nothing after its recusal"
    );
    d.sh.ok(&["sync"]);
    assert_eq!(show(&d.sh, number)["status"], "accepted");
    assert_eq!(
        show(&d.sh, number)["recused"],
        serde_json::json!(["zj", "gd"])
    );
}

#[test]
fn referral_hands_over_confidential_access_only_on_acceptance() {
    let d = desks();
    let v = intake(&d.bj, &[]);
    let number = v["number"].as_str().unwrap();
    d.bj.ok(&["case", "status", number, "accepted"]);

    // Declined: gd never becomes a handler and the case goes back.
    d.bj.ok(&["case", "refer", number, "--to", "gd", "--note", "请协助"]);
    d.gd.ok(&["sync"]);
    assert_eq!(show(&d.gd, number)["status"], "referred");
    assert!(show(&d.gd, number)["confidential"].is_null());
    d.gd.ok(&["case", "decline", number, "--reason", "不属本地管辖"]);
    d.bj.ok(&["sync"]);
    assert_eq!(show(&d.bj, number)["status"], "accepted");
    assert_eq!(
        d.gd.fails(&["case", "status", number, "in_progress"]),
        "not_handler"
    );

    // Accepted: sh becomes a handler and only then gets the fields.
    d.bj.ok(&[
        "case",
        "refer",
        number,
        "--to",
        "sh",
        "--note",
        "属上海管辖",
    ]);
    d.gd.ok(&["sync"]);
    assert_eq!(d.gd.fails(&["case", "accept", number]), "not_entitled");
    d.sh.ok(&["sync"]);
    let before = show(&d.sh, number);
    assert_eq!(before["status"], "referred");
    assert!(before["confidential"].is_null());
    assert_blind(&archive_bytes(&d.sh), "sh's archive before acceptance");
    d.sh.ok(&["case", "accept", number, "--reason", "同意承办"]);
    let after = show(&d.sh, number);
    assert_eq!(after["mine"], true);
    assert!(after["confidential"].is_null(), "no grant yet");
    d.bj.ok(&["sync"]); // bj sees the acceptance and grants access
    d.sh.ok(&["sync"]);
    let granted = show(&d.sh, number);
    assert_eq!(granted["confidential"]["enterprise"], ENTERPRISE);
    assert_eq!(granted["handlers"], serde_json::json!(["bj", "sh"]));
    // The new handler can move the case; bj sees it.
    d.sh.ok(&[
        "case",
        "status",
        number,
        "in_progress",
        "--note",
        "已联系律师",
    ]);
    d.bj.ok(&["sync"]);
    assert_eq!(show(&d.bj, number)["status"], "in_progress");
    // The hub never held the fields, through the grant either.
    assert_blind(&d.net.hub_bytes(), "the hub's files");
    // gd (declined, still a recipient) still cannot read them.
    d.gd.ok(&["sync"]);
    assert!(show(&d.gd, number)["confidential"].is_null());
    assert_blind(&archive_bytes(&d.gd), "gd's archive");
}

#[test]
fn changes_by_a_non_handler_are_refused_and_forged_ones_ignored() {
    let d = desks();
    let v = intake(&d.bj, &["--share", "gd"]);
    let number = v["number"].as_str().unwrap();
    d.gd.ok(&["sync"]);
    for args in [
        vec!["case", "status", number, "accepted"],
        vec!["case", "note", number, "--text", "越权备注"],
        vec!["case", "share", number, "--to", "sh"],
        vec!["case", "recuse", number, "--nodes", "sh"],
    ] {
        assert_eq!(d.gd.fails(&args), "not_handler", "{args:?}");
    }
    assert_eq!(
        d.gd.ok(&["outbox"])["outbox"]
            .as_array()
            .map_or(0, Vec::len),
        0
    );
    assert_eq!(show(&d.gd, number)["timeline"].as_array().unwrap().len(), 1);
    // A bad step by a handler is refused too.
    assert_eq!(
        d.bj.fails(&["case", "status", number, "resolved"]),
        "bad_transition"
    );

    // A modified client that sends the change anyway: every node ignores it.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let node = lianxi_node::node::Node::open(Home::new(&d.gd.home)).unwrap();
    let case: lianxi_shared::MessageId = v["case"].as_str().unwrap().parse().unwrap();
    rt.block_on(async {
        let msg = CaseMsg {
            case,
            change: CaseChange::Status {
                status: CaseStatus::Closed,
                note: "伪造".into(),
            },
        };
        node.queue(
            Audience::Nodes(vec![NodeId::new("bj").unwrap()]),
            Payload::Case(msg),
            None,
        )
        .await
        .unwrap();
        let (s, _ev) = node.connect(Duration::from_secs(5)).await.unwrap();
        node.refresh_directory(&s).await.unwrap();
        assert_eq!(node.flush_outbox(&s).await.unwrap().sent.len(), 1);
        s.close().await;
    });
    d.bj.ok(&["sync"]);
    let b = show(&d.bj, number);
    assert_eq!(b["status"], "reported");
    let forged = &b["timeline"][1];
    assert_eq!(forged["sender"], "gd");
    assert_eq!(forged["ignored"]["code"], "not_handler");
}

#[test]
fn a_typical_case_carries_no_confidential_field() {
    let d = desks();
    let v = intake(&d.bj, &["--recuse", "zj"]);
    let number = v["number"].as_str().unwrap();
    // Not before the case is finished.
    assert_eq!(d.bj.fails(&["case", "typical", number]), "bad_transition");
    d.bj.ok(&["case", "status", number, "accepted"]);
    d.bj.ok(&[
        "case",
        "note",
        number,
        "--text",
        &format!("已与{ENTERPRISE}负责人（{CONTACT}）沟通应诉方案"),
    ]);
    // Once the case is shared beyond its handlers, a note naming the
    // enterprise, even by a short name, is stopped before it leaves.
    d.bj.ok(&["case", "share", number, "--to", "gd"]);
    let named = [
        "case",
        "note",
        number,
        "--text",
        "市保密甲科技补交了出口单据",
    ];
    assert_eq!(d.bj.fails(&named), "confidential_leak");
    let sent = d.bj.ok(&[&named[..], &["--redact"]].concat());
    assert_eq!(sent["status"], "sent");
    d.gd.ok(&["sync"]);
    let timeline = show(&d.gd, number).to_string();
    assert!(timeline.contains("【已隐去】补交了出口单据"), "{timeline}");
    assert_blind(timeline.as_bytes(), "gd's view of the note");
    d.bj.ok(&[
        "case",
        "status",
        number,
        "resolved",
        "--note",
        "企业获得零税率裁决",
    ]);

    let draft = d.bj.ok(&["case", "typical", number]);
    let text = format!("{}\n{}", draft["title"], draft["body"]);
    assert_blind(text.as_bytes(), "the draft");
    assert!(text.contains("【已隐去】"), "{text}");
    assert!(text.contains("零税率裁决"));
    assert_eq!(draft["leaks"], 0);

    // The user edits it and puts a confidential field back: refused.
    let file = d.net.dir.path().join("typical.md");
    d.bj.ok(&["case", "typical", number, "--out", s(&file)]);
    let edited = std::fs::read_to_string(&file).unwrap() + "\n感谢13912345678的配合。\n";
    std::fs::write(&file, edited).unwrap();
    let checked = d.bj.ok(&["case", "typical", number, "--from", s(&file)]);
    assert_eq!(checked["leaks"], 1);
    assert_eq!(
        d.bj.fails(&["case", "typical", number, "--from", s(&file), "--publish"]),
        "confidential_leak"
    );
    // Published as generated: a bulletin to everyone but the recused node,
    // without the fields.
    let p = d.bj.ok(&["case", "typical", number, "--publish"]);
    assert_eq!(p["status"], "sent");
    assert_eq!(d.zj.ok(&["sync"])["received"], 0, "zj is recused");
    d.gd.ok(&["sync"]);
    let got = d.gd.ok(&["show", p["id"].as_str().unwrap()]);
    assert!(got["title"].as_str().unwrap().starts_with("典型案例"));
    assert_blind(got.to_string().as_bytes(), "the published bulletin");
    assert_blind(&archive_bytes(&d.gd), "gd's archive");
    assert_blind(&d.net.hub_bytes(), "the hub's files");
}

#[test]
fn timelines_converge_after_offline_edits() {
    let d = desks();
    let v = intake(&d.bj, &["--co-handler", "sh", "--share", "gd"]);
    let number = v["number"].as_str().unwrap().to_owned();
    d.sh.ok(&["sync"]);
    d.gd.ok(&["sync"]);
    // Both handlers work offline (the hub is down), each on their own view.
    let mut net = d.net;
    net.kill_hub();
    d.bj.ok(&["case", "status", &number, "accepted"]);
    d.sh.ok(&["case", "note", &number, "--text", "上海：已调取证据"]);
    d.bj.ok(&["case", "note", &number, "--text", "北京：已联系律师"]);
    d.sh.ok(&["case", "status", &number, "accepted"]); // the same step, concurrently
    d.bj.ok(&["case", "status", &number, "in_progress"]);
    d.sh.ok(&[
        "case",
        "recuse",
        &number,
        "--nodes",
        "zj",
        "--reason",
        "利益相关",
    ]);
    net.start_hub();
    for _ in 0..2 {
        for n in [&d.bj, &d.sh, &d.gd] {
            n.ok(&["sync"]);
        }
    }
    let strip = |v: Value| -> Value {
        serde_json::json!({
            "status": v["status"], "handlers": v["handlers"], "recused": v["recused"],
            "timeline": v["timeline"].as_array().unwrap().iter()
                .map(|e| serde_json::json!([e["id"], e["kind"], e["ignored"]["code"]]))
                .collect::<Vec<_>>(),
        })
    };
    let b = strip(show(&d.bj, &number));
    assert_eq!(b, strip(show(&d.sh, &number)));
    assert_eq!(b, strip(show(&d.gd, &number)));
    assert_eq!(b["status"], "in_progress");
    assert_eq!(b["timeline"].as_array().unwrap().len(), 7);
    // The second 'accepted' met an accepted case: ignored on every node alike.
    let ignored: Vec<&Value> = b["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e[2].is_null())
        .collect();
    assert_eq!(ignored.len(), 1, "{b}");
}

#[test]
fn a_case_file_exports_as_markdown_and_json_with_its_documents() {
    let d = desks();
    let v = intake(&d.bj, &["--share", "gd"]);
    let number = v["number"].as_str().unwrap();
    let doc = d.net.dir.path().join("起诉状.pdf");
    std::fs::write(&doc, b"%PDF-1.4 complaint").unwrap();
    d.bj.ok(&[
        "case",
        "note",
        number,
        "--text",
        "提交起诉状",
        "--attach",
        s(&doc),
    ]);
    let out = d.net.dir.path().join("export");
    std::fs::create_dir_all(&out).unwrap();
    let md = out.join("case.md");
    let r =
        d.bj.ok(&["case", "export", number, "--format", "md", "--out", s(&md)]);
    assert_eq!(r["documents"].as_array().unwrap().len(), 1);
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains(number) && text.contains("备注：提交起诉状"));
    assert!(
        text.contains(ENTERPRISE),
        "the handler's file holds the fields"
    );
    assert_eq!(
        std::fs::read(out.join(format!("{number}-documents/起诉状.pdf"))).unwrap(),
        b"%PDF-1.4 complaint"
    );
    let js = out.join("case.json");
    d.bj.ok(&[
        "case",
        "export",
        number,
        "--format",
        "json",
        "--out",
        s(&js),
    ]);
    let j: Value = serde_json::from_slice(&std::fs::read(&js).unwrap()).unwrap();
    assert_eq!(j["timeline"][1]["documents"][0]["name"], "起诉状.pdf");
    // A non-handler's export has everything but the fields.
    d.gd.ok(&["sync"]);
    let gmd = out.join("gd.md");
    d.gd.ok(&["case", "export", number, "--out", s(&gmd)]);
    let g = std::fs::read_to_string(&gmd).unwrap();
    assert!(g.contains("提交起诉状"));
    assert_blind(g.as_bytes(), "gd's export");
}
