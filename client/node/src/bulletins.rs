//! Bulletin operations on a node: revise, withdraw, remind, forward. Each is an
//! ordinary signed, encrypted message queued in the outbox.

use lianxi_shared::payload::{Forward, Reminder, Revision, Withdrawal};
use lianxi_shared::{Audience, Bulletin, ErrorCode, MessageId, Payload, ProtoError};

use crate::archive::Passable;
use crate::node::Node;
use crate::{Result, now_ms};

/// Changes for a revision; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct Patch {
    pub title: Option<String>,
    pub body: Option<String>,
    pub doc_number: Option<String>,
    pub effective: Option<String>,
}

impl Node {
    fn own_thread(&self, sender: &str, what: &str) -> Result<()> {
        if sender != self.me.node_id.as_str() {
            return Err(ProtoError::new(
                ErrorCode::NotEntitled,
                format!("only the original sender ({sender}) may {what} this bulletin"),
            ));
        }
        Ok(())
    }

    /// Issue a correction that supersedes the current version of a bulletin.
    pub async fn revise(&self, id: &str, patch: Patch, note: String) -> Result<MessageId> {
        let id = id.to_owned();
        let (thread, current, max, row, mut b) = self
            .archive
            .call(move |a| {
                let (thread, current, max) = a.thread_head(&id)?;
                let (row, b) = a.bulletin_of(&current)?;
                Ok((thread, current, max, row, b))
            })
            .await?;
        self.own_thread(&row.sender, "revise")?;
        if row.state == "withdrawn" {
            return Err(ProtoError::new(
                ErrorCode::BadRequest,
                format!("{current} has been withdrawn"),
            ));
        }
        if let Some(t) = patch.title {
            b.title = t;
        }
        if let Some(x) = patch.body {
            b.body = x;
        }
        if patch.doc_number.is_some() {
            b.doc_number = patch.doc_number;
        }
        if patch.effective.is_some() {
            b.effective = patch.effective;
        }
        let revision = u32::try_from(max + 1).unwrap_or(u32::MAX);
        let payload = Payload::Revision(Revision {
            original: thread.parse()?,
            revision,
            bulletin: b,
            note,
        });
        self.queue(row.audience.parse()?, payload, embargo_of(&row))
            .await
    }

    /// Withdraw a bulletin (撤回) with a reason.
    pub async fn withdraw(&self, id: &str, reason: String) -> Result<MessageId> {
        let id = id.to_owned();
        let (thread, row) = self
            .archive
            .call(move |a| {
                let (thread, current, _) = a.thread_head(&id)?;
                Ok((thread, a.bulletin_of(&current)?.0))
            })
            .await?;
        self.own_thread(&row.sender, "withdraw")?;
        let payload = Payload::Withdrawal(Withdrawal {
            original: thread.parse()?,
            reason,
        });
        self.queue(row.audience.parse()?, payload, embargo_of(&row))
            .await
    }

    /// Remind the recipients who have not acknowledged a bulletin.
    pub async fn remind(&self, id: &str, note: String) -> Result<(MessageId, usize)> {
        let id = id.to_owned();
        let (row, pending) = self
            .archive
            .call(move |a| {
                let row = a.bulletin_of(&id)?.0;
                Ok((row.clone(), a.unacknowledged(&row.id)?))
            })
            .await?;
        self.own_thread(&row.sender, "send reminders for")?;
        if let Some(t) = embargo_of(&row) {
            return Err(ProtoError::new(
                ErrorCode::Embargoed,
                format!(
                    "{} is embargoed until {}: nobody has received it yet",
                    row.id,
                    crate::time_fmt::rfc3339(t)
                ),
            ));
        }
        if pending.is_empty() {
            return Err(ProtoError::new(
                ErrorCode::EmptyAudience,
                "every recipient has acknowledged",
            ));
        }
        let n = pending.len();
        let payload = Payload::Reminder(Reminder {
            bulletin: row.id.parse()?,
            note,
        });
        Ok((
            self.queue(Audience::Nodes(pending), payload, None).await?,
            n,
        ))
    }

    /// Forward a received bulletin with its original signed envelope.
    ///
    /// Forwarding a case is sharing it: the same recusal and handler rules apply.
    /// Forward a received bulletin's thread: its first bulletin (with
    /// `note`), then each revision, each in its own forward, so the receiver
    /// holds the thread as it stands. A withdrawn thread is refused
    /// (`withdrawn`). Returns the first forward's id.
    pub async fn forward(&self, id: &str, audience: Audience, note: String) -> Result<MessageId> {
        let key = id.to_owned();
        if self
            .archive
            .call(move |a| a.case_file(&key))
            .await?
            .is_some()
        {
            return Ok(self.case_share(id, &audience).await?.queued.id);
        }
        let id = id.to_owned();
        let chain = self.archive.call(move |a| a.thread_to_forward(&id)).await?;
        let mut first = None;
        let mut note = Some(note);
        for m in chain {
            let fid = self
                .pass_on(m, audience.clone(), note.take().unwrap_or_default())
                .await?;
            first.get_or_insert(fid);
        }
        first.ok_or_else(|| ProtoError::new(ErrorCode::NotFound, "nothing to forward"))
    }

    /// Queue a forward of one received message to `audience`.
    async fn pass_on(&self, m: Passable, audience: Audience, note: String) -> Result<MessageId> {
        let wrap = m.wrap;
        let key = if wrap.starts_with(lianxi_shared::AGE_SECRET_PREFIX.as_bytes()) {
            String::from_utf8_lossy(&wrap).trim().to_owned()
        } else {
            let identity = self.identity();
            let k = tokio::task::spawn_blocking(move || identity.unwrap_key(&wrap))
                .await
                .map_err(|_| ProtoError::code(ErrorCode::Internal))??;
            k.to_string()
        };
        let payload = Payload::Forward(Box::new(Forward {
            envelope: m.envelope,
            key,
            note,
        }));
        self.queue(audience, payload, None).await
    }

    /// After a batch: each revision or withdrawal received of a thread this
    /// node forwarded goes on to where it forwarded the thread (at least once:
    /// a receiver drops what it already holds). Returns how many were queued.
    pub async fn follow_forwards(&self) -> Result<usize> {
        let mut n = 0;
        for id in self.archive.call(|a| a.pending_follows()).await? {
            let key = id.clone();
            let follow = self.archive.call(move |a| a.to_follow(&key)).await?;
            let Some((m, audiences)) = follow else {
                self.archive.call(move |a| a.followed(&id)).await?;
                continue;
            };
            for audience in audiences {
                let copy = Passable {
                    id: m.id.clone(),
                    envelope: m.envelope.clone(),
                    wrap: m.wrap.clone(),
                };
                match self.pass_on(copy, audience, String::new()).await {
                    Ok(_) => n += 1,
                    // The archive failing stops here (the row stays, retried
                    // next time); a forward this audience cannot take now
                    // (nobody left in it, say) never will: say so, go on.
                    Err(e)
                        if matches!(
                            e.code,
                            ErrorCode::Io | ErrorCode::ArchiveCorrupt | ErrorCode::Internal
                        ) =>
                    {
                        return Err(e);
                    }
                    Err(e) => {
                        tracing::warn!(code = %e.code, reason = %e.message, "a later message of a forwarded thread cannot follow it there");
                    }
                }
            }
            self.archive.call(move |a| a.followed(&id)).await?;
        }
        Ok(n)
    }

    /// Acknowledge a received bulletin; the receipt is queued for its sender.
    pub async fn acknowledge(&self, id: &str, reply: Option<String>) -> Result<bool> {
        let id = id.to_owned();
        self.archive
            .call(move |a| a.acknowledge(&id, reply, now_ms()))
            .await
    }
}

/// A thread still under embargo keeps it: its revisions and its withdrawal
/// are held by the hub until the same release time (and, with ids that sort
/// by time, released after what they refer to), so nobody sees the correction
/// before the original or the original without its correction.
fn embargo_of(row: &crate::archive::MessageRow) -> Option<i64> {
    row.not_before.filter(|t| *t > now_ms())
}

/// Read attachment files, refusing any larger than `max` bytes.
pub fn read_attachments(
    paths: &[std::path::PathBuf],
    max: u64,
) -> Result<Vec<lianxi_shared::payload::Attachment>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| crate::io_err(p.display(), e))?;
        if meta.len() > max {
            return Err(ProtoError::new(
                ErrorCode::TooLarge,
                format!(
                    "{} is {} bytes; the attachment limit is {max} bytes",
                    p.display(),
                    meta.len()
                ),
            ));
        }
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                ProtoError::new(
                    ErrorCode::BadRequest,
                    format!("{} has no usable file name", p.display()),
                )
            })?
            .to_owned();
        let data = std::fs::read(p).map_err(|e| crate::io_err(p.display(), e))?;
        out.push(lianxi_shared::payload::Attachment { name, data });
    }
    Ok(out)
}

/// A bulletin as Markdown, for export.
pub fn to_markdown(row: &crate::archive::MessageRow, b: &Bulletin) -> String {
    let mut s = format!("# {}\n\n", b.title);
    let mut meta = vec![
        ("发件 From", row.sender.clone()),
        ("时间 Time", crate::time_fmt::long(row.created_at)),
        ("对象 To", row.audience.clone()),
    ];
    if let Some(c) = b.category {
        meta.push(("类别 Category", c.zh().to_owned()));
    }
    for (k, v) in [
        ("发文单位 Issuer", &b.issuer),
        ("文号 Document No.", &b.doc_number),
        ("生效日期 Effective", &b.effective),
        ("地区 Region", &b.region),
    ] {
        if let Some(v) = v {
            meta.push((k, v.clone()));
        }
    }
    if !b.tags.is_empty() {
        meta.push(("标签 Tags", b.tags.join(", ")));
    }
    match row.state.as_str() {
        "withdrawn" => meta.push(("状态 State", "已撤回 withdrawn".to_owned())),
        "superseded" => meta.push(("状态 State", "已更正 superseded".to_owned())),
        _ => {}
    }
    if row.revision > 0 {
        meta.push(("更正 Revision", row.revision.to_string()));
    }
    if let Some(via) = &row.via {
        meta.push(("转发 Via", via.clone()));
    }
    if b.ack_required {
        let by = b.ack_by.map(crate::time_fmt::long);
        meta.push((
            "回执 Ack",
            by.map_or("需回执 required".to_owned(), |t| {
                format!("需回执 required, {t}")
            }),
        ));
    }
    meta.push(("ID", row.id.clone()));
    s += "| | |\n|---|---|\n";
    for (k, v) in meta {
        s += &format!("| {k} | {} |\n", v.replace('|', "\\|"));
    }
    s += &format!("\n{}\n", b.body);
    if !b.attachments.is_empty() {
        s += "\n## 附件 Attachments\n\n";
        for a in &b.attachments {
            s += &format!("- {} ({} bytes)\n", a.name, a.data.len());
        }
    }
    s
}
