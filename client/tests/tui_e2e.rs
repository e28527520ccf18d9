//! The real `lianxi` binary in a real terminal (tmux), against the real hub:
//! type a Chinese bulletin in node A's UI and see it arrive in node B's UI; run
//! the demo and quit it.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Net, bin, s};

/// A private tmux server, killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(tag: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(std::env::var("CI").is_err(), "CI must install tmux");
            eprintln!("SKIP: tmux is not installed");
            return None;
        }
        Some(Tmux {
            socket: format!("lianxi-test-{}-{tag}", std::process::id()),
        })
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]);
        c
    }

    fn start(&self, name: &str, size: (u16, u16), command: &str) {
        let st = self
            .cmd()
            .args([
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                &size.0.to_string(),
                "-y",
                &size.1.to_string(),
                command,
            ])
            .env("LANG", "C.UTF-8")
            .status()
            .unwrap();
        assert!(st.success());
    }

    fn keys(&self, name: &str, keys: &[&str]) {
        assert!(
            self.cmd()
                .args(["send-keys", "-t", name])
                .args(keys)
                .status()
                .unwrap()
                .success()
        );
    }

    fn text(&self, name: &str, text: &str) {
        assert!(
            self.cmd()
                .args(["send-keys", "-t", name, "-l", text])
                .status()
                .unwrap()
                .success()
        );
    }

    fn screen(&self, name: &str) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn alive(&self, name: &str) -> bool {
        self.cmd()
            .args(["has-session", "-t", name])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    fn wait_for(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        f: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen(name);
            if f(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < timeout,
                "timed out waiting for {what} in {name}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn wait_exit(&self, name: &str, timeout: Duration) {
        let start = Instant::now();
        while self.alive(name) {
            assert!(
                start.elapsed() < timeout,
                "{name} did not exit:\n{}",
                self.screen(name)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

fn ui_command(home: &Path, exit_file: &Path) -> String {
    format!(
        "{} --home {}; echo $? > {}",
        bin("lianxi").display(),
        home.display(),
        exit_file.display()
    )
}

#[test]
fn a_bulletin_composed_in_one_ui_appears_in_another() {
    let Some(tmux) = Tmux::new("compose") else {
        return;
    };
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let (ea, eb) = (net.dir.path().join("a.exit"), net.dir.path().join("b.exit"));
    tmux.start("a", (100, 30), &ui_command(&a.home, &ea));
    tmux.start("b", (80, 24), &ui_command(&b.home, &eb));
    for n in ["a", "b"] {
        tmux.wait_for(n, "connected", Duration::from_secs(15), |s| {
            s.contains("已连接")
        });
    }
    tmux.keys("a", &["n"]);
    tmux.wait_for("a", "compose form", Duration::from_secs(5), |s| {
        s.contains("撰写通报")
    });
    tmux.text("a", "关于召开联席会议的通知🎉");
    tmux.keys("a", &["Tab", "Right", "Right", "Tab"]); // audience: provincial
    tmux.text("a", "各省级协会：会议定于下周三召开。");
    tmux.keys("a", &["Enter"]);
    tmux.text("a", "请回复参会人员。");
    tmux.keys("a", &["C-s"]);
    tmux.wait_for("a", "sent notice", Duration::from_secs(10), |s| {
        s.contains("已发出")
    });
    let screen = tmux.wait_for("b", "the bulletin", Duration::from_secs(15), |s| {
        s.contains("关于召开联席会议的通知")
    });
    assert!(screen.contains("通报 1 (1)"), "{screen}");
    // B opens it: the body shows, and the unread count drops.
    tmux.keys("b", &["Enter"]);
    // (The body may show before Enter, on selection: wait for the count to drop.)
    let screen = tmux.wait_for("b", "body, marked read", Duration::from_secs(10), |s| {
        s.contains("请回复参会人员") && s.contains("通报 1 ") && !s.contains("通报 1 (1)")
    });
    assert!(screen.contains("请回复参会人员"), "{screen}");
    for n in ["a", "b"] {
        tmux.keys(n, &["q"]);
        tmux.wait_exit(n, Duration::from_secs(10));
    }
    assert_eq!(std::fs::read_to_string(&ea).unwrap().trim(), "0");
    assert_eq!(std::fs::read_to_string(&eb).unwrap().trim(), "0");
    // The CLI sees the same archive, and the outbox entry was sent.
    assert_eq!(a.ok(&["outbox"])["outbox"][0]["state"], "sent");
    assert_eq!(b.titles(), ["关于召开联席会议的通知🎉"]);
}

#[test]
fn the_demo_starts_delivers_and_quits_cleanly() {
    let Some(tmux) = Tmux::new("demo") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("demo");
    let exit = dir.path().join("exit");
    let cmd = format!(
        "{} demo --dir {} --interval 0.3; echo $? > {}",
        bin("lianxi").display(),
        s(&d),
        s(&exit)
    );
    tmux.start("demo", (120, 40), &cmd);
    let re = |s: &str| {
        s.contains("已连接")
            && s.split("通报 ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n >= 3)
    };
    let screen = tmux.wait_for("demo", "simulated deliveries", Duration::from_secs(30), re);
    assert!(
        screen.contains("名录 10"),
        "the demo network has ten verified nodes:\n{screen}"
    );
    // The demo's joint conference: the rotation, session 1 convened, answers in.
    tmux.keys("demo", &["3"]);
    let screen = tmux.wait_for(
        "demo",
        "the demo conference",
        Duration::from_secs(15),
        |s| s.contains("下一任执行副主席") && s.contains("已召集") && s.contains("委派"),
    );
    assert!(screen.contains("第1次联席会议"), "{screen}");
    // Rights-defence cases for a node that is not the hotline.
    tmux.keys("demo", &["2"]);
    tmux.wait_for("demo", "the demo's cases", Duration::from_secs(15), |s| {
        s.contains("配套企业货款被拖欠逾期一年") && s.contains("光伏组件出口遭遇反倾销调查")
    });
    tmux.keys("demo", &["q"]);
    tmux.wait_exit("demo", Duration::from_secs(15));
    assert_eq!(
        std::fs::read_to_string(&exit).unwrap().trim(),
        "0",
        "exit code"
    );
    // The same folder again, as a prefecture member: its cases are there, and
    // no sample bulletin is sent a second time.
    let titles = || {
        let out = std::process::Command::new(bin("lianxi"))
            .args([
                "--home",
                s(&d.join("nodes").join("hz")),
                "list",
                "--json",
                "--limit",
                "1000",
            ])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut t: Vec<String> = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["title"].as_str().unwrap_or_default().to_owned())
            .collect();
        t.sort();
        t
    };
    let cmd = format!(
        "{} demo --dir {} --as hz --interval 0.3; echo $? > {}",
        bin("lianxi").display(),
        s(&d),
        s(&exit)
    );
    tmux.start("again", (120, 40), &cmd);
    tmux.wait_for("again", "connected again", Duration::from_secs(30), |s| {
        s.contains("已连接")
    });
    tmux.keys("again", &["2"]);
    tmux.wait_for("again", "hz's cases", Duration::from_secs(15), |s| {
        s.contains("外观设计专利被仿冒")
    });
    std::thread::sleep(Duration::from_secs(3));
    tmux.keys("again", &["q"]);
    tmux.wait_exit("again", Duration::from_secs(15));
    let after = titles();
    assert!(after.len() >= 2, "{after:?}");
    let mut once = after.clone();
    once.dedup();
    assert_eq!(once, after, "a sample bulletin was sent again");
    assert!(d.join("hub-data").join("hub.db").exists());
    assert!(
        d.join("logs").read_dir().unwrap().next().is_some(),
        "logs go to a file"
    );
}

#[test]
fn the_ui_shows_the_archive_at_once_when_the_hub_is_down() {
    let Some(tmux) = Tmux::new("offline") else {
        return;
    };
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    a.send("all", "离线也能查看的通报", "存档内容");
    b.ok(&["sync"]);
    net.kill_hub();
    let exit = net.dir.path().join("b.exit");
    tmux.start("b", (80, 24), &ui_command(&b.home, &exit));
    // The archive at once, while the first connection attempt (up to its
    // 10 s timeout) is still under way…
    tmux.wait_for("b", "the archive", Duration::from_secs(8), |s| {
        s.contains("离线也能查看的通报")
    });
    // …then the reconnecting state once that attempt has failed.
    let screen = tmux.wait_for(
        "b",
        "archive and reconnecting state",
        Duration::from_secs(30),
        |s| s.contains("离线也能查看的通报") && s.contains("重连中"),
    );
    assert!(screen.contains("通报 1 (1)"), "{screen}");
    // The hub comes back: the UI reconnects by itself.
    net.start_hub();
    tmux.wait_for("b", "reconnected", Duration::from_secs(40), |s| {
        s.contains("已连接")
    });
    tmux.keys("b", &["q"]);
    tmux.wait_exit("b", Duration::from_secs(10));
    assert_eq!(std::fs::read_to_string(&exit).unwrap().trim(), "0");
}

/// Nothing typed is lost: a long Chinese notice typed in the compose form
/// survives a SIGKILL of `lianxi` one second after the last key; started
/// again, the form offers the draft whole, and it is sent exactly as typed,
/// after which the draft is gone.
#[test]
fn a_draft_survives_a_kill_and_is_sent_exactly() {
    let Some(tmux) = Tmux::new("draft") else {
        return;
    };
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let exit = net.dir.path().join("a.exit");
    let title = "关于报送二〇二六年度工作总结的通知";
    let lines = [
        "各省级协会：",
        "为做好联席会议年度工作总结，请于十二月二十日前报送本会年度工作总结，内容包括会员发展、维权服务、政策宣传三部分，并附会员统计表。🎉",
        "逾期未报的，请说明原因。联席会议秘书处",
    ];
    tmux.start("a", (100, 30), &ui_command(&a.home, &exit));
    tmux.wait_for("a", "connected", Duration::from_secs(15), |s| {
        s.contains("已连接")
    });
    tmux.keys("a", &["n"]);
    tmux.wait_for("a", "compose form", Duration::from_secs(5), |s| {
        s.contains("撰写通报")
    });
    tmux.text("a", title);
    tmux.keys("a", &["Tab", "Right", "Right", "Tab"]); // audience: provincial
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            tmux.keys("a", &["Enter"]);
        }
        tmux.text("a", l);
    }
    tmux.wait_for("a", "the last line typed", Duration::from_secs(5), |s| {
        s.contains("联席会议秘书处")
    });
    // Killed once the autosave (500 ms after the last key) has the whole
    // text on disk: under a loaded machine that can take longer than 500 ms.
    common::eventually("the whole text autosaved", Duration::from_secs(15), || {
        a.ok(&["drafts"])["drafts"].as_array().is_some_and(|d| {
            d.iter().any(|x| {
                x["title"] == title
                    && x["body"]
                        .as_str()
                        .is_some_and(|b| b.contains("联席会议秘书处"))
            })
        })
    });
    let home = a.home.display().to_string();
    let killed = Command::new("pkill")
        .args(["-KILL", "-f", &format!("lianxi --home {home}$")])
        .status()
        .unwrap();
    assert!(killed.success(), "no lianxi process to kill");
    tmux.wait_exit("a", Duration::from_secs(10));
    assert_eq!(std::fs::read_to_string(&exit).unwrap().trim(), "137");

    // Started again: the form offers the draft; Enter brings all of it back.
    tmux.start("a2", (100, 30), &ui_command(&a.home, &exit));
    tmux.wait_for("a2", "connected", Duration::from_secs(15), |s| {
        s.contains("已连接")
    });
    // The draft survived the kill (read through the CLI while the UI runs).
    let kept = a.ok(&["drafts"]);
    assert!(
        kept["drafts"]
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x["title"] == title)),
        "{kept}"
    );
    // The form offers it at once, whatever else arrives in the first moments
    // (a form opened at the start used to lose the offer to the directory
    // arriving after the drafts).
    tmux.keys("a2", &["n"]);
    tmux.wait_for("a2", "the offer", Duration::from_secs(20), |s| {
        s.contains("有未发送的草稿") && s.contains(title)
    });
    tmux.keys("a2", &["Enter"]);
    tmux.wait_for("a2", "the restored form", Duration::from_secs(15), |s| {
        !s.contains("有未发送的草稿") && s.contains("联席会议秘书处") && s.contains("省级")
    });
    tmux.keys("a2", &["C-s"]);
    tmux.wait_for("a2", "sent notice", Duration::from_secs(10), |s| {
        s.contains("已发出")
    });
    tmux.keys("a2", &["q"]);
    tmux.wait_exit("a2", Duration::from_secs(10));

    assert_eq!(a.ok(&["drafts"])["drafts"].as_array().unwrap().len(), 0);
    b.ok(&["sync"]);
    let list = b.ok(&["list"]);
    let id = list["messages"][0]["id"].as_str().unwrap().to_owned();
    let got = b.ok(&["show", &id]);
    assert_eq!(got["title"], title);
    assert_eq!(got["body"], lines.join("\n"));
    assert_eq!(b.titles().len(), 1);
}
