//! The demo's rights-defence (维权) cases: the hotline registers three cases
//! and shares them so that every demo node has cases of its own to open, one
//! node is recused from one, and a redacted typical case goes to everyone.
//! Seeded once per demo directory, through the real node core and hub.

use std::path::Path;
use std::time::Duration;

use lianxi_shared::case::{CaseCategory, CaseStatus, Support, Urgency};
use lianxi_shared::{Audience, NodeId, Tier};

use super::home_of;
use crate::Result;
use crate::archive::cases::CaseFilter;
use crate::cases::Intake;
use crate::node::Node;
use crate::sync::sync;

struct Sample {
    title: &'static str,
    category: CaseCategory,
    jurisdiction: &'static str,
    enterprise: &'static str,
    contact: &'static str,
    summary: &'static str,
    support: &'static [Support],
    urgency: Urgency,
    co_handlers: &'static [&'static str],
    recused: &'static [&'static str],
    share: fn() -> Audience,
    /// Where the handlers take it next, with a note.
    status: Option<(CaseStatus, &'static str)>,
}

const SAMPLES: &[Sample] = &[
    Sample {
        title: "配套企业货款被拖欠逾期一年",
        category: CaseCategory::Contract,
        jurisdiction: "广东省深圳市",
        enterprise: "深圳市明辉精密五金有限公司",
        contact: "李经理 138 0000 0001",
        summary: "为某整机厂供应结构件，货款约 420 万元逾期一年未付；对方以资金紧张为由拖延。",
        support: &[Support::Legal, Support::Association],
        urgency: Urgency::Urgent,
        co_handlers: &["gd"],
        recused: &[],
        share: || Audience::All,
        status: Some((CaseStatus::Accepted, "已受理，联系广东省协会协调律师介入。")),
    },
    Sample {
        title: "光伏组件出口遭遇反倾销调查",
        category: CaseCategory::TradeRemedy,
        jurisdiction: "浙江省",
        enterprise: "浙江晶耀光伏科技股份有限公司",
        contact: "周总 139 0000 0002",
        summary: "出口企业收到反倾销立案通知，应诉期限紧；需行业协会组织联合应诉并对接律所。",
        support: &[Support::Legal, Support::Association],
        urgency: Urgency::Critical,
        co_handlers: &["zj"],
        recused: &["js"],
        share: || Audience::Tier(Tier::Provincial),
        status: Some((CaseStatus::InProgress, "已召集同类企业三家，拟联合应诉。")),
    },
    Sample {
        title: "外观设计专利被仿冒",
        category: CaseCategory::Ip,
        jurisdiction: "浙江省杭州市",
        enterprise: "杭州云织家居用品有限公司",
        contact: "陈女士 137 0000 0003",
        summary: "电商平台出现大量仿冒其外观设计专利的产品，投诉处理缓慢。",
        support: &[Support::Legal, Support::Publicity],
        urgency: Urgency::Normal,
        co_handlers: &[],
        recused: &[],
        share: || {
            Audience::Nodes(
                ["hz", "zj", "su", "cd", "sz", "sc"]
                    .iter()
                    .filter_map(|n| NodeId::new(*n).ok())
                    .collect(),
            )
        },
        status: None,
    },
];

fn ids(list: &[&str]) -> Result<Vec<NodeId>> {
    list.iter().map(|n| NodeId::new(*n)).collect()
}

/// Register, share and advance the sample cases, once per demo directory.
pub(super) async fn seed(dir: &Path) -> Result<()> {
    let wait = Duration::from_secs(10);
    let hotline = Node::open(home_of(dir, "hotline"))?;
    let me = hotline.me.node_id.clone();
    let existing = hotline
        .archive
        .call(move |a| a.cases(&me, &CaseFilter::default()))
        .await?;
    if !existing.is_empty() {
        return Ok(());
    }
    let mut keys = Vec::new();
    for s in SAMPLES {
        let r = hotline
            .case_intake(Intake {
                title: s.title.into(),
                category: s.category,
                jurisdiction: s.jurisdiction.into(),
                enterprise: s.enterprise.into(),
                contact: s.contact.into(),
                summary: s.summary.into(),
                support: s.support.to_vec(),
                urgency: s.urgency,
                co_handlers: ids(s.co_handlers)?,
                recused: ids(s.recused)?,
                share: Some((s.share)()),
            })
            .await?;
        keys.push(r.queued.id.to_string());
    }
    sync(&hotline, wait).await?;
    for (s, key) in SAMPLES.iter().zip(&keys) {
        if let Some((status, note)) = s.status {
            hotline.case_status(key, status, note.into()).await?;
        }
    }
    // The first case, redacted by the node's own draft, as a typical case for all.
    if let Some(key) = keys.first() {
        let draft = hotline.typical_draft(key).await?;
        hotline.publish_typical(key, draft, Audience::All).await?;
    }
    sync(&hotline, wait).await?;
    Ok(())
}
