//! CLI subcommands for bulletins: send with metadata and attachments, ack,
//! receipts, remind, revise, withdraw, forward, attachments and export.

use std::path::PathBuf;

use anyhow::Context;
use lianxi::archive::bulletins::Filter;
use lianxi::bulletins::{Patch, read_attachments, to_markdown};
use lianxi::home::Home;
use lianxi::node::Node;
use lianxi::{ErrorCode, ProtoError, now_ms};
use lianxi_shared::payload::DEFAULT_MAX_ATTACHMENT;
use lianxi_shared::{Audience, Bulletin, MessageId, Payload};
use serde_json::{Value, json};

use crate::cli::args::{BulletinCmd, BulletinMeta, ListFilter, SendCmd};
use crate::cli::commands::{message_json, print};
use crate::cli::delivery::deliver_now;
use crate::cli::output::{lang, tr};
use lianxi::time_fmt::{self, DayEdge, rfc3339};
use lianxi::tui::i18n::Lang;

/// A start typed by a person (a date means 00:00), in the node's zone.
fn start(s: &str) -> Result<i64, ProtoError> {
    time_fmt::parse_input(s, DayEdge::Start)
}

/// A deadline typed by a person (a date means the end of that day).
fn deadline(s: &str) -> Result<i64, ProtoError> {
    time_fmt::parse_input(s, DayEdge::End)
}

pub fn filter(kind: Option<String>, f: ListFilter) -> Result<Filter, ProtoError> {
    Ok(Filter {
        kind,
        category: f
            .category
            .map(|c| {
                c.parse::<lianxi_shared::payload::Category>()
                    .map(|c| c.as_str().to_owned())
            })
            .transpose()?,
        issuer: f.issuer,
        sender: f.sender,
        tag: f.tag,
        since: f.since.as_deref().map(start).transpose()?,
        until: f.until.as_deref().map(deadline).transpose()?,
        unread: f.unread,
        unacked: f.unacked,
    })
}

fn bulletin(
    title: String,
    body: String,
    m: BulletinMeta,
    max: u64,
) -> Result<Bulletin, ProtoError> {
    if let Some(e) = &m.effective {
        time::Date::parse(e, time::macros::format_description!("[year]-[month]-[day]")).map_err(
            |_| {
                ProtoError::new(
                    ErrorCode::BadRequest,
                    format!("effective date {e:?} is not YYYY-MM-DD"),
                )
            },
        )?;
    }
    Ok(Bulletin {
        title,
        body,
        category: m.category.as_deref().map(str::parse).transpose()?,
        issuer: m.issuer,
        doc_number: m.doc_number,
        effective: m.effective,
        region: m.region,
        tags: m.tags,
        attachments: read_attachments(&m.attach, max)?,
        ack_required: m.ack || m.ack_by.is_some(),
        ack_by: m.ack_by.as_deref().map(deadline).transpose()?,
    })
}

async fn send_and_report(
    node: &Node,
    id: MessageId,
    json: bool,
    what: &str,
    extra: Value,
) -> anyhow::Result<()> {
    let d = deliver_now(node, id).await?;
    let mut v = json!({"id": id.to_string(), "status": d.status(), "recipients": d.recipients(),
                       "reason": d.reason()});
    if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
        m.extend(x);
    }
    let n = d.recipients().unwrap_or(0) as usize;
    print(json, v, || d.text(&format!("{what} {id}"), n));
    Ok(())
}

pub async fn run(cmd: BulletinCmd, home: &Home, json: bool) -> anyhow::Result<()> {
    let node = Node::open(home.clone())?;
    let node = &node;
    match cmd {
        BulletinCmd::Send(SendCmd::Bulletin {
            draft: Some(draft),
            to,
            embargo: None,
            meta,
            ..
        }) => {
            let max = node.config.max_attachment.unwrap_or(DEFAULT_MAX_ATTACHMENT);
            let audience = to.as_deref().map(str::parse::<Audience>).transpose()?;
            // The metadata given here, on top of what the draft holds.
            let extra = bulletin(String::new(), String::new(), meta, max)?;
            let id = node
                .send_bulletin_draft(&draft, audience, move |b| {
                    let title = std::mem::take(&mut b.title);
                    let body = std::mem::take(&mut b.body);
                    let mut attachments = std::mem::take(&mut b.attachments);
                    let ack = b.ack_required;
                    *b = extra;
                    b.title = title;
                    b.body = body;
                    attachments.append(&mut b.attachments);
                    b.attachments = attachments;
                    b.ack_required |= ack;
                })
                .await?;
            send_and_report(
                node,
                id,
                json,
                tr("通报", "bulletin"),
                json!({"draft": draft}),
            )
            .await
        }
        BulletinCmd::Send(SendCmd::Bulletin { draft: Some(_), .. }) => Err(ProtoError::new(
            ErrorCode::BadRequest,
            "--embargo with --draft: send the draft, or revise its release time in the UI",
        )
        .into()),
        BulletinCmd::Send(SendCmd::Bulletin {
            to,
            title,
            body,
            body_file,
            embargo,
            meta,
            draft: None,
        }) => {
            let max = node.config.max_attachment.unwrap_or(DEFAULT_MAX_ATTACHMENT);
            let audience: Audience = to.unwrap_or_default().parse()?;
            let body = read_body(body, body_file)?.unwrap_or_default();
            let not_before = embargo.as_deref().map(start).transpose()?;
            let b = bulletin(title.unwrap_or_default(), body, meta, max)?;
            let id = node
                .queue(audience, Payload::Bulletin(b), not_before)
                .await?;
            send_and_report(node, id, json, tr("通报", "bulletin"), json!({})).await
        }
        BulletinCmd::Ack { id, reply } => ack(node, json, id, reply).await,
        BulletinCmd::Receipts { id } => receipts(node, json, id).await,
        BulletinCmd::Remind { id, note } => {
            let (rid, n) = node.remind(&id, note).await?;
            let extra = json!({"bulletin": id, "reminded": n});
            send_and_report(node, rid, json, tr("催办", "reminder"), extra).await
        }
        BulletinCmd::Revise {
            id,
            title,
            body,
            body_file,
            doc_number,
            effective,
            note,
        } => {
            let patch = Patch {
                title,
                body: read_body(body, body_file)?,
                doc_number,
                effective,
            };
            let rid = node.revise(&id, patch, note).await?;
            send_and_report(
                node,
                rid,
                json,
                tr("更正", "revision"),
                json!({"revises": id}),
            )
            .await?;
            let (_, b) = node
                .archive
                .call(move |a| a.bulletin_of(&rid.to_string()))
                .await?;
            if b.ack_required && !json {
                crate::cli::output::warn(&format!(
                    "{} `lianxi receipts {rid}`",
                    tr(
                        "回执重新开始：收件单位对更正版本重新回执，查看：",
                        "receipts start again: recipients acknowledge the revision; see"
                    )
                ));
            }
            Ok(())
        }
        BulletinCmd::Withdraw { id, reason } => {
            let rid = node.withdraw(&id, reason).await?;
            send_and_report(
                node,
                rid,
                json,
                tr("撤回", "withdrawal"),
                json!({"withdraws": id}),
            )
            .await
        }
        BulletinCmd::Forward { id, to, note } => {
            let rid = node.forward(&id, to.parse()?, note).await?;
            send_and_report(
                node,
                rid,
                json,
                tr("转发", "forward"),
                json!({"forwards": id}),
            )
            .await
        }
        BulletinCmd::Attachment {
            id,
            name,
            out,
            force,
        } => {
            let (real, data) = node.archive.call(move |a| a.attachment(&id, &name)).await?;
            let path = save_attachment(&out, &real, &data, force)?;
            print(
                json,
                json!({"name": real, "path": path, "size": data.len()}),
                || {
                    tr(
                        format!("已保存 {}（{} 字节）", path.display(), data.len()),
                        format!("saved {} ({} bytes)", path.display(), data.len()),
                    )
                },
            );
            Ok(())
        }
    }
}

/// `--body TEXT` or `--body-file FILE`; neither is `None`.
fn read_body(body: Option<String>, file: Option<PathBuf>) -> anyhow::Result<Option<String>> {
    match (body, file) {
        (Some(b), _) => Ok(Some(b)),
        (None, Some(f)) => std::fs::read_to_string(&f)
            .map(Some)
            .with_context(|| format!("reading {}", f.display())),
        (None, None) => Ok(None),
    }
}

async fn ack(node: &Node, json: bool, id: String, reply: Option<String>) -> anyhow::Result<()> {
    let fresh = node.acknowledge(&id, reply).await?;
    if !fresh {
        let v = json!({"id": id, "status": "already_acknowledged"});
        print(json, v, || {
            tr(
                format!("{id} 已回执过"),
                format!("{id} was already acknowledged"),
            )
        });
        return Ok(());
    }
    let pending = node.archive.call(|a| a.pending()).await?;
    match pending.last() {
        Some(r) => {
            send_and_report(
                node,
                r.id,
                json,
                tr("回执", "receipt"),
                json!({"bulletin": id}),
            )
            .await
        }
        None => {
            let v = json!({"bulletin": id, "status": "queued"});
            print(json, v, String::new);
            Ok(())
        }
    }
}

async fn receipts(node: &Node, json: bool, id: String) -> anyhow::Result<()> {
    let (r, head) = node
        .archive
        .call(move |a| {
            let r = a.receipts(&id, now_ms())?;
            let (_, current, revision) = a.thread_head(&r.id)?;
            let newer = (current != r.id).then_some((current, revision));
            Ok((r, newer))
        })
        .await?;
    if let (Some((current, revision)), false) = (&head, json) {
        crate::cli::output::warn(&format!(
            "{} {revision}: `lianxi receipts {current}`",
            tr(
                "这是旧版本的回执；收件单位对最新更正重新回执，更正",
                "these are an earlier version's receipts; recipients acknowledge the latest, revision"
            )
        ));
    }
    let rows: Vec<Value> = r
        .recipients
        .iter()
        .map(|x| {
            json!({"node_id": x.node_id, "state": x.state(), "delivered_at": x.delivered_at.map(rfc3339),
                   "read_at": x.read_at.map(rfc3339), "acknowledged_at": x.acked_at.map(rfc3339),
                   "reply": x.reply, "reminded_at": x.reminded_at.map(rfc3339), "overdue": x.overdue})
        })
        .collect();
    let v = json!({"id": r.id, "title": r.title, "ack_required": r.ack_required, "ack_by": r.ack_by.map(rfc3339),
                   "superseded_by": head.as_ref().map(|h| &h.0),
                   "recipients": rows, "total": r.recipients.len(), "delivered": r.delivered, "read": r.read,
                   "acknowledged": r.acknowledged, "overdue": r.overdue});
    print(json, v, || {
        let mut s = format!(
            "{}\n{} {}：{} {}，{} {}，{} {}，{} {}\n",
            r.title,
            r.recipients.len(),
            tr("个收件单位", "recipients"),
            r.delivered,
            tr("已送达", "delivered"),
            r.read,
            tr("已读", "read"),
            r.acknowledged,
            tr("已回执", "acknowledged"),
            r.overdue,
            tr("逾期", "overdue"),
        );
        if lang() == Lang::En {
            s = s.replace('：', ": ").replace('，', ", ");
        }
        for x in &r.recipients {
            let when = x.acked_at.or(x.read_at).or(x.delivered_at);
            let state = match x.state() {
                "acknowledged" => tr("已回执", "acknowledged"),
                "read" => tr("已读", "read"),
                "delivered" => tr("已送达", "delivered"),
                _ => tr("未送达", "pending"),
            };
            s += &format!(
                "{:<16} {} {}{}\n",
                x.node_id,
                lianxi::tui::widgets::text::fit(state, 13),
                when.map(rfc3339).unwrap_or_default(),
                if x.overdue {
                    tr("  逾期", "  OVERDUE")
                } else {
                    ""
                }
            );
        }
        s.trim_end().to_owned()
    });
    Ok(())
}

/// `lianxi export bulletin`: bulletins as Markdown or JSON, to a file or stdout.
pub async fn export(
    ids: Vec<String>,
    format: String,
    out: Option<std::path::PathBuf>,
    home: &Home,
    json: bool,
) -> anyhow::Result<()> {
    let node = Node::open(home.clone())?;
    let mut md = String::new();
    let mut arr = Vec::new();
    for id in ids {
        let (row, b) = node
            .archive
            .call({
                let id = id.clone();
                move |a| a.bulletin_of(&id)
            })
            .await?;
        let shown = node
            .archive
            .call({
                let id = row.id.clone();
                move |a| a.show(&id, false, now_ms())
            })
            .await?;
        md += &to_markdown(&row, &b);
        md += "\n---\n\n";
        let mut v = message_json(&shown);
        v["attachments"] = json!(
            b.attachments
                .iter()
                .map(|a| json!({"name": a.name, "size": a.data.len()}))
                .collect::<Vec<_>>()
        );
        arr.push(v);
    }
    let text = match format.as_str() {
        "md" | "markdown" => md,
        "json" => serde_json::to_string_pretty(&json!({"bulletins": arr}))?,
        other => {
            return Err(ProtoError::new(
                ErrorCode::BadRequest,
                format!("unknown format {other:?}: md or json"),
            )
            .into());
        }
    };
    match out {
        Some(p) => {
            lianxi_certs::files::write_atomic(&p, text.as_bytes(), false)?;
            if json {
                crate::cli::output::line(&json!({"path": p, "count": arr.len()}).to_string());
            } else {
                crate::cli::output::line(&tr(
                    format!("已导出 {} 条通报到 {}", arr.len(), p.display()),
                    format!("exported {} bulletin(s) to {}", arr.len(), p.display()),
                ));
            }
        }
        None => crate::cli::output::raw(&text),
    }
    Ok(())
}

/// Where `lianxi attachment --out OUT` writes: into the folder OUT under the
/// sender's name made safe, or to the new file OUT. OUT is a folder when it is
/// one, ends in `/`, or does not exist and its name has no extension (created
/// then); a file otherwise. Nothing that exists is replaced or followed
/// unless `force`.
fn save_attachment(
    out: &std::path::Path,
    name: &str,
    data: &[u8],
    force: bool,
) -> Result<std::path::PathBuf, ProtoError> {
    use lianxi_certs::files::{safe_component, write_new_in};
    let as_dir = out.is_dir()
        || out.as_os_str().to_string_lossy().ends_with('/')
        || (std::fs::symlink_metadata(out).is_err() && out.extension().is_none());
    if as_dir {
        lianxi_certs::files::create_private_dir(out)?;
        return write_new_in(out, &safe_component(name), data, force);
    }
    let file = out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ProtoError::new(ErrorCode::BadRequest, "--out names no file"))?;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !force && std::fs::symlink_metadata(out).is_ok() {
        return Err(ProtoError::new(
            ErrorCode::Io,
            format!(
                "{} exists; choose another name, a folder, or --force to replace it",
                out.display()
            ),
        ));
    }
    // A file created between the check and the write is kept; the new one
    // then gets a numbered name, printed by the caller.
    write_new_in(dir, file, data, force)
}
