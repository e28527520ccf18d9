//! Bulletin-specific queries: full details, threads, receipts, acknowledgement,
//! filters and attachments.

use lianxi_shared::payload::ReceiptState;
use lianxi_shared::{ErrorCode, NodeId, ProtoError};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::messages::{COLS, MessageRow, RELEASED, row};
use super::{Archive, db_err};

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AttachmentInfo {
    pub name: String,
    pub size: i64,
    pub sha256: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HistoryEntry {
    pub id: String,
    pub revision: i64,
    pub title: String,
    pub note: Option<String>,
    pub created_at: i64,
    pub state: String,
}

/// Everything about a bulletin beyond its list row.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct Detail {
    pub issuer: Option<String>,
    pub doc_number: Option<String>,
    pub effective: Option<String>,
    pub region: Option<String>,
    pub tags: Vec<String>,
    pub ack_by: Option<i64>,
    pub acked_at: Option<i64>,
    pub ack_reply: Option<String>,
    pub thread: String,
    /// Revision note, or the withdrawal reason.
    pub note: Option<String>,
    pub reminded_at: Option<i64>,
    pub attachments: Vec<AttachmentInfo>,
    /// Every version of the thread, oldest first.
    pub history: Vec<HistoryEntry>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn detail(c: &Connection, id: &str) -> Result<Detail, ProtoError> {
    let mut d = c
        .query_row(
            "SELECT issuer, doc_number, effective, region, tags, ack_by, acked_at, ack_reply, COALESCE(thread, id), note, reminded_at
             FROM messages WHERE id = ?1",
            [id],
            |r| {
                let tags: String = r.get(4)?;
                Ok(Detail {
                    issuer: r.get(0)?,
                    doc_number: r.get(1)?,
                    effective: r.get(2)?,
                    region: r.get(3)?,
                    tags: serde_json::from_str(&tags).unwrap_or_default(),
                    ack_by: r.get(5)?,
                    acked_at: r.get(6)?,
                    ack_reply: r.get(7)?,
                    thread: r.get(8)?,
                    note: r.get(9)?,
                    reminded_at: r.get(10)?,
                    ..Default::default()
                })
            },
        )
        .map_err(db_err)?;
    let mut st = c
        .prepare_cached(
            "SELECT name, size, sha256 FROM attachments WHERE message_id = ?1 ORDER BY idx",
        )
        .map_err(db_err)?;
    d.attachments = st
        .query_map([id], |r| {
            Ok(AttachmentInfo {
                name: r.get(0)?,
                size: r.get(1)?,
                sha256: hex(&r.get::<_, Vec<u8>>(2)?),
            })
        })
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let mut st = c
        .prepare_cached("SELECT id, revision, title, note, created_at, state FROM messages WHERE thread = ?1 ORDER BY revision, created_at")
        .map_err(db_err)?;
    d.history = st
        .query_map([&d.thread], |r| {
            Ok(HistoryEntry {
                id: r.get(0)?,
                revision: r.get(1)?,
                title: r.get(2)?,
                note: r.get(3)?,
                created_at: r.get(4)?,
                state: r.get(5)?,
            })
        })
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    Ok(d)
}

/// One recipient's receipt state.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RecipientState {
    pub node_id: String,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub acked_at: Option<i64>,
    pub reply: Option<String>,
    pub reminded_at: Option<i64>,
    pub overdue: bool,
}

impl RecipientState {
    pub fn state(&self) -> &'static str {
        if self.acked_at.is_some() {
            ReceiptState::Acknowledged.as_str()
        } else if self.read_at.is_some() {
            ReceiptState::Read.as_str()
        } else if self.delivered_at.is_some() {
            ReceiptState::Delivered.as_str()
        } else {
            "pending"
        }
    }
}

/// The receipts matrix of a bulletin this node sent.
#[derive(Clone, Debug, Serialize)]
pub struct Receipts {
    pub id: String,
    pub title: String,
    pub ack_required: bool,
    pub ack_by: Option<i64>,
    pub recipients: Vec<RecipientState>,
    pub delivered: usize,
    pub read: usize,
    pub acknowledged: usize,
    pub overdue: usize,
}

/// List filters (all optional; combined with AND).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub kind: Option<String>,
    pub category: Option<String>,
    pub issuer: Option<String>,
    pub sender: Option<String>,
    pub tag: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub unread: bool,
    pub unacked: bool,
}

/// The WHERE clause for a [`Filter`], parameters ?1 to ?9.
fn filter_sql() -> String {
    format!(
        "state != 'superseded' AND {RELEASED}
           AND (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR category = ?2)
           AND (?3 IS NULL OR issuer LIKE '%' || ?3 || '%')
           AND (?4 IS NULL OR sender = ?4)
           AND (?5 IS NULL OR EXISTS (SELECT 1 FROM json_each(messages.tags) WHERE value = ?5))
           AND (?6 IS NULL OR created_at >= ?6) AND (?7 IS NULL OR created_at <= ?7)
           AND (NOT ?8 OR read_at IS NULL)
           AND (NOT ?9 OR (ack_required AND acked_at IS NULL AND direction = 'in' AND state = 'current'))"
    )
}

impl Archive {
    /// (matching, unread among them) for a filter.
    pub fn count_filtered(&self, f: &Filter) -> Result<(usize, usize), ProtoError> {
        let sql = format!(
            "SELECT count(*), count(*) FILTER (WHERE read_at IS NULL) FROM messages WHERE {}",
            filter_sql()
        );
        self.conn
            .prepare_cached(&sql)
            .map_err(db_err)?
            .query_row(
                params![
                    f.kind, f.category, f.issuer, f.sender, f.tag, f.since, f.until, f.unread,
                    f.unacked
                ],
                |r| Ok((r.get::<_, i64>(0)? as usize, r.get::<_, i64>(1)? as usize)),
            )
            .map_err(db_err)
    }

    /// Messages matching `f`, newest first.
    pub fn list_filtered(
        &self,
        f: &Filter,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<MessageRow>, ProtoError> {
        let sql = format!(
            "SELECT {COLS} FROM messages WHERE state != 'superseded' AND {RELEASED}
               AND (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR category = ?2)
               AND (?3 IS NULL OR issuer LIKE '%' || ?3 || '%')
               AND (?4 IS NULL OR sender = ?4)
               AND (?5 IS NULL OR EXISTS (SELECT 1 FROM json_each(messages.tags) WHERE value = ?5))
               AND (?6 IS NULL OR created_at >= ?6) AND (?7 IS NULL OR created_at <= ?7)
               AND (NOT ?8 OR read_at IS NULL)
               AND (NOT ?9 OR (ack_required AND acked_at IS NULL AND direction = 'in' AND state = 'current'))
             ORDER BY created_at DESC, rowid DESC LIMIT ?10 OFFSET ?11"
        );
        let mut st = self.conn.prepare_cached(&sql).map_err(db_err)?;
        let rows = st
            .query_map(
                params![
                    f.kind,
                    f.category,
                    f.issuer,
                    f.sender,
                    f.tag,
                    f.since,
                    f.until,
                    f.unread,
                    f.unacked,
                    limit as i64,
                    offset as i64
                ],
                row,
            )
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    /// Acknowledge a received bulletin (收文回执), optionally with a one-line
    /// reply; queues the signed receipt to its sender. Returns false if it was
    /// already acknowledged.
    pub fn acknowledge(
        &mut self,
        id: &str,
        reply: Option<String>,
        now: i64,
    ) -> Result<bool, ProtoError> {
        let id = self.resolve_id(id)?;
        let tx = self.conn.transaction().map_err(db_err)?;
        let (sender, direction, required, acked, state, via): (String, super::Direction, bool, Option<i64>, String, Option<String>) = tx
            .query_row("SELECT sender, direction, ack_required, acked_at, state, via FROM messages WHERE id = ?1", [&id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .map_err(db_err)?;
        if direction != super::Direction::In {
            return Err(ProtoError::new(
                ErrorCode::BadRequest,
                "only received bulletins can be acknowledged",
            ));
        }
        if let Some(via) = via {
            return Err(ProtoError::new(
                ErrorCode::NotEntitled,
                format!(
                    "{via} forwarded this copy; {sender} asked its own recipients for a receipt, not this node"
                ),
            ));
        }
        if state == "withdrawn" {
            return Err(ProtoError::new(
                ErrorCode::Withdrawn,
                "this bulletin has been withdrawn; there is nothing to acknowledge",
            ));
        }
        if !required {
            return Err(ProtoError::new(
                ErrorCode::BadRequest,
                "this bulletin does not ask for acknowledgement",
            ));
        }
        if acked.is_some() {
            return Ok(false);
        }
        tx.execute(
            "UPDATE messages SET acked_at = ?2, ack_reply = ?3, read_at = COALESCE(read_at, ?2) WHERE id = ?1",
            params![id, now, reply],
        )
        .map_err(db_err)?;
        super::receipts::queue_receipt(&tx, &id, &sender, ReceiptState::Acknowledged, reply, now)?;
        tx.commit().map_err(db_err)?;
        Ok(true)
    }

    /// The receipts matrix of a bulletin this node sent.
    pub fn receipts(&self, id: &str, now: i64) -> Result<Receipts, ProtoError> {
        let id = self.resolve_id(id)?;
        let (title, direction, ack_required, ack_by): (
            String,
            super::Direction,
            bool,
            Option<i64>,
        ) = self
            .conn
            .query_row(
                "SELECT title, direction, ack_required, ack_by FROM messages WHERE id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .map_err(db_err)?;
        if direction != super::Direction::Out {
            return Err(ProtoError::new(
                ErrorCode::UnknownReference,
                "receipts exist only for bulletins this node sent",
            ));
        }
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT node_id, delivered_at, read_at, acked_at, reply, reminded_at FROM recipients WHERE message_id = ?1 ORDER BY node_id",
            )
            .map_err(db_err)?;
        let recipients: Vec<RecipientState> = st
            .query_map([&id], |r| {
                let acked_at: Option<i64> = r.get(3)?;
                Ok(RecipientState {
                    node_id: r.get(0)?,
                    delivered_at: r.get(1)?,
                    read_at: r.get(2)?,
                    acked_at,
                    reply: r.get(4)?,
                    reminded_at: r.get(5)?,
                    overdue: ack_required && acked_at.is_none() && ack_by.is_some_and(|t| t < now),
                })
            })
            .map_err(db_err)?
            .collect::<Result<_, _>>()
            .map_err(db_err)?;
        let count =
            |f: &dyn Fn(&RecipientState) -> bool| recipients.iter().filter(|r| f(r)).count();
        Ok(Receipts {
            delivered: count(&|r| r.delivered_at.is_some()),
            read: count(&|r| r.read_at.is_some()),
            acknowledged: count(&|r| r.acked_at.is_some()),
            overdue: count(&|r| r.overdue),
            id,
            title,
            ack_required,
            ack_by,
            recipients,
        })
    }

    /// Recipients who have not acknowledged a bulletin this node sent.
    pub fn unacknowledged(&self, id: &str) -> Result<Vec<NodeId>, ProtoError> {
        let r = self.receipts(id, 0)?;
        Ok(r.recipients
            .into_iter()
            .filter(|x| x.acked_at.is_none())
            .filter_map(|x| NodeId::new(x.node_id).ok())
            .collect())
    }

    /// The bulletin payload of a message (for revising or exporting it).
    pub fn bulletin_of(
        &self,
        id: &str,
    ) -> Result<(MessageRow, lianxi_shared::Bulletin), ProtoError> {
        let id = self.resolve_id(id)?;
        let payload: Vec<u8> = self
            .conn
            .query_row("SELECT payload FROM messages WHERE id = ?1", [&id], |r| {
                r.get(0)
            })
            .map_err(db_err)?;
        let p = lianxi_shared::Payload::decode_stored(&payload)?;
        let b = match p {
            lianxi_shared::Payload::Bulletin(b) => b,
            lianxi_shared::Payload::Revision(r) => r.bulletin,
            lianxi_shared::Payload::Forward(_) => {
                return Err(ProtoError::new(
                    ErrorCode::ArchiveCorrupt,
                    "a forward is stored as its original",
                ));
            }
            _ => {
                return Err(ProtoError::new(
                    ErrorCode::NotFound,
                    format!("{id} is not a bulletin"),
                ));
            }
        };
        let sql = format!("SELECT {COLS} FROM messages WHERE id = ?1");
        let row = self.conn.query_row(&sql, [&id], row).map_err(db_err)?;
        Ok((row, b))
    }

    /// The current version of a thread and the highest revision number in it.
    pub fn thread_head(&self, id: &str) -> Result<(String, String, i64), ProtoError> {
        let id = self.resolve_id(id)?;
        let thread: String = self
            .conn
            .query_row(
                "SELECT COALESCE(thread, id) FROM messages WHERE id = ?1",
                [&id],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        let (current, max): (Option<String>, i64) = self
            .conn
            .query_row(
                "SELECT (SELECT id FROM messages WHERE thread = ?1 ORDER BY revision DESC LIMIT 1), COALESCE(max(revision), 0) FROM messages WHERE thread = ?1",
                [&thread],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db_err)?;
        Ok((thread, current.unwrap_or(id), max))
    }

    /// An attachment's content by message and name (or index).
    pub fn attachment(&self, id: &str, name: &str) -> Result<(String, Vec<u8>), ProtoError> {
        let id = self.resolve_id(id)?;
        self.conn
            .query_row(
                "SELECT a.name, b.data FROM attachments a JOIN blobs b ON b.sha256 = a.sha256
                 WHERE a.message_id = ?1 AND (a.name = ?2 OR CAST(a.idx + 1 AS TEXT) = ?2) ORDER BY a.idx LIMIT 1",
                params![id, name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)?
            .ok_or_else(|| ProtoError::new(ErrorCode::NotFound, format!("{id} has no attachment {name:?}")))
    }
}
