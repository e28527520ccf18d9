//! A throw-away federation for one scenario: a CA, the real `lianxi-hub`
//! binary on 127.0.0.1, and enrolled nodes with real keys and archives. Every
//! process and directory it starts is removed when it is dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};
use lianxi_certs::ca::{Ca, Validity};
use lianxi_node::home::Home;
use lianxi_node::identity::Identity;
use lianxi_node::node::{self, InitArgs, Node};
use lianxi_shared::{NodeId, NodeInfo, Role, Tier};

/// Limits for benchmarking throughput: the per-node rate and queue quotas are
/// abuse protection and would cap one sender; durability (one fsync'd
/// transaction per batch) and signature checks stay as in production.
pub const BENCH_LIMITS: &str = "[limits]
send_rate_per_sec = 10000000.0
send_burst = 10000000.0
queue_count_per_pair = 100000000
queue_bytes_per_pair = 100000000000
max_connections = 100000
";

/// One enrolled node with its keys at hand (for sealing outside the outbox).
pub struct BenchNode {
    pub node: Node,
    pub identity: Identity,
    pub info: NodeInfo,
}

pub struct Fed {
    pub dir: tempfile::TempDir,
    /// The hub processes (one, unless [`Fed::add_hub`] started more).
    hubs: Vec<Option<Child>>,
    /// The first hub's address.
    pub addr: String,
    /// Every hub's address, in start order.
    pub addrs: Vec<String>,
    /// Configuration added to [`BENCH_LIMITS`] (e.g. a `[storage]` section).
    extra: String,
    /// The CA's record file is read-modified-written: one signature at a time.
    ca: std::sync::Mutex<Ca>,
    ca_pem: Vec<u8>,
    now: i64,
}

/// The hub binary next to this one (`target/release/`), built if missing.
fn hub_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("no directory for the bench binary")?;
    let hub = dir.join("lianxi-hub");
    if !hub.exists() {
        let profile = if dir.ends_with("release") {
            "--release"
        } else {
            "--profile=dev"
        };
        eprintln!("building lianxi-hub ({profile}) …");
        let ok = Command::new(env!("CARGO"))
            .args(["build", "-q", profile, "-p", "lianxi-hub"])
            .status()?
            .success();
        if !ok || !hub.exists() {
            bail!("cannot build lianxi-hub; run `cargo build --release -p lianxi-hub`");
        }
    }
    Ok(hub)
}

impl Fed {
    pub fn new() -> anyhow::Result<Fed> {
        Fed::with_config("")
    }

    /// A federation whose hubs also read `extra` (TOML) from their config.
    pub fn with_config(extra: &str) -> anyhow::Result<Fed> {
        let dir = tempfile::Builder::new().prefix("lianxi-bench").tempdir()?;
        let now = lianxi_certs::unix_now();
        let ca_dir = dir.path().join("ca");
        // A throwaway network: no passphrase on its CA key.
        let ca = Ca::init(
            &ca_dir,
            "联席基准 CA",
            now,
            lianxi_certs::ca::KeyLock::Plain,
        )?;
        ca.issue_hub(
            &["localhost".into(), "127.0.0.1".into()],
            &dir.path().join("hub"),
            Validity::days_from(now, 30),
            now,
        )?;
        let ca_pem = std::fs::read(Ca::cert_path(&ca_dir))?;
        let mut fed = Fed {
            dir,
            hubs: Vec::new(),
            addr: String::new(),
            addrs: Vec::new(),
            extra: extra.to_owned(),
            ca: std::sync::Mutex::new(ca),
            ca_pem,
            now,
        };
        fed.add_hub()?;
        Ok(fed)
    }

    /// Start one more hub process on the same certificate and configuration
    /// (its own data directory); its address.
    pub fn add_hub(&mut self) -> anyhow::Result<String> {
        let d = self.dir.path();
        let k = self.hubs.len();
        std::fs::write(d.join("hub.toml"), format!("{BENCH_LIMITS}{}", self.extra))?;
        let s = |p: PathBuf| p.to_string_lossy().into_owned();
        let mut child = Command::new(hub_binary()?)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data",
                &s(d.join(format!("hub-data-{k}"))),
            ])
            .args(["--ca", &s(d.join("ca").join("ca.crt"))])
            .args(["--cert", &s(d.join("hub").join("hub.crt"))])
            .args(["--key", &s(d.join("hub").join("hub.key"))])
            .args(["--config", &s(d.join("hub.toml"))])
            .arg("--no-crl") // a throw-away federation that revokes nothing
            .env("RUST_LOG", "info") // the production default
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(d.join(format!("hub-{k}.log")))?)
            .spawn()
            .context("starting lianxi-hub")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("hub stdout")?).read_line(&mut line)?;
        let addr = line
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_owned();
        if !addr.starts_with("127.0.0.1:") {
            bail!("the hub did not start: {line:?}");
        }
        if self.addrs.is_empty() {
            self.addr = addr.clone();
        }
        self.addrs.push(addr.clone());
        self.hubs.push(Some(child));
        Ok(addr)
    }

    /// SIGKILL hub `k`: no chance to flush or say goodbye.
    pub fn kill_hub(&mut self, k: usize) {
        if let Some(mut h) = self.hubs.get_mut(k).and_then(Option::take) {
            let _ = h.kill();
            let _ = h.wait();
        }
    }

    /// CPU time (user + system) the running hubs have used, seconds.
    pub fn hubs_cpu_secs(&self) -> f64 {
        self.hubs
            .iter()
            .flatten()
            .map(|h| proc_cpu_secs(h.id()))
            .sum()
    }

    /// The first hub's resident memory, KiB.
    pub fn hub_rss_kib(&self) -> u64 {
        let Some(pid) = self.hubs.first().and_then(Option::as_ref).map(Child::id) else {
            return 0;
        };
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }

    /// Create and enroll a node (provincial secretary unless `tier` says otherwise).
    pub fn node(&self, id: &str, tier: Tier) -> anyhow::Result<BenchNode> {
        self.node_on(id, tier, std::slice::from_ref(&self.addr))
    }

    /// A node whose `node.toml` lists these hubs (the first is tried first).
    pub fn node_on(&self, id: &str, tier: Tier, hubs: &[String]) -> anyhow::Result<BenchNode> {
        let home = Home::new(self.dir.path().join("nodes").join(id));
        let (csr, _) = node::init(
            &home,
            InitArgs {
                node_id: NodeId::new(id)?,
                name: format!("基准节点 {id}"),
                org: "秘书处".into(),
                tier,
                roles: vec![Role::Secretary],
            },
        )?;
        let (cert, _) = self.sign(
            csr.as_bytes(),
            None,
            Validity::days_from(self.now, 30),
            self.now,
        )?;
        node::enroll(
            &home,
            cert.as_bytes(),
            &self.ca_pem,
            hubs,
            Some("localhost".into()),
        )?;
        let node = Node::open(home.clone())?;
        let identity = Identity::load(&home)?;
        let info = node.me.clone();
        Ok(BenchNode {
            node,
            identity,
            info,
        })
    }
}

/// A node's identity and TLS setup without an archive: for scenarios that
/// connect thousands of nodes.
pub struct Ident {
    pub info: NodeInfo,
    pub identity: Identity,
    pub tls: lianxi_node::net::TlsSetup,
}

impl Fed {
    fn sign(
        &self,
        csr: &[u8],
        roles: Option<Vec<Role>>,
        validity: Validity,
        now: i64,
    ) -> anyhow::Result<(String, lianxi_certs::request::NodeIdentity)> {
        let ca = self
            .ca
            .lock()
            .map_err(|_| anyhow::anyhow!("the CA lock is poisoned"))?;
        let policy = lianxi_certs::ca::SignPolicy {
            roles,
            ..Default::default()
        };
        let s = ca.sign(csr, &policy, validity, now)?;
        Ok((s.pem, s.identity))
    }

    pub fn ident(&self, id: &str, tier: Tier) -> anyhow::Result<Ident> {
        let home = Home::new(self.dir.path().join("ids").join(id));
        let (csr, _) = node::init(
            &home,
            InitArgs {
                node_id: NodeId::new(id)?,
                name: format!("基准节点 {id}"),
                org: "秘书处".into(),
                tier,
                roles: vec![Role::Member],
            },
        )?;
        let (cert, _) = self.sign(
            csr.as_bytes(),
            None,
            Validity::days_from(self.now, 30),
            self.now,
        )?;
        let cert_der = lianxi_certs::pem_or_der(cert.as_bytes(), "CERTIFICATE")?;
        let ca_der = lianxi_certs::pem_or_der(&self.ca_pem, "CERTIFICATE")?;
        let info = lianxi_certs::parse_node_cert(&cert_der)?;
        let identity = Identity::load(&home)?;
        let tls = lianxi_node::net::TlsSetup {
            ca: rustls_pki_types::CertificateDer::from(ca_der),
            cert: rustls_pki_types::CertificateDer::from(cert_der),
            key: identity.tls_key()?,
            crl: None,
        };
        Ok(Ident {
            info,
            identity,
            tls,
        })
    }
}

impl Drop for Fed {
    fn drop(&mut self) {
        for k in 0..self.hubs.len() {
            self.kill_hub(k);
        }
    }
}

/// A process's CPU time so far (user + system), seconds; 0 if unknown.
pub fn proc_cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // After the command name (which may hold spaces) in parentheses:
    // fields 14 and 15 of the whole line are utime and stime, in ticks.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    // USER_HZ is 100 on Linux for every architecture this runs on.
    f.iter().sum::<u64>() as f64 / 100.0
}
