//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "lianxi",
    version,
    about = "联席 Lianxi: secure information network for associations"
)]
pub struct Cli {
    /// Node home directory (default: $LIANXI_HOME, else the platform data directory).
    #[arg(long, global = true, env = "LIANXI_HOME")]
    pub home: Option<PathBuf>,
    /// Machine-readable JSON output, errors included.
    #[arg(long, global = true)]
    pub json: bool,
    /// UI language: zh (default) or en. Also `lang = "en"` in node.toml.
    #[arg(long, global = true)]
    pub lang: Option<String>,
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Create this node's keys and an enrollment request (PKCS#10 CSR).
    Init(InitArgs),
    /// Install the certificate signed by the CA and set the hub address.
    Enroll {
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        ca: PathBuf,
        /// host:port of the hub.
        #[arg(long)]
        hub: String,
        /// TLS name of the hub if it differs from the host in --hub.
        #[arg(long)]
        server_name: Option<String>,
    },
    /// This node's identity, keys and certificate.
    Whoami,
    /// The verified directory of nodes.
    Directory {
        /// Do not contact the hub; show the cached directory.
        #[arg(long)]
        offline: bool,
    },
    /// Send a message.
    #[command(subcommand)]
    Send(SendCmd),
    /// Connect, flush the outbox, receive everything pending, exit.
    Sync {
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Stay connected and print each arrival.
    Listen,
    /// Archived messages, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[arg(long)]
        kind: Option<String>,
    },
    /// One message in full (marks it read).
    Show { id: String },
    /// Full-text search of the archive (Chinese substrings of any length).
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Messages waiting to be sent, and their state.
    Outbox,
    /// A complete local network (CA, hub, simulated associations) with the UI.
    Demo {
        /// Keep the network in DIR (reused if it exists) instead of a temporary directory.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Open the UI as this node (nat, hotline, gd, zj, js, sc, sz, hz, su, cd).
        #[arg(long = "as", default_value = "gd")]
        as_node: String,
        /// Mean seconds between the simulated nodes' sends.
        #[arg(long, default_value_t = 6.0, hide = true)]
        interval: f64,
    },
    /// Export archived data.
    #[command(subcommand)]
    Export(ExportCmd),
}

#[derive(Args)]
pub struct InitArgs {
    #[arg(long)]
    pub node_id: String,
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub org: String,
    /// national | provincial | prefecture
    #[arg(long)]
    pub tier: String,
    /// Comma-separated: secretary, chair, legal-aid, member.
    #[arg(long, default_value = "member")]
    pub roles: String,
    /// Where to write the enrollment request (also kept in the home).
    #[arg(long)]
    pub request_out: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum SendCmd {
    /// A policy or information bulletin (通报).
    Bulletin {
        /// all | national | provincial | prefecture | role:ROLE | ID,ID,…
        #[arg(long)]
        to: String,
        #[arg(long)]
        title: String,
        #[arg(
            long,
            conflicts_with = "body_file",
            required_unless_present = "body_file"
        )]
        body: Option<String>,
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// Release time (RFC 3339, e.g. 2026-12-01T09:00:00+08:00): nobody receives it before.
        #[arg(long)]
        embargo: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ExportCmd {
    /// The received envelope as files, checkable with the standard `age` tool.
    Envelope {
        id: String,
        #[arg(long)]
        out: PathBuf,
    },
}
