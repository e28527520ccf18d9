//! `lianxi case …`: rights-defence cases from the command line, every one
//! with `--json`.

use std::path::Path;

use anyhow::Context;
use lianxi::archive::cases::{CaseFile, CaseFilter, Queued};
use lianxi::bulletins::read_attachments;
use lianxi::case_file::{Names, file_json, file_markdown, summary_json};
use lianxi::cases::{Intake, TypicalDraft};
use lianxi::home::Home;
use lianxi::lang::Lang;
use lianxi::node::Node;
use lianxi::{ErrorCode, ProtoError, now_ms};
use lianxi_certs::files::{create_private_dir, safe_component, write_new_in};
use lianxi_shared::case::{CaseChange, CaseStatus, Confidential};
use lianxi_shared::payload::DEFAULT_MAX_ATTACHMENT;
use lianxi_shared::{Audience, NodeId};
use serde_json::{Value, json};

use crate::cli::args::{CaseCmd, CaseListArgs, ExportArgs, IntakeArgs, TypicalArgs};
use crate::cli::commands::print;
use crate::cli::delivery::{deliver_now, deliver_unless_local};
use crate::cli::output::{lang, tr};

fn node_ids(v: &[String]) -> Result<Vec<NodeId>, ProtoError> {
    v.iter().map(|s| NodeId::new(s.trim())).collect()
}

/// Send what was queued now if the hub answers, and report.
async fn report(
    node: &Node,
    q: Queued,
    json: bool,
    what: &str,
    extra: Value,
) -> anyhow::Result<()> {
    let d = deliver_unless_local(node, q.id, !q.recipients.is_empty()).await?;
    let mut v = json!({
        "id": q.id.to_string(), "case": q.case.to_string(), "number": q.number,
        "status": d.status(),
        "recipients": q.recipients.iter().map(NodeId::as_str).collect::<Vec<_>>(),
        "reason": d.reason(),
    });
    if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
        m.extend(x);
    }
    print(json, v, || {
        d.text(&format!("{} {what}", q.number), q.recipients.len())
    });
    Ok(())
}

fn read_draft(path: &Path) -> anyhow::Result<TypicalDraft> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (title, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    Ok(TypicalDraft {
        title: title.trim().to_owned(),
        body: body.trim_start_matches('\n').to_owned(),
    })
}

/// What every case command has at hand.
struct Ctx {
    node: Node,
    me: NodeId,
    names: Names,
    json: bool,
}

pub async fn run(cmd: CaseCmd, home: &Home, json: bool) -> anyhow::Result<()> {
    let node = Node::open(home.clone())?;
    let me = node.me.node_id.clone();
    let names = Names::new(&node.directory().await?);
    let cx = Ctx {
        node,
        me,
        names,
        json,
    };
    let node = &cx.node;
    match cmd {
        CaseCmd::Intake(a) => intake(&cx, a).await,
        CaseCmd::List(a) => list(&cx, a).await,
        CaseCmd::Show { case } => {
            let f = node.case_file(&case).await?;
            let conf = cx.confidential(&f);
            print(
                json,
                file_json(&f, &cx.me, conf.as_ref(), &cx.names, now_ms(), lang()),
                || file_markdown(&f, conf.as_ref(), &cx.names, lang()),
            );
            Ok(())
        }
        CaseCmd::Status { case, status, note } => {
            let status: CaseStatus = status.parse()?;
            let q = node.case_status(&case, status, note).await?;
            let extra = json!({"case_status": status.as_str()});
            report(node, q, json, tr(status.zh(), status.en()), extra).await
        }
        CaseCmd::Note {
            case,
            text,
            attach,
            redact,
            anyway,
        } => {
            let max = node.config.max_attachment.unwrap_or(DEFAULT_MAX_ATTACHMENT);
            let files = read_attachments(&attach, max)?;
            let leaks = node.note_leaks(&case, &text).await?;
            let text = match (leaks.is_empty(), redact, anyway) {
                (true, _, _) | (false, _, true) => text,
                (false, true, _) => node.note_redacted(&case, &text).await?,
                (false, false, false) => {
                    let m = format!(
                        "the note names the enterprise or the contact ({} piece(s)), and it goes to every node the case is shared with: rewrite it, or add --redact (replace them with 【已隐去】) or --anyway",
                        leaks.len()
                    );
                    return Err(ProtoError::new(ErrorCode::ConfidentialLeak, m).into());
                }
            };
            let q = node.case_note(&case, text, files).await?;
            report(node, q, json, tr("备注已添加", "note added"), json!({})).await
        }
        CaseCmd::Share { case, to } => share(&cx, &case, &to).await,
        CaseCmd::Recuse {
            case,
            nodes,
            reason,
        } => {
            let q = node.case_recuse(&case, node_ids(&nodes)?, reason).await?;
            report(
                node,
                q,
                json,
                tr("回避已记录", "recusal recorded"),
                json!({}),
            )
            .await
        }
        CaseCmd::Refer { case, to, note } => {
            let q = node.case_refer(&case, NodeId::new(to)?, note).await?;
            report(node, q, json, tr("已转办", "referred"), json!({})).await
        }
        CaseCmd::Accept { case, reason } => {
            let q = node.case_answer(&case, true, reason).await?;
            report(
                node,
                q,
                json,
                tr("已接受转办", "referral accepted"),
                json!({}),
            )
            .await
        }
        CaseCmd::Decline { case, reason } => {
            let q = node.case_answer(&case, false, reason).await?;
            report(
                node,
                q,
                json,
                tr("已拒绝转办", "referral declined"),
                json!({}),
            )
            .await
        }
        CaseCmd::Typical(a) => typical(&cx, a).await,
        CaseCmd::Export(a) => export(&cx, a).await,
    }
}

impl Ctx {
    /// The case's confidential fields, for a handler only.
    fn confidential(&self, f: &CaseFile) -> Option<Confidential> {
        self.node
            .case_confidential(&f.state)
            .filter(|_| f.state.is_handler(&self.me))
    }
}

async fn intake(cx: &Ctx, a: IntakeArgs) -> anyhow::Result<()> {
    let form = Intake {
        title: a.title,
        category: a.category.parse()?,
        jurisdiction: a.jurisdiction,
        enterprise: a.enterprise,
        contact: a.contact,
        summary: a.summary,
        support: a
            .support
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse())
            .collect::<Result<_, _>>()?,
        urgency: a.urgency.parse()?,
        co_handlers: node_ids(&a.co_handlers)?,
        recused: node_ids(&a.recused)?,
        share: a.share.as_deref().map(str::parse).transpose()?,
    };
    let r = cx.node.case_intake(form).await?;
    let excluded: Vec<&str> = r.excluded.iter().map(NodeId::as_str).collect();
    let extra = json!({ "excluded": excluded });
    report(
        &cx.node,
        r.queued,
        cx.json,
        tr("已登记", "registered"),
        extra,
    )
    .await
}

async fn list(cx: &Ctx, a: CaseListArgs) -> anyhow::Result<()> {
    let now = now_ms();
    let f = CaseFilter {
        mine: (a.mine || a.shared).then_some(a.mine),
        status: a.status.as_deref().map(str::parse).transpose()?,
        category: a.category.as_deref().map(str::parse).transpose()?,
        stale_before: a.overdue.map(|d| now - i64::from(d) * 86_400_000),
        text: a.query,
    };
    let me = cx.me.clone();
    let cases = cx.node.archive.call(move |a| a.cases(&me, &f)).await?;
    let v: Vec<Value> = cases.iter().map(|s| summary_json(s, &cx.me, now)).collect();
    print(cx.json, json!(v), || {
        cases
            .iter()
            .map(|s| {
                format!(
                    "{}  {:<4}  {:<6}  {}{}",
                    s.facts.number,
                    tr(s.status.zh(), s.status.en()),
                    tr(s.facts.category.zh(), s.facts.category.en()),
                    s.facts.title,
                    if s.is_handler(&cx.me) {
                        ""
                    } else {
                        tr("  [共享]", "  [shared]")
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

async fn share(cx: &Ctx, case: &str, to: &str) -> anyhow::Result<()> {
    let r = cx.node.case_share(case, &to.parse::<Audience>()?).await?;
    if !r.excluded.is_empty() && !cx.json {
        let names: Vec<String> = r.excluded.iter().map(|n| cx.names.of(n)).collect();
        crate::cli::output::warn(&format!(
            "{}{}",
            tr("已排除（回避）：", "left out (recused): "),
            names.join(lang().list_sep())
        ));
    }
    let excluded: Vec<&str> = r.excluded.iter().map(NodeId::as_str).collect();
    let extra = json!({ "excluded": excluded });
    report(&cx.node, r.queued, cx.json, tr("已共享", "shared"), extra).await
}

async fn typical(cx: &Ctx, a: TypicalArgs) -> anyhow::Result<()> {
    let node = &cx.node;
    let draft = match &a.from {
        Some(p) => read_draft(p)?,
        None => node.typical_draft(&a.case).await?,
    };
    let leaks = node.typical_leaks(&a.case, &draft).await?;
    if let Some(p) = &a.out {
        std::fs::write(p, format!("{}\n\n{}", draft.title, draft.body))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if !a.publish {
        let v = json!({"title": draft.title, "body": draft.body, "leaks": leaks.len()});
        print(cx.json, v, || {
            let warn = if leaks.is_empty() {
                tr(
                    "已隐去全部保密信息；用 --publish 发布。",
                    "every confidential field is redacted; publish with --publish.",
                )
                .to_owned()
            } else {
                match lang() {
                    Lang::Zh => format!("仍含 {} 处保密信息，不能发布。", leaks.len()),
                    Lang::En => format!(
                        "{} confidential piece(s) remain; it cannot be published.",
                        leaks.len()
                    ),
                }
            };
            format!("{}\n\n{}\n\n{warn}", draft.title, draft.body)
        });
        return Ok(());
    }
    let title = draft.title.clone();
    let id = node.publish_typical(&a.case, draft, a.to.parse()?).await?;
    let d = deliver_now(node, id).await?;
    print(
        cx.json,
        json!({"id": id.to_string(), "status": d.status(), "recipients": d.recipients(),
               "title": title, "reason": d.reason()}),
        || match lang() {
            Lang::Zh => format!("典型案例已作为通报 {id} 发布（{}）", d.status()),
            Lang::En => format!("typical case published as bulletin {id} ({})", d.status()),
        },
    );
    Ok(())
}

async fn export(cx: &Ctx, a: ExportArgs) -> anyhow::Result<()> {
    let f = cx.node.case_file(&a.case).await?;
    let conf = cx.confidential(&f);
    let text = match a.format.as_str() {
        "md" => file_markdown(&f, conf.as_ref(), &cx.names, lang()),
        "json" => {
            let v = file_json(&f, &cx.me, conf.as_ref(), &cx.names, now_ms(), lang());
            serde_json::to_string_pretty(&v)?
        }
        other => {
            let m = format!("unknown format {other:?}: md or json");
            return Err(ProtoError::new(ErrorCode::BadRequest, m).into());
        }
    };
    let out = a.out;
    std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
    // One sanitised component next to OUT; documents never replace
    // what is there (numbered names instead).
    let folder = safe_component(&format!("{}-documents", f.state.facts.number));
    let dir = out.with_file_name(folder);
    let mut docs = Vec::new();
    for st in &f.steps {
        if let CaseChange::Note { attachments, .. } = &st.event.msg.change {
            for a in attachments {
                create_private_dir(&dir)?;
                docs.push(write_new_in(
                    &dir,
                    &safe_component(&a.name),
                    &a.data,
                    false,
                )?);
            }
        }
    }
    print(
        cx.json,
        json!({"path": out, "documents": docs}),
        || match lang() {
            Lang::Zh => format!("已写入 {} 及 {} 份文件", out.display(), docs.len()),
            Lang::En => format!("wrote {} and {} document(s)", out.display(), docs.len()),
        },
    );
    Ok(())
}
