//! Drafts in the terminal UI, without a terminal: the compose form saves
//! itself after a pause, Esc on a filled form asks (keep / discard / back),
//! an empty form offers the newest draft, and the outbox tab lists drafts.
//! Snapshots at 80x24 and 120x40 in Chinese and English.

#![allow(clippy::unwrap_used)]

use lianxi::archive::drafts::{Draft, DraftFile, DraftKind};
use lianxi::tui::app::{App, Field, Mode, Tab};
use lianxi::tui::drafting::DRAFT_SAVE_MS;
use lianxi::tui::i18n::Lang;
use lianxi::tui::update::{Action, Effect, update};
use lianxi_shared::{Audience, NodeId};

#[macro_use]
mod tui_support;
use tui_support::{T0, directory, screen};

const BODY: &str = "各成员协会：\n为做好年度工作总结，请于十二月二十日前报送本会年度工作总结（含会员发展、维权服务、政策宣传三部分）。🎉";

fn app(lang: Lang, size: (u16, u16)) -> App {
    let mut a = App::new(directory()[0].clone(), "127.0.0.1:7443".into(), lang);
    a.now_ms = T0;
    a.size = size;
    update(&mut a, Action::DirectoryLoaded(directory()));
    a
}

fn typed(a: &mut App, s: &str) {
    for ch in s.chars() {
        update(a, Action::Char(ch));
    }
}

fn compose(a: &App) -> &lianxi::tui::app::Compose {
    match &a.mode {
        Mode::Compose(c) => c,
        m => panic!("not composing: {m:?}"),
    }
}

fn saved(fx: &[Effect]) -> Option<&lianxi::drafts::DraftInput> {
    fx.iter().find_map(|e| match e {
        Effect::SaveDraft(d) => Some(&**d),
        _ => None,
    })
}

fn a_draft() -> Draft {
    Draft {
        id: "0190f5a2-0000-7000-8000-000000000001".into(),
        kind: DraftKind::Bulletin,
        context: String::new(),
        title: "关于报送年度工作总结的通知".into(),
        body: BODY.into(),
        fields: serde_json::json!({"audience": "hotline,sz", "ack_required": true}),
        attachments: vec![DraftFile {
            name: "统计表.csv".into(),
            size: 42,
            sha256: [1; 32],
        }],
        created_at: T0 - 3_600_000,
        updated_at: T0 - 5 * 60_000,
    }
}

#[test]
fn typing_is_saved_after_a_pause_and_on_quit() {
    let mut a = app(Lang::Zh, (80, 24));
    update(&mut a, Action::StartCompose);
    update(&mut a, Action::DraftsLoaded(vec![]));
    typed(&mut a, "关于");
    assert!(saved(&update(&mut a, Action::Tick(T0 + 100))).is_none());
    let fx = update(&mut a, Action::Tick(T0 + DRAFT_SAVE_MS));
    let d = saved(&fx).expect("saved after the pause");
    assert_eq!(d.title, "关于");
    assert_eq!(d.id, compose(&a).drafting.id);
    // Nothing changed since: nothing to save.
    assert!(saved(&update(&mut a, Action::Tick(T0 + 5_000))).is_none());
    // Moving the cursor changes nothing either.
    update(&mut a, Action::Left);
    assert!(saved(&update(&mut a, Action::Tick(T0 + 9_000))).is_none());
    // Quitting saves what was typed since.
    a.now_ms = T0 + 9_000;
    typed(&mut a, "通知");
    let fx = update(&mut a, Action::Quit);
    assert_eq!(saved(&fx).unwrap().title, "关通知于");
    assert!(a.quit);
}

#[test]
fn esc_on_a_filled_form_asks_keep_discard_or_back() {
    let mut a = app(Lang::Zh, (80, 24));
    // An empty form closes at once (and no empty draft is kept).
    update(&mut a, Action::StartCompose);
    let id = compose(&a).drafting.id.clone();
    let fx = update(&mut a, Action::Back);
    assert!(matches!(a.mode, Mode::Normal));
    assert_eq!(fx, [Effect::DeleteDraft(id)]);

    update(&mut a, Action::StartCompose);
    typed(&mut a, "标题");
    update(&mut a, Action::NextField);
    update(&mut a, Action::NextField);
    typed(&mut a, BODY);
    assert!(update(&mut a, Action::Back).is_empty());
    assert!(compose(&a).drafting.leaving);
    // Typing in the question does not reach the form.
    update(&mut a, Action::Char('x'));
    // Back to editing, everything still there.
    update(&mut a, Action::Back);
    let c = compose(&a);
    assert!(!c.drafting.leaving);
    assert_eq!(
        (c.title.text(), c.body.text()),
        ("标题".into(), BODY.into())
    );
    // Keep: saved now, and the form closes.
    update(&mut a, Action::Back);
    let fx = update(&mut a, Action::Char('k'));
    assert_eq!(saved(&fx).unwrap().body, BODY);
    assert!(matches!(a.mode, Mode::Normal));
    assert!(a.notice.as_ref().unwrap().0.contains("草稿"));

    // Discard: the draft is deleted.
    update(&mut a, Action::StartCompose);
    typed(&mut a, "不要了");
    let id = compose(&a).drafting.id.clone();
    update(&mut a, Action::Back);
    let fx = update(&mut a, Action::Char('d'));
    assert_eq!(fx, [Effect::DeleteDraft(id)]);
    assert!(matches!(a.mode, Mode::Normal));
}

#[test]
fn an_empty_form_offers_the_newest_draft_and_restores_all_of_it() {
    let mut a = app(Lang::Zh, (80, 24));
    update(&mut a, Action::StartCompose);
    update(&mut a, Action::DraftsLoaded(vec![a_draft()]));
    assert!(compose(&a).drafting.offer.is_some());
    update(&mut a, Action::Enter);
    let c = compose(&a);
    assert!(c.drafting.offer.is_none());
    assert_eq!(c.drafting.id, a_draft().id);
    assert_eq!(c.title.text(), "关于报送年度工作总结的通知");
    assert_eq!(c.body.text(), BODY);
    assert_eq!(c.focus, Field::Body);
    // The cursor at the very end of the body.
    let last = BODY.lines().last().unwrap().chars().count();
    assert_eq!(c.body.cursor(), (BODY.lines().count() - 1, last));
    assert_eq!(
        c.audience(),
        Audience::Nodes(vec![
            NodeId::new("hotline").unwrap(),
            NodeId::new("sz").unwrap()
        ])
    );
    assert!(c.ack_required);
    assert_eq!(c.attachments, [("统计表.csv".into(), 42)]);
    let fx = update(&mut a, Action::Submit);
    assert!(
        matches!(&fx[..], [Effect::Queue { draft, .. }] if *draft == a_draft().id),
        "{fx:?}"
    );

    // Esc turns the offer down: a new, empty form.
    update(&mut a, Action::StartCompose);
    update(&mut a, Action::DraftsLoaded(vec![a_draft()]));
    update(&mut a, Action::Back);
    let c = compose(&a);
    assert!(c.drafting.offer.is_none() && c.title.is_empty() && c.drafting.id != a_draft().id);
    // Not offered twice.
    update(&mut a, Action::DraftsLoaded(vec![a_draft()]));
    assert!(compose(&a).drafting.offer.is_none());

    // Typing straight away turns it down too, and keeps the key.
    update(&mut a, Action::Back);
    update(&mut a, Action::StartCompose);
    update(&mut a, Action::DraftsLoaded(vec![a_draft()]));
    typed(&mut a, "新");
    assert_eq!(compose(&a).title.text(), "新");
}

/// The race seen at start: the form's drafts and the directory (and the
/// first sync's arrivals and pages) come back in any order. What arrives in
/// the background neither takes the offer away nor keeps it from being made.
#[test]
fn the_offer_outlasts_what_arrives_in_the_background() {
    let mut a = app(Lang::Zh, (80, 24));
    update(&mut a, Action::StartCompose);
    update(&mut a, Action::DraftsLoaded(vec![a_draft()]));
    update(&mut a, Action::DirectoryLoaded(directory()));
    update(&mut a, Action::Tick(T0 + 1_000));
    update(&mut a, Action::Resize(100, 30));
    update(
        &mut a,
        Action::Flushed {
            sent: 1,
            failed: vec![],
        },
    );
    assert!(compose(&a).drafting.offer.is_some());
    // The other order (Esc turns the offer down, Esc again closes the form).
    update(&mut a, Action::Back);
    update(&mut a, Action::Back);
    assert!(matches!(a.mode, Mode::Normal));
    update(&mut a, Action::StartCompose);
    update(&mut a, Action::DirectoryLoaded(directory()));
    update(&mut a, Action::DraftsLoaded(vec![a_draft()]));
    assert!(compose(&a).drafting.offer.is_some());
    // Moving between fields keeps it; the first change takes it away.
    update(&mut a, Action::NextField);
    update(&mut a, Action::PrevField);
    assert!(compose(&a).drafting.offer.is_some());
    typed(&mut a, "新");
    assert!(compose(&a).drafting.offer.is_none());
}

#[test]
fn the_outbox_tab_lists_drafts_to_open_or_delete() {
    let mut a = app(Lang::Zh, (80, 24));
    update(&mut a, Action::GoTab(Tab::Outbox));
    assert_eq!(update(&mut a, Action::ToggleDrafts), [Effect::LoadDrafts]);
    let mut other = a_draft();
    other.id = "0190f5a2-0000-7000-8000-000000000002".into();
    other.title = String::new();
    update(&mut a, Action::DraftsLoaded(vec![a_draft(), other.clone()]));
    update(&mut a, Action::Down);
    assert_eq!(
        update(&mut a, Action::DeleteDraft),
        [Effect::DeleteDraft(other.id.clone())]
    );
    update(&mut a, Action::Up);
    update(&mut a, Action::Open);
    assert_eq!(compose(&a).drafting.id, a_draft().id);
    assert_eq!(compose(&a).body.text(), BODY);
}

#[test]
fn snapshots_of_the_draft_screens() {
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        for lang in [Lang::Zh, Lang::En] {
            let l = format!("{lang:?}").to_lowercase();
            let mut a = app(lang, (w, h));
            update(&mut a, Action::StartCompose);
            typed(&mut a, "关于报送年度工作总结的通知");
            update(&mut a, Action::Back);
            snap!(format!("draft_leave_{l}_{w}x{h}"), a);

            let mut a = app(lang, (w, h));
            update(&mut a, Action::StartCompose);
            update(&mut a, Action::DraftsLoaded(vec![a_draft()]));
            snap!(format!("draft_offer_{l}_{w}x{h}"), a);

            let mut a = app(lang, (w, h));
            update(&mut a, Action::GoTab(Tab::Outbox));
            update(&mut a, Action::ToggleDrafts);
            let mut untitled = a_draft();
            untitled.title = String::new();
            untitled.updated_at = T0 - 3 * 86_400_000;
            update(&mut a, Action::DraftsLoaded(vec![a_draft(), untitled]));
            snap!(format!("drafts_list_{l}_{w}x{h}"), a);
        }
    }
}

fn effects_have_delete(fx: &[Effect], id: &str) -> bool {
    fx.iter()
        .any(|e| matches!(e, Effect::DeleteDraft(d) if d == id))
}

#[test]
fn the_intake_form_keeps_its_draft_confidential_fields_and_all() {
    let mut a = app(Lang::Zh, (80, 24));
    a.me = directory()[1].clone(); // the hotline
    update(&mut a, Action::GoTab(Tab::Cases));
    let fx = update(&mut a, Action::StartCompose);
    assert!(fx.contains(&Effect::LoadDrafts), "{fx:?}");
    update(&mut a, Action::DraftsLoaded(vec![]));
    typed(&mut a, "货款拖欠");
    for _ in 0..3 {
        update(&mut a, Action::NextField); // category, jurisdiction, enterprise
    }
    typed(&mut a, "某某五金有限公司");
    let fx = update(&mut a, Action::Tick(T0 + DRAFT_SAVE_MS));
    let d = saved(&fx).expect("saved after the pause").clone();
    assert_eq!(d.kind, Some(DraftKind::CaseIntake));
    assert_eq!(d.title, "货款拖欠");
    assert_eq!(d.fields["enterprise"], "某某五金有限公司");
    // Esc asks; keep.
    update(&mut a, Action::Back);
    let Mode::Intake(f) = &a.mode else { panic!() };
    assert!(f.drafting.leaving);
    let fx = update(&mut a, Action::Char('k'));
    assert!(saved(&fx).is_some() && matches!(a.mode, Mode::Normal));

    // Opened again: offered, and restored whole.
    update(&mut a, Action::StartCompose);
    let draft = Draft {
        id: d.id.clone(),
        kind: DraftKind::CaseIntake,
        context: String::new(),
        title: d.title.clone(),
        body: "逾期一年未付。".into(),
        fields: d.fields.clone(),
        attachments: vec![],
        created_at: T0,
        updated_at: T0,
    };
    update(&mut a, Action::DraftsLoaded(vec![a_draft(), draft]));
    let Mode::Intake(f) = &a.mode else { panic!() };
    assert_eq!(
        f.drafting.offer.as_ref().map(|o| o.kind),
        Some(DraftKind::CaseIntake),
        "a bulletin draft is not offered to the intake form"
    );
    update(&mut a, Action::Enter);
    let Mode::Intake(f) = &a.mode else { panic!() };
    assert_eq!(f.enterprise.text(), "某某五金有限公司");
    assert_eq!(f.summary.text(), "逾期一年未付。");
    assert_eq!(f.drafting.id, d.id);
    // Registered: the draft goes.
    let fx = update(&mut a, Action::IntakeDone(Ok("2026-HOTLINE-0001".into())));
    assert!(effects_have_delete(&fx, &d.id), "{fx:?}");
}

#[test]
fn the_typical_case_editor_keeps_edits_and_offers_them_for_the_same_case() {
    use lianxi::cases::TypicalDraft;
    use lianxi::tui::tabs::cases::TypicalView;
    use lianxi_shared::case::Confidential;
    let view = || {
        TypicalView::new(
            "case-1".into(),
            "2026-HOTLINE-0001".into(),
            TypicalDraft {
                title: "某企业货款被拖欠案".into(),
                body: "【已隐去】为整机厂供应结构件。".into(),
            },
            Confidential {
                enterprise: "明辉精密五金".into(),
                contact: "李经理".into(),
            },
        )
    };
    let mut a = app(Lang::Zh, (80, 24));
    let fx = update(&mut a, Action::TypicalReady(Ok(Box::new(view()))));
    assert!(fx.contains(&Effect::LoadDrafts));
    update(&mut a, Action::DraftsLoaded(vec![]));
    // Unchanged: Esc closes, nothing kept.
    let Mode::Typical(v) = &a.mode else { panic!() };
    let id = v.drafting.id.clone();
    let fx = update(&mut a, Action::Back);
    assert!(effects_have_delete(&fx, &id) && matches!(a.mode, Mode::Normal));

    update(&mut a, Action::TypicalReady(Ok(Box::new(view()))));
    update(&mut a, Action::DraftsLoaded(vec![]));
    typed(&mut a, "经协会协调，已全部回款。");
    let fx = update(&mut a, Action::Tick(T0 + DRAFT_SAVE_MS));
    let d = saved(&fx).unwrap().clone();
    assert_eq!(d.context, "case-1");
    assert!(d.body.ends_with("经协会协调，已全部回款。"));

    // The same case's editor opened again offers the edits.
    update(&mut a, Action::Back);
    update(&mut a, Action::Char('k'));
    update(&mut a, Action::TypicalReady(Ok(Box::new(view()))));
    let mut other_case = Draft {
        id: "other".into(),
        kind: DraftKind::Typical,
        context: "case-2".into(),
        title: "别的案例".into(),
        body: String::new(),
        fields: serde_json::json!({}),
        attachments: vec![],
        created_at: T0,
        updated_at: T0 + 1,
    };
    let mine = Draft {
        id: d.id.clone(),
        kind: DraftKind::Typical,
        context: "case-1".into(),
        title: d.title.clone(),
        body: d.body.clone(),
        fields: d.fields.clone(),
        attachments: vec![],
        created_at: T0,
        updated_at: T0,
    };
    other_case.updated_at = T0 + 5;
    update(&mut a, Action::DraftsLoaded(vec![other_case, mine]));
    update(&mut a, Action::Enter);
    let Mode::Typical(v) = &a.mode else { panic!() };
    assert_eq!(v.body.text(), d.body);
    assert_eq!(v.drafting.id, d.id);
    let fx = update(&mut a, Action::Published(Ok("id".into())));
    assert!(effects_have_delete(&fx, &d.id));
}
