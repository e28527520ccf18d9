//! The UI's runtime: the terminal, the input thread, the network worker and the
//! effects. Everything that waits (database, network) runs on other tasks and
//! comes back as an [`Action`] on one channel; the loop only updates and draws.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lianxi_shared::{ErrorCode, ProtoError};
use ratatui::crossterm::event::{self, DisableBracketedPaste, EnableBracketedPaste, Event};
use ratatui::crossterm::execute;
use tokio::sync::mpsc;

use super::app::App;
use super::i18n::Lang;
use super::render::render;
use super::update::{Action, Effect, on_key, update};
use crate::node::Node;
use crate::sync::{NetCmd, NetEvent, run_connected};
use crate::{Result, now_ms};

// Short-lived values on a channel; boxing the large variant buys nothing.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Term(Event),
    Action(Action),
}

/// Restores the terminal on every exit path (the panic hook installed by
/// `ratatui::try_init` covers panics).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = execute!(std::io::stdout(), DisableBracketedPaste);
        ratatui::restore();
    }
}

/// Writes of drafts (saving, deleting, sending one) run one after another in
/// the order `update` asked for them, on their own task, so that a late save
/// never brings back a draft just sent; the others run concurrently.
fn draft_lane(
    node: Arc<Node>,
    net: mpsc::Sender<NetCmd>,
    tx: mpsc::UnboundedSender<Msg>,
) -> (mpsc::UnboundedSender<Effect>, tokio::task::JoinHandle<()>) {
    let (lane, mut rx) = mpsc::unbounded_channel::<Effect>();
    let task = tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            let send = |a: Action| {
                let _ = tx.send(Msg::Action(a));
            };
            if let Err(e) = super::tabs::bulletins::effects::run(&node, &net, &send, e).await {
                tracing::warn!(code = %e.code, reason = %e.message, "draft effect failed");
            }
        }
    });
    (lane, task)
}

fn run_effect(
    node: &Arc<Node>,
    net: &mpsc::Sender<NetCmd>,
    tx: &mpsc::UnboundedSender<Msg>,
    lane: &mpsc::UnboundedSender<Effect>,
    effect: Effect,
) {
    if matches!(
        effect,
        Effect::Queue { .. } | Effect::SaveDraft(..) | Effect::DeleteDraft(..)
    ) {
        let _ = lane.send(effect);
        return;
    }
    let (node, net, tx) = (node.clone(), net.clone(), tx.clone());
    tokio::spawn(async move {
        let send = |a: Action| {
            let _ = tx.send(Msg::Action(a));
        };
        let r: Result<()> = async {
            match effect {
                Effect::LoadDirectory => send(Action::DirectoryLoaded(node.directory().await?)),
                Effect::LoadOutbox => {
                    let (items, pending) = node
                        .archive
                        .call(|a| Ok((a.outbox()?, a.pending_count()?)))
                        .await?;
                    send(Action::OutboxLoaded { items, pending });
                }
                e @ (Effect::LoadPage { .. }
                | Effect::LoadDetail { .. }
                | Effect::Search(..)
                | Effect::Remind(..)
                | Effect::LoadReceipts(..)
                | Effect::Acknowledge(..)
                | Effect::CheckAttachment(..)
                | Effect::Queue { .. }
                | Effect::SaveDraft(..)
                | Effect::DeleteDraft(..)
                | Effect::LoadDrafts) => {
                    super::tabs::bulletins::effects::run(&node, &net, &send, e).await?
                }
                e @ (Effect::LoadCases { .. }
                | Effect::LoadCase(..)
                | Effect::Intake(..)
                | Effect::TypicalDraft(..)
                | Effect::PublishTypical { .. }) => {
                    super::tabs::cases::effects::run(&node, &net, &send, e).await?
                }
                e @ (Effect::LoadConference
                | Effect::PublishAgenda { .. }
                | Effect::ConfAttend(..)
                | Effect::ConfAck(..)
                | Effect::ConfRemind(..)) => {
                    super::tabs::meetings::effects::run(&node, &net, &send, e).await?
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = r {
            tracing::warn!(code = %e.code, reason = %e.message, "UI effect failed");
        }
    });
}

/// Forward the network worker's events to the UI.
async fn forward(
    mut events: mpsc::Receiver<NetEvent>,
    node: Arc<Node>,
    tx: mpsc::UnboundedSender<Msg>,
) {
    while let Some(ev) = events.recv().await {
        let a = match ev {
            NetEvent::State(s) => Action::Conn(s),
            NetEvent::Arrived(m) => Action::Arrived(m),
            NetEvent::Flushed { sent, failed } => Action::Flushed {
                sent: sent.len(),
                failed: failed.into_iter().map(|(_, e)| e.message).collect(),
            },
            NetEvent::Cases => Action::CasesChanged,
            NetEvent::Conference => Action::ConferenceChanged,
            NetEvent::Directory => match node.directory().await {
                Ok(d) => Action::DirectoryLoaded(d),
                Err(_) => continue,
            },
        };
        if tx.send(Msg::Action(a)).is_err() {
            return;
        }
    }
}

/// Run the terminal UI for `node` until the user quits.
pub async fn run(node: Arc<Node>, lang: Lang) -> Result<()> {
    let term_err = |e: std::io::Error| ProtoError::new(ErrorCode::Io, format!("terminal: {e}"));
    let mut terminal = ratatui::try_init().map_err(term_err)?;
    let _restore = Restore;
    let _ = execute!(std::io::stdout(), EnableBracketedPaste);

    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    // Input: crossterm's blocking reads on their own thread.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let (tx, stop) = (tx.clone(), stop.clone());
        std::thread::Builder::new()
            .name("tui-input".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if event::poll(Duration::from_millis(100)).unwrap_or(false) {
                        match event::read() {
                            Ok(ev) => {
                                if tx.send(Msg::Term(ev)).is_err() {
                                    return;
                                }
                            }
                            Err(_) => return,
                        }
                    }
                }
            })
            .map_err(term_err)?;
    }
    // Network: connect, receive, flush, reconnect with back-off.
    let (net_tx, net_rx) = mpsc::channel::<NetCmd>(16);
    let (ev_tx, ev_rx) = mpsc::channel::<NetEvent>(1024);
    let worker = {
        let node = node.clone();
        tokio::spawn(async move {
            if let Err(e) = run_connected(&node, net_rx, ev_tx).await {
                tracing::error!(code = %e.code, reason = %e.message, "network worker stopped");
            }
        })
    };
    tokio::spawn(forward(ev_rx, node.clone(), tx.clone()));
    // Clock.
    let ticker = {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(Duration::from_millis(100));
            loop {
                iv.tick().await;
                if tx.send(Msg::Action(Action::Tick(now_ms()))).is_err() {
                    return;
                }
            }
        })
    };

    let (lane, lane_task) = draft_lane(node.clone(), net_tx.clone(), tx.clone());
    let mut app = App::new(node.me.clone(), node.hub_addr().unwrap_or_default(), lang);
    app.now_ms = now_ms();
    app.crl_stale = node
        .crl_next_update()
        .await
        .ok()
        .flatten()
        .is_some_and(|t| t.saturating_mul(1000) < app.now_ms);
    if let Ok(size) = terminal.size() {
        app.size = (size.width, size.height);
    }
    for e in [
        Effect::LoadPage {
            start: 0,
            len: super::tabs::bulletins::list::PAGE,
            preset: 0,
        },
        Effect::LoadCases { view: 0 },
        Effect::LoadConference,
        Effect::LoadDirectory,
        Effect::LoadOutbox,
    ] {
        run_effect(&node, &net_tx, &tx, &lane, e);
    }
    terminal.draw(|f| render(f, &app)).map_err(term_err)?;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(m) = rx.try_recv() {
            batch.push(m);
        }
        for m in batch {
            let action = match m {
                Msg::Action(a) => Some(a),
                Msg::Term(Event::Key(k)) => on_key(&app, k),
                Msg::Term(Event::Paste(s)) => Some(Action::Paste(s)),
                Msg::Term(Event::Resize(w, h)) => Some(Action::Resize(w, h)),
                Msg::Term(_) => None,
            };
            if let Some(a) = action {
                for e in update(&mut app, a) {
                    run_effect(&node, &net_tx, &tx, &lane, e);
                }
            }
        }
        if app.quit {
            break;
        }
        terminal.draw(|f| render(f, &app)).map_err(term_err)?;
    }
    stop.store(true, Ordering::Relaxed);
    ticker.abort();
    // What was typed is written before the program ends.
    drop(lane);
    if tokio::time::timeout(Duration::from_secs(10), lane_task)
        .await
        .is_err()
    {
        tracing::error!("drafts were still being written at exit");
    }
    drop(net_tx);
    let _ = tokio::time::timeout(Duration::from_secs(3), worker).await;
    Ok(())
}
