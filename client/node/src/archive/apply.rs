//! Applying messages to the archive, incoming and outgoing alike: bulletins and
//! their threads (revisions, withdrawal) and forwards; receipts and reminders
//! are in `receipts`.
//!
//! Every rule that depends on what the archive holds is checked here, inside the
//! transaction that applies the message: a receipt, reminder, revision or
//! withdrawal that refers to an unknown or foreign bulletin, or comes from
//! someone not entitled to send it, is rejected and changes nothing.

use lianxi_shared::envelope::Opened;
use lianxi_shared::payload::{Forward, ReceiptState, Revision, Withdrawal};
use lianxi_shared::thread::{Known, ThreadEvent, ThreadMsg};
use lianxi_shared::{Bulletin, Envelope, ErrorCode, MessageId, NodeId, Payload, ProtoError};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use sha2::Digest;

use super::messages::{Direction, Forwarded, Incoming, MessageRow};
use super::receipts::queue_receipt;
use super::{Archive, db_err, threads};
use crate::search;

/// What applying one message did.
#[allow(clippy::large_enum_variant)] // short-lived; a message row is the common case
#[derive(Debug)]
pub enum Applied {
    /// A new bulletin (or revision, or forwarded bulletin) in the archive.
    New(MessageRow),
    /// Seen before: nothing changed.
    Duplicate,
    /// A message that is not a new bulletin took effect.
    Event {
        kind: EventKind,
        reference: String,
    },
    Rejected(ProtoError),
    /// It refers to a bulletin not here yet: kept, and applied when that
    /// arrives (the error says what it waits for).
    Parked(ProtoError),
}

/// What kind of message an [`Applied::Event`] was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A case message; `reference` is the case id.
    Case,
    /// A conference message; `reference` is its session (empty for none).
    Conference,
    /// A withdrawal; `reference` is the bulletin's thread.
    Withdrawal,
    /// A reminder; `reference` is the bulletin.
    Reminder,
    /// A receipt; `reference` is the bulletin.
    Receipt,
    /// A forward this node sent; `reference` is the message it carried.
    Forward,
}

pub(crate) struct Item<'a> {
    pub direction: Direction,
    pub opened: &'a Opened,
    pub envelope: &'a Envelope,
    pub wrap: Option<&'a [u8]>,
    /// For a message this node sent: its message key (kept for case messages).
    pub own_key: Option<&'a str>,
    pub at: i64,
    pub forwarded: Option<&'a Forwarded>,
    pub history: &'a [Forwarded],
    /// For a message that came inside a forward: the node that forwarded it.
    pub via: Option<&'a str>,
}

impl<'a> Item<'a> {
    /// An arrival from the hub, as received (or as parked).
    pub(crate) fn incoming(m: &'a Incoming) -> Item<'a> {
        Item {
            direction: Direction::In,
            opened: &m.opened,
            envelope: &m.envelope,
            wrap: Some(&m.wrap),
            own_key: None,
            at: m.received_at,
            forwarded: m.forwarded.as_ref(),
            history: &m.history,
            via: None,
        }
    }
}

/// How far a forwarded original's time may be after the forward's own (clocks differ).
const FORWARD_SKEW_MS: i64 = 10 * 60 * 1000;

pub(super) fn reject(code: ErrorCode, m: impl Into<String>) -> ProtoError {
    ProtoError::new(code, m)
}

fn exists(tx: &Connection, id: &str) -> Result<bool, ProtoError> {
    let n: i64 = tx
        .prepare_cached("SELECT (SELECT count(*) FROM messages WHERE id = ?1) + (SELECT count(*) FROM events WHERE id = ?1)")
        .map_err(db_err)?
        .query_row([id], |r| r.get(0))
        .map_err(db_err)?;
    Ok(n > 0)
}

/// (sender, direction, thread) of a message in the archive.
pub(super) fn lookup(
    tx: &Connection,
    id: &MessageId,
) -> Result<Option<(String, Direction, String)>, ProtoError> {
    tx.prepare_cached("SELECT sender, direction, COALESCE(thread, id) FROM messages WHERE id = ?1")
        .map_err(db_err)?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .map_err(db_err)
}

/// This message as a thread's event.
fn thread_event(item: &Item<'_>, msg: ThreadMsg) -> ThreadEvent {
    let h = &item.opened.header;
    ThreadEvent {
        id: h.id,
        sender: h.sender.clone(),
        created_at: h.created_at,
        msg,
        context: (),
    }
}

/// What the archive knows of a bulletin a receipt or reminder names.
pub(super) fn known(
    id: MessageId,
    sender: &str,
    direction: Direction,
) -> Result<Known, ProtoError> {
    Ok(Known {
        id,
        sender: NodeId::new(sender)?,
        ours: direction == Direction::Out,
    })
}

#[allow(clippy::too_many_arguments)]
fn insert_bulletin(
    tx: &Connection,
    item: &Item<'_>,
    opened: &Opened,
    envelope: &Envelope,
    b: &Bulletin,
    thread: &str,
    revision: u32,
    note: Option<&str>,
) -> Result<MessageRow, ProtoError> {
    let h = &opened.header;
    let via = item.via;
    // A forwarded copy never asks its receiver for a receipt.
    let ack_required = b.ack_required && via.is_none();
    let id = h.id.to_string();
    let tags = serde_json::to_string(&b.tags).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "INSERT INTO messages(id, direction, kind, sender, audience, title, body, payload, created_at, not_before,
            received_at, read_at, env_header, env_sig, env_body, wrap, category, issuer, doc_number, effective, region,
            tags, ack_required, ack_by, thread, revision, note, via)
         VALUES (?1, ?2, 'bulletin', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
            ?21, ?22, ?23, ?24, ?25, ?26, ?27)",
    )
    .map_err(db_err)?
    .execute(params![
        id,
        item.direction,
        h.sender.as_str(),
        h.audience.to_string(),
        b.title,
        b.body,
        opened.payload_bytes,
        h.created_at,
        h.not_before,
        item.at,
        (item.direction == Direction::Out).then_some(item.at),
        envelope.header,
        envelope.sig.as_slice(),
        envelope.body,
        item.wrap,
        b.category.map(|c| c.as_str()),
        b.issuer,
        b.doc_number,
        b.effective,
        b.region,
        tags,
        ack_required,
        b.ack_by,
        thread,
        revision,
        note,
        via,
    ])
    .map_err(db_err)?;
    let rowid = tx.last_insert_rowid();
    let extra = [
        b.issuer.as_deref(),
        b.doc_number.as_deref(),
        b.region.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let index = search::index_text(&format!(
        "{}\n{}\n{}\n{}",
        b.title,
        b.body,
        extra,
        b.tags.join(" ")
    ));
    tx.prepare_cached("INSERT INTO messages_fts(rowid, bi, uni) VALUES (?1, ?2, ?3)")
        .map_err(db_err)?
        .execute(params![rowid, index.bi, index.uni])
        .map_err(db_err)?;
    let mut word = tx
        .prepare_cached("INSERT OR IGNORE INTO search_words(word) VALUES (?1)")
        .map_err(db_err)?;
    for w in &index.words {
        word.execute([w]).map_err(db_err)?;
    }
    drop(word);
    for (idx, a) in b.attachments.iter().enumerate() {
        let digest: [u8; 32] = sha2::Sha256::digest(&a.data).into();
        tx.prepare_cached("INSERT OR IGNORE INTO blobs(sha256, data) VALUES (?1, ?2)")
            .map_err(db_err)?
            .execute(params![digest.as_slice(), a.data])
            .map_err(db_err)?;
        tx.prepare_cached("INSERT INTO attachments(message_id, idx, name, size, sha256) VALUES (?1, ?2, ?3, ?4, ?5)")
            .map_err(db_err)?
            .execute(params![id, idx as i64, a.name, a.data.len() as i64, digest.as_slice()])
            .map_err(db_err)?;
    }
    super::threads::settle(tx, thread)?;
    let read = item.direction == Direction::Out;
    Ok(MessageRow {
        id,
        direction: item.direction,
        kind: "bulletin".into(),
        sender: h.sender.to_string(),
        audience: h.audience.to_string(),
        title: b.title.clone(),
        body: Some(b.body.clone()),
        created_at: h.created_at,
        not_before: h.not_before,
        received_at: item.at,
        read,
        state: "current".into(),
        revision: i64::from(revision),
        category: b.category.map(|c| c.as_str().to_owned()),
        ack_required,
        acked: false,
        via: via.map(str::to_owned),
        attachments: i64::try_from(b.attachments.len()).unwrap_or(i64::MAX),
        detail: None,
    })
}

pub(super) fn record_event(
    tx: &Connection,
    item: &Item<'_>,
    reference: &str,
) -> Result<(), ProtoError> {
    let h = &item.opened.header;
    tx.prepare_cached(
        "INSERT INTO events(id, direction, kind, sender, ref, at, payload, env_header, env_sig, env_body, wrap)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .map_err(db_err)?
    .execute(params![
        h.id.to_string(),
        item.direction,
        item.opened.payload.kind(),
        h.sender.as_str(),
        reference,
        item.at,
        item.opened.payload_bytes,
        item.envelope.header,
        item.envelope.sig.as_slice(),
        item.envelope.body,
        item.wrap,
    ])
    .map_err(db_err)?;
    Ok(())
}

/// Apply one message in its own savepoint.
pub(crate) fn apply(tx: &mut Transaction<'_>, item: &Item<'_>) -> Result<Applied, ProtoError> {
    let sp = tx.savepoint().map_err(db_err)?;
    let r = apply_inner(&sp, item);
    match r {
        Ok(a) => {
            sp.commit().map_err(db_err)?;
            Ok(a)
        }
        Err(e) if matches!(e.code, ErrorCode::Io | ErrorCode::ArchiveCorrupt) => Err(e),
        Err(e) => {
            drop(sp); // roll back this message only
            Ok(Applied::Rejected(e))
        }
    }
}

fn apply_inner(tx: &Connection, item: &Item<'_>) -> Result<Applied, ProtoError> {
    let h = &item.opened.header;
    if let Payload::Case(c) = &item.opened.payload {
        super::cases::apply_case(
            tx,
            item.direction,
            h,
            c,
            &item.opened.payload_bytes,
            item.envelope,
            item.wrap.or(item.own_key.map(str::as_bytes)),
            item.history,
            item.at,
        )?;
        return Ok(Applied::Event {
            kind: EventKind::Case,
            reference: c.case.to_string(),
        });
    }
    if let Payload::Conference(c) = &item.opened.payload {
        let new = super::conference::apply_conf(
            tx,
            item.direction,
            h,
            c,
            &item.opened.payload_bytes,
            item.envelope,
            item.at,
        )?;
        if !new {
            return Ok(Applied::Duplicate);
        }
        return Ok(Applied::Event {
            kind: EventKind::Conference,
            reference: c.session().map(|s| s.to_string()).unwrap_or_default(),
        });
    }
    if exists(tx, &h.id.to_string())? {
        return Ok(Applied::Duplicate);
    }
    let incoming = item.direction == Direction::In;
    match &item.opened.payload {
        Payload::Bulletin(b) => apply_bulletin(tx, item, b, incoming),
        Payload::Forward(f) => apply_forward(tx, item, f),
        Payload::Revision(v) => apply_revision(tx, item, v, incoming),
        Payload::Withdrawal(w) => apply_withdrawal(tx, item, w),
        Payload::Reminder(m) => super::receipts::apply_reminder(tx, item, m, incoming),
        Payload::Receipt(r) => super::receipts::apply_receipt(tx, item, r, incoming),
        Payload::Case(_) | Payload::Conference(_) => Ok(Applied::Duplicate), // applied above
    }
}

/// A new bulletin; an incoming one that asks for it gets a delivery receipt.
fn apply_bulletin(
    tx: &Connection,
    item: &Item<'_>,
    b: &Bulletin,
    incoming: bool,
) -> Result<Applied, ProtoError> {
    let h = &item.opened.header;
    let sender = h.sender.as_str();
    let row = insert_bulletin(
        tx,
        item,
        item.opened,
        item.envelope,
        b,
        &h.id.to_string(),
        0,
        None,
    )?;
    if incoming && b.ack_required {
        queue_receipt(tx, &row.id, sender, ReceiptState::Delivered, None, item.at)?;
    }
    Ok(Applied::New(row))
}

/// A forwarded message: its verified original (a bulletin, or a revision or
/// withdrawal of a thread this node holds) is applied as if received from its
/// author, marked as come via the forwarder; a bulletin keeps the forward's note.
fn apply_forward(tx: &Connection, item: &Item<'_>, f: &Forward) -> Result<Applied, ProtoError> {
    let h = &item.opened.header;
    if item.direction == Direction::Out {
        // What this node forwarded, and to whom (the header's audience): a
        // thread's later messages follow it there.
        let oid = f.envelope.decode_header()?.id.to_string();
        record_event(tx, item, &oid)?;
        return Ok(Applied::Event {
            kind: EventKind::Forward,
            reference: oid,
        });
    }
    let fw = item
        .forwarded
        .ok_or_else(|| reject(ErrorCode::BadPayload, "forward was not verified"))?;
    // A forwarded original was never checked by the hub: its time
    // must precede the forward (a year-9999 original once crashed
    // every recipient's terminal UI).
    let ot = fw.opened.header.created_at;
    if !(0..=h.created_at.saturating_add(FORWARD_SKEW_MS)).contains(&ot) {
        return Err(reject(
            ErrorCode::BadPayload,
            "the forwarded original is dated after the forward",
        ));
    }
    let oid = fw.opened.header.id.to_string();
    if exists(tx, &oid)? {
        record_event(tx, item, &oid)?;
        return Ok(Applied::Duplicate);
    }
    let inner = Item {
        opened: &fw.opened,
        envelope: &fw.envelope,
        wrap: Some(fw.key.as_bytes()),
        forwarded: None,
        history: &[],
        via: Some(h.sender.as_str()),
        ..*item
    };
    let applied = match &fw.opened.payload {
        Payload::Bulletin(b) => {
            let row = insert_bulletin(
                tx,
                &inner,
                &fw.opened,
                &fw.envelope,
                b,
                &oid,
                0,
                Some(&f.note),
            )?;
            Applied::New(row)
        }
        Payload::Revision(v) => apply_revision(tx, &inner, v, false)?,
        Payload::Withdrawal(w) => apply_withdrawal(tx, &inner, w)?,
        _ => {
            return Err(reject(
                ErrorCode::BadPayload,
                "only bulletins, their revisions and withdrawals can be forwarded",
            ));
        }
    };
    record_event(tx, item, &oid)?;
    Ok(applied)
}

/// A revision of a bulletin in the archive, if the thread allows it.
fn apply_revision(
    tx: &Connection,
    item: &Item<'_>,
    v: &Revision,
    incoming: bool,
) -> Result<Applied, ProtoError> {
    let h = &item.opened.header;
    let sender = h.sender.as_str();
    let Some((author, _, thread)) = lookup(tx, &v.original)? else {
        return Err(reject(
            ErrorCode::UnknownReference,
            format!("revision of unknown bulletin {}", v.original),
        ));
    };
    let msg = ThreadMsg::Revision {
        revision: v.revision,
    };
    threads::check(&author, &thread_event(item, msg))?;
    let row = insert_bulletin(
        tx,
        item,
        item.opened,
        item.envelope,
        &v.bulletin,
        &thread,
        v.revision,
        Some(&v.note),
    )?;
    if item.direction == Direction::In {
        super::forwards::note_follow(tx, &thread, &row.id)?;
    }
    if incoming && v.bulletin.ack_required && item.via.is_none() {
        queue_receipt(tx, &row.id, sender, ReceiptState::Delivered, None, item.at)?;
    }
    Ok(Applied::New(row))
}

/// A withdrawal of a bulletin thread, if the thread allows it.
fn apply_withdrawal(
    tx: &Connection,
    item: &Item<'_>,
    w: &Withdrawal,
) -> Result<Applied, ProtoError> {
    let Some((author, _, thread)) = lookup(tx, &w.original)? else {
        return Err(reject(
            ErrorCode::UnknownReference,
            format!("withdrawal of unknown bulletin {}", w.original),
        ));
    };
    let msg = ThreadMsg::Withdrawal {
        reason: w.reason.clone(),
    };
    threads::check(&author, &thread_event(item, msg))?;
    record_event(tx, item, &thread)?;
    threads::settle(tx, &thread)?;
    if item.direction == Direction::In {
        super::forwards::note_follow(tx, &thread, &item.opened.header.id.to_string())?;
    }
    Ok(Applied::Event {
        kind: EventKind::Withdrawal,
        reference: thread,
    })
}

impl Archive {
    /// Apply a batch of arrivals in one transaction; each is applied or rejected
    /// on its own. Duplicates (the same id again) change nothing.
    pub fn apply_incoming(&mut self, batch: &[Incoming]) -> Result<Vec<Applied>, ProtoError> {
        let mut tx = self.conn.transaction().map_err(db_err)?;
        let mut out = Vec::with_capacity(batch.len());
        for m in batch {
            let applied = apply(&mut tx, &Item::incoming(m))?;
            let new_id = match &applied {
                Applied::New(row) => Some(row.id.clone()),
                _ => None,
            };
            match applied {
                Applied::Rejected(e) if super::parked::park(&tx, m, &e)? => {
                    out.push(Applied::Parked(e));
                }
                Applied::Rejected(e) => {
                    record_rejected(&tx, m, &e)?;
                    out.push(Applied::Rejected(e));
                }
                other => out.push(other),
            }
            if let Some(id) = new_id {
                super::parked::replay(&mut tx, &id, &mut out)?;
            }
        }
        tx.commit().map_err(db_err)?;
        Ok(out)
    }
}

/// Keep a refused arrival's header and why, for `sync` and the operator.
pub(crate) fn record_rejected(
    tx: &Connection,
    m: &Incoming,
    e: &ProtoError,
) -> Result<(), ProtoError> {
    tx.execute(
        "INSERT INTO rejected(received_at, code, message, env_header) VALUES (?1, ?2, ?3, ?4)",
        params![m.received_at, e.code.as_str(), e.message, m.envelope.header],
    )
    .map_err(db_err)?;
    Ok(())
}
