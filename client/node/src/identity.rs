//! The node's keys, generated on the node and never sent anywhere.
//!
//! - `identity/node.key`: ed25519, PKCS#8 PEM, mode 0600. Signs envelopes and is
//!   the TLS client key.
//! - `identity/age.key`: the age X25519 identity in the standard identity-file
//!   format (as `age-keygen` writes it), mode 0600.
//!
//! - `identity/retired.key`: earlier age identities after a key rotation
//!   (`lianxi renew --new-keys`), newest first, one per line, in the same form
//!   as `age.key`: what was encrypted to them keeps opening.
//! - `identity/age.key.next`: the next age identity, from `renew --new-keys`
//!   until its certificate is installed.
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
use lianxi_shared::agekey::AgeKey;
use lianxi_shared::{ErrorCode, ProtoError};
use zeroize::Zeroizing;

use crate::Result;
use crate::home::Home;

pub struct Identity {
    pub signing: SigningKey,
    pub age: AgeKey,
    /// Earlier age identities, newest first.
    pub retired: Vec<AgeKey>,
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
        let age = AgeKey::generate();
        let identity = Identity {
            signing,
            age,
            retired: Vec::new(),
        };
        let pem = identity.signing_pem()?;
        let age_file = identity.age_file();
        write_new_secret(&home.signing_key_path(), pem.as_bytes())?;
        write_new_secret(&home.age_identity_path(), age_file.as_bytes())?;
        Ok(identity)
    }

    /// Load both keys; the passphrase is obtained through `home.unlock` only if
    /// the identity is protected.
    pub fn load(home: &Home) -> Result<Identity> {
        let age = read_age_file(home, &home.age_identity_path())?
            .and_then(|mut v| (!v.is_empty()).then(|| v.remove(0)))
            .ok_or_else(|| key_err("age.key holds no age secret key line"))?;
        let retired = read_age_file(home, &home.retired_keys_path())?.unwrap_or_default();
        let pem = read_secret(&home.signing_key_path())?;
        let pem = Zeroizing::new(if passphrase::is_encrypted(&pem) {
            // Sealed to the current age identity; during a rotation's last
            // step still to the one before, which is retired by then.
            std::iter::once(&age)
                .chain(&retired)
                .find_map(|id| age::decrypt(id, &pem).ok())
                .ok_or_else(|| key_err("node.key: no identity of this node opens it"))?
        } else {
            pem
        });
        let pem = std::str::from_utf8(&pem).map_err(|_| key_err("node.key is not PEM"))?;
        let signing =
            SigningKey::from_pkcs8_pem(pem).map_err(|e| key_err(format!("node.key: {e}")))?;
        Ok(Identity {
            signing,
            age,
            retired,
        })
    }

    /// Every age identity of this node, current first.
    pub fn age_keys(&self) -> impl Iterator<Item = &AgeKey> {
        std::iter::once(&self.age).chain(&self.retired)
    }

    /// Open a message key wrapped to this node, by its current or an earlier key.
    pub fn unwrap_key(&self, wrap: &[u8]) -> Result<Zeroizing<String>> {
        first_that_opens(self, |id| lianxi_shared::envelope::unwrap_key(wrap, id))
    }

    /// The next age identity (`renew --new-keys`): the pending one if a
    /// rotation was begun, else a new one, written in the same form as age.key.
    pub fn next_age(&self, home: &Home) -> Result<AgeKey> {
        if let Some(next) = read_age_file(home, &home.next_age_path())?.and_then(|mut v| v.pop()) {
            return Ok(next);
        }
        let next = AgeKey::generate();
        let text = age_file(&[&next]);
        let bytes = seal_like_age_key(home, &text)?;
        write_new_secret(&home.next_age_path(), &bytes)?;
        Ok(next)
    }

    /// The pending next age identity, if a rotation was begun.
    pub fn pending_age(home: &Home) -> Result<Option<AgeKey>> {
        Ok(read_age_file(home, &home.next_age_path())?.and_then(|mut v| v.pop()))
    }

    /// Make the pending age identity current and retire the current one.
    /// Every step leaves loadable files: retired.key first (it then holds
    /// the current key too), age.key, node.key resealed, the pending file last.
    pub fn rotate_age(self, home: &Home, next: AgeKey) -> Result<Identity> {
        let mut retired: Vec<AgeKey> = Vec::new();
        for id in self.age_keys() {
            let public = id.to_public().to_string();
            if public != next.to_public().to_string()
                && !retired.iter().any(|r| r.to_public().to_string() == public)
            {
                retired.push(id.clone());
            }
        }
        let refs: Vec<&AgeKey> = retired.iter().collect();
        let bytes = seal_like_age_key(home, &age_file(&refs))?;
        replace_secret(&home.retired_keys_path(), &bytes)?;
        let protected = Identity::is_protected(home)?;
        let bytes = seal_like_age_key(home, &age_file(&[&next]))?;
        replace_secret(&home.age_identity_path(), &bytes)?;
        let rotated = Identity {
            signing: self.signing,
            age: next,
            retired,
        };
        if protected {
            let pem = rotated.signing_pem()?;
            let sealed = age::encrypt_and_armor(&rotated.age.to_public(), pem.as_bytes())
                .map_err(|e| key_err(format!("cannot encrypt node.key: {e}")))?;
            replace_secret(&home.signing_key_path(), sealed.as_bytes())?;
        }
        match std::fs::remove_file(home.next_age_path()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(crate::io_err(home.next_age_path().display(), e)),
        }
        Ok(rotated)
    }

    /// Whether the identity files are passphrase-protected.
    pub fn is_protected(home: &Home) -> Result<bool> {
        Ok(passphrase::is_encrypted(&read_secret(
            &home.age_identity_path(),
        )?))
    }

    /// Protect both key files with `pass` (or change the passphrase).
    pub fn protect(&self, home: &Home, pass: SecretString) -> Result<()> {
        if !self.retired.is_empty() {
            let refs: Vec<&AgeKey> = self.retired.iter().collect();
            let sealed = passphrase::encrypt(age_file(&refs).as_bytes(), pass.clone(), None)?;
            replace_secret(&home.retired_keys_path(), sealed.as_bytes())?;
        }
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
        if !self.retired.is_empty() {
            let refs: Vec<&AgeKey> = self.retired.iter().collect();
            replace_secret(&home.retired_keys_path(), age_file(&refs).as_bytes())?;
        }
        replace_secret(&home.signing_key_path(), self.signing_pem()?.as_bytes())
    }

    /// PKCS#8 v1, the form OpenSSL 3.0 and Python's cryptography read.
    fn signing_pem(&self) -> Result<Zeroizing<String>> {
        lianxi_certs::keys::pkcs8_v1_pem(&self.signing)
    }

    /// The standard age identity file text.
    fn age_file(&self) -> Zeroizing<String> {
        age_file(&[&self.age])
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

/// The standard age identity file text for `ids` (one key per line).
fn age_file(ids: &[&AgeKey]) -> Zeroizing<String> {
    let created = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut text = format!("# created: {created}\n");
    for id in ids {
        text += &format!(
            "# public key: {}\n{}\n",
            id.to_public(),
            id.identity().to_string().expose_secret()
        );
    }
    Zeroizing::new(text)
}

/// Every age identity in an identity file (passphrase-sealed or plain);
/// `None` when the file does not exist.
fn read_age_file(home: &Home, path: &Path) -> Result<Option<Vec<AgeKey>>> {
    if !path.exists() {
        return Ok(None);
    }
    let raw = read_secret(path)?;
    let text = if passphrase::is_encrypted(&raw) {
        passphrase::decrypt(&raw, home.unlock.passphrase()?)?
    } else {
        Zeroizing::new(raw.to_vec())
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = std::str::from_utf8(&text).map_err(|_| key_err(format!("{name} is not text")))?;
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with(lianxi_shared::AGE_SECRET_PREFIX))
        .map(|l| AgeKey::from_str(l).map_err(|e| key_err(format!("{name}: {e}"))))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// `text` in the form age.key has now: sealed with the passphrase if the
/// identity is protected, else plain.
fn seal_like_age_key(home: &Home, text: &str) -> Result<Vec<u8>> {
    if Identity::is_protected(home)? {
        Ok(passphrase::encrypt(text.as_bytes(), home.unlock.passphrase()?, None)?.into_bytes())
    } else {
        Ok(text.as_bytes().to_vec())
    }
}

/// Try each of the node's age identities, current first, until one opens.
pub fn first_that_opens<T>(
    identity: &Identity,
    mut open: impl FnMut(&AgeKey) -> std::result::Result<T, ProtoError>,
) -> Result<T> {
    let mut last = None;
    for id in identity.age_keys() {
        match open(id) {
            Err(e) if e.code == ErrorCode::DecryptFailed => last = Some(e),
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| ProtoError::code(ErrorCode::DecryptFailed)))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn wrap_to(id: &AgeKey) -> Vec<u8> {
        age::encrypt(&id.to_public(), b"a message key").unwrap()
    }

    /// A protected node rotates its age key: the old one is retired under the
    /// same passphrase, node.key is resealed, and both keys open what was
    /// sealed to them after a fresh load.
    #[test]
    fn a_protected_rotation_keeps_the_old_key_and_the_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("identity")).unwrap();
        let pass_file = dir.path().join("pass");
        std::fs::write(&pass_file, "口令 rotation").unwrap();
        let mut home = Home::new(dir.path());
        home.unlock = Unlock::File(pass_file);
        let first = Identity::generate(&home).unwrap();
        first
            .protect(&home, SecretString::from("口令 rotation".to_owned()))
            .unwrap();
        let old = first.age.clone();
        let next = first.next_age(&home).unwrap();
        // Asked again, the same pending key.
        assert_eq!(
            first.next_age(&home).unwrap().to_public().to_string(),
            next.to_public().to_string()
        );
        let rotated = first.rotate_age(&home, next.clone()).unwrap();
        assert!(!home.next_age_path().exists());
        assert!(Identity::is_protected(&home).unwrap());
        assert!(passphrase::is_encrypted(
            &read_secret(&home.retired_keys_path()).unwrap()
        ));
        let loaded = Identity::load(&home).unwrap();
        assert_eq!(
            loaded.age.to_public().to_string(),
            next.to_public().to_string()
        );
        assert_eq!(loaded.retired.len(), 1);
        assert_eq!(loaded.signing.to_bytes(), rotated.signing.to_bytes());
        assert!(loaded.unwrap_key(&wrap_to(&old)).is_ok());
        assert!(loaded.unwrap_key(&wrap_to(&next)).is_ok());
        let stranger = AgeKey::generate();
        assert_eq!(
            loaded.unwrap_key(&wrap_to(&stranger)).unwrap_err().code,
            ErrorCode::DecryptFailed
        );
    }
}
