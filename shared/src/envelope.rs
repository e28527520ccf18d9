//! Envelopes: signed headers, age-encrypted bodies and per-recipient key wraps.
//!
//! Construction (see `docs/PROTOCOL.md`, "Envelopes"):
//! 1. A fresh ephemeral age X25519 identity `E` is generated for the message.
//! 2. The CBOR payload is encrypted once, as a standard age file, to `E`'s recipient.
//! 3. The header holds the message id, sender, audience, times, the SHA-256 of the
//!    ciphertext and `E`'s public recipient string. It is CBOR-encoded once and
//!    signed with the sender's ed25519 key over `"lianxi/v1/envelope\0" || header`.
//! 4. For each recipient, `E`'s secret key string is encrypted, as a standard age file,
//!    to the recipient's own age recipient: that small file is the recipient's wrap.
//!
//! A recipient downloads the body once plus its own wrap (a few hundred bytes), so
//! delivery is O(body) whatever the audience size. A wrap that does not unwrap to
//! the signed ephemeral key is rejected, so wraps cannot be swapped or forged into
//! another message.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::str::FromStr;
use zeroize::Zeroizing;

use crate::agekey::AgeKey;
use crate::directory::{Audience, NodeInfo};
use crate::error::{ErrorCode, ProtoError};
use crate::ids::{MessageId, NodeId};
use crate::payload::Payload;

/// Domain separation prefix for envelope signatures.
pub const SIGNING_DOMAIN: &[u8] = b"lianxi/v1/envelope\0";
pub const HEADER_VERSION: u8 = 1;
/// Largest encoded header accepted.
pub const MAX_HEADER: usize = 1024 * 1024;

/// The signed header. It holds no title, kind or other content.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Header {
    pub v: u8,
    pub id: MessageId,
    pub sender: NodeId,
    pub audience: Audience,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Embargo: no recipient receives the message before this time (ms).
    pub not_before: Option<i64>,
    /// SHA-256 of the age ciphertext (`Envelope::body`).
    #[serde(with = "serde_bytes")]
    pub body_sha256: [u8; 32],
    pub body_len: u64,
    /// The ephemeral age recipient (`age1…`) the body is encrypted to.
    pub key: String,
}

/// What travels: the exact header bytes that were signed, the signature and the
/// encrypted body. The header is never re-encoded.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(with = "serde_bytes")]
    pub header: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub sig: [u8; 64],
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
}

/// One recipient's copy of the ephemeral key, as a standard age file.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Wrap {
    pub to: NodeId,
    #[serde(with = "serde_bytes")]
    pub key: Vec<u8>,
}

/// A sealed message: the envelope and a wrap per recipient.
#[derive(Clone, Debug)]
pub struct Sealed {
    pub header: Header,
    pub envelope: Envelope,
    pub wraps: Vec<Wrap>,
    /// The message key (one age secret-key line), for a sender that must later
    /// show the original to a third node (a case's history).
    pub key: Zeroizing<String>,
}

/// A verified and decrypted message.
#[derive(Clone, Debug)]
pub struct Opened {
    pub header: Header,
    pub payload: Payload,
    /// The payload bytes as they were encrypted.
    pub payload_bytes: Vec<u8>,
}

/// What a sender needs to seal a message.
pub struct SealInput<'a> {
    pub sender: &'a NodeId,
    pub signing_key: &'a SigningKey,
    pub audience: Audience,
    pub recipients: &'a [(NodeId, age::x25519::Recipient)],
    pub id: MessageId,
    pub created_at: i64,
    pub not_before: Option<i64>,
}

fn age_encrypt(
    recipient: &age::x25519::Recipient,
    plaintext: &[u8],
) -> Result<Vec<u8>, ProtoError> {
    age_encrypt_to(std::slice::from_ref(recipient), plaintext)
}

/// Encrypt to several age recipients at once (any one of them can open it).
pub(crate) fn age_encrypt_to(
    recipients: &[age::x25519::Recipient],
    plaintext: &[u8],
) -> Result<Vec<u8>, ProtoError> {
    let enc = age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
        .map_err(|e| ProtoError::new(ErrorCode::Internal, format!("age: {e}")))?;
    let mut out = Vec::with_capacity(plaintext.len() + 256);
    let io = |e: std::io::Error| ProtoError::new(ErrorCode::Internal, format!("age: {e}"));
    let mut w = enc.wrap_output(&mut out).map_err(io)?;
    w.write_all(plaintext).map_err(io)?;
    w.finish().map_err(io)?;
    Ok(out)
}

pub(crate) fn age_decrypt(
    identity: &dyn age::Identity,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, ProtoError> {
    let fail =
        |e: &dyn std::fmt::Display| ProtoError::new(ErrorCode::DecryptFailed, format!("age: {e}"));
    let dec = age::Decryptor::new_buffered(ciphertext).map_err(|e| fail(&e))?;
    let mut r = dec
        .decrypt(std::iter::once(identity))
        .map_err(|e| fail(&e))?;
    let mut out = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    r.read_to_end(&mut out).map_err(|e| fail(&e))?;
    Ok(out)
}

/// A sender's signing key from its directory entry.
pub fn sender_key_of(key: &[u8; 32]) -> Result<VerifyingKey, ProtoError> {
    VerifyingKey::from_bytes(key).map_err(|_| {
        ProtoError::new(
            ErrorCode::BadCertificate,
            "sender key is not a valid ed25519 key",
        )
    })
}

fn signed_bytes(header: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNING_DOMAIN.len() + header.len());
    m.extend_from_slice(SIGNING_DOMAIN);
    m.extend_from_slice(header);
    m
}

/// Bodies are padded so that their size says little to the hub: at least
/// this many plaintext bytes, so receipts, reminders, forwards and short
/// bulletins all look alike.
pub const MIN_PADDED: usize = 1024;

/// The Padmé size for `len` bytes (Nikitin et al., "Reducing Metadata Leakage
/// from Encrypted Files and Communication with PURBs", 2019): at most about
/// 12 % larger, and a size reveals O(log log len) bits instead of O(log len).
pub fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = 63 - u64::from(len.leading_zeros()); // floor(log2 len)
    let s = 64 - u64::from(e.leading_zeros()); // floor(log2 e) + 1
    let mask = (1u64 << (e - s)) - 1;
    (len + mask) & !mask
}

/// The plaintext a body encrypts: the payload's CBOR, then zero bytes up to
/// `padme(max(len, MIN_PADDED))`.
fn padded(payload: &[u8]) -> Zeroizing<Vec<u8>> {
    let target = padme(payload.len().max(MIN_PADDED) as u64) as usize;
    let mut out = Zeroizing::new(Vec::with_capacity(target));
    out.extend_from_slice(payload);
    out.resize(target, 0);
    out
}

/// Seal a payload: encrypt once, sign, and wrap the key for every recipient.
pub fn seal(input: SealInput<'_>, payload: &Payload) -> Result<Sealed, ProtoError> {
    use age::secrecy::ExposeSecret;
    let ephemeral = age::x25519::Identity::generate();
    let plaintext = padded(&payload.encode());
    let body = age_encrypt(&ephemeral.to_public(), &plaintext)?;
    let header = Header {
        v: HEADER_VERSION,
        id: input.id,
        sender: input.sender.clone(),
        audience: input.audience,
        created_at: input.created_at,
        not_before: input.not_before,
        body_sha256: Sha256::digest(&body).into(),
        body_len: body.len() as u64,
        key: ephemeral.to_public().to_string(),
    };
    let header_bytes = crate::cbor::to_vec(&header);
    let sig = input
        .signing_key
        .sign(&signed_bytes(&header_bytes))
        .to_bytes();
    let secret = ephemeral.to_string();
    let mut wraps = Vec::with_capacity(input.recipients.len());
    for (to, r) in input.recipients {
        wraps.push(Wrap {
            to: to.clone(),
            key: age_encrypt(r, secret.expose_secret().as_bytes())?,
        });
    }
    Ok(Sealed {
        header,
        envelope: Envelope {
            header: header_bytes,
            sig,
            body,
        },
        wraps,
        key: Zeroizing::new(secret.expose_secret().to_owned()),
    })
}

impl Envelope {
    /// Its bytes: header, signature and body.
    pub fn size(&self) -> usize {
        self.header.len() + self.sig.len() + self.body.len()
    }

    /// Decode the header without verifying anything (the hub and the recipient
    /// must still call [`Envelope::verify`]).
    pub fn decode_header(&self) -> Result<Header, ProtoError> {
        if self.header.len() > MAX_HEADER {
            return Err(ProtoError::new(ErrorCode::BadHeader, "header too large"));
        }
        let h: Header = crate::cbor::from_slice(&self.header, ErrorCode::BadHeader)?;
        if h.v != HEADER_VERSION {
            return Err(ProtoError::new(
                ErrorCode::UnsupportedVersion,
                format!("header version {} is not supported", h.v),
            ));
        }
        if h.id.0.get_version_num() != 7 {
            return Err(ProtoError::new(
                ErrorCode::BadHeader,
                "message id is not a UUIDv7",
            ));
        }
        if h.id.unix_ms().abs_diff(h.created_at) > crate::rules::ID_TIME_TOLERANCE_MS {
            return Err(ProtoError::new(
                ErrorCode::BadHeader,
                "the time in the message id disagrees with created_at",
            ));
        }
        Ok(h)
    }

    /// Check the signature against the sender's key and the body against the
    /// signed digest. Returns the decoded header.
    pub fn verify(&self, sender_key: &[u8; 32]) -> Result<Header, ProtoError> {
        let header = self.decode_header()?;
        sender_key_of(sender_key)?
            .verify_strict(&self.signed_message(), &self.signature())
            .map_err(|_| ProtoError::code(ErrorCode::BadSignature))?;
        self.check_body(&header)?;
        Ok(header)
    }

    /// What the signature covers: the domain and the header's bytes.
    pub fn signed_message(&self) -> Vec<u8> {
        signed_bytes(&self.header)
    }

    pub fn signature(&self) -> Signature {
        Signature::from_bytes(&self.sig)
    }

    /// The body against the digest and length its (verified) header signs.
    pub fn check_body(&self, header: &Header) -> Result<(), ProtoError> {
        if header.body_len != self.body.len() as u64
            || header.body_sha256 != <[u8; 32]>::from(Sha256::digest(&self.body))
        {
            return Err(ProtoError::code(ErrorCode::BodyMismatch));
        }
        Ok(())
    }

    /// The digest of the whole envelope, used by the hub to tell an identical
    /// retry from a replayed id.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(&self.header);
        h.update(self.sig);
        h.update(&self.body);
        h.finalize().into()
    }
}

/// Verify and decrypt an envelope addressed to `me`.
///
/// Checks, in order: the header and signature against `sender` (the sender's
/// verified directory entry, which must match the header's sender), the body
/// digest, that `me` is in the signed audience, that the wrap unwraps with
/// `identity` to the signed ephemeral key, and that the payload decodes.
pub fn open(
    envelope: &Envelope,
    wrap: &[u8],
    sender: &NodeInfo,
    me: &NodeInfo,
    identity: &AgeKey,
) -> Result<Opened, ProtoError> {
    let header = envelope.verify(&sender.signing_key)?;
    if header.sender != sender.node_id {
        return Err(ProtoError::new(
            ErrorCode::SenderMismatch,
            "header sender differs from the signing node",
        ));
    }
    if !header.audience.includes(&header.sender, me) {
        return Err(ProtoError::new(
            ErrorCode::NotInAudience,
            format!("{} is not in the audience", me.node_id),
        ));
    }
    let key = unwrap_key(wrap, identity)?;
    open_body(envelope, header, &key)
}

/// Decrypt the body with the message key `key` after checking that it is the
/// signed ephemeral key of this header.
fn open_body(envelope: &Envelope, header: Header, key: &str) -> Result<Opened, ProtoError> {
    let ephemeral = AgeKey::from_str(key.trim()).map_err(|_| {
        ProtoError::new(
            ErrorCode::DecryptFailed,
            "the message key is not an age identity",
        )
    })?;
    if ephemeral.recipient() != header.key {
        return Err(ProtoError::new(
            ErrorCode::DecryptFailed,
            "the message key is for another message",
        ));
    }
    let plaintext = age_decrypt(&ephemeral, &envelope.body)?;
    let (payload, used) = Payload::decode_padded(&plaintext)?;
    Ok(Opened {
        header,
        payload,
        payload_bytes: plaintext[..used].to_vec(),
    })
}

/// Open a forwarded envelope with the message key that travelled with it.
///
/// Checks the original sender's signature and the body digest, that `key`
/// is the signed ephemeral key, and that the body decrypts to a payload. The
/// audience is not checked: a forward reaches nodes the original did not address.
pub fn open_forwarded(
    envelope: &Envelope,
    key: &str,
    sender: &NodeInfo,
) -> Result<Opened, ProtoError> {
    let header = envelope.verify(&sender.signing_key)?;
    if header.sender != sender.node_id {
        return Err(ProtoError::new(
            ErrorCode::SenderMismatch,
            "header sender differs from the signing node",
        ));
    }
    open_body(envelope, header, key)
}

/// The message key inside a wrap (for forwarding a received message).
pub fn unwrap_key(wrap: &[u8], identity: &AgeKey) -> Result<Zeroizing<String>, ProtoError> {
    let secret = age_decrypt(identity, wrap)?;
    let s = std::str::from_utf8(&secret).map_err(|_| {
        ProtoError::new(
            ErrorCode::DecryptFailed,
            "wrap does not hold an age identity",
        )
    })?;
    Ok(Zeroizing::new(s.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::tests::node;
    use crate::ids::{Role, Tier};
    use crate::payload::Bulletin;

    struct Party {
        info: NodeInfo,
        sk: SigningKey,
        age: AgeKey,
    }

    fn party(id: &str, seed: u8) -> Party {
        let sk = SigningKey::from_bytes(&[seed; 32]);
        let age = AgeKey::generate();
        let mut info = node(id, Tier::Provincial, &[Role::Secretary]);
        info.signing_key = sk.verifying_key().to_bytes();
        info.age_recipient = age.to_public().to_string();
        Party { info, sk, age }
    }

    fn bulletin() -> Payload {
        Payload::Bulletin(Bulletin {
            title: "关于减税降费的通知".into(),
            body: "正文 🎉 body".into(),
            ..Default::default()
        })
    }

    fn seal_to(sender: &Party, to: &[&Party], audience: Audience) -> Sealed {
        let recipients: Vec<_> = to
            .iter()
            .map(|p| (p.info.node_id.clone(), p.age.to_public()))
            .collect();
        seal(
            SealInput {
                sender: &sender.info.node_id,
                signing_key: &sender.sk,
                audience,
                recipients: &recipients,
                id: MessageId::generate(1_700_000_000_000),
                created_at: 1_700_000_000_000,
                not_before: None,
            },
            &bulletin(),
        )
        .unwrap()
    }

    #[test]
    fn round_trip_to_many_recipients() {
        let a = party("a", 1);
        let others: Vec<Party> = (0..20).map(|i| party(&format!("n{i}"), 10 + i)).collect();
        let refs: Vec<&Party> = others.iter().collect();
        let s = seal_to(&a, &refs, Audience::All);
        assert_eq!(s.wraps.len(), 20);
        for (p, w) in others.iter().zip(&s.wraps) {
            assert_eq!(w.to, p.info.node_id);
            assert!(w.key.len() < 512, "wrap is small: {}", w.key.len());
            let o = open(&s.envelope, &w.key, &a.info, &p.info, &p.age).unwrap();
            assert_eq!(o.payload, bulletin());
            assert_eq!(o.header.sender, a.info.node_id);
        }
        let h = s.envelope.decode_header().unwrap();
        assert_eq!(h, s.header);
        let header_text = String::from_utf8_lossy(&s.envelope.header);
        assert!(!header_text.contains("减税"), "header holds no content");
    }

    #[test]
    fn padme_sizes() {
        assert_eq!(padme(0), 0);
        assert_eq!(padme(1), 1);
        assert_eq!(padme(1000), 1024);
        assert_eq!(padme(1024), 1024);
        assert_eq!(padme(1025), 1088);
        for len in [1u64, 100, 1_000, 70_000, 10 << 20, u64::MAX >> 2] {
            let p = padme(len);
            assert!(p >= len && p - len <= len / 8 + 1, "{len} -> {p}");
        }
    }

    #[test]
    fn receipts_and_short_bulletins_encrypt_the_same_number_of_bytes() {
        use crate::payload::{Receipt, ReceiptState};
        let (a, b) = (party("a", 1), party("b", 2));
        let recipients = [(b.info.node_id.clone(), b.age.to_public())];
        // What age encrypts: its output length depends only on this length
        // (plus age's own random "grease" stanza), never on the content.
        let plain = |p: &Payload| {
            let s = seal(
                SealInput {
                    sender: &a.info.node_id,
                    signing_key: &a.sk,
                    audience: Audience::All,
                    recipients: &recipients,
                    id: MessageId::generate(1_700_000_000_000),
                    created_at: 1_700_000_000_000,
                    not_before: None,
                },
                p,
            )
            .unwrap();
            let o = open(&s.envelope, &s.wraps[0].key, &a.info, &b.info, &b.age).unwrap();
            assert_eq!(&o.payload, p);
            assert_eq!(
                o.payload_bytes,
                p.encode(),
                "padding is not part of the payload"
            );
            let eph = age::x25519::Identity::from_str(s.key.as_str()).unwrap();
            age_decrypt(&eph, &s.envelope.body).unwrap().len()
        };
        let receipt = Payload::Receipt(Receipt {
            bulletin: MessageId::generate(1_700_000_000_000),
            state: ReceiptState::Acknowledged,
            reply: None,
            at: 1_700_000_000_000,
        });
        assert_eq!(plain(&receipt), MIN_PADDED);
        assert_eq!(plain(&bulletin()), MIN_PADDED);
        let long = Payload::Bulletin(Bulletin {
            title: "长".into(),
            body: "字".repeat(400),
            ..Default::default()
        });
        assert_eq!(plain(&long) as u64, padme(long.encode().len() as u64));
    }

    #[test]
    fn bytes_after_the_payload_must_be_padding() {
        let mut plain = bulletin().encode();
        plain.extend_from_slice(&[0; 40]);
        let (p, used) = Payload::decode_padded(&plain).unwrap();
        assert_eq!((p, used), (bulletin(), plain.len() - 40));
        plain.push(1);
        assert_eq!(
            Payload::decode_padded(&plain).unwrap_err().code,
            ErrorCode::BadPayload
        );
    }

    #[test]
    fn a_non_recipient_cannot_decrypt() {
        let (a, b, c) = (party("a", 1), party("b", 2), party("c", 3));
        let s = seal_to(&a, &[&b], Audience::All);
        let e = open(&s.envelope, &s.wraps[0].key, &a.info, &c.info, &c.age).unwrap_err();
        assert_eq!(e.code, ErrorCode::DecryptFailed);
        // Outside the audience: refused even with a valid wrap.
        let s = seal_to(&a, &[&b], Audience::Nodes(vec![c.info.node_id.clone()]));
        let e = open(&s.envelope, &s.wraps[0].key, &a.info, &b.info, &b.age).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotInAudience);
    }

    #[test]
    fn wraps_cannot_be_moved_between_messages() {
        let (a, b) = (party("a", 1), party("b", 2));
        let s1 = seal_to(&a, &[&b], Audience::All);
        let s2 = seal_to(&a, &[&b], Audience::All);
        let e = open(&s1.envelope, &s2.wraps[0].key, &a.info, &b.info, &b.age).unwrap_err();
        assert_eq!(e.code, ErrorCode::DecryptFailed);
    }

    #[test]
    fn wrong_sender_key_fails() {
        let (a, b, m) = (party("a", 1), party("b", 2), party("a", 9));
        let s = seal_to(&a, &[&b], Audience::All);
        let e = open(&s.envelope, &s.wraps[0].key, &m.info, &b.info, &b.age).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadSignature);
    }

    #[test]
    fn every_flipped_bit_is_rejected() {
        let (a, b) = (party("a", 1), party("b", 2));
        let s = seal_to(&a, &[&b], Audience::All);
        let check = |env: &Envelope, wrap: &[u8]| open(env, wrap, &a.info, &b.info, &b.age);
        assert!(check(&s.envelope, &s.wraps[0].key).is_ok());
        for i in 0..s.envelope.header.len() * 8 {
            let mut e = s.envelope.clone();
            e.header[i / 8] ^= 1 << (i % 8);
            assert!(check(&e, &s.wraps[0].key).is_err(), "header bit {i}");
        }
        for i in (0..s.envelope.body.len() * 8).step_by(7) {
            let mut e = s.envelope.clone();
            e.body[i / 8] ^= 1 << (i % 8);
            assert_eq!(
                check(&e, &s.wraps[0].key).unwrap_err().code,
                ErrorCode::BodyMismatch,
                "body bit {i}"
            );
        }
        for i in 0..512 {
            let mut e = s.envelope.clone();
            e.sig[i / 8] ^= 1 << (i % 8);
            assert_eq!(
                check(&e, &s.wraps[0].key).unwrap_err().code,
                ErrorCode::BadSignature
            );
        }
        for i in (0..s.wraps[0].key.len() * 8).step_by(3) {
            let mut w = s.wraps[0].key.clone();
            w[i / 8] ^= 1 << (i % 8);
            assert!(check(&s.envelope, &w).is_err(), "wrap bit {i}");
        }
    }
}
