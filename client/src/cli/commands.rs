//! Each CLI subcommand, printing text or `--json`.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;
use lianxi::archive::MessageRow;
use lianxi::home::Home;
use lianxi::identity::Unlock;
use lianxi::node::Node;
use lianxi::time_fmt::rfc3339;
use lianxi::tui::i18n::Lang;
use lianxi::{ErrorCode, ProtoError};
use lianxi_shared::NodeId;
use serde_json::{Value, json};

use crate::cli::args::{Cli, Cmd, ExportCmd, NodeCmd};
use crate::cli::output::tr;

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

/// `lianxi demo`: everything, logs included, in its own directory.
async fn demo(
    dir: Option<std::path::PathBuf>,
    as_node: String,
    interval: f64,
    lang: Option<&str>,
) -> anyhow::Result<()> {
    let (dir, _tmp) = match dir {
        Some(d) => (d, None),
        None => {
            let t = tempfile::Builder::new().prefix("lianxi-demo-").tempdir()?;
            (t.path().to_owned(), Some(t))
        }
    };
    std::fs::create_dir_all(&dir)?;
    let _guard = init_logging(&Home::new(&dir));
    let opts = lianxi::demo::DemoOptions {
        dir,
        as_node,
        lang: ui_lang(lang, None)?,
        interval,
    };
    lianxi::demo::run(opts).await?;
    Ok(())
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let cmd = match cli.cmd {
        Some(Cmd::Demo {
            dir,
            as_node,
            interval,
        }) => return demo(dir, as_node, interval, cli.lang.as_deref()).await,
        Some(Cmd::Completions { shell }) => {
            lianxi_certs::cli_doc::print_completions(Cli::command(), shell);
            return Ok(());
        }
        Some(Cmd::Man { out }) => {
            let files = lianxi_certs::cli_doc::write_man_pages(Cli::command(), &out)?;
            print(cli.json, json!({"dir": out, "pages": files.len()}), || {
                tr(
                    format!("已生成 {} 个手册页于 {}", files.len(), out.display()),
                    format!("{} man pages in {}", files.len(), out.display()),
                )
            });
            return Ok(());
        }
        Some(Cmd::Node(cmd)) => Some(*cmd),
        None => None,
    };
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
    crate::cli::output::set_lang(lang);
    let Some(cmd) = cmd else {
        let node = std::sync::Arc::new(Node::open(home.clone())?);
        lianxi::tui::runtime::run(node, lang).await?;
        return Ok(());
    };
    match cmd {
        NodeCmd::Init(a) => crate::cli::identity::init(a, &home, json)?,
        NodeCmd::Backup {
            out,
            backup_passphrase_file,
        } => crate::cli::backup::backup(&home, out, backup_passphrase_file, json).await?,
        NodeCmd::Restore {
            file,
            backup_passphrase_file,
        } => crate::cli::backup::restore(&home, file, backup_passphrase_file, json)?,
        NodeCmd::Enroll {
            cert,
            ca,
            hub,
            server_name,
        } => crate::cli::identity::enroll(cert, ca, hub, server_name, &home, json).await?,
        NodeCmd::Key(cmd) => crate::cli::keys::run(cmd, &home, json)?,
        NodeCmd::Whoami => crate::cli::identity::whoami(&home, json).await?,
        NodeCmd::Renew { new_keys, cert } => {
            crate::cli::identity::renew(&home, new_keys, cert, json)?
        }
        NodeCmd::Directory { offline } => {
            crate::cli::identity::directory(offline, &home, json).await?
        }
        NodeCmd::Bulletin(cmd) => crate::cli::bulletins::run(cmd, &home, json).await?,
        NodeCmd::Export(ExportCmd::Bulletin { ids, format, out }) => {
            crate::cli::bulletins::export(ids, format, out, &home, json).await?
        }
        NodeCmd::Case(cmd) => crate::cli::cases::run(cmd, &home, json).await?,
        NodeCmd::Conference(cmd) => {
            crate::cli::conference::run(cmd, Node::open(home.clone())?, json).await?
        }
        NodeCmd::Sync { timeout } => crate::cli::session::sync(timeout, &home, json).await?,
        NodeCmd::Listen => crate::cli::session::listen(&home, json).await?,
        NodeCmd::List {
            limit,
            offset,
            kind,
            filter,
        } => crate::cli::archive::list(limit, offset, kind, filter, &home, json).await?,
        NodeCmd::Show { id } => crate::cli::archive::show(id, &home, json).await?,
        NodeCmd::Search { query, limit } => {
            crate::cli::archive::search(query, limit, &home, json).await?
        }
        NodeCmd::Outbox => crate::cli::archive::outbox(&home, json).await?,
        NodeCmd::Drafts { cmd } => crate::cli::drafts::run(cmd, &home, json).await?,
        NodeCmd::Export(ExportCmd::Envelope { id, out }) => {
            crate::cli::archive::export(id, out, &home, json).await?
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

pub async fn export_envelope(node: &Node, id: &str, out: &Path) -> anyhow::Result<Vec<String>> {
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
