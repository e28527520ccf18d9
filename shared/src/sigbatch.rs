//! Many signatures by one key, checked together.
//!
//! The hub checks every envelope's signature against its sender's key, and a
//! connection is one sender: what a connection has queued is checked as one
//! batch (one multi-scalar multiplication for all of them instead of one
//! double-scalar multiplication each). A batch answers the same as
//! `verify_strict` one by one:
//!
//! - before the batch, each signature passes what `verify_strict` checks apart
//!   from the equation: `S` canonical, `R` a canonical encoding of a point that
//!   is not of small order; the key is not of small order;
//! - the batch equation (ed25519-dalek's `verify_batch`: random 128-bit
//!   weights from a transcript of every input) holds;
//! - when it does not, each signature is checked alone with `verify_strict`,
//!   so the one that is wrong gets `bad_signature` and the others pass.
//!
//! What remains: `verify_strict` checks `[s]B = R + [k]A` exactly, the batch
//! only that the weighted sum of those differences is zero. A difference that
//! is a non-zero point of small order can vanish under a weight (chance 1/8 at
//! most), and only the holder of the signing key can make one (`R` with a
//! torsion part and `s` computed from the key). Such a signature is the
//! sender's own, and every recipient refuses it, since they open with
//! `verify_strict`.

use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signature, VerifyingKey};

/// The largest batch: past this the gain per signature is small, and a batch
/// that fails costs its size in single checks.
pub const MAX_BATCH: usize = 64;

/// Whether each `(message, signature)` is a valid strict signature by `key`,
/// in order.
pub fn verify_strict_all(key: &VerifyingKey, items: &[(&[u8], Signature)]) -> Vec<bool> {
    if key.is_weak() {
        return vec![false; items.len()];
    }
    let mut ok: Vec<bool> = items.iter().map(|(_, s)| prechecks(s)).collect();
    let candidates: Vec<usize> = (0..items.len()).filter(|&i| ok[i]).collect();
    for chunk in candidates.chunks(MAX_BATCH) {
        let strict = |i: usize| key.verify_strict(items[i].0, &items[i].1).is_ok();
        if let [i] = chunk {
            ok[*i] = strict(*i);
            continue;
        }
        let msgs: Vec<&[u8]> = chunk.iter().map(|&i| items[i].0).collect();
        let sigs: Vec<Signature> = chunk.iter().map(|&i| items[i].1).collect();
        let keys = vec![*key; chunk.len()];
        if ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_err() {
            for &i in chunk {
                ok[i] = strict(i);
            }
        }
    }
    ok
}

/// What `verify_strict` refuses before its equation: a non-canonical `S`, an
/// `R` that is not canonically encoded or is a point of small order. Decided
/// on the bytes, without decoding the point (an exponentiation each, a third
/// of the batch's time when done here): `verify_batch` decodes `R` itself
/// and fails the batch when one does not decode, and the single checks then
/// find it.
fn prechecks(sig: &Signature) -> bool {
    if Option::<Scalar>::from(Scalar::from_canonical_bytes(*sig.s_bytes())).is_none() {
        return false;
    }
    let r = sig.r_bytes();
    canonical_y(r) && !small_order_encodings().contains(r)
}

/// Whether the encoded `y` (the sign bit of `x` aside) is below p = 2^255 - 19.
fn canonical_y(r: &[u8; 32]) -> bool {
    let top = r[31] & 0x7f == 0x7f && r[1..31].iter().all(|b| *b == 0xff);
    !(top && r[0] >= 0xed)
}

/// Every encoding with a canonical `y` that decodes to a point of small
/// order: the eight torsion points, and the two with `x = 0` written with
/// the sign bit set.
fn small_order_encodings() -> &'static [[u8; 32]; 10] {
    static ENCODINGS: std::sync::OnceLock<[[u8; 32]; 10]> = std::sync::OnceLock::new();
    ENCODINGS.get_or_init(|| {
        let mut out = [[0u8; 32]; 10];
        for (o, p) in out
            .iter_mut()
            .zip(curve25519_dalek::constants::EIGHT_TORSION)
        {
            *o = p.compress().to_bytes();
        }
        // y = 1 and y = p - 1 (x = 0) with the sign bit set.
        out[8] = out
            .iter()
            .take(8)
            .find(|e| e[0] == 1 && e[1..].iter().all(|b| *b == 0))
            .copied()
            .unwrap_or_default();
        out[8][31] |= 0x80;
        out[9] = out
            .iter()
            .take(8)
            .find(|e| e[0] == 0xec && e[1..31].iter().all(|b| *b == 0xff) && e[31] == 0x7f)
            .copied()
            .unwrap_or_default();
        out[9][31] |= 0x80;
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;
    use ed25519_dalek::{Signer, SigningKey};

    fn signed(n: usize) -> (SigningKey, Vec<Vec<u8>>, Vec<Signature>) {
        let sk = SigningKey::from_bytes(&[3; 32]);
        let msgs: Vec<Vec<u8>> = (0..n).map(|i| format!("消息 {i}").into_bytes()).collect();
        let sigs = msgs.iter().map(|m| sk.sign(m)).collect();
        (sk, msgs, sigs)
    }

    fn items<'a>(msgs: &'a [Vec<u8>], sigs: &[Signature]) -> Vec<(&'a [u8], Signature)> {
        msgs.iter()
            .map(Vec::as_slice)
            .zip(sigs.iter().copied())
            .collect()
    }

    #[test]
    fn a_good_batch_passes_whole() {
        let (sk, msgs, sigs) = signed(100);
        let got = verify_strict_all(&sk.verifying_key(), &items(&msgs, &sigs));
        assert_eq!(got, vec![true; 100]);
    }

    #[test]
    fn one_bad_signature_fails_alone() {
        let (sk, msgs, mut sigs) = signed(40);
        let mut b = sigs[17].to_bytes();
        b[40] ^= 1;
        sigs[17] = Signature::from_bytes(&b);
        let got = verify_strict_all(&sk.verifying_key(), &items(&msgs, &sigs));
        let want: Vec<bool> = (0..40).map(|i| i != 17).collect();
        assert_eq!(got, want);
        // A message changed under a good signature, too.
        let (sk, mut msgs, sigs) = signed(8);
        msgs[3].push(b'!');
        let got = verify_strict_all(&sk.verifying_key(), &items(&msgs, &sigs));
        assert_eq!(got.iter().filter(|ok| !**ok).count(), 1);
        assert!(!got[3]);
    }

    #[test]
    fn another_key_passes_nothing() {
        let (_, msgs, sigs) = signed(10);
        let other = SigningKey::from_bytes(&[4; 32]).verifying_key();
        assert_eq!(
            verify_strict_all(&other, &items(&msgs, &sigs)),
            vec![false; 10]
        );
    }

    #[test]
    fn what_verify_strict_refuses_is_refused_before_the_batch() {
        let (sk, msgs, sigs) = signed(3);
        let vk = sk.verifying_key();
        // R of small order (the identity), S anything canonical.
        let mut small_r = [0u8; 64];
        small_r[..32].copy_from_slice(EIGHT_TORSION[0].compress().as_bytes());
        // S not reduced mod l.
        let mut big_s = sigs[1].to_bytes();
        big_s[63] |= 0xf0;
        // R not a canonical encoding: y ≥ p (y = p + 1 encodes the point y = 1).
        let mut odd_r = sigs[2].to_bytes();
        let mut y = [0xffu8; 32];
        y[0] = 0xee;
        y[31] = 0x7f;
        odd_r[..32].copy_from_slice(&y);
        let bad = [small_r, big_s, odd_r].map(|b| Signature::from_bytes(&b));
        for (m, s) in msgs.iter().zip(&bad) {
            assert!(vk.verify_strict(m, s).is_err());
        }
        let mut all = items(&msgs, &sigs);
        all.extend(items(&msgs, &bad));
        assert_eq!(
            verify_strict_all(&vk, &all),
            vec![true, true, true, false, false, false]
        );
    }

    #[test]
    fn every_small_order_or_odd_r_is_refused_as_verify_strict_does() {
        let (sk, msgs, sigs) = signed(1);
        let vk = sk.verifying_key();
        let mut rs: Vec<[u8; 32]> = small_order_encodings().to_vec();
        for r in &rs {
            let p = curve25519_dalek::edwards::CompressedEdwardsY(*r).decompress();
            assert!(p.is_some_and(|p| p.is_small_order()), "{r:?}");
        }
        // y = p + 1 and y = p (not canonical).
        let mut y = [0xffu8; 32];
        y[0] = 0xee;
        y[31] = 0x7f;
        rs.push(y);
        y[0] = 0xed;
        rs.push(y);
        for r in rs {
            let mut b = sigs[0].to_bytes();
            b[..32].copy_from_slice(&r);
            let s = Signature::from_bytes(&b);
            let strict = vk.verify_strict(&msgs[0], &s).is_ok();
            let mut all = items(&msgs, &sigs);
            all.extend(items(&msgs, &[s]));
            assert_eq!(verify_strict_all(&vk, &all), vec![true, strict], "{r:?}");
            assert!(!strict);
        }
    }

    #[test]
    fn a_weak_key_passes_nothing() {
        let weak =
            VerifyingKey::from_bytes(EIGHT_TORSION[1].compress().as_bytes()).expect("decodes");
        let (_, msgs, sigs) = signed(4);
        assert_eq!(
            verify_strict_all(&weak, &items(&msgs, &sigs)),
            vec![false; 4]
        );
    }

    #[test]
    fn it_answers_as_verify_strict_one_by_one() {
        // Random corruptions of random bytes: the batch and the single
        // checks agree on every item.
        let (sk, msgs, sigs) = signed(64);
        let vk = sk.verifying_key();
        let mut sigs = sigs;
        for i in (0..64).step_by(5) {
            let mut b = sigs[i].to_bytes();
            b[(i * 7) % 64] ^= 1 << (i % 8);
            sigs[i] = Signature::from_bytes(&b);
        }
        let all = items(&msgs, &sigs);
        let one_by_one: Vec<bool> = all
            .iter()
            .map(|(m, s)| vk.verify_strict(m, s).is_ok())
            .collect();
        assert_eq!(verify_strict_all(&vk, &all), one_by_one);
    }
}
