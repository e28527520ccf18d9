//! The Lianxi node-attributes certificate extension.
//!
//! ```text
//! id-lianxi-nodeAttributes OBJECT IDENTIFIER ::= { 1 3 6 1 4 1 64879 1 1 }
//! LianxiNodeAttributes ::= SEQUENCE {
//!     version       INTEGER (1),
//!     tier          UTF8String,              -- "national" | "provincial" | "prefecture"
//!     roles         SEQUENCE OF UTF8String,  -- "secretary" | "chair" | "legal-aid" | "member"
//!     ageRecipient  UTF8String               -- "age1..."
//! }
//! ```
//! The extension is non-critical, so generic X.509 software ignores it.

use der::{Decode, Encode, Sequence};
use lianxi_shared::{ErrorCode, ProtoError, Role, Tier};

/// OID arc components of the extension.
pub const OID_NODE_ATTRS: &[u64] = &[1, 3, 6, 1, 4, 1, 64879, 1, 1];
/// The same OID in dotted form.
pub const OID_NODE_ATTRS_STR: &str = "1.3.6.1.4.1.64879.1.1";
const VERSION: u8 = 1;
const MAX_ROLES: usize = 16;

#[derive(Sequence)]
struct AttrsDer {
    version: u8,
    tier: String,
    roles: Vec<String>,
    age_recipient: String,
}

/// What the extension binds, besides the id, name and organisation.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NodeAttributes {
    pub tier: Tier,
    pub roles: Vec<Role>,
    pub age_recipient: String,
}

impl NodeAttributes {
    pub fn to_der(&self) -> Vec<u8> {
        let v = AttrsDer {
            version: VERSION,
            tier: self.tier.as_str().to_owned(),
            roles: self.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            age_recipient: self.age_recipient.clone(),
        };
        v.to_der().unwrap_or_default()
    }

    /// Parse the extension value. Never panics on any input.
    pub fn from_der(bytes: &[u8]) -> Result<Self, ProtoError> {
        let bad = |m: String| ProtoError::new(ErrorCode::BadCertificate, m);
        let v = AttrsDer::from_der(bytes).map_err(|e| bad(format!("node attributes: {e}")))?;
        if v.version != VERSION {
            return Err(bad(format!(
                "node attributes version {} is not supported",
                v.version
            )));
        }
        if v.roles.len() > MAX_ROLES {
            return Err(bad("too many roles".into()));
        }
        let tier = v.tier.parse().map_err(|e: ProtoError| bad(e.message))?;
        let mut roles = Vec::new();
        for r in &v.roles {
            let r: Role = r.parse().map_err(|e: ProtoError| bad(e.message))?;
            if !roles.contains(&r) {
                roles.push(r);
            }
        }
        roles.sort();
        let age_recipient: age::x25519::Recipient = v
            .age_recipient
            .parse()
            .map_err(|_| bad("the age recipient is not valid".into()))?;
        Ok(NodeAttributes {
            tier,
            roles,
            age_recipient: age_recipient.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let a = NodeAttributes {
            tier: Tier::Provincial,
            roles: vec![Role::Secretary, Role::LegalAid],
            age_recipient: age::x25519::Identity::generate().to_public().to_string(),
        };
        let der = a.to_der();
        let mut b = NodeAttributes::from_der(&der).unwrap();
        b.roles.sort();
        let mut a2 = a.clone();
        a2.roles.sort();
        assert_eq!(a2, b);
        for i in 0..der.len() {
            let _ = NodeAttributes::from_der(&der[..i]);
            let mut m = der.clone();
            m[i] ^= 0x55;
            let _ = NodeAttributes::from_der(&m);
        }
        assert!(NodeAttributes::from_der(b"\x30\x00").is_err());
    }
}
