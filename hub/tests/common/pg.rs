//! A throwaway PostgreSQL server for tests: `initdb` in a temp directory,
//! started with `pg_ctl` on a Unix socket in that directory only (no TCP),
//! stopped on drop. The distribution's server binaries are used
//! (`/usr/lib/postgresql/*/bin`, else `PATH`); as root, the server runs as the
//! `postgres` user, since PostgreSQL refuses to run as root.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Pg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Run the server's tools as this user (when the tests run as root).
    user: Option<String>,
}

/// The newest installed server's bin directory.
fn server_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    if let Some((_, b)) = found.pop() {
        return Some(b);
    }
    let out = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    p.parent()
        .filter(|_| out.status.success())
        .map(Path::to_owned)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Pg {
    /// Start one, or `None` (SKIPPED) where PostgreSQL is not installed; in CI
    /// (`CI` set) that is a failure: `.ci/run` installs it.
    pub fn start() -> Option<Pg> {
        let Some(bin) = server_bin() else {
            assert!(
                std::env::var("CI").is_err(),
                "CI must install PostgreSQL (.ci/run)"
            );
            eprintln!("SKIPPED: PostgreSQL is not installed");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("lianxi-pg-")
            .tempdir()
            .expect("temp dir");
        let user = is_root().then(|| "postgres".to_owned());
        if let Some(u) = &user {
            let st = Command::new("chown")
                .args(["-R", &format!("{u}:"), &dir.path().display().to_string()])
                .status()
                .expect("chown");
            assert!(st.success(), "chown the PostgreSQL directory to {u}");
        }
        let pg = Pg { dir, bin, user };
        let out = pg.tool(
            "initdb",
            &[
                "-D",
                &pg.data().display().to_string(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.ctl_start();
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The directory of the server's socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// A connection string for the `postgres` database.
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// A connection string for database `db`.
    pub fn url_of(&self, db: &str) -> String {
        format!(
            "postgresql://postgres@/{db}?host={}&port=5432",
            self.socket_dir().display()
        )
    }

    fn tool(&self, name: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(name);
        let mut cmd = match &self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args).current_dir(self.dir.path());
        cmd.output()
            .unwrap_or_else(|e| panic!("{}: {e}", exe.display()))
    }

    /// Start the server (again, after [`Pg::stop_immediate`]).
    pub fn ctl_start(&self) {
        let opts = format!(
            "-c listen_addresses='' -k {} -p 5432 -c fsync=on -c synchronous_commit=on",
            self.socket_dir().display()
        );
        let out = self.tool(
            "pg_ctl",
            &[
                "-D",
                &self.data().display().to_string(),
                "-l",
                &self.dir.path().join("log").display().to_string(),
                "-o",
                &opts,
                "-w",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        );
    }

    /// Stop at once, as a crash would (`-m immediate`), and start again.
    pub fn restart_immediate(&self) {
        self.stop_immediate();
        self.ctl_start();
    }

    pub fn stop_immediate(&self) {
        let _ = self.tool(
            "pg_ctl",
            &[
                "-D",
                &self.data().display().to_string(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        self.stop_immediate();
    }
}
