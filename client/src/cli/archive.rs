//! Reading the local archive: `list`, `show`, `search`, `outbox`, and
//! `export envelope` (a message's signed original for independent checking).

use std::path::PathBuf;

use lianxi::home::Home;
use lianxi::node::Node;
use lianxi::now_ms;
use lianxi_shared::text::escape_line;
use serde_json::{Value, json};

use lianxi::archive::{Direction, MessageRow};
use lianxi::time_fmt;
use lianxi_shared::payload::Category;

use crate::cli::args::ListFilter;
use crate::cli::commands::{export_envelope, message_json, print, short_id};
use crate::cli::output::{lang, tr};
use lianxi::tui::i18n::Lang;

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
        || rows.iter().map(list_line).collect::<Vec<_>>().join("\n"),
    );
    Ok(())
}

/// What a person must not miss about a message: withdrawn or superseded, the
/// revision, the receipt asked for, forwarded, attachments.
fn flags(m: &MessageRow) -> Vec<String> {
    let mut f = Vec::new();
    match m.state.as_str() {
        "withdrawn" => f.push(tr("【已撤回】", "[WITHDRAWN]").to_owned()),
        "superseded" => f.push(tr("【已更正】", "[SUPERSEDED]").to_owned()),
        _ => {}
    }
    if m.revision > 0 {
        f.push(format!("[{} {}]", tr("更正", "revision"), m.revision));
    }
    if m.ack_required && m.direction == Direction::In {
        f.push(if m.acked {
            tr("[已回执]", "[acknowledged]").to_owned()
        } else {
            tr("[需回执]", "[ack required]").to_owned()
        });
    }
    if let Some(via) = &m.via {
        f.push(format!("[{} {via}]", tr("转发自", "via")));
    }
    if m.attachments > 0 {
        f.push(format!("[{} {}]", tr("附件", "attachments"), m.attachments));
    }
    f
}

fn list_line(m: &MessageRow) -> String {
    let category = m
        .category
        .as_deref()
        .and_then(|c| c.parse::<Category>().ok())
        .map(|c| match lang() {
            Lang::Zh => c.zh(),
            Lang::En => c.as_str(),
        })
        .unwrap_or(m.kind.as_str());
    let mut flags = flags(m).join(" ");
    if !flags.is_empty() {
        flags.push(' ');
    }
    format!(
        "{} {} {} {:<8} {:<12} {flags}{}",
        if m.read { " " } else { "•" },
        short_id(&m.id),
        time_fmt::minutes(m.created_at),
        category,
        m.sender,
        escape_line(&m.title)
    )
}

pub async fn show(id: String, home: &Home, json: bool) -> anyhow::Result<()> {
    let node = Node::open(home.clone())?;
    let m = node
        .archive
        .call(move |a| a.show(&id, true, now_ms()))
        .await?;
    print(json, message_json(&m), || show_text(&m));
    Ok(())
}

fn show_text(m: &MessageRow) -> String {
    let mut s = escape_line(&m.title).into_owned();
    let flags = flags(m);
    if !flags.is_empty() {
        s += &format!("\n{}", flags.join(" "));
    }
    let d = m.detail.as_deref();
    if let Some(note) = d.and_then(|d| d.note.as_deref()).filter(|n| !n.is_empty()) {
        let label = if m.state == "withdrawn" {
            tr("撤回理由", "reason")
        } else {
            tr("更正说明", "what changed")
        };
        s += &format!("\n{label}: {}", escape_line(note));
    }
    let mut rows: Vec<(&str, String)> = vec![
        (tr("发件", "from"), m.sender.clone()),
        (tr("时间", "sent"), time_fmt::long(m.created_at)),
        (tr("对象", "to"), m.audience.clone()),
    ];
    if let Some(c) = m
        .category
        .as_deref()
        .and_then(|c| c.parse::<Category>().ok())
    {
        rows.push((tr("类别", "category"), tr(c.zh(), c.as_str()).to_owned()));
    }
    if let Some(d) = d {
        for (label, v) in [
            (tr("文号", "doc no."), &d.doc_number),
            (tr("发文单位", "issuer"), &d.issuer),
            (tr("生效日期", "effective"), &d.effective),
            (tr("地区", "region"), &d.region),
        ] {
            if let Some(v) = v {
                rows.push((label, escape_line(v).into_owned()));
            }
        }
        if !d.tags.is_empty() {
            rows.push((tr("标签", "tags"), d.tags.join(", ")));
        }
        if let Some(by) = d.ack_by {
            rows.push((tr("回执截止", "ack by"), time_fmt::long(by)));
        }
        if let Some(at) = d.acked_at {
            rows.push((tr("已回执", "acknowledged"), time_fmt::long(at)));
        }
        for (n, a) in d.attachments.iter().enumerate() {
            let size = format!("{} B", a.size);
            rows.push((
                tr("附件", "attachment"),
                format!("{} {} ({size})", n + 1, escape_line(&a.name)),
            ));
        }
    }
    rows.push(("id", m.id.clone()));
    for (k, v) in rows {
        s += &format!("\n{k}: {v}");
    }
    s += &format!("\n\n{}", m.body.clone().unwrap_or_default());
    s
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
            return tr("无结果", "no results").into();
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
        tr(
            format!("已导出到 {}", out.display()),
            format!("exported to {}", out.display()),
        )
    });
    Ok(())
}
