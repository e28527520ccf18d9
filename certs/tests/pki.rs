//! Issue, verify, revoke; a certificate from another CA is refused; openssl
//! accepts the request and parses the certificate.

#![allow(clippy::unwrap_used)]

use ed25519_dalek::SigningKey;
use lianxi_certs::ca::{Ca, KeyLock, SignPolicy, Validity};
use lianxi_certs::request::{NodeIdentity, build_request, parse_request};
use lianxi_certs::{Crl, NodeAttributes, pem_or_der, unix_now, verify_node_cert};
use lianxi_shared::{ErrorCode, NodeId, ProtoError, Role, Tier};

fn identity(id: &str) -> (SigningKey, NodeIdentity) {
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
    let sk = SigningKey::from_bytes(&seed);
    let id = NodeIdentity {
        node_id: NodeId::new(id).unwrap(),
        name: "广东省中小企业协会".into(),
        org: "广东省中小企业协会秘书处".into(),
        attrs: NodeAttributes {
            tier: Tier::Provincial,
            roles: vec![Role::Secretary, Role::LegalAid],
            age_recipient: age::x25519::Identity::generate().to_public().to_string(),
        },
    };
    (sk, id)
}

#[test]
fn issue_verify_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let now = unix_now();
    let ca = Ca::init(dir.path(), "联席测试 CA", now, KeyLock::Plain).unwrap();
    let ca_der = ca.cert_der().unwrap();
    let (sk, id) = identity("gd-sme");
    let csr = build_request(&sk, &id).unwrap();
    let parsed = parse_request(csr.as_bytes()).unwrap();
    assert_eq!(parsed.identity, id);
    assert_eq!(parsed.signing_key, sk.verifying_key().to_bytes());

    // The operator decides the roles (and the tier), whatever was asked.
    let policy = |roles| SignPolicy {
        roles: Some(roles),
        ..Default::default()
    };
    let s = ca
        .sign(
            csr.as_bytes(),
            &policy(vec![Role::Secretary]),
            Validity::days_from(now, 30),
            now,
        )
        .unwrap();
    let (pem, signed) = (s.pem, s.identity);
    // A second live certificate for the same node id needs `replace`.
    let e = ca
        .sign(
            csr.as_bytes(),
            &policy(vec![Role::LegalAid]),
            Validity::days_from(now, 30),
            now,
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::AlreadyIssued);
    assert_eq!(signed.attrs.roles, vec![Role::Secretary]);
    let der = pem_or_der(pem.as_bytes(), "CERTIFICATE").unwrap();
    let info = verify_node_cert(&der, &ca_der, None, now).unwrap();
    assert_eq!(info.node_id.as_str(), "gd-sme");
    assert_eq!(info.name, "广东省中小企业协会");
    assert_eq!(info.tier, Tier::Provincial);
    assert_eq!(info.roles, vec![Role::Secretary]);
    assert_eq!(info.age_recipient, id.attrs.age_recipient);
    assert_eq!(info.signing_key, sk.verifying_key().to_bytes());

    // Expiry.
    let e = verify_node_cert(&der, &ca_der, None, now + 31 * 86_400).unwrap_err();
    assert_eq!(e.code, ErrorCode::ExpiredCertificate);

    // Revocation through a CRL.
    let crl0 = Crl::parse_verified(ca.crl(now, 7).unwrap().as_bytes(), &ca_der).unwrap();
    assert!(crl0.is_empty());
    ca.revoke(&id.node_id, now).unwrap();
    assert_eq!(
        ca.revoke(&id.node_id, now).unwrap_err().code,
        ErrorCode::NotFound
    );
    let crl = Crl::parse_verified(ca.crl(now, 7).unwrap().as_bytes(), &ca_der).unwrap();
    assert_eq!(crl.len(), 1);
    assert_eq!(
        verify_node_cert(&der, &ca_der, Some(&crl), now)
            .unwrap_err()
            .code,
        ErrorCode::Revoked
    );
    let listed = ca.list().unwrap();
    assert!(listed.iter().all(|r| r.revoked_at.is_some()));
}

#[test]
fn another_ca_is_refused() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let now = unix_now();
    let ours = Ca::init(d1.path(), "ours", now, KeyLock::Plain).unwrap();
    let theirs = Ca::init(d2.path(), "ours", now, KeyLock::Plain).unwrap();
    let (sk, mut id) = identity("evil");
    id.attrs.roles.push(Role::Chair);
    let csr = build_request(&sk, &id).unwrap();
    // A provincial node asking for the chair role: the default policy refuses.
    let e = theirs
        .sign(
            csr.as_bytes(),
            &SignPolicy::default(),
            Validity::days_from(now, 30),
            now,
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PolicyRefused);
    let pem = theirs
        .sign(
            csr.as_bytes(),
            &SignPolicy {
                roles: Some(vec![Role::Secretary]),
                ..SignPolicy::default()
            },
            Validity::days_from(now, 30),
            now,
        )
        .unwrap()
        .pem;
    let der = pem_or_der(pem.as_bytes(), "CERTIFICATE").unwrap();
    let e = verify_node_cert(&der, &ours.cert_der().unwrap(), None, now).unwrap_err();
    assert_eq!(e.code, ErrorCode::UntrustedCertificate);
    // A CRL from the other CA is refused as well.
    let crl = theirs.crl(now, 7).unwrap();
    let e = Crl::parse_verified(crl.as_bytes(), &ours.cert_der().unwrap()).unwrap_err();
    assert_eq!(e.code, ErrorCode::UntrustedCertificate);
    // Refuses to overwrite a CA key.
    assert_eq!(
        Ca::init(d1.path(), "again", now, KeyLock::Plain)
            .err()
            .unwrap()
            .code,
        ErrorCode::AlreadyInitialized
    );
    // The key is 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(d1.path().join("ca.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn the_ca_key_is_encrypted_and_opens_only_with_its_passphrase() {
    use age::secrecy::SecretString;
    let dir = tempfile::tempdir().unwrap();
    let now = unix_now();
    let pass = || SecretString::from("主席团 口令".to_owned());
    Ca::init(
        dir.path(),
        "联席测试 CA",
        now,
        KeyLock::Passphrase {
            pass: pass(),
            work_factor: Some(8),
        },
    )
    .unwrap();
    let stored = std::fs::read(dir.path().join("ca.key")).unwrap();
    assert!(lianxi_certs::passphrase::is_encrypted(&stored));
    assert!(!String::from_utf8_lossy(&stored).contains("PRIVATE KEY"));
    let wrong = Ca::open(dir.path(), || Ok(SecretString::from("错".to_owned())));
    assert_eq!(wrong.err().unwrap().code, ErrorCode::BadPassphrase);
    let none = Ca::open(dir.path(), || {
        Err(ProtoError::code(ErrorCode::PassphraseRequired))
    });
    assert_eq!(none.err().unwrap().code, ErrorCode::PassphraseRequired);
    let ca = Ca::open(dir.path(), || Ok(pass())).unwrap();
    let (sk, id) = identity("gd");
    let csr = build_request(&sk, &id).unwrap();
    let signed = ca
        .sign(
            csr.as_bytes(),
            &SignPolicy::default(),
            Validity::days_from(now, 30),
            now,
        )
        .unwrap();
    assert_eq!(signed.identity.attrs.roles, id.attrs.roles);
    // The default policy was written next to the key.
    assert!(dir.path().join("policy.toml").exists());
}

#[test]
fn tampered_requests_are_refused() {
    let (sk, id) = identity("gd-sme");
    let csr = build_request(&sk, &id).unwrap();
    let mut der = pem_or_der(csr.as_bytes(), "CERTIFICATE REQUEST").unwrap();
    let n = der.len();
    der[n / 2] ^= 1;
    assert_eq!(parse_request(&der).unwrap_err().code, ErrorCode::BadCsr);
    assert_eq!(
        parse_request(b"garbage").unwrap_err().code,
        ErrorCode::BadCsr
    );
}

fn openssl(args: &[&str]) -> std::process::Output {
    std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (.ci/run installs it)")
}

#[test]
fn openssl_accepts_request_certificate_and_crl() {
    let dir = tempfile::tempdir().unwrap();
    let now = unix_now();
    let ca = Ca::init(dir.path(), "联席测试 CA", now, KeyLock::Plain).unwrap();
    let (sk, id) = identity("gd-sme");
    let csr = build_request(&sk, &id).unwrap();
    let req = dir.path().join("req.pem");
    std::fs::write(&req, &csr).unwrap();
    let out = openssl(&["req", "-in", req.to_str().unwrap(), "-verify", "-noout"]);
    assert!(
        out.status.success(),
        "openssl req -verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = ca
        .sign(
            csr.as_bytes(),
            &SignPolicy::default(),
            Validity::days_from(now, 30),
            now,
        )
        .unwrap()
        .pem;
    let crt = dir.path().join("node.crt");
    std::fs::write(&crt, &pem).unwrap();
    let out = openssl(&["x509", "-in", crt.to_str().unwrap(), "-text", "-noout"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("URI:urn:lianxi:node:gd-sme"), "{text}");
    assert!(text.contains("1.3.6.1.4.1.64879.1.1"), "{text}");
    let ca_crt = dir.path().join("ca.crt");
    let out = openssl(&[
        "verify",
        "-CAfile",
        ca_crt.to_str().unwrap(),
        crt.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "openssl verify: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let crl = dir.path().join("ca.crl");
    std::fs::write(&crl, ca.crl(now, 7).unwrap()).unwrap();
    let out = openssl(&[
        "crl",
        "-in",
        crl.to_str().unwrap(),
        "-CAfile",
        ca_crt.to_str().unwrap(),
        "-noout",
    ]);
    assert!(
        out.status.success(),
        "openssl crl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Key files in the form OpenSSL 3.0 reads (PKCS#8 v1): the CA's, the
    // hub's, and a node's.
    let node_key = dir.path().join("node.key");
    std::fs::write(
        &node_key,
        lianxi_certs::keys::pkcs8_v1_pem(&sk).unwrap().as_bytes(),
    )
    .unwrap();
    let hub_dir = dir.path().join("hub");
    std::fs::create_dir(&hub_dir).unwrap();
    ca.issue_hub(
        &["hub.test".to_owned()],
        &hub_dir,
        Validity::days_from(now, 30),
        now,
    )
    .unwrap();
    for key in [dir.path().join("ca.key"), hub_dir.join("hub.key"), node_key] {
        let out = openssl(&["pkey", "-in", key.to_str().unwrap(), "-noout"]);
        assert!(
            out.status.success(),
            "openssl pkey {}: {}",
            key.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
