//! The node's keys, generated on the node and never sent anywhere.
//!
//! - `identity/node.key`: ed25519, PKCS#8 PEM, mode 0600. Signs envelopes and is
//!   the TLS client key.
//! - `identity/age.key`: the age X25519 identity in the standard identity-file
//!   format (as `age-keygen` writes it), mode 0600.
//!
//! Protected with a passphrase (`lianxi key protect`), `age.key` is that identity
//! file encrypted with the standard age passphrase (scrypt) recipient, and
//! `node.key` is encrypted to the node's own age recipient: one passphrase, one
//! scrypt run to unlock, and both open with the `age` tool
//! (`age -d age.key`, then `age -d -i age.key node.key`). Each file is recognised
//! by its content, so every state a crash between the two writes can leave is
//! still loadable.

use std::str::FromStr;

use std::path::Path;

use age::secrecy::{ExposeSecret, SecretString};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use lianxi_certs::files::{read_secret, write_new_secret};
use lianxi_certs::passphrase;
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
        let identity = Identity { signing, age };
        let pem = identity.signing_pem()?;
        let age_file = identity.age_file();
        write_new_secret(&home.signing_key_path(), pem.as_bytes())?;
        write_new_secret(&home.age_identity_path(), age_file.as_bytes())?;
        Ok(identity)
    }

    /// Load both keys; the passphrase is obtained through `home.unlock` only if
    /// the identity is protected.
    pub fn load(home: &Home) -> Result<Identity> {
        let age_text = read_secret(&home.age_identity_path())?;
        let age_text = if passphrase::is_encrypted(&age_text) {
            passphrase::decrypt(&age_text, home.unlock.passphrase()?)?
        } else {
            Zeroizing::new(age_text.to_vec())
        };
        let text = std::str::from_utf8(&age_text).map_err(|_| key_err("age.key is not text"))?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(lianxi_shared::AGE_SECRET_PREFIX))
            .ok_or_else(|| key_err("age.key holds no age secret key line"))?;
        let age =
            age::x25519::Identity::from_str(line).map_err(|e| key_err(format!("age.key: {e}")))?;
        let pem = read_secret(&home.signing_key_path())?;
        let pem = Zeroizing::new(if passphrase::is_encrypted(&pem) {
            age::decrypt(&age, &pem).map_err(|e| key_err(format!("node.key: {e}")))?
        } else {
            pem
        });
        let pem = std::str::from_utf8(&pem).map_err(|_| key_err("node.key is not PEM"))?;
        let signing =
            SigningKey::from_pkcs8_pem(pem).map_err(|e| key_err(format!("node.key: {e}")))?;
        Ok(Identity { signing, age })
    }

    /// Whether the identity files are passphrase-protected.
    pub fn is_protected(home: &Home) -> Result<bool> {
        Ok(passphrase::is_encrypted(&read_secret(
            &home.age_identity_path(),
        )?))
    }

    /// Protect both key files with `pass` (or change the passphrase).
    pub fn protect(&self, home: &Home, pass: SecretString) -> Result<()> {
        let sealed_age = passphrase::encrypt(self.age_file().as_bytes(), pass, None)?;
        let pem = self.signing_pem()?;
        let sealed_pem = age::encrypt_and_armor(&self.age.to_public(), pem.as_bytes())
            .map_err(|e| key_err(format!("cannot encrypt node.key: {e}")))?;
        // node.key first: encrypted to the age identity, it loads with either age.key.
        replace_secret(&home.signing_key_path(), sealed_pem.as_bytes())?;
        replace_secret(&home.age_identity_path(), sealed_age.as_bytes())
    }

    /// Remove the passphrase protection (both files back to plain 0600 files).
    pub fn unprotect(&self, home: &Home) -> Result<()> {
        // age.key first: a plain age.key still opens an encrypted node.key.
        replace_secret(&home.age_identity_path(), self.age_file().as_bytes())?;
        replace_secret(&home.signing_key_path(), self.signing_pem()?.as_bytes())
    }

    /// PKCS#8 v1, the form OpenSSL 3.0 and Python's cryptography read.
    fn signing_pem(&self) -> Result<Zeroizing<String>> {
        lianxi_certs::keys::pkcs8_v1_pem(&self.signing)
    }

    /// The standard age identity file text.
    fn age_file(&self) -> Zeroizing<String> {
        let created = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Zeroizing::new(format!(
            "# created: {created}\n# public key: {}\n{}\n",
            self.age.to_public(),
            self.age.to_string().expose_secret()
        ))
    }

    /// The TLS client key (PKCS#8 DER).
    pub fn tls_key(&self) -> Result<rustls_pki_types::PrivateKeyDer<'static>> {
        // In memory only; rustls's providers want v2 (with the public key).
        let doc = self
            .signing
            .to_pkcs8_der()
            .map_err(|e| key_err(format!("{e}")))?;
        Ok(rustls_pki_types::PrivateKeyDer::Pkcs8(
            doc.as_bytes().to_vec().into(),
        ))
    }
}

/// Where the passphrase of a protected identity comes from.
#[derive(Clone, Debug, Default)]
pub enum Unlock {
    /// `LIANXI_PASSPHRASE`, else the file named by `LIANXI_PASSPHRASE_FILE`,
    /// else `passphrase_required`. Never prompts.
    #[default]
    Environment,
    /// The first line of this file.
    File(std::path::PathBuf),
    /// The environment, else ask on the terminal (if there is one).
    Prompt,
}

impl Unlock {
    pub fn passphrase(&self) -> Result<SecretString> {
        passphrase::Source {
            var: PASSPHRASE_ENV,
            file_var: PASSPHRASE_FILE_ENV,
            file: match self {
                Unlock::File(p) => Some(p.clone()),
                _ => None,
            },
            prompt: matches!(self, Unlock::Prompt),
            what: "the identity",
        }
        .get()
    }
}

fn replace_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    lianxi_certs::files::write_atomic(path, bytes, true)
}

/// Environment variable holding the passphrase (for scripts).
pub const PASSPHRASE_ENV: &str = "LIANXI_PASSPHRASE";
/// Environment variable naming a file whose first line is the passphrase.
pub const PASSPHRASE_FILE_ENV: &str = "LIANXI_PASSPHRASE_FILE";
