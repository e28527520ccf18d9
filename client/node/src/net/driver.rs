//! The session's driver: one task per connection owns the
//! [`ClientSession`], moves bytes between it and the QUIC stream, runs its
//! timers, and passes answers to the requests waiting for them and
//! deliveries to the node's event channel.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use lianxi_shared::ProtoError;
use lianxi_shared::session::{ClientEvent, ClientLimits, ClientSession, Now};
use lianxi_shared::wire::{ClientMsg, HubMsg};
use tokio::sync::{mpsc, oneshot};

use super::{Event, unreachable};
use crate::{Result, now_ms};

/// Deliveries passed on and not yet taken by the node, at most: the hub's
/// window never sends more.
const EVENTS: usize = lianxi_shared::session::MAX_WINDOW;

pub(super) enum Command {
    Request {
        msg: Box<dyn FnOnce(u64) -> ClientMsg + Send>,
        reply: oneshot::Sender<Result<HubMsg>>,
    },
    Subscribe,
    Ack(Vec<u64>),
}

/// Start driving a session over an open stream: commands in, events out, and
/// the hub's name once it has said Welcome.
pub(super) fn start(
    send: quinn::SendStream,
    recv: quinn::RecvStream,
) -> (
    mpsc::Sender<Command>,
    mpsc::Receiver<Event>,
    oneshot::Receiver<Result<String>>,
) {
    let (commands, commands_rx) = mpsc::channel(256);
    let (events_tx, events) = mpsc::channel(EVENTS);
    let (welcome_tx, welcome) = oneshot::channel();
    let agent = format!("lianxi/{}", env!("CARGO_PKG_VERSION"));
    let session = ClientSession::new(now(), agent, ClientLimits::default());
    let driver = Driver {
        session,
        send,
        recv,
        writing: None,
        waiting: HashMap::new(),
        forward: VecDeque::new(),
        welcome: Some(welcome_tx),
    };
    tokio::spawn(driver.run(commands_rx, events_tx));
    (commands, events, welcome)
}

/// The connection ended under a read or write: with the hub's reason when
/// it closed it.
fn lost(e: &dyn std::fmt::Display, c: Option<&quinn::ConnectionError>) -> ProtoError {
    match c {
        Some(quinn::ConnectionError::ApplicationClosed(c)) => super::tls::closed_by_hub(c),
        // quinn's read and write errors say only "connection lost"; the
        // connection's error says how (timed out, reset, ...).
        Some(c) => unreachable(format!("connection lost: {c}")),
        None => unreachable(format!("connection lost: {e}")),
    }
}

fn now() -> Now {
    Now::new(Instant::now(), now_ms())
}

async fn timer(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

struct Driver {
    session: ClientSession,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    /// What is being written, and how much of it is.
    writing: Option<(Vec<u8>, usize)>,
    /// Requests waiting for their answers, by rid.
    waiting: HashMap<u64, oneshot::Sender<Result<HubMsg>>>,
    /// Events not yet taken by the node.
    forward: VecDeque<Event>,
    welcome: Option<oneshot::Sender<Result<String>>>,
}

impl Driver {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, events: mpsc::Sender<Event>) {
        let mut handles_open = true;
        loop {
            self.dispatch();
            let closed = self.session.is_closed();
            if closed && (self.forward.is_empty() || !handles_open || events.is_closed()) {
                break;
            }
            if self.writing.is_none() {
                self.writing = self.session.poll_transmit().map(|b| (b, 0));
            }
            if !handles_open && self.writing.is_none() {
                // Every handle is gone and all they asked for is written.
                break;
            }
            let reading = !closed && self.forward.len() < EVENTS;
            tokio::select! {
                c = commands.recv(), if handles_open => match c {
                    Some(c) => self.command(c),
                    None => handles_open = false,
                },
                r = self.recv.read_chunk(256 * 1024, true), if reading => match r {
                    Ok(Some(chunk)) => self.session.handle_bytes(&chunk.bytes),
                    Ok(None) => self.session.handle_end(),
                    Err(e) => {
                        let c = match &e { quinn::ReadError::ConnectionLost(c) => Some(c), _ => None };
                        self.session.handle_lost(lost(&e, c));
                    }
                },
                r = write_some(&mut self.send, &self.writing), if !closed => match r {
                    Ok(n) => self.written(n),
                    Err(e) => {
                        let c = match &e { quinn::WriteError::ConnectionLost(c) => Some(c), _ => None };
                        self.session.handle_lost(lost(&e, c));
                    }
                },
                p = events.reserve(), if !self.forward.is_empty() => {
                    if let (Ok(p), Some(ev)) = (p, self.forward.pop_front()) {
                        p.send(ev);
                    }
                },
                () = timer(self.session.poll_timeout()), if !closed => self.session.handle_timeout(now()),
            }
        }
        let _ = self.send.finish();
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Request { msg, reply } => {
                let rid = self.session.request(now(), msg);
                self.waiting.insert(rid, reply);
            }
            Command::Subscribe => self.session.subscribe(),
            Command::Ack(seqs) => self.session.ack(seqs),
        }
    }

    fn written(&mut self, n: usize) {
        self.session.transmitted(n);
        if let Some((buf, off)) = self.writing.as_mut() {
            *off += n;
            if *off >= buf.len() {
                self.writing = None;
            }
        }
    }

    /// Hand what the session decided to whoever waits for it.
    fn dispatch(&mut self) {
        while let Some(ev) = self.session.poll_event() {
            match ev {
                ClientEvent::Welcome { hub, .. } => {
                    if let Some(w) = self.welcome.take() {
                        let _ = w.send(Ok(hub));
                    }
                }
                ClientEvent::Answer { rid, result } => {
                    if let Some(w) = self.waiting.remove(&rid) {
                        let _ = w.send(result);
                    }
                }
                ClientEvent::Deliver {
                    seq,
                    envelope,
                    wrap,
                } => self.forward.push_back(Event::Deliver {
                    seq,
                    envelope,
                    wrap,
                }),
                ClientEvent::Drained { delivered } => {
                    self.forward.push_back(Event::Drained { delivered })
                }
                ClientEvent::Closed(why) => self.closed(why),
            }
        }
    }

    fn closed(&mut self, why: ProtoError) {
        if let Some(w) = self.welcome.take() {
            let _ = w.send(Err(why.clone()));
        }
        self.forward.push_back(Event::Closed(why));
    }
}

/// Write some of what is being written (cancel-safe: quinn's `write` writes
/// nothing unless it completes).
async fn write_some(
    send: &mut quinn::SendStream,
    w: &Option<(Vec<u8>, usize)>,
) -> std::result::Result<usize, quinn::WriteError> {
    match w {
        Some((buf, off)) => send.write(&buf[*off..]).await,
        None => std::future::pending().await,
    }
}
