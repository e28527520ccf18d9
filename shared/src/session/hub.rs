//! The hub's side of a session with one node.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{Now, Outgoing, Window};
use crate::PROTOCOL_VERSION;
use crate::envelope::{Envelope, Wrap};
use crate::error::{ErrorCode, ProtoError};
use crate::frame::FrameDecoder;
use crate::ids::NodeId;
use crate::wire::{ClientMsg, HubMsg};

/// What the hub allows one session. The hub's configuration fills it in.
#[derive(Clone, Debug)]
pub struct HubLimits {
    /// Largest frame accepted, bytes after the length field.
    pub max_frame: usize,
    /// `Hello` must arrive this long after the connection was accepted.
    pub hello_timeout: Duration,
    /// Once a frame has started it must be complete within this grace
    /// period, plus the time its bytes take at `frame_min_bytes_per_sec`:
    /// a slow but honest link finishes a large attachment, a peer that
    /// trickles bytes to hold a connection open runs out of time.
    pub frame_grace: Duration,
    pub frame_min_bytes_per_sec: u64,
    /// Deliveries sent and not yet acknowledged, at most.
    pub delivery_window: usize,
    /// Outgoing bytes queued before deliveries wait; at twice this the hub
    /// stops reading the node too, so a node that does not read cannot grow
    /// the hub by asking.
    pub out_buffer_bytes: usize,
    /// Sends being checked and stored at once, and the bytes they may hold:
    /// past either the hub stops reading until one is answered.
    pub max_inflight_sends: usize,
    pub max_inflight_send_bytes: usize,
    /// `Directory` requests answered in any minute; more are refused.
    pub directory_per_minute: u32,
}

impl Default for HubLimits {
    fn default() -> Self {
        HubLimits {
            max_frame: crate::frame::DEFAULT_MAX_FRAME,
            hello_timeout: Duration::from_secs(10),
            frame_grace: Duration::from_secs(30),
            frame_min_bytes_per_sec: 8 * 1024,
            delivery_window: 256,
            out_buffer_bytes: 8 * 1024 * 1024,
            max_inflight_sends: 256,
            max_inflight_send_bytes: 64 * 1024 * 1024,
            directory_per_minute: 30,
        }
    }
}

/// What the driver must act on.
#[derive(Debug, PartialEq)]
pub enum HubEvent {
    /// The node said Hello; Welcome is queued.
    Ready,
    /// Check and store this envelope, then [`HubSession::answer`] with
    /// `Accepted` or `Refused` for `rid`.
    Send {
        rid: u64,
        envelope: Envelope,
        wraps: Vec<Wrap>,
    },
    /// Start feeding deliveries with [`HubSession::deliver`] (at most once).
    Subscribe,
    /// The node stored these deliveries: forget them. They were in flight
    /// on this session, each once.
    Received { seqs: Vec<u64> },
    /// Answer with `DirectoryIs` for `rid` (already within the rate).
    Directory { rid: u64 },
    /// The session is over: write what is queued (an `Error` frame, if it
    /// failed), then close the connection. `Ok` when the node finished its
    /// stream cleanly.
    Closed(Result<(), ProtoError>),
}

#[derive(Debug, PartialEq)]
enum State {
    AwaitHello { deadline: Instant },
    Serving,
    Closed,
}

/// One node's session, as the hub sees it.
#[derive(Debug)]
pub struct HubSession {
    node: NodeId,
    hub: String,
    limits: HubLimits,
    state: State,
    decoder: FrameDecoder,
    /// When the frame being received must be complete.
    frame_deadline: Option<Instant>,
    out: Outgoing,
    events: VecDeque<HubEvent>,
    window: Window,
    subscribed: bool,
    delivered: u64,
    drained_sent: bool,
    /// Sends handed to the driver and not yet answered: (rid, frame bytes).
    sends: Vec<(u64, usize)>,
    send_bytes: usize,
    directory: MinuteRate,
    /// A directory answer is being prepared: it can be large, so the hub
    /// reads nothing more until it is queued.
    directory_pending: bool,
}

impl HubSession {
    /// A connection from `node` (as its certificate says) was accepted `now`.
    pub fn new(now: Now, node: NodeId, hub: String, limits: HubLimits) -> HubSession {
        HubSession {
            node,
            hub,
            state: State::AwaitHello {
                deadline: now.instant + limits.hello_timeout,
            },
            decoder: FrameDecoder::new(limits.max_frame),
            frame_deadline: None,
            out: Outgoing::default(),
            events: VecDeque::new(),
            window: Window::new(limits.delivery_window),
            subscribed: false,
            delivered: 0,
            drained_sent: false,
            sends: Vec::new(),
            send_bytes: 0,
            directory: MinuteRate::new(limits.directory_per_minute),
            directory_pending: false,
            limits,
        }
    }

    /// Bytes read from the node's stream. Frames in them are acted on while
    /// [`wants_read`](Self::wants_read) holds; the rest wait, buffered, until
    /// answers or writes make room.
    pub fn handle_bytes(&mut self, now: Now, bytes: &[u8]) {
        if self.is_closed() {
            return;
        }
        self.decoder.push(bytes);
        if let Some(d) = self.frame_deadline.as_mut() {
            *d += earned(&self.limits, bytes.len());
        }
        self.process(now);
    }

    fn process(&mut self, now: Now) {
        while self.wants_read() {
            match self.decoder.next_frame() {
                Err(e) => return self.fail(e),
                Ok(None) => break,
                Ok(Some(body)) => {
                    self.frame_deadline = None;
                    self.on_frame(now, &body);
                }
            }
        }
        self.arm_frame_deadline(now);
    }

    /// The node finished its stream.
    pub fn handle_end(&mut self) {
        if self.is_closed() {
            return;
        }
        match self.decoder.finish() {
            Ok(()) => self.close(Ok(())),
            Err(e) => self.fail(e),
        }
    }

    /// Time has passed; act on whatever timer is due.
    pub fn handle_timeout(&mut self, now: Now) {
        if self.is_closed() {
            return;
        }
        if let State::AwaitHello { deadline } = self.state
            && now.instant >= deadline
        {
            return self.fail(ProtoError::new(ErrorCode::BadRequest, "no Hello in time"));
        }
        if self.frame_deadline.is_some_and(|d| now.instant >= d) {
            self.fail(ProtoError::new(
                ErrorCode::TruncatedFrame,
                "frame not completed in time",
            ));
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let hello = match self.state {
            State::AwaitHello { deadline } => Some(deadline),
            _ => None,
        };
        match (hello, self.frame_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn poll_event(&mut self) -> Option<HubEvent> {
        self.events.pop_front()
    }

    /// The next bytes to write to the node.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.take()
    }

    /// The driver wrote `n` bytes of what it took.
    pub fn transmitted(&mut self, now: Now, n: usize) {
        self.out.written(n);
        self.process(now);
    }

    /// Whether the driver should read more from the node now. False while
    /// the node's sends hold their limit or it leaves too much unread.
    pub fn wants_read(&self) -> bool {
        !self.is_closed()
            && !self.directory_pending
            && self.sends.len() < self.limits.max_inflight_sends.max(1)
            && self.send_bytes < self.inflight_send_bytes()
            && self.out.queued() < 2 * self.out_budget()
    }

    /// Whether a delivery may be handed over now.
    pub fn can_deliver(&self) -> bool {
        self.subscribed
            && !self.is_closed()
            && self.window.has_room()
            && self.out.queued() < self.out_budget()
    }

    /// Send one delivery (only when [`can_deliver`](Self::can_deliver)).
    pub fn deliver(&mut self, seq: u64, envelope: Envelope, wrap: Vec<u8>) {
        self.window.take(seq);
        self.delivered += 1;
        self.out.push(
            HubMsg::Deliver {
                seq,
                envelope,
                wrap,
            }
            .to_frame(),
        );
    }

    /// Everything waiting for the node has been handed over (said once).
    pub fn drained(&mut self) {
        if self.drained_sent || self.is_closed() {
            return;
        }
        self.drained_sent = true;
        self.out.push(
            HubMsg::Drained {
                delivered: self.delivered,
            }
            .to_frame(),
        );
    }

    /// The driver's answer to a [`HubEvent::Send`] or [`HubEvent::Directory`].
    pub fn answer(&mut self, now: Now, msg: HubMsg) {
        if let HubMsg::DirectoryIs { .. } = msg {
            self.directory_pending = false;
        }
        if let HubMsg::Accepted { rid, .. } | HubMsg::Refused { rid, .. } = &msg
            && let Some(i) = self.sends.iter().position(|(r, _)| r == rid)
        {
            let (_, bytes) = self.sends.swap_remove(i);
            self.send_bytes -= bytes;
        }
        if !self.is_closed() {
            self.out.push(msg.to_frame());
            self.process(now);
        }
    }

    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Outgoing bytes queued or being written.
    pub fn queued_bytes(&self) -> usize {
        self.out.queued()
    }

    /// Deliveries sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.window.in_flight()
    }

    fn out_budget(&self) -> usize {
        self.limits.out_buffer_bytes.max(1 << 16)
    }

    fn inflight_send_bytes(&self) -> usize {
        self.limits
            .max_inflight_send_bytes
            .max(self.limits.max_frame)
    }

    /// A partial frame's clock runs only while the hub is reading: time
    /// spent waiting on the hub's own limits is not the node's.
    fn arm_frame_deadline(&mut self, now: Now) {
        if !self.wants_read() {
            self.frame_deadline = None;
        } else if self.frame_deadline.is_none() && self.decoder.buffered() > 0 {
            self.frame_deadline = Some(
                now.instant
                    + self.limits.frame_grace
                    + earned(&self.limits, self.decoder.buffered()),
            );
        }
    }

    fn on_frame(&mut self, now: Now, body: &[u8]) {
        let frame_len = body.len();
        let msg = match ClientMsg::decode(body) {
            Ok(m) => m,
            Err(e) => return self.fail(e),
        };
        if let State::AwaitHello { .. } = self.state {
            return self.on_hello(now, msg);
        }
        match msg {
            ClientMsg::Hello { .. } => {
                self.fail(ProtoError::new(ErrorCode::BadRequest, "Hello sent twice"))
            }
            ClientMsg::Send {
                rid,
                envelope,
                wraps,
            } => {
                self.sends.push((rid, frame_len));
                self.send_bytes += frame_len;
                self.events.push_back(HubEvent::Send {
                    rid,
                    envelope,
                    wraps,
                });
            }
            ClientMsg::Subscribe => {
                if !self.subscribed {
                    self.subscribed = true;
                    self.events.push_back(HubEvent::Subscribe);
                }
            }
            ClientMsg::Received { seqs } => match self.window.release(&seqs) {
                Ok(()) => self.events.push_back(HubEvent::Received { seqs }),
                Err(e) => self.fail(e),
            },
            ClientMsg::Directory { rid } => {
                if self.directory.allow(now.instant) {
                    self.directory_pending = true;
                    self.events.push_back(HubEvent::Directory { rid });
                } else {
                    let error = ProtoError::new(
                        ErrorCode::RateLimited,
                        "too many directory requests; the directory changes rarely",
                    );
                    self.out.push(HubMsg::Refused { rid, error }.to_frame());
                }
            }
            ClientMsg::Ping { rid } => self.out.push(
                HubMsg::Pong {
                    rid,
                    time_ms: now.unix_ms,
                }
                .to_frame(),
            ),
        }
    }

    fn on_hello(&mut self, now: Now, msg: ClientMsg) {
        match msg {
            ClientMsg::Hello { protocol, .. } if protocol == PROTOCOL_VERSION => {
                self.state = State::Serving;
                self.out.push(
                    HubMsg::Welcome {
                        protocol: PROTOCOL_VERSION,
                        node: self.node.clone(),
                        hub: self.hub.clone(),
                        time_ms: now.unix_ms,
                    }
                    .to_frame(),
                );
                self.events.push_back(HubEvent::Ready);
            }
            ClientMsg::Hello { protocol, .. } => self.fail(ProtoError::new(
                ErrorCode::UnsupportedVersion,
                format!("protocol {protocol} is not supported; this hub speaks {PROTOCOL_VERSION}"),
            )),
            _ => self.fail(ProtoError::new(
                ErrorCode::BadRequest,
                "the first frame must be Hello",
            )),
        }
    }

    /// End the session with an error the node is told about.
    fn fail(&mut self, error: ProtoError) {
        self.out.push(
            HubMsg::Error {
                error: error.clone(),
            }
            .to_frame(),
        );
        self.close(Err(error));
    }

    fn close(&mut self, result: Result<(), ProtoError>) {
        self.state = State::Closed;
        self.frame_deadline = None;
        self.events.push_back(HubEvent::Closed(result));
    }
}

fn earned(limits: &HubLimits, bytes: usize) -> Duration {
    Duration::from_secs_f64(bytes as f64 / limits.frame_min_bytes_per_sec.max(1) as f64)
}

/// At most `per_minute` events in any minute.
#[derive(Debug)]
struct MinuteRate {
    per_minute: u32,
    recent: VecDeque<Instant>,
}

impl MinuteRate {
    fn new(per_minute: u32) -> MinuteRate {
        MinuteRate {
            per_minute: per_minute.max(1),
            recent: VecDeque::new(),
        }
    }

    fn allow(&mut self, now: Instant) -> bool {
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.per_minute as usize {
            return false;
        }
        self.recent.push_back(now);
        true
    }
}
