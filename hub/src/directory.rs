//! The hub's view of the network: the certificates of every node that has
//! connected, minus revoked and expired ones. Used to expand audiences and
//! answer `Directory` requests (clients verify every certificate themselves).

use std::collections::HashMap;
use std::sync::Arc;

use lianxi_certs::{Crl, verify_node_cert};
use lianxi_shared::{NodeId, NodeInfo};

#[derive(Default)]
pub struct Snapshot {
    pub nodes: HashMap<NodeId, NodeInfo>,
    pub certs: HashMap<NodeId, Arc<Vec<u8>>>,
}

impl Snapshot {
    /// Build from every known certificate; skip those that fail verification.
    pub fn build(
        all: &HashMap<NodeId, Vec<u8>>,
        ca: &[u8],
        crl: Option<&Crl>,
        now: i64,
    ) -> Snapshot {
        let mut s = Snapshot::default();
        for (id, der) in all {
            match verify_node_cert(der, ca, crl, now) {
                Ok(info) if &info.node_id == id => {
                    s.certs.insert(id.clone(), Arc::new(der.clone()));
                    s.nodes.insert(id.clone(), info);
                }
                Ok(_) => {
                    tracing::warn!(node = %id, "stored certificate names another node; skipped")
                }
                Err(e) => {
                    tracing::info!(node = %id, code = %e.code, "certificate not in directory")
                }
            }
        }
        s
    }

    /// A copy with one node added or replaced.
    pub fn with(&self, info: NodeInfo, der: Vec<u8>) -> Snapshot {
        let mut nodes = self.nodes.clone();
        let mut certs = self.certs.clone();
        certs.insert(info.node_id.clone(), Arc::new(der));
        nodes.insert(info.node_id.clone(), info);
        Snapshot { nodes, certs }
    }
}
