//! Messages in the archive: store, list, show, search.

use lianxi_shared::envelope::Opened;
use lianxi_shared::{Envelope, ErrorCode, ProtoError};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{Archive, db_err};
use crate::search;

/// A verified, decrypted arrival to store.
pub struct Incoming {
    pub opened: Opened,
    pub envelope: Envelope,
    pub wrap: Vec<u8>,
    pub received_at: i64,
    /// For a forward: the original message, verified against its own sender.
    pub forwarded: Option<Forwarded>,
    /// For a case share: the case's earlier steps, each verified against its
    /// own sender.
    pub history: Vec<Forwarded>,
}

/// A verified forwarded original.
pub struct Forwarded {
    pub opened: Opened,
    pub envelope: Envelope,
    pub key: String,
}

/// Whether this node received a message or sent it. Stored as `in` / `out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

impl rusqlite::ToSql for Direction {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for Direction {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        match v.as_str()? {
            "in" => Ok(Direction::In),
            "out" => Ok(Direction::Out),
            _ => Err(rusqlite::types::FromSqlError::InvalidType),
        }
    }
}

/// A message as the archive shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MessageRow {
    pub id: String,
    pub direction: Direction,
    pub kind: String,
    pub sender: String,
    pub audience: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    pub not_before: Option<i64>,
    pub received_at: i64,
    pub read: bool,
    /// `current`, `superseded` (by a revision) or `withdrawn`.
    #[serde(default)]
    pub state: String,
    pub revision: i64,
    pub category: Option<String>,
    pub ack_required: bool,
    pub acked: bool,
    /// Forwarded to this node by this node id (the sender is the original sender).
    pub via: Option<String>,
    /// How many files are attached.
    pub attachments: i64,
    /// Filled by `show`: everything else about a bulletin.
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub detail: Option<Box<super::bulletins::Detail>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SearchHit {
    #[serde(flatten)]
    pub message: MessageRow,
    pub snippet: String,
}

/// Embargoed messages stay hidden until their release time (the hub holds them
/// too; this guards against a node whose clock is behind or a hub that misbehaves).
pub(crate) const RELEASED: &str = "(not_before IS NULL OR not_before <= CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER))";

/// The columns [`row`] reads, in its order; a query that reads more puts
/// them after these, from index [`COLS_LEN`].
pub(crate) const COLS: &str = "id, direction, kind, sender, audience, title, created_at, not_before, received_at, read_at IS NOT NULL, state, revision, category, ack_required, acked_at IS NOT NULL, via, (SELECT count(*) FROM attachments a WHERE a.message_id = id)";

pub(crate) const COLS_LEN: usize = 17;

pub(crate) fn row(r: &Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        id: r.get(0)?,
        direction: r.get(1)?,
        kind: r.get(2)?,
        sender: r.get(3)?,
        audience: r.get(4)?,
        title: r.get(5)?,
        body: None,
        created_at: r.get(6)?,
        not_before: r.get(7)?,
        received_at: r.get(8)?,
        read: r.get(9)?,
        state: r.get(10)?,
        revision: r.get(11)?,
        category: r.get(12)?,
        ack_required: r.get(13)?,
        acked: r.get(14)?,
        via: r.get(15)?,
        attachments: r.get(16)?,
        detail: None,
    })
}

impl Archive {
    /// Newest first.
    pub fn list(
        &self,
        kind: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<MessageRow>, ProtoError> {
        let sql = format!(
            "SELECT {COLS} FROM messages WHERE (?1 IS NULL OR kind = ?1) AND state != 'superseded' AND {RELEASED}
             ORDER BY created_at DESC, rowid DESC LIMIT ?2 OFFSET ?3"
        );
        let mut st = self.conn.prepare_cached(&sql).map_err(db_err)?;
        let rows = st
            .query_map(params![kind, limit as i64, offset as i64], row)
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    pub fn count(&self) -> Result<u64, ProtoError> {
        self.conn
            .query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(db_err)
    }

    /// Resolve a full id, or a unique prefix or suffix of at least 8 characters
    /// (ids are UUIDv7: the prefix is the time, the last characters are random,
    /// so the UI shows and accepts the last 8).
    pub fn resolve_id(&self, id: &str) -> Result<String, ProtoError> {
        let id = id.trim().to_ascii_lowercase();
        if id.len() < 8 || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(ProtoError::new(
                ErrorCode::NotFound,
                format!("{id:?} is not a message id (or 8+ characters of one)"),
            ));
        }
        let query = |sql: &str| -> Result<Vec<String>, ProtoError> {
            let mut st = self.conn.prepare_cached(sql).map_err(db_err)?;
            let rows = st.query_map([&id], |r| r.get(0)).map_err(db_err)?;
            rows.collect::<Result<_, _>>().map_err(db_err)
        };
        let mut found = query("SELECT id FROM messages WHERE id >= ?1 AND id < ?1 || 'g' LIMIT 2")?;
        if found.is_empty() {
            found = query("SELECT id FROM messages WHERE id LIKE '%' || ?1 LIMIT 2")?;
        }
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(ProtoError::new(
                ErrorCode::NotFound,
                format!("no message {id}"),
            )),
            _ => Err(ProtoError::new(
                ErrorCode::NotFound,
                format!("{id} matches several messages; give more of the id"),
            )),
        }
    }

    /// One message with its body; marks it read.
    pub fn show(&mut self, id: &str, mark_read: bool, now: i64) -> Result<MessageRow, ProtoError> {
        let id = self.resolve_id(id)?;
        let release: Option<i64> = self
            .conn
            .query_row(
                "SELECT not_before FROM messages WHERE id = ?1",
                [&id],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if let Some(t) = release.filter(|t| *t > now) {
            return Err(ProtoError::new(
                ErrorCode::Embargoed,
                format!("{id} may not be read before its release time ({t} ms)"),
            ));
        }
        let tx = self.conn.transaction().map_err(db_err)?;
        if mark_read {
            let n = tx
                .execute(
                    "UPDATE messages SET read_at = ?2 WHERE id = ?1 AND read_at IS NULL",
                    params![id, now],
                )
                .map_err(db_err)?;
            let ask: Option<String> = tx
                .query_row(
                    "SELECT sender FROM messages WHERE id = ?1 AND ack_required AND direction = 'in' AND state != 'withdrawn'",
                    [&id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            if let (1, Some(sender)) = (n, ask) {
                super::receipts::queue_receipt(
                    &tx,
                    &id,
                    &sender,
                    lianxi_shared::payload::ReceiptState::Read,
                    None,
                    now,
                )?;
            }
        }
        let sql = format!("SELECT {COLS}, body FROM messages WHERE id = ?1");
        let mut m = tx
            .query_row(&sql, [&id], |r| {
                let mut m = row(r)?;
                m.body = Some(r.get(COLS_LEN)?);
                Ok(m)
            })
            .map_err(db_err)?;
        m.detail = Some(Box::new(super::bulletins::detail(&tx, &id)?));
        tx.commit().map_err(db_err)?;
        Ok(m)
    }

    /// The original envelope and this node's wrap (for export and re-verification).
    pub fn envelope(&self, id: &str) -> Result<(Envelope, Option<Vec<u8>>, String), ProtoError> {
        let id = self.resolve_id(id)?;
        let r = self
            .conn
            .query_row(
                "SELECT env_header, env_sig, env_body, wrap, sender FROM messages WHERE id = ?1",
                [&id],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get(3)?,
                        r.get(4)?,
                    ))
                },
            )
            .optional()
            .map_err(db_err)?
            .ok_or_else(|| ProtoError::new(ErrorCode::NotFound, format!("no message {id}")))?;
        let sig = <[u8; 64]>::try_from(r.1.as_slice()).map_err(|_| {
            ProtoError::new(
                ErrorCode::ArchiveCorrupt,
                "stored signature has the wrong size",
            )
        })?;
        Ok((
            Envelope {
                header: r.0,
                sig,
                body: r.2,
            },
            r.3,
            r.4,
        ))
    }

    /// Full-text search through the index, newest first (most recently
    /// stored). The index is walked backwards by rowid and stops at `limit`,
    /// so a one-character query over 200,000 messages costs what its hits
    /// cost, not what every match costs (ranking all matches took 0.5 s).
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, ProtoError> {
        let mut words = self
            .conn
            .prepare_cached(
                "SELECT word FROM search_words WHERE word >= ?1 AND word < ?1 || char(1114111)
                 ORDER BY word LIMIT ?2",
            )
            .map_err(db_err)?;
        let mut failed = None;
        let expand = |prefix: &str| {
            let found: rusqlite::Result<Vec<String>> = words
                .query_map(params![prefix, search::MAX_PREFIX_WORDS as i64 + 1], |r| {
                    r.get(0)
                })
                .and_then(|rows| rows.collect());
            match found {
                Ok(w) if w.len() <= search::MAX_PREFIX_WORDS => Some(w),
                Ok(_) => None,
                Err(e) => {
                    failed.get_or_insert(e);
                    None
                }
            }
        };
        let expr = search::fts_query(query, expand);
        drop(words);
        if let Some(e) = failed {
            return Err(db_err(e));
        }
        let Some(expr) = expr else {
            return Ok(vec![]);
        };
        let sql = format!(
            "SELECT {COLS}, m.body FROM messages_fts f JOIN messages m ON m.rowid = f.rowid
             WHERE messages_fts MATCH ?1 AND m.state != 'superseded' AND {RELEASED}
             ORDER BY f.rowid DESC LIMIT ?2"
        )
        .replace("SELECT id,", "SELECT m.id,");
        let mut st = self.conn.prepare_cached(&sql).map_err(db_err)?;
        let rows = st
            .query_map(params![expr, limit as i64], |r| {
                let m = row(r)?;
                let body: String = r.get(COLS_LEN)?;
                Ok((m, body))
            })
            .map_err(db_err)?;
        let mut out = Vec::new();
        for r in rows {
            let (message, body) = r.map_err(db_err)?;
            let text = format!("{} {}", message.title, body);
            out.push(SearchHit {
                snippet: search::snippet(&text, query, 60),
                message,
            });
        }
        Ok(out)
    }
}

impl MessageRow {
    pub fn from_incoming(i: &Incoming) -> MessageRow {
        let h = &i.opened.header;
        MessageRow {
            id: h.id.to_string(),
            direction: Direction::In,
            kind: i.opened.payload.kind().into(),
            sender: h.sender.to_string(),
            audience: h.audience.to_string(),
            title: i.opened.payload.title().into(),
            body: Some(i.opened.payload.body().into()),
            created_at: h.created_at,
            not_before: h.not_before,
            received_at: i.received_at,
            read: false,
            state: "current".into(),
            revision: 0,
            category: i
                .opened
                .payload
                .bulletin()
                .and_then(|b| b.category)
                .map(|c| c.as_str().to_owned()),
            ack_required: i.opened.payload.bulletin().is_some_and(|b| b.ack_required),
            acked: false,
            via: None,
            attachments: i.opened.payload.bulletin().map_or(0, |b| {
                i64::try_from(b.attachments.len()).unwrap_or(i64::MAX)
            }),
            detail: None,
        }
    }
}

impl Archive {
    /// (total, unread) messages of a kind.
    pub fn count_kind(&self, kind: &str) -> Result<(usize, usize), ProtoError> {
        self.conn
            .prepare_cached(&format!("SELECT count(*), count(*) FILTER (WHERE read_at IS NULL) FROM messages WHERE kind = ?1 AND state != 'superseded' AND {RELEASED}"))
            .map_err(db_err)?
            .query_row([kind], |r| Ok((r.get::<_, i64>(0)? as usize, r.get::<_, i64>(1)? as usize)))
            .map_err(db_err)
    }
}
