//! UI bench: an archive of 100,000 messages; the time to show the first screen
//! (open the archive, load the first page and counts, draw) and to draw one
//! frame of list + detail at 120x40. Prints figures; run with
//! `cargo bench -p lianxi --bench ui` (`-- --smoke` for a quick run).

use std::time::Instant;

use lianxi::archive::{Archive, Incoming};
use lianxi::tui::app::{App, PAGE, Tab};
use lianxi::tui::i18n::Lang;
use lianxi::tui::render::render;
use lianxi::tui::update::{Action, update};
use lianxi_shared::envelope::{Header, Opened};
use lianxi_shared::{
    Audience, Bulletin, Envelope, MessageId, NodeId, NodeInfo, Payload, Role, Tier,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const PHRASES: &[&str] = &[
    "关于进一步做好中小企业纾困解难工作的通知",
    "各成员协会请及时转发",
    "专精特新企业培育",
    "跨境电商合规经营",
    "知识产权保护与维权",
    "出口退税办理",
    "数字化转型现场会",
    "会员互认试点",
    "融资服务对接日",
    "🎉 Mixed English text",
];

fn fill(path: &std::path::Path, n: usize) {
    let mut a = Archive::open(path).expect("archive");
    let sender = NodeId::new("nat").expect("id");
    let t0 = 1_790_000_000_000i64;
    let mut batch = Vec::with_capacity(1000);
    for i in 0..n {
        let title = format!("{} 第{}号", PHRASES[i % PHRASES.len()], i);
        let body: String = (0..6)
            .map(|k| PHRASES[(i * 7 + k) % PHRASES.len()])
            .collect::<Vec<_>>()
            .join("，");
        let payload = Payload::Bulletin(Bulletin {
            title,
            body,
            ..Default::default()
        });
        let header = Header {
            v: 1,
            id: MessageId::new_v7(t0 + i as i64 * 1000, [(i % 251) as u8; 16]),
            sender: sender.clone(),
            audience: Audience::All,
            created_at: t0 + i as i64 * 1000,
            not_before: None,
            body_sha256: [0; 32],
            body_len: 0,
            key: String::new(),
        };
        let opened = Opened {
            header,
            payload_bytes: payload.encode(),
            payload,
        };
        batch.push(Incoming {
            opened,
            envelope: Envelope {
                header: vec![],
                sig: [0; 64],
                body: vec![],
            },
            wrap: vec![],
            received_at: t0,
            forwarded: None,
        });
        if batch.len() == 1000 {
            a.apply_incoming(&batch).expect("store");
            batch.clear();
        }
    }
    a.apply_incoming(&batch).expect("store");
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let n = if smoke { 5_000 } else { 100_000 };
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("archive.db");
    let t = Instant::now();
    fill(&path, n);
    println!(
        "setup: {n} messages archived and indexed in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let me = NodeInfo {
        node_id: NodeId::new("gd").expect("id"),
        name: "广东省中小企业协会".into(),
        org: "秘书处".into(),
        tier: Tier::Provincial,
        roles: vec![Role::Secretary],
        age_recipient: String::new(),
        signing_key: [0; 32],
        not_before: 0,
        not_after: 0,
    };
    // First screen: open the archive, load the first page and the counts, draw.
    let t = Instant::now();
    let archive = Archive::open(&path).expect("open");
    let rows = archive.list(Some("bulletin"), PAGE, 0).expect("list");
    let (total, unread) = archive.count_kind("bulletin").expect("count");
    let first_detail = archive.list(Some("bulletin"), 1, 0).expect("one").remove(0);
    let mut app = App::new(me, "127.0.0.1:7443".into(), Lang::Zh);
    app.size = (120, 40);
    update(
        &mut app,
        Action::PageLoaded {
            preset: 0,
            tab: Tab::Bulletins,
            start: 0,
            total,
            unread,
            rows,
        },
    );
    let mut detail = first_detail;
    detail.body = Some(PHRASES.join("，").repeat(8));
    update(&mut app, Action::DetailLoaded(detail));
    let mut term = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    term.draw(|f| render(f, &app)).expect("draw");
    let first = t.elapsed();
    println!(
        "first screen (open + first page of {PAGE} + counts + draw, {total} messages): {:.1} ms (target ≤ 200 ms)",
        first.as_secs_f64() * 1e3
    );

    // Frames: scroll through the list, drawing each time.
    let frames = if smoke { 200 } else { 2_000 };
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
        term.draw(|f| render(f, &app)).expect("draw");
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "frame 120x40 list + detail: p50 {:.3} ms, p99 {:.3} ms over {frames} frames (target ≤ 4 ms)",
        p(0.5),
        p(0.99)
    );
}
