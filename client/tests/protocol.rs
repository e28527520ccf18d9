//! Protocol refusals from the real hub binary, driven through the client core
//! and through raw QUIC connections: each gets its stable error code, and the
//! hub keeps serving everyone else.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::Net;
use lianxi_node::home::Home;
use lianxi_node::identity::Identity;
use lianxi_node::node::Node;
use lianxi_shared::envelope::{SealInput, seal};
use lianxi_shared::{Audience, Bulletin, ErrorCode, MessageId, NodeId, Payload};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn bulletin(t: &str) -> Payload {
    Payload::Bulletin(Bulletin {
        title: t.into(),
        body: "正文".into(),
        ..Default::default()
    })
}

#[test]
fn retries_are_idempotent_and_forgeries_are_refused() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    rt().block_on(async {
        let node = Node::open(Home::new(&a.home)).unwrap();
        let (s, _ev) = node.connect(Duration::from_secs(5)).await.unwrap();
        node.refresh_directory(&s).await.unwrap();
        let id = node
            .queue(Audience::All, bulletin("第一份"), None)
            .await
            .unwrap();
        let report = node.flush_outbox(&s).await.unwrap();
        assert_eq!(report.sent.len(), 1);
        let sealed = node
            .archive
            .call(move |x| x.outbox_item(&id))
            .await
            .unwrap()
            .unwrap()
            .sealed
            .unwrap();

        // The identical envelope again (a retry after a lost ack): accepted, not stored twice.
        let again = s
            .send_envelope(sealed.envelope.clone(), sealed.wraps.clone())
            .await
            .unwrap();
        assert!(again.duplicate);

        let identity = Identity::load(&Home::new(&a.home)).unwrap();
        let dir = node.directory().await.unwrap();
        let gd = dir.iter().find(|n| n.node_id.as_str() == "gd").unwrap();
        let recipients = vec![(
            gd.node_id.clone(),
            gd.age_recipient.parse::<age::x25519::Recipient>().unwrap(),
        )];
        let mk = |sender: &str, id: MessageId, title: &str| {
            let sender = NodeId::new(sender).unwrap();
            seal(
                SealInput {
                    sender: &sender,
                    signing_key: &identity.signing,
                    audience: Audience::All,
                    recipients: &recipients,
                    id,
                    created_at: lianxi_node::now_ms(),
                    not_before: None,
                },
                &bulletin(title),
            )
            .unwrap()
        };
        // The same id with other content: a replay.
        let replay = mk("nat", id, "篡改");
        let e = s
            .send_envelope(replay.envelope, replay.wraps)
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ReplayedId);
        // Claiming to be another node.
        let spoof = mk("gd", MessageId::generate(lianxi_node::now_ms()), "冒名");
        let e = s
            .send_envelope(spoof.envelope, spoof.wraps)
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::SenderMismatch);
        // A flipped signature bit.
        let mut bad = mk("nat", MessageId::generate(lianxi_node::now_ms()), "坏签名");
        bad.envelope.sig[3] ^= 1;
        let e = s.send_envelope(bad.envelope, bad.wraps).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::BadSignature);
        // Embargo absurdly far ahead.
        let nat = NodeId::new("nat").unwrap();
        let far = seal(
            SealInput {
                sender: &nat,
                signing_key: &identity.signing,
                audience: Audience::All,
                recipients: &recipients,
                id: MessageId::generate(lianxi_node::now_ms()),
                created_at: lianxi_node::now_ms(),
                not_before: Some(lianxi_node::now_ms() + 10 * 365 * 86_400_000),
            },
            &bulletin("十年后"),
        )
        .unwrap();
        assert_eq!(
            s.send_envelope(far.envelope, far.wraps)
                .await
                .unwrap_err()
                .code,
            ErrorCode::EmbargoTooFar
        );
        // The connection still works after every refusal.
        s.ping().await.unwrap();
        s.close().await;
    });
    // B got exactly the one genuine bulletin.
    assert_eq!(b.ok(&["sync"])["received"], 1);
    assert_eq!(b.titles(), ["第一份"]);
}

/// Sends that arrive together are checked together (their signatures as one
/// batch): forgeries among them get `bad_signature` each, and every genuine
/// one is stored and delivered.
#[test]
fn forgeries_in_a_burst_are_refused_alone() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let forged = [4usize, 11, 20, 27];
    rt().block_on(async {
        let node = Node::open(Home::new(&a.home)).unwrap();
        let (s, _ev) = node.connect(Duration::from_secs(5)).await.unwrap();
        node.refresh_directory(&s).await.unwrap();
        let identity = Identity::load(&Home::new(&a.home)).unwrap();
        let other = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let dir = node.directory().await.unwrap();
        let gd = dir.iter().find(|n| n.node_id.as_str() == "gd").unwrap();
        let recipients = vec![(
            gd.node_id.clone(),
            gd.age_recipient.parse::<age::x25519::Recipient>().unwrap(),
        )];
        let nat = NodeId::new("nat").unwrap();
        let mut sends = tokio::task::JoinSet::new();
        for i in 0..30usize {
            let key = if i == 27 { &other } else { &identity.signing };
            let mut sealed = seal(
                SealInput {
                    sender: &nat,
                    signing_key: key,
                    audience: Audience::All,
                    recipients: &recipients,
                    id: MessageId::generate(lianxi_node::now_ms()),
                    created_at: lianxi_node::now_ms(),
                    not_before: None,
                },
                &bulletin(&format!("第{i}份")),
            )
            .unwrap();
            match i {
                // A flipped bit; R the identity (small order); S not reduced.
                4 => sealed.envelope.sig[40] ^= 1,
                11 => {
                    sealed.envelope.sig[..32].fill(0);
                    sealed.envelope.sig[0] = 1;
                }
                20 => sealed.envelope.sig[63] |= 0xf0,
                _ => {}
            }
            let s = s.clone();
            sends.spawn(async move { (i, s.send_envelope(sealed.envelope, sealed.wraps).await) });
        }
        let mut refused = Vec::new();
        while let Some(r) = sends.join_next().await {
            let (i, r) = r.unwrap();
            match r {
                Ok(accepted) => assert!(!accepted.duplicate, "{i}"),
                Err(e) => {
                    assert_eq!(e.code, ErrorCode::BadSignature, "{i}");
                    refused.push(i);
                }
            }
        }
        refused.sort();
        assert_eq!(refused, forged);
        s.close().await;
    });
    assert_eq!(b.ok(&["sync"])["received"], 26);
    let mut got = b.titles();
    got.sort();
    let mut want: Vec<String> = (0..30)
        .filter(|i| !forged.contains(i))
        .map(|i| format!("第{i}份"))
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn no_client_certificate_or_wrong_alpn_is_refused() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let addr = net.hub_addr();
    rt().block_on(async {
        let good = common::raw_client(&net, b"lianxi/1", true, &a.home);
        common::hello(&good, &addr)
            .await
            .expect("a proper client is welcome");
        let no_cert = common::raw_client(&net, b"lianxi/1", false, &a.home);
        assert!(
            common::hello(&no_cert, &addr).await.is_err(),
            "no client certificate must be refused"
        );
        let wrong_alpn = common::raw_client(&net, b"http/1.1", true, &a.home);
        assert!(
            common::hello(&wrong_alpn, &addr).await.is_err(),
            "wrong ALPN must be refused"
        );
        // And the hub keeps serving.
        common::hello(&good, &addr).await.expect("still serving");
    });
    assert!(a.ok(&["sync"])["received"] == 0);
}
