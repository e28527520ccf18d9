use proptest::prelude::*;

use super::*;

fn node(n: &str) -> NodeId {
    NodeId::new(n).unwrap()
}

fn ev(id: MessageId, by: &str, at: i64, msg: ThreadMsg) -> ThreadEvent {
    Event {
        id,
        sender: node(by),
        created_at: at,
        msg,
        context: (),
    }
}

fn mid(n: u8) -> MessageId {
    MessageId::new_v7(1_000, [n; 16])
}

fn standings(t: &Thread) -> Vec<(u32, &'static str)> {
    t.versions
        .iter()
        .map(|v| (v.revision, v.standing.as_str()))
        .collect()
}

#[test]
fn the_latest_revision_is_current_and_a_withdrawal_takes_it_back() {
    let o = mid(1);
    let mut events = vec![
        ev(o, "nat", 1_000, ThreadMsg::Original),
        ev(mid(2), "nat", 2_000, ThreadMsg::Revision { revision: 1 }),
    ];
    let (t, _) = fold(o, &events);
    let t = t.unwrap();
    assert_eq!(standings(&t), vec![(0, "superseded"), (1, "current")]);
    assert_eq!(t.author, node("nat"));
    events.push(ev(
        mid(3),
        "nat",
        3_000,
        ThreadMsg::Withdrawal {
            reason: "政策已废止".into(),
        },
    ));
    // A correction sent after the withdrawal: the bulletin stays withdrawn.
    events.push(ev(
        mid(4),
        "nat",
        4_000,
        ThreadMsg::Revision { revision: 2 },
    ));
    let (t, steps) = fold(o, &events);
    let t = t.unwrap();
    assert_eq!(
        standings(&t),
        vec![(0, "superseded"), (1, "superseded"), (2, "withdrawn")]
    );
    assert_eq!(
        t.latest().unwrap().standing,
        Standing::Withdrawn {
            reason: "政策已废止".into()
        }
    );
    assert!(steps.iter().all(|s| s.ignored.is_none()));
}

#[test]
fn only_the_author_revises_or_withdraws_and_revision_0_is_refused() {
    let o = mid(1);
    let events = vec![
        ev(o, "nat", 1_000, ThreadMsg::Original),
        ev(mid(2), "gd", 2_000, ThreadMsg::Revision { revision: 5 }),
        ev(
            mid(3),
            "gd",
            2_000,
            ThreadMsg::Withdrawal {
                reason: "冒充".into(),
            },
        ),
        ev(mid(4), "nat", 2_000, ThreadMsg::Revision { revision: 0 }),
        ev(mid(5), "gd", 900, ThreadMsg::Original),
    ];
    let (t, steps) = fold(o, &events);
    assert_eq!(standings(&t.unwrap()), vec![(0, "current")]);
    let codes = crate::event::ignored_codes(&steps);
    assert_eq!(
        codes,
        vec![
            Some(ErrorCode::BadPayload),
            None,
            Some(ErrorCode::NotEntitled),
            Some(ErrorCode::NotEntitled),
            Some(ErrorCode::BadPayload),
        ]
    );
}

#[test]
fn without_its_bulletin_a_thread_waits() {
    let o = mid(1);
    let (t, steps) = fold(
        o,
        &[ev(
            mid(2),
            "nat",
            2_000,
            ThreadMsg::Revision { revision: 1 },
        )],
    );
    assert!(t.is_none());
    assert_eq!(
        steps[0].ignored.as_ref().map(|e| e.code),
        Some(ErrorCode::UnknownReference)
    );
}

#[test]
fn receipts_and_reminders_come_only_from_those_entitled() {
    let ours = Known {
        id: mid(1),
        sender: node("nat"),
        ours: true,
    };
    let theirs = Known {
        ours: false,
        ..ours.clone()
    };
    assert!(check_receipt(&ours, &node("gd"), true).is_ok());
    assert_eq!(
        check_receipt(&ours, &node("zj"), false).unwrap_err().code,
        ErrorCode::NotEntitled
    );
    assert_eq!(
        check_receipt(&theirs, &node("gd"), true).unwrap_err().code,
        ErrorCode::UnknownReference
    );
    assert!(check_reminder(&theirs, &node("nat")).is_ok());
    assert!(check_reminder(&theirs, &node("gd")).is_err());
    assert!(check_reminder(&ours, &node("nat")).is_err());
    assert_eq!(
        receipt_time(9_999_999, 5_000),
        5_000,
        "no later than its envelope"
    );
    assert_eq!(receipt_time(4_000, 5_000), 4_000);
}

fn arb_event() -> impl Strategy<Value = ThreadEvent> {
    let msg = prop_oneof![
        Just(ThreadMsg::Original),
        (0u32..4).prop_map(|revision| ThreadMsg::Revision { revision }),
        "[a-c]{0,2}".prop_map(|reason| ThreadMsg::Withdrawal { reason }),
    ];
    (1u8..40, prop_oneof![Just("nat"), Just("gd")], 0i64..50, msg)
        .prop_map(|(n, by, at, msg)| ev(mid(n), by, at, msg))
}

proptest! {
    /// Two nodes holding the same messages, received in any order, agree.
    #[test]
    fn the_order_of_arrival_does_not_matter(
        mut events in proptest::collection::vec(arb_event(), 0..10),
        with_original in any::<bool>(),
        seed in any::<u64>(),
    ) {
        if with_original {
            events.insert(0, ev(mid(1), "nat", 25, ThreadMsg::Original));
        }
        // Ids are unique: the hub never lets one be used twice.
        let mut seen = std::collections::HashSet::new();
        events.retain(|e| seen.insert(e.id));
        let mut shuffled = events.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let (a, sa) = fold(mid(1), &events);
        let (b, sb) = fold(mid(1), &shuffled);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(sa, sb);
        if let Some(t) = a {
            let live = t.versions.iter().filter(|v| v.standing != Standing::Superseded).count();
            prop_assert_eq!(live, 1, "exactly one version is not superseded");
        }
    }

    /// Messages from anyone but the author change nothing.
    #[test]
    fn others_change_nothing(mut events in proptest::collection::vec(arb_event(), 0..10)) {
        let mut seen = std::collections::HashSet::new();
        events.retain(|e| seen.insert(e.id));
        let mut base: Vec<ThreadEvent> = vec![ev(mid(1), "nat", 25, ThreadMsg::Original)];
        base.extend(events.iter().filter(|e| e.sender == node("nat") && e.id != mid(1)).cloned());
        let mut all = base.clone();
        all.extend(events.iter().filter(|e| e.sender == node("gd") && e.id != mid(1)
            && !base.iter().any(|b| b.id == e.id)).cloned());
        prop_assert_eq!(fold(mid(1), &base).0, fold(mid(1), &all).0);
    }
}
