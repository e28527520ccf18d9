//! The terminal UI over a large archive: the first screen (open the archive,
//! load the first page and the counts, draw) and one 120x40 frame of list +
//! detail while scrolling, drawn into ratatui's `TestBackend` (the same
//! `render` the terminal uses, without the terminal's own write time).

use std::time::Instant;

use lianxi::tui::app::App;
use lianxi::tui::i18n::Lang;
use lianxi::tui::render::render;
use lianxi::tui::tabs::bulletins::list::{PAGE, Page};
use lianxi::tui::update::{Action, update};
use lianxi_node::archive::Archive;
use lianxi_shared::{NodeId, NodeInfo, Role, Tier};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::archive_fill::PHRASES;

pub struct Ui {
    pub first_ms: f64,
    /// Of the first screen: opening the archive, the first page, the counts.
    pub open_ms: f64,
    pub list_ms: f64,
    pub count_ms: f64,
    pub frame_p50_ms: f64,
    pub frame_p99_ms: f64,
    pub frames: usize,
}

pub fn ui(path: &std::path::Path, frames: usize) -> anyhow::Result<Ui> {
    let me = NodeInfo {
        node_id: NodeId::new("gd")?,
        name: "广东省中小企业协会".into(),
        org: "秘书处".into(),
        tier: Tier::Provincial,
        roles: vec![Role::Secretary],
        age_recipient: String::new(),
        signing_key: [0; 32],
        not_before: 0,
        not_after: 0,
    };
    let t = Instant::now();
    let archive = Archive::open(path)?;
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let rows = archive.list(Some("bulletin"), PAGE, 0)?;
    let list_ms = t.elapsed().as_secs_f64() * 1e3 - open_ms;
    let (total, unread) = archive.count_kind("bulletin")?;
    let count_ms = t.elapsed().as_secs_f64() * 1e3 - open_ms - list_ms;
    let mut detail = archive.list(Some("bulletin"), 1, 0)?.remove(0);
    let mut app = App::new(me, "127.0.0.1:7443".into(), Lang::Zh);
    app.size = (120, 40);
    update(
        &mut app,
        Action::PageLoaded(Page {
            preset: 0,
            start: 0,
            total,
            unread,
            rows,
        }),
    );
    detail.body = Some(PHRASES.join("，").repeat(8));
    update(&mut app, Action::DetailLoaded(detail));
    let mut term = Terminal::new(TestBackend::new(120, 40))?;
    term.draw(|f| render(f, &app))?;
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        let t = Instant::now();
        update(
            &mut app,
            if i % 50 < 25 {
                Action::Down
            } else {
                Action::Up
            },
        );
        term.draw(|f| render(f, &app))?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    Ok(Ui {
        first_ms,
        open_ms,
        list_ms,
        count_ms,
        frame_p50_ms: p(0.5),
        frame_p99_ms: p(0.99),
        frames,
    })
}
