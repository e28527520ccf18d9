//! Rights-defence cases (维权案例): what travels, and the timeline fold.
//!
//! A case is the set of its signed messages ([`CaseMsg`]). Its state is a pure
//! function of that set ([`fold`]): messages are applied in (creation time, id)
//! order and each is checked against the state it meets ([`CaseState::check`]);
//! one that is not allowed there (a non-handler changing the case, a step the
//! lifecycle forbids) is kept in the timeline as ignored and changes nothing.
//! So nodes that receive the same messages in any order reach the same
//! timeline and state, and the sending client runs the very same check before it
//! sends anything.
//!
//! The enterprise and the claimant's contact ([`Confidential`]) never travel in
//! the clear: they are an age box encrypted to the handlers only, inside the
//! (already encrypted) payload that every recipient of the case can read.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, ProtoError};
use crate::ids::{MessageId, NodeId};
use crate::payload::Attachment;

macro_rules! zh_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $s:literal / $zh:literal / $en:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($var),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $s),+ } }
            pub fn zh(self) -> &'static str { match self { $($name::$var => $zh),+ } }
            /// The English label (for reading; the wire value is [`Self::as_str`]).
            pub fn en(self) -> &'static str { match self { $($name::$var => $en),+ } }
        }
        impl std::str::FromStr for $name {
            type Err = ProtoError;
            fn from_str(s: &str) -> Result<Self, ProtoError> {
                $name::ALL.iter().copied().find(|c| c.as_str() == s || c.zh() == s).ok_or_else(|| {
                    ProtoError::new(ErrorCode::BadRequest, format!(
                        concat!("unknown ", stringify!($name), " {:?}; expected one of: {}"),
                        s, [$(concat!($s, " (", $zh, ")")),+].join(", ")))
                })
            }
        }
    };
}

zh_enum!(
    /// What the case is about.
    CaseCategory {
        Ip = "ip" / "知识产权" / "intellectual property",
        TradeRemedy = "trade_remedy" / "贸易救济/反倾销" / "trade remedy / anti-dumping",
        Contract = "contract" / "合同/账款拖欠" / "contract / unpaid invoices",
        Labour = "labour" / "劳动" / "labour",
        UnfairCompetition = "unfair_competition" / "不正当竞争" / "unfair competition",
        Other = "other" / "其他" / "other",
    }
);
zh_enum!(
    /// Support the enterprise asks for.
    Support { Legal = "legal" / "法律" / "legal", Association = "association" / "行会" / "association", Publicity = "publicity" / "舆论" / "publicity" }
);
zh_enum!(
    /// How fast the case needs attention.
    Urgency { Normal = "normal" / "一般" / "normal", Urgent = "urgent" / "紧急" / "urgent", Critical = "critical" / "特急" / "critical" }
);
zh_enum!(
    /// Where a case is in its lifecycle.
    CaseStatus {
        Reported = "reported" / "登记" / "reported",
        Accepted = "accepted" / "受理" / "accepted",
        InProgress = "in_progress" / "办理中" / "in progress",
        Resolved = "resolved" / "已办结" / "resolved",
        Referred = "referred" / "转办" / "referred",
        Closed = "closed" / "结案" / "closed",
    }
);

impl CaseStatus {
    /// Whether a handler may move a case from `self` to `to` with a status change.
    /// (`Referred` is entered and left only through a referral and its answer.)
    pub fn may_become(self, to: CaseStatus) -> bool {
        use CaseStatus::*;
        matches!(
            (self, to),
            (Reported, Accepted | Closed)
                | (Accepted, InProgress | Resolved | Closed)
                | (InProgress, Resolved | Closed)
                | (Resolved, InProgress | Closed)
                | (Referred, Closed)
        )
    }

    /// Finished: a typical case may be prepared from it; it is never overdue.
    pub fn is_finished(self) -> bool {
        matches!(self, CaseStatus::Resolved | CaseStatus::Closed)
    }
}

/// The fields only handlers may read.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, Default)]
pub struct Confidential {
    /// The enterprise concerned.
    pub enterprise: String,
    /// The claimant's contact (name, phone…).
    pub contact: String,
}

impl Confidential {
    /// Encrypt to the handlers' age recipients; nobody else can open it.
    pub fn seal(&self, handlers: &[age::x25519::Recipient]) -> Result<Vec<u8>, ProtoError> {
        if handlers.is_empty() {
            return Err(ProtoError::new(
                ErrorCode::EmptyAudience,
                "confidential fields need at least one handler",
            ));
        }
        let plain = zeroize::Zeroizing::new(crate::cbor::to_vec(self));
        crate::envelope::age_encrypt_to(handlers, &plain)
    }

    pub fn open(sealed: &[u8], identity: &crate::agekey::AgeKey) -> Result<Self, ProtoError> {
        let plain = crate::envelope::age_decrypt(identity, sealed)?;
        crate::cbor::from_slice(&plain, ErrorCode::BadPayload)
    }

    /// The pieces of text that must not leave the handlers: each field, and each
    /// word of at least two characters in it (a phone number, a name), and the
    /// short forms people use for an enterprise (see [`short_forms`]).
    pub fn markers(&self) -> Vec<String> {
        let mut out: BTreeSet<String> = short_forms(&self.enterprise).into_iter().collect();
        for field in [&self.enterprise, &self.contact] {
            let f = field.trim();
            if f.chars().count() >= 2 {
                out.insert(f.to_owned());
            }
            for w in f.split(|c: char| c.is_whitespace() || ",，;；、/:：()（）".contains(c))
            {
                if w.chars().count() >= 2 {
                    out.insert(w.to_owned());
                }
            }
        }
        // Longest first, so a field is replaced whole before its words.
        let mut v: Vec<String> = out.into_iter().collect();
        v.sort_by_key(|s| std::cmp::Reverse(s.chars().count()));
        v
    }

    /// `text` with every marker replaced by 【已隐去】: overlapping and
    /// adjacent occurrences become one, so no fragment of a name is left.
    pub fn redact(&self, text: &str) -> String {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for m in self.markers() {
            spans.extend(
                text.match_indices(m.as_str())
                    .map(|(i, s)| (i, i + s.len())),
            );
        }
        spans.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (a, b) in spans {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (a, b) in merged {
            out.push_str(&text[at..a]);
            out.push_str(REDACTED);
            at = b;
        }
        out.push_str(&text[at..]);
        out
    }

    /// The markers still present in `text` (empty: safe to publish).
    pub fn leaks(&self, text: &str) -> Vec<String> {
        self.markers()
            .into_iter()
            .filter(|m| text.contains(m.as_str()))
            .collect()
    }
}

/// Legal forms that end a Chinese enterprise's registered name, longest first.
const LEGAL_FORMS: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "集团公司",
    "合伙企业",
    "公司",
    "集团",
    "厂",
];

/// How people shorten an enterprise's name: "深圳某某光伏科技有限公司" is
/// "某某光伏", "某某光伏科技" or "深圳某某光伏" in a note. Its name without the
/// legal form, and every run of four Chinese characters in it (a trade name
/// and its industry). Over-marking is the safe side: a marker blocks
/// publication until a person rewrites the sentence.
pub fn short_forms(name: &str) -> Vec<String> {
    let mut core = name.trim();
    for form in LEGAL_FORMS {
        if let Some(c) = core.strip_suffix(form) {
            core = c;
            break;
        }
    }
    let chars: Vec<char> = core.chars().collect();
    let mut out = Vec::new();
    if chars.len() >= 2 && core != name.trim() {
        out.push(core.to_owned());
    }
    let is_han = |c: &char| ('\u{4e00}'..='\u{9fff}').contains(c);
    if chars.len() > 4 {
        for w in chars.windows(4).filter(|w| w.iter().all(is_han)) {
            out.push(w.iter().collect());
        }
    }
    out
}

/// What redaction puts in place of a confidential piece of text.
pub const REDACTED: &str = "【已隐去】";

/// Everything about a case that every recipient may read.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CaseFacts {
    /// Readable number, unique per organisation: `2026-BJ-0007`.
    pub number: String,
    pub title: String,
    pub category: CaseCategory,
    /// A province, or a country for overseas cases.
    pub jurisdiction: String,
    pub summary: String,
    #[serde(default)]
    pub support: Vec<Support>,
    pub urgency: Urgency,
}

/// A full picture of the case: sent at intake and whenever a handler shares it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CaseNotice {
    pub facts: CaseFacts,
    pub status: CaseStatus,
    pub handlers: Vec<NodeId>,
    /// Nodes the case is shared with (not handlers).
    #[serde(default)]
    pub shared: Vec<NodeId>,
    /// Nodes recused from the case (回避).
    #[serde(default)]
    pub recused: Vec<NodeId>,
    /// The [`Confidential`] fields, encrypted to the handlers.
    #[serde(with = "serde_bytes")]
    pub sealed: Vec<u8>,
    /// On a share: the case's earlier steps that decide who may do what (the
    /// intake, status changes, referrals and answers, recusals, grants; never
    /// notes), each as its original signed envelope with the key that opens
    /// it. A node that joins the case late verifies each against its own
    /// sender and folds from the intake, so it cannot be told a different
    /// story by a member that was shared the case before it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Original>,
}

/// A message as its sender signed it, with the message key that opens its
/// body (one age secret-key line, see [`crate::AGE_SECRET_PREFIX`]), so a
/// third node can verify and read it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Original {
    pub envelope: crate::Envelope,
    pub key: String,
}

/// Most earlier steps one share notice may carry.
pub const MAX_CASE_HISTORY: usize = 4096;

/// One step on a case's timeline.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseChange {
    /// Intake (the first one) or sharing with more nodes (later ones).
    Notice(Box<CaseNotice>),
    Status {
        status: CaseStatus,
        #[serde(default)]
        note: String,
    },
    /// A note, with documents.
    Note {
        text: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<Attachment>,
    },
    /// Hand the case to another desk (转办).
    Referral {
        to: NodeId,
        #[serde(default)]
        note: String,
    },
    /// The referred desk accepts (and becomes a handler) or declines.
    ReferralAnswer {
        accept: bool,
        #[serde(default)]
        reason: String,
    },
    /// Mark nodes with a conflict of interest (回避).
    Recusal {
        nodes: Vec<NodeId>,
        #[serde(default)]
        reason: String,
    },
    /// The confidential fields re-encrypted to the current handlers (after a
    /// referral was accepted).
    Grant {
        #[serde(with = "serde_bytes")]
        sealed: Vec<u8>,
    },
}

impl CaseChange {
    pub fn kind(&self) -> &'static str {
        match self {
            CaseChange::Notice(_) => "notice",
            CaseChange::Status { .. } => "status",
            CaseChange::Note { .. } => "note",
            CaseChange::Referral { .. } => "referral",
            CaseChange::ReferralAnswer { .. } => "referral_answer",
            CaseChange::Recusal { .. } => "recusal",
            CaseChange::Grant { .. } => "grant",
        }
    }
}

/// A case message: the case it belongs to (the id of its intake notice) and the change.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CaseMsg {
    pub case: MessageId,
    pub change: CaseChange,
}

/// Check a case number's grammar: `YEAR-PREFIX-SEQ`, the year four digits, the
/// prefix 1–32 of `A-Z 0-9 _ -` starting with a letter or digit, the sequence
/// 1–9 digits (`2026-HOTLINE-0007`). Case numbers name exported files, so
/// nothing else is accepted, at intake or on receipt.
pub fn check_case_number(number: &str) -> Result<(), ProtoError> {
    let bad = || {
        ProtoError::new(
            ErrorCode::BadPayload,
            format!(
                "case number {:?} is not YEAR-PREFIX-NNNN (prefix: A-Z 0-9 _ -)",
                crate::text::escape_line(number)
            ),
        )
    };
    let (year, rest) = number.split_once('-').ok_or_else(bad)?;
    let (prefix, seq) = rest.rsplit_once('-').ok_or_else(bad)?;
    let digits = |s: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    let prefix_ok = (1..=32).contains(&prefix.len())
        && prefix
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if digits(year, 4, 4) && digits(seq, 1, 9) && prefix_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

impl CaseMsg {
    pub fn validate(&self) -> Result<(), ProtoError> {
        use crate::text::{check_line, check_text};
        let bad = |m: &str| Err(ProtoError::new(ErrorCode::BadPayload, m.to_owned()));
        match &self.change {
            CaseChange::Notice(n) => {
                if n.facts.title.trim().is_empty() {
                    return bad("a case needs a number and a title");
                }
                check_case_number(&n.facts.number)?;
                check_line("the case title", &n.facts.title, crate::Payload::MAX_TITLE)?;
                check_line(
                    "the jurisdiction",
                    &n.facts.jurisdiction,
                    crate::payload::MAX_FIELD,
                )?;
                check_text("the case summary", &n.facts.summary, MAX_CASE_TEXT)?;
                if n.handlers.is_empty() {
                    return bad("a case needs at least one handler");
                }
                if n.history.len() > MAX_CASE_HISTORY {
                    return Err(ProtoError::new(
                        ErrorCode::TooLarge,
                        "a case notice carries too many earlier steps",
                    ));
                }
                for o in &n.history {
                    check_line("a case step's key", &o.key, 256)?;
                }
                if n.handlers.len() + n.shared.len() + n.recused.len() > MAX_CASE_NODES {
                    return Err(ProtoError::new(
                        ErrorCode::TooLarge,
                        "a case notice names too many nodes",
                    ));
                }
            }
            CaseChange::Note { text, attachments } => {
                if text.trim().is_empty() && attachments.is_empty() {
                    return bad("an empty note");
                }
                check_text("a case note", text, MAX_CASE_TEXT)?;
                crate::payload::check_attachments(attachments)?;
            }
            CaseChange::Recusal { nodes, reason } => {
                if nodes.is_empty() {
                    return bad("a recusal names no node");
                }
                check_text("a recusal reason", reason, crate::payload::MAX_NOTE)?;
            }
            CaseChange::Status { note, .. }
            | CaseChange::Referral { note, .. }
            | CaseChange::ReferralAnswer { reason: note, .. } => {
                check_text("a case note", note, crate::payload::MAX_NOTE)?
            }
            CaseChange::Grant { .. } => {}
        }
        Ok(())
    }
}

/// Longest case summary or note text, bytes.
pub const MAX_CASE_TEXT: usize = 256 * 1024;
/// Most nodes one case notice may name (handlers, shared and recused together).
pub const MAX_CASE_NODES: usize = 100_000;

/// A case message as the log holds it.
pub type CaseEvent = crate::event::Event<CaseMsg>;

/// A referral waiting for its answer.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PendingReferral {
    pub from: NodeId,
    pub to: NodeId,
    /// The status to return to if it is declined.
    pub previous: CaseStatus,
}

/// The state of a case after its timeline.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CaseState {
    pub case: MessageId,
    pub origin: NodeId,
    pub facts: CaseFacts,
    pub status: CaseStatus,
    pub handlers: Vec<NodeId>,
    pub shared: Vec<NodeId>,
    pub recused: Vec<NodeId>,
    pub referral: Option<PendingReferral>,
    /// Confidential boxes, newest last (each encrypted to the handlers of its time).
    pub sealed: Vec<Vec<u8>>,
    /// A handler that must re-encrypt the confidential fields for a new handler.
    pub grant_due: Option<NodeId>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl CaseState {
    pub fn is_handler(&self, node: &NodeId) -> bool {
        self.handlers.contains(node)
    }

    pub fn is_recused(&self, node: &NodeId) -> bool {
        self.recused.contains(node)
    }

    /// Who receives the next message of this case: handlers, nodes it is shared
    /// with and a desk it is referred to, never a recused node, never `me`.
    pub fn audience(&self, me: &NodeId) -> Vec<NodeId> {
        let mut set: BTreeSet<&NodeId> = self.handlers.iter().chain(&self.shared).collect();
        if let Some(r) = &self.referral {
            set.insert(&r.to);
        }
        set.into_iter()
            .filter(|n| *n != me && !self.is_recused(n))
            .cloned()
            .collect()
    }

    /// Whether `sender` may make `change` now. The client asks this before it
    /// sends; every receiving node asks it again when it folds the timeline.
    pub fn check(&self, sender: &NodeId, change: &CaseChange) -> Result<(), ProtoError> {
        let not_handler = || {
            ProtoError::new(
                ErrorCode::NotHandler,
                format!(
                    "{sender} is not a handler of case {} (handlers: {})",
                    self.facts.number,
                    join(&self.handlers)
                ),
            )
        };
        let step = |m: String| Err(ProtoError::new(ErrorCode::BadTransition, m));
        if let CaseChange::ReferralAnswer { .. } = change {
            return match &self.referral {
                Some(r) if &r.to == sender => Ok(()),
                Some(r) => Err(ProtoError::new(
                    ErrorCode::NotEntitled,
                    format!(
                        "case {} is referred to {}, not {sender}",
                        self.facts.number, r.to
                    ),
                )),
                None => step(format!(
                    "case {} has no pending referral",
                    self.facts.number
                )),
            };
        }
        if !self.is_handler(sender) {
            return Err(not_handler());
        }
        match change {
            CaseChange::Notice(n) => {
                if let Some(r) = n
                    .shared
                    .iter()
                    .chain(&n.handlers)
                    .find(|n| self.is_recused(n))
                {
                    return Err(recused(r, &self.facts.number));
                }
            }
            CaseChange::Status { status, .. } => {
                if !self.status.may_become(*status) {
                    return step(format!(
                        "case {} is {} ({}); it cannot become {} ({})",
                        self.facts.number,
                        self.status.zh(),
                        self.status.as_str(),
                        status.zh(),
                        status.as_str()
                    ));
                }
            }
            CaseChange::Referral { to, .. } => {
                if self.is_recused(to) {
                    return Err(recused(to, &self.facts.number));
                }
                if self.is_handler(to) {
                    return step(format!("{to} already handles case {}", self.facts.number));
                }
                if !matches!(
                    self.status,
                    CaseStatus::Reported | CaseStatus::Accepted | CaseStatus::InProgress
                ) || self.referral.is_some()
                {
                    return step(format!(
                        "case {} is {} ({}); only an open case without a pending referral can be referred",
                        self.facts.number,
                        self.status.zh(),
                        self.status.as_str()
                    ));
                }
            }
            CaseChange::Recusal { nodes, .. } => {
                if let Some(h) = nodes.iter().find(|n| self.is_handler(n)) {
                    return step(format!(
                        "{h} handles case {}; a handler cannot be recused",
                        self.facts.number
                    ));
                }
            }
            CaseChange::Note { .. }
            | CaseChange::Grant { .. }
            | CaseChange::ReferralAnswer { .. } => {}
        }
        Ok(())
    }

    fn apply(&mut self, e: &CaseEvent) {
        self.updated_at = self.updated_at.max(e.created_at);
        match &e.msg.change {
            CaseChange::Notice(n) => {
                self.facts = n.facts.clone();
                for s in &n.shared {
                    if !self.shared.contains(s) && !self.is_handler(s) {
                        self.shared.push(s.clone());
                    }
                }
                for r in &n.recused {
                    if !self.recused.contains(r) {
                        self.recused.push(r.clone());
                    }
                }
                if !self.sealed.contains(&n.sealed) {
                    self.sealed.push(n.sealed.clone());
                }
            }
            CaseChange::Status { status, .. } => self.status = *status,
            CaseChange::Note { .. } => {}
            CaseChange::Referral { to, .. } => {
                self.referral = Some(PendingReferral {
                    from: e.sender.clone(),
                    to: to.clone(),
                    previous: self.status,
                });
                self.status = CaseStatus::Referred;
            }
            CaseChange::ReferralAnswer { accept, .. } => {
                if let Some(r) = self.referral.take() {
                    if *accept {
                        self.handlers.push(r.to.clone());
                        self.shared.retain(|s| s != &r.to);
                        self.status = CaseStatus::Accepted;
                        self.grant_due = Some(r.from);
                    } else {
                        self.status = r.previous;
                    }
                }
            }
            CaseChange::Recusal { nodes, .. } => {
                for n in nodes {
                    if !self.recused.contains(n) {
                        self.recused.push(n.clone());
                    }
                }
                self.shared.retain(|s| !nodes.contains(s));
            }
            CaseChange::Grant { sealed } => {
                self.sealed.push(sealed.clone());
                self.grant_due = None;
            }
        }
    }
}

fn join(ids: &[NodeId]) -> String {
    ids.iter()
        .map(NodeId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn recused(node: &NodeId, number: &str) -> ProtoError {
    ProtoError::new(
        ErrorCode::Recused,
        format!(
            "{node} is recused from case {number} (conflict of interest); it may not receive it"
        ),
    )
}

/// What the fold did with one message.
pub type Step = crate::event::Step<CaseMsg>;

/// Fold a case's messages into its state and timeline. The order of `events`
/// does not matter; duplicates (same id) count once.
pub fn fold(case: MessageId, events: &[CaseEvent]) -> (Option<CaseState>, Vec<Step>) {
    let mut sorted: Vec<&CaseEvent> = events.iter().filter(|e| e.msg.case == case).collect();
    sorted.sort_by_key(|e| (e.created_at, e.id));
    sorted.dedup_by(|a, b| a.id == b.id);
    let mut state: Option<CaseState> = None;
    let mut steps = Vec::with_capacity(sorted.len());
    for e in sorted {
        // Only the intake starts the state: the notice whose own id is the
        // case id (the hub never lets an id be used twice). A node the case
        // was shared with later has the intake from the share's history.
        // Nothing before it counts, whatever time its sender wrote on it.
        let verdict = match (&mut state, &e.msg.change) {
            (None, CaseChange::Notice(n)) if e.id == case => {
                if n.handlers.contains(&e.sender) {
                    state = Some(CaseState {
                        case,
                        origin: e.sender.clone(),
                        facts: n.facts.clone(),
                        status: n.status,
                        handlers: n.handlers.clone(),
                        shared: n
                            .shared
                            .iter()
                            .filter(|s| !n.handlers.contains(s))
                            .cloned()
                            .collect(),
                        recused: n.recused.clone(),
                        referral: None,
                        sealed: vec![n.sealed.clone()],
                        grant_due: None,
                        created_at: e.created_at,
                        updated_at: e.created_at,
                    });
                    None
                } else {
                    Some(ProtoError::new(
                        ErrorCode::NotHandler,
                        "the intake's sender is not among its handlers",
                    ))
                }
            }
            (None, _) => Some(ProtoError::new(
                ErrorCode::UnknownReference,
                "before the case's intake",
            )),
            (Some(s), change) => match s.check(&e.sender, change) {
                Ok(()) => {
                    s.apply(e);
                    None
                }
                Err(err) => Some(err),
            },
        };
        steps.push(Step {
            event: e.clone(),
            ignored: verdict,
        });
    }
    (state, steps)
}

#[cfg(test)]
mod tests;
