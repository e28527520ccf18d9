//! Peer brokers in the same run, each started from its own package on
//! 127.0.0.1 in a temp directory and stopped by its pid: the durable ones
//! (NATS JetStream, RabbitMQ quorum queues) promise what the hub promises
//! (an acknowledgement only once the message is on disk); Mosquitto is
//! informative only.

pub mod mosquitto;
pub mod nats;
pub mod rabbitmq;

use anyhow::bail;

/// Outstanding publishes per publisher (the relay's senders keep 256 too).
pub const WINDOW: usize = 256;
/// Payload size, as the relay's envelopes.
pub const BODY: usize = 1024;

/// A free TCP port on 127.0.0.1 for a peer to listen on.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A peer's server process in its own process group (a start script may
/// run the server as its child), stopped with the whole group, by the
/// group's pid, when dropped.
pub struct Server(std::process::Child);

impl Server {
    /// Write `conf` to `data/file` (making `data`), then start `bin -c`
    /// with it, its output discarded.
    pub fn start(
        bin: &std::path::Path,
        data: &std::path::Path,
        file: &str,
        conf: String,
    ) -> anyhow::Result<Server> {
        std::fs::create_dir_all(data)?;
        std::fs::write(data.join(file), conf)?;
        Server::spawn(
            std::process::Command::new(bin)
                .arg("-c")
                .arg(data.join(file)),
            &data.join("server.log"),
        )
    }

    /// Start `cmd` as the peer's server, its output going to `log`.
    pub fn spawn(cmd: &mut std::process::Command, log: &std::path::Path) -> anyhow::Result<Server> {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(log)?;
        Ok(Server(
            cmd.stdout(out.try_clone()?)
                .stderr(out)
                .stdin(std::process::Stdio::null())
                .process_group(0)
                .spawn()?,
        ))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Install a Debian package (as root, or with passwordless sudo); false
/// when it cannot be.
pub fn install_deb(package: &str) -> bool {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let apt = |args: &[&str]| {
        let mut c = if root {
            std::process::Command::new("apt-get")
        } else {
            let mut c = std::process::Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        };
        c.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let install = ["install", "-y", "-qq", "--no-install-recommends", package];
    if apt(&install) {
        return true;
    }
    let _ = apt(&["update", "-qq"]);
    apt(&install)
}

/// The `id`-th payload of a publisher.
pub fn payload(id: u64) -> Vec<u8> {
    let mut p = vec![0u8; BODY];
    p[..8].copy_from_slice(&id.to_be_bytes());
    for (i, b) in p[8..].iter_mut().enumerate() {
        *b = (i as u64 ^ id) as u8;
    }
    p
}

/// The message is the `want`-th of its publisher, whole.
pub fn check(p: &[u8], want: u64) -> anyhow::Result<()> {
    if p.len() != BODY || p != payload(want).as_slice() {
        bail!("message {want} arrived damaged or out of order");
    }
    Ok(())
}
