//! The UI's runtime: the terminal, the input thread, the network worker and the
//! effects. Everything that waits (database, network) runs on other tasks and
//! comes back as an [`Action`] on one channel; the loop only updates and draws.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lianxi_shared::{Bulletin, ErrorCode, Payload, ProtoError};
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

fn run_effect(
    node: &Arc<Node>,
    net: &mpsc::Sender<NetCmd>,
    tx: &mpsc::UnboundedSender<Msg>,
    effect: Effect,
) {
    let (node, net, tx) = (node.clone(), net.clone(), tx.clone());
    tokio::spawn(async move {
        let send = |a: Action| {
            let _ = tx.send(Msg::Action(a));
        };
        let r: Result<()> = async {
            match effect {
                Effect::LoadPage {
                    tab,
                    start,
                    len,
                    preset,
                } => {
                    let Some(kind) = tab.kind() else {
                        return Ok(());
                    };
                    let f = super::app::preset_filter(kind, preset);
                    let (rows, (total, unread)) = node
                        .archive
                        .call(move |a| {
                            Ok((a.list_filtered(&f, len, start)?, a.count_filtered(&f)?))
                        })
                        .await?;
                    send(Action::PageLoaded {
                        tab,
                        start,
                        total,
                        unread,
                        rows,
                        preset,
                    });
                }
                Effect::LoadDetail { id, mark_read } => {
                    let m = node
                        .archive
                        .call(move |a| a.show(&id, mark_read, now_ms()))
                        .await?;
                    send(Action::DetailLoaded(m));
                }
                Effect::Search(query) => {
                    let q = query.clone();
                    let hits = node.archive.call(move |a| a.search(&q, 50)).await?;
                    send(Action::SearchDone { query, hits });
                }
                Effect::LoadDirectory => send(Action::DirectoryLoaded(node.directory().await?)),
                Effect::Remind(id) => match node.remind(&id, String::new()).await {
                    Ok((_, n)) => {
                        let _ = net.send(NetCmd::Flush).await;
                        send(Action::Reminded(Ok(n)));
                    }
                    Err(e) => send(Action::Reminded(Err(e.message))),
                },
                Effect::LoadReceipts(id) => {
                    let r = node
                        .archive
                        .call(move |a| a.receipts(&id, now_ms()))
                        .await?;
                    send(Action::ReceiptsLoaded(r));
                }
                Effect::Acknowledge(id) => {
                    node.acknowledge(&id, None).await?;
                    let _ = net.send(NetCmd::Flush).await;
                    let m = node
                        .archive
                        .call(move |a| a.show(&id, false, now_ms()))
                        .await?;
                    send(Action::DetailLoaded(m));
                }
                Effect::CheckAttachment(path) => {
                    let max = node
                        .config
                        .max_attachment
                        .unwrap_or(lianxi_shared::payload::DEFAULT_MAX_ATTACHMENT);
                    let r = match std::fs::metadata(&path) {
                        Err(e) => Err(format!("{}: {e}", path.display())),
                        Ok(m) if !m.is_file() => Err(format!("{} is not a file", path.display())),
                        Ok(m) if m.len() > max => Err(format!(
                            "{} is {} bytes; the limit is {max}",
                            path.display(),
                            m.len()
                        )),
                        Ok(m) => Ok((path, m.len())),
                    };
                    send(Action::Attached(r));
                }
                Effect::LoadCases { view } => {
                    let me = node.me.node_id.clone();
                    let f = super::tabs::cases::effects::filter(view, now_ms());
                    let rows = node.archive.call(move |a| a.cases(&me, &f)).await?;
                    send(Action::CasesLoaded { view, rows });
                }
                Effect::LoadCase(key) => {
                    let file = node.case_file(&key).await?;
                    let confidential = if file.state.is_handler(&node.me.node_id) {
                        node.case_confidential(&file.state)
                    } else {
                        None
                    };
                    send(Action::CaseLoaded(Box::new(
                        super::tabs::cases::CaseDetail { file, confidential },
                    )));
                }
                Effect::Intake(form) => match node.case_intake(*form).await {
                    Ok(r) => {
                        send(Action::IntakeDone(Ok(r.queued.number)));
                        let _ = net.send(NetCmd::Flush).await;
                    }
                    Err(e) => send(Action::IntakeDone(Err(e.to_string()))),
                },
                Effect::TypicalDraft(key) => {
                    send(Action::TypicalReady(
                        super::tabs::cases::effects::typical(&node, &key)
                            .await
                            .map(Box::new)
                            .map_err(|e| e.to_string()),
                    ));
                }
                Effect::PublishTypical { case, draft } => {
                    match node
                        .publish_typical(&case, draft, lianxi_shared::Audience::All)
                        .await
                    {
                        Ok(id) => {
                            send(Action::Published(Ok(id.to_string())));
                            let _ = net.send(NetCmd::Flush).await;
                        }
                        Err(e) => send(Action::Published(Err(e.to_string()))),
                    }
                }
                Effect::LoadConference => {
                    let (conf, _) = node.conference().await?;
                    send(Action::ConferenceLoaded(Box::new(conf)));
                }
                Effect::PublishAgenda { session, slots } => {
                    let r = node.publish_agenda(session, slots).await;
                    let _ = net.send(NetCmd::Flush).await;
                    send(Action::AgendaDone(super::tabs::meetings::outcome(r)));
                }
                Effect::ConfAttend(session) => {
                    let answer = lianxi_shared::conference::Rsvp::Attend;
                    let r = node.rsvp(session, answer).await;
                    let _ = net.send(NetCmd::Flush).await;
                    send(Action::ConfDone(super::tabs::meetings::outcome(r)));
                }
                Effect::ConfAck(session) => {
                    let r = node.ack_minutes(session).await;
                    let _ = net.send(NetCmd::Flush).await;
                    send(Action::ConfDone(super::tabs::meetings::outcome(r)));
                }
                Effect::ConfRemind(session, of) => {
                    let r = node.remind_meeting(session, of, String::new()).await;
                    let _ = net.send(NetCmd::Flush).await;
                    send(Action::ConfDone(super::tabs::meetings::outcome(r)));
                }
                Effect::LoadOutbox => {
                    let (items, pending) = node
                        .archive
                        .call(|a| Ok((a.outbox()?, a.pending_count()?)))
                        .await?;
                    send(Action::OutboxLoaded { items, pending });
                }
                Effect::Queue {
                    audience,
                    title,
                    body,
                    attachments,
                    ack_required,
                } => {
                    let max = node
                        .config
                        .max_attachment
                        .unwrap_or(lianxi_shared::payload::DEFAULT_MAX_ATTACHMENT);
                    let files = match crate::bulletins::read_attachments(&attachments, max) {
                        Ok(f) => f,
                        Err(e) => {
                            send(Action::Queued(Err(e.message)));
                            return Ok(());
                        }
                    };
                    let b = Bulletin {
                        title,
                        body,
                        attachments: files,
                        ack_required,
                        ..Default::default()
                    };
                    match node.queue(audience, Payload::Bulletin(b), None).await {
                        Ok(id) => {
                            send(Action::Queued(Ok(id.to_string())));
                            let _ = net.send(NetCmd::Flush).await;
                        }
                        Err(e) => send(Action::Queued(Err(e.message))),
                    }
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
            tab: super::app::Tab::Bulletins,
            start: 0,
            len: super::app::PAGE,
            preset: 0,
        },
        Effect::LoadCases { view: 0 },
        Effect::LoadConference,
        Effect::LoadDirectory,
        Effect::LoadOutbox,
    ] {
        run_effect(&node, &net_tx, &tx, e);
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
                    run_effect(&node, &net_tx, &tx, e);
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
    drop(net_tx);
    let _ = tokio::time::timeout(Duration::from_secs(3), worker).await;
    Ok(())
}
