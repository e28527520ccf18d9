//! Writes the committed seed corpora for the fuzz targets from real encodings.
//! Run with `cargo test -p lianxi-shared --test fuzz_seeds -- --ignored`.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use lianxi_shared::envelope::{SealInput, seal};
use lianxi_shared::payload::{Attachment, Category, Receipt, ReceiptState, Withdrawal};
use lianxi_shared::wire::{ClientMsg, HubMsg};
use lianxi_shared::{Audience, Bulletin, ErrorCode, MessageId, NodeId, Payload, ProtoError};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
#[ignore = "writes the fuzz corpus; run by hand"]
fn write_fuzz_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let sk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let b = age::x25519::Identity::generate();
    let a = NodeId::new("a").unwrap();
    let payload = Payload::Bulletin(Bulletin {
        title: "关于减税降费的通知".into(),
        body: "正文 body".into(),
        category: Some(Category::Policy),
        tags: vec!["减税".into()],
        attachments: vec![Attachment {
            name: "a.pdf".into(),
            data: vec![1, 2, 3],
        }],
        ack_required: true,
        ..Default::default()
    });
    let sealed = seal(
        SealInput {
            sender: &a,
            signing_key: &sk,
            audience: Audience::All,
            recipients: &[(NodeId::new("b").unwrap(), b.to_public())],
            id: MessageId::new_v7(1_700_000_000_000, [1; 16]),
            created_at: 1_700_000_000_000,
            not_before: None,
        },
        &payload,
    )
    .unwrap();
    let env_cbor = lianxi_shared::cbor::to_vec(&sealed.envelope);
    write(&root.join("envelope"), "sealed", &env_cbor);
    write(&root.join("envelope"), "header", &sealed.envelope.header);
    let payloads = [
        payload.clone(),
        Payload::Receipt(Receipt {
            bulletin: sealed.header.id,
            state: ReceiptState::Read,
            at: 5,
            reply: Some("收到".into()),
        }),
        Payload::Withdrawal(Withdrawal {
            original: sealed.header.id,
            reason: "撤回".into(),
        }),
    ];
    for (i, p) in payloads.iter().enumerate() {
        write(&root.join("payload"), &format!("p{i}"), &p.encode());
    }
    let msgs: Vec<Vec<u8>> = vec![
        ClientMsg::Hello {
            protocol: 1,
            agent: "seed".into(),
        }
        .to_frame(),
        ClientMsg::Send {
            rid: 1,
            envelope: sealed.envelope.clone(),
            wraps: sealed.wraps.clone(),
        }
        .to_frame(),
        ClientMsg::Received {
            seqs: vec![1, 2, 3],
        }
        .to_frame(),
        ClientMsg::Subscribe.to_frame(),
        HubMsg::Refused {
            rid: 1,
            error: ProtoError::code(ErrorCode::BadSignature),
        }
        .to_frame(),
        HubMsg::Deliver {
            seq: 9,
            envelope: sealed.envelope,
            wrap: sealed.wraps[0].key.clone(),
        }
        .to_frame(),
    ];
    for (i, m) in msgs.iter().enumerate() {
        write(&root.join("frame"), &format!("f{i}"), m);
    }
}

/// Seeds for the case and conference payloads (deterministic: no keys, no
/// randomness), so the payload fuzzer starts inside those decoders too.
#[test]
#[ignore = "writes the fuzz corpus; run by hand"]
fn write_domain_payload_seeds() {
    use lianxi_shared::case::{
        CaseCategory, CaseChange, CaseFacts, CaseMsg, CaseNotice, CaseStatus, Support, Urgency,
    };
    use lianxi_shared::conference::{
        AgendaItem, ConfMsg, DEFAULT_TZ, Meeting, Outcome, Resolution, Rsvp, Slot, Vote,
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/payload");
    let n = |s: &str| NodeId::new(s).unwrap();
    let id = MessageId::new_v7(1_700_000_000_000, [2; 16]);
    let case = Payload::Case(CaseMsg {
        case: id,
        change: CaseChange::Notice(Box::new(CaseNotice {
            facts: CaseFacts {
                number: "2026-BJ-0007".into(),
                title: "反倾销调查".into(),
                category: CaseCategory::TradeRemedy,
                jurisdiction: "美国".into(),
                summary: "概要".into(),
                support: vec![Support::Legal],
                urgency: Urgency::Urgent,
            },
            status: CaseStatus::Reported,
            handlers: vec![n("bj")],
            shared: vec![n("gd")],
            recused: vec![n("zj")],
            sealed: vec![0; 16],
            history: Vec::new(),
        })),
    });
    write(&root, "case0", &case.encode());
    let case_status = Payload::Case(CaseMsg {
        case: id,
        change: CaseChange::Status {
            status: CaseStatus::Accepted,
            note: "受理".into(),
        },
    });
    write(&root, "case1", &case_status.encode());
    let input = lianxi_shared::rotation::RotationInput {
        pool: vec![n("bj"), n("sh")],
        first_session: 1,
        sessions: 2,
        served: vec![],
        changes: vec![lianxi_shared::rotation::PoolChange::Decline {
            node: n("bj"),
            session: 1,
            reason: "换届".into(),
            by: Some(MessageId::new_v7(1, [5; 16])),
        }],
    };
    let turns = lianxi_shared::rotation::generate(&input).unwrap().turns;
    let conf = [
        ConfMsg::Schedule(Box::new(lianxi_shared::conference::Published {
            input,
            turns,
        })),
        ConfMsg::Convene(Box::new(Meeting {
            session: 1,
            title: String::new(),
            date: "2026-12-18".into(),
            start: "09:30".into(),
            minutes: 120,
            tz: DEFAULT_TZ.into(),
            place: "北京".into(),
            link: String::new(),
            agenda_deadline: "2026-12-10 18:00".into(),
            note: String::new(),
        })),
        ConfMsg::Propose {
            session: 1,
            item: AgendaItem {
                title: "议题".into(),
                summary: String::new(),
                minutes: 30,
                attachments: vec![],
            },
        },
        ConfMsg::Agenda {
            session: 1,
            slots: vec![Slot {
                item: id,
                minutes: 30,
            }],
        },
        ConfMsg::Rsvp {
            session: 1,
            answer: Rsvp::Delegate {
                name: "李秘书长".into(),
            },
        },
        ConfMsg::Minutes {
            session: 1,
            text: "纪要".into(),
            resolutions: vec![Resolution {
                title: "决议".into(),
                text: String::new(),
                outcome: Outcome::Votes([(n("bj"), Vote::For), (n("sh"), Vote::Abstain)].into()),
            }],
            attachments: vec![],
        },
        ConfMsg::Ack {
            session: 1,
            minutes: id,
        },
        ConfMsg::Decline {
            session: 2,
            reason: "换届".into(),
        },
        ConfMsg::Swap { with: n("sh") },
    ];
    for (i, m) in conf.into_iter().enumerate() {
        write(&root, &format!("conf{i}"), &Payload::Conference(m).encode());
    }
}
