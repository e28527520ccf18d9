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
