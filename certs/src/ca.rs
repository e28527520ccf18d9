//! The certificate authority: key, certificate and the records of what it issued.
//!
//! Layout of a CA directory:
//! - `ca.key`  the CA's ed25519 key, PKCS#8 PEM encrypted under the operator's
//!   passphrase (armored age, scrypt; `age -d ca.key` opens it), mode 0600;
//! - `ca.crt`  the CA certificate (the hub and every node trust it);
//! - `records.json` every certificate issued, with revocations and the CRL number;
//! - `policy.toml` which tiers and roles it certifies ([`crate::policy`]).

use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::DecodePrivateKey;
use lianxi_shared::{ErrorCode, NodeId, ProtoError, Role, Tier};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, RevokedCertParams, SanType,
    SerialNumber,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use age::secrecy::SecretString;
use zeroize::Zeroizing;

use crate::files::{read_secret, write_atomic, write_new_secret};
use crate::passphrase;
use crate::policy::{DecidedBy, Policy};
use crate::request::{NodeIdentity, node_params, parse_request};
use crate::verify::hex;

/// What the CA operator decides when signing, over what the request asks for.
#[derive(Clone, Debug, Default)]
pub struct SignPolicy {
    /// The tier to certify (the request's when `None`).
    pub tier: Option<Tier>,
    /// The roles to certify (the request's when `None`).
    pub roles: Option<Vec<Role>>,
    /// Revoke the node's live certificates and issue this one; without it a
    /// second live certificate for a node id is refused (`already_issued`).
    pub replace: bool,
    /// Renew: the node keeps its live certificate until it expires, and the
    /// new one certifies what the live one does (tier and roles), for the
    /// keys in the request, unless `tier`/`roles` say otherwise.
    pub renew: bool,
}

/// How the CA key is kept at rest.
pub enum KeyLock {
    /// Encrypted under the operator's passphrase (age scrypt); `work_factor`
    /// as in [`passphrase::encrypt`] (age's default when `None`).
    Passphrase {
        pass: SecretString,
        work_factor: Option<u8>,
    },
    /// Plain PKCS#8 (still 0600): only for throwaway local networks (the
    /// embedded demo, the benchmarks), never a federation's CA.
    Plain,
}

/// What signing a request would do: the identity as it would be certified,
/// what the request asked for, who decided, and the node's live certificates.
#[derive(Clone, Debug)]
pub struct Preview {
    pub identity: NodeIdentity,
    pub requested: NodeIdentity,
    pub decided_by: DecidedBy,
    pub live: Vec<IssuedRecord>,
}

/// A signed certificate and the serials it replaced (revoked).
#[derive(Clone, Debug)]
pub struct Signed {
    pub pem: String,
    pub identity: NodeIdentity,
    pub replaced: Vec<String>,
}

/// One issued certificate, as the CA records it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct IssuedRecord {
    pub serial: String,
    pub kind: String,
    pub node_id: Option<NodeId>,
    pub name: String,
    pub org: String,
    pub tier: Option<String>,
    pub roles: Vec<Role>,
    pub issued_at: i64,
    pub not_after: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Records {
    crl_number: u64,
    issued: Vec<IssuedRecord>,
}

/// How long a certificate is valid, in seconds since the epoch.
#[derive(Clone, Copy, Debug)]
pub struct Validity {
    pub not_before: i64,
    pub not_after: i64,
}

impl Validity {
    pub fn days_from(now: i64, days: i64) -> Self {
        Validity {
            not_before: now - 300,
            not_after: now + days * 86_400,
        }
    }
}

pub struct Ca {
    dir: PathBuf,
    key: KeyPair,
    cert_pem: String,
}

fn err(code: ErrorCode) -> impl Fn(rcgen::Error) -> ProtoError {
    move |e| ProtoError::new(code, format!("{e}"))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ProtoError + '_ {
    move |e| ProtoError::new(ErrorCode::Io, format!("{}: {e}", path.display()))
}

fn ts(secs: i64) -> Result<OffsetDateTime, ProtoError> {
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|e| ProtoError::new(ErrorCode::BadRequest, format!("{e}")))
}

fn random_serial() -> Vec<u8> {
    let mut s = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut s);
    s[0] = (s[0] & 0x7f) | 0x40;
    s.to_vec()
}

impl Ca {
    pub fn cert_path(dir: &Path) -> PathBuf {
        dir.join("ca.crt")
    }

    /// Create a new CA in `dir` with the default signing policy. Refuses to
    /// overwrite an existing CA key.
    pub fn init(dir: &Path, name: &str, now: i64, lock: KeyLock) -> Result<Ca, ProtoError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).map_err(err(ErrorCode::Internal))?;
        let mut p =
            CertificateParams::new(Vec::<String>::new()).map_err(err(ErrorCode::Internal))?;
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, name);
        p.distinguished_name
            .push(DnType::OrganizationName, "Lianxi federation CA");
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        p.not_before = ts(now - 300)?;
        p.not_after = ts(now + 20 * 365 * 86_400)?;
        p.serial_number = Some(SerialNumber::from_slice(&random_serial()));
        let cert = p.self_signed(&key).map_err(err(ErrorCode::Internal))?;
        let pem = crate::keys::rcgen_pem_v1(&key)?;
        let stored = match lock {
            KeyLock::Passphrase { pass, work_factor } => {
                Zeroizing::new(passphrase::encrypt(pem.as_bytes(), pass, work_factor)?)
            }
            KeyLock::Plain => pem,
        };
        write_new_secret(&dir.join("ca.key"), stored.as_bytes())?;
        write_atomic(&Self::cert_path(dir), cert.pem().as_bytes(), false)?;
        let policy = dir.join(crate::policy::FILE);
        if !policy.exists() {
            write_atomic(&policy, crate::policy::DEFAULT.as_bytes(), false)?;
        }
        let ca = Ca {
            dir: dir.to_owned(),
            key,
            cert_pem: cert.pem(),
        };
        ca.save(&Records::default())?;
        Ok(ca)
    }

    /// Open the CA in `dir`; `unlock` gives the passphrase if the key is
    /// encrypted (and is not called otherwise).
    pub fn open(
        dir: &Path,
        unlock: impl FnOnce() -> Result<SecretString, ProtoError>,
    ) -> Result<Ca, ProtoError> {
        let stored = read_secret(&dir.join("ca.key"))?;
        let key_pem = if passphrase::is_encrypted(&stored) {
            passphrase::decrypt(&stored, unlock()?)?
        } else {
            Zeroizing::new(stored.to_vec())
        };
        let key_pem = std::str::from_utf8(&key_pem)
            .map_err(|_| ProtoError::new(ErrorCode::KeyFile, "ca.key is not PEM"))?;
        // Through ed25519-dalek, which reads PKCS#8 v1 and v2 alike.
        let sk = ed25519_dalek::SigningKey::from_pkcs8_pem(key_pem)
            .map_err(|e| ProtoError::new(ErrorCode::KeyFile, format!("ca.key: {e}")))?;
        let key = crate::request::rcgen_key(&sk)?;
        let cert_path = Self::cert_path(dir);
        let cert_pem = std::fs::read_to_string(&cert_path).map_err(io(&cert_path))?;
        Ok(Ca {
            dir: dir.to_owned(),
            key,
            cert_pem,
        })
    }

    pub fn cert_der(&self) -> Result<Vec<u8>, ProtoError> {
        crate::pem_or_der(self.cert_pem.as_bytes(), "CERTIFICATE")
    }

    fn issuer(&self) -> Result<Issuer<'_, &KeyPair>, ProtoError> {
        Issuer::from_ca_cert_pem(&self.cert_pem, &self.key).map_err(err(ErrorCode::Internal))
    }

    fn records(&self) -> Result<Records, ProtoError> {
        let p = self.dir.join("records.json");
        let s = std::fs::read(&p).map_err(io(&p))?;
        serde_json::from_slice(&s)
            .map_err(|e| ProtoError::new(ErrorCode::Io, format!("{}: {e}", p.display())))
    }

    fn save(&self, r: &Records) -> Result<(), ProtoError> {
        let s = serde_json::to_vec_pretty(r)
            .map_err(|e| ProtoError::new(ErrorCode::Internal, e.to_string()))?;
        write_atomic(&self.dir.join("records.json"), &s, false)
    }

    /// Sign an enrollment request. `roles` narrows the requested roles (it may not
    /// add one). Returns the certificate PEM and the identity it binds.
    /// What signing `request` under `policy` would certify, without signing.
    pub fn preview(
        &self,
        request: &[u8],
        policy: &SignPolicy,
        now: i64,
    ) -> Result<Preview, ProtoError> {
        let req = parse_request(request)?;
        let requested = req.identity;
        let mut identity = requested.clone();
        let live: Vec<IssuedRecord> = self
            .records()?
            .issued
            .into_iter()
            .filter(|x| {
                x.node_id.as_ref() == Some(&identity.node_id)
                    && x.revoked_at.is_none()
                    && x.not_after > now
            })
            .collect();
        if policy.renew && policy.replace {
            return Err(ProtoError::new(
                ErrorCode::BadRequest,
                "--renew keeps the live certificate until it expires, --replace revokes it: choose one",
            ));
        }
        let renewed = live.iter().max_by_key(|r| r.not_after);
        if policy.renew && renewed.is_none() {
            return Err(ProtoError::new(
                ErrorCode::NotFound,
                format!(
                    "{} has no live certificate to renew (expired or revoked): sign without --renew",
                    identity.node_id
                ),
            ));
        }
        let decided_by = if let Some(r) =
            renewed.filter(|_| policy.renew && policy.tier.is_none() && policy.roles.is_none())
        {
            if let Some(t) = r.tier.as_deref() {
                identity.attrs.tier = t.parse()?;
            }
            identity.attrs.roles = r.roles.clone();
            DecidedBy::Renewal
        } else if policy.tier.is_some() || policy.roles.is_some() {
            if let Some(tier) = policy.tier {
                identity.attrs.tier = tier;
            }
            if let Some(roles) = &policy.roles {
                if roles.is_empty() {
                    return Err(ProtoError::new(
                        ErrorCode::BadRequest,
                        "a node needs at least one role",
                    ));
                }
                identity.attrs.roles = roles.clone();
            }
            DecidedBy::Operator
        } else {
            let (tier, roles, by) = Policy::load(&self.dir)?.decide(
                &identity.node_id,
                requested.attrs.tier,
                &requested.attrs.roles,
            )?;
            identity.attrs.tier = tier;
            identity.attrs.roles = roles;
            by
        };
        Ok(Preview {
            identity,
            requested,
            decided_by,
            live,
        })
    }

    /// Sign a node's request under `policy`. A node id that already has a live
    /// certificate is refused unless `policy.replace`, which revokes it (then
    /// publish a new CRL).
    pub fn sign(
        &self,
        request: &[u8],
        policy: &SignPolicy,
        validity: Validity,
        now: i64,
    ) -> Result<Signed, ProtoError> {
        let preview = self.preview(request, policy, now)?;
        if !preview.live.is_empty() && !policy.replace && !policy.renew {
            let serials: Vec<&str> = preview.live.iter().map(|r| r.serial.as_str()).collect();
            return Err(ProtoError::new(
                ErrorCode::AlreadyIssued,
                format!(
                    "{} already has a live certificate (serial {}); sign with --renew to issue the next one (the live one stays valid until it expires) or --replace to revoke it",
                    preview.identity.node_id,
                    serials.join(", ")
                ),
            ));
        }
        let req = parse_request(request)?;
        let identity = preview.identity;
        let mut p = node_params(&identity)?;
        let serial = random_serial();
        p.serial_number = Some(SerialNumber::from_slice(&serial));
        p.not_before = ts(validity.not_before)?;
        p.not_after = ts(validity.not_after)?;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.use_authority_key_identifier_extension = true;
        let spki =
            rcgen::SubjectPublicKeyInfo::from_der(&req.spki_der).map_err(err(ErrorCode::BadCsr))?;
        let cert = p
            .signed_by(&spki, &self.issuer()?)
            .map_err(err(ErrorCode::Internal))?;
        let mut r = self.records()?;
        let mut replaced = Vec::new();
        for rec in r.issued.iter_mut().filter(|x| {
            policy.replace
                && x.node_id.as_ref() == Some(&identity.node_id)
                && x.revoked_at.is_none()
        }) {
            rec.revoked_at = Some(now);
            replaced.push(rec.serial.clone());
        }
        r.issued.push(IssuedRecord {
            serial: hex(&serial),
            kind: "node".into(),
            node_id: Some(identity.node_id.clone()),
            name: identity.name.clone(),
            org: identity.org.clone(),
            tier: Some(identity.attrs.tier.to_string()),
            roles: identity.attrs.roles.clone(),
            issued_at: now,
            not_after: validity.not_after,
            revoked_at: None,
        });
        self.save(&r)?;
        Ok(Signed {
            pem: cert.pem(),
            identity,
            replaced,
        })
    }

    /// Issue the hub's server certificate for DNS names and IP addresses.
    /// Writes `out/hub.crt` and `out/hub.key` (0600).
    pub fn issue_hub(
        &self,
        hosts: &[String],
        out: &Path,
        validity: Validity,
        now: i64,
    ) -> Result<(), ProtoError> {
        if hosts.is_empty() {
            return Err(ProtoError::new(
                ErrorCode::BadRequest,
                "give at least one --host",
            ));
        }
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).map_err(err(ErrorCode::Internal))?;
        let mut p =
            CertificateParams::new(Vec::<String>::new()).map_err(err(ErrorCode::Internal))?;
        for h in hosts {
            p.subject_alt_names
                .push(match h.parse::<std::net::IpAddr>() {
                    Ok(ip) => SanType::IpAddress(ip),
                    Err(_) => {
                        SanType::DnsName(h.clone().try_into().map_err(err(ErrorCode::BadRequest))?)
                    }
                });
        }
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(DnType::CommonName, hosts[0].as_str());
        p.distinguished_name
            .push(DnType::OrganizationName, "Lianxi hub");
        let serial = random_serial();
        p.serial_number = Some(SerialNumber::from_slice(&serial));
        p.not_before = ts(validity.not_before)?;
        p.not_after = ts(validity.not_after)?;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.use_authority_key_identifier_extension = true;
        let cert = p
            .signed_by(&key, &self.issuer()?)
            .map_err(err(ErrorCode::Internal))?;
        let key_pem = crate::keys::rcgen_pem_v1(&key)?;
        write_atomic(&out.join("hub.key"), key_pem.as_bytes(), true)?;
        write_atomic(&out.join("hub.crt"), cert.pem().as_bytes(), false)?;
        let mut r = self.records()?;
        r.issued.push(IssuedRecord {
            serial: hex(&serial),
            kind: "hub".into(),
            node_id: None,
            name: hosts.join(","),
            org: "Lianxi hub".into(),
            tier: None,
            roles: vec![],
            issued_at: now,
            not_after: validity.not_after,
            revoked_at: None,
        });
        self.save(&r)
    }

    /// Revoke every certificate issued to `node`. Returns the serials revoked.
    pub fn revoke(&self, node: &NodeId, now: i64) -> Result<Vec<String>, ProtoError> {
        let mut r = self.records()?;
        let mut done = Vec::new();
        for rec in r
            .issued
            .iter_mut()
            .filter(|x| x.node_id.as_ref() == Some(node) && x.revoked_at.is_none())
        {
            rec.revoked_at = Some(now);
            done.push(rec.serial.clone());
        }
        if done.is_empty() {
            return Err(ProtoError::new(
                ErrorCode::NotFound,
                format!("no unrevoked certificate for {node}"),
            ));
        }
        self.save(&r)?;
        Ok(done)
    }

    /// Revoke the one certificate with this serial (of any kind: a hub's too).
    pub fn revoke_serial(&self, serial: &str, now: i64) -> Result<Vec<String>, ProtoError> {
        let mut r = self.records()?;
        let Some(rec) = r
            .issued
            .iter_mut()
            .find(|x| x.serial.eq_ignore_ascii_case(serial.trim()) && x.revoked_at.is_none())
        else {
            return Err(ProtoError::new(
                ErrorCode::NotFound,
                format!(
                    "no unrevoked certificate with serial {}",
                    lianxi_shared::text::escape_line(serial)
                ),
            ));
        };
        rec.revoked_at = Some(now);
        let done = vec![rec.serial.clone()];
        self.save(&r)?;
        Ok(done)
    }

    /// A CRL listing every revoked certificate, valid for `days`.
    pub fn crl(&self, now: i64, days: i64) -> Result<String, ProtoError> {
        let mut r = self.records()?;
        r.crl_number += 1;
        let mut revoked = Vec::new();
        for rec in r.issued.iter().filter(|x| x.revoked_at.is_some()) {
            let serial = (0..rec.serial.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(rec.serial.get(i..i + 2)?, 16).ok())
                .collect::<Vec<u8>>();
            revoked.push(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&serial),
                revocation_time: ts(rec.revoked_at.unwrap_or(now))?,
                reason_code: None,
                invalidity_date: None,
            });
        }
        let params = CertificateRevocationListParams {
            this_update: ts(now - 60)?,
            next_update: ts(now + days * 86_400)?,
            crl_number: SerialNumber::from_slice(&r.crl_number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs: revoked,
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        let crl = params
            .signed_by(&self.issuer()?)
            .map_err(err(ErrorCode::Internal))?;
        self.save(&r)?;
        crl.pem().map_err(err(ErrorCode::Internal))
    }

    pub fn list(&self) -> Result<Vec<IssuedRecord>, ProtoError> {
        Ok(self.records()?.issued)
    }
}

/// The live certificates among `list` that end within 30 days of `now` and
/// were not renewed yet (no later live certificate for the same node, or hub
/// name), with the days left: what the CA operator must act on.
pub fn expiring(list: &[IssuedRecord], now: i64) -> Vec<(&IssuedRecord, i64)> {
    let live = |r: &&IssuedRecord| r.revoked_at.is_none() && r.not_after > now;
    let same = |a: &IssuedRecord, b: &IssuedRecord| {
        a.kind == b.kind && a.node_id == b.node_id && (a.node_id.is_some() || a.name == b.name)
    };
    list.iter()
        .filter(live)
        .filter(|r| {
            !list
                .iter()
                .filter(live)
                .any(|o| same(o, r) && o.not_after > r.not_after)
        })
        .filter_map(|r| crate::verify::expires_soon(r.not_after, now).map(|d| (r, d)))
        .collect()
}
