//! Drafts over the real archive and hub: a draft saved as the UI saves it
//! (through the node library, into the node's SQLite archive) is listed,
//! shown and deleted by `lianxi drafts`, and `lianxi send bulletin --draft`
//! sends exactly its text and attachment bytes, then the draft is gone. A
//! draft never reaches the hub.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Net, s};
use lianxi::drafts::{DraftInput, bulletin_fields, new_draft_id};
use lianxi::home::Home;
use lianxi::node::Node;
use lianxi_shared::Audience;

const BODY: &str = "各成员协会：\n\n为做好年度工作总结，请于十二月二十日前报送本会年度工作总结（含会员发展、维权服务、政策宣传三部分），并附统计表。🎉\n\n联席会议秘书处";

fn save(home: &std::path::Path, title: &str, file: &std::path::Path) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let node = Node::open(Home::new(home)).unwrap();
        let id = new_draft_id(lianxi::now_ms(), 7);
        let size = std::fs::metadata(file).unwrap().len();
        let input = DraftInput {
            id: id.clone(),
            kind: None,
            context: String::new(),
            title: title.into(),
            body: BODY.into(),
            fields: bulletin_fields(&"gd".parse::<Audience>().unwrap(), true),
            attachments: vec![(file.to_owned(), size)],
        };
        node.save_draft(input.clone(), 1 << 20).await.unwrap();
        // Saved again as typing goes on: the same draft, the bytes kept.
        node.save_draft(input, 1 << 20).await.unwrap();
        id
    })
}

#[test]
fn a_draft_is_listed_sent_exactly_once_and_then_gone() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let file = net.dir.path().join("统计表.csv");
    std::fs::write(&file, "会员,数量\n企业,128\n").unwrap();
    let id = save(&a.home, "关于报送年度工作总结的通知", &file);
    // The file may go away: the draft holds its bytes.
    std::fs::remove_file(&file).unwrap();

    let list = a.ok(&["drafts"]);
    let d = &list["drafts"][0];
    assert_eq!(list["drafts"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(d["id"], id.as_str());
    assert_eq!(d["kind"], "bulletin");
    assert_eq!(d["body"], BODY);
    assert_eq!(d["attachments"][0]["name"], "统计表.csv");
    let text = a.text(&["drafts"]);
    assert!(
        text.contains("关于报送年度工作总结的通知") && text.contains("通报"),
        "{text}"
    );
    let shown = a.text(&["--lang", "en", "drafts", "show", &id[..13]]);
    assert!(
        shown.contains("attachment: 1 统计表.csv") && shown.contains(BODY),
        "{shown}"
    );

    // Nothing of it reached the hub.
    let hub = net.hub_bytes();
    assert!(
        !hub.windows(BODY.len().min(30))
            .any(|w| w == &BODY.as_bytes()[..30]),
        "draft text on the hub"
    );

    let sent = a.ok(&[
        "send",
        "bulletin",
        "--draft",
        &id[..13],
        "--doc-number",
        "联席发〔2026〕9号",
    ]);
    assert_eq!(sent["status"], "sent", "{sent}");
    assert_eq!(a.ok(&["drafts"])["drafts"].as_array().unwrap().len(), 0);
    assert_eq!(a.fails(&["send", "bulletin", "--draft", &id]), "not_found");

    b.ok(&["sync"]);
    let got = b.ok(&["show", sent["id"].as_str().unwrap()]);
    assert_eq!(got["title"], "关于报送年度工作总结的通知");
    assert_eq!(got["body"], BODY);
    assert_eq!(got["doc_number"], "联席发〔2026〕9号");
    assert_eq!(got["ack_required"], true, "{got}");
    let out = net.dir.path().join("收文");
    b.ok(&[
        "attachment",
        sent["id"].as_str().unwrap(),
        "1",
        "--out",
        s(&out),
    ]);
    assert_eq!(
        std::fs::read_to_string(out.join("统计表.csv")).unwrap(),
        "会员,数量\n企业,128\n"
    );
    assert_eq!(b.titles().len(), 1, "sent once");

    // Delete: gone, and a second delete says so.
    let file = net.dir.path().join("x.txt");
    std::fs::write(&file, "x").unwrap();
    let id = save(&a.home, "", &file);
    a.ok(&["drafts", "delete", &id]);
    assert_eq!(a.fails(&["drafts", "delete", &id]), "not_found");
    assert_eq!(a.ok(&["drafts"])["drafts"].as_array().unwrap().len(), 0);
}
