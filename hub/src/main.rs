//! `lianxi-hub`: serve, or report the state of a data directory.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use lianxi_hub::HubConfig;

#[derive(Parser)]
#[command(
    name = "lianxi-hub",
    version,
    about = "Lianxi store-and-forward hub (QUIC, mutual TLS)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

// Parsed once at start: the size of `Serve` costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Cmd {
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Write man pages for this program and each of its commands into a folder.
    Man {
        /// The folder (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Serve on QUIC. Flags override the TOML `--config`.
    Serve {
        /// A TOML configuration file (every key is described in
        /// deploy/hub.toml); without it, the defaults.
        #[arg(long)]
        config: Option<PathBuf>,
        /// UDP address to listen on [default: 127.0.0.1:7443].
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Data directory, holding hub.db [default: hub-data].
        #[arg(long)]
        data: Option<PathBuf>,
        /// The federation CA's certificate (PEM) [default: ca.crt].
        #[arg(long)]
        ca: Option<PathBuf>,
        /// The hub's certificate (PEM), from `lianxi-ca hub` [default: hub.crt].
        #[arg(long)]
        cert: Option<PathBuf>,
        /// The hub's private key (PEM) [default: hub.key].
        #[arg(long)]
        key: Option<PathBuf>,
        /// The CA's CRL (reloaded when the file changes; `lianxi-ca crl`).
        #[arg(long)]
        crl: Option<PathBuf>,
        /// Run without a CRL: revoked nodes can then connect. Only for tests
        /// and a federation that has never revoked anything.
        #[arg(long)]
        no_crl: bool,
        /// Serve Prometheus metrics at http://ADDR/metrics (TCP; a loopback
        /// address only, e.g. 127.0.0.1:9464).
        #[arg(long, value_name = "ADDR")]
        metrics: Option<std::net::SocketAddr>,
        /// Log lines on stderr as text or as JSON objects [default: text].
        #[arg(long, value_enum)]
        log_format: Option<lianxi_hub::config::LogFormat>,
        /// Keep envelopes and queues in this PostgreSQL database
        /// (postgresql://USER@HOST/DB), which several hubs may share, instead
        /// of hub.db in --data.
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
    /// Nodes seen and queue depth per node.
    Status {
        /// The hub's data directory (read while it serves): hub.db, and what
        /// the running hub recorded of its CRL and certificate.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Read nodes and queues from this PostgreSQL database (shared by a
        /// cluster of hubs) instead of hub.db; each node's hub is shown.
        #[arg(long, value_name = "URL")]
        database: Option<String>,
        /// Machine-readable JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Copy a serving hub's SQLite database to a new file, consistent and
    /// checked, without stopping it. (A hub on PostgreSQL is backed up with
    /// PostgreSQL's tools: docs/DEPLOYMENT.md.)
    Backup {
        /// The hub's data directory, holding hub.db.
        #[arg(long)]
        data: PathBuf,
        /// The copy to write; it must not exist yet.
        #[arg(long)]
        out: PathBuf,
        /// Machine-readable JSON output.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Serve {
            config,
            listen,
            data,
            ca,
            cert,
            key,
            crl,
            no_crl,
            metrics,
            log_format,
            database,
        } => {
            let mut cfg = match config.as_deref().map(HubConfig::load).transpose() {
                Ok(c) => c.unwrap_or_default(),
                Err(e) => {
                    eprintln!("lianxi-hub: config: {e:#}");
                    return ExitCode::FAILURE;
                }
            };
            if let Some(v) = listen {
                cfg.listen = v
            }
            if let Some(v) = data {
                cfg.data = v
            }
            if let Some(v) = ca {
                cfg.ca = v
            }
            if let Some(v) = cert {
                cfg.cert = v
            }
            if let Some(v) = key {
                cfg.key = v
            }
            if crl.is_some() {
                cfg.crl = crl
            }
            if metrics.is_some() {
                cfg.metrics = metrics
            }
            if let Some(f) = log_format {
                cfg.log_format = f
            }
            if database.is_some() {
                cfg.storage.database = database
            }
            init_logs(cfg.log_format);
            if cfg.crl.is_none() && !no_crl {
                eprintln!(
                    "lianxi-hub: no CRL: give the CA's with --crl FILE (or `crl` in the config), \
                     or --no-crl to run without revocation"
                );
                return ExitCode::FAILURE;
            }
            let rt = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("lianxi-hub: {e}");
                    return ExitCode::FAILURE;
                }
            };
            rt.block_on(async {
                let hub = match lianxi_hub::start(cfg).await {
                    Ok(h) => h,
                    Err(e) => {
                        eprintln!("lianxi-hub: cannot start: {e:#}");
                        return ExitCode::FAILURE;
                    }
                };
                println!("lianxi-hub listening on {}", hub.addr);
                wait_for_signal().await;
                hub.shutdown().await;
                ExitCode::SUCCESS
            })
        }
        Cmd::Completions { shell } => {
            lianxi_certs::cli_doc::print_completions(Cli::command(), shell);
            ExitCode::SUCCESS
        }
        Cmd::Man { out } => match lianxi_certs::cli_doc::write_man_pages(Cli::command(), &out) {
            Ok(files) => {
                println!("{} man pages in {}", files.len(), out.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("lianxi-hub: writing man pages: {e}");
                ExitCode::FAILURE
            }
        },
        Cmd::Status {
            data,
            database,
            json,
        } => {
            let nodes = match (&database, &data) {
                (Some(url), _) => tokio::runtime::Runtime::new()
                    .map_err(|e| lianxi_hub::store::StoreError::Postgres(e.to_string()))
                    .and_then(|rt| rt.block_on(lianxi_hub::store::postgres::status(url))),
                (None, Some(d)) => lianxi_hub::store::status(d),
                (None, None) => Err(lianxi_hub::store::StoreError::Foreign(
                    "give --data DIR (a hub on SQLite) or --database URL (on PostgreSQL)".into(),
                )),
            };
            match nodes {
                Ok(nodes) => {
                    status(data.as_deref(), &nodes, json);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(json, &e),
            }
        }
        Cmd::Backup { data, out, json } => match lianxi_hub::store::backup(&data, &out) {
            Ok(b) => {
                if json {
                    println!("{}", serde_json::json!(b));
                } else {
                    println!(
                        "backed up to {} ({} bytes; {} nodes, {} queued, {} held)",
                        b.out.display(),
                        b.bytes,
                        b.nodes,
                        b.queued,
                        b.held
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(json, &e),
        },
    }
}

/// Report a store error, as JSON with a stable code or as a line on stderr.
fn fail(json: bool, e: &lianxi_hub::store::StoreError) -> ExitCode {
    let code = match e {
        lianxi_hub::store::StoreError::Postgres(_) => "unavailable",
        lianxi_hub::store::StoreError::Newer { .. } => "archive_newer",
        lianxi_hub::store::StoreError::Corrupt(_) => "archive_corrupt",
        _ => "io",
    };
    if json {
        println!(
            "{}",
            serde_json::json!({"error": {"code": code, "message": e.to_string()}})
        );
    } else {
        eprintln!("lianxi-hub: {e}");
    }
    ExitCode::FAILURE
}

/// `lianxi-hub status`: queues per node, totals, and what the running hub
/// recorded of its CRL and its own certificate, with warnings.
fn status(data: Option<&std::path::Path>, nodes: &[lianxi_hub::store::NodeStatus], json: bool) {
    use lianxi_hub::state::{CertState, CrlState, read};
    let now = lianxi_hub::now_ms() / 1000;
    let crl = data.and_then(read::<CrlState>);
    let cert = data.and_then(read::<CertState>);
    let warnings: Vec<String> = crl
        .as_ref()
        .and_then(|c| c.warning(now))
        .into_iter()
        .chain(cert.as_ref().and_then(|c| c.warning(now)))
        .collect();
    let (queued, held) = nodes
        .iter()
        .fold((0, 0), |(q, h), n| (q + n.queued, h + n.held));
    if json {
        println!(
            "{}",
            serde_json::json!({
                "nodes": nodes,
                "queued": queued,
                "held": held,
                "crl": crl,
                "crl_stale": crl.as_ref().is_some_and(|c| c.stale(now)),
                "certificate": cert,
                "certificate_days_left": cert.as_ref().map(|c| lianxi_certs::verify::days_left(c.not_after, now)),
                "warnings": warnings,
            })
        );
        return;
    }
    for w in &warnings {
        println!("warning: {w}");
    }
    if let Some(c) = &crl {
        println!(
            "CRL: {} revoked, next update {}",
            c.revoked,
            c.next_update.map_or("—".into(), |t| t.to_string())
        );
    }
    if let Some(c) = &cert {
        println!(
            "certificate: serial {}, expires {} ({} days left)",
            c.serial,
            c.not_after,
            lianxi_certs::verify::days_left(c.not_after, now)
        );
    }
    println!("queued {queued}, held {held}");
    println!(
        "{:<24} {:>8} {:>8}  {:<12} hub",
        "node", "queued", "held", "last seen"
    );
    for n in nodes {
        println!(
            "{:<24} {:>8} {:>8}  {:<12} {}",
            n.node_id,
            n.queued,
            n.held,
            n.last_seen,
            n.hub.as_deref().unwrap_or("-")
        );
    }
}

fn init_logs(format: lianxi_hub::config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        lianxi_hub::config::LogFormat::Text => logs.init(),
        lianxi_hub::config::LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => return drop(ctrl_c.await),
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn every_option_says_what_it_does() {
        lianxi_certs::cli_doc::assert_documented(&super::Cli::command());
    }
}
