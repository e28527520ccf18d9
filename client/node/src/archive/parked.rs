//! References that arrive before what they refer to: a revision, withdrawal
//! or reminder of a bulletin this node does not hold yet (it may still be on
//! its way, or held by the hub for an embargo). Such a message is parked,
//! verified as it arrived, and applied when the bulletin arrives, instead of
//! being refused for good. Parking is bounded in count and in age; what falls
//! outside is refused as `unknown_reference` as before.

use lianxi_shared::envelope::Opened;
use lianxi_shared::{Envelope, ErrorCode, Payload, ProtoError};
use rusqlite::{Connection, Transaction, params};

use super::apply::{Applied, Item, apply};
use super::db_err;
use super::messages::Incoming;

/// Most messages parked at once.
pub const MAX_PARKED: i64 = 10_000;
/// How long a parked message waits for what it refers to, ms.
pub const MAX_PARKED_AGE_MS: i64 = 30 * 86_400_000;

/// The bulletin a message refers to, if it is one that may wait for it.
fn reference(p: &Payload) -> Option<String> {
    match p {
        Payload::Revision(v) => Some(v.original.to_string()),
        Payload::Withdrawal(w) => Some(w.original.to_string()),
        Payload::Reminder(m) => Some(m.bulletin.to_string()),
        _ => None,
    }
}

/// Park `m`, refused as `e`, if it may wait. Returns whether it was parked.
pub(crate) fn park(tx: &Connection, m: &Incoming, e: &ProtoError) -> Result<bool, ProtoError> {
    if e.code != ErrorCode::UnknownReference {
        return Ok(false);
    }
    let Some(reference) = reference(&m.opened.payload) else {
        return Ok(false);
    };
    tx.execute(
        "DELETE FROM parked WHERE received_at < ?1",
        [m.received_at.saturating_sub(MAX_PARKED_AGE_MS)],
    )
    .map_err(db_err)?;
    let held: i64 = tx
        .query_row("SELECT count(*) FROM parked", [], |r| r.get(0))
        .map_err(db_err)?;
    if held >= MAX_PARKED {
        return Ok(false);
    }
    tx.execute(
        "INSERT OR IGNORE INTO parked(id, ref, received_at, env_header, env_sig, env_body, wrap, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            m.opened.header.id.to_string(),
            reference,
            m.received_at,
            m.envelope.header,
            m.envelope.sig.as_slice(),
            m.envelope.body,
            m.wrap,
            m.opened.payload_bytes
        ],
    )
    .map_err(db_err)?;
    Ok(true)
}

/// Apply what was parked waiting for `id` (and, in turn, for what that
/// brings), now that it is here. Each result is pushed to `out`; one refused
/// again is recorded as rejected.
pub(crate) fn replay(
    tx: &mut Transaction<'_>,
    id: &str,
    out: &mut Vec<Applied>,
) -> Result<(), ProtoError> {
    let mut waiting = vec![id.to_owned()];
    while let Some(reference) = waiting.pop() {
        for m in take(tx, &reference)? {
            let applied = apply(tx, &Item::incoming(&m))?;
            match &applied {
                Applied::New(row) => waiting.push(row.id.clone()),
                Applied::Rejected(e) => super::apply::record_rejected(tx, &m, e)?,
                _ => {}
            }
            out.push(applied);
        }
    }
    Ok(())
}

/// Remove and return the messages parked for `reference`, oldest first.
fn take(tx: &Connection, reference: &str) -> Result<Vec<Incoming>, ProtoError> {
    let mut st = tx
        .prepare_cached(
            "DELETE FROM parked WHERE ref = ?1
             RETURNING env_header, env_sig, env_body, wrap, payload, received_at",
        )
        .map_err(db_err)?;
    let rows = st
        .query_map([reference], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (header, sig, body, wrap, payload_bytes, received_at) = row.map_err(db_err)?;
        let corrupt = |m: &str| ProtoError::new(ErrorCode::ArchiveCorrupt, format!("parked: {m}"));
        let sig = <[u8; 64]>::try_from(sig.as_slice()).map_err(|_| corrupt("signature size"))?;
        let envelope = Envelope { header, sig, body };
        // Verified and decrypted when it arrived; only decoded again here.
        let opened = Opened {
            header: envelope.decode_header()?,
            payload: Payload::decode_stored(&payload_bytes)?,
            payload_bytes,
        };
        out.push(Incoming {
            opened,
            envelope,
            wrap,
            received_at,
            forwarded: None,
            history: Vec::new(),
        });
    }
    out.sort_by_key(|m| (m.opened.header.created_at, m.opened.header.id));
    Ok(out)
}
