//! An age X25519 identity whose public key is computed once.
//!
//! age's own `x25519::Identity` derives its public key (a fixed-base scalar
//! multiplication and an inversion) inside every `unwrap_stanza`, for the
//! HKDF salt. Opening one envelope unwraps twice (the node's key opens the
//! wrap, the message key opens the body) and the body's key is derived a third
//! time to check it against the signed header: three derivations, about a
//! fifth of a node's CPU while it catches up. [`AgeKey`] keeps the public key
//! next to the secret and unwraps the X25519 stanza itself, with age-core's
//! primitives, as the age specification (<https://c2sp.org/age>) and age's
//! `x25519::Identity` do: same canonical stanza checks, same refusal of a
//! non-contributory (low-order) ephemeral share, same HKDF label and AEAD.
//! Tests check it against age's identity both ways.

use std::str::FromStr;

use age_core::format::{FileKey, Stanza};
use age_core::primitives::{aead_decrypt, hkdf};
use base64::Engine;
use base64::prelude::BASE64_STANDARD_NO_PAD;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroize;

const TAG: &str = "X25519";
const LABEL: &[u8] = b"age-encryption.org/v1/X25519";
const RECIPIENT_HRP: bech32::Hrp = bech32::Hrp::parse_unchecked("age");
const FILE_KEY_BYTES: usize = 16;
const WRAPPED_FILE_KEY_BYTES: usize = FILE_KEY_BYTES + 16;

/// An age X25519 identity with its public key.
#[derive(Clone)]
pub struct AgeKey {
    identity: age::x25519::Identity,
    /// The secret and its public key, read out of `identity`'s text form.
    /// `None` only if age ever wrote a text it cannot read back: such a key
    /// then opens nothing (never a key opened with made-up bytes).
    keys: Option<(StaticSecret, PublicKey)>,
}

impl AgeKey {
    pub fn generate() -> AgeKey {
        AgeKey::from(age::x25519::Identity::generate())
    }

    /// age's form of this identity (to encrypt to it, or to write it out).
    pub fn identity(&self) -> &age::x25519::Identity {
        &self.identity
    }

    /// The recipient, to encrypt to (derived again: for the rare paths).
    pub fn to_public(&self) -> age::x25519::Recipient {
        self.identity.to_public()
    }

    /// The public key as age writes it (`age1…`), from the cached key.
    pub fn recipient(&self) -> String {
        match &self.keys {
            Some((_, public)) => bech32::encode::<bech32::Bech32>(RECIPIENT_HRP, public.as_bytes())
                .unwrap_or_default(),
            None => self.identity.to_public().to_string(),
        }
    }
}

impl From<age::x25519::Identity> for AgeKey {
    fn from(identity: age::x25519::Identity) -> AgeKey {
        use age::secrecy::ExposeSecret;
        // age's identity keeps its secret private; its text form is the one
        // way out.
        let text = identity.to_string();
        let keys = bech32::decode(text.expose_secret())
            .ok()
            .and_then(|(_, mut data)| {
                let bytes = <[u8; 32]>::try_from(data.as_slice()).ok();
                data.zeroize();
                bytes
            })
            .map(|mut bytes| {
                let secret = StaticSecret::from(bytes);
                bytes.zeroize();
                let public = PublicKey::from(&secret);
                (secret, public)
            });
        AgeKey { identity, keys }
    }
}

impl FromStr for AgeKey {
    type Err = &'static str;

    /// Parse an age secret key in the text form age writes, as age does.
    fn from_str(s: &str) -> Result<AgeKey, &'static str> {
        age::x25519::Identity::from_str(s).map(AgeKey::from)
    }
}

impl age::Identity for AgeKey {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        if stanza.tag != TAG {
            return None;
        }
        // Canonical stanza: one argument, 32 bytes in unpadded base64, and a
        // 32-byte body.
        let share = match &stanza.args[..] {
            [arg] => match canonical_share(arg) {
                Some(share) => share,
                None => return Some(Err(age::DecryptError::InvalidHeader)),
            },
            _ => return Some(Err(age::DecryptError::InvalidHeader)),
        };
        if stanza.body.len() != WRAPPED_FILE_KEY_BYTES {
            return Some(Err(age::DecryptError::InvalidHeader));
        }
        let (secret, public) = self.keys.as_ref()?;
        let epk = PublicKey::from(share);
        let shared = secret.diffie_hellman(&epk);
        if !shared.was_contributory() {
            return Some(Err(age::DecryptError::InvalidHeader));
        }
        let mut salt = [0u8; 64];
        salt[..32].copy_from_slice(epk.as_bytes());
        salt[32..].copy_from_slice(public.as_bytes());
        let mut key = hkdf(&salt, LABEL, shared.as_bytes());
        // Not ours is no error: another stanza may be.
        let opened = aead_decrypt(&key, FILE_KEY_BYTES, &stanza.body)
            .ok()
            .map(|mut pt| {
                Ok(FileKey::init_with_mut(|file_key| {
                    file_key.copy_from_slice(&pt);
                    pt.zeroize();
                }))
            });
        key.zeroize();
        opened
    }
}

/// The ephemeral share: exactly 32 bytes in canonical unpadded base64.
fn canonical_share(arg: &str) -> Option<[u8; 32]> {
    let mut buf = [0u8; 33];
    match BASE64_STANDARD_NO_PAD.decode_slice(arg, &mut buf) {
        Ok(32) => buf[..32].try_into().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;
    use std::io::{Read, Write};

    fn encrypt_to(recipient: &age::x25519::Recipient, plain: &[u8]) -> Vec<u8> {
        let enc = age::Encryptor::with_recipients(std::iter::once(recipient as _)).unwrap();
        let mut out = Vec::new();
        let mut w = enc.wrap_output(&mut out).unwrap();
        w.write_all(plain).unwrap();
        w.finish().unwrap();
        out
    }

    fn decrypt_with(identity: &dyn age::Identity, ct: &[u8]) -> Result<Vec<u8>, String> {
        let dec = age::Decryptor::new_buffered(ct).map_err(|e| e.to_string())?;
        let mut r = dec
            .decrypt(std::iter::once(identity))
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    #[test]
    fn opens_what_age_opens_and_nothing_else() {
        let key = AgeKey::generate();
        let (secret, public) = key.keys.as_ref().unwrap();
        assert_eq!(public.as_bytes(), PublicKey::from(secret).as_bytes());
        assert_eq!(key.recipient(), key.identity().to_public().to_string());
        let ct = encrypt_to(&key.to_public(), "政策通报 bulletin".as_bytes());
        assert_eq!(
            decrypt_with(&key, &ct).unwrap(),
            "政策通报 bulletin".as_bytes()
        );
        assert_eq!(
            decrypt_with(key.identity(), &ct).unwrap(),
            decrypt_with(&key, &ct).unwrap()
        );
        let other = AgeKey::generate();
        assert!(decrypt_with(&other, &ct).is_err());
        assert!(decrypt_with(other.identity(), &ct).is_err());
    }

    #[test]
    fn parses_the_text_age_writes_and_refuses_other_text() {
        let id = age::x25519::Identity::generate();
        let text = id.to_string();
        let key = AgeKey::from_str(text.expose_secret()).unwrap();
        assert_eq!(key.recipient(), id.to_public().to_string());
        let lower = text.expose_secret().to_lowercase();
        assert_eq!(
            AgeKey::from_str(&lower).unwrap().recipient(),
            key.recipient()
        );
        let public = id.to_public().to_string();
        assert!(AgeKey::from_str(&public).is_err());
        // A generated key cut short, and one with a changed character.
        let secret = text.expose_secret();
        assert!(AgeKey::from_str(&secret[..secret.len() - 7]).is_err());
        let mut changed: Vec<char> = secret.chars().collect();
        let k = changed.len() - 10;
        changed[k] = if changed[k] == 'Q' { 'P' } else { 'Q' };
        assert!(AgeKey::from_str(&changed.into_iter().collect::<String>()).is_err());
        assert!(AgeKey::from_str("").is_err());
    }

    fn stanza(args: Vec<String>, body: Vec<u8>) -> Stanza {
        Stanza {
            tag: TAG.into(),
            args,
            body,
        }
    }

    #[test]
    fn refuses_malformed_and_low_order_stanzas_as_age_does() {
        let key = AgeKey::generate();
        let ours = |s: &Stanza| {
            age::Identity::unwrap_stanza(&key, s).map(|r| r.map(|_| ()).map_err(|e| e.to_string()))
        };
        let ages = |s: &Stanza| {
            age::Identity::unwrap_stanza(key.identity(), s)
                .map(|r| r.map(|_| ()).map_err(|e| e.to_string()))
        };
        let good_share = BASE64_STANDARD_NO_PAD.encode([9u8; 32]);
        // The last of 43 characters carries 4 bits and 2 that must be zero:
        // the next letter of the alphabet sets one of those (non-canonical).
        let mut loose = good_share.clone();
        let last = loose.pop().unwrap_or('A');
        loose.push(char::from(last as u8 + 1));
        let cases = [
            // Another recipient type: not ours to judge.
            Stanza {
                tag: "scrypt".into(),
                args: vec!["x".into()],
                body: vec![0; 32],
            },
            stanza(vec![], vec![0; 32]),
            stanza(vec![good_share.clone(), "x".into()], vec![0; 32]),
            stanza(vec![BASE64_STANDARD_NO_PAD.encode([9u8; 31])], vec![0; 32]),
            stanza(vec![BASE64_STANDARD_NO_PAD.encode([9u8; 33])], vec![0; 32]),
            stanza(vec![format!("{good_share}=")], vec![0; 32]),
            stanza(vec![loose], vec![0; 32]),
            stanza(vec![good_share.clone()], vec![0; 31]),
            // The all-zero point: no contributory shared secret.
            stanza(vec![BASE64_STANDARD_NO_PAD.encode([0u8; 32])], vec![0; 32]),
            // Well formed, but not for this key.
            stanza(vec![good_share], vec![0; 32]),
        ];
        for s in &cases {
            assert_eq!(ours(s), ages(s), "{:?}", s.args);
        }
        assert!(ours(&cases[0]).is_none());
        assert!(matches!(ours(&cases[6]), Some(Err(_))));
        assert!(matches!(ours(&cases[8]), Some(Err(_))));
        assert!(ours(&cases[9]).is_none());
    }
}
