//! `lianxi key …`: passphrase protection of the identity files.

use age::secrecy::{ExposeSecret, SecretString};
use lianxi::home::Home;
use lianxi::identity::{Identity, passphrase_from_file, passphrase_prompt};
use lianxi_shared::{ErrorCode, ProtoError};
use serde_json::json;

use crate::cli::KeyCmd;
use crate::commands::print;

/// `LIANXI_NEW_PASSPHRASE`: the new passphrase for `key protect` in scripts.
const NEW_PASSPHRASE_ENV: &str = "LIANXI_NEW_PASSPHRASE";

pub fn run(cmd: KeyCmd, home: &Home, json: bool) -> anyhow::Result<()> {
    match cmd {
        KeyCmd::Protect {
            new_passphrase_file,
        } => {
            let identity = Identity::load(home)?;
            let pass = match (new_passphrase_file, std::env::var(NEW_PASSPHRASE_ENV)) {
                (Some(f), _) => passphrase_from_file(&f)?,
                (None, Ok(p)) => SecretString::from(p),
                (None, Err(_)) => ask_twice()?,
            };
            identity.protect(home, pass)?;
            print(json, json!({"protected": true}), || {
                "身份密钥已用口令加密 / the identity is now passphrase-protected".to_owned()
            });
        }
        KeyCmd::Unprotect => {
            let identity = Identity::load(home)?;
            identity.unprotect(home)?;
            print(json, json!({"protected": false}), || {
                "身份密钥已解除口令保护 / the identity is no longer passphrase-protected".to_owned()
            });
        }
        KeyCmd::Status => {
            let protected = Identity::is_protected(home)?;
            let v = json!({
                "protected": protected,
                "age_identity_file": home.age_identity_path(),
                "signing_key_file": home.signing_key_path(),
            });
            print(json, v, || {
                format!(
                    "{}\n{}\n{}",
                    if protected {
                        "口令保护：是 / passphrase-protected"
                    } else {
                        "口令保护：否 / not passphrase-protected"
                    },
                    home.age_identity_path().display(),
                    home.signing_key_path().display()
                )
            });
        }
    }
    Ok(())
}

fn ask_twice() -> Result<SecretString, ProtoError> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(ProtoError::new(
            ErrorCode::PassphraseRequired,
            format!("no terminal: give --new-passphrase-file or set {NEW_PASSPHRASE_ENV}"),
        ));
    }
    let a = passphrase_prompt("新口令 / new passphrase: ")?;
    let b = passphrase_prompt("再输一次 / repeat: ")?;
    if a.expose_secret() != b.expose_secret() {
        return Err(ProtoError::new(
            ErrorCode::BadPassphrase,
            "the two passphrases differ; nothing changed",
        ));
    }
    Ok(a)
}
