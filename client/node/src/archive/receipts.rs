//! Receipts and reminders: what a recipient tells the sender of a bulletin
//! (delivered, read, acknowledged) and the sender's reminders to acknowledge,
//! plus the recipients list that decides who may send a receipt at all.

use lianxi_shared::payload::{Receipt, ReceiptState, Reminder};
use lianxi_shared::thread;
use lianxi_shared::{Audience, ErrorCode, MessageId, NodeId, Payload, ProtoError};
use rusqlite::{Connection, params};

use super::apply::{Applied, EventKind, Item, known, lookup, record_event, reject};
use super::db_err;

/// Put a receipt for `bulletin` to its sender into the outbox.
pub(crate) fn queue_receipt(
    tx: &Connection,
    bulletin: &str,
    to: &str,
    state: ReceiptState,
    reply: Option<String>,
    now: i64,
) -> Result<(), ProtoError> {
    let bulletin: MessageId = bulletin.parse()?;
    let payload = Payload::Receipt(Receipt {
        bulletin,
        state,
        at: now,
        reply,
    });
    let audience = Audience::Nodes(vec![NodeId::new(to)?]);
    let id = MessageId::generate(now);
    tx.prepare_cached(
        "INSERT INTO outbox(id, created_at, audience, payload, not_before, state) VALUES (?1, ?2, ?3, ?4, NULL, 'queued')",
    )
    .map_err(db_err)?
    .execute(params![id.to_string(), now, audience.to_string(), payload.encode()])
    .map_err(db_err)?;
    Ok(())
}

/// Record the recipients of a bulletin this node sent.
pub(crate) fn record_recipients(
    tx: &Connection,
    id: &str,
    recipients: &[NodeId],
) -> Result<(), ProtoError> {
    let mut st = tx
        .prepare_cached("INSERT OR IGNORE INTO recipients(message_id, node_id) VALUES (?1, ?2)")
        .map_err(db_err)?;
    for r in recipients {
        st.execute(params![id, r.as_str()]).map_err(db_err)?;
    }
    Ok(())
}

/// A reminder to acknowledge a bulletin: marks it (incoming) or its recipients (outgoing).
pub(super) fn apply_reminder(
    tx: &Connection,
    item: &Item<'_>,
    m: &Reminder,
    incoming: bool,
) -> Result<Applied, ProtoError> {
    let h = &item.opened.header;
    let bid = m.bulletin.to_string();
    let Some((orig_sender, direction, _)) = lookup(tx, &m.bulletin)? else {
        return Err(reject(
            ErrorCode::UnknownReference,
            format!("reminder for unknown bulletin {bid}"),
        ));
    };
    if incoming {
        thread::check_reminder(&known(m.bulletin, &orig_sender, direction)?, &h.sender)?;
        tx.execute(
            "UPDATE messages SET reminded_at = ?2 WHERE id = ?1",
            params![bid, item.at],
        )
        .map_err(db_err)?;
    } else if let Audience::Nodes(ids) = &h.audience {
        for n in ids {
            tx.execute(
                "UPDATE recipients SET reminded_at = ?3 WHERE message_id = ?1 AND node_id = ?2",
                params![bid, n.as_str(), item.at],
            )
            .map_err(db_err)?;
        }
    }
    record_event(tx, item, &bid)?;
    Ok(Applied::Event {
        kind: EventKind::Reminder,
        reference: bid,
    })
}

/// A receipt for a bulletin this node sent: records delivery, reading or acknowledgement.
pub(super) fn apply_receipt(
    tx: &Connection,
    item: &Item<'_>,
    r: &Receipt,
    incoming: bool,
) -> Result<Applied, ProtoError> {
    let h = &item.opened.header;
    let sender = h.sender.as_str();
    let bid = r.bulletin.to_string();
    if incoming {
        let Some((orig_sender, direction, _)) = lookup(tx, &r.bulletin)? else {
            return Err(reject(
                ErrorCode::UnknownReference,
                format!("receipt for unknown bulletin {bid}"),
            ));
        };
        let addressed: i64 = tx
            .query_row(
                "SELECT count(*) FROM recipients WHERE message_id = ?1 AND node_id = ?2",
                params![bid, sender],
                |x| x.get(0),
            )
            .map_err(db_err)?;
        let b = known(r.bulletin, &orig_sender, direction)?;
        thread::check_receipt(&b, &h.sender, addressed > 0)?;
        let at = thread::receipt_time(r.at, h.created_at);
        let (d, rd, a) = match r.state {
            ReceiptState::Delivered => (Some(at), None, None),
            ReceiptState::Read => (Some(at), Some(at), None),
            ReceiptState::Acknowledged => (Some(at), Some(at), Some(at)),
        };
        tx.execute(
            "UPDATE recipients SET delivered_at = COALESCE(delivered_at, ?3), read_at = COALESCE(read_at, ?4),
                acked_at = COALESCE(acked_at, ?5), reply = COALESCE(reply, ?6)
             WHERE message_id = ?1 AND node_id = ?2",
            params![bid, sender, d, rd, a, r.reply],
        )
        .map_err(db_err)?;
    }
    record_event(tx, item, &bid)?;
    Ok(Applied::Event {
        kind: EventKind::Receipt,
        reference: bid,
    })
}
