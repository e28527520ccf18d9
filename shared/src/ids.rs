//! Identifiers: node ids, message ids (UUIDv7), tiers and roles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{ErrorCode, ProtoError};

/// A node's identifier: 1–64 characters of `a-z`, `0-9`, `-`, `_` or `.`,
/// starting with a letter or digit. It is the node's name on the wire, in its
/// certificate (SAN URI `urn:lianxi:node:<id>`) and in every archive.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(String);

impl NodeId {
    pub const MAX_LEN: usize = 64;

    pub fn new(s: impl Into<String>) -> Result<Self, ProtoError> {
        let s = s.into();
        let ok_len = !s.is_empty() && s.len() <= Self::MAX_LEN;
        let ok_first = s
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let ok_chars = s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        });
        if ok_len && ok_first && ok_chars {
            Ok(NodeId(s))
        } else {
            Err(ProtoError::new(
                ErrorCode::BadNodeId,
                format!("invalid node id {s:?}: use 1-64 characters a-z 0-9 - _ ."),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SAN URI that binds this id into a certificate.
    pub fn to_uri(&self) -> String {
        format!("{}{}", Self::URI_PREFIX, self.0)
    }

    pub const URI_PREFIX: &'static str = "urn:lianxi:node:";

    pub fn from_uri(uri: &str) -> Result<Self, ProtoError> {
        match uri.strip_prefix(Self::URI_PREFIX) {
            Some(id) => NodeId::new(id),
            None => Err(ProtoError::new(
                ErrorCode::BadNodeId,
                format!("not a node URI: {uri:?}"),
            )),
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.0)
    }
}
impl FromStr for NodeId {
    type Err = ProtoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NodeId::new(s)
    }
}
impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NodeId::new(s).map_err(serde::de::Error::custom)
    }
}

/// A message id: a UUIDv7, so ids sort by creation time. 16 bytes on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub uuid::Uuid);

impl MessageId {
    /// A new id for a message created at `unix_ms` (milliseconds since the epoch).
    pub fn new_v7(unix_ms: i64, rand16: [u8; 16]) -> Self {
        let ms = u64::try_from(unix_ms).unwrap_or(0);
        let mut b = rand16;
        b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        b[6] = 0x70 | (b[6] & 0x0f);
        b[8] = 0x80 | (b[8] & 0x3f);
        MessageId(uuid::Uuid::from_bytes(b))
    }
    /// A new id for `unix_ms`, with the random bits from the OS.
    pub fn generate(unix_ms: i64) -> Self {
        let mut r = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut r);
        Self::new_v7(unix_ms, r)
    }
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
    /// The creation time a UUIDv7 carries, milliseconds since the epoch.
    pub fn unix_ms(&self) -> i64 {
        let b = self.0.as_bytes();
        let mut ms = [0u8; 8];
        ms[2..].copy_from_slice(&b[..6]);
        i64::from_be_bytes(ms)
    }
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        uuid::Uuid::from_slice(b).ok().map(MessageId)
    }
}
impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}
impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", self.0)
    }
}
impl FromStr for MessageId {
    type Err = ProtoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s)
            .map(MessageId)
            .map_err(|_| ProtoError::new(ErrorCode::BadRequest, format!("not a message id: {s:?}")))
    }
}
impl Serialize for MessageId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0.as_bytes())
    }
}
impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let b = serde_bytes::ByteBuf::deserialize(d)?;
        MessageId::from_slice(&b)
            .ok_or_else(|| serde::de::Error::custom("message id must be 16 bytes"))
    }
}

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum $name { $($var),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl FromStr for $name {
            type Err = ProtoError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($s => Ok($name::$var),)+
                    _ => Err(ProtoError::new(ErrorCode::BadRequest, format!(
                        concat!("unknown ", stringify!($name), " {:?}; expected one of: {}"),
                        s, [$($s),+].join(", ")))),
                }
            }
        }
    };
}

str_enum!(
    /// The tier of an association in the network. No tier is above another in
    /// authority; tiers are used to address messages.
    Tier { National = "national", Provincial = "provincial", Prefecture = "prefecture" }
);
str_enum!(
    /// What a node does in the network; a node may hold several roles.
    Role { Secretary = "secretary", Chair = "chair", LegalAid = "legal-aid", Member = "member" }
);

/// Parse a comma-separated list of roles (`secretary,chair`).
pub fn parse_roles(s: &str) -> Result<Vec<Role>, ProtoError> {
    let mut out: Vec<Role> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let r: Role = part.parse()?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_validated() {
        assert!(NodeId::new("gd-sme").is_ok());
        assert!(NodeId::new("a").is_ok());
        for bad in ["", "-x", "Upper", "空格", "a b", &"x".repeat(65)] {
            let e = NodeId::new(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadNodeId, "{bad}");
        }
        let id = NodeId::new("zj.hz-01").unwrap();
        assert_eq!(NodeId::from_uri(&id.to_uri()).unwrap(), id);
        assert!(NodeId::from_uri("https://x").is_err());
    }

    #[test]
    fn message_ids_are_v7_and_sort_by_time() {
        let a = MessageId::new_v7(1_700_000_000_000, [0xff; 16]);
        let b = MessageId::new_v7(1_700_000_000_001, [0x00; 16]);
        assert_eq!(a.0.get_version_num(), 7);
        assert_eq!(a.unix_ms(), 1_700_000_000_000);
        assert_eq!(
            MessageId::new_v7(253_402_128_000_000, [7; 16]).unix_ms(),
            253_402_128_000_000
        );
        assert!(a < b);
        assert_eq!(a.to_string().parse::<MessageId>().unwrap(), a);
    }

    #[test]
    fn roles_parse_and_dedupe() {
        assert_eq!(
            parse_roles("member, chair,member").unwrap(),
            vec![Role::Chair, Role::Member]
        );
        assert!(parse_roles("boss").is_err());
        assert_eq!("legal-aid".parse::<Role>().unwrap(), Role::LegalAid);
        assert_eq!(Tier::Prefecture.to_string(), "prefecture");
    }
}
