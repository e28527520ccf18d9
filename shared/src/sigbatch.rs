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
//! - the batch equation holds: the sum over the batch of `z_i·([s_i]B − R_i −
//!   [k_i]A)` is the identity, with 128-bit weights `z_i` drawn from a hash of
//!   every input (as ed25519-dalek's `verify_batch` does). Since every
//!   signature is by the one key `A`, its `n` terms `[z_i·k_i]A` are one term
//!   `[Σ z_i·k_i]A`: the same sum with `n + 2` points in its multi-scalar
//!   multiplication instead of `2n + 1`, which is half the work;
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

use std::iter::once;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::{Signature, VerifyingKey};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha512};

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
        let batch: Vec<&(&[u8], Signature)> = chunk.iter().map(|&i| &items[i]).collect();
        if !equation_holds(key, &batch) {
            for &i in chunk {
                ok[i] = strict(i);
            }
        }
    }
    ok
}

/// Whether `Σ z_i·([s_i]B − R_i − [k_i]A)` is the identity, `k_i` being
/// `H(R_i ‖ A ‖ M_i)` as in the signature's own equation and the weights `z_i`
/// 128 bits each from a stream cipher keyed with a hash over every `k_i` and
/// `s_i` (a signer cannot choose its signatures knowing their weights). A
/// non-canonical `S` or an `R` that does not decode fails the batch.
fn equation_holds(key: &VerifyingKey, batch: &[&(&[u8], Signature)]) -> bool {
    let a = key.as_bytes();
    let mut seed = Sha512::new();
    seed.update(b"lianxi one-key batch v1");
    seed.update(a);
    let mut ks = Vec::with_capacity(batch.len());
    let mut ss = Vec::with_capacity(batch.len());
    for (msg, sig) in batch {
        let hram: [u8; 64] = Sha512::new()
            .chain_update(sig.r_bytes())
            .chain_update(a)
            .chain_update(msg)
            .finalize()
            .into();
        seed.update(hram);
        seed.update(sig.s_bytes());
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(*sig.s_bytes())) else {
            return false;
        };
        ks.push(Scalar::from_bytes_mod_order_wide(&hram));
        ss.push(s);
    }
    let mut key_bytes = [0u8; 32];
    key_bytes.copy_from_slice(&seed.finalize()[..32]);
    let mut weights = StdRng::from_seed(key_bytes);
    let zs: Vec<Scalar> = (0..batch.len())
        .map(|_| {
            let mut z = [0u8; 16];
            weights.fill_bytes(&mut z);
            Scalar::from(u128::from_le_bytes(z))
        })
        .collect();
    let b_coefficient: Scalar = zs.iter().zip(&ss).map(|(z, s)| z * s).sum();
    let a_coefficient: Scalar = zs.iter().zip(&ks).map(|(z, k)| z * k).sum();
    // [Σ z_i·s_i]B = Σ [z_i]R_i + [Σ z_i·k_i]A, written as a sum that is zero.
    let rs = batch
        .iter()
        .map(|(_, sig)| CompressedEdwardsY(*sig.r_bytes()).decompress());
    EdwardsPoint::optional_multiscalar_mul(
        once(-b_coefficient)
            .chain(once(a_coefficient))
            .chain(zs.iter().copied()),
        once(Some(ED25519_BASEPOINT_POINT))
            .chain(once(Some(key.to_edwards())))
            .chain(rs),
    )
    .is_some_and(|p| p.is_identity())
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
    fn the_batch_equation_holds_for_good_signatures_only() {
        // Directly, not through `verify_strict_all`, which would hide a
        // batch that always fails behind its single checks.
        let (sk, msgs, sigs) = signed(64);
        let vk = sk.verifying_key();
        let all = items(&msgs, &sigs);
        let batch: Vec<_> = all.iter().collect();
        assert!(equation_holds(&vk, &batch));
        assert!(equation_holds(&vk, &batch[..2]));
        // One message changed, one signature by another key, two signatures
        // swapped.
        let mut changed = all.clone();
        changed[40].0 = b"another message";
        let other = SigningKey::from_bytes(&[4; 32]).sign(msgs[7].as_slice());
        let mut foreign = all.clone();
        foreign[7].1 = other;
        let mut swapped = all.clone();
        (swapped[3].1, swapped[4].1) = (all[4].1, all[3].1);
        for bad in [changed, foreign, swapped] {
            let batch: Vec<_> = bad.iter().collect();
            assert!(!equation_holds(&vk, &batch));
        }
        // The right signatures under another key.
        let other = SigningKey::from_bytes(&[4; 32]).verifying_key();
        assert!(!equation_holds(&other, &batch));
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
