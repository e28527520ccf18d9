//! Who is in the network, and who an audience reaches.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, ProtoError};
use crate::ids::{NodeId, Role, Tier};

/// A node as its CA-signed certificate describes it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct NodeInfo {
    pub node_id: NodeId,
    pub name: String,
    pub org: String,
    pub tier: Tier,
    pub roles: Vec<Role>,
    /// The node's age X25519 recipient (`age1…`).
    pub age_recipient: String,
    /// The node's ed25519 public key (also its TLS key).
    #[serde(with = "serde_bytes")]
    pub signing_key: [u8; 32],
    /// Certificate validity, seconds since the epoch.
    pub not_before: i64,
    pub not_after: i64,
}

/// Who a message is for. It is part of the signed header; the hub expands it
/// against its directory and each recipient checks that it is included.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    All,
    Tier(Tier),
    Role(Role),
    Nodes(Vec<NodeId>),
}

impl Audience {
    /// Largest explicit node list accepted.
    pub const MAX_NODES: usize = 100_000;

    /// Whether `node` is addressed. The sender is never its own recipient.
    pub fn includes(&self, sender: &NodeId, node: &NodeInfo) -> bool {
        if &node.node_id == sender {
            return false;
        }
        match self {
            Audience::All => true,
            Audience::Tier(t) => node.tier == *t,
            Audience::Role(r) => node.roles.contains(r),
            Audience::Nodes(ids) => ids.contains(&node.node_id),
        }
    }

    /// Expand against a directory. Explicit ids that are not in the directory
    /// are an error (`unknown_recipient`), and so is an empty result.
    pub fn expand<'a>(
        &self,
        sender: &NodeId,
        directory: impl IntoIterator<Item = &'a NodeInfo>,
    ) -> Result<Vec<NodeId>, ProtoError> {
        let mut out = BTreeSet::new();
        match self {
            Audience::Nodes(ids) => {
                if ids.len() > Self::MAX_NODES {
                    return Err(ProtoError::new(
                        ErrorCode::TooLarge,
                        "too many explicit recipients",
                    ));
                }
                let known: std::collections::HashMap<&NodeId, &NodeInfo> =
                    directory.into_iter().map(|n| (&n.node_id, n)).collect();
                for id in ids {
                    if id == sender {
                        continue;
                    }
                    if !known.contains_key(id) {
                        return Err(ProtoError::new(
                            ErrorCode::UnknownRecipient,
                            format!("unknown recipient {id}"),
                        ));
                    }
                    out.insert(id.clone());
                }
            }
            _ => {
                for n in directory {
                    if self.includes(sender, n) {
                        out.insert(n.node_id.clone());
                    }
                }
            }
        }
        if out.is_empty() {
            return Err(ProtoError::new(
                ErrorCode::EmptyAudience,
                format!("audience {self} reaches no node"),
            ));
        }
        Ok(out.into_iter().collect())
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Audience::All => f.write_str("all"),
            Audience::Tier(t) => write!(f, "{t}"),
            Audience::Role(r) => write!(f, "role:{r}"),
            Audience::Nodes(ids) => {
                let v: Vec<&str> = ids.iter().map(NodeId::as_str).collect();
                write!(f, "{}", v.join(","))
            }
        }
    }
}

impl FromStr for Audience {
    type Err = ProtoError;
    /// `all`, a tier (`national`…), a role (`role:chair` or just `chair`), or a
    /// comma-separated list of node ids (prefix one with `node:` to force it).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ProtoError::new(ErrorCode::EmptyAudience, "empty audience"));
        }
        if s == "all" {
            return Ok(Audience::All);
        }
        if let Some(r) = s.strip_prefix("role:") {
            return Ok(Audience::Role(r.parse()?));
        }
        if let Ok(t) = s.parse::<Tier>() {
            return Ok(Audience::Tier(t));
        }
        if let Ok(r) = s.parse::<Role>() {
            return Ok(Audience::Role(r));
        }
        let mut ids = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let id = NodeId::new(part.strip_prefix("node:").unwrap_or(part))?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            return Err(ProtoError::new(ErrorCode::EmptyAudience, "empty audience"));
        }
        Ok(Audience::Nodes(ids))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn node(id: &str, tier: Tier, roles: &[Role]) -> NodeInfo {
        NodeInfo {
            node_id: NodeId::new(id).unwrap(),
            name: format!("{id} 协会"),
            org: format!("{id} org"),
            tier,
            roles: roles.to_vec(),
            age_recipient: String::new(),
            signing_key: [0; 32],
            not_before: 0,
            not_after: i64::MAX,
        }
    }

    #[test]
    fn audiences_expand_and_exclude_the_sender() {
        let dir = vec![
            node("nat", Tier::National, &[Role::Chair, Role::Secretary]),
            node("gd", Tier::Provincial, &[Role::Secretary]),
            node("sz", Tier::Prefecture, &[Role::Member]),
            node("hotline", Tier::National, &[Role::LegalAid]),
        ];
        let me = NodeId::new("nat").unwrap();
        let ids = |v: Vec<NodeId>| v.into_iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            ids(Audience::All.expand(&me, &dir).unwrap()),
            ["gd", "hotline", "sz"]
        );
        assert_eq!(
            ids("national"
                .parse::<Audience>()
                .unwrap()
                .expand(&me, &dir)
                .unwrap()),
            ["hotline"]
        );
        assert_eq!(
            ids("secretary"
                .parse::<Audience>()
                .unwrap()
                .expand(&me, &dir)
                .unwrap()),
            ["gd"]
        );
        assert_eq!(
            ids("sz,gd"
                .parse::<Audience>()
                .unwrap()
                .expand(&me, &dir)
                .unwrap()),
            ["gd", "sz"]
        );
        let e = "sz,nobody"
            .parse::<Audience>()
            .unwrap()
            .expand(&me, &dir)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::UnknownRecipient);
        let e = "role:chair"
            .parse::<Audience>()
            .unwrap()
            .expand(&me, &dir)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::EmptyAudience);
        assert_eq!(
            "".parse::<Audience>().unwrap_err().code,
            ErrorCode::EmptyAudience
        );
    }
}
