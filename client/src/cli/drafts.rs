//! `lianxi drafts`: what was typed and not sent yet.

use lianxi::archive::drafts::Draft;
use lianxi::home::Home;
use lianxi::node::Node;
use lianxi::{ErrorCode, ProtoError, now_ms, time_fmt};
use lianxi_shared::text::escape_line;
use serde_json::{Value, json};

use crate::cli::args::DraftCmd;
use crate::cli::commands::print;
use crate::cli::output::{lang, tr};

fn draft_json(d: &Draft) -> Value {
    json!({
        "id": d.id,
        "kind": d.kind.as_str(),
        "context": d.context,
        "title": d.title,
        "body": d.body,
        "fields": d.fields,
        "attachments": d.attachments,
        "created_at": time_fmt::rfc3339(d.created_at),
        "updated_at": time_fmt::rfc3339(d.updated_at),
    })
}

pub async fn run(cmd: Option<DraftCmd>, home: &Home, json: bool) -> anyhow::Result<()> {
    let node = Node::open(home.clone())?;
    match cmd.unwrap_or(DraftCmd::List) {
        DraftCmd::List => {
            let all = node.drafts().await?;
            let now = now_ms();
            let v: Vec<Value> = all.iter().map(draft_json).collect();
            print(json, json!({"drafts": v}), || {
                if all.is_empty() {
                    return tr("没有草稿", "no drafts").to_owned();
                }
                all.iter()
                    .map(|d| {
                        let title = if d.title.trim().is_empty() {
                            tr("（无标题）", "(untitled)").to_owned()
                        } else {
                            escape_line(&d.title).into_owned()
                        };
                        format!(
                            "{}  {:<6}  {:<10}  {title}  [{} {}]",
                            &d.id[..d.id.len().min(13)],
                            tr(d.kind.zh(), d.kind.en()),
                            time_fmt::ago(now - d.updated_at, lang()),
                            d.body.chars().count(),
                            tr("字", "chars"),
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        DraftCmd::Show { id } => {
            let d = node.draft(&id).await?;
            print(json, draft_json(&d), || {
                let mut s = format!(
                    "{}\n{}: {}\n{}: {}\n{}: {}",
                    escape_line(&d.title),
                    tr("类型", "kind"),
                    tr(d.kind.zh(), d.kind.en()),
                    tr("保存于", "saved"),
                    time_fmt::long(d.updated_at),
                    "id",
                    d.id
                );
                if let Some(a) = d.fields["audience"].as_str() {
                    s += &format!("\n{}: {a}", tr("对象", "to"));
                }
                for (n, f) in d.attachments.iter().enumerate() {
                    s += &format!(
                        "\n{}: {} {} ({} B)",
                        tr("附件", "attachment"),
                        n + 1,
                        escape_line(&f.name),
                        f.size
                    );
                }
                s + "\n\n" + &d.body
            });
        }
        DraftCmd::Delete { id } => {
            let d = node.draft(&id).await?;
            if !node.delete_draft(&d.id).await? {
                let m = format!("no draft {id}");
                return Err(ProtoError::new(ErrorCode::NotFound, m).into());
            }
            print(json, json!({"deleted": d.id}), || {
                format!("{}{}", tr("已删除草稿 ", "draft deleted: "), d.id)
            });
        }
    }
    Ok(())
}
