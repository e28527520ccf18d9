//! "A year in use": what a secretary reads after the demo, over the real hub.
//! Plain text says what JSON says (withdrawn, revision, document number,
//! category, receipt, via, attachments); every time a person reads or types is
//! in the node's zone; a date typed as a deadline means the end of that day;
//! exports carry readable times; `--out DIR` makes a folder.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Net, s};

/// A hub with the national secretariat (nat) and a provincial association (gd).
fn nat_and_gd() -> (Net, common::Node, common::Node) {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    (net, a, b)
}

#[test]
fn plain_text_and_times_say_what_json_says() {
    let (net, a, b) = nat_and_gd();
    let dir = net.dir.path().to_owned();
    let file = dir.join("模板.txt");
    std::fs::write(&file, "附件").unwrap();
    let sent = a.ok(&[
        "send",
        "bulletin",
        "--to",
        "gd",
        "--title",
        "关于报送年度总结的通知",
        "--body",
        "请于月底前报送。",
        "--category",
        "notice",
        "--doc-number",
        "联席发〔2026〕7号",
        "--attach",
        s(&file),
        "--ack-by",
        "2099-12-31",
    ]);
    let id = sent["id"].as_str().unwrap().to_owned();
    b.ok(&["sync"]);

    // The deadline typed as a date is the end of that day, in the node's zone,
    // and JSON carries RFC 3339 with that zone's offset.
    let shown = b.ok(&["show", &id]);
    assert_eq!(shown["ack_by"], "2099-12-31T23:59:59.999+08:00");
    assert!(
        shown["created_at"].as_str().unwrap().ends_with("+08:00"),
        "{}",
        shown["created_at"]
    );

    // Receipts read in the node's language, Chinese by default.
    let zh = a.text(&["receipts", &id]);
    assert!(
        zh.contains("1 个收件单位：") && zh.contains("已读，"),
        "{zh}"
    );
    let en = a.text(&["receipts", &id, "--lang", "en"]);
    assert!(
        en.contains("1 recipients: ") && en.contains(" read, ") && !en.contains("已"),
        "{en}"
    );

    // Plain text carries what a person must not miss.
    let line = b.text(&["list"]);
    for want in ["通知", "[需回执]", "[附件 1]", "关于报送年度总结的通知"] {
        assert!(line.contains(want), "{want:?} missing from {line}");
    }
    let text = b.text(&["show", &id]);
    for want in [
        "文号: 联席发〔2026〕7号",
        "类别: 通知",
        "回执截止: 2099-12-31 23:59 (UTC+8)",
        "附件: 1 模板.txt",
        "[需回执]",
    ] {
        assert!(text.contains(want), "{want:?} missing from {text}");
    }
    // In English when asked.
    let en = b.text(&["--lang", "en", "show", &id]);
    assert!(
        en.contains("doc no.: 联席发〔2026〕7号") && en.contains("[ack required]"),
        "{en}"
    );

    // Withdrawn: said in plain text, in the list and in the export.
    a.ok(&["withdraw", &id, "--reason", "发错对象"]);
    b.ok(&["sync"]);
    let line = b.text(&["list"]);
    assert!(line.contains("【已撤回】"), "{line}");
    let text = b.text(&["show", &id]);
    assert!(
        text.contains("【已撤回】") && text.contains("撤回理由: 发错对象"),
        "{text}"
    );
    let md = dir.join("x.md");
    b.ok(&["export", "bulletin", &id, "--format", "md", "--out", s(&md)]);
    let md = std::fs::read_to_string(md).unwrap();
    assert!(md.contains("(UTC+8)") && md.contains("已撤回"), "{md}");
    assert!(
        !md.lines().any(|l| l.starts_with("| 时间 Time | 1")),
        "no raw millisecond timestamp: {md}"
    );

    // `--out` naming a folder that does not exist yet creates the folder.
    let folder = dir.join("收文");
    let r = b.ok(&["attachment", &id, "1", "--out", s(&folder)]);
    assert_eq!(r["path"], s(&folder.join("模板.txt")));
    assert_eq!(
        std::fs::read_to_string(folder.join("模板.txt")).unwrap(),
        "附件"
    );
}

/// Forwarding passes on the thread as it stands and keeps it true: a revision's
/// id forwards (the receiver gets the thread, current at that revision), the
/// copy asks the third party for no receipt, the author's withdrawal follows
/// the copy, and a withdrawn notice is not forwarded again.
#[test]
fn forwarded_copies_follow_their_thread() {
    let (net, a, b) = nat_and_gd();
    let c = net.node("zj", "浙江省中小企业协会", "provincial", "secretary");
    let sent = a.ok(&[
        "send",
        "bulletin",
        "--to",
        "gd",
        "--title",
        "减税政策解读",
        "--body",
        "第一版",
        "--ack",
    ]);
    let original = sent["id"].as_str().unwrap().to_owned();
    let rev = a.ok(&[
        "revise",
        &original,
        "--body",
        "第二版",
        "--note",
        "更正税率",
    ]);
    let revision = rev["id"].as_str().unwrap().to_owned();
    // The author hears that receipts start again, and the original's
    // receipts say which version is current.
    assert_eq!(
        a.ok(&["receipts", &original])["superseded_by"],
        revision.as_str()
    );
    b.ok(&["sync"]);
    let listed = b.ok(&["list"]);
    assert_eq!(
        listed["messages"][0]["id"],
        revision.as_str(),
        "the list shows the head"
    );

    // 1. Forwarding the revision's id works: the third party holds the thread.
    b.ok(&["forward", &revision, "--to", "zj", "--note", "供参考"]);
    let got = c.ok(&["sync"]);
    assert!(
        got["rejected"].as_array().is_none_or(Vec::is_empty),
        "{got}"
    );
    let shown = c.ok(&["show", &revision]);
    assert_eq!(shown["body"], "第二版");
    assert_eq!(shown["via"], "gd");
    assert_eq!(shown["state"], "current");
    // 3. The copy asks zj for nothing; acknowledging it says why.
    assert_eq!(shown["ack_required"], false);
    assert_eq!(c.fails(&["ack", &revision]), "not_entitled");
    assert!(
        c.ok(&["list", "--unacked"])["messages"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // 2. The author withdraws: the withdrawal reaches the forwarded copy.
    a.ok(&["withdraw", &original, "--reason", "政策调整"]);
    b.ok(&["sync"]);
    b.ok(&["sync"]);
    c.ok(&["sync"]);
    assert_eq!(c.ok(&["show", &revision])["state"], "withdrawn");
    // A withdrawn notice is not forwarded again.
    assert_eq!(b.fails(&["forward", &original, "--to", "zj"]), "withdrawn");
}

/// A node moves to a new machine: one encrypted backup file, restored into a
/// new home, holds the archive and the identity, and catches up from the hub.
#[test]
fn a_backup_brings_the_node_back_elsewhere() {
    let (net, a, b) = nat_and_gd();
    let dir = net.dir.path().to_owned();
    a.ok(&[
        "send",
        "bulletin",
        "--to",
        "gd",
        "--title",
        "备份前的通知",
        "--body",
        "一",
    ]);
    b.ok(&["sync"]);
    let pass = dir.join("backup.pass");
    std::fs::write(&pass, "长口令 correct horse\n").unwrap();
    let file = dir.join("gd.backup");
    let r = b.ok(&[
        "backup",
        "--out",
        s(&file),
        "--backup-passphrase-file",
        s(&pass),
    ]);
    assert_eq!(r["summary"]["node_id"], "gd");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let sealed = std::fs::read(&file).unwrap();
    assert!(
        !sealed
            .windows("备份前".len())
            .any(|w| w == "备份前".as_bytes()),
        "the backup is encrypted"
    );

    // A new machine: a new home. A wrong passphrase opens nothing.
    let moved = common::Node {
        home: dir.join("gd-moved"),
    };
    let wrong = dir.join("wrong.pass");
    std::fs::write(&wrong, "别的口令\n").unwrap();
    assert_eq!(
        moved.fails(&["restore", s(&file), "--backup-passphrase-file", s(&wrong)]),
        "bad_passphrase"
    );
    moved.ok(&["restore", s(&file), "--backup-passphrase-file", s(&pass)]);
    // Never over an existing node.
    assert_eq!(
        b.fails(&["restore", s(&file), "--backup-passphrase-file", s(&pass)]),
        "already_initialized"
    );
    assert_eq!(moved.titles(), vec!["备份前的通知".to_owned()]);
    // The old machine is gone; what is sent now reaches the restored node.
    drop(b);
    a.ok(&[
        "send",
        "bulletin",
        "--to",
        "gd",
        "--title",
        "备份后的通知",
        "--body",
        "二",
    ]);
    moved.ok(&["sync"]);
    let mut got = moved.titles();
    got.sort();
    assert_eq!(
        got,
        vec!["备份前的通知".to_owned(), "备份后的通知".to_owned()]
    );
}

/// `lianxi renew` and `lianxi-ca sign --renew` on the CA in `net`: returns
/// what `renew --cert` printed.
fn renew(
    net: &Net,
    node: &common::Node,
    id: &str,
    new_keys: bool,
    days: &str,
) -> serde_json::Value {
    let mut args = vec!["renew"];
    if new_keys {
        args.push("--new-keys");
    }
    let req = node.ok(&args);
    assert_eq!(req["new_age_key"], new_keys);
    let crt = net.dir.path().join(format!("{id}-renewed.crt"));
    let signed = common::ca_ok(&[
        "sign",
        "--dir",
        s(&net.ca_dir()),
        "--request",
        req["request"].as_str().unwrap(),
        "--out",
        s(&crt),
        "--renew",
        "--days",
        days,
    ]);
    assert_eq!(
        signed["replaced"],
        serde_json::json!([]),
        "a renewal revokes nothing"
    );
    node.ok(&["renew", "--cert", s(&crt)])
}

#[test]
fn certificates_are_renewed_and_a_new_age_key_keeps_the_old_ones() {
    let (net, nat, gd) = nat_and_gd();
    let sz = net.node("sz", "深圳市中小企业服务协会", "prefecture", "member");
    // A node whose certificate ends in 20 days is warned, and so is the CA.
    let old = net.node_signed(
        "hz",
        "杭州市中小企业协会",
        "prefecture",
        "member",
        &["--days", "20"],
    );
    let who = old.ok(&["whoami"]);
    assert_eq!(who["cert_days_left"], 20, "{who}");
    assert!(
        old.text(&["whoami", "--lang", "en"])
            .contains("expires in 20 day(s)")
    );
    assert!(old.text(&["whoami"]).contains("20 天后到期"));
    let list = common::ca_ok(&["list", "--dir", s(&net.ca_dir())]);
    let soon: Vec<&str> = list["expiring"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(soon, ["hz"], "{list}");
    // Plain renewal: same keys, a later end; the live certificate is not revoked.
    let done = renew(&net, &old, "hz", false, "365");
    assert_eq!(done["age_key_rotated"], false);
    assert_eq!(
        old.ok(&["whoami"])["cert_days_left"],
        serde_json::Value::Null
    );
    let list = common::ca_ok(&["list", "--dir", s(&net.ca_dir())]);
    assert_eq!(list["expiring"], serde_json::json!([]), "{list}");
    old.ok(&["sync"]);

    // Before nat rotates its age key: a bulletin it keeps, and one in flight.
    gd.send("nat", "轮换前的通知", "旧密钥加密。");
    nat.ok(&["sync"]);
    let before = nat.ok(&["whoami"])["age_recipient"]
        .as_str()
        .unwrap()
        .to_owned();
    let asked = nat.ok(&["renew", "--new-keys"]);
    // Asking again reuses the pending key: a request already with the CA stays good.
    assert_eq!(
        nat.ok(&["renew", "--new-keys"])["request"],
        asked["request"]
    );
    gd.send("nat", "途中的通知", "仍加密给旧密钥。");
    let done = renew(&net, &nat, "nat", true, "400");
    assert_eq!(done["age_key_rotated"], true, "{done}");
    let after = done["age_recipient"].as_str().unwrap().to_owned();
    assert_ne!(after, before);
    assert_eq!(nat.ok(&["whoami"])["age_recipient"], after.as_str());
    let key_file = nat.home.join("identity").join("retired.key");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&key_file).unwrap().permissions()
        ) & 0o777,
        0o600
    );

    // The message sealed to the old key opens; so does what gd seals to the
    // new one once it has nat's new certificate.
    nat.ok(&["sync"]);
    gd.ok(&["directory"]);
    let dir = gd.ok(&["directory", "--offline"]);
    let nat_entry = dir["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node_id"] == "nat")
        .unwrap()
        .clone();
    assert_eq!(nat_entry["age_recipient"], after.as_str(), "{dir}");
    gd.send("nat", "轮换后的通知", "新密钥加密。");
    nat.ok(&["sync"]);
    let titles = nat.titles();
    for t in ["轮换前的通知", "途中的通知", "轮换后的通知"] {
        assert!(titles.contains(&t.to_string()), "{t}: {titles:?}");
    }
    // The original sealed to the old key is still forwarded whole.
    let first = nat.ok(&["list"]);
    let id = first["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["title"] == "轮换前的通知")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    nat.ok(&["forward", &id, "--to", "sz"]);
    sz.ok(&["sync"]);
    assert!(sz.titles().contains(&"轮换前的通知".to_string()));
    // A backup carries the retired key too.
    let out = net.dir.path().join("nat.backup");
    let pass = net.dir.path().join("pass");
    std::fs::write(&pass, "备份口令 2026").unwrap();
    let b = nat.ok(&[
        "backup",
        "--out",
        s(&out),
        "--backup-passphrase-file",
        s(&pass),
    ]);
    assert!(
        b["summary"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "identity/retired.key"),
        "{b}"
    );
}

fn has_han(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// `--lang` reaches every line a person reads: a case file, the conference
/// overview, delivery reports and errors. What a node wrote (names, titles)
/// stays as written; error codes are the same in both languages.
#[test]
fn every_line_follows_the_language() {
    let mut net = Net::new();
    net.start_hub();
    let hot = net.node("hotline", "全国维权热线", "national", "legal-aid");
    let _gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let intake = |lang: &str| {
        hot.text(&[
            "--lang",
            lang,
            "case",
            "intake",
            "--title",
            "货款拖欠",
            "--category",
            "contract",
            "--jurisdiction",
            "广东",
            "--enterprise",
            "某某五金有限公司",
            "--contact",
            "李经理",
            "--summary",
            "逾期一年未付。",
            "--support",
            "legal",
            "--urgency",
            "urgent",
            "--share",
            "gd",
        ])
    };
    let zh = intake("zh");
    assert!(zh.contains("已登记：已送达枢纽，收件方 1 个"), "{zh}");
    let en = intake("en");
    assert!(en.contains("registered: sent to 1 recipient(s)"), "{en}");
    assert!(!has_han(&en), "{en}");

    let cases = hot.ok(&["case", "list"]);
    let number = cases[0]["number"].as_str().unwrap().to_owned();
    let md_zh = hot.text(&["case", "show", &number]);
    for want in [
        "| 状态 | 登记 |",
        "| 类别 | 合同/账款拖欠 |",
        "## 办理经过",
        "登记：货款拖欠",
    ] {
        assert!(md_zh.contains(want), "{want:?} missing from {md_zh}");
    }
    let md_en = hot.text(&["--lang", "en", "case", "show", &number]);
    for want in [
        "| Status | reported |",
        "| Category | contract / unpaid invoices |",
        "| Urgency | urgent |",
        "## Timeline",
        "registered: 货款拖欠 (reported)",
    ] {
        assert!(md_en.contains(want), "{want:?} missing from {md_en}");
    }
    // Only what the nodes typed is Chinese in the English file.
    // (Longest first: "广东" is inside "广东省中小企业协会".)
    let typed = [
        "广东省中小企业协会",
        "某某五金有限公司",
        "逾期一年未付。",
        "全国维权热线",
        "货款拖欠",
        "李经理",
        "广东",
    ];
    let mut rest = md_en.clone();
    for t in typed {
        rest = rest.replace(t, "");
    }
    assert!(!has_han(&rest), "untranslated text in {rest}");

    // The conference overview.
    let conf = hot.text(&["--lang", "en", "conference", "show"]);
    assert!(
        conf.contains("chair: ") && conf.contains("members: "),
        "{conf}"
    );
    let mut rest = conf.clone();
    for t in typed {
        rest = rest.replace(t, "");
    }
    assert!(!has_han(&rest), "untranslated text in {conf}");
    let conf = hot.text(&["conference", "show"]);
    assert!(conf.contains("主席：") && conf.contains("成员："), "{conf}");

    // Errors: the code's description in the language, the same code.
    let e = hot.err_text(&["case", "show", "LX-1999-9999"]);
    assert!(e.contains("没有该项") && e.contains("[not_found]"), "{e}");
    let e = hot.err_text(&["--lang", "en", "case", "show", "LX-1999-9999"]);
    assert!(e.contains("[not_found]") && !has_han(&e), "{e}");
}
