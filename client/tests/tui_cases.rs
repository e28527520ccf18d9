//! The Cases tab without a terminal: `update` driven directly, and the case
//! list with a timeline, the intake form and the typical-case redaction
//! preview rendered into `TestBackend` and compared with insta snapshots.

#![allow(clippy::unwrap_used)]

use lianxi::tui::app::{App, Mode, Tab};
use lianxi::tui::i18n::Lang;
use lianxi::tui::tabs::cases::{CaseDetail, IntakeField, TypicalView};
use lianxi::tui::update::{Action, Effect, update};
use lianxi_node::archive::cases::CaseFile;
use lianxi_node::cases::TypicalDraft;
use lianxi_shared::case::{
    CaseCategory, CaseChange, CaseEvent, CaseFacts, CaseMsg, CaseNotice, CaseStatus, Confidential,
    Support, Urgency, fold,
};
use lianxi_shared::{MessageId, NodeId};

#[macro_use]
mod tui_support;
use tui_support::{T0, directory, screen};

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn conf() -> Confidential {
    Confidential {
        enterprise: "东莞市某某光伏科技有限公司".into(),
        contact: "陈经理 13800138000".into(),
    }
}

/// A case registered by the hotline, shared with gd, with a timeline that
/// includes a step refused by the fold (a non-handler's status change).
fn case_file(number: &str, title: &str, status: CaseStatus, at: i64) -> CaseFile {
    let case = MessageId::new_v7(at, [1; 16]);
    let ev = |n: u8, t: i64, by: &str, change: CaseChange| CaseEvent {
        id: MessageId::new_v7(t, [n; 16]),
        sender: id(by),
        created_at: t,
        msg: CaseMsg { case, change },
        context: (),
    };
    let notice = CaseNotice {
        facts: CaseFacts {
            number: number.into(),
            title: title.into(),
            category: CaseCategory::TradeRemedy,
            jurisdiction: "美国".into(),
            summary: "企业出口的光伏组件被美方立案反倾销调查，涉案金额约两千万美元，应诉期限紧迫。"
                .into(),
            support: vec![Support::Legal, Support::Association],
            urgency: Urgency::Urgent,
        },
        status: CaseStatus::Reported,
        handlers: vec![id("hotline")],
        shared: vec![id("gd")],
        recused: vec![id("sz")],
        sealed: vec![0; 8],
        history: Vec::new(),
    };
    let mut events = vec![CaseEvent {
        id: case,
        sender: id("hotline"),
        created_at: at,
        msg: CaseMsg {
            case,
            change: CaseChange::Notice(Box::new(notice)),
        },
        context: (),
    }];
    let steps = [
        (
            "gd",
            CaseChange::Status {
                status: CaseStatus::Closed,
                note: String::new(),
            },
        ),
        (
            "hotline",
            CaseChange::Status {
                status: CaseStatus::Accepted,
                note: "已安排律师".into(),
            },
        ),
        (
            "hotline",
            CaseChange::Note {
                text: "已组织行业协会召开应诉协调会".into(),
                attachments: vec![],
            },
        ),
        (
            "hotline",
            CaseChange::Status {
                status,
                note: String::new(),
            },
        ),
    ];
    for (i, (by, change)) in steps.into_iter().enumerate() {
        let n = i as u8 + 2;
        if i == 3 && status == CaseStatus::Accepted {
            break;
        }
        events.push(ev(n, at + i64::from(n) * 3_600_000, by, change));
    }
    let (state, steps) = fold(case, &events);
    CaseFile {
        state: state.unwrap(),
        steps,
    }
}

/// The app on the Cases tab, as the hotline desk, with two cases loaded.
fn cases_app(lang: Lang, size: (u16, u16)) -> App {
    let me = directory()[1].clone(); // hotline
    let mut a = App::new(me, "127.0.0.1:7443".into(), lang);
    a.now_ms = T0;
    a.size = size;
    update(&mut a, Action::DirectoryLoaded(directory()));
    update(&mut a, Action::GoTab(Tab::Cases));
    let open = case_file(
        "2026-HOTLINE-0012",
        "光伏组件出口遭遇反倾销调查🌞，请求法律与行会支持",
        CaseStatus::InProgress,
        T0 - 86_400_000,
    );
    let old = case_file(
        "2026-HOTLINE-0003",
        "会员企业货款被拖欠",
        CaseStatus::Accepted,
        T0 - 30 * 86_400_000,
    );
    update(
        &mut a,
        Action::CasesLoaded {
            view: 0,
            rows: vec![open.state.clone(), old.state],
        },
    );
    update(
        &mut a,
        Action::CaseLoaded(Box::new(CaseDetail {
            file: open,
            confidential: Some(conf()),
        })),
    );
    a
}

// ---- update -------------------------------------------------------------

#[test]
fn the_cases_tab_loads_its_views_and_follows_the_selection() {
    let mut a = App::new(directory()[1].clone(), "hub".into(), Lang::Zh);
    a.now_ms = T0;
    assert_eq!(
        update(&mut a, Action::GoTab(Tab::Cases)),
        [Effect::LoadCases { view: 0 }]
    );
    let f = case_file("2026-HOTLINE-0001", "案件一", CaseStatus::Accepted, T0);
    let g = case_file("2026-HOTLINE-0002", "案件二", CaseStatus::Accepted, T0 - 1);
    let fx = update(
        &mut a,
        Action::CasesLoaded {
            view: 0,
            rows: vec![f.state.clone(), g.state.clone()],
        },
    );
    assert_eq!(fx, [Effect::LoadCase(f.state.case.to_string())]);
    let fx = update(&mut a, Action::Down);
    assert_eq!(fx, [Effect::LoadCase(g.state.case.to_string())]);
    // A stale detail (for the other case) is not shown.
    update(
        &mut a,
        Action::CaseLoaded(Box::new(CaseDetail {
            file: f.clone(),
            confidential: None,
        })),
    );
    assert!(a.cases.detail.is_none());
    // f cycles the views: mine, shared, overdue, all.
    for view in [1, 2, 3, 0] {
        assert_eq!(
            update(&mut a, Action::NextFilter),
            [Effect::LoadCases { view }]
        );
    }
    // A list for a view no longer shown is dropped.
    update(&mut a, Action::NextFilter);
    update(
        &mut a,
        Action::CasesLoaded {
            view: 0,
            rows: vec![],
        },
    );
    assert_eq!(a.cases.rows.len(), 2);
    // Arrivals reload.
    assert_eq!(
        update(&mut a, Action::CasesChanged),
        [Effect::LoadCases { view: 1 }]
    );
}

#[test]
fn intake_checks_the_form_and_registers() {
    let mut a = cases_app(Lang::Zh, (80, 24));
    update(&mut a, Action::StartCompose);
    assert!(matches!(a.mode, Mode::Intake(_)));
    assert_eq!(update(&mut a, Action::Submit), []);
    let Mode::Intake(f) = &a.mode else { panic!() };
    assert_eq!(f.error.as_deref(), Some("请填写标题"));
    type_text(&mut a, "某企业商标被抢注");
    update(&mut a, Action::NextField); // category
    update(&mut a, Action::Left); // wraps to 其他
    update(&mut a, Action::Right); // back to 知识产权
    update(&mut a, Action::NextField);
    type_text(&mut a, "广东");
    update(&mut a, Action::NextField);
    type_text(&mut a, "佛山市某某陶瓷有限公司");
    update(&mut a, Action::NextField);
    type_text(&mut a, "林女士 13700000000");
    update(&mut a, Action::NextField);
    type_text(&mut a, "海外商标被抢注。");
    update(&mut a, Action::NextField); // support
    update(&mut a, Action::Right);
    update(&mut a, Action::Right);
    update(&mut a, Action::Char(' ')); // + 舆论
    update(&mut a, Action::NextField); // urgency
    update(&mut a, Action::Right);
    let Mode::Intake(f) = &a.mode else { panic!() };
    assert_eq!(f.focus, IntakeField::Urgency);
    let fx = update(&mut a, Action::Submit);
    let [Effect::Intake(i)] = &fx[..] else {
        panic!("{fx:?}")
    };
    assert_eq!(i.title, "某企业商标被抢注");
    assert_eq!(i.category, CaseCategory::Ip);
    assert_eq!(i.jurisdiction, "广东");
    assert_eq!(i.enterprise, "佛山市某某陶瓷有限公司");
    assert_eq!(i.support, [Support::Legal, Support::Publicity]);
    assert_eq!(i.urgency, Urgency::Urgent);
    // Sent once: a second Ctrl-S while it is being registered does nothing.
    assert_eq!(update(&mut a, Action::Submit), []);
    let fx = update(&mut a, Action::IntakeDone(Ok("2026-HOTLINE-0013".into())));
    assert!(matches!(a.mode, Mode::Normal));
    assert!(fx.contains(&Effect::LoadCases { view: 0 }));
    assert!(a.notice.as_ref().unwrap().0.contains("2026-HOTLINE-0013"));
}

fn type_text(a: &mut App, s: &str) {
    update(a, Action::Paste(s.into()));
}

fn typical_view() -> TypicalView {
    let c = conf();
    TypicalView::new(
        "case".into(),
        "2026-HOTLINE-0012".into(),
        TypicalDraft {
            title: "典型案例：光伏组件出口遭遇反倾销调查".into(),
            body: c.redact(&format!(
                "类别：贸易救济/反倾销\n管辖地：美国\n\n案情简介\n{}出口的光伏组件被立案调查。\n\n办理经过\n- 已与{}沟通应诉方案\n- 已办结：企业获得零税率裁决\n\n结果：已办结\n",
                c.enterprise, c.contact
            )),
        },
        c,
    )
}

#[test]
fn the_redaction_preview_refuses_to_publish_confidential_text() {
    let mut a = cases_app(Lang::Zh, (80, 24));
    assert_eq!(
        update(&mut a, Action::Typical),
        [Effect::TypicalDraft(a.cases.rows[0].case.to_string())]
    );
    update(&mut a, Action::TypicalReady(Ok(Box::new(typical_view()))));
    let Mode::Typical(v) = &a.mode else { panic!() };
    assert_eq!(v.leaks, 0);
    // The user types a phone number back in: flagged, and Ctrl-S refuses.
    type_text(&mut a, "联系电话13800138000");
    let Mode::Typical(v) = &a.mode else { panic!() };
    assert_eq!(v.leaks, 1);
    assert_eq!(update(&mut a, Action::Submit), []);
    let Mode::Typical(v) = &a.mode else { panic!() };
    assert!(v.error.is_some());
    for _ in 0.."联系电话13800138000".chars().count() {
        update(&mut a, Action::Backspace);
    }
    let fx = update(&mut a, Action::Submit);
    let [Effect::PublishTypical { case, draft }] = &fx[..] else {
        panic!("{fx:?}")
    };
    assert_eq!(case, "case");
    assert!(conf().leaks(&draft.body).is_empty());
    update(&mut a, Action::Published(Ok("id".into())));
    assert!(matches!(a.mode, Mode::Normal));
}

// ---- snapshots ----------------------------------------------------------

#[test]
fn snapshots_of_the_case_screens() {
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        let a = cases_app(Lang::Zh, (w, h));
        snap!(format!("case_timeline_{w}x{h}"), a);

        let mut a = cases_app(Lang::Zh, (w, h));
        update(&mut a, Action::StartCompose);
        type_text(
            &mut a,
            "出口企业遭遇反倾销调查，请求法律与行会支持（第二批）",
        );
        update(&mut a, Action::NextField);
        update(&mut a, Action::Right);
        update(&mut a, Action::NextField);
        type_text(&mut a, "美国");
        update(&mut a, Action::NextField);
        type_text(&mut a, "东莞市某某光伏科技有限公司");
        update(&mut a, Action::NextField);
        type_text(&mut a, "陈经理 13800138000");
        update(&mut a, Action::NextField);
        type_text(
            &mut a,
            "企业出口的光伏组件被美方立案调查，应诉期限仅剩二十天。🌞",
        );
        snap!(format!("case_intake_{w}x{h}"), a);

        let mut a = cases_app(Lang::Zh, (w, h));
        update(&mut a, Action::TypicalReady(Ok(Box::new(typical_view()))));
        snap!(format!("case_redaction_preview_{w}x{h}"), a);
        type_text(&mut a, "（联系人陈经理）");
        snap!(format!("case_redaction_leak_{w}x{h}"), a);
    }
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        let a = cases_app(Lang::En, (w, h));
        snap!(format!("case_timeline_english_{w}x{h}"), a);
        // What the demo gives every other node: a case shared with it, read
        // without the confidential fields.
        for lang in [Lang::Zh, Lang::En] {
            let a = member_app(lang, (w, h));
            let name = format!("case_shared_with_member_{lang:?}_{w}x{h}").to_lowercase();
            snap!(name, a);
        }
    }
}

/// The cases tab of a provincial association (gd) the hotline shared a case
/// with.
fn member_app(lang: Lang, size: (u16, u16)) -> App {
    let me = directory()[0].clone(); // gd
    let mut a = App::new(me, "127.0.0.1:7443".into(), lang);
    a.now_ms = T0;
    a.size = size;
    update(&mut a, Action::DirectoryLoaded(directory()));
    update(&mut a, Action::GoTab(Tab::Cases));
    let shared = case_file(
        "2026-HOTLINE-0001",
        "配套企业货款被拖欠逾期一年",
        CaseStatus::Accepted,
        T0 - 3 * 86_400_000,
    );
    update(
        &mut a,
        Action::CasesLoaded {
            view: 0,
            rows: vec![shared.state.clone()],
        },
    );
    update(
        &mut a,
        Action::CaseLoaded(Box::new(CaseDetail {
            file: shared,
            confidential: None,
        })),
    );
    a
}
