//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The heading global options are listed under, apart from each command's own.
const GLOBAL: &str = "Global options";

#[derive(Parser)]
#[command(
    name = "lianxi",
    version,
    about = "联席 Lianxi: secure information network for associations"
)]
pub struct Cli {
    /// Node home directory (default: $LIANXI_HOME, else the platform data directory).
    #[arg(long, global = true, env = "LIANXI_HOME", help_heading = GLOBAL)]
    pub home: Option<PathBuf>,
    /// Machine-readable JSON output, errors included.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
    /// Language of everything shown: zh (default) or en. Also `lang = "en"` in node.toml.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub lang: Option<String>,
    /// Read the identity passphrase from this file's first line (for scripts;
    /// also $LIANXI_PASSPHRASE or $LIANXI_PASSPHRASE_FILE). Otherwise it is asked for.
    #[arg(long, global = true, help_heading = GLOBAL)]
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Write man pages for lianxi and each of its commands into a folder.
    Man {
        /// The folder (created if missing).
        #[arg(long)]
        out: PathBuf,
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
        /// The certificate the CA signed for this node (PEM).
        #[arg(long)]
        cert: PathBuf,
        /// The federation CA's certificate (PEM), to verify the hub and every node.
        #[arg(long)]
        ca: PathBuf,
        /// host:port of the hub; repeat it for several hubs sharing one
        /// database (tried in turn when one is down). A name with several
        /// addresses works too.
        #[arg(long, required = true)]
        hub: Vec<String>,
        /// TLS name of the hub if it differs from the host in --hub.
        #[arg(long)]
        server_name: Option<String>,
    },
    /// This node's identity, keys and certificate.
    Whoami,
    /// Renew this node's certificate before it expires: write a request
    /// (renewal.csr) for the CA's `lianxi-ca sign --renew`, then install what
    /// it signs with `--cert`.
    Renew {
        /// Request a new age (encryption) key with it. The earlier key is kept,
        /// so what was encrypted to it still opens; the signing key stays.
        #[arg(long, conflicts_with = "cert")]
        new_keys: bool,
        /// Install the renewed certificate the CA signed (PEM).
        #[arg(long)]
        cert: Option<PathBuf>,
    },
    /// Save the whole node (settings, keys, certificates, archive) to one
    /// file encrypted under a passphrase; it can run meanwhile.
    Backup {
        /// The backup file to write (a new file).
        #[arg(long)]
        out: PathBuf,
        /// Read the backup's passphrase from this file's first line (also
        /// $LIANXI_BACKUP_PASSPHRASE or $LIANXI_BACKUP_PASSPHRASE_FILE);
        /// otherwise it is asked twice on the terminal.
        #[arg(long)]
        backup_passphrase_file: Option<PathBuf>,
    },
    /// Bring a node back from a backup into --home (a new folder); then
    /// `sync` catches up with what the hub holds for it.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Read the backup's passphrase from this file's first line (also
        /// $LIANXI_BACKUP_PASSPHRASE or $LIANXI_BACKUP_PASSPHRASE_FILE).
        #[arg(long)]
        backup_passphrase_file: Option<PathBuf>,
    },
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
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Stay connected and print each arrival.
    Listen,
    /// Archived messages, newest first.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Skip this many first (for paging).
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Only this kind: bulletin, receipt, reminder, revision, withdrawal, forward, case, conference.
        #[arg(long)]
        kind: Option<String>,
        #[command(flatten)]
        filter: ListFilter,
    },
    /// One message in full (marks it read).
    Show {
        /// Message id (the full id, or 8 or more of its first or last characters).
        id: String,
    },
    /// Full-text search of the archive (Chinese substrings of any length).
    Search {
        /// What to look for: words or any Chinese substring.
        query: String,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Messages waiting to be sent, and their state.
    Outbox,
    /// What was typed and not sent yet (saved as it is typed in the UI):
    /// list them, show one, delete one. Send a bulletin draft with
    /// `lianxi send bulletin --draft ID`.
    Drafts {
        #[command(subcommand)]
        cmd: Option<DraftCmd>,
    },
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
        /// Message id (the full id, or 8 or more of its first or last characters).
        id: String,
        /// A one-line reply to the sender (回复).
        #[arg(long)]
        reply: Option<String>,
    },
    /// The receipts matrix of a bulletin this node sent.
    Receipts {
        /// Message id (the full id, or 8 or more of its first or last characters).
        id: String,
    },
    /// Remind the recipients who have not acknowledged.
    Remind {
        /// Message id (the full id, or 8 or more of its first or last characters).
        id: String,
        /// A line added to the reminder.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Issue a correction that supersedes a bulletin you sent.
    Revise {
        /// Message id (the full id, or 8 or more of its first or last characters).
        id: String,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// New body text.
        #[arg(long, conflicts_with = "body_file")]
        body: Option<String>,
        /// Read the new body from this UTF-8 file.
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// New document number (文号).
        #[arg(long)]
        doc_number: Option<String>,
        /// New effective date, YYYY-MM-DD.
        #[arg(long)]
        effective: Option<String>,
        /// What changed.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Withdraw a bulletin you sent (撤回).
    Withdraw {
        /// Message id (the full id, or 8 or more of its first or last characters).
        id: String,
        /// Why it is withdrawn (shown to every recipient).
        #[arg(long)]
        reason: String,
    },
    /// Forward a received bulletin, with its original signed envelope.
    Forward {
        /// Message id (the full id, or 8 or more of its first or last characters).
        id: String,
        /// Forward to: node ids (comma-separated), a tier, a role or all.
        #[arg(long)]
        to: String,
        /// A note to the new recipients (转发说明).
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
    /// This node's id: lowercase letters, digits and -, at most 32 (e.g. gd, sz-smea).
    #[arg(long)]
    pub node_id: String,
    /// The association's display name (e.g. 广东省中小企业协会).
    #[arg(long)]
    pub name: String,
    /// The organisation that runs the node (e.g. 广东省中小企业协会秘书处).
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

/// `lianxi drafts …`
#[derive(Subcommand)]
pub enum DraftCmd {
    /// Every draft, newest first (the default).
    List,
    /// One draft in full.
    Show {
        /// The draft's id, or a unique prefix of it.
        id: String,
    },
    /// Delete a draft.
    Delete {
        /// The draft's id, or a unique prefix of it.
        id: String,
    },
}

#[derive(Subcommand)]
pub enum SendCmd {
    /// A policy or information bulletin (通报).
    Bulletin {
        /// all | national | provincial | prefecture | role:ROLE | ID,ID,…
        /// (with --draft: instead of the draft's own audience).
        #[arg(long, required_unless_present = "draft")]
        to: Option<String>,
        /// Title (one line).
        #[arg(long, required_unless_present = "draft", conflicts_with = "draft")]
        title: Option<String>,
        #[arg(
            long,
            conflicts_with_all = ["body_file", "draft"],
            required_unless_present_any = ["body_file", "draft"]
        )]
        /// Body text.
        body: Option<String>,
        /// Send this draft (its id or a unique prefix, from `lianxi drafts`):
        /// its title, body, audience, attachments and receipt request, with
        /// any metadata given here. The draft is deleted once queued.
        #[arg(long, conflicts_with = "body_file")]
        draft: Option<String>,
        /// Read the body from this UTF-8 file instead of --body.
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
    /// Region the bulletin concerns (地区).
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
    /// Only this category: policy, news, activity, notice (or 政策法规, 发展动态, 协会活动, 通知).
    #[arg(long)]
    pub category: Option<String>,
    /// Only bulletins whose issuing body (发文单位) contains this.
    #[arg(long)]
    pub issuer: Option<String>,
    /// Sender node id.
    #[arg(long = "from")]
    pub sender: Option<String>,
    /// Only bulletins with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// On or after this date (YYYY-MM-DD from 00:00, "YYYY-MM-DD HH:MM", or RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// Up to this date, that whole day included.
    #[arg(long)]
    pub until: Option<String>,
    /// Only unread messages.
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
        /// Message ids (each the full id or 8+ characters of it).
        #[arg(required = true)]
        ids: Vec<String>,
        /// md | json
        #[arg(long, default_value = "md")]
        format: String,
        /// Where to write it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The received envelope as files, checkable with the standard `age` tool.
    Envelope {
        /// Message id (the full id, or 8 or more of its first or last characters).
        id: String,
        /// Folder to write the envelope's parts into.
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
    Show {
        /// Case number (2026-BJ-0007) or case id.
        case: String,
    },
    /// Move a case on: accepted, in_progress, resolved, closed (受理, 办理中, 已办结, 结案).
    Status {
        /// Case number (2026-BJ-0007) or case id.
        case: String,
        /// The new status: accepted, in_progress, resolved, closed (受理, 办理中, 已办结, 结案).
        status: String,
        /// What was done (recorded in the case's timeline).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Add a note, with documents, to the timeline.
    Note {
        /// Case number (2026-BJ-0007) or case id.
        case: String,
        /// The note (it goes to every node the case is shared with; keep the enterprise's name out).
        #[arg(long, default_value = "")]
        text: String,
        /// Attach a file (repeatable).
        #[arg(long)]
        attach: Vec<PathBuf>,
        /// Replace the enterprise's name (and short names) and the contact
        /// with 【已隐去】 before sending.
        #[arg(long, conflicts_with = "anyway")]
        redact: bool,
        /// Send it as written even though it names the enterprise or the
        /// contact, to every node the case is shared with.
        #[arg(long)]
        anyway: bool,
    },
    /// Share the case notice (without the confidential fields).
    Share {
        /// Case number (2026-BJ-0007) or case id.
        case: String,
        /// Share with: node ids (comma-separated), a tier, a role or all; recused nodes are left out.
        #[arg(long)]
        to: String,
    },
    /// Mark nodes with a conflict of interest (回避): they never receive the case.
    Recuse {
        /// Case number (2026-BJ-0007) or case id.
        case: String,
        /// Nodes to recuse (node ids, repeatable).
        #[arg(long, value_delimiter = ',', required = true)]
        nodes: Vec<String>,
        /// Why, in a sentence (recorded and shown to the others).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Hand the case to another desk (转办).
    Refer {
        /// Case number (2026-BJ-0007) or case id.
        case: String,
        /// The node the case is referred to (node id).
        #[arg(long)]
        to: String,
        /// Why it is referred, and what is asked of the receiver.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Accept a case referred to this node (it becomes a handler).
    Accept {
        /// Case number (2026-BJ-0007) or case id.
        case: String,
        /// A note to the referring node (optional).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Decline a case referred to this node.
    Decline {
        /// Case number (2026-BJ-0007) or case id.
        case: String,
        /// Why the referral is declined.
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
    /// A short title for the case (no confidential names: it is shared).
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
    /// What happened, without confidential names (shared with every node the case goes to).
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
    /// Only cases in this status: registered, accepted, in_progress, resolved, closed (or 登记, 受理…).
    #[arg(long)]
    pub status: Option<String>,
    /// Only this category: ip, trade_remedy, contract, labour, unfair_competition, other.
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
    /// Case number (2026-BJ-0007) or case id.
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
    /// Who receives it: node ids (comma-separated), a tier (national, provincial, prefecture), a role (secretary, chair…) or all.
    #[arg(long, default_value = "all")]
    pub to: String,
}

// `lianxi case export`: the case file for a court or bureau. (a plain comment: clap would take a doc comment as the about text)
#[derive(Args)]
pub struct ExportArgs {
    /// Case number (2026-BJ-0007) or case id.
    pub case: String,
    /// md | json
    #[arg(long, default_value = "md")]
    pub format: String,
    /// File to write; documents go to a folder next to it.
    #[arg(long)]
    pub out: PathBuf,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn every_option_says_what_it_does() {
        lianxi_certs::cli_doc::assert_documented(&super::Cli::command());
    }

    #[test]
    fn man_pages_cover_every_command() {
        let dir = tempfile::tempdir().unwrap();
        let files =
            lianxi_certs::cli_doc::write_man_pages(super::Cli::command(), dir.path()).unwrap();
        assert!(files.len() > 40, "{files:?}");
        let intake = std::fs::read_to_string(dir.path().join("lianxi-case-intake.1")).unwrap();
        assert!(
            intake.contains("enterprise") && intake.contains("confidential"),
            "{intake}"
        );
        let top = std::fs::read_to_string(dir.path().join("lianxi.1")).unwrap();
        assert!(
            top.contains("Global options") || top.contains("json"),
            "{top}"
        );
    }
}
