//! The Meetings tab without a terminal: `update` driven directly, and the
//! rotation view, the attendance list and the agenda builder rendered into
//! `TestBackend` and compared with insta snapshots. The conference is folded
//! from signed-message fixtures, exactly as the archive folds it.

#![allow(clippy::unwrap_used)]

use lianxi::tui::app::{App, Mode, Tab};
use lianxi::tui::i18n::Lang;
use lianxi::tui::update::{Action, Effect, update};
use lianxi_shared::conference::{
    AgendaItem, ConfEvent, ConfMsg, Conference, DEFAULT_TZ, Meeting, Published, Roster, Rsvp, Slot,
    fold, standings,
};
use lianxi_shared::rotation::{PoolChange, RotationInput, generate};
use lianxi_shared::{MessageId, NodeId, NodeInfo, Role, Tier};

#[macro_use]
mod tui_support;
use tui_support::{T0, directory, node, screen};

/// Meeting screens hold no wall-clock time: snapshot them unfiltered, so the
/// agenda's slot times are checked too.
macro_rules! snap_exact {
    ($name:expr, $app:expr) => {
        insta::assert_snapshot!($name, screen(&$app));
    };
}

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn dir() -> Vec<NodeInfo> {
    let mut d = directory();
    d.push(node(
        "bj",
        "北京市中小企业协会",
        Tier::Provincial,
        &[Role::Secretary],
    ));
    d.push(node(
        "sh",
        "上海市中小企业发展促进会",
        Tier::Provincial,
        &[Role::Secretary],
    ));
    d
}

fn meeting(session: u32, date: &str) -> Meeting {
    Meeting {
        session,
        title: String::new(),
        date: date.into(),
        start: "09:30".into(),
        minutes: 120,
        tz: DEFAULT_TZ.into(),
        place: "广州市天河区 广东省中小企业服务中心 三楼会议室".into(),
        link: String::new(),
        agenda_deadline: format!("{date} 08:00"),
        note: String::new(),
    }
}

fn item(title: &str, minutes: u32) -> AgendaItem {
    AgendaItem {
        title: title.into(),
        summary: String::new(),
        minutes,
        attachments: vec![],
    }
}

/// Rotation gd → bj → sh (bj declined session 2), session 1 convened with
/// three proposals, two on the agenda, and three answers.
fn conference() -> Conference {
    let mut events = Vec::new();
    let mut n = 0u8;
    let mut push = |by: &str, at: i64, msg: ConfMsg| {
        n += 1;
        let mid = MessageId::new_v7(at, [n; 16]);
        events.push(ConfEvent {
            id: mid,
            sender: id(by),
            created_at: at,
            context: standings(&dir(), &id(by), &msg),
            msg,
        });
        mid
    };
    let declined = push(
        "bj",
        T0 - 301 * 3_600_000,
        ConfMsg::Decline {
            session: 2,
            reason: "换届".into(),
        },
    );
    let input = RotationInput {
        pool: vec![id("gd"), id("bj"), id("sh")],
        first_session: 1,
        sessions: 6,
        served: vec![],
        changes: vec![PoolChange::Decline {
            node: id("bj"),
            session: 2,
            reason: "换届".into(),
            by: Some(declined),
        }],
    };
    let turns = generate(&input).unwrap().turns;
    let h = 3_600_000;
    let t = T0 - 300 * h;
    push(
        "nat",
        t,
        ConfMsg::Schedule(Box::new(Published { input, turns })),
    );
    push(
        "nat",
        t + h,
        ConfMsg::Convene(Box::new(meeting(1, "2026-12-18"))),
    );
    let a = push(
        "sz",
        t + 2 * h,
        ConfMsg::Propose {
            session: 1,
            item: item("中小企业账款拖欠问题联合通报机制", 40),
        },
    );
    let b = push(
        "bj",
        t + 3 * h,
        ConfMsg::Propose {
            session: 1,
            item: item("反倾销应诉协调：光伏组件出口🌞", 45),
        },
    );
    push(
        "sh",
        t + 4 * h,
        ConfMsg::Propose {
            session: 1,
            item: item("年度评选工作安排", 20),
        },
    );
    push(
        "gd",
        t + 5 * h,
        ConfMsg::Agenda {
            session: 1,
            slots: vec![
                Slot {
                    item: b,
                    minutes: 45,
                },
                Slot {
                    item: a,
                    minutes: 40,
                },
            ],
        },
    );
    push(
        "sz",
        t + 6 * h,
        ConfMsg::Rsvp {
            session: 1,
            answer: Rsvp::Attend,
        },
    );
    push(
        "bj",
        t + 7 * h,
        ConfMsg::Rsvp {
            session: 1,
            answer: Rsvp::Delegate {
                name: "李秘书长".into(),
            },
        },
    );
    push(
        "sh",
        t + 8 * h,
        ConfMsg::Rsvp {
            session: 1,
            answer: Rsvp::Absent {
                reason: "赴京参加全国会议".into(),
            },
        },
    );
    let (c, log) = fold(Roster::from_directory(&dir()), &events);
    assert!(log.iter().all(|e| e.ignored.is_none()), "{log:?}");
    c
}

/// The app on the Meetings tab as `me`, with the conference loaded.
fn meetings_app(me: &str, lang: Lang, size: (u16, u16)) -> App {
    let info = dir()
        .into_iter()
        .find(|n| n.node_id.as_str() == me)
        .unwrap();
    let mut a = App::new(info, "127.0.0.1:7443".into(), lang);
    a.now_ms = T0;
    a.size = size;
    update(&mut a, Action::DirectoryLoaded(dir()));
    assert_eq!(
        update(&mut a, Action::GoTab(Tab::Meetings)),
        [Effect::LoadConference, Effect::LoadDirectory]
    );
    update(&mut a, Action::ConferenceLoaded(Box::new(conference())));
    a
}

#[test]
fn the_rotation_opens_on_whose_turn_is_next() {
    let a = meetings_app("gd", Lang::Zh, (120, 40));
    // Session 1 is not held yet: its host, gd, is next; it is selected.
    assert_eq!(a.meetings.selected_session(), Some(1));
    assert_eq!(a.meetings.sessions(), [1, 2, 3, 4, 5, 6]);
    snap_exact!("meetings_attendance_120x40", a);
    let mut a = meetings_app("gd", Lang::Zh, (80, 24));
    snap_exact!("meetings_attendance_80x24", a);
    update(&mut a, Action::Down);
    snap_exact!("meetings_rotation_80x24", a);
    let mut a = meetings_app("gd", Lang::En, (120, 40));
    update(&mut a, Action::Down);
    snap_exact!("meetings_rotation_english_120x40", a);
}

#[test]
fn only_the_host_builds_the_agenda_and_it_must_fit_the_meeting() {
    let mut a = meetings_app("sz", Lang::Zh, (80, 24));
    assert!(update(&mut a, Action::EditAgenda).is_empty());
    assert!(matches!(a.mode, Mode::Normal));
    assert!(a.notice.as_ref().unwrap().0.contains("执行副主席"));
    // Anyone answers; acknowledging needs minutes.
    assert_eq!(update(&mut a, Action::Attend), [Effect::ConfAttend(1)]);
    assert!(update(&mut a, Action::Acknowledge).is_empty());
    assert!(
        update(&mut a, Action::Remind).is_empty(),
        "only the host reminds"
    );

    let mut a = meetings_app("gd", Lang::Zh, (120, 40));
    assert_eq!(
        update(&mut a, Action::Remind),
        [Effect::ConfRemind(
            1,
            lianxi_shared::conference::RemindOf::Rsvp
        )]
    );
    update(&mut a, Action::EditAgenda);
    let Mode::Agenda(b) = &a.mode else {
        panic!("agenda builder")
    };
    // The published agenda first, in its order; the third proposal left out.
    let titles: Vec<(&str, bool)> = b
        .rows
        .iter()
        .map(|r| (r.title.as_str(), r.included))
        .collect();
    assert_eq!(titles[2], ("年度评选工作安排", false));
    assert!(titles[0].0.starts_with("反倾销") && titles[1].0.starts_with("中小企业"));
    snap_exact!("agenda_builder_120x40", a);
    // Take in the third item: 105 of 120 minutes. Then make it too long.
    update(&mut a, Action::Down);
    update(&mut a, Action::Down);
    update(&mut a, Action::Char(' '));
    update(&mut a, Action::Char('u')); // before the arrears item
    for _ in 0..4 {
        update(&mut a, Action::Right); // 20 → 40 minutes: 125 in all
    }
    assert!(update(&mut a, Action::Submit).is_empty());
    let Mode::Agenda(b) = &a.mode else { panic!() };
    assert_eq!(b.total(), 125);
    assert!(b.error.is_some());
    snap_exact!("agenda_builder_over_80x24", a);
    update(&mut a, Action::Left);
    let fx = update(&mut a, Action::Submit);
    let Some(Effect::PublishAgenda { session: 1, slots }) = fx.first() else {
        panic!("{fx:?}")
    };
    assert_eq!(
        slots.iter().map(|s| s.minutes).collect::<Vec<_>>(),
        [45, 35, 40]
    );
    assert!(
        update(&mut a, Action::Submit).is_empty(),
        "no double publish while sending"
    );
    let fx = update(&mut a, Action::AgendaDone(Ok(("agenda", 5))));
    assert!(matches!(a.mode, Mode::Normal));
    assert_eq!(fx, [Effect::LoadConference]);
    assert!(a.notice.as_ref().unwrap().0.contains("议程已发布"));
}
