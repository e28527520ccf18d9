//! Enrollment requests: standard PKCS#10 CSRs carrying the node's attributes.

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use lianxi_shared::{ErrorCode, NodeId, ProtoError};
use rcgen::{CertificateParams, CustomExtension, DnType, SanType};
use x509_parser::prelude::*;

use crate::attrs::{NodeAttributes, OID_NODE_ATTRS, OID_NODE_ATTRS_STR};

/// Who a node says it is.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NodeIdentity {
    pub node_id: NodeId,
    pub name: String,
    pub org: String,
    pub attrs: NodeAttributes,
}

/// A parsed and signature-checked request.
#[derive(Clone, Debug)]
pub struct ParsedRequest {
    pub identity: NodeIdentity,
    pub spki_der: Vec<u8>,
    pub signing_key: [u8; 32],
}

/// The node's ed25519 key as an rcgen key pair (for CSRs and self-checks).
pub fn rcgen_key(sk: &SigningKey) -> Result<rcgen::KeyPair, ProtoError> {
    let doc = sk
        .to_pkcs8_der()
        .map_err(|e| ProtoError::new(ErrorCode::KeyFile, format!("cannot encode key: {e}")))?;
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(doc.as_bytes().to_vec());
    rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_ED25519)
        .map_err(|e| ProtoError::new(ErrorCode::KeyFile, format!("cannot load key: {e}")))
}

/// The certificate parameters every Lianxi node certificate (and request) uses.
pub(crate) fn node_params(id: &NodeIdentity) -> Result<CertificateParams, ProtoError> {
    check_names(&id.name, &id.org)?;
    let bad = |e: rcgen::Error| ProtoError::new(ErrorCode::BadCsr, format!("{e}"));
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(bad)?;
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(DnType::CommonName, id.name.as_str());
    p.distinguished_name
        .push(DnType::OrganizationName, id.org.as_str());
    p.subject_alt_names = vec![SanType::URI(id.node_id.to_uri().try_into().map_err(bad)?)];
    p.custom_extensions = vec![CustomExtension::from_oid_content(
        OID_NODE_ATTRS,
        id.attrs.to_der(),
    )];
    Ok(p)
}

/// Build a PEM CSR signed by the node's key.
pub fn build_request(sk: &SigningKey, id: &NodeIdentity) -> Result<String, ProtoError> {
    let kp = rcgen_key(sk)?;
    let csr = node_params(id)?
        .serialize_request(&kp)
        .map_err(|e| ProtoError::new(ErrorCode::BadCsr, format!("{e}")))?;
    csr.pem()
        .map_err(|e| ProtoError::new(ErrorCode::BadCsr, format!("{e}")))
}

pub(crate) fn name_field(
    name: &X509Name<'_>,
    oid: &x509_parser::der_parser::oid::Oid<'_>,
) -> Option<String> {
    name.iter_by_oid(oid)
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_owned)
}

/// Longest node or organisation name, bytes.
pub const MAX_NAME: usize = 256;

/// A node's name and organisation are shown on every member's screen and the
/// CA operator's: one line, no control or bidi character, bounded.
pub fn check_names(name: &str, org: &str) -> Result<(), ProtoError> {
    if name.trim().is_empty() || org.trim().is_empty() {
        return Err(ProtoError::new(
            ErrorCode::BadPayload,
            "a node needs a name and an organisation",
        ));
    }
    lianxi_shared::text::check_line("the node's name", name, MAX_NAME)?;
    lianxi_shared::text::check_line("the organisation", org, MAX_NAME)
}

/// Parse a CSR (PEM or DER), check its self-signature, and extract the identity.
pub fn parse_request(bytes: &[u8]) -> Result<ParsedRequest, ProtoError> {
    let bad = |m: String| ProtoError::new(ErrorCode::BadCsr, m);
    let der = crate::pem_or_der(bytes, "CERTIFICATE REQUEST").map_err(|e| bad(e.message))?;
    let (_, csr) =
        X509CertificationRequest::from_der(&der).map_err(|e| bad(format!("cannot parse: {e}")))?;
    csr.verify_signature()
        .map_err(|_| bad("the request's signature does not verify".into()))?;
    let info = &csr.certification_request_info;
    let name = name_field(
        &info.subject,
        &x509_parser::oid_registry::OID_X509_COMMON_NAME,
    )
    .ok_or_else(|| bad("no CN".into()))?;
    let org = name_field(
        &info.subject,
        &x509_parser::oid_registry::OID_X509_ORGANIZATION_NAME,
    )
    .ok_or_else(|| bad("no O".into()))?;
    check_names(&name, &org).map_err(|e| bad(e.message))?;
    let mut node_id = None;
    let mut attrs = None;
    for attr in info.iter_attributes() {
        if let x509_parser::cri_attributes::ParsedCriAttribute::ExtensionRequest(req) =
            attr.parsed_attribute()
        {
            for ext in &req.extensions {
                if ext.oid.to_id_string() == OID_NODE_ATTRS_STR {
                    attrs = Some(NodeAttributes::from_der(ext.value).map_err(|e| bad(e.message))?);
                } else if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension()
                {
                    for n in &san.general_names {
                        if let GeneralName::URI(u) = n {
                            node_id = Some(NodeId::from_uri(u).map_err(|e| bad(e.message))?);
                        }
                    }
                }
            }
        }
    }
    let spki = &info.subject_pki;
    if spki.algorithm.algorithm.to_id_string() != "1.3.101.112" {
        return Err(bad("the key is not ed25519".into()));
    }
    let signing_key: [u8; 32] = spki
        .subject_public_key
        .data
        .as_ref()
        .try_into()
        .map_err(|_| bad("bad ed25519 key".into()))?;
    Ok(ParsedRequest {
        identity: NodeIdentity {
            node_id: node_id.ok_or_else(|| bad("no node id (SAN URI)".into()))?,
            name,
            org,
            attrs: attrs.ok_or_else(|| bad("no Lianxi attributes extension".into()))?,
        },
        spki_der: spki.raw.to_vec(),
        signing_key,
    })
}
