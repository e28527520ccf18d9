//! What a hostile member's node can make a recipient do: any payload that
//! decodes is applied to a real archive (SQLite, as a node receives it after
//! verification), then every screen of the terminal UI is rendered from that
//! archive into `TestBackend` at a wide and a narrow size. Nothing may panic;
//! refusals are fine.
#![no_main]

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use lianxi_node::archive::Archive;
use lianxi_node::archive::Incoming;
use lianxi::tui::app::{App, Tab};
use lianxi::tui::tabs::bulletins::list::{Page, preset_filter};
use lianxi::tui::i18n::Lang;
use lianxi::tui::render::render;
use lianxi::tui::update::{Action, update};
use lianxi_shared::envelope::{Envelope, Header, Opened};
use lianxi_shared::{Audience, MessageId, NodeInfo, Payload};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[path = "../../client/tests/tui_support/mod.rs"]
mod tui_support;

use tui_support::{T0 as NOW, directory};

struct World {
    _dir: tempfile::TempDir,
    archive: Archive,
}

static WORLD: Mutex<Option<World>> = Mutex::new(None);
static SEQ: AtomicU64 = AtomicU64::new(1);

fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut archive = Archive::open(&dir.path().join("archive.db")).expect("archive");
    let dir_rows: Vec<(NodeInfo, Vec<u8>)> =
        directory().into_iter().map(|n| (n, Vec::new())).collect();
    archive.save_directory(&dir_rows).expect("directory");
    World { _dir: dir, archive }
}

fn draw(app: &App) {
    for (w, h) in [(100, 30), (24, 8)] {
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        t.draw(|f| render(f, app)).expect("draw");
    }
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let Ok(payload) = Payload::decode(&data[1..]) else {
        return;
    };
    let mut guard = WORLD.lock().unwrap_or_else(|e| e.into_inner());
    let w = guard.get_or_insert_with(world);
    let dir = directory();
    let sender = dir[usize::from(data[0]) % dir.len()].node_id.clone();
    let me = dir[usize::from(data[0] / 7) % dir.len()].clone();
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let at = NOW + seq as i64;
    let mut rand = [0u8; 16];
    rand[..8].copy_from_slice(&seq.to_be_bytes());
    let header = Header {
        v: 1,
        id: MessageId::new_v7(at, rand),
        sender,
        audience: Audience::All,
        created_at: at,
        not_before: None,
        body_sha256: [0; 32],
        body_len: 0,
        key: String::new(),
    };
    let incoming = Incoming {
        opened: Opened {
            header,
            payload_bytes: payload.encode(),
            payload,
        },
        envelope: Envelope {
            header: vec![0],
            sig: [0; 64],
            body: vec![0],
        },
        wrap: vec![0],
        received_at: at,
        forwarded: None,
        history: Vec::new(),
    };
    // Refusals are expected; a panic or a broken archive is not.
    let _ = w.archive.apply_incoming(&[incoming]);

    let mut app = App::new(me.clone(), "127.0.0.1:7443".into(), Lang::Zh);
    update(&mut app, Action::DirectoryLoaded(dir.clone()));
    for tab in Tab::ALL {
        update(&mut app, Action::GoTab(tab));
        if tab == Tab::Bulletins {
            let f = preset_filter(0);
            if let (Ok(rows), Ok((total, unread))) =
                (w.archive.list_filtered(&f, 20, 0), w.archive.count_filtered(&f))
            {
                let first = rows.first().map(|r| r.id.clone());
                update(
                    &mut app,
                    Action::PageLoaded(Page {
                        start: 0,
                        total,
                        unread,
                        rows,
                        preset: 0,
                    }),
                );
                draw(&app);
                if let Some(id) = first
                    && let Ok(m) = w.archive.show(&id, false, at)
                {
                    update(&mut app, Action::DetailLoaded(m));
                    draw(&app);
                    update(&mut app, Action::Back);
                }
            }
        }
        if tab == Tab::Cases {
            let f = lianxi::tui::tabs::cases::effects::filter(0, at);
            if let Ok(rows) = w.archive.cases(&me.node_id, &f) {
                let first = rows.first().map(|r| r.facts.number.clone());
                update(&mut app, Action::CasesLoaded { view: 0, rows });
                draw(&app);
                if let Some(n) = first
                    && let Ok(Some(file)) = w.archive.case_file(&n)
                {
                    update(
                        &mut app,
                        Action::CaseLoaded(Box::new(lianxi::tui::tabs::cases::CaseDetail {
                            file,
                            confidential: None,
                        })),
                    );
                    draw(&app);
                    update(&mut app, Action::Back);
                }
            }
        }
        if tab == Tab::Meetings
            && let Ok((conf, _)) = w.archive.conference()
        {
            update(&mut app, Action::ConferenceLoaded(Box::new(conf)));
            update(&mut app, Action::Open);
            draw(&app);
        }
        draw(&app);
    }
});
