//! A case file as JSON and Markdown (for `lianxi case show|export` and the UI):
//! the facts, who handles it, its timeline with notes and documents, and, only
//! for a handler, the confidential fields.

use std::collections::HashMap;

use lianxi_shared::case::{CaseChange, CaseState, Confidential, Step};
use lianxi_shared::{NodeId, NodeInfo};
use serde_json::{Value, json};
use sha2::Digest;

use crate::archive::cases::CaseFile;
use crate::lang::Lang;
use crate::time_fmt;

/// Display names of nodes: "广东省中小企业协会 (gd)".
pub struct Names(HashMap<NodeId, String>);

impl Names {
    pub fn new(directory: &[NodeInfo]) -> Names {
        Names(
            directory
                .iter()
                .map(|n| (n.node_id.clone(), n.name.clone()))
                .collect(),
        )
    }

    pub fn of(&self, id: &NodeId) -> String {
        match self.0.get(id) {
            Some(name) => format!("{name} ({id})"),
            None => id.to_string(),
        }
    }

    fn list(&self, ids: &[NodeId], lang: Lang) -> String {
        if ids.is_empty() {
            return "—".into();
        }
        ids.iter()
            .map(|i| self.of(i))
            .collect::<Vec<_>>()
            .join(lang.list_sep())
    }
}

/// One line describing a step, in `lang`.
pub fn describe(step: &Step, names: &Names, lang: Lang) -> String {
    let l = |zh, en| lang.pick(zh, en);
    let status = |s: lianxi_shared::case::CaseStatus| lang.pick(s.zh(), s.en());
    match &step.event.msg.change {
        CaseChange::Notice(n) if step.event.id == step.event.msg.case => format!(
            "{}{}{}{}{}",
            l("登记：", "registered: "),
            n.facts.title,
            l("（", " ("),
            status(n.status),
            l("）", ")")
        ),
        CaseChange::Notice(n) => {
            format!(
                "{}{}",
                l("共享给：", "shared with: "),
                names.list(&n.shared, lang)
            )
        }
        CaseChange::Status { status: s, note } if note.is_empty() => {
            format!("{} → {}", l("状态", "status"), status(*s))
        }
        CaseChange::Status { status: s, note } => {
            format!(
                "{} → {}{}{note}",
                l("状态", "status"),
                status(*s),
                l("：", ": ")
            )
        }
        CaseChange::Note { text, attachments } if attachments.is_empty() => {
            format!("{}{text}", l("备注：", "note: "))
        }
        CaseChange::Note { text, attachments } => format!(
            "{}{text}{}{}{}",
            l("备注：", "note: "),
            l("（附件 ", " (attachments: "),
            attachments
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(lang.list_sep()),
            l("）", ")"),
        ),
        CaseChange::Referral { to, note } => format!(
            "{} {}{}{note}",
            l("转办至", "referred to"),
            names.of(to),
            l("：", ": ")
        ),
        CaseChange::ReferralAnswer {
            accept: true,
            reason,
        } => format!("{} {reason}", l("接受转办", "referral accepted")),
        CaseChange::ReferralAnswer {
            accept: false,
            reason,
        } => format!("{}{reason}", l("拒绝转办：", "referral declined: ")),
        CaseChange::Recusal { nodes, reason } => format!(
            "{}{}{}{reason}{}",
            l("回避：", "recused: "),
            names.list(nodes, lang),
            l("（", " ("),
            l("）", ")")
        ),
        CaseChange::Grant { .. } => l(
            "保密信息已授权给现有承办方",
            "confidential fields granted to the current handlers",
        )
        .into(),
    }
    .trim_end_matches(['：', ':', ' '])
    .trim_end_matches(" ()")
    .trim_end_matches("（）")
    .to_owned()
}

fn state_json(s: &CaseState, me: &NodeId, conf: Option<&Confidential>, now: i64) -> Value {
    let f = &s.facts;
    json!({
        "case": s.case.to_string(),
        "number": f.number,
        "title": f.title,
        "category": f.category.as_str(),
        "category_zh": f.category.zh(),
        "jurisdiction": f.jurisdiction,
        "summary": f.summary,
        "support": f.support.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
        "urgency": f.urgency.as_str(),
        "status": s.status.as_str(),
        "status_zh": s.status.zh(),
        "origin": s.origin.as_str(),
        "handlers": s.handlers.iter().map(NodeId::as_str).collect::<Vec<_>>(),
        "shared": s.shared.iter().map(NodeId::as_str).collect::<Vec<_>>(),
        "recused": s.recused.iter().map(NodeId::as_str).collect::<Vec<_>>(),
        "referral": s.referral.as_ref().map(|r| json!({"from": r.from.as_str(), "to": r.to.as_str()})),
        "mine": s.is_handler(me),
        "idle_days": (now - s.updated_at).max(0) / 86_400_000,
        "created_at": time_fmt::minutes(s.created_at),
        "updated_at": time_fmt::minutes(s.updated_at),
        "confidential": conf.map(|c| json!({"enterprise": c.enterprise, "contact": c.contact})),
    })
}

/// A case in a list.
pub fn summary_json(s: &CaseState, me: &NodeId, now: i64) -> Value {
    state_json(s, me, None, now)
}

/// The whole file: state, confidential fields (handlers only) and timeline
/// (each step's `text` in `lang`).
pub fn file_json(
    f: &CaseFile,
    me: &NodeId,
    conf: Option<&Confidential>,
    names: &Names,
    now: i64,
    lang: Lang,
) -> Value {
    let mut v = state_json(&f.state, me, conf, now);
    v["timeline"] = f
        .steps
        .iter()
        .map(|st| {
            let e = &st.event;
            let docs: Vec<Value> = match &e.msg.change {
                CaseChange::Note { attachments, .. } => attachments
                    .iter()
                    .map(|a| {
                        json!({"name": a.name, "size": a.data.len(),
                               "sha256": hex(&sha2::Sha256::digest(&a.data))})
                    })
                    .collect(),
                _ => Vec::new(),
            };
            json!({
                "id": e.id.to_string(),
                "at": time_fmt::minutes(e.created_at),
                "sender": e.sender.as_str(),
                "kind": e.msg.change.kind(),
                "text": describe(st, names, lang),
                "documents": docs,
                "ignored": st.ignored.as_ref().map(|x| json!({"code": x.code.as_str(), "reason": x.message})),
            })
        })
        .collect();
    v
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The case file as Markdown, for a court or a bureau, in `lang`.
pub fn file_markdown(
    f: &CaseFile,
    conf: Option<&Confidential>,
    names: &Names,
    lang: Lang,
) -> String {
    let l = |zh, en| lang.pick(zh, en);
    let s = &f.state;
    let facts = &s.facts;
    let mut md = format!("# {} {}\n\n", facts.number, facts.title);
    let rows = [
        (
            l("状态", "Status"),
            l(s.status.zh(), s.status.en()).to_owned(),
        ),
        (
            l("类别", "Category"),
            l(facts.category.zh(), facts.category.en()).to_owned(),
        ),
        (l("管辖地", "Jurisdiction"), facts.jurisdiction.clone()),
        (
            l("紧急程度", "Urgency"),
            l(facts.urgency.zh(), facts.urgency.en()).to_owned(),
        ),
        (
            l("请求支持", "Support asked"),
            facts
                .support
                .iter()
                .map(|x| l(x.zh(), x.en()))
                .collect::<Vec<_>>()
                .join(lang.list_sep()),
        ),
        (l("登记单位", "Registered by"), names.of(&s.origin)),
        (l("承办方", "Handlers"), names.list(&s.handlers, lang)),
        (l("共享给", "Shared with"), names.list(&s.shared, lang)),
        (l("回避", "Recused"), names.list(&s.recused, lang)),
        (l("登记时间", "Registered"), time_fmt::minutes(s.created_at)),
        (
            l("最近更新", "Last change"),
            time_fmt::minutes(s.updated_at),
        ),
    ];
    md.push_str(l("| 项目 | 内容 |\n", "| Item | Value |\n"));
    md.push_str("| --- | --- |\n");
    for (k, v) in rows {
        md.push_str(&format!("| {k} | {} |\n", v.replace('|', "\\|")));
    }
    if let Some(c) = conf {
        md.push_str(&format!(
            "\n## {}\n\n- {}{}\n- {}{}\n",
            l("保密信息（仅承办方）", "Confidential (handlers only)"),
            l("企业：", "Enterprise: "),
            c.enterprise,
            l("联系人：", "Contact: "),
            c.contact
        ));
    }
    md.push_str(&format!(
        "\n## {}\n\n{}\n\n## {}\n\n",
        l("案情简介", "Summary"),
        facts.summary,
        l("办理经过", "Timeline")
    ));
    for st in &f.steps {
        let mark = if st.ignored.is_some() {
            l("（未生效）", " (not applied)")
        } else {
            ""
        };
        md.push_str(&format!(
            "- {} {}{}{}{mark}\n",
            time_fmt::minutes(st.event.created_at),
            names.of(&st.event.sender),
            l("：", ": "),
            describe(st, names, lang)
        ));
    }
    md
}
