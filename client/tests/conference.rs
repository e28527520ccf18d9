//! The joint conference end to end: the `lianxi` binary on real archives, the
//! real hub over QUIC and mutual TLS, real age encryption. One session from the
//! rotation schedule to acknowledged minutes, with every refusal checked.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Net, Node, s};
use jiff::tz::TimeZone;
use serde_json::{Value, json};

/// A marker in the minutes that must never reach the hub's disk.
const MINUTES_MARKER: &str = "会议纪要保密标记甲乙丙";

struct Conf {
    net: Net,
    nat: Node,
    bj: Node,
    sh: Node,
    gd: Node,
    sz: Node,
}

fn conference() -> Conf {
    let mut net = Net::new();
    net.start_hub();
    let nat = net.node("nat", "中国中小企业协会", "national", "chair,secretary");
    let bj = net.node("bj", "北京市中小企业协会", "provincial", "secretary");
    let sh = net.node("sh", "上海市中小企业协会", "provincial", "secretary");
    let gd = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let sz = net.node("sz", "深圳市中小企业协会", "prefecture", "member");
    let c = Conf {
        net,
        nat,
        bj,
        sh,
        gd,
        sz,
    };
    for n in c.all() {
        n.ok(&["sync"]); // every node caches the verified directory
    }
    c
}

impl Conf {
    fn all(&self) -> [&Node; 5] {
        [&self.nat, &self.bj, &self.sh, &self.gd, &self.sz]
    }
}

fn show(n: &Node) -> Value {
    n.ok(&["conference", "show"])
}

fn session(n: &Node, s: u32) -> Value {
    n.ok(&["conference", "show", "--session", &s.to_string()])
}

/// A local date `days` from today in Shanghai.
fn day(days: i64) -> String {
    let now = jiff::Zoned::now().with_time_zone(TimeZone::get("Asia/Shanghai").unwrap());
    now.date()
        .checked_add(jiff::Span::new().days(days))
        .unwrap()
        .to_string()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_session_from_rotation_to_acknowledged_minutes() {
    let c = conference();
    let tmp = tempfile::tempdir().unwrap();

    // ---- A decline is the member's own signed answer: the chair can take it
    // in only once sh sent it, and cannot make one up.
    let rotation = [
        "conference",
        "rotation",
        "--sessions",
        "4",
        "--pool",
        "bj,sh,gd",
        "--decline",
        "sh:2",
        "--publish",
    ];
    let preview_args = &rotation[..rotation.len() - 1];
    assert_eq!(c.nat.fails(preview_args), "not_found");
    c.sh.ok(&[
        "conference",
        "decline",
        "--session",
        "2",
        "--reason",
        "换届选举",
    ]);
    c.nat.ok(&["sync"]);
    assert_eq!(
        show(&c.nat)["awaiting_chair"][0]["reason"],
        "换届选举",
        "the chair sees what waits for its next schedule"
    );

    // ---- Rotation: only the chair publishes; every node checks and agrees.
    assert_eq!(c.sh.fails(&rotation), "not_chair");
    let preview = c.nat.ok(preview_args);
    let holders: Vec<&str> = preview["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["holder"].as_str().unwrap())
        .collect();
    assert_eq!(holders, ["bj", "gd", "sh", "bj"]); // sh's turn moved, nobody twice per cycle
    let sent = c.nat.ok(&rotation);
    assert_eq!(sent["status"], "sent");
    assert_eq!(strs(&sent["recipients"]), ["bj", "gd", "sh", "sz"]);
    for n in c.all() {
        n.ok(&["sync"]);
        let v = show(n);
        assert_eq!(v["next_turn"], json!({"session": 1, "holder": "bj"}), "{v}");
        assert_eq!(strs(&v["presidium"]), ["sh", "gd"]);
        assert_eq!(strs(&v["members"]), ["sz"]);
        assert_eq!(v["awaiting_chair"], json!([]), "{v}");
    }

    // ---- Convening: only the chair.
    let (date, deadline) = (day(30), format!("{} 18:00", day(20)));
    let convene = |n: &Node, date: &str, deadline: &str| {
        n.run(&[
            "conference",
            "convene",
            "--session",
            "1",
            "--date",
            date,
            "--time",
            "09:30",
            "--minutes",
            "120",
            "--place",
            "北京市西城区 国际会议中心",
            "--link",
            "https://meet.example.cn/lianxi-1",
            "--agenda-by",
            deadline,
        ])
    };
    let (ok, v) = convene(&c.bj, &date, &deadline);
    assert!(!ok && v["error"]["code"] == "not_chair", "{v}");
    assert!(
        show(&c.bj)["meetings"].as_array().unwrap().is_empty(),
        "a refusal changes nothing"
    );
    let (ok, v) = convene(&c.nat, &date, &deadline);
    assert!(ok, "{v}");
    for n in c.all() {
        n.ok(&["sync"]);
    }
    let m = &show(&c.sz)["meetings"][0];
    assert_eq!(
        (m["title"].as_str(), m["host"].as_str()),
        (Some("第1次联席会议"), Some("bj"))
    );
    let warnings = strs(&show(&c.sz)["warnings"]);
    assert!(warnings[0].contains("only 1 meeting"), "{warnings:?}");

    // ---- Agenda items from members; the host orders and times them.
    let brief = tmp.path().join("材料.pdf");
    std::fs::write(&brief, b"%PDF-1.4 brief").unwrap();
    c.sz.ok(&[
        "conference",
        "propose",
        "--session",
        "1",
        "--title",
        "中小企业账款拖欠联合通报",
        "--summary",
        "建议建立季度通报机制",
        "--minutes",
        "30",
    ]);
    c.gd.ok(&[
        "conference",
        "propose",
        "--session",
        "1",
        "--title",
        "反倾销应诉协调",
        "--minutes",
        "45",
        "--attach",
        s(&brief),
    ]);
    c.bj.ok(&["sync"]);
    let s1 = session(&c.bj, 1);
    assert_eq!(s1["proposals"].as_array().unwrap().len(), 2);
    assert_eq!(s1["proposals"][1]["attachments"], json!(["材料.pdf"]));
    assert_eq!(
        c.sh.fails(&["conference", "agenda", "--session", "1", "1:30"]),
        "not_host"
    );
    assert_eq!(
        c.bj.fails(&["conference", "agenda", "--session", "1", "1:90", "2:45"]),
        "bad_request" // 135 minutes in a 120-minute meeting
    );
    c.bj.ok(&["conference", "agenda", "--session", "1", "2:45", "1:30"]);

    // ---- RSVPs, the attendance list and a reminder.
    c.sz.ok(&["conference", "rsvp", "--session", "1", "--attend"]);
    c.gd.ok(&[
        "conference",
        "rsvp",
        "--session",
        "1",
        "--delegate",
        "李秘书长",
    ]);
    c.sh.ok(&["conference", "rsvp", "--session", "1", "--absent", "出访"]);
    c.bj.ok(&["sync"]);
    let s1 = session(&c.bj, 1);
    assert_eq!(strs(&s1["unanswered"]), ["nat", "bj"]);
    // A member that is neither chair nor host receives no one else's answer:
    // it says so instead of calling everyone "no answer".
    c.sz.ok(&["sync"]);
    let sz_view = session(&c.sz, 1);
    assert_eq!(sz_view["answers_visible"], false);
    assert!(sz_view["unanswered"].is_null(), "{sz_view}");
    assert_eq!(session(&c.bj, 1)["answers_visible"], true);
    let rsvps = s1["rsvps"].as_array().unwrap();
    assert!(
        rsvps
            .iter()
            .any(|r| r["node"] == "gd" && r["delegate"] == "李秘书长")
    );
    assert!(
        rsvps
            .iter()
            .any(|r| r["node"] == "sh" && r["reason"] == "出访")
    );
    assert_eq!(
        c.sh.fails(&["conference", "remind", "--session", "1"]),
        "not_host"
    );
    let r = c.bj.ok(&[
        "conference",
        "remind",
        "--session",
        "1",
        "--note",
        "请尽快回复",
    ]);
    assert_eq!(strs(&r["recipients"]), ["nat"]);

    // Every node sees the same agenda, in the host's order and times.
    c.sz.ok(&["sync"]);
    let agenda = &session(&c.sz, 1)["agenda"];
    assert_eq!(agenda[0]["title"], "反倾销应诉协调");
    assert_eq!(
        (agenda[0]["start"].as_str(), agenda[1]["start"].as_str()),
        (Some("09:30"), Some("10:15"))
    );

    // The calendar before and after a reschedule: same UID, higher SEQUENCE.
    let before = tmp.path().join("before.ics");
    c.sz.ok(&["conference", "ics", "--output", s(&before)]);
    // The meeting is brought forward to yesterday (so it is over and minutes can follow).
    let (ok, v) = convene(&c.nat, &day(-1), &format!("{} 08:00", day(-1)));
    assert!(ok, "{v}");
    for n in c.all() {
        n.ok(&["sync"]);
    }
    let after = tmp.path().join("after.ics");
    c.sz.ok(&["conference", "ics", "--session", "1", "--output", s(&after)]);
    let (before, after) = (
        std::fs::read_to_string(&before).unwrap(),
        std::fs::read_to_string(&after).unwrap(),
    );
    let uid = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("UID:"))
            .unwrap()
            .to_owned()
    };
    assert_eq!(uid(&before), uid(&after));
    assert!(before.contains("SEQUENCE:0") && after.contains("SEQUENCE:1"));
    assert!(after.contains(&format!(
        "DTSTART;TZID=Asia/Shanghai:{}T093000",
        day(-1).replace('-', "")
    )));
    let cal: icalendar::Calendar = after.parse().unwrap();
    assert_eq!(
        cal.components
            .iter()
            .filter(|c| c.as_event().is_some())
            .count(),
        1
    );
    independent_check(tmp.path().join("after.ics").as_path());
    // After the call closed, a proposal is refused.
    assert_eq!(
        c.sz.fails(&[
            "conference",
            "propose",
            "--session",
            "1",
            "--title",
            "迟到",
            "--minutes",
            "5"
        ]),
        "agenda_closed"
    );

    // ---- Minutes and resolutions: only the host.
    let text = tmp.path().join("minutes.md");
    std::fs::write(
        &text,
        format!("# 第1次联席会议纪要\n\n与会各方一致认为…… {MINUTES_MARKER}\n"),
    )
    .unwrap();
    let minutes = |n: &Node| {
        n.run(&[
            "conference",
            "minutes",
            "--session",
            "1",
            "--file",
            s(&text),
            "--resolution",
            "建立账款拖欠联合通报机制=bj:for,gd:for,sh:abstain,sz:against",
            "--resolution",
            "下次会议由广东承办",
        ])
    };
    let (ok, v) = minutes(&c.sh);
    assert!(!ok && v["error"]["code"] == "not_host", "{v}");
    assert!(minutes(&c.bj).0);
    for n in [&c.sz, &c.gd, &c.nat] {
        n.ok(&["sync"]);
    }
    let s1 = session(&c.sz, 1);
    let res = &s1["minutes"]["resolutions"];
    assert_eq!(
        (
            res[0]["for"].as_u64(),
            res[0]["against"].as_u64(),
            res[0]["abstain"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(res[0]["votes"]["sz"], "against");
    assert_eq!(
        (res[0]["adopted"].as_bool(), res[1]["consensus"].as_bool()),
        (Some(true), Some(true))
    );
    assert!(
        s1["minutes"]["text"]
            .as_str()
            .unwrap()
            .contains(MINUTES_MARKER)
    );
    assert_eq!(s1["status"], "held");
    // RSVPs are closed once the session is held.
    assert_eq!(
        c.nat
            .fails(&["conference", "rsvp", "--session", "1", "--attend"]),
        "agenda_closed"
    );

    // ---- Acknowledgements, as with bulletin receipts.
    c.sz.ok(&["conference", "ack", "--session", "1"]);
    c.gd.ok(&["conference", "ack", "--session", "1"]);
    c.bj.ok(&["sync"]);
    let s1 = session(&c.bj, 1);
    assert_eq!(strs(&s1["acknowledged"]), ["gd", "sz"]);
    assert_eq!(strs(&s1["unacknowledged"]), ["nat", "sh"]);
    let r =
        c.bj.ok(&["conference", "remind", "--session", "1", "--minutes"]);
    assert_eq!(strs(&r["recipients"]), ["nat", "sh"]);

    // The next turn moves on; the hub never saw the minutes or the agenda.
    assert_eq!(
        show(&c.gd)["next_turn"],
        json!({"session": 2, "holder": "gd"})
    );
    let hub = c.net.hub_bytes();
    for marker in [MINUTES_MARKER, "反倾销应诉协调", "李秘书长", "国际会议中心"] {
        assert!(
            !hub.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{marker} reached the hub's files"
        );
    }
}

/// Parse the file with Python's `icalendar` package too (`.ci/check_ics.py`).
/// CI sets `LIANXI_ICS_CHECK=required`; elsewhere it is skipped when missing.
fn independent_check(path: &std::path::Path) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/check_ics.py");
    let have = std::process::Command::new("python3")
        .args(["-c", "import icalendar"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert_ne!(
            std::env::var("LIANXI_ICS_CHECK").as_deref(),
            Ok("required"),
            "python3 with the icalendar package is required here"
        );
        eprintln!("SKIPPED: the independent iCalendar check (no python3 icalendar package)");
        return;
    }
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "independent parser: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.contains("seq=1") && line.contains("第1次联席会议"),
        "{line}"
    );
}

/// History that stays true against a hostile chair's node and later directory
/// changes: a schedule claiming a member declined, without the member's own
/// signed answer, is ignored everywhere; enrolling a second national chair
/// afterwards leaves every past schedule and convening standing.
#[test]
fn forged_declines_and_later_directory_changes_leave_the_conference_as_it_was() {
    use common::rogue::Rogue;
    use lianxi_shared::Payload;
    use lianxi_shared::conference::{ConfMsg, Published};
    use lianxi_shared::rotation::{PoolChange, generate};

    let c = conference();
    c.nat.ok(&[
        "conference",
        "rotation",
        "--sessions",
        "3",
        "--pool",
        "bj,sh,gd",
        "--publish",
    ]);
    c.nat.ok(&[
        "conference",
        "convene",
        "--session",
        "1",
        "--date",
        &day(30),
        "--time",
        "09:30",
        "--agenda-by",
        &format!("{} 18:00", day(20)),
        "--place",
        "北京",
    ]);
    let first = json!({"session": 1, "holder": "bj"});
    for n in c.all() {
        n.ok(&["sync"]);
        assert_eq!(show(n)["next_turn"], first);
    }

    // nat's node, modified: bj "declined" session 1, with nothing from bj.
    let rogue = Rogue::new(&c.nat.home);
    let (held, _) = rogue.block_on(rogue.node.conference()).unwrap();
    let mut input = held.schedule.unwrap().input;
    input.changes.push(PoolChange::Decline {
        node: lianxi_shared::NodeId::new("bj").unwrap(),
        session: 1,
        reason: "伪造".into(),
        by: None,
    });
    let turns = generate(&input).unwrap().turns;
    assert_eq!(turns[0].holder.as_ref().unwrap().as_str(), "sh");
    let forged = Payload::Conference(ConfMsg::Schedule(Box::new(Published { input, turns })));
    rogue.send(&["bj", "sh", "gd", "sz"], &forged).unwrap();
    for n in [&c.bj, &c.sh, &c.sz] {
        n.ok(&["sync"]);
        assert_eq!(
            show(n)["next_turn"],
            first,
            "the forged schedule is ignored"
        );
    }

    // A second national chair enrolled later ("aaa" sorts before "nat"): today's
    // roster names it, yesterday's decisions stand.
    let _aaa = c.net.node("aaa", "某全国性行业协会", "national", "chair");
    for n in [&c.bj, &c.sz] {
        n.ok(&["directory"]);
        let v = show(n);
        assert_eq!(v["chair"], "aaa", "{v}");
        assert_eq!(v["next_turn"], first, "{v}");
        assert_eq!(v["meetings"][0]["status"], "convened", "{v}");
        assert_eq!(v["meetings"][0]["host"], "bj", "{v}");
    }
}
