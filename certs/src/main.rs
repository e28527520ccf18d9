//! `lianxi-ca`: the federation's certificate authority.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use lianxi_certs::ca::{Ca, KeyLock, Preview, SignPolicy, Validity};
use lianxi_certs::passphrase;
use lianxi_certs::policy::DecidedBy;
use lianxi_certs::unix_now;
use lianxi_shared::text::{escape_line, escape_text};
use lianxi_shared::{ErrorCode, NodeId, ProtoError, ids::parse_roles};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "lianxi-ca",
    version,
    about = "Lianxi federation certificate authority"
)]
struct Cli {
    /// Machine-readable JSON output, errors included.
    #[arg(long, global = true)]
    json: bool,
    /// Read the CA key's passphrase from this file's first line (for scripts;
    /// also $LIANXI_CA_PASSPHRASE or $LIANXI_CA_PASSPHRASE_FILE). Otherwise it
    /// is asked for on the terminal.
    #[arg(long, global = true)]
    passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

impl Cli {
    fn passphrase(&self) -> passphrase::Source {
        passphrase::Source {
            var: "LIANXI_CA_PASSPHRASE",
            file_var: "LIANXI_CA_PASSPHRASE_FILE",
            file: self.passphrase_file.clone(),
            prompt: true,
            what: "the CA key",
        }
    }

    fn open(&self, dir: &std::path::Path) -> Result<Ca, ProtoError> {
        Ca::open(dir, || self.passphrase().get())
    }
}

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
    /// Create a new CA: DIR/ca.crt, DIR/ca.key (0600, encrypted under a
    /// passphrase asked twice), DIR/records.json and DIR/policy.toml.
    Init {
        /// The CA's folder (created): ca.crt, the passphrase-protected ca.key, its records.
        #[arg(long)]
        dir: PathBuf,
        /// The federation's name, in the CA certificate (e.g. 全国工商联合会联席会议).
        #[arg(long)]
        name: String,
        /// Keep ca.key unencrypted (a throwaway test CA only).
        #[arg(long)]
        no_passphrase: bool,
        /// scrypt work factor (log2 N) for the key's encryption; tests lower it.
        #[arg(long, hide = true)]
        work_factor: Option<u8>,
    },
    /// Issue the hub's server certificate: OUT/hub.crt and OUT/hub.key.
    Hub {
        /// The CA's folder.
        #[arg(long)]
        dir: PathBuf,
        /// DNS name or IP address (repeatable).
        #[arg(long = "host", required = true)]
        hosts: Vec<String>,
        /// Folder to write hub.crt and hub.key into.
        #[arg(long)]
        out: PathBuf,
        /// Validity, days.
        #[arg(long, default_value_t = 825)]
        days: i64,
    },
    /// Sign a node's enrollment request (PKCS#10 CSR).
    Sign(SignArgs),
    /// Revoke every certificate issued to a node.
    Revoke {
        /// The CA's folder.
        #[arg(long)]
        dir: PathBuf,
        /// Revoke every certificate issued to this node id.
        #[arg(long, required_unless_present = "serial", conflicts_with = "serial")]
        node: Option<String>,
        /// Revoke one certificate by its serial (hex, as `list` shows it), such
        /// as a hub's.
        #[arg(long)]
        serial: Option<String>,
    },
    /// Write a CRL listing every revoked certificate.
    Crl {
        /// The CA's folder.
        #[arg(long)]
        dir: PathBuf,
        /// Where to write the CRL (PEM); copy it to each hub's `crl` path.
        #[arg(long)]
        out: PathBuf,
        /// Days until the next CRL is due (its nextUpdate): nodes and hubs warn
        /// when theirs is past it, so publish a new one at least this often.
        #[arg(long, default_value_t = 7)]
        days: i64,
    },
    /// List what the CA issued.
    List {
        /// The CA's folder.
        #[arg(long)]
        dir: PathBuf,
    },
}

// `lianxi-ca sign` (a plain comment: clap would take a doc comment as the about text).
#[derive(clap::Args)]
struct SignArgs {
    /// The CA's folder.
    #[arg(long)]
    dir: PathBuf,
    /// The node's enrollment request (node.csr, from `lianxi init`).
    #[arg(long)]
    request: PathBuf,
    /// Where to write the signed certificate (PEM).
    #[arg(long)]
    out: PathBuf,
    /// Certify these roles instead of the requested ones (comma-separated).
    #[arg(long)]
    roles: Option<String>,
    /// Certify this tier instead of the requested one.
    #[arg(long)]
    tier: Option<String>,
    /// Revoke the node's live certificate(s) and issue this one.
    #[arg(long)]
    replace: bool,
    /// Renew: issue the next certificate of a node that has a live one, for
    /// the keys in the request, with the live one's tier and roles; the live
    /// one stays valid until it expires.
    #[arg(long, conflicts_with = "replace")]
    renew: bool,
    /// Show what would be signed, and sign nothing.
    #[arg(long)]
    dry_run: bool,
    /// Do not ask for confirmation on a terminal.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Validity, days.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// Issue an already-expired certificate (for testing refusal paths).
    #[arg(long, hide = true)]
    expired: bool,
}

fn run(cli: &Cli) -> anyhow::Result<serde_json::Value> {
    let now = unix_now();
    Ok(match &cli.cmd {
        Cmd::Init {
            dir,
            name,
            no_passphrase,
            work_factor,
        } => {
            let lock = if *no_passphrase {
                KeyLock::Plain
            } else {
                KeyLock::Passphrase {
                    pass: cli.passphrase().get_new()?,
                    work_factor: *work_factor,
                }
            };
            Ca::init(dir, name, now, lock)?;
            let path = Ca::cert_path(dir);
            if !cli.json {
                println!("CA created: {}", path.display());
                println!(
                    "signing policy: {} (which tiers and roles it certifies)",
                    dir.join(lianxi_certs::policy::FILE).display()
                );
                if *no_passphrase {
                    println!("warning: ca.key is not encrypted; use this CA for tests only");
                }
            }
            json!({"ca_cert": path, "ca_key": dir.join("ca.key"), "encrypted": !*no_passphrase,
                   "policy": dir.join(lianxi_certs::policy::FILE)})
        }
        Cmd::Hub {
            dir,
            hosts,
            out,
            days,
        } => {
            cli.open(dir)?
                .issue_hub(hosts, out, Validity::days_from(now, *days), now)?;
            if !cli.json {
                println!(
                    "hub certificate for {}: {}",
                    hosts.join(", "),
                    out.join("hub.crt").display()
                );
            }
            json!({"cert": out.join("hub.crt"), "key": out.join("hub.key"), "hosts": hosts})
        }
        Cmd::Sign(a) => sign(cli, a, now)?,
        Cmd::Revoke { dir, node, serial } => {
            let ca = cli.open(dir)?;
            let (node, serials) = match node {
                Some(node) => {
                    let node = NodeId::new(node.as_str())?;
                    let serials = ca.revoke(&node, now)?;
                    (Some(node), serials)
                }
                None => (
                    None,
                    ca.revoke_serial(serial.as_deref().unwrap_or_default(), now)?,
                ),
            };
            if !cli.json {
                println!(
                    "revoked {} certificate(s); publish a new CRL with `lianxi-ca crl`",
                    serials.len()
                );
            }
            json!({"node_id": node, "revoked_serials": serials})
        }
        Cmd::Crl { dir, out, days } => {
            let pem = cli.open(dir)?.crl(now, *days)?;
            lianxi_certs::files::write_atomic(out, pem.as_bytes(), false)?;
            if !cli.json {
                println!("CRL written: {}", out.display());
            }
            json!({"crl": out})
        }
        Cmd::Completions { shell } => {
            lianxi_certs::cli_doc::print_completions(Cli::command(), *shell);
            return Ok(json!({}));
        }
        Cmd::Man { out } => {
            let files = lianxi_certs::cli_doc::write_man_pages(Cli::command(), out)?;
            if !cli.json {
                println!("{} man pages in {}", files.len(), out.display());
            }
            json!({"dir": out, "pages": files.len()})
        }
        Cmd::List { dir } => {
            let list = cli.open(dir)?.list()?;
            let expiring = lianxi_certs::ca::expiring(&list, now);
            if !cli.json {
                for r in &list {
                    let soon = expiring.iter().find(|(e, _)| e.serial == r.serial);
                    let state = if r.revoked_at.is_some() {
                        "REVOKED".to_string()
                    } else if r.not_after <= now {
                        "expired".to_string()
                    } else if let Some((_, days)) = soon {
                        format!("{days}d left")
                    } else {
                        "valid".to_string()
                    };
                    let id = r
                        .node_id
                        .as_ref()
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "-".into());
                    println!(
                        "{:<6} {:<20} {:<8} {} ({}) {}",
                        r.kind,
                        id,
                        state,
                        escape_line(&r.name),
                        escape_line(&r.org),
                        r.serial
                    );
                }
                for (r, days) in &expiring {
                    println!(
                        "warning: {} {} expires in {days} day(s); renew it ({})",
                        r.kind,
                        r.node_id
                            .as_ref()
                            .map_or_else(|| escape_line(&r.name).to_string(), |n| n.to_string()),
                        if r.node_id.is_some() {
                            "`lianxi renew` on the node, then `lianxi-ca sign --renew`"
                        } else {
                            "`lianxi-ca hub`, then copy it over the hub's files"
                        }
                    );
                }
            }
            let soon: Vec<_> = expiring
                .iter()
                .map(|(r, d)| json!({"serial": r.serial, "kind": r.kind, "node_id": r.node_id, "name": r.name, "days_left": d}))
                .collect();
            json!({"issued": list, "expiring": soon})
        }
    })
}

/// `lianxi-ca sign`: preview, confirm on a terminal, sign, write the certificate.
fn sign(cli: &Cli, a: &SignArgs, now: i64) -> anyhow::Result<serde_json::Value> {
    let SignArgs {
        dir,
        request,
        out,
        roles,
        tier,
        replace,
        renew,
        dry_run,
        yes,
        days,
        expired,
    } = a;
    let req = std::fs::read(request).with_context(|| format!("reading {}", request.display()))?;
    let policy = SignPolicy {
        roles: roles.as_deref().map(parse_roles).transpose()?,
        tier: tier.as_deref().map(str::parse).transpose()?,
        replace: *replace,
        renew: *renew,
    };
    let ca = cli.open(dir)?;
    let preview = ca.preview(&req, &policy, now)?;
    if *dry_run {
        if !cli.json {
            println!("{}", preview_text(&preview, *days));
        }
        return Ok(json!({"preview": preview_json(&preview, *days), "signed": false}));
    }
    if !cli.json && !*yes && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        println!("{}", preview_text(&preview, *days));
        print!("sign it? [y/N] ");
        std::io::Write::flush(&mut std::io::stdout())?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(ProtoError::new(ErrorCode::BadRequest, "not signed").into());
        }
    }
    let validity = if *expired {
        Validity {
            not_before: now - 2 * 86_400,
            not_after: now - 86_400,
        }
    } else {
        Validity::days_from(now, *days)
    };
    let signed = ca.sign(&req, &policy, validity, now)?;
    let (pem, id) = (signed.pem, signed.identity);
    lianxi_certs::files::write_atomic(out, pem.as_bytes(), false)?;
    if !cli.json && !signed.replaced.is_empty() {
        println!(
            "revoked the certificate(s) it replaces ({}); publish a new CRL with `lianxi-ca crl`",
            signed.replaced.join(", ")
        );
    }
    let roles: Vec<&str> = id.attrs.roles.iter().map(|r| r.as_str()).collect();
    if !cli.json {
        println!(
            "signed {} ({}, {}), tier {}, roles {}",
            id.node_id,
            escape_line(&id.name),
            escape_line(&id.org),
            id.attrs.tier,
            roles.join(",")
        );
        println!("age recipient {}", id.attrs.age_recipient);
        println!("certificate: {}", out.display());
    }
    Ok(
        json!({"node_id": id.node_id, "name": id.name, "org": id.org, "tier": id.attrs.tier,
           "roles": roles, "age_recipient": id.attrs.age_recipient, "cert": out,
           "not_after": validity.not_after, "replaced": signed.replaced}),
    )
}

fn roles_text(roles: &[lianxi_shared::Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// What `sign` will certify, for the operator to read before it does.
fn preview_text(p: &Preview, days: i64) -> String {
    let (id, asked) = (&p.identity, &p.requested);
    let mut s = format!(
        "node      {}\nname      {}\norg       {}\ntier      {}{}\nroles     {}{}\ndecided   by the {}\nvalid     {days} days",
        id.node_id,
        escape_line(&id.name),
        escape_line(&id.org),
        id.attrs.tier,
        if id.attrs.tier == asked.attrs.tier {
            String::new()
        } else {
            format!(" (requested {})", asked.attrs.tier)
        },
        roles_text(&id.attrs.roles),
        if id.attrs.roles == asked.attrs.roles {
            String::new()
        } else {
            format!(" (requested {})", roles_text(&asked.attrs.roles))
        },
        p.decided_by.as_str(),
    );
    for r in &p.live {
        s += &format!(
            "\nlive      certificate {} (issued {}, expires {}): {}",
            r.serial,
            r.issued_at,
            r.not_after,
            if matches!(p.decided_by, DecidedBy::Renewal) {
                "stays valid until then"
            } else {
                "--renew keeps it, --replace revokes it"
            }
        );
    }
    s
}

fn preview_json(p: &Preview, days: i64) -> serde_json::Value {
    let id = &p.identity;
    json!({
        "node_id": id.node_id, "name": id.name, "org": id.org,
        "tier": id.attrs.tier.to_string(), "roles": roles_text(&id.attrs.roles),
        "requested_tier": p.requested.attrs.tier.to_string(),
        "requested_roles": roles_text(&p.requested.attrs.roles),
        "days": days, "decided_by": p.decided_by.as_str(),
        "live_serials": p.live.iter().map(|r| r.serial.clone()).collect::<Vec<_>>(),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(v) => {
            if cli.json {
                println!("{v}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let (code, message) = match e.downcast_ref::<ProtoError>() {
                Some(p) => (p.code.as_str(), p.message.clone()),
                None => ("io", format!("{e:#}")),
            };
            if cli.json {
                println!("{}", json!({"error": {"code": code, "message": message}}));
            } else {
                eprintln!("lianxi-ca: {} [{code}]", escape_text(&message));
            }
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn every_option_says_what_it_does() {
        lianxi_certs::cli_doc::assert_documented(&super::Cli::command());
    }
}
