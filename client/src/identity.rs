//! The node's keys, generated on the node and never sent anywhere.
//!
//! - `identity/node.key`: ed25519, PKCS#8 PEM, mode 0600. Signs envelopes and is
//!   the TLS client key.
//! - `identity/age.key`: the age X25519 identity in the standard identity-file
//!   format (as `age-keygen` writes it), mode 0600.

use std::str::FromStr;

use age::secrecy::ExposeSecret;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use lianxi_certs::files::{read_secret, write_new_secret};
use lianxi_shared::{ErrorCode, ProtoError};
use zeroize::Zeroizing;

use crate::Result;
use crate::home::Home;

pub struct Identity {
    pub signing: SigningKey,
    pub age: age::x25519::Identity,
}

fn key_err(m: impl Into<String>) -> ProtoError {
    ProtoError::new(ErrorCode::KeyFile, m)
}

impl Identity {
    /// Generate both keys and write them (0600). Refuses to overwrite.
    pub fn generate(home: &Home) -> Result<Identity> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, seed.as_mut());
        let signing = SigningKey::from_bytes(&seed);
        let age = age::x25519::Identity::generate();
        let pem = signing
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(|e| key_err(format!("cannot encode key: {e}")))?;
        let created = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let age_file = Zeroizing::new(format!(
            "# created: {created}\n# public key: {}\n{}\n",
            age.to_public(),
            age.to_string().expose_secret()
        ));
        write_new_secret(&home.signing_key_path(), pem.as_bytes())?;
        write_new_secret(&home.age_identity_path(), age_file.as_bytes())?;
        Ok(Identity { signing, age })
    }

    pub fn load(home: &Home) -> Result<Identity> {
        let pem = Zeroizing::new(read_secret(&home.signing_key_path())?);
        let pem = std::str::from_utf8(&pem).map_err(|_| key_err("node.key is not PEM"))?;
        let signing =
            SigningKey::from_pkcs8_pem(pem).map_err(|e| key_err(format!("node.key: {e}")))?;
        let text = Zeroizing::new(read_secret(&home.age_identity_path())?);
        let text = std::str::from_utf8(&text).map_err(|_| key_err("age.key is not text"))?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(lianxi_shared::AGE_SECRET_PREFIX))
            .ok_or_else(|| key_err("age.key holds no age secret key line"))?;
        let age =
            age::x25519::Identity::from_str(line).map_err(|e| key_err(format!("age.key: {e}")))?;
        Ok(Identity { signing, age })
    }

    /// The TLS client key (PKCS#8 DER).
    pub fn tls_key(&self) -> Result<rustls_pki_types::PrivateKeyDer<'static>> {
        let doc = self
            .signing
            .to_pkcs8_der()
            .map_err(|e| key_err(format!("{e}")))?;
        Ok(rustls_pki_types::PrivateKeyDer::Pkcs8(
            doc.as_bytes().to_vec().into(),
        ))
    }
}
