//! Reading the local archive: `list`, `show`, `search`, `outbox`, and
//! `export envelope` (a message's signed original for independent checking).

use std::path::PathBuf;

use lianxi::home::Home;
use lianxi::node::Node;
use lianxi::now_ms;
use lianxi_shared::text::escape_line;
use serde_json::{Value, json};

use crate::cli::args::ListFilter;
use crate::cli::commands::{export_envelope, message_json, print, short_id};
use lianxi::time_fmt::rfc3339;

pub async fn list(
    limit: usize,
    offset: usize,
    kind: Option<String>,
    filter: ListFilter,
    home: &Home,
    json: bool,
) -> anyhow::Result<()> {
    let f = crate::cli::bulletins::filter(kind, filter)?;
    let node = Node::open(home.clone())?;
    let rows = node
        .archive
        .call(move |a| a.list_filtered(&f, limit, offset))
        .await?;
    print(
        json,
        json!({"messages": rows.iter().map(message_json).collect::<Vec<_>>()}),
        || {
            rows.iter()
                .map(|m| {
                    format!(
                        "{} {} {} {:<8} {:<16} {}",
                        if m.read { " " } else { "•" },
                        short_id(&m.id),
                        &rfc3339(m.created_at)[..16.min(rfc3339(m.created_at).len())],
                        m.kind,
                        m.sender,
                        escape_line(&m.title)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
    Ok(())
}

pub async fn show(id: String, home: &Home, json: bool) -> anyhow::Result<()> {
    let node = Node::open(home.clone())?;
    let m = node
        .archive
        .call(move |a| a.show(&id, true, now_ms()))
        .await?;
    print(json, message_json(&m), || {
        format!(
            "{}\n发件 from: {}   时间 at: {}\n对象 to: {}   id: {}\n\n{}",
            escape_line(&m.title),
            m.sender,
            rfc3339(m.created_at),
            m.audience,
            m.id,
            m.body.clone().unwrap_or_default()
        )
    });
    Ok(())
}

pub async fn search(query: String, limit: usize, home: &Home, json: bool) -> anyhow::Result<()> {
    let node = Node::open(home.clone())?;
    let q = query.clone();
    let hits = node.archive.call(move |a| a.search(&q, limit)).await?;
    let arr: Vec<Value> = hits
        .iter()
        .map(|h| {
            let mut v = message_json(&h.message);
            v["snippet"] = json!(h.snippet);
            v
        })
        .collect();
    print(json, json!({"query": query, "hits": arr}), || {
        if hits.is_empty() {
            return "no results / 无结果".into();
        }
        hits.iter()
            .map(|h| {
                format!(
                    "{}  {}  {}\n    {}",
                    short_id(&h.message.id),
                    h.message.sender,
                    escape_line(&h.message.title),
                    escape_line(&h.snippet)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

pub async fn outbox(home: &Home, json: bool) -> anyhow::Result<()> {
    let node = Node::open(home.clone())?;
    let items = node.archive.call(|a| a.outbox()).await?;
    print(json, json!({"outbox": items}), || {
        items
            .iter()
            .map(|i| {
                format!(
                    "{:<7} {} {} → {} {}",
                    format!("{:?}", i.state).to_lowercase(),
                    i.id,
                    i.title,
                    i.audience,
                    i.last_error.clone().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

pub async fn export(id: String, out: PathBuf, home: &Home, json: bool) -> anyhow::Result<()> {
    let node = Node::open(home.clone())?;
    let files = export_envelope(&node, &id, &out).await?;
    print(json, json!({"dir": out, "files": files}), || {
        format!("exported to {}", out.display())
    });
    Ok(())
}
