//! The verified directory. Every certificate the hub hands out is checked here,
//! against the CA the node enrolled with and the newest CRL it has seen, so a
//! compromised hub cannot substitute a node's keys.

use lianxi_certs::{Crl, verify_node_cert};
use lianxi_shared::{NodeInfo, ProtoError};

/// The outcome of verifying a directory answer.
pub struct Verified {
    pub nodes: Vec<(NodeInfo, Vec<u8>)>,
    pub rejected: Vec<ProtoError>,
}

/// Choose the CRL to trust: the newest correctly signed one of `offered` and
/// `known`. A hub cannot roll revocations back by serving an older CRL.
pub fn newer_crl(
    ca: &[u8],
    known: Option<&[u8]>,
    offered: Option<&[u8]>,
) -> Option<(Vec<u8>, Crl)> {
    let parse = |b: &[u8]| Crl::parse_verified(b, ca).ok().map(|c| (b.to_vec(), c));
    match (known.and_then(parse), offered.and_then(parse)) {
        (Some(k), Some(o)) => Some(if o.1.this_update >= k.1.this_update {
            o
        } else {
            k
        }),
        (k, o) => o.or(k),
    }
}

pub fn verify_directory(
    certs: &[Vec<u8>],
    ca: &[u8],
    crl: Option<&Crl>,
    now_secs: i64,
) -> Verified {
    let mut nodes = Vec::new();
    let mut rejected = Vec::new();
    for der in certs {
        match verify_node_cert(der, ca, crl, now_secs) {
            Ok(info) => nodes.push((info, der.clone())),
            Err(e) => rejected.push(e),
        }
    }
    nodes.sort_by(|a, b| a.0.node_id.cmp(&b.0.node_id));
    nodes.dedup_by(|a, b| a.0.node_id == b.0.node_id);
    Verified { nodes, rejected }
}
