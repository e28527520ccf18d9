//! The node's archive: SQLite in WAL mode. It keeps the verified plaintext and
//! the original signed envelope of every message (re-verifiable later, usable
//! as evidence), the outbox, and the verified directory.
//!
//! [`Archive`] is synchronous; async code uses it through [`ArchiveHandle`], which
//! runs every call on the archive's own thread.

mod apply;
pub mod bulletins;
pub mod cases;
pub mod conference;
pub mod drafts;
mod forwards;
mod handle;
mod messages;
mod outbox;
mod parked;
mod receipts;
pub mod schema;
mod threads;

use std::path::Path;

use lianxi_shared::{ErrorCode, NodeId, NodeInfo, ProtoError};
use rusqlite::{Connection, OptionalExtension, params};

pub use apply::{Applied, EventKind};
pub use forwards::Passable;
pub use handle::ArchiveHandle;
pub use messages::{Direction, Forwarded, Incoming, MessageRow, SearchHit};
pub use outbox::{OutboxItem, OutboxState, SealedForm};

pub(crate) fn db_err(e: rusqlite::Error) -> ProtoError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => ProtoError::new(ErrorCode::Io, "the disk is full"),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
            ProtoError::new(
                ErrorCode::ArchiveCorrupt,
                format!("the archive is damaged: {e}"),
            )
        }
        _ => ProtoError::new(ErrorCode::Io, format!("archive: {e}")),
    }
}

/// The archive holds every message in the clear, and so do its WAL and shared
/// memory files: create the database 0600 before SQLite does (SQLite gives
/// the WAL the database's mode) and tighten files an older version left open.
fn private_files(path: &Path) -> Result<(), ProtoError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(|e| crate::io_err(path.display(), e))?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let p = std::path::PathBuf::from(p);
            if let Ok(m) = std::fs::metadata(&p)
                && m.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| crate::io_err(p.display(), e))?;
            }
        }
    }
    Ok(())
}

pub struct Archive {
    pub(crate) conn: Connection,
}

/// The cached verified directory, in node id order, inside any transaction.
pub(crate) fn read_directory(conn: &Connection) -> Result<Vec<NodeInfo>, ProtoError> {
    let mut st = conn
        .prepare_cached("SELECT info FROM directory ORDER BY node_id")
        .map_err(db_err)?;
    let rows = st
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(db_err)?;
    let mut out = Vec::new();
    for r in rows {
        if let Ok(info) = serde_json::from_str::<NodeInfo>(&r.map_err(db_err)?) {
            out.push(info);
        }
    }
    Ok(out)
}

impl Archive {
    /// Open or create the archive, refusing a foreign, damaged or newer file.
    /// A consistent copy of the archive at `path` (a new file), taken while
    /// it is in use (`VACUUM INTO`: one transaction's view, compacted).
    pub fn snapshot_into(&self, path: &Path) -> Result<(), ProtoError> {
        let p = path
            .to_str()
            .ok_or_else(|| ProtoError::new(ErrorCode::Io, "backup path is not UTF-8"))?;
        self.conn.execute("VACUUM INTO ?1", [p]).map_err(db_err)?;
        Ok(())
    }

    pub fn open(path: &Path) -> Result<Archive, ProtoError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            lianxi_certs::files::create_private_dir(dir)?;
        }
        private_files(path)?;
        let mut conn = Connection::open(path).map_err(db_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db_err)?;
        schema::check(&conn, path)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| {
                ProtoError::new(
                    ErrorCode::ArchiveCorrupt,
                    format!("{}: {e}", path.display()),
                )
            })?;
        if mode != "wal" {
            return Err(ProtoError::new(
                ErrorCode::ArchiveCorrupt,
                format!("{}: cannot use WAL", path.display()),
            ));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db_err)?;
        schema::migrate(&mut conn, path)?;
        Ok(Archive { conn })
    }

    /// Replace the cached directory with a verified one.
    pub fn save_directory(&mut self, nodes: &[(NodeInfo, Vec<u8>)]) -> Result<(), ProtoError> {
        let tx = self.conn.transaction().map_err(db_err)?;
        tx.execute("DELETE FROM directory", []).map_err(db_err)?;
        {
            let mut st = tx
                .prepare("INSERT INTO directory(node_id, cert, info) VALUES (?1, ?2, ?3)")
                .map_err(db_err)?;
            for (info, cert) in nodes {
                let json = serde_json::to_string(info)
                    .map_err(|e| ProtoError::new(ErrorCode::Internal, e.to_string()))?;
                st.execute(params![info.node_id.as_str(), cert, json])
                    .map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }

    /// The cached verified directory, in node id order.
    pub fn directory(&self) -> Result<Vec<NodeInfo>, ProtoError> {
        read_directory(&self.conn)
    }

    pub fn directory_entry(&self, id: &NodeId) -> Result<Option<(NodeInfo, Vec<u8>)>, ProtoError> {
        let row: Option<(String, Vec<u8>)> = self
            .conn
            .prepare_cached("SELECT info, cert FROM directory WHERE node_id = ?1")
            .map_err(db_err)?
            .query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(db_err)?;
        Ok(row.and_then(|(info, cert)| serde_json::from_str(&info).ok().map(|i| (i, cert))))
    }

    pub fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, ProtoError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(db_err)
    }

    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), ProtoError> {
        self.conn
            .execute("INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value", params![key, value])
            .map(|_| ())
            .map_err(db_err)
    }

    /// Record an envelope that failed verification (it is acknowledged to the hub
    /// so it does not come back, but kept here for inspection).
    pub fn reject(&self, header: &[u8], error: &ProtoError, now: i64) -> Result<(), ProtoError> {
        self.conn
            .execute(
                "INSERT INTO rejected(received_at, code, message, env_header) VALUES (?1, ?2, ?3, ?4)",
                params![now, error.code.as_str(), error.message, header],
            )
            .map(|_| ())
            .map_err(db_err)
    }
}
