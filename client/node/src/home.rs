//! A node's home directory and its configuration file.

use std::path::{Path, PathBuf};

use lianxi_shared::{ErrorCode, NodeId, ProtoError, Role, Tier};
use serde::{Deserialize, Serialize};

use crate::{Result, io_err};

/// `node.toml`: who this node is and where its hub is.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NodeConfig {
    pub node_id: NodeId,
    pub name: String,
    pub org: String,
    pub tier: Tier,
    pub roles: Vec<Role>,
    /// `host:port` of the hub, or of several hubs sharing one database
    /// (`hub = ["a:7443", "b:7443"]`), set by `enroll --hub` (repeatable).
    #[serde(default, skip_serializing_if = "HubList::is_empty")]
    pub hub: HubList,
    /// TLS server name of the hub (defaults to the host part of `hub`).
    #[serde(default)]
    pub server_name: Option<String>,
    /// UI language: `zh` (default) or `en`.
    #[serde(default)]
    pub lang: Option<String>,
    /// Times are shown and typed in this IANA zone (`tz` also works; default
    /// the system's zone, else `Asia/Shanghai`).
    #[serde(default, alias = "tz", skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Largest attachment this node sends, bytes (default 10 MiB).
    #[serde(default)]
    pub max_attachment: Option<u64>,
    /// The organisation's code in case numbers (`2026-BJ-0007`); default: the node id in capitals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_prefix: Option<String>,
}

/// The hubs a node may use, in order of preference: one address in
/// node.toml is a string, several are a list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HubList(pub Vec<String>);

impl HubList {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn first(&self) -> Option<&str> {
        self.0.first().map(String::as_str)
    }
}

impl Serialize for HubList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for HubList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(a) => HubList(vec![a]),
            OneOrMany::Many(v) => HubList(v),
        })
    }
}

/// The files of a node's home.
#[derive(Clone, Debug)]
pub struct Home {
    pub dir: PathBuf,
    /// Where the passphrase comes from if the identity is protected.
    pub unlock: crate::identity::Unlock,
}

impl Home {
    /// `--home`, else `LIANXI_HOME`, else the platform data directory.
    pub fn resolve(flag: Option<PathBuf>) -> Result<Home> {
        if let Some(d) = flag {
            return Ok(Home::new(d));
        }
        if let Some(d) = std::env::var_os("LIANXI_HOME").filter(|v| !v.is_empty()) {
            return Ok(Home::new(d));
        }
        directories::ProjectDirs::from("org", "lianxi", "lianxi")
            .map(|p| Home::new(p.data_dir()))
            .ok_or_else(|| {
                ProtoError::new(
                    ErrorCode::Io,
                    "no home directory: use --home or LIANXI_HOME",
                )
            })
    }

    pub fn new(dir: impl Into<PathBuf>) -> Home {
        Home {
            dir: dir.into(),
            unlock: Default::default(),
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("node.toml")
    }
    pub fn signing_key_path(&self) -> PathBuf {
        self.dir.join("identity").join("node.key")
    }
    pub fn age_identity_path(&self) -> PathBuf {
        self.dir.join("identity").join("age.key")
    }
    /// The node's earlier age identities, kept after a key rotation.
    pub fn retired_keys_path(&self) -> PathBuf {
        self.dir.join("identity").join("retired.key")
    }
    /// The next age identity, between `renew --new-keys` and installing its certificate.
    pub fn next_age_path(&self) -> PathBuf {
        self.dir.join("identity").join("age.key.next")
    }
    pub fn request_path(&self) -> PathBuf {
        self.dir.join("request.csr")
    }
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join("node.crt")
    }
    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }
    pub fn archive_path(&self) -> PathBuf {
        self.dir.join("archive.db")
    }
    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }

    pub fn load_config(&self) -> Result<NodeConfig> {
        lianxi_certs::files::check_private_dir(&self.dir)?;
        let p = self.config_path();
        let text = std::fs::read_to_string(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ProtoError::new(
                    ErrorCode::NotEnrolled,
                    format!("no node in {}: run `lianxi init` first", self.dir.display()),
                )
            } else {
                io_err(p.display(), e)
            }
        })?;
        toml::from_str(&text)
            .map_err(|e| ProtoError::new(ErrorCode::Io, format!("{}: {e}", p.display())))
    }

    pub fn save_config(&self, cfg: &NodeConfig) -> Result<()> {
        let text = toml::to_string_pretty(cfg)
            .map_err(|e| ProtoError::new(ErrorCode::Internal, e.to_string()))?;
        lianxi_certs::files::write_atomic(&self.config_path(), text.as_bytes(), false)
    }

    pub fn exists(path: &Path) -> bool {
        path.exists()
    }
}
