//! Micro-benchmarks of the protocol's hot paths: sealing and opening an
//! envelope, the hub's signature check, and the wire codec. The end-to-end
//! figures are `lianxi-bench`'s; these say where a regression comes from.
//!
//! `cargo bench -p lianxi-shared`

#![allow(clippy::unwrap_used)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use lianxi_shared::envelope::{SealInput, Sealed, open, seal};
use lianxi_shared::frame::FrameDecoder;
use lianxi_shared::wire::ClientMsg;
use lianxi_shared::{Audience, Bulletin, MessageId, NodeId, NodeInfo, Payload, Role, Tier};

struct Party {
    info: NodeInfo,
    sk: SigningKey,
    age: lianxi_shared::agekey::AgeKey,
}

fn party(id: &str, seed: u8) -> Party {
    let sk = SigningKey::from_bytes(&[seed; 32]);
    let age = lianxi_shared::agekey::AgeKey::generate();
    let info = NodeInfo {
        node_id: NodeId::new(id).unwrap(),
        name: format!("{id} 协会"),
        org: "秘书处".into(),
        tier: Tier::Provincial,
        roles: vec![Role::Secretary],
        age_recipient: age.to_public().to_string(),
        signing_key: sk.verifying_key().to_bytes(),
        not_before: 0,
        not_after: i64::MAX,
    };
    Party { info, sk, age }
}

/// A bulletin whose encoded payload is about 1 KiB.
fn payload_1k() -> Payload {
    let mut body = String::new();
    while body.len() < 1000 {
        body.push_str("关于进一步做好中小企业纾困解难工作的通知 ");
    }
    Payload::Bulletin(Bulletin {
        title: "基准".into(),
        body,
        ..Default::default()
    })
}

fn seal_to(from: &Party, to: &[Party], payload: &Payload) -> Sealed {
    let recipients: Vec<_> = to
        .iter()
        .map(|p| (p.info.node_id.clone(), p.age.to_public()))
        .collect();
    seal(
        SealInput {
            sender: &from.info.node_id,
            signing_key: &from.sk,
            audience: Audience::Nodes(to.iter().map(|p| p.info.node_id.clone()).collect()),
            recipients: &recipients,
            id: MessageId::generate(1_790_000_000_000),
            created_at: 1_790_000_000_000,
            not_before: None,
        },
        payload,
    )
    .unwrap()
}

fn envelopes(c: &mut Criterion) {
    let a = party("gd", 1);
    let one = vec![party("sz", 2)];
    let fifty: Vec<Party> = (0..50).map(|i| party(&format!("n{i}"), 10 + i)).collect();
    let payload = payload_1k();
    let mut g = c.benchmark_group("envelope 1 KiB");
    g.throughput(Throughput::Elements(1));
    g.bench_function("seal, 1 recipient", |b| {
        b.iter(|| seal_to(&a, &one, &payload))
    });
    g.bench_function("seal, 50 recipients", |b| {
        b.iter(|| seal_to(&a, &fifty, &payload))
    });
    let sealed = seal_to(&a, &one, &payload);
    g.bench_function("verify (the hub's check)", |b| {
        b.iter(|| sealed.envelope.verify(&a.info.signing_key).unwrap())
    });
    // The hub's check of 64 sends from one connection at once (per send).
    let batch: Vec<Sealed> = (0..64).map(|_| seal_to(&a, &one, &payload)).collect();
    let mut dir = std::collections::HashMap::new();
    dir.insert(a.info.node_id.clone(), a.info.clone());
    dir.insert(one[0].info.node_id.clone(), one[0].info.clone());
    let now = batch[0].envelope.decode_header().unwrap().created_at;
    g.throughput(Throughput::Elements(64));
    g.bench_function("check 64 sends together (rules::check_sends)", |b| {
        b.iter(|| {
            let items = batch
                .iter()
                .map(|s| (&s.envelope, s.wraps.clone()))
                .collect();
            let r = lianxi_shared::rules::check_sends(
                items,
                &a.info.node_id,
                &dir,
                now,
                Default::default(),
            );
            assert!(r.iter().all(Result::is_ok));
        })
    });
    g.throughput(Throughput::Elements(1));
    let wrap = &sealed.wraps[0].key;
    g.bench_function("open (verify + decrypt + decode)", |b| {
        b.iter(|| open(&sealed.envelope, wrap, &a.info, &one[0].info, &one[0].age).unwrap())
    });
    g.finish();
}

fn codec(c: &mut Criterion) {
    let a = party("gd", 1);
    let to = vec![party("sz", 2)];
    let payload = payload_1k();
    let sealed = seal_to(&a, &to, &payload);
    let msg = ClientMsg::Send {
        rid: 7,
        envelope: sealed.envelope,
        wraps: sealed.wraps,
    };
    let frame = msg.to_frame();
    let mut g = c.benchmark_group("wire");
    g.throughput(Throughput::Bytes(frame.len() as u64));
    g.bench_function("encode a Send frame", |b| b.iter(|| msg.to_frame()));
    g.bench_function("decode a Send frame", |b| {
        b.iter_batched(
            || FrameDecoder::new(16 << 20),
            |mut d| {
                d.push(&frame);
                let body = d.next_frame().unwrap().unwrap();
                ClientMsg::decode(&body).unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    let bytes = payload.encode();
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("decode a 1 KiB payload", |b| {
        b.iter(|| Payload::decode(&bytes).unwrap())
    });
    g.finish();
}

criterion_group!(benches, envelopes, codec);
criterion_main!(benches);
