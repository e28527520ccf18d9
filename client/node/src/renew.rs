//! Certificate renewal, on the node: a new request for the same node id
//! (`lianxi renew`, optionally with a new age key), then installing what
//! `lianxi-ca sign --renew` returns (`lianxi renew --cert FILE`).
//!
//! The signing key stays: envelopes in flight and forwarded originals are
//! verified against it by every other node. A rotated age key is retired,
//! not dropped ([`Identity::rotate_age`]), so what was encrypted to it (the
//! archive's wraps, forwarded originals, case grants) keeps opening. A key
//! that leaked is not a renewal: revoke it and enrol again (`--replace`).

use std::path::PathBuf;

use lianxi_certs::request::{NodeIdentity, build_request};
use lianxi_certs::{NodeAttributes, pem_or_der, verify_node_cert};
use lianxi_shared::{ErrorCode, NodeInfo, ProtoError};

use crate::home::Home;
use crate::identity::Identity;
use crate::{Result, now_ms};

/// A renewal request written for the CA.
#[derive(Clone, Debug)]
pub struct Request {
    pub pem: String,
    pub path: PathBuf,
    /// The request carries a new age key (installed with the certificate).
    pub new_age_key: bool,
    /// The installed certificate's end, seconds.
    pub not_after: i64,
}

/// What installing a renewed certificate did.
#[derive(Clone, Debug)]
pub struct Installed {
    pub info: NodeInfo,
    /// The age key changed; the earlier one is kept as retired.
    pub rotated: bool,
    pub previous_not_after: i64,
}

/// The installed certificate, parsed.
pub fn current(home: &Home) -> Result<NodeInfo> {
    let bytes = std::fs::read(home.cert_path())
        .map_err(|e| crate::io_err(home.cert_path().display(), e))?;
    lianxi_certs::parse_node_cert(&pem_or_der(&bytes, "CERTIFICATE")?)
}

/// Days until the installed certificate ends, when that is within 30 days
/// (negative: ended), for the warnings in `whoami`, `sync` and the UI.
pub fn expiry_warning(info: &NodeInfo, now_secs: i64) -> Option<i64> {
    lianxi_certs::verify::expires_soon(info.not_after, now_secs)
}

/// Write a renewal request for this node's certified identity (what its
/// certificate says, not node.toml), with the current keys or a new age key.
pub fn request(home: &Home, new_age_key: bool) -> Result<Request> {
    let cert = current(home)?;
    let identity = Identity::load(home)?;
    let age = if new_age_key {
        identity.next_age(home)?
    } else {
        identity.age.clone()
    };
    let pem = build_request(
        &identity.signing,
        &NodeIdentity {
            node_id: cert.node_id.clone(),
            name: cert.name.clone(),
            org: cert.org.clone(),
            attrs: NodeAttributes {
                tier: cert.tier,
                roles: cert.roles.clone(),
                age_recipient: age.to_public().to_string(),
            },
        },
    )?;
    let path = home.dir.join("renewal.csr");
    lianxi_certs::files::write_atomic(&path, pem.as_bytes(), false)?;
    Ok(Request {
        pem,
        path,
        new_age_key,
        not_after: cert.not_after,
    })
}

/// Install a renewed certificate: signed by this node's CA, for this node id
/// and signing key, for the current age key or the pending new one, and
/// ending later than the installed one.
pub fn install(home: &Home, cert: &[u8]) -> Result<Installed> {
    let bad = |m: String| ProtoError::new(ErrorCode::BadCertificate, m);
    let previous = current(home)?;
    let ca_bytes =
        std::fs::read(home.ca_path()).map_err(|e| crate::io_err(home.ca_path().display(), e))?;
    let cert_der = pem_or_der(cert, "CERTIFICATE")?;
    let info = verify_node_cert(
        &cert_der,
        &pem_or_der(&ca_bytes, "CERTIFICATE")?,
        None,
        now_ms() / 1000,
    )?;
    if info.node_id != previous.node_id {
        return Err(bad(format!(
            "the certificate is for {}, not {}",
            info.node_id, previous.node_id
        )));
    }
    let identity = Identity::load(home)?;
    if info.signing_key != identity.signing.verifying_key().to_bytes() {
        return Err(bad(
            "the certificate is for another signing key than this node's".into(),
        ));
    }
    if info.not_after <= previous.not_after {
        return Err(bad(format!(
            "the certificate ends no later than the installed one ({} ≤ {})",
            info.not_after, previous.not_after
        )));
    }
    let pending = Identity::pending_age(home)?;
    let rotated = if info.age_recipient == identity.age.to_public().to_string() {
        false
    } else if let Some(next) = pending.filter(|n| n.to_public().to_string() == info.age_recipient) {
        identity.rotate_age(home, next)?;
        true
    } else {
        return Err(bad(
            "the certificate is for an age key this node does not hold (request it with `lianxi renew`)"
                .into(),
        ));
    };
    lianxi_certs::files::write_atomic(
        &home.cert_path(),
        lianxi_certs::to_pem("CERTIFICATE", &cert_der).as_bytes(),
        false,
    )?;
    // The certificate is the truth: the CA may have changed the roles.
    let mut cfg = home.load_config()?;
    cfg.roles = info.roles.clone();
    cfg.tier = info.tier;
    home.save_config(&cfg)?;
    Ok(Installed {
        info,
        rotated,
        previous_not_after: previous.not_after,
    })
}
