//! A rogue node: an authenticated member whose node signs and sends whatever
//! the test says, bypassing every check the CLI and the node library make
//! (times, ids, text, attachment names, references). It speaks to the real hub
//! over QUIC with its real certificate, as a modified client would.

use std::time::Duration;

use lianxi_node::home::Home;
use lianxi_node::identity::Identity;
use lianxi_node::node::Node;
use lianxi_shared::envelope::{Envelope, SealInput, Sealed, seal};
use lianxi_shared::{Audience, MessageId, NodeId, Payload, ProtoError};

pub struct Rogue {
    pub node: Node,
    identity: Identity,
    rt: tokio::runtime::Runtime,
}

impl Rogue {
    /// The node enrolled in `home` (by `Net::node`), taken over.
    pub fn new(home: &std::path::Path) -> Rogue {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let node = Node::open(Home::new(home)).unwrap();
        let identity = Identity::load(&Home::new(home)).unwrap();
        let r = Rogue { node, identity, rt };
        r.rt.block_on(async {
            let (s, _ev) = r.node.connect(Duration::from_secs(5)).await.unwrap();
            r.node.refresh_directory(&s).await.unwrap();
            s.close().await;
        });
        r
    }

    /// Run a node call to completion.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Seal `payload` (never validated) to `to` with the id and time given.
    pub fn seal(&self, to: &[&str], payload: &Payload, id: MessageId, created_at: i64) -> Sealed {
        let dir = self.rt.block_on(self.node.directory()).unwrap();
        let ids: Vec<NodeId> = to.iter().map(|n| NodeId::new(*n).unwrap()).collect();
        let recipients: Vec<(NodeId, age::x25519::Recipient)> = dir
            .iter()
            .filter(|n| ids.contains(&n.node_id))
            .map(|n| (n.node_id.clone(), n.age_recipient.parse().unwrap()))
            .collect();
        assert_eq!(recipients.len(), ids.len(), "every recipient is enrolled");
        seal(
            SealInput {
                sender: &self.node.me.node_id,
                signing_key: &self.identity.signing,
                audience: Audience::Nodes(ids),
                recipients: &recipients,
                id,
                created_at,
                not_before: None,
            },
            payload,
        )
        .unwrap()
    }

    /// Send a sealed message through the hub; the hub's refusal if any.
    pub fn send_sealed(&self, sealed: Sealed) -> Result<(), ProtoError> {
        self.rt.block_on(async {
            let (s, _ev) = self.node.connect(Duration::from_secs(5)).await?;
            let r = s.send_envelope(sealed.envelope, sealed.wraps).await;
            s.close().await;
            r.map(|_| ())
        })
    }

    /// Seal and send `payload` now, with a fresh id.
    pub fn send(&self, to: &[&str], payload: &Payload) -> Result<MessageId, ProtoError> {
        let now = lianxi_node::now_ms();
        let id = MessageId::generate(now);
        self.send_sealed(self.seal(to, payload, id, now))?;
        Ok(id)
    }

    /// An envelope this node signed but never sent, and the key that opens it
    /// (what a forward carries).
    pub fn original(&self, payload: &Payload, created_at: i64) -> (Envelope, String) {
        let me = self.node.me.node_id.as_str().to_owned();
        let sealed = self.seal(&[&me], payload, MessageId::generate(created_at), created_at);
        let key =
            lianxi_shared::envelope::unwrap_key(&sealed.wraps[0].key, &self.identity.age).unwrap();
        (sealed.envelope, key.to_string())
    }
}
