//! Who this node is: `init`, `enroll`, `whoami` and the verified `directory`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use lianxi::home::Home;
use lianxi::node::{self, InitArgs, Node};
use lianxi::now_ms;
use lianxi_shared::NodeId;
use lianxi_shared::ids::parse_roles;
use serde_json::{Value, json};

use crate::cli::args::InitArgs as InitArgsCli;
use crate::cli::commands::print;
use crate::cli::output::{lang, tr};
use lianxi::lang::Lang;
use lianxi::time_fmt::rfc3339;

pub fn init(a: InitArgsCli, home: &Home, json: bool) -> anyhow::Result<()> {
    let args = InitArgs {
        node_id: NodeId::new(a.node_id.as_str())?,
        name: a.name,
        org: a.org,
        tier: a.tier.parse()?,
        roles: parse_roles(&a.roles)?,
    };
    let (request, cfg) = node::init(home, args)?;
    if let Some(out) = &a.request_out {
        lianxi_certs::files::write_atomic(out, request.as_bytes(), false)?;
    }
    let req_path = a.request_out.clone().unwrap_or(home.request_path());
    print(
        json,
        json!({"node_id": cfg.node_id, "request": req_path, "home": home.dir,
                       "age_identity_file": home.age_identity_path()}),
        || {
            tr(
                format!(
                    "节点 {} 已创建。\n证书申请：{}\n请交 CA 操作员签发（lianxi-ca sign），再运行 `lianxi enroll`。",
                    cfg.node_id,
                    req_path.display()
                ),
                format!(
                    "node {} created.\nenrollment request: {}\nsend it to the CA operator (lianxi-ca sign), then run `lianxi enroll`.",
                    cfg.node_id,
                    req_path.display()
                ),
            )
        },
    );
    Ok(())
}

pub async fn enroll(
    cert: PathBuf,
    ca: PathBuf,
    hub: Vec<String>,
    server_name: Option<String>,
    home: &Home,
    json: bool,
) -> anyhow::Result<()> {
    let cert = std::fs::read(&cert).with_context(|| format!("reading {}", cert.display()))?;
    let ca = std::fs::read(&ca).with_context(|| format!("reading {}", ca.display()))?;
    let info = node::enroll(home, &cert, &ca, &hub, server_name)?;
    // Register with the hub now if it is reachable; enrolling works offline too.
    let node = Node::open(home.clone())?;
    let connected = match node.connect(Duration::from_secs(5)).await {
        Ok((s, _events)) => {
            let r = node.refresh_directory(&s).await;
            s.close().await;
            r.is_ok()
        }
        Err(e) => {
            tracing::warn!(code = %e.code, "hub not reachable during enroll");
            false
        }
    };
    let hubs = hub.join(", ");
    print(
        json,
        json!({"node_id": info.node_id, "hub": hub.first(), "hubs": hub, "connected": connected,
               "not_after": rfc3339(info.not_after * 1000)}),
        || match (lang(), connected) {
            (Lang::Zh, true) => format!("{} 已登记，联络中心 {hubs}", info.node_id),
            (Lang::Zh, false) => format!(
                "{} 已登记，联络中心 {hubs}（暂时无法连接；下次同步时使用）",
                info.node_id
            ),
            (Lang::En, true) => format!("enrolled {} with hub {hubs}", info.node_id),
            (Lang::En, false) => format!(
                "enrolled {} with hub {hubs} (hub not reachable now; it will be used on the next sync)",
                info.node_id
            ),
        },
    );
    Ok(())
}

pub async fn whoami(home: &Home, json: bool) -> anyhow::Result<()> {
    let cfg = home.load_config()?;
    let node = Node::open(home.clone()).ok();
    let crl_next = match &node {
        Some(n) => n.crl_next_update().await.ok().flatten(),
        None => None,
    };
    let crl_stale = crl_next.is_some_and(|t| t.saturating_mul(1000) < now_ms());
    let expiry = node
        .as_ref()
        .and_then(|n| lianxi::renew::expiry_warning(&n.me, now_ms() / 1000));
    let v = json!({
        "node_id": cfg.node_id, "name": cfg.name, "org": cfg.org, "tier": cfg.tier, "roles": cfg.roles,
        "hub": cfg.hub.first(), "hubs": cfg.hub.0, "home": home.dir,
        "enrolled": node.is_some(),
        "signing_key": node.as_ref().map(|n| n.me.signing_key.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        "age_recipient": node.as_ref().map(|n| n.age_recipient()),
        "cert_not_after": node.as_ref().map(|n| rfc3339(n.me.not_after * 1000)),
        "age_identity_file": home.age_identity_path(),
        "signing_key_file": home.signing_key_path(),
        "crl_next_update": crl_next.map(|t| rfc3339(t.saturating_mul(1000))),
        "crl_stale": crl_stale,
        "cert_days_left": expiry,
    });
    print(json, v.clone(), || {
        let mut s = format!(
            "{} — {} ({})\ntier {}  roles {}\nhome {}\nage identity file {}",
            cfg.node_id,
            cfg.name,
            cfg.org,
            cfg.tier,
            cfg.roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(","),
            home.dir.display(),
            home.age_identity_path().display()
        );
        if let Some(n) = &node {
            s += &format!(
                "\nage recipient {}\ncertificate valid until {}\nhub {}",
                n.age_recipient(),
                rfc3339(n.me.not_after * 1000),
                cfg.hub.0.join(", ")
            );
        } else {
            s += "\nnot enrolled yet";
        }
        match crl_next {
            Some(t) if crl_stale => {
                let t = rfc3339(t.saturating_mul(1000));
                s += &tr(
                    format!(
                        "\n警告：本节点所见最新的吊销列表（CRL）应于 {t} 更新；此后的吊销可能缺失（请 CA 操作员发布新列表）"
                    ),
                    format!(
                        "\nwarning: the newest CRL this node has seen was due for renewal at {t}; \
                 revocations since then may be missing (ask the CA operator to publish a new one)"
                    ),
                )
            }
            Some(t) => {
                let t = rfc3339(t.saturating_mul(1000));
                s += &tr(
                    format!("\n吊销列表有效至 {t}"),
                    format!("\nCRL valid until {t}"),
                )
            }
            None => s += tr("\n尚未收到吊销列表", "\nno CRL seen yet"),
        }
        if let Some(days) = expiry {
            s += &format!("\n{}", expiry_text(days));
        }
        s
    });
    Ok(())
}

/// The warning a person reads when the certificate ends within 30 days.
pub fn expiry_text(days: i64) -> String {
    if days < 0 {
        tr(
            "警告：本节点证书已过期，无法连接枢纽；请运行 `lianxi renew` 并请 CA 签发新证书",
            "warning: this node's certificate has expired and the hub refuses it; run `lianxi renew` and have the CA sign it",
        )
        .to_string()
    } else {
        format!(
            "{} {days} {}",
            tr(
                "警告：本节点证书将在",
                "warning: this node's certificate expires in"
            ),
            tr(
                "天后到期；请运行 `lianxi renew` 并请 CA 以 `lianxi-ca sign --renew` 签发",
                "day(s); run `lianxi renew` and have the CA sign it with `lianxi-ca sign --renew`",
            )
        )
    }
}

/// `lianxi renew`: write a renewal request, or install the renewed certificate.
pub fn renew(home: &Home, new_keys: bool, cert: Option<PathBuf>, json: bool) -> anyhow::Result<()> {
    match cert {
        None => {
            let r = lianxi::renew::request(home, new_keys)?;
            print(
                json,
                json!({"request": r.path, "new_age_key": r.new_age_key,
                       "not_after": rfc3339(r.not_after * 1000)}),
                || {
                    format!(
                        "{} {}\n{}",
                        tr("续期申请已写入", "renewal request written to"),
                        r.path.display(),
                        tr(
                            "请交 CA 运行 `lianxi-ca sign --renew --request renewal.csr`，再以 `lianxi renew --cert 新证书` 安装。",
                            "have the CA run `lianxi-ca sign --renew --request renewal.csr`, then install it with `lianxi renew --cert NEW.crt`.",
                        )
                    )
                },
            );
        }
        Some(path) => {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let done = lianxi::renew::install(home, &bytes)?;
            print(
                json,
                json!({"node_id": done.info.node_id, "not_after": rfc3339(done.info.not_after * 1000),
                       "previous_not_after": rfc3339(done.previous_not_after * 1000),
                       "age_key_rotated": done.rotated, "age_recipient": done.info.age_recipient}),
                || {
                    let mut s = format!(
                        "{} {}",
                        tr("证书已续期，有效期至", "certificate renewed, valid until"),
                        rfc3339(done.info.not_after * 1000)
                    );
                    if done.rotated {
                        s += tr(
                            "\n已启用新的加密密钥；旧密钥保留，旧消息照常可读。",
                            "\nthe new encryption key is in use; the earlier one is kept, so earlier messages still open.",
                        );
                    }
                    s
                },
            );
        }
    }
    Ok(())
}

pub async fn directory(offline: bool, home: &Home, json: bool) -> anyhow::Result<()> {
    let node = Node::open(home.clone())?;
    let mut stale = true;
    if !offline && let Ok((s, _ev)) = node.connect(Duration::from_secs(5)).await {
        stale = node.refresh_directory(&s).await.is_err();
        s.close().await;
    }
    let dir = node.directory().await?;
    let nodes: Vec<Value> = dir.iter().map(|n| json!({
        "node_id": n.node_id, "name": n.name, "org": n.org, "tier": n.tier, "roles": n.roles,
        "age_recipient": n.age_recipient, "not_after": rfc3339(n.not_after * 1000),
    })).collect();
    print(json, json!({"nodes": nodes, "stale": stale}), || {
        let mut s = String::new();
        for n in &dir {
            let roles: Vec<&str> = n.roles.iter().map(|r| r.as_str()).collect();
            s += &format!(
                "{:<20} {:<11} {:<24} {}\n",
                n.node_id,
                n.tier,
                roles.join(","),
                n.name
            );
        }
        if stale {
            s += "(hub not reachable: cached directory)";
        }
        s.trim_end().to_owned()
    });
    Ok(())
}
