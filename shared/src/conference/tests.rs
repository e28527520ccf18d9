use proptest::prelude::*;

use super::*;
use crate::directory::tests::node;
use crate::rotation::{PoolChange, RotationInput, generate};

fn id(n: &str) -> NodeId {
    NodeId::new(n).unwrap()
}

fn dir() -> Vec<NodeInfo> {
    vec![
        node("nat", Tier::National, &[Role::Chair, Role::Secretary]),
        node("hotline", Tier::National, &[Role::LegalAid]),
        node("sh", Tier::Provincial, &[Role::Secretary]),
        node("bj", Tier::Provincial, &[Role::Secretary]),
        node("gd", Tier::Provincial, &[Role::Secretary]),
        node("sz", Tier::Prefecture, &[Role::Member]),
    ]
}

fn roster() -> Roster {
    Roster::from_directory(&dir())
}

/// 2026-03-15 09:30 in Shanghai.
const START: i64 = 1_773_538_200_000;
const H: i64 = 3_600_000;

fn published(changes: Vec<PoolChange>) -> Published {
    let input = RotationInput {
        pool: vec![id("bj"), id("sh"), id("gd")],
        first_session: 1,
        sessions: 6,
        served: vec![],
        changes,
    };
    let turns = generate(&input).unwrap().turns;
    Published { input, turns }
}

fn meeting(session: u32) -> Meeting {
    Meeting {
        session,
        title: String::new(),
        date: "2026-03-15".into(),
        start: "09:30".into(),
        minutes: 120,
        tz: DEFAULT_TZ.into(),
        place: "北京市西城区 会议中心".into(),
        link: String::new(),
        agenda_deadline: "2026-03-10 18:00".into(),
        note: String::new(),
    }
}

struct Log {
    events: Vec<ConfEvent>,
    n: u8,
}

impl Log {
    fn new() -> Log {
        Log {
            events: vec![],
            n: 0,
        }
    }
    /// A message accepted while the directory was [`dir`].
    fn push(&mut self, sender: &str, at: i64, msg: ConfMsg) -> MessageId {
        self.push_in(&dir(), sender, at, msg)
    }
    /// A message accepted while the directory was `dir`.
    fn push_in(&mut self, dir: &[NodeInfo], sender: &str, at: i64, msg: ConfMsg) -> MessageId {
        self.n += 1;
        let mid = MessageId::new_v7(at, [self.n; 16]);
        self.events.push(ConfEvent {
            id: mid,
            sender: id(sender),
            created_at: at,
            context: standings(dir, &id(sender), &msg),
            msg,
        });
        mid
    }
    fn state(&self) -> (Conference, Vec<Entry>) {
        fold(roster(), &self.events)
    }
    fn last_ignored(&self) -> Option<ErrorCode> {
        self.state()
            .1
            .last()
            .unwrap()
            .ignored
            .as_ref()
            .map(|e| e.code)
    }
}

fn item(title: &str, minutes: u32) -> AgendaItem {
    AgendaItem {
        title: title.into(),
        summary: "说明".into(),
        minutes,
        attachments: vec![],
    }
}

#[test]
fn the_roster_comes_from_tiers_and_the_chair_role() {
    let r = roster();
    assert_eq!(r.chair, Some(id("nat")));
    assert_eq!(r.pool, vec![id("bj"), id("gd"), id("sh")]);
    assert_eq!(r.members, vec![id("sz")]);
    assert!(!r.takes_part(&id("hotline")));
}

#[test]
fn only_the_chair_publishes_a_schedule_and_only_a_fair_one() {
    let mut log = Log::new();
    log.push(
        "bj",
        START - 100 * H,
        ConfMsg::Schedule(Box::new(published(vec![]))),
    );
    assert_eq!(log.last_ignored(), Some(ErrorCode::NotChair));
    let mut tampered = published(vec![]);
    tampered.turns[1].holder = Some(id("bj")); // bj twice before sh and gd
    log.push("nat", START - 99 * H, ConfMsg::Schedule(Box::new(tampered)));
    assert_eq!(log.last_ignored(), Some(ErrorCode::BadSchedule));
    let mut outsider = published(vec![]);
    outsider.input.pool.push(id("sz")); // a prefecture association
    outsider.turns = generate(&outsider.input).unwrap().turns;
    log.push("nat", START - 98 * H, ConfMsg::Schedule(Box::new(outsider)));
    assert_eq!(log.last_ignored(), Some(ErrorCode::BadSchedule));
    assert!(log.state().0.schedule.is_none());

    let decline = |by| PoolChange::Decline {
        node: id("bj"),
        session: 1,
        reason: "换届".into(),
        by,
    };
    // The chair cannot decline for a member: the change names bj's own answer.
    log.push(
        "nat",
        START - 97 * H,
        ConfMsg::Schedule(Box::new(published(vec![decline(None)]))),
    );
    assert_eq!(log.last_ignored(), Some(ErrorCode::BadSchedule));
    let answer = log.push(
        "bj",
        START - 96 * H,
        ConfMsg::Decline {
            session: 1,
            reason: "换届".into(),
        },
    );
    assert_eq!(log.state().0.pending_answers().len(), 1);
    let forged = log.push(
        "sh",
        START - 95 * H,
        ConfMsg::Decline {
            session: 1,
            reason: "换届".into(),
        },
    );
    log.push(
        "nat",
        START - 94 * H,
        ConfMsg::Schedule(Box::new(published(vec![decline(Some(forged))]))),
    );
    assert_eq!(log.last_ignored(), Some(ErrorCode::BadSchedule));
    log.push(
        "nat",
        START - 93 * H,
        ConfMsg::Schedule(Box::new(published(vec![decline(Some(answer))]))),
    );
    assert_eq!(log.last_ignored(), None);
    assert_eq!(
        log.state().0.pending_answers().len(),
        1,
        "sh's decline is still waiting for the chair"
    );
    let (c, _) = log.state();
    assert_eq!(c.host(1), Some(&id("sh")));
    assert_eq!(c.next_turn(1), Some((1, &id("sh"))));
    assert_eq!(c.presidium(1), vec![id("bj"), id("gd")]);
}

#[test]
fn a_full_session_from_convening_to_acknowledged_minutes() {
    let mut log = Log::new();
    log.push(
        "sh",
        START - 200 * H,
        ConfMsg::Convene(Box::new(meeting(1))),
    );
    assert_eq!(log.last_ignored(), Some(ErrorCode::NotChair));
    log.push(
        "nat",
        START - 199 * H,
        ConfMsg::Convene(Box::new(meeting(1))),
    );
    assert_eq!(log.last_ignored(), Some(ErrorCode::BadSchedule)); // no schedule yet
    log.push(
        "nat",
        START - 198 * H,
        ConfMsg::Schedule(Box::new(published(vec![]))),
    );
    let uid = log.push(
        "nat",
        START - 197 * H,
        ConfMsg::Convene(Box::new(meeting(1))),
    );
    assert_eq!(log.last_ignored(), None);
    assert_eq!(log.state().0.host(1), Some(&id("bj")));

    let a = log.push(
        "sz",
        START - 150 * H,
        ConfMsg::Propose {
            session: 1,
            item: item("中小企业账款拖欠", 30),
        },
    );
    let b = log.push(
        "gd",
        START - 140 * H,
        ConfMsg::Propose {
            session: 1,
            item: item("反倾销应诉协调", 45),
        },
    );
    log.push(
        "hotline",
        START - 139 * H,
        ConfMsg::Propose {
            session: 1,
            item: item("x", 5),
        },
    );
    assert_eq!(log.last_ignored(), Some(ErrorCode::NotMember));
    // The call closed 2026-03-10 18:00 Shanghai time: 111.5 h before the start.
    log.push(
        "sh",
        START - 111 * H,
        ConfMsg::Propose {
            session: 1,
            item: item("迟到的议题", 10),
        },
    );
    assert_eq!(log.last_ignored(), Some(ErrorCode::AgendaClosed));

    let slots = |v: &[(MessageId, u32)]| ConfMsg::Agenda {
        session: 1,
        slots: v
            .iter()
            .map(|(item, minutes)| Slot {
                item: *item,
                minutes: *minutes,
            })
            .collect(),
    };
    log.push("sh", START - 100 * H, slots(&[(a, 30)]));
    assert_eq!(log.last_ignored(), Some(ErrorCode::NotHost));
    log.push("bj", START - 99 * H, slots(&[(a, 100), (b, 45)]));
    assert_eq!(log.last_ignored(), Some(ErrorCode::BadRequest)); // 145 > 120 minutes
    log.push("bj", START - 98 * H, slots(&[(uid, 10)]));
    assert_eq!(log.last_ignored(), Some(ErrorCode::UnknownReference));
    log.push("bj", START - 97 * H, slots(&[(b, 45), (a, 30)]));
    assert_eq!(log.last_ignored(), None);

    log.push(
        "sz",
        START - 50 * H,
        ConfMsg::Rsvp {
            session: 1,
            answer: Rsvp::Attend,
        },
    );
    log.push(
        "gd",
        START - 49 * H,
        ConfMsg::Rsvp {
            session: 1,
            answer: Rsvp::Attend,
        },
    );
    log.push(
        "gd",
        START - 48 * H,
        ConfMsg::Rsvp {
            session: 1,
            answer: Rsvp::Delegate {
                name: "李秘书长".into(),
            },
        },
    );
    log.push(
        "sh",
        START - 47 * H,
        ConfMsg::Rsvp {
            session: 1,
            answer: Rsvp::Absent {
                reason: "出访".into(),
            },
        },
    );
    log.push(
        "sh",
        START - 46 * H,
        ConfMsg::Remind {
            session: 1,
            of: RemindOf::Rsvp,
            note: String::new(),
        },
    );
    assert_eq!(log.last_ignored(), Some(ErrorCode::NotHost));
    log.push(
        "bj",
        START - 45 * H,
        ConfMsg::Remind {
            session: 1,
            of: RemindOf::Rsvp,
            note: String::new(),
        },
    );
    let (c, _) = log.state();
    let m = &c.meetings[&1];
    assert_eq!(
        m.agenda.iter().map(|s| s.item).collect::<Vec<_>>(),
        vec![b, a]
    );
    assert_eq!(
        m.rsvps[&id("gd")].0,
        Rsvp::Delegate {
            name: "李秘书长".into()
        }
    );
    assert_eq!(m.unanswered(&c.roster), vec![id("nat"), id("bj")]);
    assert_eq!(m.reminders.len(), 1);

    let votes = Outcome::Votes(
        [
            ("bj", Vote::For),
            ("gd", Vote::For),
            ("sz", Vote::Against),
            ("sh", Vote::Abstain),
        ]
        .into_iter()
        .map(|(n, v)| (id(n), v))
        .collect(),
    );
    let minutes = |text: &str, outcome: Outcome| ConfMsg::Minutes {
        session: 1,
        text: text.into(),
        resolutions: vec![Resolution {
            title: "建立账款拖欠联合通报机制".into(),
            text: String::new(),
            outcome,
        }],
        attachments: vec![],
    };
    log.push("bj", START - H, minutes("会前纪要", Outcome::Consensus));
    assert_eq!(log.last_ignored(), Some(ErrorCode::BadRequest)); // not started
    log.push("gd", START + 3 * H, minutes("纪要", Outcome::Consensus));
    assert_eq!(log.last_ignored(), Some(ErrorCode::NotHost));
    let v1 = log.push("bj", START + 4 * H, minutes("纪要", votes.clone()));
    log.push(
        "sz",
        START + 5 * H,
        ConfMsg::Ack {
            session: 1,
            minutes: v1,
        },
    );
    let v2 = log.push("bj", START + 6 * H, minutes("纪要（修订）", votes));
    log.push(
        "gd",
        START + 7 * H,
        ConfMsg::Ack {
            session: 1,
            minutes: v1,
        },
    );
    assert_eq!(log.last_ignored(), Some(ErrorCode::UnknownReference)); // replaced
    log.push(
        "gd",
        START + 8 * H,
        ConfMsg::Ack {
            session: 1,
            minutes: v2,
        },
    );
    log.push(
        "sz",
        START + 9 * H,
        ConfMsg::Rsvp {
            session: 1,
            answer: Rsvp::Attend,
        },
    );
    assert_eq!(log.last_ignored(), Some(ErrorCode::AgendaClosed)); // held already
    log.push(
        "nat",
        START + 10 * H,
        ConfMsg::Convene(Box::new(meeting(1))),
    );
    assert_eq!(log.last_ignored(), Some(ErrorCode::AgendaClosed));

    let (c, _) = log.state();
    let m = &c.meetings[&1];
    let mins = m.minutes.as_ref().unwrap();
    assert_eq!((mins.version, mins.text.as_str()), (2, "纪要（修订）"));
    assert_eq!(mins.resolutions[0].tally(), (2, 1, 1));
    assert!(mins.resolutions[0].adopted());
    assert_eq!(m.acks.keys().cloned().collect::<Vec<_>>(), vec![id("gd")]);
    assert_eq!(
        m.unacknowledged(&c.roster, c.host(1)),
        vec![id("nat"), id("sh"), id("sz")]
    );
    assert_eq!(c.upcoming_session(), 2);
    assert_eq!(m.uid, uid);
}

#[test]
fn rescheduling_and_cancelling_bump_the_sequence_and_thin_years_are_flagged() {
    let mut log = Log::new();
    log.push("nat", 1, ConfMsg::Schedule(Box::new(published(vec![]))));
    log.push("nat", 2, ConfMsg::Convene(Box::new(meeting(1))));
    let mut later = meeting(1);
    later.date = "2026-03-16".into();
    log.push("nat", 3, ConfMsg::Convene(Box::new(later)));
    let mut second = meeting(2);
    second.date = "2026-09-15".into();
    log.push("nat", 4, ConfMsg::Convene(Box::new(second)));
    let (c, _) = log.state();
    assert_eq!(c.meetings[&1].sequence, 1);
    assert_eq!(c.meetings[&1].meeting.date, "2026-03-16");
    assert!(c.thin_years(2026).is_empty());
    log.push(
        "nat",
        5,
        ConfMsg::Cancel {
            session: 2,
            reason: "改期".into(),
        },
    );
    let (c, _) = log.state();
    assert_eq!(c.meetings[&2].sequence, 1);
    assert_eq!(c.thin_years(2026), vec![(2026, 1)]);
    assert!(
        c.thin_years(2027).is_empty(),
        "a past year is not warned about"
    );
    log.push(
        "sz",
        6,
        ConfMsg::Rsvp {
            session: 2,
            answer: Rsvp::Attend,
        },
    );
    assert_eq!(log.last_ignored(), Some(ErrorCode::AgendaClosed));
}

#[test]
fn meeting_times_are_checked_and_converted_in_their_zone() {
    let m = meeting(1);
    assert_eq!(m.start_ms().unwrap(), START);
    assert_eq!(m.display_title(), "第1次联席会议");
    assert_eq!(m.local_time_after(75), "10:45");
    let mut ny = m.clone();
    ny.tz = "America/New_York".into();
    assert_eq!(ny.start_ms().unwrap(), START + 12 * H); // EDT from 8 March 2026
    for (f, code) in [
        (
            Box::new(|m: &mut Meeting| m.tz = "Mars/Olympus".into()) as Box<dyn Fn(&mut Meeting)>,
            "time zone",
        ),
        (
            Box::new(|m: &mut Meeting| m.date = "2026-02-30".into()),
            "date",
        ),
        (Box::new(|m: &mut Meeting| m.start = "25:00".into()), "time"),
        (
            Box::new(|m: &mut Meeting| m.agenda_deadline = "2026-03-16 00:00".into()),
            "close before",
        ),
        (Box::new(|m: &mut Meeting| m.place.clear()), "place"),
    ] {
        let mut bad = m.clone();
        f(&mut bad);
        let e = bad.validate().unwrap_err();
        assert!(e.message.contains(code), "{code}: {e}");
    }
}

#[test]
fn conference_messages_round_trip_through_the_payload_codec() {
    let msg = ConfMsg::Schedule(Box::new(published(vec![])));
    let p = crate::Payload::Conference(msg);
    assert_eq!(crate::Payload::decode(&p.encode()).unwrap(), p);
    let bad = crate::Payload::Conference(ConfMsg::Rsvp {
        session: 1,
        answer: Rsvp::Absent { reason: " ".into() },
    });
    assert_eq!(
        crate::Payload::decode(&bad.encode()).unwrap_err().code,
        ErrorCode::BadPayload
    );
}

#[test]
fn a_swap_takes_both_members_own_agreements() {
    let swap = |by: Vec<MessageId>| PoolChange::Swap {
        a: id("bj"),
        b: id("gd"),
        confirmed_a: true,
        confirmed_b: true,
        by,
    };
    let mut log = Log::new();
    let from_bj = log.push("bj", START - 100 * H, ConfMsg::Swap { with: id("gd") });
    log.push("nat", START - 99 * H, ConfMsg::Swap { with: id("bj") });
    assert_eq!(log.last_ignored(), Some(ErrorCode::NotMember));
    log.push(
        "nat",
        START - 98 * H,
        ConfMsg::Schedule(Box::new(published(vec![swap(vec![from_bj])]))),
    );
    assert_eq!(log.last_ignored(), Some(ErrorCode::BadSchedule));
    let from_gd = log.push("gd", START - 97 * H, ConfMsg::Swap { with: id("bj") });
    log.push(
        "nat",
        START - 96 * H,
        ConfMsg::Schedule(Box::new(published(vec![swap(vec![from_bj, from_gd])]))),
    );
    assert_eq!(log.last_ignored(), None);
    let c = log.state().0;
    assert_eq!(c.host(1), Some(&id("gd")));
    assert!(c.pending_answers().is_empty());
}

/// The chair's schedule and the convening of session 1.
fn convened() -> Log {
    let mut log = Log::new();
    log.push(
        "nat",
        START - 300 * H,
        ConfMsg::Schedule(Box::new(published(vec![]))),
    );
    log.push(
        "nat",
        START - 299 * H,
        ConfMsg::Convene(Box::new(meeting(1))),
    );
    log
}

#[test]
fn history_stays_true_when_the_directory_changes_later() {
    let mut log = convened();
    // Later a second national chair is enrolled ("aaa" sorts first) and nat's
    // certificate is dropped: what was decided stays decided.
    let mut later = dir();
    later.retain(|n| n.node_id != id("nat"));
    later.push(node("aaa", Tier::National, &[Role::Chair]));
    let today = Roster::from_directory(&later);
    assert_eq!(today.chair, Some(id("aaa")));
    let (c, entries) = fold(today, &log.events);
    assert!(entries.iter().all(|e| e.ignored.is_none()));
    assert_eq!(c.host(1), Some(&id("bj")));
    assert!(c.meetings.contains_key(&1));
    // A message accepted when its sender was not the chair stays ignored even
    // if the sender becomes chair later.
    log.push_in(
        &dir(),
        "hotline",
        START - 298 * H,
        ConfMsg::Cancel {
            session: 1,
            reason: "改期".into(),
        },
    );
    let mut promoted = dir();
    promoted.push(node("hotline", Tier::National, &[Role::Chair]));
    let (c, _) = fold(Roster::from_directory(&promoted), &log.events);
    assert!(c.meetings[&1].cancelled.is_none());
}

fn arb_event() -> impl Strategy<Value = (usize, i64, u8)> {
    (0usize..14, 0i64..400, any::<u8>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Any arrival order gives the same state and log; ties in time are broken by id.
    #[test]
    fn any_order_of_arrival_folds_to_the_same_conference(
        picks in proptest::collection::vec(arb_event(), 1..30),
        seed in any::<u64>(),
    ) {
        let senders = ["nat", "bj", "sh", "gd", "sz", "hotline"];
        let mut log = Log::new();
        let mut proposals = vec![];
        for (k, t, x) in picks {
            let at = START - 300 * H + t * H;
            let s = senders[usize::from(x) % senders.len()];
            let msg = match k {
                0 => ConfMsg::Schedule(Box::new(published(vec![]))),
                1 | 2 => ConfMsg::Convene(Box::new(meeting(1 + u32::from(x % 2)))),
                3 => ConfMsg::Cancel { session: 1, reason: "r".into() },
                4 | 5 => ConfMsg::Propose { session: 1, item: item("议题", 10) },
                6 => ConfMsg::Agenda { session: 1, slots: proposals.iter().map(|p| Slot { item: *p, minutes: 10 }).collect() },
                7 | 8 => ConfMsg::Rsvp { session: 1, answer: if x % 2 == 0 { Rsvp::Attend } else { Rsvp::Absent { reason: "事".into() } } },
                9 => ConfMsg::Remind { session: 1, of: RemindOf::Rsvp, note: String::new() },
                10 | 11 => ConfMsg::Minutes { session: 1, text: "纪要".into(), resolutions: vec![], attachments: vec![] },
                _ => ConfMsg::Ack { session: 1, minutes: proposals.first().copied().unwrap_or(MessageId::new_v7(0, [0; 16])) },
            };
            let mid = log.push(s, at, msg);
            if k == 4 || k == 5 { proposals.push(mid); }
        }
        let (a, la) = log.state();
        let mut shuffled = log.events.clone();
        let mut r = seed;
        for i in (1..shuffled.len()).rev() {
            r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (r >> 33) as usize % (i + 1));
        }
        shuffled.push(shuffled[0].clone()); // a duplicate delivery
        let (b, lb) = fold(roster(), &shuffled);
        prop_assert_eq!(a, b);
        prop_assert_eq!(la, lb);
    }
}

/// What only the chair and the hosts decide.
fn authority(c: &Conference) -> impl PartialEq + std::fmt::Debug {
    let sessions: Vec<_> = c
        .meetings
        .values()
        .map(|m| {
            (
                m.meeting.clone(),
                m.uid,
                m.sequence,
                m.cancelled.clone(),
                m.agenda.clone(),
                m.minutes.clone(),
                m.reminders.clone(),
            )
        })
        .collect();
    (
        c.schedule.clone(),
        c.schedule_id,
        (1..8).map(|s| c.host(s).cloned()).collect::<Vec<_>>(),
        sessions,
    )
}

fn legitimate() -> Log {
    let mut log = convened();
    let p = log.push(
        "sz",
        START - 200 * H,
        ConfMsg::Propose {
            session: 1,
            item: item("议题", 30),
        },
    );
    log.push(
        "bj",
        START - 100 * H,
        ConfMsg::Agenda {
            session: 1,
            slots: vec![Slot {
                item: p,
                minutes: 30,
            }],
        },
    );
    log.push(
        "bj",
        START + 3 * H,
        ConfMsg::Minutes {
            session: 1,
            text: "纪要".into(),
            resolutions: vec![],
            attachments: vec![],
        },
    );
    log
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Messages from nodes without authority (a national node that is not the
    /// chair, a member, a pool member that does not host session 1, a node
    /// outside the directory), with any kinds, times and ids, change nothing
    /// the chair or the host decides.
    #[test]
    fn messages_without_authority_change_nothing(
        rogue in proptest::collection::vec((0usize..4, 0usize..9, any::<i64>(), any::<[u8; 16]>()), 1..20),
    ) {
        let reference = legitimate();
        let (want, _) = reference.state();
        let mut log = legitimate();
        for (who, kind, at, bytes) in rogue {
            let sender = ["hotline", "sz", "gd", "evil"][who];
            let at = at.clamp(START - 10_000 * H, START + 10_000 * H);
            let msg = match kind {
                0 => ConfMsg::Schedule(Box::new(published(vec![]))),
                1 => ConfMsg::Convene(Box::new(meeting(1))),
                2 => ConfMsg::Cancel { session: 1, reason: "伪造".into() },
                3 => ConfMsg::Agenda { session: 1, slots: vec![] },
                4 => ConfMsg::Remind { session: 1, of: RemindOf::Rsvp, note: String::new() },
                5 => ConfMsg::Minutes { session: 1, text: "伪造".into(), resolutions: vec![], attachments: vec![] },
                6 => ConfMsg::Convene(Box::new(meeting(2))),
                7 => {
                    let mut p = published(vec![]);
                    p.input.pool.reverse();
                    p.turns = generate(&p.input).unwrap().turns;
                    ConfMsg::Schedule(Box::new(p))
                }
                _ => ConfMsg::Cancel { session: 2, reason: "伪造".into() },
            };
            log.n = log.n.wrapping_add(1);
            log.events.push(ConfEvent {
                id: MessageId::new_v7(at, bytes),
                sender: id(sender),
                created_at: at,
                context: standings(&dir(), &id(sender), &msg),
                msg,
            });
        }
        let (got, _) = log.state();
        prop_assert_eq!(authority(&got), authority(&want));
    }
}
