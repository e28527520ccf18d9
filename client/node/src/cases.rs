//! Rights-defence case operations on a node: intake, lifecycle steps, sharing,
//! recusal, referral, confidential grants and typical cases.
//!
//! Every operation is checked against the case as this node holds it (the same
//! check every receiver applies, [`lianxi_shared::case::CaseState::check`]) and
//! then queued as one signed, encrypted message to the case's audience.

use std::collections::BTreeSet;

use lianxi_shared::case::{
    CaseCategory, CaseChange, CaseFacts, CaseMsg, CaseNotice, CaseState, CaseStatus, Confidential,
    Original, Support, Urgency,
};
use lianxi_shared::payload::Attachment;
use lianxi_shared::{Audience, Bulletin, ErrorCode, MessageId, NodeId, Payload, ProtoError};

use crate::archive::cases::{CaseFile, Queued};
use crate::node::Node;
use crate::{Result, now_ms};

/// The hotline's intake form (登记).
#[derive(Clone, Debug, PartialEq)]
pub struct Intake {
    pub title: String,
    pub category: CaseCategory,
    pub jurisdiction: String,
    pub enterprise: String,
    pub contact: String,
    pub summary: String,
    pub support: Vec<Support>,
    pub urgency: Urgency,
    /// Other handlers besides this node.
    pub co_handlers: Vec<NodeId>,
    /// Nodes recused from the start (回避).
    pub recused: Vec<NodeId>,
    /// Share the notice right away with these (recused ones are left out of a group).
    pub share: Option<Audience>,
}

/// Who a share reaches.
#[derive(Clone, Debug)]
pub struct ShareResult {
    pub queued: Queued,
    /// Recused nodes a group audience contained; they were left out.
    pub excluded: Vec<NodeId>,
}

/// A redacted typical case, ready to review and publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypicalDraft {
    pub title: String,
    pub body: String,
}

fn not_found(key: &str) -> ProtoError {
    ProtoError::new(ErrorCode::NotFound, format!("no case {key}"))
}

impl Node {
    /// This node's case number prefix: `case_prefix` in node.toml, else its id in capitals.
    pub fn case_prefix(&self) -> String {
        self.config
            .case_prefix
            .clone()
            .unwrap_or_else(|| self.me.node_id.as_str().to_uppercase())
    }

    /// Run `f` on the cached directory; if it names a node the cache does not
    /// know (one enrolled since), fetch and verify the directory once and retry.
    async fn with_directory<T>(
        &self,
        f: impl Fn(&[lianxi_shared::NodeInfo]) -> Result<T>,
    ) -> Result<T> {
        match f(&self.directory().await?) {
            Err(e)
                if matches!(
                    e.code,
                    ErrorCode::UnknownRecipient | ErrorCode::EmptyAudience
                ) =>
            {
                let Ok((s, _ev)) = self.connect(std::time::Duration::from_secs(5)).await else {
                    return Err(e);
                };
                let refreshed = self.refresh_directory(&s).await;
                s.close().await;
                refreshed?;
                f(&self.directory().await?)
            }
            r => r,
        }
    }

    async fn age_recipients(&self, nodes: &[NodeId]) -> Result<Vec<age::x25519::Recipient>> {
        self.with_directory(|dir| self.age_recipients_in(dir, nodes))
            .await
    }

    fn age_recipients_in(
        &self,
        dir: &[lianxi_shared::NodeInfo],
        nodes: &[NodeId],
    ) -> Result<Vec<age::x25519::Recipient>> {
        let mut out = Vec::with_capacity(nodes.len());
        for n in nodes {
            let text = if n == &self.me.node_id {
                self.age_recipient()
            } else {
                dir.iter()
                    .find(|i| &i.node_id == n)
                    .map(|i| i.age_recipient.clone())
                    .ok_or_else(|| {
                        ProtoError::new(
                            ErrorCode::UnknownRecipient,
                            format!("{n} is not in the verified directory"),
                        )
                    })?
            };
            out.push(text.parse().map_err(|_| {
                ProtoError::new(
                    ErrorCode::BadCertificate,
                    format!("{n} has an invalid age recipient"),
                )
            })?);
        }
        Ok(out)
    }

    async fn queue_case(
        &self,
        msg: CaseMsg,
        id: MessageId,
        now: i64,
        prefix: Option<String>,
    ) -> Result<Queued> {
        let me = self.me.node_id.clone();
        let q = self
            .archive
            .call(move |a| a.queue_case(id, now, &me, msg, prefix.as_deref()))
            .await?;
        // Seal it now, not when the outbox is flushed: a share queued after it
        // (even offline) must be able to carry it as a signed original.
        if let Err(e) = self.seal_case_message(&q).await {
            tracing::warn!(id = %q.id, code = %e.code, "case message not sealed yet; the next flush retries");
        }
        Ok(q)
    }

    /// Seal a queued case message (with no recipient, one that stays on this
    /// node's timeline) and keep its envelope and key with the case.
    async fn seal_case_message(&self, q: &Queued) -> Result<()> {
        let id = q.id;
        let item = self.archive.call(move |a| a.outbox_item(&id)).await?;
        let (envelope, key) = match item {
            Some(item) => {
                let form = self.seal_item(&item).await?;
                let key = form.key.ok_or_else(|| {
                    ProtoError::new(ErrorCode::Internal, "a case message sealed without its key")
                })?;
                (form.envelope, key)
            }
            None => {
                let (created_at, payload) =
                    self.archive.call(move |a| a.own_case_event(&id)).await?;
                let sealed = self
                    .seal_payload(
                        Audience::Nodes(Vec::new()),
                        Vec::new(),
                        id,
                        created_at,
                        None,
                        payload,
                    )
                    .await?;
                (sealed.envelope, sealed.key.to_string())
            }
        };
        self.archive
            .call(move |a| a.set_case_envelope(&id, &envelope, &key))
            .await
    }

    /// Register a case taken by phone. The enterprise and the contact are sealed
    /// to the handlers; the number is allocated with the intake.
    pub async fn case_intake(&self, form: Intake) -> Result<ShareResult> {
        let me = self.me.node_id.clone();
        let mut handlers = vec![me.clone()];
        for h in form.co_handlers {
            if !handlers.contains(&h) {
                handlers.push(h);
            }
        }
        if let Some(r) = handlers.iter().find(|h| form.recused.contains(h)) {
            return Err(ProtoError::new(
                ErrorCode::Recused,
                format!("{r} cannot both handle the case and be recused from it"),
            ));
        }
        let (shared, excluded) = match &form.share {
            Some(to) => self.share_targets(&form.recused, "", to).await?,
            None => (Vec::new(), Vec::new()),
        };
        let shared = shared
            .into_iter()
            .filter(|n| !handlers.contains(n))
            .collect();
        let sealed = Confidential {
            enterprise: form.enterprise,
            contact: form.contact,
        }
        .seal(&self.age_recipients(&handlers).await?)?;
        let now = now_ms();
        let id = MessageId::generate(now);
        let msg = CaseMsg {
            case: id,
            change: CaseChange::Notice(Box::new(CaseNotice {
                facts: CaseFacts {
                    number: "pending".into(),
                    title: form.title,
                    category: form.category,
                    jurisdiction: form.jurisdiction,
                    summary: form.summary,
                    support: form.support,
                    urgency: form.urgency,
                },
                status: CaseStatus::Reported,
                handlers,
                shared,
                recused: form.recused,
                sealed,
                history: Vec::new(),
            })),
        };
        let queued = self
            .queue_case(msg, id, now, Some(self.case_prefix()))
            .await?;
        Ok(ShareResult { queued, excluded })
    }

    pub async fn case_file(&self, key: &str) -> Result<CaseFile> {
        let k = key.to_owned();
        self.archive
            .call(move |a| a.case_file(&k))
            .await?
            .ok_or_else(|| not_found(key))
    }

    /// Add a step to a case's timeline (status, note, referral answer, recusal…).
    pub async fn case_change(&self, key: &str, change: CaseChange) -> Result<Queued> {
        let file = self.case_file(key).await?;
        let msg = CaseMsg {
            case: file.state.case,
            change,
        };
        let now = now_ms();
        self.queue_case(msg, MessageId::generate(now), now, None)
            .await
    }

    pub async fn case_status(&self, key: &str, status: CaseStatus, note: String) -> Result<Queued> {
        self.case_change(key, CaseChange::Status { status, note })
            .await
    }

    pub async fn case_note(
        &self,
        key: &str,
        text: String,
        attachments: Vec<Attachment>,
    ) -> Result<Queued> {
        self.case_change(key, CaseChange::Note { text, attachments })
            .await
    }

    /// The confidential pieces of text `text` names (the enterprise, its
    /// short names, the contact) when a note would carry them beyond the
    /// handlers: a note goes to every node the case is shared with.
    pub async fn note_leaks(&self, key: &str, text: &str) -> Result<Vec<String>> {
        let file = self.case_file(key).await?;
        let s = &file.state;
        if s.shared.iter().all(|n| s.handlers.contains(n)) {
            return Ok(Vec::new());
        }
        Ok(self
            .case_confidential(s)
            .map(|c| c.leaks(text))
            .unwrap_or_default())
    }

    /// `text` with the case's confidential pieces replaced by 【已隐去】.
    pub async fn note_redacted(&self, key: &str, text: &str) -> Result<String> {
        let file = self.case_file(key).await?;
        Ok(self
            .case_confidential(&file.state)
            .map_or_else(|| text.to_owned(), |c| c.redact(text)))
    }

    pub async fn case_recuse(
        &self,
        key: &str,
        nodes: Vec<NodeId>,
        reason: String,
    ) -> Result<Queued> {
        self.case_change(key, CaseChange::Recusal { nodes, reason })
            .await
    }

    /// The nodes `to` names, minus this node; a recused node named explicitly is
    /// refused, one inside a group (a tier, a role, all) is left out and reported.
    async fn share_targets(
        &self,
        recused: &[NodeId],
        number: &str,
        to: &Audience,
    ) -> Result<(Vec<NodeId>, Vec<NodeId>)> {
        if let Audience::Nodes(ids) = to
            && let Some(r) = ids.iter().find(|n| recused.contains(n))
        {
            return Err(ProtoError::new(
                ErrorCode::Recused,
                format!(
                    "{r} is recused from case {number} (conflict of interest); it may not receive it"
                ),
            ));
        }
        let all = self
            .with_directory(|dir| to.expand(&self.me.node_id, dir))
            .await?;
        let (excluded, targets): (Vec<NodeId>, Vec<NodeId>) =
            all.into_iter().partition(|n| recused.contains(n));
        Ok((targets, excluded))
    }

    /// Share the case notice (everything but the confidential fields) with more
    /// nodes; they also receive the case's later steps.
    pub async fn case_share(&self, key: &str, to: &Audience) -> Result<ShareResult> {
        let file = self.case_file(key).await?;
        let s = &file.state;
        let (targets, excluded) = self.share_targets(&s.recused, &s.facts.number, to).await?;
        let mut shared: BTreeSet<NodeId> = s.shared.iter().cloned().collect();
        shared.extend(targets.into_iter().filter(|n| !s.is_handler(n)));
        let notice = CaseNotice {
            facts: s.facts.clone(),
            status: s.status,
            handlers: s.handlers.clone(),
            shared: shared.into_iter().collect(),
            recused: s.recused.clone(),
            sealed: s.sealed.last().cloned().unwrap_or_default(),
            history: self.case_originals(s.case).await?,
        };
        let queued = self
            .case_change(key, CaseChange::Notice(Box::new(notice)))
            .await?;
        Ok(ShareResult { queued, excluded })
    }

    /// The case's earlier steps as verifiable originals, for a share: a node
    /// that joins late folds from the real intake, not from what it is told.
    async fn case_originals(&self, case: MessageId) -> Result<Vec<Original>> {
        let rows = self.archive.call(move |a| a.case_history(&case)).await?;
        let identity = self.identity();
        tokio::task::spawn_blocking(move || {
            rows.into_iter()
                .map(|(envelope, k)| {
                    let key = if k.starts_with(lianxi_shared::AGE_SECRET_PREFIX.as_bytes()) {
                        String::from_utf8_lossy(&k).trim().to_owned()
                    } else {
                        identity.unwrap_key(&k)?.to_string()
                    };
                    Ok(Original { envelope, key })
                })
                .collect()
        })
        .await
        .map_err(|_| ProtoError::code(ErrorCode::Internal))?
    }

    /// Refer the case to another desk (转办): it receives the notice and the
    /// referral, and becomes a handler only if it accepts.
    pub async fn case_refer(&self, key: &str, to: NodeId, note: String) -> Result<Queued> {
        let file = self.case_file(key).await?;
        let change = CaseChange::Referral {
            to: to.clone(),
            note,
        };
        file.state.check(&self.me.node_id, &change)?;
        if !file.state.shared.contains(&to) {
            self.case_share(key, &Audience::Nodes(vec![to])).await?;
        }
        self.case_change(key, change).await
    }

    pub async fn case_answer(&self, key: &str, accept: bool, reason: String) -> Result<Queued> {
        self.case_change(key, CaseChange::ReferralAnswer { accept, reason })
            .await
    }

    /// The confidential fields, if this node can open them.
    pub fn case_confidential(&self, state: &CaseState) -> Option<Confidential> {
        let identity = self.identity();
        state.sealed.iter().rev().find_map(|b| {
            identity
                .age_keys()
                .find_map(|id| Confidential::open(b, id).ok())
        })
    }

    /// Grants this node owes: after a referral it made was accepted, re-seal the
    /// confidential fields to the handlers (the new one among them). Idempotent:
    /// the fold clears the debt once the grant is on the timeline.
    pub async fn settle_cases(&self) -> Result<usize> {
        let me = self.me.node_id.clone();
        let me2 = me.clone();
        let owed: Vec<CaseState> = self
            .archive
            .call(move |a| {
                Ok(a.cases(&me2, &Default::default())?
                    .into_iter()
                    .filter(|s| s.grant_due.as_ref() == Some(&me2))
                    .collect())
            })
            .await?;
        let mut n = 0;
        for s in owed {
            let Some(c) = self.case_confidential(&s) else {
                tracing::warn!(case = %s.case, "a grant is due but this node cannot open the confidential fields");
                continue;
            };
            let sealed = c.seal(&self.age_recipients(&s.handlers).await?)?;
            self.case_change(&s.case.to_string(), CaseChange::Grant { sealed })
                .await?;
            n += 1;
        }
        Ok(n)
    }

    /// A redacted typical case (典型案例) drafted from a finished case: the
    /// public facts and the timeline's notes, with every confidential field
    /// replaced. Only a handler can draft one (it needs the fields to remove them).
    pub async fn typical_draft(&self, key: &str) -> Result<TypicalDraft> {
        let file = self.case_file(key).await?;
        let s = &file.state;
        let conf = self.typical_guard(s)?;
        let mut body = format!(
            "类别：{}\n管辖地：{}\n请求支持：{}\n\n案情简介\n{}\n",
            s.facts.category.zh(),
            s.facts.jurisdiction,
            s.facts
                .support
                .iter()
                .map(|x| x.zh())
                .collect::<Vec<_>>()
                .join("、"),
            s.facts.summary
        );
        let notes: Vec<String> = file
            .steps
            .iter()
            .filter(|st| st.ignored.is_none())
            .filter_map(|st| match &st.event.msg.change {
                CaseChange::Note { text, .. } if !text.trim().is_empty() => Some(text.clone()),
                CaseChange::Status { status, note } if !note.trim().is_empty() => {
                    Some(format!("{}：{note}", status.zh()))
                }
                _ => None,
            })
            .collect();
        if !notes.is_empty() {
            body.push_str("\n办理经过\n");
            for n in notes {
                body.push_str(&format!("- {n}\n"));
            }
        }
        body.push_str(&format!("\n结果：{}\n", s.status.zh()));
        Ok(TypicalDraft {
            title: conf.redact(&format!("典型案例：{}", s.facts.title)),
            body: conf.redact(&body),
        })
    }

    fn typical_guard(&self, s: &CaseState) -> Result<Confidential> {
        if !s.status.is_finished() {
            return Err(ProtoError::new(
                ErrorCode::BadTransition,
                format!(
                    "case {} is {} ({}); a typical case is prepared from a resolved or closed case",
                    s.facts.number,
                    s.status.zh(),
                    s.status.as_str()
                ),
            ));
        }
        if !s.is_handler(&self.me.node_id) {
            return Err(ProtoError::new(
                ErrorCode::NotHandler,
                format!(
                    "only a handler of case {} can prepare its typical case",
                    s.facts.number
                ),
            ));
        }
        self.case_confidential(s).ok_or_else(|| {
            ProtoError::new(
                ErrorCode::DecryptFailed,
                "this node cannot open the case's confidential fields to check the redaction",
            )
        })
    }

    /// Check a (possibly edited) typical case: the confidential pieces it still holds.
    pub async fn typical_leaks(&self, key: &str, draft: &TypicalDraft) -> Result<Vec<String>> {
        let file = self.case_file(key).await?;
        let conf = self.typical_guard(&file.state)?;
        Ok(conf.leaks(&format!("{}\n{}", draft.title, draft.body)))
    }

    /// Publish a reviewed typical case as a bulletin to `to` (normally everyone).
    /// Refused with `confidential_leak` if any confidential field remains.
    pub async fn publish_typical(
        &self,
        key: &str,
        draft: TypicalDraft,
        to: Audience,
    ) -> Result<MessageId> {
        let leaks = self.typical_leaks(key, &draft).await?;
        if !leaks.is_empty() {
            return Err(ProtoError::new(
                ErrorCode::ConfidentialLeak,
                format!(
                    "the typical case still contains {} confidential piece(s) of text; redact them first",
                    leaks.len()
                ),
            ));
        }
        // Recused organisations never receive it, whatever the audience says.
        let file = self.case_file(key).await?;
        let s = &file.state;
        let (targets, _left_out) = self.share_targets(&s.recused, &s.facts.number, &to).await?;
        let to = Audience::Nodes(targets);
        let b = Bulletin {
            title: draft.title,
            body: draft.body,
            category: Some(lianxi_shared::payload::Category::News),
            issuer: Some(self.me.name.clone()),
            tags: vec!["典型案例".into()],
            ..Default::default()
        };
        self.queue(to, Payload::Bulletin(b), None).await
    }
}
