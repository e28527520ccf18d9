use lianxi_shared::conference::{
    ConfEvent, ConfMsg, DEFAULT_TZ, Meeting, Published, Roster, Standing, Standings, fold,
};
use lianxi_shared::rotation::{RotationInput, generate};
use lianxi_shared::{MessageId, NodeId, Role, Tier};

use super::*;

fn id(n: &str) -> NodeId {
    NodeId::new(n).unwrap()
}

fn roster() -> Roster {
    Roster {
        chair: Some(id("nat")),
        pool: vec![id("bj"), id("sh")],
        members: vec![id("sz")],
    }
}

/// Every node's standing, as the roster says.
fn standings() -> Standings {
    let s = |tier, roles: &[Role]| Standing {
        tier,
        roles: roles.to_vec(),
    };
    [
        (id("nat"), s(Tier::National, &[Role::Chair])),
        (id("bj"), s(Tier::Provincial, &[])),
        (id("sh"), s(Tier::Provincial, &[])),
        (id("sz"), s(Tier::Prefecture, &[])),
    ]
    .into()
}

fn meeting(session: u32, date: &str, tz: &str) -> Meeting {
    Meeting {
        session,
        title: String::new(),
        date: date.into(),
        start: "09:30".into(),
        minutes: 150,
        tz: tz.into(),
        place: "北京市西城区月坛南街, 会议中心; 三层".into(),
        link: "https://meet.example.cn/lianxi".into(),
        agenda_deadline: format!("{date} 08:00"),
        note: "请各成员单位于会前提交书面材料。".repeat(8),
    }
}

fn conf(msgs: Vec<ConfMsg>) -> Conference {
    let input = RotationInput {
        pool: vec![id("bj"), id("sh")],
        first_session: 1,
        sessions: 4,
        served: vec![],
        changes: vec![],
    };
    let turns = generate(&input).unwrap().turns;
    let mut events = vec![ConfEvent {
        id: MessageId::new_v7(1, [0; 16]),
        sender: id("nat"),
        created_at: 1,
        msg: ConfMsg::Schedule(Box::new(Published { input, turns })),
        context: standings(),
    }];
    for (i, m) in msgs.into_iter().enumerate() {
        let at = 1_000_000 * (i as i64 + 2);
        events.push(ConfEvent {
            id: MessageId::new_v7(at, [i as u8 + 1; 16]),
            sender: id("nat"),
            created_at: at,
            msg: m,
            context: standings(),
        });
    }
    let (c, log) = fold(roster(), &events);
    assert!(log.iter().all(|e| e.ignored.is_none()), "{log:?}");
    c
}

fn parse(ics: &str) -> icalendar::Calendar {
    ics.parse::<icalendar::Calendar>().expect("parses back")
}

fn events(cal: &icalendar::Calendar) -> Vec<&icalendar::Event> {
    cal.components.iter().filter_map(|c| c.as_event()).collect()
}

#[test]
fn a_meeting_parses_back_with_its_zone_uid_and_folded_chinese_text() {
    use icalendar::{CalendarDateTime, Component, DatePerhapsTime, EventLike};
    let c = conf(vec![ConfMsg::Convene(Box::new(meeting(
        1,
        "2026-03-15",
        DEFAULT_TZ,
    )))]);
    let ics = calendar(&c, &[], &Names::new(&[])).unwrap();
    for l in ics.split_terminator("\r\n") {
        assert!(l.len() <= 75, "unfolded line of {} octets: {l}", l.len());
        assert!(!l.contains('\n'));
    }
    assert!(ics.ends_with("END:VCALENDAR\r\n"));
    assert!(ics.contains("TZID:Asia/Shanghai\r\nBEGIN:STANDARD\r\n"));
    assert!(ics.contains("TZOFFSETTO:+0800"));
    let cal = parse(&ics);
    let ev = events(&cal);
    assert_eq!(ev.len(), 1);
    let e = ev[0];
    assert_eq!(
        e.get_uid(),
        Some(format!("{}@lianxi", c.meetings[&1].uid).as_str())
    );
    assert_eq!(e.get_summary(), Some("第1次联席会议"));
    assert_eq!(
        e.get_location(),
        Some("北京市西城区月坛南街, 会议中心; 三层 / https://meet.example.cn/lianxi")
    );
    assert_eq!(e.property_value("SEQUENCE"), Some("0"));
    match e.get_start() {
        Some(DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone { date_time, tzid })) => {
            assert_eq!(tzid, "Asia/Shanghai");
            assert_eq!(date_time.to_string(), "2026-03-15 09:30:00");
        }
        other => panic!("start {other:?}"),
    }
    let desc = e.get_description().unwrap();
    assert!(
        desc.contains(&"请各成员单位于会前提交书面材料。".repeat(8)),
        "{desc}"
    );
    assert!(desc.contains("执行副主席 Host: bj"));
}

#[test]
fn daylight_saving_zones_get_their_transitions() {
    let c = conf(vec![ConfMsg::Convene(Box::new(meeting(
        1,
        "2026-03-15",
        "America/New_York",
    )))]);
    let ics = calendar(&c, &[1], &Names::new(&[])).unwrap();
    assert!(
        ics.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260308T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nTZNAME:EDT\r\nEND:DAYLIGHT"),
        "{ics}"
    );
    assert!(ics.contains("BEGIN:STANDARD\r\nDTSTART:20261101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nTZNAME:EST"));
    assert!(ics.contains("DTSTART;TZID=America/New_York:20260315T093000"));
    assert!(ics.contains("DTEND;TZID=America/New_York:20260315T120000"));
    parse(&ics);
}

#[test]
fn a_rescheduled_or_cancelled_meeting_keeps_its_uid_with_a_higher_sequence() {
    use icalendar::Component;
    let first = conf(vec![ConfMsg::Convene(Box::new(meeting(
        1,
        "2026-03-15",
        DEFAULT_TZ,
    )))]);
    let moved = conf(vec![
        ConfMsg::Convene(Box::new(meeting(1, "2026-03-15", DEFAULT_TZ))),
        ConfMsg::Convene(Box::new(meeting(1, "2026-03-20", DEFAULT_TZ))),
        ConfMsg::Convene(Box::new(meeting(2, "2026-09-20", DEFAULT_TZ))),
        ConfMsg::Cancel {
            session: 2,
            reason: "改为线上".into(),
        },
    ]);
    let a = parse(&calendar(&first, &[], &Names::new(&[])).unwrap());
    let b_text = calendar(&moved, &[], &Names::new(&[])).unwrap();
    let b = parse(&b_text);
    let (ea, eb) = (events(&a), events(&b));
    assert_eq!(eb.len(), 2);
    assert_eq!(ea[0].get_uid(), eb[0].get_uid());
    assert_eq!(eb[0].property_value("SEQUENCE"), Some("1"));
    assert!(b_text.contains("DTSTART;TZID=Asia/Shanghai:20260320T093000"));
    assert_eq!(eb[1].property_value("STATUS"), Some("CANCELLED"));
    assert_eq!(eb[1].property_value("SEQUENCE"), Some("1"));
    assert_eq!(
        calendar(&moved, &[7], &Names::new(&[])).unwrap_err().code,
        ErrorCode::NotFound
    );
}
