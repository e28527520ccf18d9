//! A case file as JSON and Markdown (for `lianxi case show|export` and the UI):
//! the facts, who handles it, its timeline with notes and documents, and, only
//! for a handler, the confidential fields.

use std::collections::HashMap;

use lianxi_shared::case::{CaseChange, CaseState, Confidential, Step};
use lianxi_shared::{NodeId, NodeInfo};
use serde_json::{Value, json};
use sha2::Digest;

use crate::archive::cases::CaseFile;
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

    fn list(&self, ids: &[NodeId]) -> String {
        if ids.is_empty() {
            return "—".into();
        }
        ids.iter()
            .map(|i| self.of(i))
            .collect::<Vec<_>>()
            .join("、")
    }
}

/// One line describing a step, in Chinese.
pub fn describe(step: &Step, names: &Names) -> String {
    match &step.event.msg.change {
        CaseChange::Notice(n) if step.event.id == step.event.msg.case => {
            format!("登记：{}（{}）", n.facts.title, n.status.zh())
        }
        CaseChange::Notice(n) => format!("共享给：{}", names.list(&n.shared)),
        CaseChange::Status { status, note } if note.is_empty() => format!("状态 → {}", status.zh()),
        CaseChange::Status { status, note } => format!("状态 → {}：{note}", status.zh()),
        CaseChange::Note { text, attachments } if attachments.is_empty() => format!("备注：{text}"),
        CaseChange::Note { text, attachments } => format!(
            "备注：{text}（附件 {}）",
            attachments
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join("、")
        ),
        CaseChange::Referral { to, note } => format!("转办至 {}：{note}", names.of(to)),
        CaseChange::ReferralAnswer {
            accept: true,
            reason,
        } => format!("接受转办 {reason}"),
        CaseChange::ReferralAnswer {
            accept: false,
            reason,
        } => format!("拒绝转办：{reason}"),
        CaseChange::Recusal { nodes, reason } => format!("回避：{}（{reason}）", names.list(nodes)),
        CaseChange::Grant { .. } => "保密信息已授权给现有承办方".into(),
    }
    .trim_end_matches(['：', ' '])
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

/// The whole file: state, confidential fields (handlers only) and timeline.
pub fn file_json(
    f: &CaseFile,
    me: &NodeId,
    conf: Option<&Confidential>,
    names: &Names,
    now: i64,
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
                "text": describe(st, names),
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

/// The case file as Markdown, for a court or a bureau.
pub fn file_markdown(f: &CaseFile, conf: Option<&Confidential>, names: &Names) -> String {
    let s = &f.state;
    let facts = &s.facts;
    let mut md = format!("# {} {}\n\n", facts.number, facts.title);
    let rows = [
        ("状态", s.status.zh().to_owned()),
        ("类别", facts.category.zh().to_owned()),
        ("管辖地", facts.jurisdiction.clone()),
        ("紧急程度", facts.urgency.zh().to_owned()),
        (
            "请求支持",
            facts
                .support
                .iter()
                .map(|x| x.zh())
                .collect::<Vec<_>>()
                .join("、"),
        ),
        ("登记单位", names.of(&s.origin)),
        ("承办方", names.list(&s.handlers)),
        ("共享给", names.list(&s.shared)),
        ("回避", names.list(&s.recused)),
        ("登记时间", time_fmt::minutes(s.created_at)),
        ("最近更新", time_fmt::minutes(s.updated_at)),
    ];
    md.push_str("| 项目 | 内容 |\n| --- | --- |\n");
    for (k, v) in rows {
        md.push_str(&format!("| {k} | {} |\n", v.replace('|', "\\|")));
    }
    if let Some(c) = conf {
        md.push_str(&format!(
            "\n## 保密信息（仅承办方）\n\n- 企业：{}\n- 联系人：{}\n",
            c.enterprise, c.contact
        ));
    }
    md.push_str(&format!(
        "\n## 案情简介\n\n{}\n\n## 办理经过\n\n",
        facts.summary
    ));
    for st in &f.steps {
        let mark = if st.ignored.is_some() {
            "（未生效）"
        } else {
            ""
        };
        md.push_str(&format!(
            "- {} {}：{}{mark}\n",
            time_fmt::minutes(st.event.created_at),
            names.of(&st.event.sender),
            describe(st, names)
        ));
    }
    md
}
