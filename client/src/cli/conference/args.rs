//! `lianxi conference …`: its clap definitions.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use lianxi_shared::conference::DEFAULT_TZ;

/// `lianxi conference …` (联席会议).
#[derive(Subcommand)]
pub enum ConfCmd {
    /// The roster, the rotation ("whose turn next") and the meetings; with
    /// `--session`, one meeting's agenda, attendance and minutes.
    Show {
        /// One meeting in full: agenda, attendance, minutes.
        #[arg(long)]
        session: Option<u32>,
    },
    /// Preview the executive vice-chair rotation, or publish it (`--publish`, chair only).
    /// Starts from the schedule in force; the options change it.
    Rotation(RotationArgs),
    /// Decline this association's turn as executive vice-chair at a session
    /// (pool members); the chair takes it into the next schedule.
    Decline {
        /// The session whose turn this association declines.
        #[arg(long)]
        session: u32,
        /// Why this association declines its turn (the chair sees it).
        #[arg(long)]
        reason: String,
    },
    /// Agree to swap this association's next turn with another pool member;
    /// it takes effect once both agreed and the chair publishes it.
    Swap {
        /// The pool member to swap turns with (node id).
        #[arg(long)]
        with: String,
    },
    /// Convene a session, or reschedule it (chair only).
    Convene(ConveneArgs),
    /// Cancel a session (chair only).
    Cancel {
        /// Session number (届次/次).
        #[arg(long)]
        session: u32,
        /// Why the session is cancelled (shown to every member).
        #[arg(long)]
        reason: String,
    },
    /// Propose an agenda item (议题).
    Propose {
        /// Session number (届次/次).
        #[arg(long)]
        session: u32,
        /// The agenda item's title.
        #[arg(long)]
        title: String,
        /// What the item is about.
        #[arg(long, default_value = "")]
        summary: String,
        /// Time it needs, minutes.
        #[arg(long)]
        minutes: u32,
        /// A file to attach (repeatable).
        #[arg(long = "attach")]
        attachments: Vec<PathBuf>,
    },
    /// Publish the agenda (host only): proposals in order, each ITEM:MINUTES,
    /// ITEM being the proposal's number in `show --session` or its id.
    Agenda {
        /// Session number (届次/次).
        #[arg(long)]
        session: u32,
        /// Agenda slots in order, each ITEM:MINUTES (ITEM is the proposal's number in `show --session` or its id).
        #[arg(required = true)]
        items: Vec<String>,
    },
    /// Answer the invitation: attend, send a delegate, or be absent with a reason.
    Rsvp {
        /// Session number (届次/次).
        #[arg(long)]
        session: u32,
        /// This association attends.
        #[arg(long, conflicts_with_all = ["delegate", "absent"])]
        attend: bool,
        /// Send this person as delegate (name and position).
        #[arg(long, conflicts_with = "absent")]
        delegate: Option<String>,
        /// The reason for the absence.
        #[arg(long)]
        absent: Option<String>,
    },
    /// Remind those who have not answered (host only); `--minutes`: those who
    /// have not acknowledged the minutes.
    Remind {
        /// The session.
        #[arg(long)]
        session: u32,
        /// Remind those who have not acknowledged the minutes (instead of the invitation).
        #[arg(long)]
        minutes: bool,
        /// A line added to the reminder.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Publish the minutes (纪要) and resolutions (决议) (host only).
    Minutes {
        /// Session number (届次/次).
        #[arg(long)]
        session: u32,
        /// The minutes' text (a file).
        #[arg(long)]
        file: PathBuf,
        /// A resolution: "TITLE" (by consensus) or "TITLE=bj:for,sh:against,sz:abstain" (repeatable).
        #[arg(long = "resolution")]
        resolutions: Vec<String>,
        /// Attach a file to the minutes (repeatable).
        #[arg(long = "attach")]
        attachments: Vec<PathBuf>,
    },
    /// Acknowledge the minutes of a session.
    Ack {
        /// Session number (届次/次).
        #[arg(long)]
        session: u32,
    },
    /// Export meetings as an iCalendar (.ics) file (all, or the given sessions).
    Ics {
        /// Only these sessions (repeatable; default every meeting).
        #[arg(long)]
        session: Vec<u32>,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

// `lianxi conference rotation` (a plain comment: clap would take a doc comment as the about text).
#[derive(Args)]
pub struct RotationArgs {
    /// How many sessions to schedule.
    #[arg(long)]
    pub sessions: Option<u32>,
    /// The first session to schedule.
    #[arg(long)]
    pub first: Option<u32>,
    /// The pool in the agreed order (comma-separated node ids).
    #[arg(long, value_delimiter = ',')]
    pub pool: Vec<String>,
    /// Members that already held the rotation in the cycle under way.
    #[arg(long, value_delimiter = ',')]
    pub served: Vec<String>,
    /// NODE:SESSION: take in NODE's own decline of SESSION (it sent
    /// `conference decline`; repeatable).
    #[arg(long)]
    pub decline: Vec<String>,
    /// A:B: A and B swap their next turns; both sent `conference swap`
    /// (repeatable).
    #[arg(long)]
    pub swap: Vec<String>,
    /// NODE:SESSION joins the pool from SESSION (repeatable).
    #[arg(long)]
    pub join: Vec<String>,
    /// NODE:SESSION leaves the pool from SESSION (repeatable).
    #[arg(long)]
    pub leave: Vec<String>,
    /// Sign and send it to the whole conference.
    #[arg(long)]
    pub publish: bool,
}

// `lianxi conference convene` (a plain comment: clap would take a doc comment as the about text).
#[derive(Args)]
pub struct ConveneArgs {
    /// Session number to convene (or reschedule).
    #[arg(long)]
    pub session: u32,
    /// YYYY-MM-DD
    #[arg(long)]
    pub date: String,
    /// HH:MM, local time in --tz.
    #[arg(long)]
    pub time: String,
    /// Length of the meeting in minutes.
    #[arg(long, default_value_t = 120)]
    pub minutes: u32,
    /// Time zone of --date and --time (IANA name).
    #[arg(long, default_value = DEFAULT_TZ)]
    pub tz: String,
    /// Where it takes place (address or room).
    #[arg(long, default_value = "")]
    pub place: String,
    /// Video-conference link, if any.
    #[arg(long, default_value = "")]
    pub link: String,
    /// The call for agenda items closes at this local time, "YYYY-MM-DD HH:MM".
    #[arg(long = "agenda-by")]
    pub agenda_by: String,
    /// Title (default: 第N次联席会议).
    #[arg(long, default_value = "")]
    pub title: String,
    /// A note in the invitation.
    #[arg(long, default_value = "")]
    pub note: String,
}
