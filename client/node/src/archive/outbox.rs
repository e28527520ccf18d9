//! The outbox: every message this node sends is written here, durably, before
//! any attempt to send it, and stays until the hub has acknowledged it.

use lianxi_shared::envelope::Opened;
use lianxi_shared::{Audience, Envelope, ErrorCode, MessageId, Payload, ProtoError, Wrap};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::apply::{Applied, Item, apply};
use super::receipts::record_recipients;
use super::{Archive, db_err};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    Queued,
    Sent,
    Failed,
}

/// The sealed form kept in the outbox, so that a retry resends identical bytes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SealedForm {
    pub envelope: Envelope,
    pub wraps: Vec<Wrap>,
    /// The message key, kept for case messages (a later share carries them
    /// as verifiable originals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OutboxItem {
    pub id: MessageId,
    pub created_at: i64,
    pub audience: String,
    pub title: String,
    #[serde(skip)]
    pub payload: Option<Payload>,
    pub not_before: Option<i64>,
    #[serde(skip)]
    pub sealed: Option<SealedForm>,
    pub state: OutboxState,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub recipients: Option<i64>,
}

fn cbor_err(e: impl std::fmt::Display) -> ProtoError {
    ProtoError::new(ErrorCode::ArchiveCorrupt, format!("outbox entry: {e}"))
}

impl Archive {
    pub fn queue(
        &self,
        id: MessageId,
        created_at: i64,
        audience: &Audience,
        payload: &Payload,
        not_before: Option<i64>,
    ) -> Result<(), ProtoError> {
        self.conn
            .execute(
                "INSERT INTO outbox(id, created_at, audience, payload, not_before, state) VALUES (?1, ?2, ?3, ?4, ?5, 'queued')",
                params![id.to_string(), created_at, audience.to_string(), payload.encode(), not_before],
            )
            .map(|_| ())
            .map_err(db_err)
    }

    fn outbox_rows(&self, where_: &str, arg: Option<&str>) -> Result<Vec<OutboxItem>, ProtoError> {
        let sql = format!(
            "SELECT id, created_at, audience, payload, not_before, sealed, state, attempts, last_error, recipients
             FROM outbox {where_} ORDER BY created_at"
        );
        let mut st = self.conn.prepare_cached(&sql).map_err(db_err)?;
        let rows = st
            .query_map(rusqlite::params_from_iter(arg.iter()), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<Vec<u8>>>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<i64>>(9)?,
                ))
            })
            .map_err(db_err)?;
        let mut out = Vec::new();
        for r in rows {
            let (
                id,
                created_at,
                audience,
                payload,
                not_before,
                sealed,
                state,
                attempts,
                last_error,
                recipients,
            ) = r.map_err(db_err)?;
            let payload = Payload::decode_stored(&payload).ok();
            let sealed = match sealed {
                Some(b) => Some(
                    lianxi_shared::cbor::from_slice::<SealedForm>(&b, ErrorCode::ArchiveCorrupt)
                        .map_err(cbor_err)?,
                ),
                None => None,
            };
            out.push(OutboxItem {
                id: id.parse().map_err(cbor_err)?,
                created_at,
                audience,
                title: payload
                    .as_ref()
                    .map(|p| p.title().to_owned())
                    .unwrap_or_default(),
                payload,
                not_before,
                sealed,
                state: match state.as_str() {
                    "sent" => OutboxState::Sent,
                    "failed" => OutboxState::Failed,
                    _ => OutboxState::Queued,
                },
                attempts,
                last_error,
                recipients,
            });
        }
        Ok(out)
    }

    /// Everything still to send, oldest first.
    pub fn pending(&self) -> Result<Vec<OutboxItem>, ProtoError> {
        self.outbox_rows("WHERE state = 'queued'", None)
    }

    pub fn pending_count(&self) -> Result<u64, ProtoError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM outbox WHERE state = 'queued'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(db_err)
    }

    pub fn outbox(&self) -> Result<Vec<OutboxItem>, ProtoError> {
        self.outbox_rows("", None)
    }

    pub fn outbox_item(&self, id: &MessageId) -> Result<Option<OutboxItem>, ProtoError> {
        Ok(self
            .outbox_rows("WHERE id = ?1", Some(&id.to_string()))?
            .into_iter()
            .next())
    }

    /// Persist the sealed form before the first attempt to send it.
    pub fn set_sealed(&self, id: &MessageId, form: &SealedForm) -> Result<(), ProtoError> {
        let n = self
            .conn
            .execute(
                "UPDATE outbox SET sealed = ?2 WHERE id = ?1 AND sealed IS NULL",
                params![id.to_string(), lianxi_shared::cbor::to_vec(form)],
            )
            .map_err(db_err)?;
        if n == 1 {
            Ok(())
        } else {
            Err(ProtoError::new(
                ErrorCode::Internal,
                "outbox entry already sealed",
            ))
        }
    }

    /// The hub acknowledged it: mark it sent and apply it to this node's own
    /// archive (a bulletin is kept as an outgoing message with its recipients;
    /// a revision, withdrawal or reminder updates the thread it refers to).
    pub fn mark_sent(
        &mut self,
        id: &MessageId,
        opened: &Opened,
        envelope: &Envelope,
        key: Option<&str>,
        recipients: &[lianxi_shared::NodeId],
        now: i64,
    ) -> Result<(), ProtoError> {
        let mut tx = self.conn.transaction().map_err(db_err)?;
        tx.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?2, recipients = ?3, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
            params![id.to_string(), now, recipients.len() as i64],
        )
        .map_err(db_err)?;
        let item = Item {
            direction: super::Direction::Out,
            opened,
            envelope,
            wrap: None,
            own_key: key,
            at: now,
            forwarded: None,
            history: &[],
            via: None,
        };
        if let Applied::Rejected(e) = apply(&mut tx, &item)? {
            tracing::warn!(%id, code = %e.code, reason = %e.message, "sent message could not be applied locally");
        }
        if opened.payload.bulletin().is_some() {
            record_recipients(&tx, &id.to_string(), recipients)?;
        }
        tx.commit().map_err(db_err)
    }

    /// A failed attempt: permanent failures leave the queue, others are retried.
    pub fn mark_attempt(
        &self,
        id: &MessageId,
        error: &ProtoError,
        permanent: bool,
    ) -> Result<(), ProtoError> {
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, state = CASE WHEN ?3 THEN 'failed' ELSE state END WHERE id = ?1",
                params![id.to_string(), error.to_string(), permanent],
            )
            .map(|_| ())
            .map_err(db_err)
    }

    pub fn outbox_state(&self, id: &MessageId) -> Result<Option<OutboxState>, ProtoError> {
        let s: Option<String> = self
            .conn
            .query_row(
                "SELECT state FROM outbox WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        Ok(s.map(|s| match s.as_str() {
            "sent" => OutboxState::Sent,
            "failed" => OutboxState::Failed,
            _ => OutboxState::Queued,
        }))
    }
}
