//! A node's side of its session with the hub.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::{Now, Outgoing};
use crate::PROTOCOL_VERSION;
use crate::envelope::Envelope;
use crate::error::{ErrorCode, ProtoError};
use crate::frame::FrameDecoder;
use crate::ids::NodeId;
use crate::wire::{ClientMsg, HubMsg};

#[derive(Clone, Debug)]
pub struct ClientLimits {
    /// Largest frame accepted from the hub.
    pub max_frame: usize,
    /// The hub must answer Hello within this time.
    pub welcome_timeout: Duration,
    /// And every request within this time.
    pub answer_timeout: Duration,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            max_frame: crate::frame::DEFAULT_MAX_FRAME,
            welcome_timeout: Duration::from_secs(30),
            answer_timeout: Duration::from_secs(60),
        }
    }
}

/// What the driver passes on.
#[derive(Debug, PartialEq)]
pub enum ClientEvent {
    /// The hub accepted Hello: requests may be made.
    Welcome {
        hub: String,
        node: NodeId,
        time_ms: i64,
    },
    /// The answer to request `rid`: `Accepted`, `DirectoryIs` or `Pong`, or
    /// why there is none (`Refused`, a timeout, the connection ending).
    Answer {
        rid: u64,
        result: Result<HubMsg, ProtoError>,
    },
    Deliver {
        seq: u64,
        envelope: Envelope,
        wrap: Vec<u8>,
    },
    Drained {
        delivered: u64,
    },
    /// The session is over; every unanswered request has had its answer.
    Closed(ProtoError),
}

#[derive(Debug, PartialEq)]
enum State {
    AwaitWelcome { deadline: Instant },
    Ready,
    Closed,
}

#[derive(Debug)]
pub struct ClientSession {
    limits: ClientLimits,
    state: State,
    decoder: FrameDecoder,
    out: Outgoing,
    events: VecDeque<ClientEvent>,
    next_rid: u64,
    /// Requests awaiting an answer, and when they give up. Deadlines never
    /// decrease along the rids (each is at least the one before), so the
    /// first entry is the next to give up: the timer and the timeouts look at
    /// the front only, whatever the number of requests in flight.
    pending: BTreeMap<u64, Instant>,
}

fn unreachable(m: impl Into<String>) -> ProtoError {
    ProtoError::new(ErrorCode::HubUnreachable, m)
}

impl ClientSession {
    /// A stream to the hub is open `now`; Hello is queued.
    pub fn new(now: Now, agent: String, limits: ClientLimits) -> ClientSession {
        let mut out = Outgoing::default();
        out.push(
            ClientMsg::Hello {
                protocol: PROTOCOL_VERSION,
                agent,
            }
            .to_frame(),
        );
        ClientSession {
            decoder: FrameDecoder::new(limits.max_frame),
            state: State::AwaitWelcome {
                deadline: now.instant + limits.welcome_timeout,
            },
            out,
            events: VecDeque::new(),
            next_rid: 1,
            pending: BTreeMap::new(),
            limits,
        }
    }

    /// Queue a request; its answer comes as [`ClientEvent::Answer`] with the
    /// returned rid.
    pub fn request(&mut self, now: Now, build: impl FnOnce(u64) -> ClientMsg) -> u64 {
        let rid = self.next_rid;
        self.next_rid += 1;
        if self.is_closed() {
            self.events.push_back(ClientEvent::Answer {
                rid,
                result: Err(unreachable("the connection is closed")),
            });
            return rid;
        }
        self.out.push(build(rid).to_frame());
        let deadline = self
            .pending
            .last_key_value()
            .map_or(now.instant, |(_, d)| *d)
            .max(now.instant + self.limits.answer_timeout);
        self.pending.insert(rid, deadline);
        rid
    }

    /// Start receiving deliveries.
    pub fn subscribe(&mut self) {
        if !self.is_closed() {
            self.out.push(ClientMsg::Subscribe.to_frame());
        }
    }

    /// These deliveries are durably stored: the hub may drop them.
    pub fn ack(&mut self, seqs: Vec<u64>) {
        if !seqs.is_empty() && !self.is_closed() {
            self.out.push(ClientMsg::Received { seqs }.to_frame());
        }
    }

    pub fn handle_bytes(&mut self, bytes: &[u8]) {
        if self.is_closed() {
            return;
        }
        self.decoder.push(bytes);
        loop {
            match self.decoder.next_frame() {
                Err(e) => return self.close(e),
                Ok(None) => return,
                Ok(Some(body)) => match HubMsg::decode(&body) {
                    Ok(msg) => self.on_msg(msg),
                    Err(e) => return self.close(e),
                },
            }
            if self.is_closed() {
                return;
            }
        }
    }

    /// The hub finished its stream.
    pub fn handle_end(&mut self) {
        if !self.is_closed() {
            let why = match self.decoder.finish() {
                Ok(()) => unreachable("the hub closed the stream"),
                Err(e) => e,
            };
            self.close(why);
        }
    }

    /// The connection was lost (the driver says why).
    pub fn handle_lost(&mut self, why: ProtoError) {
        if !self.is_closed() {
            self.close(why);
        }
    }

    pub fn handle_timeout(&mut self, now: Now) {
        if self.is_closed() {
            return;
        }
        if let State::AwaitWelcome { deadline } = self.state
            && now.instant >= deadline
        {
            return self.close(unreachable(format!(
                "no Welcome from the hub within {} s",
                self.limits.welcome_timeout.as_secs()
            )));
        }
        while let Some((&rid, &deadline)) = self.pending.first_key_value() {
            if now.instant < deadline {
                break;
            }
            self.pending.remove(&rid);
            self.events.push_back(ClientEvent::Answer {
                rid,
                result: Err(unreachable(format!(
                    "the hub did not answer within {} s",
                    self.limits.answer_timeout.as_secs()
                ))),
            });
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let request = self.pending.first_key_value().map(|(_, d)| *d);
        match (&self.state, request) {
            (State::AwaitWelcome { deadline }, Some(r)) => Some(r.min(*deadline)),
            (State::AwaitWelcome { deadline }, None) => Some(*deadline),
            (_, r) => r,
        }
    }

    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.take()
    }

    pub fn transmitted(&mut self, n: usize) {
        self.out.written(n);
    }

    pub fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    fn on_msg(&mut self, msg: HubMsg) {
        if let State::AwaitWelcome { .. } = self.state {
            return match msg {
                HubMsg::Welcome {
                    protocol,
                    node,
                    hub,
                    time_ms,
                } if protocol == PROTOCOL_VERSION => {
                    self.state = State::Ready;
                    self.events
                        .push_back(ClientEvent::Welcome { hub, node, time_ms });
                }
                HubMsg::Welcome { protocol, .. } => self.close(ProtoError::new(
                    ErrorCode::UnsupportedVersion,
                    format!(
                        "the hub speaks protocol {protocol}; this node speaks {PROTOCOL_VERSION}"
                    ),
                )),
                HubMsg::Error { error } => self.close(error),
                other => self.close(ProtoError::new(
                    ErrorCode::BadFrame,
                    format!("expected Welcome, got {}", kind(&other)),
                )),
            };
        }
        let rid = match &msg {
            HubMsg::Accepted { rid, .. }
            | HubMsg::Refused { rid, .. }
            | HubMsg::DirectoryIs { rid, .. }
            | HubMsg::Pong { rid, .. } => Some(*rid),
            _ => None,
        };
        if let Some(rid) = rid {
            // An answer to nothing asked (or asked and given up on) is dropped.
            if self.pending.remove(&rid).is_some() {
                let result = match msg {
                    HubMsg::Refused { error, .. } => Err(error),
                    m => Ok(m),
                };
                self.events.push_back(ClientEvent::Answer { rid, result });
            }
            return;
        }
        match msg {
            HubMsg::Deliver {
                seq,
                envelope,
                wrap,
            } => self.events.push_back(ClientEvent::Deliver {
                seq,
                envelope,
                wrap,
            }),
            HubMsg::Drained { delivered } => {
                self.events.push_back(ClientEvent::Drained { delivered })
            }
            HubMsg::Error { error } => self.close(error),
            other => self.close(ProtoError::new(
                ErrorCode::BadFrame,
                format!("unexpected {} from the hub", kind(&other)),
            )),
        }
    }

    fn close(&mut self, why: ProtoError) {
        self.state = State::Closed;
        for rid in std::mem::take(&mut self.pending).into_keys() {
            self.events.push_back(ClientEvent::Answer {
                rid,
                result: Err(unreachable("the connection closed before the hub answered")),
            });
        }
        self.events.push_back(ClientEvent::Closed(why));
    }
}

/// A message's kind, for errors (never its contents: they come from the network).
fn kind(m: &HubMsg) -> &'static str {
    match m {
        HubMsg::Welcome { .. } => "Welcome",
        HubMsg::Accepted { .. } => "Accepted",
        HubMsg::Refused { .. } => "Refused",
        HubMsg::DirectoryIs { .. } => "DirectoryIs",
        HubMsg::Deliver { .. } => "Deliver",
        HubMsg::Drained { .. } => "Drained",
        HubMsg::Pong { .. } => "Pong",
        HubMsg::Error { .. } => "Error",
    }
}
