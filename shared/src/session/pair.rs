//! A hub session and a client session joined by an in-memory stream, under a
//! virtual clock, with the small part of each driver a session needs: the
//! hub's store of waiting deliveries and sent envelopes, and a node that
//! acknowledges what it receives. Like quinn-proto's `Pair`: no sockets, no
//! threads, every step deterministic.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use super::{ClientEvent, ClientLimits, ClientSession, HubEvent, HubLimits, HubSession, Now};
use crate::envelope::Envelope;
use crate::ids::{MessageId, NodeId};
use crate::wire::{ClientMsg, HubMsg};

/// The hub's durable side, which outlives a connection.
#[derive(Default)]
pub struct Store {
    /// Deliveries waiting for the node, by seq.
    pub waiting: BTreeMap<u64, (Envelope, Vec<u8>)>,
    /// Envelopes accepted, by header bytes (duplicates answered as such).
    pub accepted: HashSet<Vec<u8>>,
}

impl Store {
    pub fn with_deliveries(n: u64, body: usize) -> Store {
        let mut s = Store::default();
        for seq in 1..=n {
            s.waiting
                .insert(seq, (envelope(seq, body), vec![seq as u8]));
        }
        s
    }
}

pub fn envelope(n: u64, body: usize) -> Envelope {
    Envelope {
        header: n.to_be_bytes().to_vec(),
        sig: [0; 64],
        body: vec![7; body],
    }
}

/// One direction of a QUIC stream: bytes written and not yet read, up to
/// the receiver's flow-control window.
#[derive(Default)]
struct Pipe {
    bytes: Vec<u8>,
    /// What the writer took from its session and has not yet fit in.
    writing: Option<(Vec<u8>, usize)>,
}

pub struct Pair {
    pub now: Now,
    pub hub: HubSession,
    pub client: ClientSession,
    pub store: Store,
    pub hub_limits: HubLimits,
    /// Bytes the client reads per step (None: all there are).
    pub client_reads: Option<usize>,
    /// Bytes the stream buffers towards the client (its flow-control window).
    pub stream_window: usize,
    /// Whether the node acknowledges deliveries as they arrive.
    pub auto_ack: bool,
    /// Whether the hub's driver answers sends and directory requests.
    pub hub_answers: bool,
    /// Size of the one certificate a directory answer carries.
    pub directory_bytes: usize,
    /// Everything each side's driver saw, in order.
    pub hub_events: Vec<HubEvent>,
    pub client_events: Vec<ClientEvent>,
    to_client: Pipe,
    to_hub: Pipe,
    subscribed: bool,
    cursor: u64,
    unanswered: Vec<HubEvent>,
}

impl Pair {
    pub fn new(hub_limits: HubLimits, store: Store) -> Pair {
        let now = Now::new(Instant::now(), 1_780_000_000_000);
        Pair {
            hub: new_hub(now, &hub_limits),
            client: ClientSession::new(now, "test".into(), ClientLimits::default()),
            now,
            store,
            hub_limits,
            client_reads: None,
            stream_window: 1 << 20,
            auto_ack: true,
            hub_answers: true,
            directory_bytes: 0,
            hub_events: Vec::new(),
            client_events: Vec::new(),
            to_client: Pipe::default(),
            to_hub: Pipe::default(),
            subscribed: false,
            cursor: 0,
            unanswered: Vec::new(),
        }
    }

    /// Connected, welcomed, nothing else said.
    pub fn connected(hub_limits: HubLimits, store: Store) -> Pair {
        let mut p = Pair::new(hub_limits, store);
        p.drive();
        assert!(p.client.is_ready(), "{:?}", p.client_events);
        p
    }

    /// Move bytes and act on events until nothing more happens.
    pub fn drive(&mut self) {
        for _ in 0..100_000 {
            if !self.step() {
                return;
            }
        }
        panic!("the pair never settled");
    }

    /// Let `d` of virtual time pass, firing timers, then settle.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now.after(d);
        self.hub.handle_timeout(self.now);
        self.client.handle_timeout(self.now);
        self.drive();
    }

    /// The connection is cut; the node connects again (the store remains).
    pub fn reconnect(&mut self) {
        self.client
            .handle_lost(crate::ProtoError::code(crate::ErrorCode::HubUnreachable));
        self.drive();
        self.hub = new_hub(self.now, &self.hub_limits);
        self.client = ClientSession::new(self.now, "test".into(), ClientLimits::default());
        self.to_client = Pipe::default();
        self.to_hub = Pipe::default();
        self.subscribed = false;
        self.cursor = 0;
        self.unanswered.clear();
        self.drive();
    }

    /// Raw bytes from the node, as a modified node might write them.
    pub fn client_writes(&mut self, bytes: &[u8]) {
        self.to_hub.bytes.extend_from_slice(bytes);
    }

    pub fn request(&mut self, msg: impl FnOnce(u64) -> ClientMsg) -> u64 {
        self.client.request(self.now, msg)
    }

    /// The answers the node has seen, by rid.
    pub fn answers(&self) -> BTreeMap<u64, &Result<HubMsg, crate::ProtoError>> {
        self.client_events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Answer { rid, result } => Some((*rid, result)),
                _ => None,
            })
            .collect()
    }

    pub fn delivered_seqs(&self) -> Vec<u64> {
        self.client_events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Deliver { seq, .. } => Some(*seq),
                _ => None,
            })
            .collect()
    }

    pub fn hub_closed_with(&self) -> Option<&Result<(), crate::ProtoError>> {
        self.hub_events.iter().find_map(|e| match e {
            HubEvent::Closed(r) => Some(r),
            _ => None,
        })
    }

    /// Answer the sends and directory requests held back while `hub_answers` was off.
    pub fn answer_held(&mut self) {
        for ev in std::mem::take(&mut self.unanswered) {
            self.answer(ev);
        }
        self.drive();
    }

    fn step(&mut self) -> bool {
        let mut progress = false;
        progress |= write(
            &mut self.to_client,
            self.stream_window,
            &mut self.hub,
            self.now,
        );
        progress |= write(&mut self.to_hub, usize::MAX, &mut self.client, self.now);
        if !self.to_hub.bytes.is_empty() && self.hub.wants_read() {
            let bytes = std::mem::take(&mut self.to_hub.bytes);
            self.hub.handle_bytes(self.now, &bytes);
            progress = true;
        }
        if !self.to_client.bytes.is_empty() {
            let n = self
                .client_reads
                .unwrap_or(usize::MAX)
                .min(self.to_client.bytes.len());
            let bytes: Vec<u8> = self.to_client.bytes.drain(..n).collect();
            self.client.handle_bytes(&bytes);
            progress = true;
        }
        while let Some(ev) = self.hub.poll_event() {
            progress = true;
            self.on_hub_event(ev);
        }
        progress |= self.feed();
        let mut acks = Vec::new();
        while let Some(ev) = self.client.poll_event() {
            progress = true;
            if let ClientEvent::Deliver { seq, .. } = &ev {
                acks.push(*seq);
            }
            self.client_events.push(ev);
        }
        if self.auto_ack && !acks.is_empty() {
            self.client.ack(acks);
        }
        progress
    }

    fn on_hub_event(&mut self, ev: HubEvent) {
        match &ev {
            HubEvent::Subscribe => self.subscribed = true,
            HubEvent::Received { seqs } => {
                for s in seqs {
                    self.store.waiting.remove(s);
                }
            }
            HubEvent::Send { .. } | HubEvent::Directory { .. } => {
                if self.hub_answers {
                    self.answer(ev);
                } else {
                    self.unanswered.push(ev);
                }
                return;
            }
            HubEvent::Ready | HubEvent::Closed(_) => {}
        }
        self.hub_events.push(ev);
    }

    fn answer(&mut self, ev: HubEvent) {
        match &ev {
            HubEvent::Send { rid, envelope, .. } => {
                let duplicate = !self.store.accepted.insert(envelope.header.clone());
                let id = MessageId::new_v7(self.now.unix_ms, [1; 16]);
                let msg = HubMsg::Accepted {
                    rid: *rid,
                    id,
                    recipients: 1,
                    duplicate,
                    missing: Vec::new(),
                };
                self.hub.answer(self.now, msg);
            }
            HubEvent::Directory { rid } => {
                let msg = HubMsg::DirectoryIs {
                    rid: *rid,
                    certs: vec![vec![0; self.directory_bytes]],
                    crl: None,
                };
                self.hub.answer(self.now, msg);
            }
            _ => {}
        }
        self.hub_events.push(ev);
    }

    /// The hub driver's delivery feed: what waits after the cursor, while
    /// the session can take it; Drained when nothing is left.
    fn feed(&mut self) -> bool {
        if !self.subscribed {
            return false;
        }
        let mut progress = false;
        while self.hub.can_deliver() {
            let next = self.store.waiting.range(self.cursor + 1..).next();
            let Some((seq, (env, wrap))) = next else {
                break;
            };
            self.cursor = *seq;
            self.hub.deliver(*seq, env.clone(), wrap.clone());
            progress = true;
        }
        if self.store.waiting.range(self.cursor + 1..).next().is_none() {
            self.hub.drained();
        }
        progress
    }
}

fn new_hub(now: Now, limits: &HubLimits) -> HubSession {
    let node = NodeId::new("gd").expect("a valid node id");
    HubSession::new(now, node, "test-hub".into(), limits.clone())
}

/// Either session, as the stream's writer.
trait Writer {
    fn take(&mut self) -> Option<Vec<u8>>;
    fn written(&mut self, now: Now, n: usize);
}

impl Writer for HubSession {
    fn take(&mut self) -> Option<Vec<u8>> {
        self.poll_transmit()
    }
    fn written(&mut self, now: Now, n: usize) {
        self.transmitted(now, n)
    }
}

impl Writer for ClientSession {
    fn take(&mut self) -> Option<Vec<u8>> {
        self.poll_transmit()
    }
    fn written(&mut self, _: Now, n: usize) {
        self.transmitted(n)
    }
}

/// Move what a session has to write into its pipe, up to `window` bytes buffered.
fn write(pipe: &mut Pipe, window: usize, session: &mut impl Writer, now: Now) -> bool {
    let mut progress = false;
    loop {
        if pipe.writing.is_none() {
            pipe.writing = session.take().map(|b| (b, 0));
        }
        let Some((buf, off)) = pipe.writing.as_mut() else {
            return progress;
        };
        let room = window.saturating_sub(pipe.bytes.len());
        let n = room.min(buf.len() - *off);
        if n == 0 {
            return progress;
        }
        pipe.bytes.extend_from_slice(&buf[*off..*off + n]);
        *off += n;
        session.written(now, n);
        progress = true;
        if *off == buf.len() {
            pipe.writing = None;
        }
    }
}
