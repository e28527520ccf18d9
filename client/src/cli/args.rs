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
    /// Read the identity passphrase from this file's first line (for scripts;
    /// also $LIANXI_PASSPHRASE or $LIANXI_PASSPHRASE_FILE). Otherwise it is asked for.
    #[arg(long, global = true)]
    pub passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
}

#[derive(Subcommand)]
pub enum Cmd {
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
    #[command(flatten)]
    Node(Box<NodeCmd>),
}

/// What runs on this node's home.
#[derive(Subcommand)]
pub enum NodeCmd {
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
    /// Protect the key files with a passphrase, change it, or remove it.
    #[command(subcommand)]
    Key(KeyCmd),
    /// The verified directory of nodes.
    Directory {
        /// Do not contact the hub; show the cached directory.
        #[arg(long)]
        offline: bool,
    },
    #[command(flatten)]
    Bulletin(BulletinCmd),
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
        #[command(flatten)]
        filter: ListFilter,
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
    /// Export archived data.
    #[command(subcommand)]
    Export(ExportCmd),
    /// Rights-defence cases (维权案例): intake, lifecycle, sharing, referral.
    #[command(subcommand)]
    Case(CaseCmd),
    /// The joint conference (联席会议): rotation, meetings, agenda, RSVP, minutes, calendars.
    #[command(subcommand, alias = "conf")]
    Conference(crate::cli::conference::ConfCmd),
}

/// Bulletins: send, acknowledge, follow up, correct, withdraw, forward, save
/// attachments. Flattened into the top level (`lianxi ack …`).
#[derive(Subcommand)]
pub enum BulletinCmd {
    /// Send a message.
    #[command(subcommand)]
    Send(SendCmd),
    /// Acknowledge a received bulletin (收文回执), optionally with a one-line reply.
    Ack {
        id: String,
        #[arg(long)]
        reply: Option<String>,
    },
    /// The receipts matrix of a bulletin this node sent.
    Receipts { id: String },
    /// Remind the recipients who have not acknowledged.
    Remind {
        id: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Issue a correction that supersedes a bulletin you sent.
    Revise {
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long, conflicts_with = "body_file")]
        body: Option<String>,
        #[arg(long)]
        body_file: Option<PathBuf>,
        #[arg(long)]
        doc_number: Option<String>,
        #[arg(long)]
        effective: Option<String>,
        /// What changed.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Withdraw a bulletin you sent (撤回).
    Withdraw {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Forward a received bulletin, with its original signed envelope.
    Forward {
        id: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Save an attachment of a message to disk. Into a folder it keeps the
    /// sender's name made safe (`名 (1).ext` if that name is taken); an
    /// existing file is never replaced without `--force`.
    Attachment {
        /// Message id (or its first characters).
        id: String,
        /// Attachment name or number (1, 2, …).
        name: String,
        /// A folder (existing, ending in `/`, or a new name without an
        /// extension: created) or a new file name with an extension.
        #[arg(long)]
        out: PathBuf,
        /// Replace a file that already exists.
        #[arg(long)]
        force: bool,
    },
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
pub enum KeyCmd {
    /// Encrypt the identity with a passphrase (standard age scrypt), or change
    /// the passphrase. The new one is asked twice, or read from a file.
    Protect {
        /// Read the new passphrase from this file's first line.
        #[arg(long)]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Store the identity unencrypted again (files stay 0600).
    Unprotect,
    /// Whether the identity is protected, and the key files.
    Status,
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
        /// Release time: nobody receives it before. "YYYY-MM-DD HH:MM" in the
        /// node's time zone, a date (00:00 that day), or RFC 3339 with an offset.
        #[arg(long)]
        embargo: Option<String>,
        #[command(flatten)]
        meta: BulletinMeta,
    },
}

/// Bulletin metadata and options.
#[derive(Args, Default)]
pub struct BulletinMeta {
    /// policy | news | activity | notice (or 政策法规 | 发展动态 | 协会活动 | 通知)
    #[arg(long)]
    pub category: Option<String>,
    /// Issuing body (发文单位).
    #[arg(long)]
    pub issuer: Option<String>,
    /// Document number (文号).
    #[arg(long)]
    pub doc_number: Option<String>,
    /// Effective date, YYYY-MM-DD.
    #[arg(long)]
    pub effective: Option<String>,
    #[arg(long)]
    pub region: Option<String>,
    /// A tag (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Attach a file (repeatable).
    #[arg(long = "attach")]
    pub attach: Vec<PathBuf>,
    /// Ask recipients to acknowledge (收文回执).
    #[arg(long)]
    pub ack: bool,
    /// Acknowledge by: a date (the end of that day), "YYYY-MM-DD HH:MM" in
    /// the node's time zone, or RFC 3339; later is overdue.
    #[arg(long)]
    pub ack_by: Option<String>,
}

/// Filters for `list`.
#[derive(Args, Default)]
pub struct ListFilter {
    #[arg(long)]
    pub category: Option<String>,
    #[arg(long)]
    pub issuer: Option<String>,
    /// Sender node id.
    #[arg(long = "from")]
    pub sender: Option<String>,
    #[arg(long)]
    pub tag: Option<String>,
    /// On or after this date (YYYY-MM-DD from 00:00, "YYYY-MM-DD HH:MM", or RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// Up to this date, that whole day included.
    #[arg(long)]
    pub until: Option<String>,
    #[arg(long)]
    pub unread: bool,
    /// Received bulletins still waiting for this node's acknowledgement.
    #[arg(long)]
    pub unacked: bool,
}

#[derive(Subcommand)]
pub enum ExportCmd {
    /// Bulletins as Markdown or JSON (to --out, or standard output).
    Bulletin {
        #[arg(required = true)]
        ids: Vec<String>,
        /// md | json
        #[arg(long, default_value = "md")]
        format: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The received envelope as files, checkable with the standard `age` tool.
    Envelope {
        id: String,
        #[arg(long)]
        out: PathBuf,
    },
}

/// `lianxi case …`: every case is named by its number (`2026-BJ-0007`) or id.
#[derive(Subcommand)]
pub enum CaseCmd {
    /// Register a case taken on the hotline (登记).
    Intake(IntakeArgs),
    /// Cases, most recently updated first.
    List(CaseListArgs),
    /// A case with its timeline (and its confidential fields, for handlers).
    Show { case: String },
    /// Move a case on: accepted, in_progress, resolved, closed (受理, 办理中, 已办结, 结案).
    Status {
        case: String,
        status: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Add a note, with documents, to the timeline.
    Note {
        case: String,
        #[arg(long, default_value = "")]
        text: String,
        #[arg(long)]
        attach: Vec<PathBuf>,
    },
    /// Share the case notice (without the confidential fields).
    Share {
        case: String,
        #[arg(long)]
        to: String,
    },
    /// Mark nodes with a conflict of interest (回避): they never receive the case.
    Recuse {
        case: String,
        #[arg(long, value_delimiter = ',', required = true)]
        nodes: Vec<String>,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Hand the case to another desk (转办).
    Refer {
        case: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Accept a case referred to this node (it becomes a handler).
    Accept {
        case: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Decline a case referred to this node.
    Decline {
        case: String,
        #[arg(long)]
        reason: String,
    },
    /// Prepare a redacted typical case (典型案例) from a finished case; shows
    /// the redacted text, or publishes it with --publish.
    Typical(TypicalArgs),
    /// The full case file for a court or a bureau: Markdown or JSON, with documents.
    Export(ExportArgs),
}

// `lianxi case intake`: a new case from the hotline. (a plain comment: clap would take a doc comment as the about text)
#[derive(Args)]
pub struct IntakeArgs {
    #[arg(long)]
    pub title: String,
    /// ip, trade_remedy, contract, labour, unfair_competition, other (or 知识产权…).
    #[arg(long)]
    pub category: String,
    /// A province, or a country for overseas cases.
    #[arg(long)]
    pub jurisdiction: String,
    /// The enterprise (confidential: handlers only).
    #[arg(long)]
    pub enterprise: String,
    /// The claimant's contact (confidential: handlers only).
    #[arg(long)]
    pub contact: String,
    #[arg(long, default_value = "")]
    pub summary: String,
    /// Support requested: legal, association, publicity (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub support: Vec<String>,
    /// normal, urgent, critical (一般, 紧急, 特急).
    #[arg(long, default_value = "normal")]
    pub urgency: String,
    /// Another handler (repeatable).
    #[arg(long = "co-handler")]
    pub co_handlers: Vec<String>,
    /// A node recused from the case from the start (repeatable).
    #[arg(long = "recuse")]
    pub recused: Vec<String>,
    /// Share the notice right away (an audience: node ids, a tier, a role).
    #[arg(long)]
    pub share: Option<String>,
}

// `lianxi case list`: which cases to show. (a plain comment: clap would take a doc comment as the about text)
#[derive(Args)]
pub struct CaseListArgs {
    /// Only cases this node handles.
    #[arg(long, conflicts_with = "shared")]
    pub mine: bool,
    /// Only cases shared with this node by others.
    #[arg(long)]
    pub shared: bool,
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub category: Option<String>,
    /// Only open cases with no update for this many days.
    #[arg(long)]
    pub overdue: Option<u32>,
    /// Substring of the number, title, summary or jurisdiction.
    #[arg(long)]
    pub query: Option<String>,
}

// `lianxi case typical`: the redacted typical case. (a plain comment: clap would take a doc comment as the about text)
#[derive(Args)]
pub struct TypicalArgs {
    pub case: String,
    /// Write the draft here for editing (title on the first line).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Use this edited draft instead of the generated one.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Publish it as a bulletin (after the confidential fields are checked).
    #[arg(long)]
    pub publish: bool,
    #[arg(long, default_value = "all")]
    pub to: String,
}

// `lianxi case export`: the case file for a court or bureau. (a plain comment: clap would take a doc comment as the about text)
#[derive(Args)]
pub struct ExportArgs {
    pub case: String,
    /// md | json
    #[arg(long, default_value = "md")]
    pub format: String,
    /// File to write; documents go to a folder next to it.
    #[arg(long)]
    pub out: PathBuf,
}
