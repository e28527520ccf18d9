//! Private key files in the form every tool reads: PKCS#8 v1 (RFC 5208
//! `PrivateKeyInfo`, no embedded public key). ed25519-dalek and rcgen write
//! v2 (`OneAsymmetricKey`, RFC 5958), which OpenSSL 3.0 and Python's
//! cryptography refuse for ed25519; reading accepts both, so key files written
//! before stay usable.

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, KeypairBytes};
use lianxi_shared::{ErrorCode, ProtoError};
use zeroize::Zeroizing;

fn key_err(e: impl std::fmt::Display) -> ProtoError {
    ProtoError::new(ErrorCode::KeyFile, format!("cannot encode key: {e}"))
}

fn v1(sk: &SigningKey) -> KeypairBytes {
    KeypairBytes {
        secret_key: sk.to_bytes(),
        public_key: None,
    }
}

/// The key as PKCS#8 v1 DER.
pub fn pkcs8_v1_der(sk: &SigningKey) -> Result<Zeroizing<Vec<u8>>, ProtoError> {
    let doc = v1(sk).to_pkcs8_der().map_err(key_err)?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

/// The key as PKCS#8 v1 PEM (`PRIVATE KEY`).
pub fn pkcs8_v1_pem(sk: &SigningKey) -> Result<Zeroizing<String>, ProtoError> {
    v1(sk).to_pkcs8_pem(LineEnding::LF).map_err(key_err)
}

/// Whether an ed25519 PKCS#8 key (v1 or v2, DER) is the key `cert_der` binds:
/// a certificate and key replaced one after the other are a pair only once
/// both files are new.
pub fn key_matches_cert(key_der: &[u8], cert_der: &[u8]) -> bool {
    let Ok(sk) = SigningKey::from_pkcs8_der(key_der) else {
        return false;
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert_der) else {
        return false;
    };
    cert.public_key().subject_public_key.data.as_ref() == sk.verifying_key().as_bytes()
}

/// A key rcgen generated, as PKCS#8 v1 PEM.
pub fn rcgen_pem_v1(kp: &rcgen::KeyPair) -> Result<Zeroizing<String>, ProtoError> {
    let der = Zeroizing::new(kp.serialize_der());
    let sk = SigningKey::from_pkcs8_der(&der).map_err(key_err)?;
    pkcs8_v1_pem(&sk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_has_no_public_key_and_reads_back() {
        let sk = SigningKey::from_bytes(&[7; 32]);
        let der = pkcs8_v1_der(&sk).unwrap();
        // PrivateKeyInfo: SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING }: 48 bytes.
        assert_eq!(der.len(), 48);
        assert_eq!(&der[2..5], &[0x02, 0x01, 0x00], "version 0 (v1)");
        let back = SigningKey::from_pkcs8_der(&der).unwrap();
        assert_eq!(back.to_bytes(), sk.to_bytes());
        let pem = pkcs8_v1_pem(&sk).unwrap();
        assert_eq!(
            SigningKey::from_pkcs8_pem(&pem).unwrap().to_bytes(),
            sk.to_bytes()
        );
        // v2, as written before, still reads.
        let v2 = sk.to_pkcs8_der().unwrap();
        assert_eq!(
            SigningKey::from_pkcs8_der(v2.as_bytes())
                .unwrap()
                .to_bytes(),
            sk.to_bytes()
        );
    }
}
