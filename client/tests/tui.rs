//! The terminal UI without a terminal: `update` driven directly, and every
//! screen rendered into ratatui's `TestBackend` and compared with insta
//! snapshots at 80x24 and 120x40 (times and ids filtered out).

#![allow(clippy::unwrap_used)]

use lianxi::tui::app::{App, ConnView, Field, Mode, Tab};
use lianxi::tui::i18n::Lang;
use lianxi::tui::render::render;
use lianxi::tui::tabs::bulletins::list::{PAGE, Page};
use lianxi::tui::update::{Action, Effect, SEARCH_DEBOUNCE_MS, update};
use lianxi_node::archive::{MessageRow, OutboxItem, OutboxState, SearchHit};
use lianxi_node::sync::ConnState;
use lianxi_shared::{Audience, MessageId, NodeId};
use ratatui::Terminal;
use ratatui::backend::{Backend, TestBackend};

#[macro_use]
mod tui_support;
use tui_support::{T0, directory, screen};

fn msg(i: usize, title: &str, body: &str, read: bool) -> MessageRow {
    MessageRow {
        id: MessageId::new_v7(T0 - i as i64 * 60_000, [i as u8; 16]).to_string(),
        direction: lianxi_node::archive::Direction::In,
        kind: "bulletin".into(),
        sender: if i.is_multiple_of(2) {
            "nat".into()
        } else {
            "sz".into()
        },
        audience: "all".into(),
        title: title.into(),
        body: Some(body.into()),
        created_at: T0 - i as i64 * 60_000,
        not_before: None,
        received_at: T0,
        read,
        state: "current".into(),
        revision: 0,
        category: None,
        ack_required: false,
        acked: false,
        via: None,
        attachments: 0,
        detail: None,
    }
}

const LONG: &str = "各成员协会：🎉 近期有关部门延续实施小微企业和个体工商户所得税优惠政策，并对增值税小规模纳税人减征政策作出调整。Please forward this to member firms; 请通过会刊、公众号和会员群及时转发👍，帮助会员企业准确享受政策。执行中遇到的问题，请在本月底前汇总报送联席会议秘书处。";

fn rows() -> Vec<MessageRow> {
    vec![
        msg(
            0,
            "关于转发小微企业税费优惠政策的通报（第二批）🎉 Extra long title that must be cut",
            LONG,
            false,
        ),
        msg(
            1,
            "深圳：会员企业反映的出口退税办理问题汇总",
            "近一个月共收集会员反映问题二十三条。",
            false,
        ),
        msg(
            2,
            "第十二次联席会议议题征集",
            "下一次联席会议拟于明年三月召开。",
            true,
        ),
        msg(3, "Mixed 中英 title with emoji 🚀🚀🚀", "body", true),
    ]
}

/// The id of the draft the open compose form saves into.
fn draft_id(a: &App) -> String {
    let Mode::Compose(c) = &a.mode else {
        panic!("compose")
    };
    assert!(!c.drafting.id.is_empty());
    c.drafting.id.clone()
}

/// An app with a loaded bulletin list, directory and outbox, connected.
fn app(lang: Lang, size: (u16, u16)) -> App {
    let mut a = App::new(directory()[0].clone(), "127.0.0.1:7443".into(), lang);
    a.now_ms = T0;
    a.size = size;
    update(&mut a, Action::DirectoryLoaded(directory()));
    update(
        &mut a,
        Action::Conn(ConnState::Connected {
            hub: "127.0.0.1:7443".into(),
        }),
    );
    update(
        &mut a,
        Action::PageLoaded(Page {
            preset: 0,
            start: 0,
            total: 4,
            unread: 2,
            rows: rows(),
        }),
    );
    update(&mut a, Action::DetailLoaded(rows()[0].clone()));
    let outbox = vec![OutboxItem {
        id: MessageId::new_v7(T0, [9; 16]),
        created_at: T0,
        audience: "provincial".into(),
        title: "关于报送本年度协会工作总结的通知".into(),
        payload: None,
        not_before: None,
        sealed: None,
        state: OutboxState::Queued,
        attempts: 1,
        last_error: Some("the hub cannot be reached [hub_unreachable]".into()),
        recipients: None,
    }];
    update(
        &mut a,
        Action::OutboxLoaded {
            items: outbox,
            pending: 1,
        },
    );
    a
}

/// The bulletin list holds just `row`, selected and shown in the detail pane.
fn show_one(a: &mut App, row: &MessageRow, unread: usize) {
    update(
        a,
        Action::PageLoaded(Page {
            preset: 0,
            start: 0,
            total: 1,
            unread,
            rows: vec![row.clone()],
        }),
    );
    update(a, Action::DetailLoaded(row.clone()));
}

// ---- update -------------------------------------------------------------

#[test]
fn navigation_moves_the_selection_and_loads_details() {
    let mut a = app(Lang::Zh, (80, 24));
    let fx = update(&mut a, Action::Down);
    assert_eq!(a.bulletins.selected, 1);
    assert_eq!(
        fx,
        [Effect::LoadDetail {
            id: rows()[1].id.clone(),
            mark_read: false
        }]
    );
    update(&mut a, Action::Bottom);
    assert_eq!(a.bulletins.selected, 3);
    update(&mut a, Action::Down);
    assert_eq!(a.bulletins.selected, 3, "stays on the last row");
    update(&mut a, Action::Top);
    assert_eq!(a.bulletins.selected, 0);
    let fx = update(&mut a, Action::Open);
    assert_eq!(
        fx,
        [Effect::LoadDetail {
            id: rows()[0].id.clone(),
            mark_read: true
        }]
    );
    let mut read = rows()[0].clone();
    read.read = true;
    update(&mut a, Action::DetailLoaded(read));
    assert_eq!(a.bulletins.unread, 1, "opening marks it read");
    assert_eq!(
        update(&mut a, Action::NextTab),
        [Effect::LoadCases { view: 0 }]
    );
    assert_eq!(a.tab, Tab::Cases);
    assert_eq!(
        update(&mut a, Action::GoTab(Tab::Directory)),
        [Effect::LoadDirectory]
    );
    assert_eq!(
        update(&mut a, Action::PrevTab),
        [Effect::LoadConference, Effect::LoadDirectory]
    );
    assert_eq!(a.tab, Tab::Meetings);
    update(&mut a, Action::Quit);
    assert!(a.quit);
}

#[test]
fn large_lists_are_paged_not_loaded_whole() {
    let mut a = app(Lang::Zh, (80, 24));
    let page: Vec<MessageRow> = (0..PAGE)
        .map(|i| msg(i, &format!("通报 {i}"), "", true))
        .collect();
    update(
        &mut a,
        Action::PageLoaded(Page {
            preset: 0,
            start: 0,
            total: 100_000,
            unread: 0,
            rows: page,
        }),
    );
    let fx = update(&mut a, Action::Bottom);
    assert!(
        fx.contains(&Effect::LoadPage {
            preset: 0,
            start: 99_999 - PAGE / 2,
            len: PAGE
        }),
        "{fx:?}"
    );
    assert_eq!(a.bulletins.selected, 99_999);
    assert!(a.bulletins.rows.len() <= PAGE);
    // While the page loads the row shows as loading; a second move does not ask again.
    let fx = update(&mut a, Action::Up);
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::LoadPage { preset: 0, .. }))
    );
    assert!(a.bulletins.scroll + a.list_height() > a.bulletins.selected);
}

#[test]
fn compose_validates_and_queues() {
    let mut a = app(Lang::Zh, (80, 24));
    let fx = update(&mut a, Action::StartCompose);
    assert_eq!(fx, [Effect::LoadDirectory, Effect::LoadDrafts]);
    update(&mut a, Action::Submit);
    let Mode::Compose(c) = &a.mode else {
        panic!("compose")
    };
    assert_eq!(c.error.as_deref(), Some("请填写标题"));
    for ch in "关于减税的通知".chars() {
        update(&mut a, Action::Char(ch));
    }
    update(&mut a, Action::Backspace);
    update(&mut a, Action::Char('知'));
    update(&mut a, Action::NextField);
    // Audience: All → national → provincial → … → chosen nodes (last).
    update(&mut a, Action::Left);
    let Mode::Compose(c) = &a.mode else { panic!() };
    assert_eq!(c.focus, Field::Audience);
    assert_eq!(c.audience(), Audience::Nodes(vec![]));
    update(&mut a, Action::Submit);
    let Mode::Compose(c) = &a.mode else { panic!() };
    assert_eq!(c.error.as_deref(), Some("请至少选择一个节点"));
    update(&mut a, Action::Enter); // open the picker
    update(&mut a, Action::Down);
    update(&mut a, Action::Char(' ')); // hotline
    update(&mut a, Action::Down);
    update(&mut a, Action::Down);
    update(&mut a, Action::Char(' ')); // sz
    update(&mut a, Action::Enter); // close the picker
    update(&mut a, Action::NextField);
    for ch in "第一行\n第二行".chars() {
        update(&mut a, Action::Char(ch));
    }
    let draft = draft_id(&a);
    let fx = update(&mut a, Action::Submit);
    assert_eq!(
        fx,
        [Effect::Queue {
            audience: Audience::Nodes(vec![
                NodeId::new("hotline").unwrap(),
                NodeId::new("sz").unwrap()
            ]),
            title: "关于减税的通知".into(),
            body: "第一行\n第二行".into(),
            attachments: vec![],
            ack_required: false,
            draft,
        }]
    );
    assert!(matches!(a.mode, Mode::Normal));
    let fx = update(&mut a, Action::Queued(Ok("id".into())));
    assert_eq!(fx, [Effect::LoadOutbox]);
    assert_eq!(a.notice.as_ref().unwrap().0, "已放入发件箱");
}

#[test]
fn search_is_debounced_and_ignores_stale_results() {
    let mut a = app(Lang::Zh, (80, 24));
    update(&mut a, Action::StartSearch);
    update(&mut a, Action::Char('减'));
    assert_eq!(
        update(&mut a, Action::Tick(T0 + 100)),
        [],
        "not while typing"
    );
    update(&mut a, Action::Char('税'));
    assert_eq!(update(&mut a, Action::Tick(T0 + 200)), []);
    let fx = update(&mut a, Action::Tick(T0 + 200 + SEARCH_DEBOUNCE_MS));
    assert_eq!(fx, [Effect::Search("减税".into())]);
    assert_eq!(update(&mut a, Action::Tick(T0 + 2000)), [], "searched once");
    let hit = SearchHit {
        message: rows()[0].clone(),
        snippet: "…[减税]…".into(),
    };
    update(
        &mut a,
        Action::SearchDone {
            query: "减".into(),
            hits: vec![hit.clone()],
        },
    );
    let Mode::Search(s) = &a.mode else { panic!() };
    assert!(s.hits.is_empty(), "stale results are ignored");
    update(
        &mut a,
        Action::SearchDone {
            query: "减税".into(),
            hits: vec![hit],
        },
    );
    let Mode::Search(s) = &a.mode else { panic!() };
    assert_eq!(s.hits.len(), 1);
    let fx = update(&mut a, Action::Enter);
    assert_eq!(
        fx,
        [Effect::LoadDetail {
            id: rows()[0].id.clone(),
            mark_read: true
        }]
    );
    update(&mut a, Action::Back);
    assert!(matches!(a.mode, Mode::Normal));
}

#[test]
fn connection_states_and_arrivals() {
    let mut a = app(Lang::Zh, (80, 24));
    update(
        &mut a,
        Action::Conn(ConnState::Reconnecting {
            attempt: 3,
            in_ms: 2000,
            reason: "x".into(),
        }),
    );
    assert_eq!(
        a.conn,
        ConnView::Reconnecting {
            attempt: 3,
            in_ms: 2000
        }
    );
    assert_eq!(
        update(
            &mut a,
            Action::Conn(ConnState::Connected {
                hub: "127.0.0.1:7443".into()
            })
        ),
        [Effect::LoadDirectory]
    );
    assert_eq!(a.conn, ConnView::Connected);
    update(&mut a, Action::Down);
    let fx = update(&mut a, Action::Arrived(msg(9, "新通报", "x", false)));
    assert_eq!(
        a.bulletins.selected, 2,
        "the selection stays on the same message"
    );
    assert_eq!(
        fx,
        [Effect::LoadPage {
            preset: 0,
            start: 0,
            len: PAGE
        }]
    );
}

// ---- render snapshots ------------------------------------------------------

#[test]
fn a_stale_crl_is_shown_in_the_status_bar() {
    let mut a = app(Lang::Zh, (100, 24));
    assert!(!screen(&a).contains("吊销列表已过期"));
    a.crl_stale = true;
    assert!(screen(&a).contains("⚠ 吊销列表已过期"));
    let mut e = app(Lang::En, (100, 24));
    e.crl_stale = true;
    assert!(screen(&e).contains("CRL out of date"));
}

#[test]
fn snapshots_of_every_screen() {
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        let base = app(Lang::Zh, (w, h));
        snap!(format!("bulletins_{w}x{h}"), base);
        let mut a = app(Lang::Zh, (w, h));
        for t in [Tab::Cases, Tab::Meetings, Tab::Directory, Tab::Outbox] {
            update(&mut a, Action::GoTab(t));
            snap!(format!("tab_{t:?}_{w}x{h}").to_lowercase(), a);
        }
        let mut a = app(Lang::Zh, (w, h));
        update(&mut a, Action::StartCompose);
        for ch in "关于开展年度评选的通知🎉".chars() {
            update(&mut a, Action::Char(ch));
        }
        update(&mut a, Action::NextField);
        update(&mut a, Action::Right);
        update(&mut a, Action::Right);
        update(&mut a, Action::NextField);
        for ch in LONG.chars() {
            update(&mut a, Action::Char(ch));
        }
        snap!(format!("compose_{w}x{h}"), a);
        let mut a = app(Lang::Zh, (w, h));
        update(&mut a, Action::StartSearch);
        for ch in "减税".chars() {
            update(&mut a, Action::Char(ch));
        }
        let hit = SearchHit {
            message: rows()[0].clone(),
            snippet: "…有关部门延续实施小微企业[减税]政策…".into(),
        };
        update(
            &mut a,
            Action::SearchDone {
                query: "减税".into(),
                hits: vec![hit],
            },
        );
        snap!(format!("search_{w}x{h}"), a);
        let mut a = app(Lang::Zh, (w, h));
        update(&mut a, Action::Help);
        snap!(format!("help_{w}x{h}"), a);
        let mut a = app(Lang::En, (w, h));
        update(&mut a, Action::Help);
        snap!(format!("help_english_{w}x{h}"), a);
        let mut a = app(Lang::Zh, (w, h));
        update(
            &mut a,
            Action::Conn(ConnState::Reconnecting {
                attempt: 4,
                in_ms: 8000,
                reason: "down".into(),
            }),
        );
        snap!(format!("offline_{w}x{h}"), a);
    }
    let a = app(Lang::En, (80, 24));
    snap!("bulletins_english_80x24", a);
}

#[test]
fn the_cursor_sits_at_the_insertion_point() {
    let mut a = app(Lang::Zh, (80, 24));
    update(&mut a, Action::StartCompose);
    for ch in "中文ab".chars() {
        update(&mut a, Action::Char(ch));
    }
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| render(f, &a)).unwrap();
    // Title box: the frame starts at row 1, the compose border adds 1, the title border 1.
    let pos = t.backend_mut().get_cursor_position().unwrap();
    assert_eq!(
        (pos.x, pos.y),
        (2 + 6, 3),
        "after 中文ab: 2 border columns + 6 cells"
    );
    update(&mut a, Action::Left);
    update(&mut a, Action::Left);
    update(&mut a, Action::Left);
    t.draw(|f| render(f, &a)).unwrap();
    let pos = t.backend_mut().get_cursor_position().unwrap();
    assert_eq!((pos.x, pos.y), (2 + 2, 3), "between 中 and 文");
}

#[test]
fn snapshots_of_bulletin_receipts_and_compose_with_attachments() {
    use lianxi_node::archive::bulletins::{
        AttachmentInfo, Detail, HistoryEntry, Receipts, RecipientState,
    };
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        // A bulletin this node sent, with its receipts matrix.
        let mut a = app(Lang::Zh, (w, h));
        let mut sent = msg(
            0,
            "关于报送年度工作总结的通知",
            "各省级协会：\n# 报送要求\n- 内容包括**信息通报**和会员服务\n- 篇幅三千字以内",
            true,
        );
        sent.direction = lianxi_node::archive::Direction::Out;
        sent.ack_required = true;
        sent.category = Some("notice".into());
        show_one(&mut a, &sent, 0);
        let r = |node: &str,
                 d: Option<i64>,
                 rd: Option<i64>,
                 ack: Option<i64>,
                 reply: Option<&str>,
                 overdue: bool| RecipientState {
            node_id: node.into(),
            delivered_at: d,
            read_at: rd,
            acked_at: ack,
            reply: reply.map(Into::into),
            reminded_at: None,
            overdue,
        };
        let receipts = Receipts {
            id: sent.id.clone(),
            title: sent.title.clone(),
            ack_required: true,
            ack_by: Some(T0),
            recipients: vec![
                r(
                    "gd",
                    Some(T0),
                    Some(T0),
                    Some(T0),
                    Some("已收到，按时报送"),
                    false,
                ),
                r("hotline", Some(T0), Some(T0), None, None, true),
                r("nat", Some(T0), None, None, None, true),
                r("sz", None, None, None, None, true),
            ],
            delivered: 3,
            read: 2,
            acknowledged: 1,
            overdue: 3,
        };
        update(&mut a, Action::ReceiptsLoaded(receipts));
        snap!(format!("receipts_matrix_{w}x{h}"), a);

        // A received revision that asks for acknowledgement, with metadata and attachments.
        let mut a = app(Lang::Zh, (w, h));
        let mut got = msg(
            0,
            "关于调整评选时间的通知（修订）",
            "评选截止时间调整为12月20日。",
            false,
        );
        got.ack_required = true;
        got.revision = 1;
        got.category = Some("policy".into());
        got.detail = Some(Box::new(Detail {
            doc_number: Some("联席发〔2026〕12号".into()),
            issuer: Some("联席会议秘书处".into()),
            tags: vec!["评选".into(), "截止".into()],
            note: Some("截止日期由15日改为20日".into()),
            attachments: vec![AttachmentInfo {
                name: "评选办法.pdf".into(),
                size: 245_760,
                sha256: String::new(),
            }],
            history: vec![HistoryEntry {
                id: String::new(),
                revision: 0,
                title: String::new(),
                note: None,
                created_at: T0,
                state: "superseded".into(),
            }],
            ..Default::default()
        }));
        show_one(&mut a, &got, 1);
        snap!(format!("received_revision_{w}x{h}"), a);

        // Compose with attachments and the receipt option on.
        let mut a = app(Lang::Zh, (w, h));
        update(&mut a, Action::StartCompose);
        for ch in "年度评选材料".chars() {
            update(&mut a, Action::Char(ch));
        }
        update(&mut a, Action::ToggleAck);
        update(
            &mut a,
            Action::Attached(Ok(("/tmp/评选办法.pdf".into(), 245_760))),
        );
        update(
            &mut a,
            Action::Attached(Ok(("/tmp/申报表.xlsx".into(), 31_000))),
        );
        for _ in 0..3 {
            update(&mut a, Action::NextField);
        }
        for ch in "/tmp/附".chars() {
            update(&mut a, Action::Char(ch));
        }
        snap!(format!("compose_attachments_{w}x{h}"), a);
        let Mode::Compose(c) = &a.mode else { panic!() };
        assert_eq!(c.focus, Field::Attachments);
    }
}

#[test]
fn acknowledging_and_composing_with_attachments_produce_effects() {
    let mut a = app(Lang::Zh, (80, 24));
    let mut got = msg(0, "需回执的通报", "x", false);
    got.ack_required = true;
    show_one(&mut a, &got, 1);
    assert_eq!(
        update(&mut a, Action::Acknowledge),
        [Effect::Acknowledge(got.id.clone())]
    );
    got.acked = true;
    update(&mut a, Action::DetailLoaded(got));
    assert_eq!(
        update(&mut a, Action::Acknowledge),
        [],
        "already acknowledged"
    );
    update(&mut a, Action::StartCompose);
    for ch in "标题".chars() {
        update(&mut a, Action::Char(ch));
    }
    for _ in 0..3 {
        update(&mut a, Action::NextField);
    }
    for ch in "/tmp/a.pdf".chars() {
        update(&mut a, Action::Char(ch));
    }
    assert_eq!(
        update(&mut a, Action::Enter),
        [Effect::CheckAttachment("/tmp/a.pdf".into())]
    );
    update(&mut a, Action::Attached(Ok(("/tmp/a.pdf".into(), 10))));
    update(&mut a, Action::ToggleAck);
    let draft = draft_id(&a);
    let fx = update(&mut a, Action::Submit);
    assert_eq!(
        fx,
        [Effect::Queue {
            audience: Audience::All,
            title: "标题".into(),
            body: String::new(),
            attachments: vec!["/tmp/a.pdf".into()],
            ack_required: true,
            draft,
        }]
    );
}

#[test]
fn filters_cycle_and_stale_pages_are_ignored() {
    let mut a = app(Lang::Zh, (80, 24));
    let fx = update(&mut a, Action::NextFilter);
    assert_eq!(
        fx,
        [Effect::LoadPage {
            preset: 1,
            start: 0,
            len: PAGE
        }]
    );
    assert!(a.bulletins.rows.is_empty() && a.detail.is_none());
    // A page for the previous filter arriving late is dropped.
    update(
        &mut a,
        Action::PageLoaded(Page {
            preset: 0,
            start: 0,
            total: 4,
            unread: 2,
            rows: rows(),
        }),
    );
    assert!(a.bulletins.rows.is_empty());
    update(
        &mut a,
        Action::PageLoaded(Page {
            preset: 1,
            start: 0,
            total: 2,
            unread: 2,
            rows: rows()[..2].to_vec(),
        }),
    );
    assert_eq!(a.bulletins.total, 2);
    snap!("filter_unread_80x24", a);
    for _ in 0..6 {
        update(&mut a, Action::NextFilter);
    }
    assert_eq!(a.bulletins.preset, 0, "wraps around");
}
