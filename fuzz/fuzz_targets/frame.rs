//! The frame decoder, the wire messages and both session state machines:
//! any bytes, in any pieces, at any times, never panic, and a session ends
//! at most once.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use lianxi_shared::frame::FrameDecoder;
use lianxi_shared::session::{
    ClientEvent, ClientLimits, ClientSession, HubEvent, HubLimits, HubSession, Now,
};
use lianxi_shared::wire::{ClientMsg, HubMsg};
use lianxi_shared::{ErrorCode, NodeId, ProtoError};

fuzz_target!(|data: &[u8]| {
    let split = data.first().copied().unwrap_or(1).max(1) as usize;
    let mut d = FrameDecoder::new(1 << 16);
    for chunk in data.chunks(split) {
        d.push(chunk);
        while let Ok(Some(f)) = d.next_frame() {
            let _ = ClientMsg::decode(&f);
            let _ = HubMsg::decode(&f);
        }
    }
    let _ = d.finish();
    let _ = ClientMsg::decode(data);
    let _ = HubMsg::decode(data);
    sessions(data, split);
});

fn sessions(data: &[u8], split: usize) {
    let t0 = Now::new(Instant::now(), 1_780_000_000_000);
    let Ok(node) = NodeId::new("gd") else { return };
    let limits = HubLimits {
        max_frame: 1 << 16,
        ..HubLimits::default()
    };
    let mut hub = HubSession::new(t0, node, "hub".into(), limits);
    if split % 2 == 0 {
        let hello = ClientMsg::Hello {
            protocol: 1,
            agent: String::new(),
        };
        hub.handle_bytes(t0, &hello.to_frame());
    }
    let client_limits = ClientLimits {
        max_frame: 1 << 16,
        ..ClientLimits::default()
    };
    let mut client = ClientSession::new(t0, "fuzz".into(), client_limits);
    let rid = client.request(t0, |rid| ClientMsg::Ping { rid });
    let (mut hub_ends, mut client_ends, mut answers) = (0, 0, 0);
    for (i, chunk) in data.chunks(split).enumerate() {
        let now = t0.after(Duration::from_millis(i as u64 * 700));
        hub.handle_bytes(now, chunk);
        hub.handle_timeout(now);
        while let Some(ev) = hub.poll_event() {
            match ev {
                HubEvent::Send { rid, .. } => {
                    let error = ProtoError::code(ErrorCode::BadSignature);
                    hub.answer(now, HubMsg::Refused { rid, error });
                }
                HubEvent::Directory { rid } => hub.answer(
                    now,
                    HubMsg::DirectoryIs {
                        rid,
                        certs: Vec::new(),
                        crl: None,
                    },
                ),
                HubEvent::Closed(_) => hub_ends += 1,
                _ => {}
            }
        }
        while let Some(b) = hub.poll_transmit() {
            hub.transmitted(now, b.len());
        }
        client.handle_bytes(chunk);
        client.handle_timeout(now);
        while let Some(ev) = client.poll_event() {
            match ev {
                ClientEvent::Closed(_) => client_ends += 1,
                ClientEvent::Answer { rid: r, .. } if r == rid => answers += 1,
                _ => {}
            }
        }
    }
    hub.handle_end();
    client.handle_end();
    hub_ends += std::iter::from_fn(|| hub.poll_event())
        .filter(|e| matches!(e, HubEvent::Closed(_)))
        .count();
    for ev in std::iter::from_fn(|| client.poll_event()) {
        match ev {
            ClientEvent::Closed(_) => client_ends += 1,
            ClientEvent::Answer { rid: r, .. } if r == rid => answers += 1,
            _ => {}
        }
    }
    assert_eq!(hub_ends, 1, "the hub's session ends once");
    assert_eq!(client_ends, 1, "the node's session ends once");
    assert_eq!(answers, 1, "a request has exactly one answer");
}
