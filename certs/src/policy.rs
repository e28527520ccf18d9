//! The CA's signing policy: `policy.toml` in the CA directory says which tiers
//! and roles this CA certifies, and may fix the tier and roles of known node
//! ids. A request asking for more is refused (`policy_refused`) unless the
//! operator decides with `--tier` / `--roles`, which always wins: the operator
//! is in control, the policy keeps them from signing the unexpected unseen.

use std::collections::BTreeMap;
use std::path::Path;

use lianxi_shared::{ErrorCode, NodeId, ProtoError, Role, Tier};
use serde::Deserialize;

/// The file's name in the CA directory.
pub const FILE: &str = "policy.toml";

/// What `lianxi-ca init` writes: every tier, the chair role only at national.
pub const DEFAULT: &str = r#"# Lianxi CA signing policy. `lianxi-ca sign` refuses a request whose tier or
# roles this file does not allow (policy_refused); the operator's --tier and
# --roles always decide instead. Roles: secretary, chair, legal-aid, member.

[tiers]
national = ["chair", "secretary", "legal-aid"]
provincial = ["secretary", "legal-aid", "member"]
prefecture = ["secretary", "legal-aid", "member"]

# Known nodes: certified with exactly this tier and these roles, whatever the
# request asks for. For example:
# [nodes.nat]
# tier = "national"
# roles = ["chair", "secretary"]
"#;

/// One known node's certificate contents.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Fixed {
    pub tier: Tier,
    pub roles: Vec<Role>,
}

/// The parsed policy. An absent file allows what is asked.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Tiers this CA certifies, each with the roles allowed at it; empty: any.
    #[serde(default)]
    pub tiers: BTreeMap<Tier, Vec<Role>>,
    #[serde(default)]
    pub nodes: BTreeMap<String, Fixed>,
}

/// Who decided what a certificate says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecidedBy {
    Request,
    Policy,
    Operator,
    /// A renewal: what the node's live certificate certifies.
    Renewal,
}

impl DecidedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            DecidedBy::Request => "request",
            DecidedBy::Policy => "policy",
            DecidedBy::Operator => "operator",
            DecidedBy::Renewal => "renewal",
        }
    }
}

impl Policy {
    /// The policy of the CA in `dir` (none if the file is absent).
    pub fn load(dir: &Path) -> Result<Policy, ProtoError> {
        let path = dir.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(s) => toml::from_str(&s).map_err(|e| {
                ProtoError::new(
                    ErrorCode::BadRequest,
                    format!("{}: {}", path.display(), e.message()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Policy::default()),
            Err(e) => Err(ProtoError::new(
                ErrorCode::Io,
                format!("{}: {e}", path.display()),
            )),
        }
    }

    /// The tier and roles to certify for `node` asking for `tier` and `roles`
    /// (no operator decision): the node's fixed entry, else the request if
    /// the tier table allows it.
    pub fn decide(
        &self,
        node: &NodeId,
        tier: Tier,
        roles: &[Role],
    ) -> Result<(Tier, Vec<Role>, DecidedBy), ProtoError> {
        if let Some(f) = self.nodes.get(node.as_str()) {
            return Ok((f.tier, f.roles.clone(), DecidedBy::Policy));
        }
        if self.tiers.is_empty() {
            return Ok((tier, roles.to_vec(), DecidedBy::Request));
        }
        let refused = |what: String| {
            ProtoError::new(
                ErrorCode::PolicyRefused,
                format!(
                    "{node} asks for {what}, which the CA's {FILE} does not allow; sign with --tier and --roles to decide"
                ),
            )
        };
        let allowed = self
            .tiers
            .get(&tier)
            .ok_or_else(|| refused(format!("tier {tier}")))?;
        if let Some(r) = roles.iter().find(|r| !allowed.contains(r)) {
            return Err(refused(format!("the {} role at tier {tier}", r.as_str())));
        }
        Ok((tier, roles.to_vec(), DecidedBy::Request))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    #[test]
    fn the_default_policy_keeps_the_chair_national_and_fixed_nodes_win() {
        let mut p: Policy = toml::from_str(DEFAULT).unwrap();
        let (t, r, by) = p
            .decide(&id("gd"), Tier::Provincial, &[Role::Secretary])
            .unwrap();
        assert_eq!(
            (t, r, by),
            (Tier::Provincial, vec![Role::Secretary], DecidedBy::Request)
        );
        let e = p
            .decide(&id("gd"), Tier::Provincial, &[Role::Chair])
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::PolicyRefused);
        p.nodes.insert(
            "gd".into(),
            Fixed {
                tier: Tier::Provincial,
                roles: vec![Role::LegalAid],
            },
        );
        let (t, r, by) = p.decide(&id("gd"), Tier::National, &[Role::Chair]).unwrap();
        assert_eq!(
            (t, r, by),
            (Tier::Provincial, vec![Role::LegalAid], DecidedBy::Policy)
        );
        assert!(toml::from_str::<Policy>("[tiers]\nnational = [\"boss\"]").is_err());
        assert_eq!(
            Policy::default()
                .decide(&id("x"), Tier::National, &[Role::Chair])
                .unwrap()
                .2,
            DecidedBy::Request
        );
    }
}
