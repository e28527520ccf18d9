//! Stable error codes. Every refusal on the wire and every failure the CLI reports
//! carries one of these codes; the strings never change once released (see
//! `docs/PROTOCOL.md`, "Error codes").

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($($var:ident = $s:literal : $doc:literal),+ $(,)?) => {
        /// A stable, machine-readable error code.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum ErrorCode { $(#[doc = $doc] $var),+ }
        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$var),+];
            pub fn as_str(&self) -> &'static str { match self { $(ErrorCode::$var => $s),+ } }
            pub fn describe(&self) -> &'static str { match self { $(ErrorCode::$var => $doc),+ } }
        }
    };
}

codes! {
    // Framing and encoding
    FrameTooLarge = "frame_too_large": "the frame is larger than the configured maximum",
    TruncatedFrame = "truncated_frame": "the stream ended in the middle of a frame",
    UnsupportedVersion = "unsupported_version": "the frame or protocol version is not supported",
    BadFrame = "bad_frame": "the frame is not valid CBOR of the expected shape",
    BadRequest = "bad_request": "the request is malformed or not allowed at this point",
    // Envelopes
    BadHeader = "bad_header": "the envelope header cannot be decoded or is inconsistent",
    BadSignature = "bad_signature": "the envelope signature does not verify",
    BodyMismatch = "body_mismatch": "the body does not match the digest in the signed header",
    SenderMismatch = "sender_mismatch": "the envelope sender is not the authenticated TLS identity",
    UnknownSender = "unknown_sender": "the sender is not in the verified directory",
    UnknownRecipient = "unknown_recipient": "a recipient is not known to the hub",
    EmptyAudience = "empty_audience": "the audience resolves to no recipient",
    NotInAudience = "not_in_audience": "a key wrap names a node outside the signed audience",
    ReplayedId = "replayed_id": "the message id was already used for a different envelope",
    EmbargoTooFar = "embargo_too_far": "the embargo time is further ahead than the hub allows",
    ClockSkew = "clock_skew": "the creation time is too far from the hub's clock",
    DecryptFailed = "decrypt_failed": "the envelope cannot be decrypted with this node's identity",
    BadPayload = "bad_payload": "the decrypted payload is not a valid message",
    Embargoed = "embargoed": "the message may not be read before its release time",
    UnknownReference = "unknown_reference": "the message refers to a bulletin this node does not have, or one of another sender",
    Withdrawn = "withdrawn": "the bulletin was withdrawn by its sender; it cannot be forwarded or acknowledged",
    NotEntitled = "not_entitled": "the sender is not entitled to send this (only the original sender may revise, withdraw or remind; only a referral's target may answer it)",
    NotHandler = "not_handler": "only a case's handlers may change it or see its confidential fields",
    Recused = "recused": "the organisation is recused from this case (回避); it may not receive it",
    BadTransition = "bad_transition": "the case cannot take this step from its current status",
    ConfidentialLeak = "confidential_leak": "the text still contains a confidential field of the case",
    NotChair = "not_chair": "only the chair of the joint conference may convene a meeting or publish a rotation schedule",
    NotHost = "not_host": "only the host of a session (its executive vice-chair) may publish its agenda, minutes and reminders",
    NotMember = "not_member": "the sender is not a member of the joint conference",
    BadSchedule = "bad_schedule": "the rotation schedule does not follow from its inputs or breaks the fairness rule",
    AgendaClosed = "agenda_closed": "the call for agenda items has closed, or the meeting is over",
    // Identity and certificates
    BadNodeId = "bad_node_id": "the node id is not valid",
    BadCertificate = "bad_certificate": "the certificate cannot be parsed or lacks Lianxi attributes",
    UntrustedCertificate = "untrusted_certificate": "the certificate is not signed by the federation CA",
    ExpiredCertificate = "expired_certificate": "the certificate is expired or not yet valid",
    Revoked = "revoked": "the certificate has been revoked",
    AlreadyIssued = "already_issued": "the node already has a live certificate; issue another only with --replace, which revokes it",
    BadCsr = "bad_csr": "the enrollment request cannot be parsed or its signature is invalid",
    PolicyRefused = "policy_refused": "the CA's signing policy does not allow the requested tier or roles; the operator decides with --tier and --roles",
    // Limits and the hub's state
    RateLimited = "rate_limited": "the node sends faster than the hub allows",
    QuotaExceeded = "quota_exceeded": "the sender's queue to a recipient is at its quota until the recipient collects; retry later",
    TooLarge = "too_large": "the message or attachment is larger than allowed",
    StorageFull = "storage_full": "the hub's disk is full; nothing was stored",
    Unavailable = "unavailable": "the service is shutting down or overloaded; try again",
    Internal = "internal": "an internal error; nothing was stored",
    // Node side
    NotEnrolled = "not_enrolled": "this node has no certificate yet: run `lianxi enroll`",
    AlreadyInitialized = "already_initialized": "this home already holds a node identity",
    HubUnreachable = "hub_unreachable": "the hub cannot be reached",
    NotFound = "not_found": "no such item",
    ArchiveNewer = "archive_newer": "the archive was written by a newer Lianxi; upgrade first",
    ArchiveCorrupt = "archive_corrupt": "the file is not a Lianxi archive or is damaged",
    KeyFile = "key_file": "a key file is missing, unreadable or has unsafe permissions",
    PassphraseRequired = "passphrase_required": "the identity is passphrase-protected and no passphrase was given",
    BadPassphrase = "bad_passphrase": "the passphrase does not unlock the identity",
    Io = "io": "a file could not be read or written",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with a stable code and a human-readable message.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error, Serialize, Deserialize)]
#[error("{message} [{code}]")]
pub struct ProtoError {
    pub code: ErrorCode,
    pub message: String,
}

impl ProtoError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ProtoError {
            code,
            message: message.into(),
        }
    }
    /// An error whose message is the code's standard description.
    pub fn code(code: ErrorCode) -> Self {
        ProtoError {
            code,
            message: code.describe().to_owned(),
        }
    }
}

impl From<ErrorCode> for ProtoError {
    fn from(code: ErrorCode) -> Self {
        ProtoError::code(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented() {
        let doc = include_str!("../../docs/PROTOCOL.md");
        for c in ErrorCode::ALL {
            assert!(
                doc.contains(&format!("| `{c}` | {} |", c.describe())),
                "{c} is missing from docs/PROTOCOL.md, section 8"
            );
        }
    }

    #[test]
    fn codes_are_unique_and_serialize_as_their_string() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {c}");
            let mut buf = Vec::new();
            ciborium::into_writer(c, &mut buf).unwrap();
            let back: String = ciborium::from_reader(&buf[..]).unwrap();
            assert_eq!(back, c.as_str());
        }
    }
}
