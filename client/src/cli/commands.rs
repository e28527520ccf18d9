//! Each CLI subcommand, printing text or `--json`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use lianxi::archive::MessageRow;
use lianxi::home::Home;
use lianxi::identity::Unlock;
use lianxi::node::{self, InitArgs, Node};
use lianxi::sync::NetEvent;
use lianxi::tui::i18n::Lang;
use lianxi::{ErrorCode, ProtoError, now_ms};
use lianxi_shared::NodeId;
use lianxi_shared::ids::parse_roles;
use lianxi_shared::text::escape_line;
use serde_json::{Value, json};

use crate::cli::args::{Cli, Cmd, ExportCmd};

/// RFC 3339 (UTC) for milliseconds since the epoch (empty when out of range).
pub fn rfc3339(ms: i64) -> String {
    lianxi::time_fmt::rfc3339(ms)
}

pub fn message_json(m: &MessageRow) -> Value {
    let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
    v["created_at"] = json!(rfc3339(m.created_at));
    v["received_at"] = json!(rfc3339(m.received_at));
    for key in ["not_before", "ack_by", "acked_at", "reminded_at"] {
        if let Some(ms) = v.get(key).and_then(Value::as_i64) {
            v[key] = json!(rfc3339(ms));
        }
    }
    if let Some(hist) = v.get_mut("history").and_then(Value::as_array_mut) {
        for h in hist {
            if let Some(ms) = h.get("created_at").and_then(Value::as_i64) {
                h["created_at"] = json!(rfc3339(ms));
            }
        }
    }
    v
}

pub fn print(json: bool, value: Value, text: impl FnOnce() -> String) {
    if json {
        crate::cli::output::line(&value.to_string());
    } else {
        let t = text();
        if !t.is_empty() {
            crate::cli::output::line(&t);
        }
    }
}

fn init_logging(home: &Home) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    lianxi_certs::files::create_private_dir(&home.log_dir()).ok()?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("lianxi")
        .filename_suffix("log")
        .max_log_files(14)
        .build(home.log_dir())
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIANXI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer)
        .try_init()
        .ok()?;
    Some(guard)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Cmd::Demo {
        dir,
        as_node,
        interval,
    }) = &cli.cmd
    {
        // The demo keeps everything, logs included, in its own directory.
        let (dir, _tmp) = match dir {
            Some(d) => (d.clone(), None),
            None => {
                let t = tempfile::Builder::new().prefix("lianxi-demo-").tempdir()?;
                (t.path().to_owned(), Some(t))
            }
        };
        std::fs::create_dir_all(&dir)?;
        let _guard = init_logging(&Home::new(&dir));
        let lang = ui_lang(cli.lang.as_deref(), None)?;
        let opts = lianxi::demo::DemoOptions {
            dir,
            as_node: as_node.clone(),
            lang,
            interval: *interval,
        };
        lianxi::demo::run(opts).await?;
        return Ok(());
    }
    let mut home = Home::resolve(cli.home.clone())?;
    home.unlock = match &cli.passphrase_file {
        Some(p) => Unlock::File(p.clone()),
        None => Unlock::Prompt,
    };
    let _guard = init_logging(&home);
    let json = cli.json;
    let lang = ui_lang(
        cli.lang.as_deref(),
        home.load_config().ok().and_then(|c| c.lang),
    )?;
    let Some(cmd) = cli.cmd else {
        let node = std::sync::Arc::new(Node::open(home.clone())?);
        lianxi::tui::runtime::run(node, lang).await?;
        return Ok(());
    };
    match cmd {
        Cmd::Init(a) => {
            let args = InitArgs {
                node_id: NodeId::new(a.node_id.as_str())?,
                name: a.name,
                org: a.org,
                tier: a.tier.parse()?,
                roles: parse_roles(&a.roles)?,
            };
            let (request, cfg) = node::init(&home, args)?;
            if let Some(out) = &a.request_out {
                lianxi_certs::files::write_atomic(out, request.as_bytes(), false)?;
            }
            let req_path = a.request_out.clone().unwrap_or(home.request_path());
            print(
                json,
                json!({"node_id": cfg.node_id, "request": req_path, "home": home.dir,
                               "age_identity_file": home.age_identity_path()}),
                || {
                    format!(
                        "节点 {} 已创建 / node created.\nenrollment request: {}\nsend it to the CA operator (lianxi-ca sign), then run `lianxi enroll`.",
                        cfg.node_id,
                        req_path.display()
                    )
                },
            );
        }
        Cmd::Enroll {
            cert,
            ca,
            hub,
            server_name,
        } => {
            let cert =
                std::fs::read(&cert).with_context(|| format!("reading {}", cert.display()))?;
            let ca = std::fs::read(&ca).with_context(|| format!("reading {}", ca.display()))?;
            let info = node::enroll(&home, &cert, &ca, &hub, server_name)?;
            // Register with the hub now if it is reachable; enrolling works offline too.
            let node = Node::open(home.clone())?;
            let connected = match node.connect(Duration::from_secs(5)).await {
                Ok((s, _events)) => {
                    let r = node.refresh_directory(&s).await;
                    s.close().await;
                    r.is_ok()
                }
                Err(e) => {
                    tracing::warn!(code = %e.code, "hub not reachable during enroll");
                    false
                }
            };
            print(
                json,
                json!({"node_id": info.node_id, "hub": hub, "connected": connected, "not_after": rfc3339(info.not_after * 1000)}),
                || {
                    format!(
                        "enrolled {} with hub {hub}{}",
                        info.node_id,
                        if connected {
                            ""
                        } else {
                            " (hub not reachable now; it will be used on the next sync)"
                        }
                    )
                },
            );
        }
        Cmd::Key(cmd) => crate::cli::keys::run(cmd, &home, json)?,
        Cmd::Whoami => {
            let cfg = home.load_config()?;
            let node = Node::open(home.clone()).ok();
            let crl_next = match &node {
                Some(n) => n.crl_next_update().await.ok().flatten(),
                None => None,
            };
            let crl_stale = crl_next.is_some_and(|t| t.saturating_mul(1000) < now_ms());
            let v = json!({
                "node_id": cfg.node_id, "name": cfg.name, "org": cfg.org, "tier": cfg.tier, "roles": cfg.roles,
                "hub": cfg.hub, "home": home.dir,
                "enrolled": node.is_some(),
                "signing_key": node.as_ref().map(|n| n.me.signing_key.iter().map(|b| format!("{b:02x}")).collect::<String>()),
                "age_recipient": node.as_ref().map(|n| n.age_recipient()),
                "cert_not_after": node.as_ref().map(|n| rfc3339(n.me.not_after * 1000)),
                "age_identity_file": home.age_identity_path(),
                "signing_key_file": home.signing_key_path(),
                "crl_next_update": crl_next.map(|t| rfc3339(t.saturating_mul(1000))),
                "crl_stale": crl_stale,
            });
            print(json, v.clone(), || {
                let mut s = format!(
                    "{} — {} ({})\ntier {}  roles {}\nhome {}\nage identity file {}",
                    cfg.node_id,
                    cfg.name,
                    cfg.org,
                    cfg.tier,
                    cfg.roles
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    home.dir.display(),
                    home.age_identity_path().display()
                );
                if let Some(n) = &node {
                    s += &format!(
                        "\nage recipient {}\ncertificate valid until {}\nhub {}",
                        n.age_recipient(),
                        rfc3339(n.me.not_after * 1000),
                        cfg.hub.clone().unwrap_or_default()
                    );
                } else {
                    s += "\nnot enrolled yet";
                }
                match crl_next {
                    Some(t) if crl_stale => {
                        s += &format!(
                            "\nwarning: the newest CRL this node has seen was due for renewal at {}; \
                         revocations since then may be missing (ask the CA operator to publish a new one)",
                            rfc3339(t.saturating_mul(1000))
                        )
                    }
                    Some(t) => {
                        s += &format!("\nCRL valid until {}", rfc3339(t.saturating_mul(1000)))
                    }
                    None => s += "\nno CRL seen yet",
                }
                s
            });
        }
        Cmd::Directory { offline } => {
            let node = Node::open(home.clone())?;
            let mut stale = true;
            if !offline && let Ok((s, _ev)) = node.connect(Duration::from_secs(5)).await {
                stale = node.refresh_directory(&s).await.is_err();
                s.close().await;
            }
            let dir = node.directory().await?;
            let nodes: Vec<Value> = dir.iter().map(|n| json!({
                "node_id": n.node_id, "name": n.name, "org": n.org, "tier": n.tier, "roles": n.roles,
                "age_recipient": n.age_recipient, "not_after": rfc3339(n.not_after * 1000),
            })).collect();
            print(json, json!({"nodes": nodes, "stale": stale}), || {
                let mut s = String::new();
                for n in &dir {
                    let roles: Vec<&str> = n.roles.iter().map(|r| r.as_str()).collect();
                    s += &format!(
                        "{:<20} {:<11} {:<24} {}\n",
                        n.node_id,
                        n.tier,
                        roles.join(","),
                        n.name
                    );
                }
                if stale {
                    s += "(hub not reachable: cached directory)";
                }
                s.trim_end().to_owned()
            });
        }
        cmd @ (Cmd::Send(_)
        | Cmd::Ack { .. }
        | Cmd::Receipts { .. }
        | Cmd::Remind { .. }
        | Cmd::Revise { .. }
        | Cmd::Withdraw { .. }
        | Cmd::Forward { .. }
        | Cmd::Attachment { .. }
        | Cmd::Export(ExportCmd::Bulletin { .. })) => {
            crate::cli::bulletins::run(cmd, &home, json).await?
        }
        Cmd::Case(cmd) => crate::cli::cases::run(cmd, &home, json).await?,
        Cmd::Conference(cmd) => {
            crate::cli::conference::run(cmd, Node::open(home.clone())?, json).await?
        }
        Cmd::Sync { timeout } => {
            let node = Node::open(home.clone())?;
            let r = lianxi::sync::sync(&node, Duration::from_secs(timeout)).await?;
            print(json, serde_json::to_value(&r)?, || {
                format!(
                    "sent {}, received {} new ({} duplicate, {} rejected), {} case message(s), {} still in the outbox",
                    r.sent, r.received, r.duplicates, r.rejected, r.case_messages, r.pending_outbox
                )
            });
        }
        Cmd::Listen => {
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
                        NetEvent::State(s) if !json => {
                            crate::cli::output::warn(&format!("[{s:?}]"))
                        }
                        _ => {}
                    }
                }
            };
            tokio::select! {
                r = lianxi::sync::run_connected(&node, cmd_rx, ev_tx) => r?,
                _ = printer => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Cmd::List {
            limit,
            offset,
            kind,
            filter,
        } => {
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
        }
        Cmd::Show { id } => {
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
        }
        Cmd::Search { query, limit } => {
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
        }
        Cmd::Outbox => {
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
        }
        Cmd::Demo { .. } => unreachable!("handled above"),
        Cmd::Export(ExportCmd::Envelope { id, out }) => {
            let node = Node::open(home.clone())?;
            let files = export_envelope(&node, &id, &out).await?;
            print(json, json!({"dir": out, "files": files}), || {
                format!("exported to {}", out.display())
            });
        }
    }
    Ok(())
}

/// The UI language from `--lang`, else the config, else Chinese.
pub fn ui_lang(flag: Option<&str>, config: Option<String>) -> Result<Lang, ProtoError> {
    match flag.map(str::to_owned).or(config) {
        None => Ok(Lang::Zh),
        Some(s) => Lang::parse(&s).ok_or_else(|| {
            ProtoError::new(
                ErrorCode::BadRequest,
                format!("unknown language {s:?}: use zh or en"),
            )
        }),
    }
}

/// The last 8 characters of an id (the random part of a UUIDv7).
pub fn short_id(id: &str) -> &str {
    &id[id.len().saturating_sub(8)..]
}

pub fn parse_time(s: &str) -> Result<i64, ProtoError> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| {
            ProtoError::new(
                ErrorCode::BadRequest,
                format!("{s:?} is not an RFC 3339 time: {e}"),
            )
        })?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

async fn export_envelope(node: &Node, id: &str, out: &Path) -> anyhow::Result<Vec<String>> {
    let id = id.to_owned();
    let (env, wrap, sender) = node.archive.call(move |a| a.envelope(&id)).await?;
    let header = env.decode_header()?;
    let sender_id = NodeId::new(sender)?;
    let sender_cert = node
        .archive
        .call(move |a| a.directory_entry(&sender_id))
        .await?
        .map(|(_, c)| c);
    std::fs::create_dir_all(out)?;
    let mut files = Vec::new();
    let mut write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        std::fs::write(out.join(name), bytes).with_context(|| format!("writing {name}"))?;
        files.push(name.to_owned());
        Ok(())
    };
    write("header.cbor", &env.header)?;
    write("signature.bin", &env.sig)?;
    write("body.age", &env.body)?;
    match &wrap {
        // A forwarded message carries its own message key instead of a wrap.
        Some(w) if w.starts_with(lianxi_shared::AGE_SECRET_PREFIX.as_bytes()) => {
            write("message.key", w)?
        }
        Some(w) => write("wrap.age", w)?,
        None => {}
    }
    if let Some(c) = &sender_cert {
        write(
            "sender.crt",
            lianxi_certs::to_pem("CERTIFICATE", c).as_bytes(),
        )?;
    }
    let meta = json!({
        "id": header.id.to_string(), "sender": header.sender, "audience": header.audience.to_string(),
        "created_at": rfc3339(header.created_at), "not_before": header.not_before.map(rfc3339),
        "body_sha256": header.body_sha256.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "ephemeral_recipient": header.key,
        "signed_bytes": "the ASCII string \"lianxi/v1/envelope\" + one zero byte + header.cbor",
        "signature_scheme": "Ed25519 (RFC 8032), public key in sender.crt",
    });
    write(
        "envelope.json",
        serde_json::to_string_pretty(&meta)?.as_bytes(),
    )?;
    let readme = "How to check this envelope with standard tools\n\
        1. The body is a standard age file encrypted to a one-time key; wrap.age holds that key,\n\
           encrypted to this node's age identity:\n\
             age -d -i <node age identity file> wrap.age > message.key\n\
             age -d -i message.key body.age > payload.cbor\n\
        2. payload.cbor is the message (CBOR, RFC 8949).\n\
        3. sha256sum body.age equals body_sha256 in envelope.json (also inside header.cbor).\n\
        4. signature.bin is an Ed25519 signature by the sender's certificate key over\n\
           \"lianxi/v1/envelope\\0\" followed by header.cbor.\n";
    write("README.txt", readme.as_bytes())?;
    Ok(files)
}
