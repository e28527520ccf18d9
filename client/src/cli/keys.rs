//! `lianxi key …`: passphrase protection of the identity files.

use lianxi::home::Home;
use lianxi::identity::Identity;
use lianxi_certs::passphrase;
use serde_json::json;

use crate::cli::args::KeyCmd;
use crate::cli::commands::print;
use crate::cli::output::tr;

/// `LIANXI_NEW_PASSPHRASE` (or a file named by `LIANXI_NEW_PASSPHRASE_FILE`):
/// the new passphrase for `key protect` in scripts.
const NEW_PASSPHRASE_ENV: &str = "LIANXI_NEW_PASSPHRASE";
const NEW_PASSPHRASE_FILE_ENV: &str = "LIANXI_NEW_PASSPHRASE_FILE";

pub fn run(cmd: KeyCmd, home: &Home, json: bool) -> anyhow::Result<()> {
    match cmd {
        KeyCmd::Protect {
            new_passphrase_file,
        } => {
            let identity = Identity::load(home)?;
            let pass = passphrase::Source {
                var: NEW_PASSPHRASE_ENV,
                file_var: NEW_PASSPHRASE_FILE_ENV,
                file: new_passphrase_file,
                prompt: true,
                what: "protecting the identity",
            }
            .get_new()?;
            identity.protect(home, pass)?;
            print(json, json!({"protected": true}), || {
                tr(
                    "身份密钥已用口令加密",
                    "the identity is now passphrase-protected",
                )
                .to_owned()
            });
        }
        KeyCmd::Unprotect => {
            let identity = Identity::load(home)?;
            identity.unprotect(home)?;
            print(json, json!({"protected": false}), || {
                tr(
                    "身份密钥已解除口令保护",
                    "the identity is no longer passphrase-protected",
                )
                .to_owned()
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
                        tr("口令保护：是", "passphrase-protected")
                    } else {
                        tr("口令保护：否", "not passphrase-protected")
                    },
                    home.age_identity_path().display(),
                    home.signing_key_path().display()
                )
            });
        }
    }
    Ok(())
}
