//! The node's drafts (see `archive/drafts.rs`): saving what a person types,
//! listing, deleting, and sending a bulletin draft, which queues it and
//! deletes the draft in one transaction.

use std::path::PathBuf;

use lianxi_shared::payload::{Attachment, Bulletin};
use lianxi_shared::{Audience, ErrorCode, MessageId, Payload, ProtoError};
use serde_json::json;
use sha2::Digest;

use crate::archive::drafts::{Draft, DraftFile, DraftKind};
use crate::node::Node;
use crate::{Result, now_ms};

/// A form's content as a front end saves it. Attachments are files on disk
/// (read when first saved) or files the draft already holds (matched by name
/// and size), so a restored draft keeps its bytes even if the file is gone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DraftInput {
    /// The draft's id (a front end makes one per form with [`new_draft_id`]).
    pub id: String,
    pub kind: Option<DraftKind>,
    pub context: String,
    pub title: String,
    pub body: String,
    pub fields: serde_json::Value,
    /// (path or stored name, size).
    pub attachments: Vec<(PathBuf, u64)>,
}

/// A new draft id: time-ordered and unique (a UUID v7 from `now` and `seed`).
pub fn new_draft_id(now: i64, seed: u64) -> String {
    let mut r = [0u8; 16];
    r[..8].copy_from_slice(&seed.to_be_bytes());
    MessageId::new_v7(now, r).to_string()
}

/// The fields of a bulletin draft.
pub fn bulletin_fields(audience: &Audience, ack_required: bool) -> serde_json::Value {
    json!({"audience": audience.to_string(), "ack_required": ack_required})
}

impl Node {
    /// Save (create or update) a draft. Files not held yet are read now,
    /// within `max` bytes each.
    pub async fn save_draft(&self, input: DraftInput, max: u64) -> Result<()> {
        let id = input.id.clone();
        let existing = self
            .archive
            .call(move |a| {
                a.draft(&id).map(Some).or_else(|e| match e.code {
                    ErrorCode::NotFound => Ok(None),
                    _ => Err(e),
                })
            })
            .await?;
        let now = now_ms();
        let held: Vec<DraftFile> = existing
            .as_ref()
            .map(|d| d.attachments.clone())
            .unwrap_or_default();
        let mut files = Vec::new();
        let mut new_files = Vec::new();
        for (path, size) in &input.attachments {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(h) = held.iter().find(|h| h.name == name && h.size == *size) {
                files.push(h.clone());
                continue;
            }
            let data = crate::bulletins::read_attachments(std::slice::from_ref(path), max)?
                .pop()
                .map(|a| a.data)
                .unwrap_or_default();
            files.push(DraftFile {
                name: name.clone(),
                size: data.len() as u64,
                sha256: sha2::Sha256::digest(&data).into(),
            });
            new_files.push((name, data));
        }
        let d = Draft {
            id: input.id,
            kind: input.kind.unwrap_or(DraftKind::Bulletin),
            context: input.context,
            title: input.title,
            body: input.body,
            fields: input.fields,
            attachments: files,
            created_at: existing.map_or(now, |e| e.created_at),
            updated_at: now,
        };
        self.archive
            .call(move |a| a.save_draft(&d, &new_files))
            .await
    }

    /// Every draft, newest first.
    pub async fn drafts(&self) -> Result<Vec<Draft>> {
        self.archive.call(|a| a.drafts(None)).await
    }

    /// One draft, by id or a unique prefix.
    pub async fn draft(&self, id: &str) -> Result<Draft> {
        let id = id.to_owned();
        self.archive.call(move |a| a.draft(&id)).await
    }

    /// Delete a draft; `false` if there was none.
    pub async fn delete_draft(&self, id: &str) -> Result<bool> {
        let id = id.to_owned();
        self.archive.call(move |a| a.delete_draft(&id)).await
    }

    /// Queue the bulletin a draft holds (its audience unless `audience` is
    /// given; `edit` may add metadata) and delete the draft, atomically.
    pub async fn send_bulletin_draft(
        &self,
        id: &str,
        audience: Option<Audience>,
        edit: impl FnOnce(&mut Bulletin) + Send + 'static,
    ) -> Result<MessageId> {
        let id = id.to_owned();
        let now = now_ms();
        let msg = MessageId::generate(now);
        self.archive
            .call(move |a| {
                let d = a.draft(&id)?;
                if d.kind != DraftKind::Bulletin {
                    return Err(ProtoError::new(
                        ErrorCode::BadRequest,
                        format!("draft {} is a {}, not a bulletin", d.id, d.kind.as_str()),
                    ));
                }
                let audience = match audience {
                    Some(a) => a,
                    None => d.fields["audience"].as_str().unwrap_or_default().parse()?,
                };
                let mut attachments = Vec::new();
                for f in &d.attachments {
                    attachments.push(Attachment {
                        name: f.name.clone(),
                        data: a.draft_file_data(f)?,
                    });
                }
                let mut b = Bulletin {
                    title: d.title.trim().to_owned(),
                    body: d.body.clone(),
                    attachments,
                    ack_required: d.fields["ack_required"].as_bool().unwrap_or(false),
                    ..Default::default()
                };
                edit(&mut b);
                let payload = Payload::Bulletin(b);
                payload.validate()?;
                a.queue_from_draft(&d.id, msg, now, &audience, &payload)?;
                Ok(msg)
            })
            .await
    }
}
