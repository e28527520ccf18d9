//! The payload decoder: every decrypted body is validated, never trusted.
//! Case and conference messages that decode are also run through their folds
//! (the checks every receiving node applies), which must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lianxi_shared::conference::{ConfEvent, Roster, Standing, fold};
use lianxi_shared::{MessageId, NodeId, Payload, Role, Tier};

fuzz_target!(|data: &[u8]| {
    // A body's plaintext: the payload, then only zero padding.
    if let Ok((p, used)) = Payload::decode_padded(data) {
        assert!(used <= data.len() && data[used..].iter().all(|b| *b == 0));
        assert_eq!(Payload::decode(&data[..used]).expect("the unpadded prefix"), p);
    }
    if let Ok(p) = Payload::decode(data) {
        // Whatever decodes re-encodes and decodes to the same value.
        let again = Payload::decode(&p.encode()).expect("round trip");
        assert_eq!(again, p);
        let id = MessageId::new_v7(1_700_000_000_000, [3; 16]);
        match p {
            Payload::Conference(msg) => {
                let n = |s: &str| NodeId::new(s).expect("valid id");
                let roster = Roster {
                    chair: Some(n("nat")),
                    pool: vec![n("bj"), n("sh")],
                    members: vec![n("sz")],
                };
                let standing = |tier, roles: &[Role]| Standing {
                    tier,
                    roles: roles.to_vec(),
                };
                let standings: lianxi_shared::conference::Standings = [
                    (n("nat"), standing(Tier::National, &[Role::Chair])),
                    (n("bj"), standing(Tier::Provincial, &[])),
                    (n("sh"), standing(Tier::Provincial, &[])),
                    (n("sz"), standing(Tier::Prefecture, &[Role::Member])),
                ]
                .into();
                let events: Vec<ConfEvent> = ["nat", "bj", "sh"]
                    .iter()
                    .enumerate()
                    .map(|(i, s)| ConfEvent {
                        id: MessageId::new_v7(i as i64, [i as u8; 16]),
                        sender: n(s),
                        created_at: 1_700_000_000_000 + i as i64,
                        msg: msg.clone(),
                        context: standings.clone(),
                    })
                    .collect();
                let _ = fold(roster, &events);
            }
            Payload::Case(msg) => {
                let ev = lianxi_shared::case::CaseEvent {
                    id,
                    sender: NodeId::new("bj").expect("valid id"),
                    created_at: 1,
                    msg,
                    context: (),
                };
                let _ = lianxi_shared::case::fold(ev.msg.case, &[ev]);
            }
            _ => {}
        }
    }
});
