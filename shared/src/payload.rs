//! What travels inside an envelope. The payload is CBOR, encrypted; the hub never
//! sees its kind or any field. Later message types extend [`Payload`].

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, ProtoError};

/// A policy or information bulletin (通报).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Bulletin {
    pub title: String,
    pub body: String,
}

/// Every message kind. Encoded as a CBOR map with one key: the kind.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    Bulletin(Bulletin),
}

impl Payload {
    /// Largest title accepted, in bytes.
    pub const MAX_TITLE: usize = 1024;

    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Bulletin(_) => "bulletin",
        }
    }

    pub fn title(&self) -> &str {
        match self {
            Payload::Bulletin(b) => &b.title,
        }
    }

    pub fn body(&self) -> &str {
        match self {
            Payload::Bulletin(b) => &b.body,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        crate::cbor::to_vec(self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        let p: Payload = crate::cbor::from_slice(bytes, ErrorCode::BadPayload)?;
        p.validate()?;
        Ok(p)
    }

    pub fn validate(&self) -> Result<(), ProtoError> {
        match self {
            Payload::Bulletin(b) => {
                if b.title.trim().is_empty() {
                    return Err(ProtoError::new(
                        ErrorCode::BadPayload,
                        "a bulletin needs a title",
                    ));
                }
                if b.title.len() > Self::MAX_TITLE {
                    return Err(ProtoError::new(
                        ErrorCode::TooLarge,
                        "the title is too long",
                    ));
                }
                Ok(())
            }
        }
    }
}
