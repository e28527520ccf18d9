//! What travels inside an envelope. The payload is CBOR, encrypted; the hub never
//! sees its kind or any field.
//!
//! Bulletins carry their metadata and attachments. Receipts, reminders,
//! revisions, withdrawals and forwards are ordinary payloads too: the hub learns
//! nothing new from them. So are case messages ([`crate::case`]).

use serde::{Deserialize, Serialize};

use crate::envelope::Envelope;
use crate::error::{ErrorCode, ProtoError};
use crate::ids::MessageId;

/// Default largest attachment, bytes (configurable on the node).
pub const DEFAULT_MAX_ATTACHMENT: u64 = 10 * 1024 * 1024;

/// Bulletin categories.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 政策法规
    Policy,
    /// 发展动态
    News,
    /// 协会活动
    Activity,
    /// 通知
    Notice,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::Policy,
        Category::News,
        Category::Activity,
        Category::Notice,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Policy => "policy",
            Category::News => "news",
            Category::Activity => "activity",
            Category::Notice => "notice",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Category::Policy => "政策法规",
            Category::News => "发展动态",
            Category::Activity => "协会活动",
            Category::Notice => "通知",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Category::Policy => "policy",
            Category::News => "news",
            Category::Activity => "activity",
            Category::Notice => "notice",
        }
    }
}

impl std::str::FromStr for Category {
    type Err = ProtoError;
    fn from_str(s: &str) -> Result<Self, ProtoError> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s || c.zh() == s)
            .ok_or_else(|| {
                ProtoError::new(
                    ErrorCode::BadRequest,
                    format!("unknown category {s:?}: policy, news, activity or notice"),
                )
            })
    }
}

/// A file carried inside the encrypted payload.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// A policy or information bulletin (通报).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, Default)]
pub struct Bulletin {
    pub title: String,
    /// Plain text with light Markdown.
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// Issuing body (发文单位).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Document number (文号).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_number: Option<String>,
    /// Effective date, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Recipients are asked to acknowledge (收文回执).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ack_required: bool,
    /// Acknowledge by this time (ms); after it, missing acknowledgements are overdue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_by: Option<i64>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptState {
    Delivered,
    Read,
    Acknowledged,
}

impl ReceiptState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptState::Delivered => "delivered",
            ReceiptState::Read => "read",
            ReceiptState::Acknowledged => "acknowledged",
        }
    }
}

/// A recipient's receipt for a bulletin, sent to the bulletin's sender only.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Receipt {
    pub bulletin: MessageId,
    pub state: ReceiptState,
    /// When the recipient's node reached this state (ms).
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
}

/// The sender asks recipients who have not acknowledged to do so.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Reminder {
    pub bulletin: MessageId,
    #[serde(default)]
    pub note: String,
}

/// A correction that supersedes an earlier bulletin; only its sender may send one.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Revision {
    /// The first bulletin of the thread.
    pub original: MessageId,
    /// 1 for the first correction, 2 for the next…
    pub revision: u32,
    pub bulletin: Bulletin,
    /// What changed, in the sender's words.
    #[serde(default)]
    pub note: String,
}

/// The sender withdraws a bulletin (撤回).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Withdrawal {
    pub original: MessageId,
    pub reason: String,
}

/// A received bulletin passed on to other nodes with its provenance: the
/// original signed envelope and the key that opens its body, so the receiver
/// verifies the original sender's signature itself.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Forward {
    pub envelope: Envelope,
    /// The original message's ephemeral age identity, as age writes it.
    pub key: String,
    #[serde(default)]
    pub note: String,
}

/// Every message kind. Encoded as a CBOR map with one key: the kind.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    Bulletin(Bulletin),
    Receipt(Receipt),
    Reminder(Reminder),
    Revision(Revision),
    Withdrawal(Withdrawal),
    Forward(Box<Forward>),
    /// A rights-defence case message (see [`crate::case`]).
    Case(crate::case::CaseMsg),
    /// A joint-conference message (see [`crate::conference`]).
    Conference(crate::conference::ConfMsg),
}

impl Payload {
    /// Largest title accepted, in bytes.
    pub const MAX_TITLE: usize = 1024;

    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Bulletin(_) => "bulletin",
            Payload::Receipt(_) => "receipt",
            Payload::Reminder(_) => "reminder",
            Payload::Revision(_) => "revision",
            Payload::Withdrawal(_) => "withdrawal",
            Payload::Forward(_) => "forward",
            Payload::Case(_) => "case",
            Payload::Conference(_) => "conference",
        }
    }

    /// The bulletin this payload carries or revises, if any.
    pub fn bulletin(&self) -> Option<&Bulletin> {
        match self {
            Payload::Bulletin(b) => Some(b),
            Payload::Revision(r) => Some(&r.bulletin),
            _ => None,
        }
    }

    pub fn title(&self) -> &str {
        self.bulletin().map(|b| b.title.as_str()).unwrap_or("")
    }

    pub fn body(&self) -> &str {
        self.bulletin().map(|b| b.body.as_str()).unwrap_or("")
    }

    pub fn encode(&self) -> Vec<u8> {
        crate::cbor::to_vec(self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        let p: Payload = crate::cbor::from_slice(bytes, ErrorCode::BadPayload)?;
        p.validate()?;
        Ok(p)
    }

    /// Decode the payload at the start of a body's plaintext, where every
    /// byte after it must be padding (0x00). Returns it and its length.
    pub fn decode_padded(bytes: &[u8]) -> Result<(Self, usize), ProtoError> {
        let (p, rest): (Payload, &[u8]) = crate::cbor::from_prefix(bytes, ErrorCode::BadPayload)?;
        if rest.iter().any(|b| *b != 0) {
            return Err(ProtoError::new(
                ErrorCode::BadPayload,
                "bytes other than padding after the payload",
            ));
        }
        p.validate()?;
        Ok((p, bytes.len() - rest.len()))
    }

    /// Decode a payload this node already accepted and stored: no validation,
    /// so rules added since never make an archive unreadable (what is shown is
    /// still escaped).
    pub fn decode_stored(bytes: &[u8]) -> Result<Self, ProtoError> {
        crate::cbor::from_slice(bytes, ErrorCode::BadPayload)
    }

    pub fn validate(&self) -> Result<(), ProtoError> {
        use crate::text::{check_line, check_text};
        if let Some(b) = self.bulletin() {
            b.validate()?;
        }
        match self {
            Payload::Case(c) => c.validate()?,
            Payload::Conference(c) => c.validate()?,
            Payload::Withdrawal(w) => {
                if w.reason.trim().is_empty() {
                    return Err(ProtoError::new(
                        ErrorCode::BadPayload,
                        "a withdrawal needs a reason",
                    ));
                }
                check_text("a withdrawal reason", &w.reason, MAX_NOTE)?;
            }
            Payload::Receipt(r) => {
                check_text(
                    "a receipt's reply",
                    r.reply.as_deref().unwrap_or(""),
                    MAX_NOTE,
                )?;
                crate::text::check_time("a receipt's time", r.at)?;
            }
            Payload::Reminder(r) => check_text("a reminder's note", &r.note, MAX_NOTE)?,
            Payload::Revision(r) => check_text("a revision note", &r.note, MAX_NOTE)?,
            Payload::Forward(f) => {
                check_text("a forward's note", &f.note, MAX_NOTE)?;
                check_line("a forward's key", &f.key, 256)?;
            }
            Payload::Bulletin(_) => {}
        }
        Ok(())
    }
}

/// Longest note, reason or reply, bytes.
pub const MAX_NOTE: usize = 64 * 1024;
/// Longest short metadata field (issuer, document number, region, tag), bytes.
pub const MAX_FIELD: usize = 512;

/// Check every attachment's name ([`crate::text::check_file_name`]).
pub fn check_attachments(attachments: &[Attachment]) -> Result<(), ProtoError> {
    attachments
        .iter()
        .try_for_each(|a| crate::text::check_file_name(&a.name))
}

impl Bulletin {
    /// What every node checks, sending and receiving: a title, one-line
    /// metadata without control characters, safe attachment names.
    pub fn validate(&self) -> Result<(), ProtoError> {
        use crate::text::check_line;
        if self.title.trim().is_empty() {
            return Err(ProtoError::new(
                ErrorCode::BadPayload,
                "a bulletin needs a title",
            ));
        }
        check_line("the title", &self.title, Payload::MAX_TITLE)?;
        for (what, v) in [
            ("the issuer", &self.issuer),
            ("the document number", &self.doc_number),
            ("the effective date", &self.effective),
            ("the region", &self.region),
        ] {
            check_line(what, v.as_deref().unwrap_or(""), MAX_FIELD)?;
        }
        if self.tags.len() > 64 {
            return Err(ProtoError::new(ErrorCode::TooLarge, "more than 64 tags"));
        }
        for t in &self.tags {
            check_line("a tag", t, MAX_FIELD)?;
        }
        if let Some(by) = self.ack_by {
            crate::text::check_time("the acknowledgement deadline", by)?;
        }
        check_attachments(&self.attachments)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_bulletins_decode_and_new_fields_round_trip() {
        // A bulletin as version 1 of the protocol wrote it (title and body only).
        #[derive(Serialize)]
        struct Old {
            title: String,
            body: String,
        }
        let old = crate::cbor::to_vec(&std::collections::BTreeMap::from([(
            "bulletin",
            Old {
                title: "旧".into(),
                body: "b".into(),
            },
        )]));
        let p = Payload::decode(&old).unwrap();
        assert_eq!(p.title(), "旧");
        let full = Payload::Bulletin(Bulletin {
            title: "关于…的通知".into(),
            category: Some(Category::Policy),
            doc_number: Some("联席发〔2026〕12号".into()),
            tags: vec!["减税".into()],
            attachments: vec![Attachment {
                name: "附件1.pdf".into(),
                data: vec![1, 2, 3],
            }],
            ack_required: true,
            ..Default::default()
        });
        assert_eq!(Payload::decode(&full.encode()).unwrap(), full);
        let bad = Payload::Bulletin(Bulletin {
            title: "x".into(),
            attachments: vec![Attachment {
                name: "../etc/passwd".into(),
                data: vec![],
            }],
            ..Default::default()
        });
        assert_eq!(bad.validate().unwrap_err().code, ErrorCode::BadPayload);
        assert_eq!("政策法规".parse::<Category>().unwrap(), Category::Policy);
    }
}
