//! Drafts in the terminal UI, without a terminal: the compose form saves
//! itself after a pause, Esc on a filled form asks (keep / discard / back),
//! an empty form offers the newest draft, and the outbox tab lists drafts.
//! Snapshots at 80x24 and 120x40 in Chinese and English.

#![allow(clippy::unwrap_used)]

use lianxi::archive::drafts::{Draft, DraftFile, DraftKind};
use lianxi::tui::app::{App, Field, Mode, Tab};
use lianxi::tui::i18n::Lang;
use lianxi::tui::tabs::bulletins::draft::DRAFT_SAVE_MS;
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
    assert_eq!(d.id, compose(&a).draft);
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
    let id = compose(&a).draft.clone();
    let fx = update(&mut a, Action::Back);
    assert!(matches!(a.mode, Mode::Normal));
    assert_eq!(fx, [Effect::DeleteDraft(id)]);

    update(&mut a, Action::StartCompose);
    typed(&mut a, "标题");
    update(&mut a, Action::NextField);
    update(&mut a, Action::NextField);
    typed(&mut a, BODY);
    assert!(update(&mut a, Action::Back).is_empty());
    assert!(compose(&a).leaving);
    // Typing in the question does not reach the form.
    update(&mut a, Action::Char('x'));
    // Back to editing, everything still there.
    update(&mut a, Action::Back);
    let c = compose(&a);
    assert!(!c.leaving);
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
    let id = compose(&a).draft.clone();
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
    assert!(compose(&a).offer.is_some());
    update(&mut a, Action::Enter);
    let c = compose(&a);
    assert!(c.offer.is_none());
    assert_eq!(c.draft, a_draft().id);
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
    assert!(c.offer.is_none() && c.title.is_empty() && c.draft != a_draft().id);
    // Not offered twice.
    update(&mut a, Action::DraftsLoaded(vec![a_draft()]));
    assert!(compose(&a).offer.is_none());

    // Typing straight away turns it down too, and keeps the key.
    update(&mut a, Action::Back);
    update(&mut a, Action::StartCompose);
    update(&mut a, Action::DraftsLoaded(vec![a_draft()]));
    typed(&mut a, "新");
    assert_eq!(compose(&a).title.text(), "新");
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
    assert_eq!(compose(&a).draft, a_draft().id);
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
