//! One file that brings a node back on another machine: its settings, its
//! keys (as they are on disk: a protected key stays protected), its
//! certificates and a consistent copy of the archive taken while the node may
//! be running (SQLite's `VACUUM INTO`, through the archive's one writer).
//! The whole is encrypted under a passphrase (age, scrypt: `age -d` opens it).
//!
//! Restoring refuses a home that already holds a node, writes every file
//! private (0600, folders 0700), and opens the archive once, so a backup from
//! a newer Lianxi is refused (`archive_newer`) before anything is used.

use std::collections::BTreeMap;
use std::path::Path;

use age::secrecy::SecretString;
use lianxi_certs::files::{create_private_dir, write_new_secret};
use lianxi_certs::passphrase;
use lianxi_shared::{ErrorCode, ProtoError};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::home::Home;
use crate::node::Node;
use crate::{Result, now_ms};

/// The bundle's format; a restore refuses any other.
const FORMAT: &str = "lianxi-backup-1";

/// Files of a home that a backup carries, relative to it (the archive apart).
const FILES: &[&str] = &[
    "node.toml",
    "identity/node.key",
    "identity/age.key",
    "identity/retired.key",
    "identity/age.key.next",
    "request.csr",
    "node.crt",
    "ca.crt",
];

#[derive(Serialize, Deserialize)]
struct Bundle {
    format: String,
    node_id: String,
    created_at: i64,
    files: BTreeMap<String, serde_bytes::ByteBuf>,
    #[serde(with = "serde_bytes")]
    archive: Vec<u8>,
}

/// What a backup or a restore holds.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub node_id: String,
    pub created_at: i64,
    pub files: Vec<String>,
    pub archive_bytes: usize,
}

fn corrupt(m: &str) -> ProtoError {
    ProtoError::new(ErrorCode::BadRequest, format!("not a Lianxi backup: {m}"))
}

/// Write `node`'s backup to `out`, encrypted under `pass`.
pub async fn backup(node: &Node, out: &Path, pass: SecretString) -> Result<Summary> {
    let home = node.home.clone();
    let work = tempfile::Builder::new()
        .prefix(".backup-")
        .tempdir_in(&home.dir)
        .map_err(|e| ProtoError::new(ErrorCode::Io, format!("backup: {e}")))?;
    let snapshot = work.path().join("archive.db");
    let to = snapshot.clone();
    node.archive.call(move |a| a.snapshot_into(&to)).await?;
    let archive = std::fs::read(&snapshot)
        .map_err(|e| ProtoError::new(ErrorCode::Io, format!("backup: {e}")))?;
    let mut files = BTreeMap::new();
    for f in FILES {
        if let Ok(bytes) = std::fs::read(home.dir.join(f)) {
            files.insert((*f).to_owned(), serde_bytes::ByteBuf::from(bytes));
        }
    }
    let bundle = Bundle {
        format: FORMAT.into(),
        node_id: node.me.node_id.to_string(),
        created_at: now_ms(),
        files,
        archive,
    };
    let summary = summarize(&bundle);
    let plain = Zeroizing::new(lianxi_shared::cbor::to_vec(&bundle));
    drop(bundle);
    let sealed = tokio::task::spawn_blocking(move || passphrase::encrypt(&plain, pass, None))
        .await
        .map_err(|_| ProtoError::code(ErrorCode::Internal))??;
    write_new_secret(out, sealed.as_bytes())?;
    Ok(summary)
}

fn summarize(b: &Bundle) -> Summary {
    Summary {
        node_id: b.node_id.clone(),
        created_at: b.created_at,
        files: b.files.keys().cloned().collect(),
        archive_bytes: b.archive.len(),
    }
}

/// Bring the node in `file` back into `home`, which must not hold a node.
pub fn restore(file: &Path, home: &Home, pass: SecretString) -> Result<Summary> {
    if home.config_path().exists() || home.signing_key_path().exists() {
        return Err(ProtoError::new(
            ErrorCode::AlreadyInitialized,
            format!(
                "{} already holds a node; restore into a new folder",
                home.dir.display()
            ),
        ));
    }
    let sealed = std::fs::read(file)
        .map_err(|e| ProtoError::new(ErrorCode::Io, format!("{}: {e}", file.display())))?;
    if !passphrase::is_encrypted(&sealed) {
        return Err(corrupt("not an encrypted file"));
    }
    let plain = passphrase::decrypt(&sealed, pass)?;
    let bundle: Bundle = lianxi_shared::cbor::from_slice(&plain, ErrorCode::BadRequest)?;
    if bundle.format != FORMAT {
        return Err(corrupt(&format!("format {:?}", bundle.format)));
    }
    // Only the files a backup carries, each at its own place: a crafted
    // bundle names no other path.
    if let Some(f) = bundle.files.keys().find(|f| !FILES.contains(&f.as_str())) {
        return Err(corrupt(&format!("unexpected file {f:?}")));
    }
    create_private_dir(&home.dir)?;
    create_private_dir(&home.dir.join("identity"))?;
    write_new_secret(&home.archive_path(), &bundle.archive)?;
    for (name, bytes) in &bundle.files {
        write_new_secret(&home.dir.join(name), bytes)?;
    }
    // Open it once: migrations run, a newer or foreign archive is refused.
    crate::archive::Archive::open(&home.archive_path())?;
    Ok(summarize(&bundle))
}
