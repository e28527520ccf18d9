//! The session, tested directly: both state machines joined by [`Pair`],
//! under a virtual clock. Each test runs in milliseconds.

use std::time::Duration;

use proptest::prelude::*;

use super::pair::{Pair, Store, envelope};
use super::*;
use crate::error::ErrorCode;
use crate::wire::{ClientMsg, HubMsg};

fn send(n: u64) -> impl FnOnce(u64) -> ClientMsg {
    move |rid| ClientMsg::Send {
        rid,
        envelope: envelope(n, 100),
        wraps: Vec::new(),
    }
}

fn closed_code(p: &Pair) -> Option<ErrorCode> {
    match p.hub_closed_with() {
        Some(Err(e)) => Some(e.code),
        _ => None,
    }
}

/// Ten deliveries waiting, a window of four, a node that does not acknowledge yet.
fn window_of_4_unacknowledged() -> Pair {
    let limits = HubLimits {
        delivery_window: 4,
        ..HubLimits::default()
    };
    let mut p = Pair::connected(limits, Store::with_deliveries(10, 10));
    p.auto_ack = false;
    p.client.subscribe();
    p.drive();
    p
}

#[test]
fn handshake_welcomes_the_node_its_certificate_names() {
    let p = Pair::connected(HubLimits::default(), Store::default());
    assert_eq!(p.hub_events, vec![HubEvent::Ready]);
    match &p.client_events[0] {
        ClientEvent::Welcome { hub, node, time_ms } => {
            assert_eq!(hub, "test-hub");
            assert_eq!(node.as_str(), "gd");
            assert_eq!(*time_ms, p.now.unix_ms, "the hub reports its clock");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn anything_but_one_hello_of_this_version_ends_the_session() {
    let hello = |protocol| ClientMsg::Hello {
        protocol,
        agent: String::new(),
    };
    let cases = [
        (vec![hello(2)], ErrorCode::UnsupportedVersion),
        (vec![ClientMsg::Subscribe], ErrorCode::BadRequest),
        (vec![hello(1), hello(1)], ErrorCode::BadRequest),
    ];
    for (frames, code) in cases {
        let now = Now::new(std::time::Instant::now(), 0);
        let node = crate::NodeId::new("gd").unwrap();
        let mut hub = HubSession::new(now, node, "h".into(), HubLimits::default());
        for f in &frames {
            hub.handle_bytes(now, &f.to_frame());
        }
        let events: Vec<_> = std::iter::from_fn(|| hub.poll_event()).collect();
        assert!(
            matches!(events.last(), Some(HubEvent::Closed(Err(e))) if e.code == code),
            "{frames:?}: {events:?}"
        );
        // The node is told why, in the last frame the hub writes.
        let mut client = ClientSession::new(now, "t".into(), ClientLimits::default());
        while let Some(b) = hub.poll_transmit() {
            client.handle_bytes(&b);
        }
        let closed = std::iter::from_fn(|| client.poll_event()).last();
        assert!(matches!(closed, Some(ClientEvent::Closed(e)) if e.code == code));
        hub.handle_bytes(now, &ClientMsg::Subscribe.to_frame());
        assert_eq!(hub.poll_event(), None, "nothing after the end");
    }
}

#[test]
fn no_hello_in_time_and_no_welcome_in_time() {
    let mut p = Pair::new(HubLimits::default(), Store::default());
    // The node's Hello is lost on the way: the hub waits 10 s, the node 30 s.
    while p.client.poll_transmit().is_some() {}
    p.advance(Duration::from_millis(9_999));
    assert_eq!(closed_code(&p), None);
    p.advance(Duration::from_millis(1));
    assert_eq!(closed_code(&p), Some(ErrorCode::BadRequest));
    let mut p = Pair::new(HubLimits::default(), Store::default());
    while p.client.poll_transmit().is_some() {}
    p.advance(Duration::from_secs(30));
    assert!(matches!(
        p.client_events.last(),
        Some(ClientEvent::Closed(e)) if e.code == ErrorCode::HubUnreachable
    ));
}

#[test]
fn pipelined_requests_are_answered_by_rid_and_a_retry_is_a_duplicate() {
    let mut p = Pair::connected(HubLimits::default(), Store::default());
    let a = p.request(send(1));
    let b = p.request(send(2));
    let c = p.request(|rid| ClientMsg::Directory { rid });
    let d = p.request(|rid| ClientMsg::Ping { rid });
    let again = p.request(send(1));
    p.drive();
    let answers = p.answers();
    let dup = |rid| match answers[&rid] {
        Ok(HubMsg::Accepted { duplicate, .. }) => *duplicate,
        other => panic!("{other:?}"),
    };
    assert!(!dup(a) && !dup(b) && dup(again));
    assert!(matches!(answers[&c], Ok(HubMsg::DirectoryIs { .. })));
    assert!(matches!(answers[&d], Ok(HubMsg::Pong { time_ms, .. }) if *time_ms == p.now.unix_ms));
}

#[test]
fn directory_requests_are_limited_per_minute() {
    let limits = HubLimits {
        directory_per_minute: 2,
        ..HubLimits::default()
    };
    let mut p = Pair::connected(limits, Store::default());
    let rids: Vec<u64> = (0..3)
        .map(|_| p.request(|rid| ClientMsg::Directory { rid }))
        .collect();
    p.drive();
    assert!(matches!(p.answers()[&rids[2]], Err(e) if e.code == ErrorCode::RateLimited));
    p.advance(Duration::from_secs(60));
    let later = p.request(|rid| ClientMsg::Directory { rid });
    p.drive();
    assert!(p.answers()[&later].is_ok(), "a minute later it is answered");
}

#[test]
fn the_window_holds_deliveries_until_the_node_acknowledges() {
    let mut p = window_of_4_unacknowledged();
    assert_eq!(
        p.delivered_seqs(),
        vec![1, 2, 3, 4],
        "no more than the window"
    );
    assert_eq!(p.hub.in_flight(), 4);
    p.client.ack(vec![1, 2]);
    p.drive();
    assert_eq!(p.delivered_seqs(), vec![1, 2, 3, 4, 5, 6]);
    assert!(
        !p.client_events
            .iter()
            .any(|e| matches!(e, ClientEvent::Drained { .. })),
        "not drained while deliveries wait"
    );
    p.auto_ack = true;
    p.client.ack(vec![3, 4, 5, 6]);
    p.drive();
    assert_eq!(p.delivered_seqs(), (1..=10).collect::<Vec<_>>());
    assert!(
        p.store.waiting.is_empty(),
        "every acknowledged delivery is forgotten"
    );
    assert!(matches!(
        p.client_events.last(),
        Some(ClientEvent::Drained { delivered: 10 })
    ));
}

#[test]
fn an_acknowledgement_of_what_was_not_sent_ends_the_session_and_frees_nothing() {
    for bogus in [vec![99], vec![1, 1], vec![1, 2, 3, 4, 5]] {
        let mut p = window_of_4_unacknowledged();
        p.client.ack(bogus.clone());
        p.drive();
        assert_eq!(closed_code(&p), Some(ErrorCode::BadRequest), "{bogus:?}");
        assert_eq!(p.store.waiting.len(), 10, "{bogus:?}: nothing forgotten");
    }
}

#[test]
fn after_a_cut_what_was_not_acknowledged_comes_again_and_nothing_else() {
    let mut p = window_of_4_unacknowledged();
    p.client.ack(vec![1, 2, 3]);
    p.drive();
    // Cut with 4..=7 in flight, 3 of them unacknowledged by the time of the cut.
    assert_eq!(p.delivered_seqs(), (1..=7).collect::<Vec<_>>());
    p.client_events.clear();
    p.reconnect();
    p.auto_ack = true;
    p.client.subscribe();
    p.drive();
    assert_eq!(p.delivered_seqs(), (4..=10).collect::<Vec<_>>());
    assert!(p.store.waiting.is_empty());
    assert!(matches!(
        p.client_events.last(),
        Some(ClientEvent::Drained { delivered: 7 })
    ));
}

#[test]
fn a_request_cut_off_is_answered_as_unreachable_and_its_retry_is_a_duplicate() {
    let mut p = Pair::connected(HubLimits::default(), Store::default());
    p.hub_answers = false;
    let rid = p.request(send(5));
    p.drive();
    // The hub stored it (its driver answered late), but the node never heard.
    p.answer_held();
    p.client_events.clear();
    let rid2 = p.request(send(6));
    p.reconnect();
    let answers = p.answers();
    assert!(matches!(answers[&rid2], Err(e) if e.code == ErrorCode::HubUnreachable));
    let _ = rid;
    p.hub_answers = true;
    let retry = p.request(send(5));
    p.drive();
    assert!(matches!(
        p.answers()[&retry],
        Ok(HubMsg::Accepted {
            duplicate: true,
            ..
        })
    ));
}

#[test]
fn an_unanswered_request_times_out_and_a_late_answer_is_dropped() {
    let mut p = Pair::connected(HubLimits::default(), Store::default());
    p.hub_answers = false;
    let rid = p.request(send(1));
    p.drive();
    p.advance(Duration::from_secs(59));
    assert!(p.answers().is_empty());
    p.advance(Duration::from_secs(1));
    assert!(matches!(p.answers()[&rid], Err(e) if e.code == ErrorCode::HubUnreachable));
    p.answer_held();
    assert_eq!(
        p.answers().len(),
        1,
        "the late answer is not a second answer"
    );
    assert!(!p.client.is_closed(), "the session goes on");
}

#[test]
fn requests_give_up_in_the_order_they_were_made_each_at_its_own_time() {
    use std::time::Instant;
    let t0 = Instant::now();
    let at = |s: u64| Now {
        instant: t0 + Duration::from_secs(s),
        unix_ms: 0,
    };
    let mut c = ClientSession::new(at(0), "test".into(), ClientLimits::default());
    let node = crate::NodeId::new("n1").expect("a name");
    c.handle_bytes(
        &HubMsg::Welcome {
            protocol: crate::PROTOCOL_VERSION,
            node: node.clone(),
            hub: "hub".into(),
            time_ms: 0,
        }
        .to_frame(),
    );
    assert!(c.is_ready());
    let r1 = c.request(at(0), send(1));
    let r2 = c.request(at(10), send(2));
    let r3 = c.request(at(20), send(3));
    // A clock handed in out of order does not put a request ahead of older ones.
    let r4 = c.request(at(15), send(4));
    c.handle_bytes(
        &HubMsg::Accepted {
            rid: r2,
            id: crate::MessageId::new_v7(2, [0; 16]),
            recipients: 1,
            duplicate: false,
            missing: Vec::new(),
        }
        .to_frame(),
    );
    let answered = |c: &mut ClientSession| {
        let mut out = Vec::new();
        while let Some(e) = c.poll_event() {
            if let ClientEvent::Answer { rid, result } = e {
                out.push((rid, result.is_ok()));
            }
        }
        out
    };
    assert_eq!(answered(&mut c), [(r2, true)]);
    assert_eq!(c.poll_timeout(), Some(at(60).instant));
    c.handle_timeout(at(60));
    assert_eq!(answered(&mut c), [(r1, false)]);
    assert_eq!(c.poll_timeout(), Some(at(80).instant));
    c.handle_timeout(at(79));
    assert!(answered(&mut c).is_empty());
    c.handle_timeout(at(80));
    assert_eq!(answered(&mut c), [(r3, false), (r4, false)]);
    assert_eq!(c.poll_timeout(), None);
    assert!(c.is_ready(), "the session goes on");
}

#[test]
fn a_slow_reader_bounds_what_the_hub_queues_and_still_gets_everything() {
    let limits = HubLimits {
        out_buffer_bytes: 1 << 20,
        ..HubLimits::default()
    };
    let mut p = Pair::connected(limits, Store::with_deliveries(200, 100_000));
    p.client_reads = Some(16 * 1024);
    p.stream_window = 256 * 1024;
    p.client.subscribe();
    let mut most = 0;
    for _ in 0..100_000 {
        most = most.max(p.hub.queued_bytes());
        let before = p.delivered_seqs().len();
        p.advance(Duration::from_millis(1));
        if p.store.waiting.is_empty() && p.delivered_seqs().len() == before {
            break;
        }
    }
    assert_eq!(p.delivered_seqs().len(), 200);
    // One budget of deliveries, plus the delivery that crossed it.
    assert!(most <= (1 << 20) + 100_200, "queued at most {most} bytes");
}

#[test]
fn a_node_that_does_not_read_is_not_read_either() {
    let limits = HubLimits {
        out_buffer_bytes: 1 << 16,
        directory_per_minute: 1000,
        ..HubLimits::default()
    };
    let mut p = Pair::connected(limits, Store::default());
    p.directory_bytes = 10_000;
    p.client_reads = Some(0);
    p.stream_window = 0;
    for _ in 0..100 {
        p.request(|rid| ClientMsg::Directory { rid });
        p.request(|rid| ClientMsg::Ping { rid });
    }
    p.drive();
    assert!(
        !p.hub.wants_read(),
        "asking without reading stops being read"
    );
    assert!(
        p.hub.queued_bytes() < (2 << 16) + 10_100,
        "{}",
        p.hub.queued_bytes()
    );
    p.client_reads = None;
    p.stream_window = 1 << 20;
    p.drive();
    assert_eq!(
        p.answers().len(),
        200,
        "once it reads, every request is answered"
    );
}

#[test]
fn a_trickled_frame_is_cut_off_and_an_honest_slow_one_completes() {
    // 40 KiB frame; the hub waits 30 s plus 1 s per 8 KiB received.
    let frame = ClientMsg::Send {
        rid: 1,
        envelope: envelope(1, 40 * 1024),
        wraps: Vec::new(),
    }
    .to_frame();
    let mut p = Pair::connected(HubLimits::default(), Store::default());
    for b in frame.chunks(10).take(100) {
        p.client_writes(b);
        p.advance(Duration::from_secs(1));
    }
    assert_eq!(closed_code(&p), Some(ErrorCode::TruncatedFrame));
    let mut p = Pair::connected(HubLimits::default(), Store::default());
    for b in frame.chunks(8 * 1024) {
        p.client_writes(b);
        p.advance(Duration::from_secs(1));
    }
    assert_eq!(closed_code(&p), None);
    assert!(p.store.accepted.contains(1u64.to_be_bytes().as_slice()));
}

#[test]
fn time_spent_waiting_on_the_hubs_own_limits_is_not_the_nodes() {
    let limits = HubLimits {
        max_inflight_sends: 1,
        ..HubLimits::default()
    };
    let mut p = Pair::connected(limits, Store::default());
    p.hub_answers = false;
    p.request(send(1));
    p.request(send(2));
    p.drive();
    assert!(
        !p.hub.wants_read(),
        "one send in flight: the hub stops reading"
    );
    p.advance(Duration::from_secs(45));
    assert_eq!(
        closed_code(&p),
        None,
        "the second frame's clock did not run"
    );
    p.hub_answers = true;
    p.answer_held();
    assert_eq!(p.answers().len(), 2);
}

proptest! {
    /// Whatever a node writes, in whatever pieces, the hub never panics,
    /// ends at most once, and says nothing after the end.
    #[test]
    fn any_bytes_from_a_node_end_cleanly(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16),
        hello_first in any::<bool>(),
    ) {
        let now = Now::new(std::time::Instant::now(), 0);
        let node = crate::NodeId::new("gd").unwrap();
        let limits = HubLimits { max_frame: 256, ..HubLimits::default() };
        let mut hub = HubSession::new(now, node, "h".into(), limits);
        if hello_first {
            hub.handle_bytes(now, &ClientMsg::Hello { protocol: 1, agent: String::new() }.to_frame());
        }
        let mut events = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            let t = now.after(Duration::from_secs(i as u64));
            hub.handle_bytes(t, c);
            hub.handle_timeout(t);
            events.extend(std::iter::from_fn(|| hub.poll_event()));
        }
        hub.handle_end();
        events.extend(std::iter::from_fn(|| hub.poll_event()));
        let ends = events.iter().filter(|e| matches!(e, HubEvent::Closed(_))).count();
        prop_assert_eq!(ends, 1);
        prop_assert!(matches!(events.last(), Some(HubEvent::Closed(_))));
    }

    /// And the same for a node reading whatever a hub writes.
    #[test]
    fn any_bytes_from_a_hub_end_cleanly(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16),
    ) {
        let now = Now::new(std::time::Instant::now(), 0);
        let limits = ClientLimits { max_frame: 256, ..ClientLimits::default() };
        let mut client = ClientSession::new(now, "t".into(), limits);
        let rid = client.request(now, |rid| ClientMsg::Ping { rid });
        let mut events = Vec::new();
        for c in &chunks {
            client.handle_bytes(c);
            events.extend(std::iter::from_fn(|| client.poll_event()));
        }
        client.handle_end();
        events.extend(std::iter::from_fn(|| client.poll_event()));
        let ends = events.iter().filter(|e| matches!(e, ClientEvent::Closed(_))).count();
        prop_assert_eq!(ends, 1);
        let answered = events.iter().filter(|e| matches!(e, ClientEvent::Answer { rid: r, .. } if *r == rid)).count();
        prop_assert_eq!(answered, 1, "every request gets exactly one answer");
    }
}
