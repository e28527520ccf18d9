//! Checking node certificates: parse the Lianxi attributes, verify the chain to
//! the federation CA, the validity period and the CRL.

use std::collections::HashSet;

use lianxi_shared::{ErrorCode, NodeId, NodeInfo, ProtoError};
use x509_parser::prelude::*;

use crate::attrs::{NodeAttributes, OID_NODE_ATTRS_STR};

fn bad(m: impl Into<String>) -> ProtoError {
    ProtoError::new(ErrorCode::BadCertificate, m)
}

/// Parse a node certificate's attributes without checking who signed it.
pub fn parse_node_cert(der: &[u8]) -> Result<NodeInfo, ProtoError> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| bad(format!("cannot parse certificate: {e}")))?;
    info_of(&cert)
}

fn info_of(cert: &X509Certificate<'_>) -> Result<NodeInfo, ProtoError> {
    let subject = cert.subject();
    let name =
        crate::request::name_field(subject, &x509_parser::oid_registry::OID_X509_COMMON_NAME)
            .ok_or_else(|| bad("no CN"))?;
    let org = crate::request::name_field(
        subject,
        &x509_parser::oid_registry::OID_X509_ORGANIZATION_NAME,
    )
    .ok_or_else(|| bad("no O"))?;
    crate::request::check_names(&name, &org).map_err(|e| bad(&e.message))?;
    let mut node_id = None;
    let mut attrs = None;
    for ext in cert.extensions() {
        if ext.oid.to_id_string() == OID_NODE_ATTRS_STR {
            attrs = Some(NodeAttributes::from_der(ext.value)?);
        } else if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            for n in &san.general_names {
                if let GeneralName::URI(u) = n
                    && let Ok(id) = NodeId::from_uri(u)
                {
                    node_id = Some(id);
                }
            }
        }
    }
    let spki = cert.public_key();
    if spki.algorithm.algorithm.to_id_string() != "1.3.101.112" {
        return Err(bad("the node key is not ed25519"));
    }
    let signing_key: [u8; 32] = spki
        .subject_public_key
        .data
        .as_ref()
        .try_into()
        .map_err(|_| bad("bad ed25519 key"))?;
    let attrs = attrs.ok_or_else(|| bad("no Lianxi attributes extension"))?;
    Ok(NodeInfo {
        node_id: node_id.ok_or_else(|| bad("no node id (SAN URI)"))?,
        name,
        org,
        tier: attrs.tier,
        roles: attrs.roles,
        age_recipient: attrs.age_recipient,
        signing_key,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// A CRL whose signature has been checked against the CA.
#[derive(Clone, Debug, Default)]
pub struct Crl {
    revoked: HashSet<Vec<u8>>,
    pub this_update: i64,
    pub next_update: Option<i64>,
    /// The CRL number (RFC 5280: increases with each CRL of a CA).
    pub number: Option<u64>,
}

fn trim_serial(s: &[u8]) -> Vec<u8> {
    let i = s.iter().position(|b| *b != 0).unwrap_or(s.len());
    s[i..].to_vec()
}

impl Crl {
    /// Parse a CRL (PEM or DER) and verify it was issued by `ca_der`.
    pub fn parse_verified(crl: &[u8], ca_der: &[u8]) -> Result<Crl, ProtoError> {
        let crl_der = crate::pem_or_der(crl, "X509 CRL")?;
        let (_, ca) =
            X509Certificate::from_der(ca_der).map_err(|e| bad(format!("CA certificate: {e}")))?;
        let (_, list) =
            CertificateRevocationList::from_der(&crl_der).map_err(|e| bad(format!("CRL: {e}")))?;
        if list.issuer() != ca.subject() {
            return Err(ProtoError::new(
                ErrorCode::UntrustedCertificate,
                "the CRL was issued by another CA",
            ));
        }
        list.verify_signature(ca.public_key()).map_err(|_| {
            ProtoError::new(
                ErrorCode::UntrustedCertificate,
                "the CRL signature does not verify",
            )
        })?;
        Ok(Crl {
            revoked: list
                .iter_revoked_certificates()
                .map(|r| trim_serial(r.raw_serial()))
                .collect(),
            this_update: list.last_update().timestamp(),
            next_update: list.next_update().map(|t| t.timestamp()),
            number: list.crl_number().and_then(|n| u64::try_from(n).ok()),
        })
    }

    /// Which of two CRLs of one CA is newer: the CRL number first (two CRLs
    /// issued within one second differ only there), then thisUpdate.
    pub fn version(&self) -> (i64, i64) {
        let number = self
            .number
            .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        (number, self.this_update)
    }

    pub fn is_revoked(&self, serial: &[u8]) -> bool {
        self.revoked.contains(&trim_serial(serial))
    }

    /// How many certificates it revokes.
    pub fn revoked_count(&self) -> usize {
        self.revoked.len()
    }

    /// Whether `now` (seconds) is past its next update: revocations since may
    /// be missing, so a new CRL is due.
    pub fn is_stale(&self, now: i64) -> bool {
        self.next_update.is_some_and(|t| t < now)
    }

    pub fn len(&self) -> usize {
        self.revoked.len()
    }
    pub fn is_empty(&self) -> bool {
        self.revoked.is_empty()
    }
}

/// Verify a node certificate against the CA, its validity at `now` (seconds) and
/// the CRL, and return what it binds.
pub fn verify_node_cert(
    der: &[u8],
    ca_der: &[u8],
    crl: Option<&Crl>,
    now: i64,
) -> Result<NodeInfo, ProtoError> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| bad(format!("cannot parse certificate: {e}")))?;
    let (_, ca) =
        X509Certificate::from_der(ca_der).map_err(|e| bad(format!("CA certificate: {e}")))?;
    if cert.issuer() != ca.subject() || cert.verify_signature(Some(ca.public_key())).is_err() {
        return Err(ProtoError::new(
            ErrorCode::UntrustedCertificate,
            "not signed by the federation CA",
        ));
    }
    let t = ASN1Time::from_timestamp(now).map_err(|_| bad("bad time"))?;
    if !cert.validity().is_valid_at(t) {
        return Err(ProtoError::new(
            ErrorCode::ExpiredCertificate,
            "the certificate is expired or not yet valid",
        ));
    }
    if let Some(crl) = crl
        && crl.is_revoked(cert.raw_serial())
    {
        return Err(ProtoError::new(
            ErrorCode::Revoked,
            "the certificate has been revoked",
        ));
    }
    info_of(&cert)
}

/// A certificate's serial (hex) and its notAfter, seconds since the epoch.
pub fn serial_and_expiry(der: &[u8]) -> Result<(String, i64), ProtoError> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| bad(format!("cannot parse certificate: {e}")))?;
    Ok((
        hex(&trim_serial(cert.raw_serial())),
        cert.validity().not_after.timestamp(),
    ))
}

/// Days from `now` until `not_after` when that is within `EXPIRY_WARNING_DAYS`
/// (0 or less: expired), else `None`: when a certificate's holder should be told.
pub fn expires_soon(not_after: i64, now: i64) -> Option<i64> {
    let days = days_left(not_after, now);
    (days <= EXPIRY_WARNING_DAYS).then_some(days)
}

/// Whole days from `now` until `not_after`, counting a started day (19.5 days
/// left is 20); negative once it has passed.
pub fn days_left(not_after: i64, now: i64) -> i64 {
    let left = not_after - now;
    if left > 0 {
        (left + 86_399) / 86_400
    } else {
        left.div_euclid(86_400)
    }
}

/// How long before a certificate expires its holder is warned, days.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// The serial number of a certificate, as hex.
pub fn serial_hex(der: &[u8]) -> Result<String, ProtoError> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| bad(format!("cannot parse certificate: {e}")))?;
    Ok(hex(&trim_serial(cert.raw_serial())))
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
