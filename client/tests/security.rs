//! Security properties against the real hub binary: the hub is blind, only
//! certificates from the federation CA get in, revocation, key files, and
//! exported envelopes that the standard `age` tool can check.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Net, bin, ca_ok, eventually, s};

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn the_hub_never_holds_plaintext_in_its_data_or_logs() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let title = "MARKER-TITLE-7f3a 机密评估结果";
    let body = "MARKER-BODY-91c2 企业技术秘密 财务数据 ".repeat(50);
    a.send("all", title, &body);
    // Before B fetches (everything is queued on the hub) and after.
    for phase in ["queued", "delivered"] {
        let bytes = net.hub_bytes();
        assert!(!bytes.is_empty());
        for marker in [
            "MARKER-TITLE-7f3a",
            "MARKER-BODY-91c2",
            "机密评估结果",
            "企业技术秘密",
        ] {
            assert!(
                !contains(&bytes, marker),
                "{marker} found in the hub's files ({phase})"
            );
        }
        if phase == "queued" {
            b.ok(&["sync"]);
        }
    }
    assert_eq!(b.titles(), [title]);
}

#[test]
fn certificates_from_another_ca_revoked_or_missing_are_refused() {
    let mut net = Net::new().with_crl();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    assert_eq!(a.ok(&["directory"])["nodes"].as_array().unwrap().len(), 2);

    // A node whose certificate comes from another CA (it trusts our hub's CA).
    let other = net.dir.path().join("other-ca");
    ca_ok(&["init", "--dir", s(&other), "--name", "冒充 CA"]);
    let evil = common::Node {
        home: net.dir.path().join("node-evil"),
    };
    let req = net.dir.path().join("evil.csr");
    evil.ok(&[
        "init",
        "--node-id",
        "evil",
        "--name",
        "冒充协会",
        "--org",
        "x",
        "--tier",
        "provincial",
        "--roles",
        "secretary",
        "--request-out",
        s(&req),
    ]);
    let crt = net.dir.path().join("evil.crt");
    ca_ok(&[
        "sign",
        "--dir",
        s(&other),
        "--request",
        s(&req),
        "--out",
        s(&crt),
    ]);
    // `enroll` itself refuses a certificate that does not chain to the given CA.
    let code = evil.fails(&[
        "enroll",
        "--cert",
        s(&crt),
        "--ca",
        s(&net.ca_dir().join("ca.crt")),
        "--hub",
        &net.hub_addr(),
    ]);
    assert_eq!(code, "untrusted_certificate");
    // Forced in by hand, the hub refuses it at the handshake.
    std::fs::copy(&crt, evil.home.join("node.crt")).unwrap();
    std::fs::copy(net.ca_dir().join("ca.crt"), evil.home.join("ca.crt")).unwrap();
    let cfg = std::fs::read_to_string(evil.home.join("node.toml")).unwrap();
    std::fs::write(
        evil.home.join("node.toml"),
        format!(
            "{cfg}hub = \"{}\"\nserver_name = \"localhost\"\n",
            net.hub_addr()
        ),
    )
    .unwrap();
    assert!(
        !evil.run(&["sync", "--timeout", "10"]).0,
        "a foreign certificate must not connect"
    );
    assert_eq!(
        a.ok(&["directory"])["nodes"].as_array().unwrap().len(),
        2,
        "the impostor never joins the directory"
    );

    // Revocation: the hub reloads the CRL and refuses the node; others stop encrypting to it.
    net.revoke("gd");
    eventually("revoked node refused", Duration::from_secs(10), || {
        !b.run(&["sync", "--timeout", "5"]).0
    });
    let dir = a.ok(&["directory"]);
    let ids: Vec<&str> = dir["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["nat"]);
    assert_eq!(
        a.fails(&[
            "send", "bulletin", "--to", "gd", "--title", "x", "--body", "y"
        ]),
        "unknown_recipient"
    );
}

#[test]
fn a_hub_with_a_certificate_from_another_ca_is_refused_by_clients() {
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    // Replace the hub's certificate with one from an attacker's CA and restart it.
    net.kill_hub();
    let other = net.dir.path().join("attacker-ca");
    ca_ok(&["init", "--dir", s(&other), "--name", "attacker"]);
    common::issue_hub_cert(&other, &net.dir.path().join("hub"));
    net.start_hub();
    assert_eq!(
        a.fails(&["sync", "--timeout", "10"]),
        "untrusted_certificate"
    );
    let q = a.send("all", "不应发出", "x");
    assert_eq!(
        q["status"], "queued",
        "nothing is handed to an untrusted hub: {q}"
    );
}

#[test]
fn key_files_are_private_and_exported_envelopes_check_with_age() {
    use std::os::unix::fs::PermissionsExt;
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    for f in ["identity/node.key", "identity/age.key"] {
        let mode = std::fs::metadata(b.home.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let who = b.ok(&["whoami"]);
    let idfile = who["age_identity_file"].as_str().unwrap().to_owned();
    assert!(
        std::fs::read_to_string(&idfile)
            .unwrap()
            .contains(lianxi_shared::AGE_SECRET_PREFIX)
    );
    // A key file others can read is refused.
    let key = b.home.join("identity/node.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(b.fails(&["sync"]), "key_file");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    let id = a.send("all", "导出测试", "证据材料 evidence")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    b.ok(&["sync"]);
    let out = net.dir.path().join("export");
    b.ok(&["export", "envelope", &id, "--out", s(&out)]);
    for f in [
        "header.cbor",
        "signature.bin",
        "body.age",
        "wrap.age",
        "sender.crt",
        "envelope.json",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let age = Command::new("age").arg("--version").output();
    if age.is_err() {
        assert!(std::env::var("CI").is_err(), "CI must install the age tool");
        eprintln!("SKIP: the age tool is not installed");
        return;
    }
    let key = out.join("message.key");
    let st = Command::new("age")
        .args(["-d", "-i", &idfile, "-o", s(&key), s(&out.join("wrap.age"))])
        .status()
        .unwrap();
    assert!(
        st.success(),
        "age decrypts the wrap with the node's identity file"
    );
    let payload = Command::new("age")
        .args(["-d", "-i", s(&key), s(&out.join("body.age"))])
        .output()
        .unwrap();
    assert!(payload.status.success());
    let text = String::from_utf8_lossy(&payload.stdout);
    assert!(
        text.contains("证据材料 evidence") && text.contains("导出测试"),
        "payload: {text}"
    );
    let _ = bin("lianxi");
}

/// `lianxi --json ARGS` with extra environment; (success, error code or "").
fn run_with_env(node: &common::Node, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = common::run(
        Command::new(bin("lianxi"))
            .arg("--home")
            .arg(&node.home)
            .arg("--json")
            .args(args)
            .env_remove("LIANXI_PASSPHRASE")
            .env_remove("LIANXI_PASSPHRASE_FILE")
            .envs(env.iter().copied()),
    );
    let v: serde_json::Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    let code = v["error"]["code"].as_str().unwrap_or_default().to_owned();
    (out.status.success(), code)
}

#[test]
fn a_passphrase_protects_the_identity_with_standard_age_encryption() {
    use age::secrecy::SecretString;
    use std::os::unix::fs::PermissionsExt;
    let mut net = Net::new();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    let b = net.node("gd", "广东省中小企业协会", "provincial", "secretary");
    let pass = "长江 黄河 2026!";
    let (ok, code) = run_with_env(&b, &["key", "protect"], &[]);
    assert!(
        !ok && code == "passphrase_required",
        "no terminal, no new passphrase: {code}"
    );
    let (ok, code) = run_with_env(&b, &["key", "protect"], &[("LIANXI_NEW_PASSPHRASE", pass)]);
    assert!(ok, "{code}");

    let age_key = b.home.join("identity/age.key");
    let node_key = b.home.join("identity/node.key");
    for f in [&age_key, &node_key] {
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            text.as_bytes()
                .starts_with(lianxi_certs::passphrase::ARMOR_BEGIN),
            "{text}"
        );
        assert!(!text.contains(lianxi_shared::AGE_SECRET_PREFIX));
        assert!(!text.contains("PRIVATE KEY"));
    }
    // Standard format: the passphrase (scrypt) opens age.key…
    let wrong = age::scrypt::Identity::new(SecretString::from("wrong".to_owned()));
    assert!(age::decrypt(&wrong, &std::fs::read(&age_key).unwrap()).is_err());
    let id = age::scrypt::Identity::new(SecretString::from(pass.to_owned()));
    let plain_id = age::decrypt(&id, &std::fs::read(&age_key).unwrap()).unwrap();
    assert!(String::from_utf8_lossy(&plain_id).contains(lianxi_shared::AGE_SECRET_PREFIX));
    // …and the age tool opens node.key with that identity.
    if Command::new("age").arg("--version").output().is_ok() {
        let idfile = net.dir.path().join("plain-age.key");
        std::fs::write(&idfile, &plain_id).unwrap();
        let out = Command::new("age")
            .args(["-d", "-i", s(&idfile), s(&node_key)])
            .output()
            .unwrap();
        assert!(out.status.success());
        // The PEM label, spelled in two parts so secret scanners see no key here.
        let pem_label = format!("BEGIN {}", "PRIVATE KEY");
        assert!(String::from_utf8_lossy(&out.stdout).contains(&pem_label));
    } else {
        assert!(std::env::var("CI").is_err(), "CI must install the age tool");
    }

    // Without the passphrase nothing opens; a wrong one is named as such.
    let (ok, code) = run_with_env(&b, &["sync"], &[]);
    assert!(!ok && code == "passphrase_required", "{code}");
    let (ok, code) = run_with_env(&b, &["sync"], &[("LIANXI_PASSPHRASE", "错误的口令")]);
    assert!(!ok && code == "bad_passphrase", "{code}");
    // From the environment, or a file, it works.
    a.send("gd", "口令测试", "正文");
    let (ok, code) = run_with_env(&b, &["sync"], &[("LIANXI_PASSPHRASE", pass)]);
    assert!(ok, "{code}");
    let file = net.dir.path().join("pass.txt");
    std::fs::write(&file, format!("{pass}\n")).unwrap();
    let (ok, code) = run_with_env(&b, &["--passphrase-file", s(&file), "list"], &[]);
    assert!(ok, "{code}");
    let (ok, code) = run_with_env(&b, &["list"], &[("LIANXI_PASSPHRASE_FILE", s(&file))]);
    assert!(ok, "{code}");
    let (ok, _) = run_with_env(&b, &["key", "status"], &[]);
    assert!(ok, "status needs no passphrase");

    // Unprotect: plain 0600 files again, no passphrase needed.
    let (ok, code) = run_with_env(&b, &["key", "unprotect"], &[("LIANXI_PASSPHRASE", pass)]);
    assert!(ok, "{code}");
    assert!(
        std::fs::read_to_string(&age_key)
            .unwrap()
            .contains(lianxi_shared::AGE_SECRET_PREFIX)
    );
    let mode = std::fs::metadata(&node_key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(b.titles().contains(&"口令测试".to_owned()));
}

/// Row 10: a node checks the hub's own certificate against the newest CRL it
/// has seen, says when that CRL is due, and a hub does not start without a
/// CRL unless told `--no-crl`.
#[test]
fn a_revoked_hub_certificate_is_refused_and_a_hub_needs_a_crl() {
    let mut net = Net::new().with_crl();
    net.start_hub();
    let a = net.node("nat", "全国中小企业协会", "national", "secretary");
    a.ok(&["directory"]);
    let who = a.ok(&["whoami"]);
    assert_eq!(who["crl_stale"], false);
    assert!(who["crl_next_update"].is_string(), "{who}");
    let hub_status = || -> serde_json::Value {
        let out = common::run(std::process::Command::new(common::bin("lianxi-hub")).args([
            "status",
            "--data",
            s(&net.hub_data()),
            "--json",
        ]));
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let st = hub_status();
    assert_eq!(st["crl_stale"], false, "{st}");
    assert!(st["crl"]["next_update"].is_i64(), "{st}");
    // The CA revokes the hub's certificate and publishes a new CRL, which the
    // hub (reloading its file) serves in the directory like any other.
    let issued = ca_ok(&["list", "--dir", s(&net.ca_dir())]);
    let serial = issued["issued"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "hub")
        .unwrap()["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    ca_ok(&["revoke", "--dir", s(&net.ca_dir()), "--serial", &serial]);
    let crl = net.crl.clone().unwrap();
    ca_ok(&["crl", "--dir", s(&net.ca_dir()), "--out", s(&crl)]);
    let mut code = String::new();
    common::eventually(
        "the node refuses the revoked hub",
        std::time::Duration::from_secs(15),
        || {
            a.run(&["directory"]); // fetches the new CRL while the hub is still trusted
            let (ok, v) = a.run(&["sync"]);
            code = v["error"]["code"].as_str().unwrap_or_default().to_owned();
            !ok && code == "revoked"
        },
    );
    assert_eq!(a.fails(&["sync"]), "revoked");
    // A CRL past its next update: `lianxi-hub status` says so.
    ca_ok(&[
        "crl",
        "--dir",
        s(&net.ca_dir()),
        "--out",
        s(&crl),
        "--days",
        "0",
    ]);
    common::eventually(
        "hub status reports the stale CRL",
        std::time::Duration::from_secs(15),
        || hub_status()["crl_stale"] == true,
    );
    let st = hub_status();
    assert_eq!(st["crl"]["revoked"], 1, "{st}");
    assert!(
        st["warnings"][0]
            .as_str()
            .unwrap()
            .contains("lianxi-ca crl")
    );
    // A hub without a CRL, not told --no-crl, refuses to start.
    let hubdir = net.dir.path().join("hub");
    let out = common::run(std::process::Command::new(common::bin("lianxi-hub")).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        s(&net.dir.path().join("other-hub-data")),
        "--ca",
        s(&net.ca_dir().join("ca.crt")),
        "--cert",
        s(&hubdir.join("hub.crt")),
        "--key",
        s(&hubdir.join("hub.key")),
    ]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-crl"));
}

/// Row 12: the CA operator sees what it would sign, sets the tier and roles,
/// and a second live certificate for a node id needs --replace, which
/// revokes the first.
#[test]
fn the_ca_operator_decides_tier_and_roles_and_replaces_explicitly() {
    let net = Net::new();
    let ca = s(&net.ca_dir()).to_owned();
    let req = net.dir.path().join("gd.csr");
    let gd = common::Node {
        home: net.dir.path().join("node-gd"),
    };
    gd.ok(&[
        "init",
        "--node-id",
        "gd",
        "--name",
        "广东省中小企业协会",
        "--org",
        "秘书处",
        "--tier",
        "national",
        "--roles",
        "secretary,chair",
        "--request-out",
        s(&req),
    ]);
    let crt = net.dir.path().join("gd.crt");
    let sign = |extra: &[&str]| {
        let mut args = vec!["sign", "--dir", &ca, "--request", s(&req), "--out", s(&crt)];
        args.extend_from_slice(extra);
        common::run(&mut common::ca_cmd(&args))
    };
    let json = |o: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&o.stdout).unwrap()
    };
    // A preview signs nothing and says what was asked.
    let p = json(&sign(&["--dry-run", "--tier", "provincial"]));
    assert_eq!(p["signed"], false);
    assert_eq!(p["preview"]["tier"], "provincial");
    assert_eq!(p["preview"]["requested_tier"], "national");
    assert!(!crt.exists());
    // The operator's tier and roles are what the certificate says.
    let first = sign(&["--tier", "provincial", "--roles", "secretary"]);
    assert!(first.status.success());
    assert_eq!(json(&first)["tier"], "provincial");
    assert_eq!(json(&first)["roles"], serde_json::json!(["secretary"]));
    // A second live certificate for gd is refused…
    let again = sign(&[]);
    assert!(!again.status.success());
    assert_eq!(json(&again)["error"]["code"], "already_issued");
    // …unless it replaces (and revokes) the first.
    let replaced = sign(&["--replace"]);
    assert!(replaced.status.success());
    assert_eq!(json(&replaced)["replaced"].as_array().unwrap().len(), 1);
    let issued = ca_ok(&["list", "--dir", &ca])["issued"].clone();
    let gd_certs: Vec<_> = issued
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["node_id"] == "gd")
        .collect();
    assert_eq!(gd_certs.len(), 2);
    assert!(gd_certs[0]["revoked_at"].is_i64());
    assert!(gd_certs[1]["revoked_at"].is_null());
    // The CA's policy file decides for the nodes it names; the preview says so.
    std::fs::write(
        net.ca_dir().join("policy.toml"),
        "[nodes.gd]\ntier = \"provincial\"\nroles = [\"legal-aid\"]\n",
    )
    .unwrap();
    let p = json(&sign(&["--dry-run"]))["preview"].clone();
    assert_eq!(p["tier"], "provincial");
    assert_eq!(p["roles"], "legal-aid");
    assert_eq!(p["decided_by"], "policy");
    // A node the policy does not name asks for a tier it does not list.
    std::fs::write(
        net.ca_dir().join("policy.toml"),
        "[tiers]\nprovincial = [\"secretary\"]\n",
    )
    .unwrap();
    let refused = sign(&["--replace"]);
    assert_eq!(json(&refused)["error"]["code"], "policy_refused");
    // ca.key is encrypted: without its passphrase, or with a wrong one, nothing opens.
    let key = std::fs::read_to_string(net.ca_dir().join("ca.key")).unwrap();
    assert!(
        key.as_bytes()
            .starts_with(lianxi_certs::passphrase::ARMOR_BEGIN),
        "{key}"
    );
    let mut c = common::ca_cmd(&["list", "--dir", &ca]);
    c.env_remove("LIANXI_CA_PASSPHRASE");
    assert_eq!(
        json(&common::run(&mut c))["error"]["code"],
        "passphrase_required"
    );
    c.env("LIANXI_CA_PASSPHRASE", "错误口令");
    assert_eq!(
        json(&common::run(&mut c))["error"]["code"],
        "bad_passphrase"
    );
}
