//! `lianxi-certs`: the federation's PKI.
//!
//! A CA binds each node's id, name, organisation, tier, roles and public keys into
//! an X.509 certificate:
//! - subject `CN` = display name, `O` = organisation;
//! - SAN URI `urn:lianxi:node:<id>`;
//! - the non-critical extension [`attrs::OID_NODE_ATTRS`] holding tier, roles and
//!   the age recipient (DER, see `docs/PROTOCOL.md`, "Certificates");
//! - the subject key is the node's ed25519 key, also used for TLS client auth.

pub mod attrs;
pub mod ca;
pub mod cli_doc;
pub mod files;
pub mod keys;
pub mod passphrase;
pub mod policy;
pub mod request;
pub mod verify;

pub use attrs::NodeAttributes;
pub use verify::{Crl, parse_node_cert, verify_node_cert};

/// Seconds since the epoch, from the system clock.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Decode the first PEM block with the given label, or accept DER as is.
pub fn pem_or_der(bytes: &[u8], label: &str) -> Result<Vec<u8>, lianxi_shared::ProtoError> {
    use lianxi_shared::{ErrorCode, ProtoError};
    if !bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        return Ok(bytes.to_vec());
    }
    let blocks = pem::parse_many(bytes)
        .map_err(|e| ProtoError::new(ErrorCode::BadCertificate, format!("invalid PEM: {e}")))?;
    blocks
        .into_iter()
        .find(|b| b.tag() == label)
        .map(pem::Pem::into_contents)
        .ok_or_else(|| {
            ProtoError::new(
                ErrorCode::BadCertificate,
                format!("no PEM {label} block found"),
            )
        })
}

/// Encode DER as PEM with the given label.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}
