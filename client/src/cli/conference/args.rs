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
        #[arg(long)]
        session: Option<u32>,
    },
    /// Preview the executive vice-chair rotation, or publish it (`--publish`, chair only).
    /// Starts from the schedule in force; the options change it.
    Rotation(RotationArgs),
    /// Decline this association's turn as executive vice-chair at a session
    /// (pool members); the chair takes it into the next schedule.
    Decline {
        #[arg(long)]
        session: u32,
        #[arg(long)]
        reason: String,
    },
    /// Agree to swap this association's next turn with another pool member;
    /// it takes effect once both agreed and the chair publishes it.
    Swap {
        #[arg(long)]
        with: String,
    },
    /// Convene a session, or reschedule it (chair only).
    Convene(ConveneArgs),
    /// Cancel a session (chair only).
    Cancel {
        #[arg(long)]
        session: u32,
        #[arg(long)]
        reason: String,
    },
    /// Propose an agenda item (议题).
    Propose {
        #[arg(long)]
        session: u32,
        #[arg(long)]
        title: String,
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
        #[arg(long)]
        session: u32,
        #[arg(required = true)]
        items: Vec<String>,
    },
    /// Answer the invitation: attend, send a delegate, or be absent with a reason.
    Rsvp {
        #[arg(long)]
        session: u32,
        #[arg(long, conflicts_with_all = ["delegate", "absent"])]
        attend: bool,
        #[arg(long, conflicts_with = "absent")]
        delegate: Option<String>,
        /// The reason for the absence.
        #[arg(long)]
        absent: Option<String>,
    },
    /// Remind those who have not answered (host only); `--minutes`: those who
    /// have not acknowledged the minutes.
    Remind {
        #[arg(long)]
        session: u32,
        #[arg(long)]
        minutes: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Publish the minutes (纪要) and resolutions (决议) (host only).
    Minutes {
        #[arg(long)]
        session: u32,
        /// The minutes' text (a file).
        #[arg(long)]
        file: PathBuf,
        /// A resolution: "TITLE" (by consensus) or "TITLE=bj:for,sh:against,sz:abstain" (repeatable).
        #[arg(long = "resolution")]
        resolutions: Vec<String>,
        #[arg(long = "attach")]
        attachments: Vec<PathBuf>,
    },
    /// Acknowledge the minutes of a session.
    Ack {
        #[arg(long)]
        session: u32,
    },
    /// Export meetings as an iCalendar (.ics) file (all, or the given sessions).
    Ics {
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
    #[arg(long)]
    pub session: u32,
    /// YYYY-MM-DD
    #[arg(long)]
    pub date: String,
    /// HH:MM, local time in --tz.
    #[arg(long)]
    pub time: String,
    #[arg(long, default_value_t = 120)]
    pub minutes: u32,
    #[arg(long, default_value = DEFAULT_TZ)]
    pub tz: String,
    #[arg(long, default_value = "")]
    pub place: String,
    #[arg(long, default_value = "")]
    pub link: String,
    /// The call for agenda items closes at this local time, "YYYY-MM-DD HH:MM".
    #[arg(long = "agenda-by")]
    pub agenda_by: String,
    #[arg(long, default_value = "")]
    pub title: String,
    #[arg(long, default_value = "")]
    pub note: String,
}
