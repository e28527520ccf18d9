//! The envelope parser and verifier: arbitrary envelopes and wraps are refused
//! with an error, never a panic, and never open.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lianxi_shared::envelope::{Envelope, open};
use lianxi_shared::{NodeId, NodeInfo, Role, Tier};

struct Fixture {
    sender: NodeInfo,
    me: NodeInfo,
    identity: lianxi_shared::agekey::AgeKey,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let identity = lianxi_shared::agekey::AgeKey::generate();
        let node = |id: &str, key: [u8; 32], age: String| NodeInfo {
            node_id: NodeId::new(id).expect("id"),
            name: id.into(),
            org: id.into(),
            tier: Tier::Provincial,
            roles: vec![Role::Member],
            age_recipient: age,
            signing_key: key,
            not_before: 0,
            not_after: i64::MAX,
        };
        Fixture {
            sender: node("a", sk.verifying_key().to_bytes(), String::new()),
            me: node("b", [0; 32], identity.to_public().to_string()),
            identity,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    // As a whole envelope in CBOR…
    if let Ok(env) = lianxi_shared::cbor::from_slice::<Envelope>(data, lianxi_shared::ErrorCode::BadFrame) {
        let _ = env.decode_header();
        let _ = env.verify(&f.sender.signing_key);
        assert!(open(&env, data, &f.sender, &f.me, &f.identity).is_err());
    }
    // …and as raw parts.
    let (a, b) = data.split_at(data.len() / 2);
    let env = Envelope { header: a.to_vec(), sig: [0; 64], body: b.to_vec() };
    let _ = env.decode_header();
    assert!(open(&env, b, &f.sender, &f.me, &f.identity).is_err());
});
