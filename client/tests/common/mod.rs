//! Test harness: a real CA, the real `lianxi-hub` binary on 127.0.0.1 and real
//! nodes driven through the real `lianxi` binary, each in its own temp home.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The throwaway PostgreSQL server of the hub's tests (one copy).
#[path = "../../../hub/tests/common/pg.rs"]
pub mod pg;
pub mod rogue;

/// Path of a workspace binary. `cargo test` builds only this package's
/// executables, so the hub's and the CA's are brought up to date here,
/// workspace-wide so that the dependencies already built for the tests are
/// reused (a no-op when they are current): once per test process, or under
/// cargo-nextest (a process per test) once per run, the first test of the run
/// building while the others wait on a file lock.
pub fn bin(name: &str) -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let lianxi = PathBuf::from(env!("CARGO_BIN_EXE_lianxi"));
    let dir = lianxi.parent().expect("bin dir").to_owned();
    if name != "lianxi" {
        BUILT.call_once(|| match std::env::var("NEXTEST_RUN_ID") {
            Ok(run) => {
                let marks = dir.join("lianxi-test-builds");
                std::fs::create_dir_all(&marks).expect("marker dir");
                let lock = std::fs::File::create(marks.join("lock")).expect("lock file");
                lock.lock().expect("build lock");
                let done = marks.join(run);
                if !done.exists() {
                    build_workspace_bins();
                    std::fs::write(&done, b"").expect("marker");
                }
            }
            Err(_) => build_workspace_bins(),
        });
    }
    dir.join(name)
}

fn build_workspace_bins() {
    // What `cargo nextest run --workspace` itself builds (`cargo test
    // --no-run --workspace`): the same feature unification, so after
    // nextest's build this is a no-op instead of rebuilding the binaries
    // with another feature set.
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args(["test", "--no-run", "-q", "--workspace"]);
    // Not the variables cargo sets for this test process: build scripts
    // watch some (LD_LIBRARY_PATH, CARGO_*), and a changed one rebuilds
    // everything after them.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        let ours = k == "LD_LIBRARY_PATH"
            || k.starts_with("NEXTEST")
            || (k.starts_with("CARGO_")
                && ![
                    "CARGO_HOME",
                    "CARGO_TARGET_DIR",
                    "CARGO_BUILD_",
                    "CARGO_TERM_",
                    "CARGO_NET_",
                    "CARGO_REGISTR",
                ]
                .iter()
                .any(|keep| k.starts_with(keep)));
        if ours {
            cargo.env_remove(k.as_ref());
        }
    }
    if !cfg!(debug_assertions) {
        cargo.arg("--release"); // the same profile as this test
    }
    let status = cargo.status().expect("cargo build");
    assert!(status.success(), "building the hub and CA binaries");
}

/// Run to completion with no terminal on stdin (as in CI), capturing output.
/// Run to completion. Nodes show times in the system's zone unless
/// node.toml names one: the tests read Beijing time whatever the machine's.
pub fn run(cmd: &mut Command) -> std::process::Output {
    cmd.env("TZ", "Asia/Shanghai")
        .stdin(Stdio::null())
        .output()
        .expect("spawn")
}

pub struct Hub {
    child: Child,
    pub addr: String,
    pub log: PathBuf,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Another hub process on the net's hub certificate and its own data
/// directory (a cluster's second hub), restartable on the same address.
pub struct OtherHub {
    child: Option<Child>,
    /// `127.0.0.1:PORT`, fixed after the first start.
    pub addr: String,
    args: Vec<String>,
    log: PathBuf,
}

impl OtherHub {
    /// Start one reading `config` (TOML), its log in `hub2.log`.
    pub fn start(net: &Net, config: &str) -> OtherHub {
        let dir = net.dir.path();
        let path = dir.join("hub2.toml");
        std::fs::write(&path, config).expect("hub 2 config");
        let hubdir = dir.join("hub");
        let args = [
            "serve",
            "--data",
            s(&dir.join("hub2-data")),
            "--ca",
            s(&net.ca_dir().join("ca.crt")),
            "--cert",
            s(&hubdir.join("hub.crt")),
            "--key",
            s(&hubdir.join("hub.key")),
            "--no-crl",
            "--config",
            s(&path),
        ]
        .map(str::to_owned)
        .to_vec();
        let mut h = OtherHub {
            child: None,
            addr: "127.0.0.1:0".into(),
            args,
            log: dir.join("hub2.log"),
        };
        h.restart();
        h
    }

    /// Start it (again) on its address.
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("hub 2 log");
        let mut child = Command::new(bin("lianxi-hub"))
            .args(&self.args)
            .args(["--listen", &self.addr])
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start hub 2");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("hub 2 prints its address");
        let addr = line.trim().rsplit(' ').next().unwrap_or_default();
        assert!(
            addr.starts_with("127.0.0.1:"),
            "hub 2 did not start: {line:?}"
        );
        self.addr = addr.to_owned();
        self.child = Some(child);
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for OtherHub {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Point a node at these hubs, the first tried first.
pub fn set_hubs(home: &Path, hubs: &[&str]) {
    let path = home.join("node.toml");
    let text = std::fs::read_to_string(&path).expect("node.toml");
    let list = hubs
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("hub =") {
                format!("hub = [{list}]")
            } else {
                l.to_owned()
            }
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").expect("node.toml");
}

pub struct Net {
    pub dir: tempfile::TempDir,
    pub hub: Option<Hub>,
    pub port: u16,
    pub crl: Option<PathBuf>,
    /// Extra hub configuration (TOML), passed with `--config`.
    pub hub_config: Option<String>,
    /// The address the hub listens on (`127.0.0.1` unless a test moves it).
    pub hub_host: String,
    /// A command the hub is started under (e.g. `ip netns exec NAME`).
    pub hub_prefix: Vec<String>,
    hub_starts: u32,
}

impl Net {
    pub fn ca_dir(&self) -> PathBuf {
        self.dir.path().join("ca")
    }
    pub fn hub_data(&self) -> PathBuf {
        self.dir.path().join("hub-data")
    }

    /// A CA and the hub's certificate; the hub is started with [`Net::start_hub`].
    pub fn new() -> Net {
        let dir = tempfile::tempdir().expect("tempdir");
        let net = Net {
            dir,
            hub: None,
            port: 0,
            crl: None,
            hub_config: None,
            hub_host: "127.0.0.1".into(),
            hub_prefix: Vec::new(),
            hub_starts: 0,
        };
        let ca = net.ca_dir();
        // An encrypted ca.key, as in use; a low scrypt cost keeps tests quick.
        ca_ok(&[
            "init",
            "--dir",
            s(&ca),
            "--name",
            "联席测试 CA",
            "--work-factor",
            "10",
        ]);
        issue_hub_cert(&ca, &net.dir.path().join("hub"));
        net
    }

    /// Start with a CRL file the hub watches.
    pub fn with_crl(mut self) -> Net {
        let crl = self.dir.path().join("ca.crl");
        ca_ok(&["crl", "--dir", s(&self.ca_dir()), "--out", s(&crl)]);
        self.crl = Some(crl);
        self
    }

    pub fn start_hub(&mut self) {
        assert!(self.hub.is_none(), "hub already running");
        self.hub_starts += 1;
        let log = self.dir.path().join(format!("hub-{}.log", self.hub_starts));
        let hubdir = self.dir.path().join("hub");
        let mut cmd = match self.hub_prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(bin("lianxi-hub"));
                c
            }
            None => Command::new(bin("lianxi-hub")),
        };
        cmd.args([
            "serve",
            "--listen",
            &format!("{}:{}", self.hub_host, self.port),
            "--data",
            s(&self.hub_data()),
        ])
        .args([
            "--ca",
            s(&self.ca_dir().join("ca.crt")),
            "--cert",
            s(&hubdir.join("hub.crt")),
            "--key",
            s(&hubdir.join("hub.key")),
        ])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log"));
        if let Some(crl) = &self.crl {
            cmd.args(["--crl", s(crl)]);
        } else {
            cmd.arg("--no-crl");
        }
        if let Some(cfg) = &self.hub_config {
            let path = self.dir.path().join("hub.toml");
            std::fs::write(&path, cfg).expect("hub config");
            cmd.args(["--config", s(&path)]);
        }
        let mut child = cmd.spawn().expect("start hub");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("hub prints its address");
        let addr = line
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(
            addr.starts_with(&format!("{}:", self.hub_host)),
            "hub did not start: {line:?} {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        self.port = addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        self.hub = Some(Hub { child, addr, log });
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill_hub(&mut self) {
        if let Some(mut h) = self.hub.take() {
            h.child.kill().expect("kill -9");
            h.child.wait().expect("wait");
        }
    }

    /// The hub process id (to read its memory use).
    pub fn hub_pid(&self) -> Option<u32> {
        self.hub.as_ref().map(|h| h.child.id())
    }

    pub fn hub_addr(&self) -> String {
        format!("{}:{}", self.hub_host, self.port)
    }

    /// Create, sign and enroll a node.
    pub fn node(&self, id: &str, name: &str, tier: &str, roles: &str) -> Node {
        self.node_signed(id, name, tier, roles, &[])
    }

    /// A node whose certificate the CA signs with these extra `sign` options.
    pub fn node_signed(
        &self,
        id: &str,
        name: &str,
        tier: &str,
        roles: &str,
        sign: &[&str],
    ) -> Node {
        self.node_at(id, name, tier, roles, sign, &self.hub_addr())
    }

    /// A node enrolled with the hub at `hub` (another hub of a cluster).
    pub fn node_at(
        &self,
        id: &str,
        name: &str,
        tier: &str,
        roles: &str,
        sign: &[&str],
        hub: &str,
    ) -> Node {
        let home = self.dir.path().join(format!("node-{id}"));
        let node = Node { home: home.clone() };
        let req = self.dir.path().join(format!("{id}.csr"));
        node.ok(&[
            "init",
            "--node-id",
            id,
            "--name",
            name,
            "--org",
            &format!("{name}秘书处"),
            "--tier",
            tier,
            "--roles",
            roles,
            "--request-out",
            s(&req),
        ]);
        let crt = self.dir.path().join(format!("{id}.crt"));
        let ca = self.ca_dir();
        let mut args = vec![
            "sign",
            "--dir",
            s(&ca),
            "--request",
            s(&req),
            "--out",
            s(&crt),
        ];
        args.extend_from_slice(sign);
        ca_ok(&args);
        node.ok(&[
            "enroll",
            "--cert",
            s(&crt),
            "--ca",
            s(&self.ca_dir().join("ca.crt")),
            "--hub",
            hub,
            "--server-name",
            "localhost",
        ]);
        node
    }

    pub fn revoke(&self, id: &str) {
        ca_ok(&["revoke", "--dir", s(&self.ca_dir()), "--node", id]);
        let crl = self.crl.as_ref().expect("net made with_crl");
        ca_ok(&["crl", "--dir", s(&self.ca_dir()), "--out", s(crl)]);
    }

    /// Every byte the hub wrote: its data directory and its logs.
    pub fn hub_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(self.hub_data()).expect("hub data") {
            all.extend(std::fs::read(entry.expect("entry").path()).unwrap_or_default());
        }
        for i in 1..=self.hub_starts {
            all.extend(
                std::fs::read(self.dir.path().join(format!("hub-{i}.log"))).unwrap_or_default(),
            );
        }
        all
    }
}

/// The hub's server certificate from the CA in `ca`, written to `out`.
pub fn issue_hub_cert(ca: &Path, out: &Path) {
    ca_ok(&[
        "hub",
        "--dir",
        s(ca),
        "--host",
        "localhost",
        "--host",
        "127.0.0.1",
        "--out",
        s(out),
    ]);
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The passphrase of the tests' CA key.
pub const CA_PASSPHRASE: &str = "联席测试 CA 口令";

/// `lianxi-ca ARGS --json` with the CA's passphrase in the environment.
pub fn ca_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(bin("lianxi-ca"));
    c.args(args)
        .arg("--json")
        .env("LIANXI_CA_PASSPHRASE", CA_PASSPHRASE);
    c
}

pub fn ca_ok(args: &[&str]) -> Value {
    let out = run(&mut ca_cmd(args));
    assert!(
        out.status.success(),
        "lianxi-ca {args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

pub struct Node {
    pub home: PathBuf,
}

impl Node {
    /// Run `lianxi --json ARGS`; returns (success, parsed output).
    pub fn run(&self, args: &[&str]) -> (bool, Value) {
        let out = run(Command::new(bin("lianxi"))
            .arg("--home")
            .arg(&self.home)
            .arg("--json")
            .args(args));
        let text = String::from_utf8_lossy(&out.stdout);
        let v = text
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or(Value::Null);
        (out.status.success(), v)
    }

    /// Run `lianxi ARGS` for a person (no `--json`); returns stdout, which
    /// must succeed.
    pub fn text(&self, args: &[&str]) -> String {
        let out = run(Command::new(bin("lianxi"))
            .arg("--home")
            .arg(&self.home)
            .args(args));
        assert!(
            out.status.success(),
            "lianxi {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run `lianxi ARGS` for a person, expecting failure; returns stderr.
    pub fn err_text(&self, args: &[&str]) -> String {
        let out = run(Command::new(bin("lianxi"))
            .arg("--home")
            .arg(&self.home)
            .args(args));
        assert!(!out.status.success(), "lianxi {args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn ok(&self, args: &[&str]) -> Value {
        let (ok, v) = self.run(args);
        assert!(ok, "lianxi {args:?} failed: {v}");
        v
    }

    /// Run and expect failure with this error code.
    pub fn fails(&self, args: &[&str]) -> String {
        let (ok, v) = self.run(args);
        assert!(!ok, "lianxi {args:?} should fail: {v}");
        v["error"]["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn send(&self, to: &str, title: &str, body: &str) -> Value {
        self.ok(&[
            "send", "bulletin", "--to", to, "--title", title, "--body", body,
        ])
    }

    pub fn titles(&self) -> Vec<String> {
        let v = self.ok(&["list", "--limit", "100000"]);
        v["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["title"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// Wait until `f` holds (for asynchronous effects such as a CRL reload).
pub fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for: {what}");
}

// ---- raw QUIC clients, for what the real client would never send ----------

use std::sync::Arc;

use lianxi_node::home::Home;
use lianxi_node::identity::Identity;

pub fn raw_client(
    net: &Net,
    alpn: &[u8],
    with_cert: bool,
    home: &std::path::Path,
) -> quinn::Endpoint {
    use rustls_pki_types::pem::PemObject;
    let ca = rustls_pki_types::CertificateDer::from_pem_file(net.ca_dir().join("ca.crt")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots);
    let mut cfg = if with_cert {
        let cert = rustls_pki_types::CertificateDer::from_pem_file(home.join("node.crt")).unwrap();
        let key = Identity::load(&Home::new(home)).unwrap().tls_key().unwrap();
        builder.with_client_auth_cert(vec![cert], key).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    cfg.alpn_protocols = vec![alpn.to_vec()];
    let mut ep = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    ep.set_default_client_config(quinn::ClientConfig::new(Arc::new(
        quinn::crypto::rustls::QuicClientConfig::try_from(cfg).unwrap(),
    )));
    ep
}

/// Try a Hello over a raw connection; Ok(()) only if the hub answers Welcome.
pub async fn hello(ep: &quinn::Endpoint, addr: &str) -> Result<(), String> {
    let conn = ep
        .connect(addr.parse().unwrap(), "localhost")
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())?;
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
    let hello = lianxi_shared::wire::ClientMsg::Hello {
        protocol: 1,
        agent: "raw".into(),
    };
    send.write_all(&hello.to_frame())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), recv.read(&mut buf))
        .await
        .map_err(|_| "timeout".to_string())?
        .map_err(|e| e.to_string())?
        .ok_or("closed")?;
    let mut d = lianxi_shared::frame::FrameDecoder::new(1 << 20);
    d.push(&buf[..n]);
    match d
        .next_frame()
        .ok()
        .flatten()
        .map(|f| lianxi_shared::wire::HubMsg::decode(&f))
    {
        Some(Ok(lianxi_shared::wire::HubMsg::Welcome { .. })) => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

/// A raw session as `home`'s node: connected, `hello` said and `welcome` read.
pub async fn raw_session(
    ep: &quinn::Endpoint,
    addr: &str,
) -> (quinn::Connection, quinn::SendStream, quinn::RecvStream) {
    let conn = ep
        .connect(addr.parse().unwrap(), "localhost")
        .unwrap()
        .await
        .unwrap();
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    let hello = lianxi_shared::wire::ClientMsg::Hello {
        protocol: 1,
        agent: "raw".into(),
    };
    send.write_all(&hello.to_frame()).await.unwrap();
    let mut d = lianxi_shared::frame::FrameDecoder::new(1 << 24);
    loop {
        let chunk = recv
            .read_chunk(1 << 16, true)
            .await
            .unwrap()
            .expect("welcome");
        d.push(&chunk.bytes);
        if let Some(f) = d.next_frame().unwrap() {
            assert!(matches!(
                lianxi_shared::wire::HubMsg::decode(&f),
                Ok(lianxi_shared::wire::HubMsg::Welcome { .. })
            ));
            break;
        }
    }
    (conn, send, recv)
}

/// Read frames until the hub's `error` message; its code (or how the stream ended).
pub async fn hub_error(recv: &mut quinn::RecvStream) -> String {
    let mut d = lianxi_shared::frame::FrameDecoder::new(1 << 24);
    loop {
        match tokio::time::timeout(
            std::time::Duration::from_secs(15),
            recv.read_chunk(1 << 16, true),
        )
        .await
        {
            Err(_) => return "timeout".into(),
            Ok(Err(e)) => return format!("closed: {e}"),
            Ok(Ok(None)) => return "finished".into(),
            Ok(Ok(Some(c))) => d.push(&c.bytes),
        }
        while let Ok(Some(f)) = d.next_frame() {
            if let Ok(lianxi_shared::wire::HubMsg::Error { error }) =
                lianxi_shared::wire::HubMsg::decode(&f)
            {
                return error.code.as_str().to_owned();
            }
        }
    }
}

/// Queue `n` bulletins of about `size` bytes from `node` to `to`.
pub fn queue_many(
    node: &lianxi_node::node::Node,
    rt: &tokio::runtime::Runtime,
    n: usize,
    to: &str,
    size: usize,
) {
    rt.block_on(async {
        for i in 0..n {
            let b = lianxi_shared::Bulletin {
                title: format!("批量 {i}"),
                body: "正".repeat(size / 3),
                ..Default::default()
            };
            node.queue(
                to.parse::<lianxi_shared::Audience>().unwrap(),
                lianxi_shared::Payload::Bulletin(b),
                None,
            )
            .await
            .unwrap();
        }
    });
}

/// Connect once and send what is in `node`'s outbox.
pub fn flush(
    node: &lianxi_node::node::Node,
    rt: &tokio::runtime::Runtime,
) -> lianxi_node::node::FlushReport {
    rt.block_on(async {
        let (s, _ev) = node.connect(Duration::from_secs(5)).await.unwrap();
        node.refresh_directory(&s).await.unwrap();
        let r = node.flush_outbox(&s).await.unwrap();
        s.close().await;
        r
    })
}
