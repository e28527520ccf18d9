//! `lianxi demo`: a complete local network in one command — a CA, an embedded
//! hub on 127.0.0.1 and a set of simulated association nodes that keep sending
//! now and then — with the terminal UI opened as one of them.
//!
//! The demo is only a launcher: it uses the real CA code, the real hub and the
//! real node core, with no special paths in any of them.

mod cases;
mod content;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lianxi_certs::ca::{Ca, Validity};
use lianxi_shared::ids::parse_roles;
use lianxi_shared::{Audience, Bulletin, ErrorCode, NodeId, Payload, ProtoError};
use tokio::sync::mpsc;

use crate::home::Home;
use crate::node::{self, InitArgs, Node};
use crate::sync::{NetCmd, run_connected};
use crate::tui::i18n::Lang;
use crate::{Result, now_ms};

pub use content::NODES;

pub struct DemoOptions {
    pub dir: PathBuf,
    pub as_node: String,
    pub lang: Lang,
    /// Mean seconds between simulated sends per node.
    pub interval: f64,
}

fn home_of(dir: &Path, id: &str) -> Home {
    Home::new(dir.join("nodes").join(id))
}

/// Create the CA, the hub's certificate and every node, unless `dir` already
/// holds a demo network (then it is reused).
pub fn prepare(dir: &Path) -> Result<()> {
    let ca_dir = dir.join("ca");
    if ca_dir.join("ca.crt").exists() {
        return Ok(());
    }
    let now = lianxi_certs::unix_now();
    // A throwaway local network: its CA key stays plain (0600) so the demo
    // needs no passphrase; a federation's CA is always encrypted.
    let ca = Ca::init(
        &ca_dir,
        "联席演示 CA",
        now,
        lianxi_certs::ca::KeyLock::Plain,
    )?;
    ca.issue_hub(
        &["localhost".into(), "127.0.0.1".into()],
        &dir.join("hub"),
        Validity::days_from(now, 825),
        now,
    )?;
    let ca_pem = std::fs::read(Ca::cert_path(&ca_dir)).map_err(|e| crate::io_err("ca.crt", e))?;
    for (id, name, org, tier, roles) in content::NODES {
        let home = home_of(dir, id);
        let (csr, _) = node::init(
            &home,
            InitArgs {
                node_id: NodeId::new(*id)?,
                name: (*name).into(),
                org: (*org).into(),
                tier: *tier,
                roles: parse_roles(roles)?,
            },
        )?;
        let cert = ca
            .sign(
                csr.as_bytes(),
                &lianxi_certs::ca::SignPolicy::default(),
                Validity::days_from(now, 365),
                now,
            )?
            .pem;
        node::enroll(
            &home,
            cert.as_bytes(),
            &ca_pem,
            &["127.0.0.1:0".to_owned()],
            Some("localhost".into()),
        )?;
    }
    Ok(())
}

/// Point every node at the hub's actual address.
fn set_hub(dir: &Path, addr: &str) -> Result<()> {
    for (id, ..) in content::NODES {
        let home = home_of(dir, id);
        let mut cfg = home.load_config()?;
        cfg.hub = lianxi_node::home::HubList(vec![addr.to_owned()]);
        home.save_config(&cfg)?;
    }
    Ok(())
}

/// A simulated node: stays connected and sends a sample bulletin now and then.
async fn simulate(node: Arc<Node>, id: String, interval: f64, first: Duration) {
    let (cmd_tx, cmd_rx) = mpsc::channel(8);
    let (ev_tx, mut ev_rx) = mpsc::channel(256);
    let worker = {
        let node = node.clone();
        tokio::spawn(async move { run_connected(&node, cmd_rx, ev_tx).await })
    };
    tokio::spawn(async move { while ev_rx.recv().await.is_some() {} });
    let mine: Vec<_> = content::BULLETINS.iter().filter(|b| b.0 == id).collect();
    if mine.is_empty() {
        let _ = worker.await;
        return;
    }
    // Each sample goes out once per demo directory, also across runs: the
    // count sent so far is kept beside the node's home.
    let progress = node.home.dir.join("demo-samples-sent");
    let mut i: usize = std::fs::read_to_string(&progress)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0);
    let mut next = first;
    while i < mine.len() {
        tokio::time::sleep(next).await;
        let (_, to, title, body) = mine[i];
        i += 1;
        let _ = std::fs::write(&progress, i.to_string());
        let audience: Audience = to.parse().unwrap_or(Audience::All);
        let payload = Payload::Bulletin(Bulletin {
            title: (*title).into(),
            body: (*body).into(),
            ..Default::default()
        });
        match node.queue(audience, payload, None).await {
            Ok(_) => {
                let _ = cmd_tx.send(NetCmd::Flush).await;
            }
            Err(e) => tracing::warn!(node = %id, code = %e.code, "demo send failed"),
        }
        let jitter = 0.5 + rand::random::<f64>();
        next = Duration::from_secs_f64(interval * jitter * content::NODES.len() as f64 / 3.0);
    }
    // Every sample sent: stay connected, so receipts and replies still flow.
    let _ = worker.await;
}

/// Run the demo until the user quits the UI.
/// Once per demo directory: the chair publishes the rotation and convenes the
/// next session; members propose agenda items and answer, so the Meetings tab
/// tells a story. Every step goes through the real hub and the real checks.
async fn seed_conference(dir: &Path) -> Result<()> {
    use crate::sync::sync;
    use lianxi_shared::conference::{AgendaItem, DEFAULT_TZ, Meeting, Rsvp};
    let wait = Duration::from_secs(10);
    // The hub lists a node once it has connected: introduce everyone first.
    for (id, ..) in content::NODES {
        sync(&Node::open(home_of(dir, id))?, wait).await?;
    }
    let chair = Node::open(home_of(dir, "nat"))?;
    sync(&chair, wait).await?;
    let (conf, _) = chair.conference().await?;
    if conf.schedule.is_some() {
        return Ok(());
    }
    let pool = conf.roster.pool.clone();
    let sessions = (2 * pool.len()).max(2) as u32;
    chair
        .rotation_publish(lianxi_shared::rotation::RotationInput {
            pool,
            first_session: 1,
            sessions,
            served: vec![],
            changes: vec![],
        })
        .await?;
    let tz =
        jiff::tz::TimeZone::get(DEFAULT_TZ).map_err(|_| ProtoError::code(ErrorCode::Internal))?;
    let today = jiff::Zoned::now().with_time_zone(tz).date();
    let day = |d: i64| {
        today
            .checked_add(jiff::Span::new().days(d))
            .map(|x| x.to_string())
            .map_err(|_| ProtoError::code(ErrorCode::Internal))
    };
    chair
        .convene(Meeting {
            session: 1,
            title: String::new(),
            date: day(21)?,
            start: "09:30".into(),
            minutes: 150,
            tz: DEFAULT_TZ.into(),
            place: "北京市西城区 全国中小企业服务中心 第一会议室".into(),
            link: "https://meet.example.cn/lianxi-1".into(),
            agenda_deadline: format!("{} 18:00", day(14)?),
            note: "请各成员单位于会前一周提交书面材料。".into(),
        })
        .await?;
    sync(&chair, wait).await?;
    let members: [(&str, &str, u32, Rsvp); 3] = [
        ("sz", "中小企业账款拖欠问题联合通报机制", 40, Rsvp::Attend),
        (
            "zj",
            "反倾销应诉协调：光伏组件出口",
            45,
            Rsvp::Delegate {
                name: "王副秘书长".into(),
            },
        ),
        (
            "sc",
            "年度评选工作安排",
            20,
            Rsvp::Absent {
                reason: "同期举办省内年会".into(),
            },
        ),
    ];
    for (id, title, minutes, answer) in members {
        let node = Node::open(home_of(dir, id))?;
        sync(&node, wait).await?;
        let item = AgendaItem {
            title: title.into(),
            summary: String::new(),
            minutes,
            attachments: vec![],
        };
        node.propose(1, item).await?;
        node.rsvp(1, answer).await?;
        sync(&node, wait).await?;
    }
    Ok(())
}

pub async fn run(opts: DemoOptions) -> Result<()> {
    if !content::NODES.iter().any(|n| n.0 == opts.as_node) {
        let ids: Vec<&str> = content::NODES.iter().map(|n| n.0).collect();
        return Err(ProtoError::new(
            ErrorCode::NotFound,
            format!(
                "no demo node {:?}; choose one of {}",
                opts.as_node,
                ids.join(", ")
            ),
        ));
    }
    prepare(&opts.dir)?;
    let hub = lianxi_hub::start(lianxi_hub::HubConfig {
        listen: "127.0.0.1:0"
            .parse()
            .map_err(|_| ProtoError::code(ErrorCode::Internal))?,
        data: opts.dir.join("hub-data"),
        ca: opts.dir.join("ca").join("ca.crt"),
        cert: opts.dir.join("hub").join("hub.crt"),
        key: opts.dir.join("hub").join("hub.key"),
        crl: None,
        name: "联席演示枢纽".into(),
        ..Default::default()
    })
    .await
    .map_err(|e| {
        ProtoError::new(
            ErrorCode::Internal,
            format!("cannot start the demo hub: {e:#}"),
        )
    })?;
    set_hub(&opts.dir, &hub.addr.to_string())?;
    if let Err(e) = seed_conference(&opts.dir).await {
        tracing::warn!(code = %e.code, reason = %e.message, "demo conference not seeded");
    }
    if let Err(e) = cases::seed(&opts.dir).await {
        tracing::warn!(code = %e.code, reason = %e.message, "demo cases not seeded");
    }
    let mut sims = Vec::new();
    for (k, (id, ..)) in content::NODES.iter().enumerate() {
        if *id == opts.as_node {
            continue;
        }
        let node = Arc::new(Node::open(home_of(&opts.dir, id))?);
        let first = Duration::from_millis(300 + 400 * k as u64);
        sims.push(tokio::spawn(simulate(
            node,
            (*id).to_owned(),
            opts.interval,
            first,
        )));
    }
    let me = Arc::new(Node::open(home_of(&opts.dir, &opts.as_node))?);
    tracing::info!(dir = %opts.dir.display(), hub = %hub.addr, at = now_ms(), "demo running");
    let result = crate::tui::runtime::run(me, opts.lang).await;
    for s in sims {
        s.abort();
    }
    hub.shutdown().await;
    result
}
