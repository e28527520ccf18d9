use proptest::prelude::*;

use super::*;

fn id(n: &str) -> NodeId {
    NodeId::new(n).unwrap()
}

fn facts() -> CaseFacts {
    CaseFacts {
        number: "2026-BJ-0007".into(),
        title: "某出口企业遭遇反倾销调查".into(),
        category: CaseCategory::TradeRemedy,
        jurisdiction: "美国".into(),
        summary: "企业出口产品被立案调查".into(),
        support: vec![Support::Legal, Support::Association],
        urgency: Urgency::Urgent,
    }
}

struct Timeline {
    case: MessageId,
    events: Vec<CaseEvent>,
    t: i64,
}

impl Timeline {
    fn new(by: &str) -> Timeline {
        let case = MessageId::generate(1_000);
        let notice = CaseNotice {
            facts: facts(),
            status: CaseStatus::Reported,
            handlers: vec![id(by)],
            shared: vec![id("gd")],
            recused: vec![id("zj")],
            sealed: vec![1, 2, 3],
            history: Vec::new(),
        };
        let first = CaseEvent {
            id: case,
            sender: id(by),
            created_at: 1_000,
            msg: CaseMsg {
                case,
                change: CaseChange::Notice(Box::new(notice)),
            },
            context: (),
        };
        Timeline {
            case,
            events: vec![first],
            t: 1_000,
        }
    }

    fn add(&mut self, by: &str, change: CaseChange) -> &mut Self {
        self.t += 10;
        self.events.push(CaseEvent {
            id: MessageId::generate(self.t),
            sender: id(by),
            created_at: self.t,
            msg: CaseMsg {
                case: self.case,
                change,
            },
            context: (),
        });
        self
    }

    fn state(&self) -> (CaseState, Vec<Step>) {
        let (s, steps) = fold(self.case, &self.events);
        (s.unwrap(), steps)
    }
}

fn status(s: CaseStatus) -> CaseChange {
    CaseChange::Status {
        status: s,
        note: String::new(),
    }
}

#[test]
fn only_handlers_change_a_case_and_the_lifecycle_is_enforced() {
    let mut t = Timeline::new("bj");
    t.add("gd", status(CaseStatus::Accepted)) // not a handler
        .add("bj", status(CaseStatus::Resolved)) // reported cannot jump to resolved
        .add("bj", status(CaseStatus::Accepted))
        .add("bj", status(CaseStatus::InProgress));
    let (s, steps) = t.state();
    assert_eq!(s.status, CaseStatus::InProgress);
    let codes = crate::event::ignored_codes(&steps);
    assert_eq!(
        codes,
        [
            None,
            Some(ErrorCode::NotHandler),
            Some(ErrorCode::BadTransition),
            None,
            None
        ]
    );
    assert_eq!(s.audience(&id("bj")), vec![id("gd")], "zj is recused");
}

#[test]
fn a_referral_accepted_makes_a_handler_and_asks_for_a_grant() {
    let mut t = Timeline::new("bj");
    t.add("bj", status(CaseStatus::Accepted)).add(
        "bj",
        CaseChange::Referral {
            to: id("sh"),
            note: "属上海管辖".into(),
        },
    );
    let (s, _) = t.state();
    assert_eq!(s.status, CaseStatus::Referred);
    assert!(s.audience(&id("bj")).contains(&id("sh")));
    // Someone else cannot answer for sh.
    t.add(
        "gd",
        CaseChange::ReferralAnswer {
            accept: true,
            reason: String::new(),
        },
    );
    assert!(!t.state().0.is_handler(&id("gd")));
    t.add(
        "sh",
        CaseChange::ReferralAnswer {
            accept: true,
            reason: String::new(),
        },
    );
    let (s, _) = t.state();
    assert!(s.is_handler(&id("sh")));
    assert_eq!(s.status, CaseStatus::Accepted);
    assert_eq!(s.grant_due, Some(id("bj")));
    t.add("bj", CaseChange::Grant { sealed: vec![9] });
    let (s, _) = t.state();
    assert_eq!(s.grant_due, None);
    assert_eq!(s.sealed.last(), Some(&vec![9]));
}

#[test]
fn a_declined_referral_returns_to_the_previous_status() {
    let mut t = Timeline::new("bj");
    t.add("bj", status(CaseStatus::Accepted))
        .add("bj", status(CaseStatus::InProgress))
        .add(
            "bj",
            CaseChange::Referral {
                to: id("sh"),
                note: String::new(),
            },
        )
        .add(
            "sh",
            CaseChange::ReferralAnswer {
                accept: false,
                reason: "不属管辖".into(),
            },
        );
    let (s, _) = t.state();
    assert_eq!(s.status, CaseStatus::InProgress);
    assert!(!s.is_handler(&id("sh")));
    assert!(s.referral.is_none());
}

#[test]
fn recused_nodes_cannot_be_shared_with_or_referred_to() {
    let t = Timeline::new("bj");
    let (s, _) = t.state();
    let mut n = match &t.events[0].msg.change {
        CaseChange::Notice(n) => (**n).clone(),
        _ => unreachable!(),
    };
    n.shared.push(id("zj"));
    let e = s
        .check(&id("bj"), &CaseChange::Notice(Box::new(n)))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Recused);
    let e = s
        .check(
            &id("bj"),
            &CaseChange::Referral {
                to: id("zj"),
                note: String::new(),
            },
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Recused);
    // A recusal after sharing takes the node out of the audience.
    let mut t = Timeline::new("bj");
    t.add(
        "bj",
        CaseChange::Recusal {
            nodes: vec![id("gd")],
            reason: "利益相关".into(),
        },
    );
    assert!(t.state().0.audience(&id("bj")).is_empty());
}

#[test]
fn confidential_fields_open_only_for_handlers_and_redaction_removes_them() {
    let handler = crate::agekey::AgeKey::generate();
    let other = crate::agekey::AgeKey::generate();
    let c = Confidential {
        enterprise: "深圳市某某科技有限公司".into(),
        contact: "王经理 13800138000".into(),
    };
    let sealed = c.seal(&[handler.to_public()]).unwrap();
    assert_eq!(Confidential::open(&sealed, &handler).unwrap(), c);
    assert_eq!(
        Confidential::open(&sealed, &other).unwrap_err().code,
        ErrorCode::DecryptFailed
    );
    let text = "深圳市某某科技有限公司遭遇调查，联系人王经理（13800138000）。";
    let red = c.redact(text);
    assert!(c.leaks(&red).is_empty(), "{red}");
    assert_eq!(red, "【已隐去】遭遇调查，联系人【已隐去】（【已隐去】）。");
    assert_eq!(
        c.leaks("请联系 13800138000"),
        vec!["13800138000".to_owned()]
    );
}

#[test]
fn an_enterprise_is_found_by_the_short_names_people_use() {
    let c = Confidential {
        enterprise: "深圳某某光伏科技有限公司".into(),
        contact: "李女士".into(),
    };
    for text in [
        "某某光伏近日遭遇反倾销调查",
        "深圳某某光伏科技的出口受阻",
        "该企业（某某光伏科技）已提交材料",
    ] {
        assert!(!c.leaks(text).is_empty(), "{text} leaks the enterprise");
        let red = c.redact(text);
        assert!(c.leaks(&red).is_empty(), "{red}");
        assert!(red.contains(REDACTED), "{red}");
    }
    // Text without the name stays as it is.
    let clean = "某省光伏企业遭遇反倾销调查，协会协调律师应诉。";
    assert!(c.leaks(clean).is_empty());
    assert_eq!(c.redact(clean), clean);
    assert_eq!(
        short_forms("深圳某某光伏科技有限公司")[0],
        "深圳某某光伏科技"
    );
    assert!(short_forms("ACME GmbH").is_empty());
}

fn arb_change() -> impl Strategy<Value = (usize, CaseChange)> {
    let who = 0..4usize;
    let st = prop::sample::select(CaseStatus::ALL.to_vec());
    prop_oneof![
        (who.clone(), st).prop_map(|(w, s)| (w, status(s))),
        who.clone().prop_map(|w| (
            w,
            CaseChange::Note {
                text: "记录".into(),
                attachments: vec![]
            }
        )),
        (who.clone(), 0..4usize).prop_map(|(w, to)| (
            w,
            CaseChange::Referral {
                to: id(NODES[to]),
                note: String::new()
            }
        )),
        (who.clone(), any::<bool>()).prop_map(|(w, a)| (
            w,
            CaseChange::ReferralAnswer {
                accept: a,
                reason: String::new()
            }
        )),
        (who, 0..4usize).prop_map(|(w, n)| (
            w,
            CaseChange::Recusal {
                nodes: vec![id(NODES[n])],
                reason: String::new()
            }
        )),
    ]
}

const NODES: [&str; 4] = ["bj", "sh", "gd", "zj"];

proptest! {
    /// Any arrival order, with duplicates, gives the same state and timeline.
    #[test]
    fn the_fold_converges_whatever_the_arrival_order(
        changes in prop::collection::vec(arb_change(), 0..25),
        seed in any::<u64>(),
    ) {
        let mut t = Timeline::new("bj");
        for (w, c) in changes {
            t.add(NODES[w], c);
        }
        let reference = fold(t.case, &t.events);
        let mut shuffled = t.events.clone();
        shuffled.extend(t.events.iter().take(3).cloned());
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let again = fold(t.case, &shuffled);
        prop_assert_eq!(reference, again);
    }
}

/// A member the case was shared with, never a handler nor referred to.
const ROGUE: &str = "zz";

fn rogue_notice(h: usize) -> CaseChange {
    CaseChange::Notice(Box::new(CaseNotice {
        facts: facts(),
        status: CaseStatus::Reported,
        handlers: vec![id(ROGUE), id(NODES[h])],
        shared: vec![],
        recused: vec![id(NODES[h])],
        sealed: vec![9],
        history: Vec::new(),
    }))
}

fn arb_rogue() -> impl Strategy<Value = (i64, i64, [u8; 16], CaseChange)> {
    let change = prop_oneof![
        arb_change().prop_map(|(_, c)| c),
        (0..4usize).prop_map(rogue_notice),
        Just(CaseChange::Grant { sealed: vec![7] }),
    ];
    (any::<i64>(), 0..(1i64 << 47), any::<[u8; 16]>(), change)
}

#[test]
fn a_backdated_notice_from_a_shared_node_takes_nothing_over() {
    let mut t = Timeline::new("bj");
    t.add("bj", status(CaseStatus::Accepted));
    let before = t.state().0;
    // A year before the intake, naming itself handler and recusing bj.
    t.events.push(CaseEvent {
        id: MessageId::generate(1),
        sender: id(ROGUE),
        created_at: 1_000 - 365 * 86_400_000,
        msg: CaseMsg {
            case: t.case,
            change: rogue_notice(0),
        },
        context: (),
    });
    let (after, steps) = t.state();
    assert_eq!(after, before);
    assert_eq!(after.origin, id("bj"));
    let ignored = steps.iter().find(|s| s.event.sender == id(ROGUE)).unwrap();
    assert_eq!(
        ignored.ignored.as_ref().unwrap().code,
        ErrorCode::UnknownReference
    );
    // And bj can still recuse it.
    assert!(
        after
            .check(
                &id("bj"),
                &CaseChange::Recusal {
                    nodes: vec![id(ROGUE)],
                    reason: String::new()
                }
            )
            .is_ok()
    );
}

proptest! {
    /// Whatever a non-handler sends, with any times and ids, the fold ends
    /// in the same state: origin, handlers, grants, recusals, status.
    #[test]
    fn messages_from_a_non_handler_change_nothing(
        changes in prop::collection::vec(arb_change(), 0..20),
        rogue in prop::collection::vec(arb_rogue(), 1..12),
    ) {
        let mut t = Timeline::new("bj");
        for (w, c) in changes {
            // Never refer to the rogue: then it would be entitled to answer.
            if matches!(&c, CaseChange::Referral { to, .. } if to.as_str() == ROGUE) {
                continue;
            }
            t.add(NODES[w], c);
        }
        let (reference, _) = fold(t.case, &t.events);
        let mut events = t.events.clone();
        for (at, id_ms, rand, change) in rogue {
            events.push(CaseEvent {
                id: MessageId::new_v7(id_ms, rand),
                sender: id(ROGUE),
                created_at: at,
                msg: CaseMsg { case: t.case, change },
                context: (),
            });
        }
        let (with_rogue, _) = fold(t.case, &events);
        prop_assert_eq!(reference, with_rogue);
    }
}
