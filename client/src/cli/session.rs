//! Talking to the hub from the command line: `sync` once, or `listen`.

use std::time::Duration;

use lianxi::home::Home;
use lianxi::node::Node;
use lianxi::sync::NetEvent;
use lianxi_shared::text::escape_line;

use crate::cli::commands::{message_json, print};
use crate::cli::output::tr;
use lianxi::time_fmt::rfc3339;

pub async fn sync(timeout: u64, home: &Home, json: bool) -> anyhow::Result<()> {
    let node = Node::open(home.clone())?;
    let r = lianxi::sync::sync(&node, Duration::from_secs(timeout)).await?;
    print(json, serde_json::to_value(&r)?, || {
        let mut s = tr(
            format!(
                "发出 {}，新收到 {}（重复 {}，拒收 {}），案件消息 {}，发件箱剩余 {}",
                r.sent, r.received, r.duplicates, r.rejected, r.case_messages, r.pending_outbox
            ),
            format!(
                "sent {}, received {} new ({} duplicate, {} rejected), {} case message(s), {} still in the outbox",
                r.sent, r.received, r.duplicates, r.rejected, r.case_messages, r.pending_outbox
            ),
        );
        // Why each was refused; the archive keeps them all.
        const SHOWN: usize = 20;
        for e in r.rejections.iter().take(SHOWN) {
            s += &format!(
                "\n  {}: {} [{}]",
                tr("拒收", "refused"),
                escape_line(&e.message),
                e.code
            );
        }
        if r.rejections.len() > SHOWN {
            s += &format!("\n  … {}", r.rejections.len() - SHOWN);
        }
        for (id, e) in &r.send_failures {
            s += &format!(
                "\n  {} {id}: {} [{}]",
                tr("未送出", "not sent"),
                escape_line(&e.message),
                e.code
            );
        }
        s
    });
    Ok(())
}

pub async fn listen(home: &Home, json: bool) -> anyhow::Result<()> {
    let node = Node::open(home.clone())?;
    let (_cmd_tx, cmd_rx) = tokio::sync::mpsc::channel(8);
    let (ev_tx, mut ev_rx) = tokio::sync::mpsc::channel(1024);
    let printer = async {
        while let Some(ev) = ev_rx.recv().await {
            match ev {
                NetEvent::Arrived(m) if json => {
                    crate::cli::output::line(&message_json(&m).to_string())
                }
                NetEvent::Arrived(m) => crate::cli::output::line(&format!(
                    "{}  {}  {}  {}",
                    rfc3339(m.created_at),
                    m.sender,
                    escape_line(&m.title),
                    m.id
                )),
                NetEvent::State(s) if !json => crate::cli::output::warn(&format!("[{s:?}]")),
                _ => {}
            }
        }
    };
    tokio::select! {
        r = lianxi::sync::run_connected(&node, cmd_rx, ev_tx) => r?,
        _ = printer => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
