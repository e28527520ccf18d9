//! Drafts: what a person is typing, kept in the archive as they type so that
//! an Esc, a closed terminal or a crash loses nothing. A draft never leaves
//! the node; sending it deletes it in the same transaction that queues the
//! message. Attachments are stored by content (the `blobs` table received
//! attachments use), so a restored draft sends the same bytes.

use lianxi_shared::{Audience, ErrorCode, MessageId, Payload, ProtoError};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::{Archive, db_err};

/// What a draft is for. Stored as its string; the TUI's forms map to these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftKind {
    Bulletin,
    CaseIntake,
    CaseNote,
    Typical,
    Proposal,
    Minutes,
}

impl DraftKind {
    pub const ALL: [DraftKind; 6] = [
        DraftKind::Bulletin,
        DraftKind::CaseIntake,
        DraftKind::CaseNote,
        DraftKind::Typical,
        DraftKind::Proposal,
        DraftKind::Minutes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DraftKind::Bulletin => "bulletin",
            DraftKind::CaseIntake => "case_intake",
            DraftKind::CaseNote => "case_note",
            DraftKind::Typical => "typical",
            DraftKind::Proposal => "proposal",
            DraftKind::Minutes => "minutes",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            DraftKind::Bulletin => "通报",
            DraftKind::CaseIntake => "案件登记",
            DraftKind::CaseNote => "案件备注",
            DraftKind::Typical => "典型案例",
            DraftKind::Proposal => "议题",
            DraftKind::Minutes => "纪要",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            DraftKind::Bulletin => "bulletin",
            DraftKind::CaseIntake => "case intake",
            DraftKind::CaseNote => "case note",
            DraftKind::Typical => "typical case",
            DraftKind::Proposal => "agenda item",
            DraftKind::Minutes => "minutes",
        }
    }

    fn parse(s: &str) -> Option<DraftKind> {
        DraftKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An attachment kept with a draft: its name, and its bytes by digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DraftFile {
    pub name: String,
    pub size: u64,
    #[serde(skip)]
    pub sha256: [u8; 32],
}

/// One draft. `context` says which case or session it belongs to (empty for
/// a bulletin); `fields` holds the form's other fields (audience, flags…).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Draft {
    pub id: String,
    pub kind: DraftKind,
    pub context: String,
    pub title: String,
    pub body: String,
    pub fields: serde_json::Value,
    pub attachments: Vec<DraftFile>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Draft {
    /// Nothing typed and nothing attached: not worth keeping.
    pub fn is_empty(&self) -> bool {
        self.title.trim().is_empty() && self.body.trim().is_empty() && self.attachments.is_empty()
    }
}

/// Delete a draft's rows and the bytes only it held (a received or sent
/// message's attachment with the same bytes keeps them). `true` if it existed.
fn remove(tx: &rusqlite::Transaction<'_>, id: &str) -> Result<bool, ProtoError> {
    let n = tx
        .execute("DELETE FROM drafts WHERE id = ?1", [id])
        .map_err(db_err)?;
    tx.execute(
        "CREATE TEMP TABLE IF NOT EXISTS gone(sha256 BLOB PRIMARY KEY)",
        [],
    )
    .map_err(db_err)?;
    tx.execute(
        "INSERT OR IGNORE INTO temp.gone SELECT sha256 FROM draft_files WHERE draft = ?1",
        [id],
    )
    .map_err(db_err)?;
    tx.execute("DELETE FROM draft_files WHERE draft = ?1", [id])
        .map_err(db_err)?;
    tx.execute_batch(
        "DELETE FROM blobs WHERE sha256 IN (SELECT sha256 FROM temp.gone)
           AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.sha256 = blobs.sha256)
           AND NOT EXISTS (SELECT 1 FROM draft_files f WHERE f.sha256 = blobs.sha256);
         DELETE FROM temp.gone;",
    )
    .map_err(db_err)?;
    Ok(n > 0)
}

fn not_found(id: &str) -> ProtoError {
    ProtoError::new(ErrorCode::NotFound, format!("no draft {id}"))
}

impl Archive {
    /// Write `d` (a new draft, or a newer text of one), with these
    /// attachment bytes for files not stored yet. `updated_at` is this
    /// node's clock. One transaction: a crash keeps the old text or the new.
    pub fn save_draft(&mut self, d: &Draft, files: &[(String, Vec<u8>)]) -> Result<(), ProtoError> {
        let tx = self.conn.transaction().map_err(db_err)?;
        tx.execute(
            "INSERT INTO drafts(id, kind, context, title, body, fields, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(id) DO UPDATE SET title = ?4, body = ?5, fields = ?6, updated_at = ?8",
            params![
                d.id,
                d.kind.as_str(),
                d.context,
                d.title,
                d.body,
                d.fields.to_string(),
                d.created_at,
                d.updated_at
            ],
        )
        .map_err(db_err)?;
        for (_, data) in files {
            let digest: [u8; 32] = sha2::Sha256::digest(data).into();
            tx.execute(
                "INSERT OR IGNORE INTO blobs(sha256, data) VALUES (?1, ?2)",
                params![digest.as_slice(), data],
            )
            .map_err(db_err)?;
        }
        tx.execute("DELETE FROM draft_files WHERE draft = ?1", [&d.id])
            .map_err(db_err)?;
        for (i, a) in d.attachments.iter().enumerate() {
            let stored: bool = tx
                .query_row(
                    "SELECT 1 FROM blobs WHERE sha256 = ?1",
                    [a.sha256.as_slice()],
                    |_| Ok(true),
                )
                .optional()
                .map_err(db_err)?
                .unwrap_or(false);
            if !stored {
                return Err(ProtoError::new(
                    ErrorCode::NotFound,
                    format!("the bytes of {:?} are not stored", a.name),
                ));
            }
            tx.execute(
                "INSERT INTO draft_files(draft, idx, name, size, sha256) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![d.id, i as i64, a.name, a.size as i64, a.sha256.as_slice()],
            )
            .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }

    /// Every draft, newest change first (optionally of one kind and context).
    pub fn drafts(&self, kind: Option<(DraftKind, &str)>) -> Result<Vec<Draft>, ProtoError> {
        let (k, c) = kind.map_or((None, None), |(k, c)| (Some(k.as_str()), Some(c)));
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, kind, context, title, body, fields, created_at, updated_at FROM drafts
                 WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR context = ?2)
                 ORDER BY updated_at DESC, id DESC",
            )
            .map_err(db_err)?;
        let rows = st
            .query_map(params![k, c], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .map_err(db_err)?;
        let mut out = Vec::new();
        for r in rows {
            let (id, kind, context, title, body, fields, created_at, updated_at) =
                r.map_err(db_err)?;
            let Some(kind) = DraftKind::parse(&kind) else {
                continue;
            };
            let attachments = self.draft_files(&id)?;
            out.push(Draft {
                id,
                kind,
                context,
                title,
                body,
                fields: serde_json::from_str(&fields).unwrap_or(serde_json::Value::Null),
                attachments,
                created_at,
                updated_at,
            });
        }
        Ok(out)
    }

    fn draft_files(&self, id: &str) -> Result<Vec<DraftFile>, ProtoError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT name, size, sha256 FROM draft_files WHERE draft = ?1 ORDER BY idx",
            )
            .map_err(db_err)?;
        let rows = st
            .query_map([id], |r| {
                let digest: Vec<u8> = r.get(2)?;
                Ok(DraftFile {
                    name: r.get(0)?,
                    size: r.get::<_, i64>(1)?.max(0) as u64,
                    sha256: digest.try_into().unwrap_or([0; 32]),
                })
            })
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    /// One draft by id (or a unique prefix of it).
    pub fn draft(&self, id: &str) -> Result<Draft, ProtoError> {
        let id = id.trim();
        let all = self.drafts(None)?;
        let mut hits = all
            .into_iter()
            .filter(|d| !id.is_empty() && d.id.starts_with(id));
        match (hits.next(), hits.next()) {
            (Some(d), None) => Ok(d),
            (Some(_), Some(_)) => Err(ProtoError::new(
                ErrorCode::BadRequest,
                format!("{id:?} names more than one draft; give more of its id"),
            )),
            (None, _) => Err(not_found(id)),
        }
    }

    /// The bytes of a draft's attachment.
    pub fn draft_file_data(&self, f: &DraftFile) -> Result<Vec<u8>, ProtoError> {
        self.conn
            .query_row(
                "SELECT data FROM blobs WHERE sha256 = ?1",
                [f.sha256.as_slice()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?
            .ok_or_else(|| not_found(&f.name))
    }

    /// Delete a draft; `false` if there was none.
    pub fn delete_draft(&mut self, id: &str) -> Result<bool, ProtoError> {
        let tx = self.conn.transaction().map_err(db_err)?;
        let existed = remove(&tx, id)?;
        tx.commit().map_err(db_err)?;
        Ok(existed)
    }

    /// Queue a message made from a draft and delete the draft, in one
    /// transaction: after a crash it is either still a draft or queued, never
    /// both and never neither.
    pub fn queue_from_draft(
        &mut self,
        draft: &str,
        id: MessageId,
        created_at: i64,
        audience: &Audience,
        payload: &Payload,
    ) -> Result<(), ProtoError> {
        let tx = self.conn.transaction().map_err(db_err)?;
        if !remove(&tx, draft)? {
            return Err(not_found(draft));
        }
        tx.execute(
            "INSERT INTO outbox(id, created_at, audience, payload, not_before, state) VALUES (?1, ?2, ?3, ?4, NULL, 'queued')",
            params![id.to_string(), created_at, audience.to_string(), payload.encode()],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)
    }
}
