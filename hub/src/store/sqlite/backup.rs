//! `lianxi-hub backup`: an online, consistent copy of a serving hub's
//! SQLite file.
//!
//! `VACUUM INTO` reads one snapshot of the database (WAL mode lets the hub
//! keep writing meanwhile) and writes it as a new, compact file. The copy is
//! written beside the destination, synced, checked (`integrity_check`, the
//! hub's application id) and only then renamed into place, so `--out` never
//! names a half-written or damaged copy.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::{SqliteStore, open_conn, schema};
use crate::store::StoreError;

/// What a backup wrote.
#[derive(Debug, serde::Serialize)]
pub struct Backup {
    pub out: PathBuf,
    pub bytes: u64,
    pub nodes: i64,
    pub queued: i64,
    pub held: i64,
}

fn io(what: &str, p: &Path, e: std::io::Error) -> StoreError {
    StoreError::Corrupt(format!("{what} {}: {e}", p.display()))
}

/// Copy the hub database in `data` to `out` (which must not exist yet).
pub fn backup(data: &Path, out: &Path) -> Result<Backup, StoreError> {
    let src = SqliteStore::db_path(data);
    if !src.exists() {
        return Err(StoreError::Foreign(format!(
            "{} does not exist",
            src.display()
        )));
    }
    if out.exists() {
        return Err(StoreError::Foreign(format!(
            "{} exists already; choose a new file",
            out.display()
        )));
    }
    let conn = open_conn(&src, false)?;
    check_app(&conn)?;
    let name = out
        .file_name()
        .ok_or_else(|| StoreError::Foreign(format!("{} is not a file name", out.display())))?;
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut partial_name = name.to_owned();
    partial_name.push(".partial");
    let partial = dir.join(partial_name);
    let _ = std::fs::remove_file(&partial);
    let path = partial
        .to_str()
        .ok_or_else(|| StoreError::Foreign(format!("{} is not UTF-8", partial.display())))?;
    let result = (|| {
        conn.execute("VACUUM INTO ?1", [path])?;
        let f = std::fs::File::open(&partial).map_err(|e| io("cannot open", &partial, e))?;
        f.sync_all().map_err(|e| io("cannot sync", &partial, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io("cannot restrict", &partial, e))?;
        }
        let copy = open_conn(&partial, false)?;
        check_app(&copy)?;
        let ok: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if ok != "ok" {
            return Err(StoreError::Corrupt(format!(
                "the copy does not check: {ok}"
            )));
        }
        let counts = copy.query_row(
            "SELECT (SELECT count(*) FROM nodes), (SELECT count(*) FROM deliveries),
                    (SELECT count(*) FROM held)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        drop(copy);
        Ok(counts)
    })();
    let (nodes, queued, held) = match result {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, out).map_err(|e| io("cannot rename to", out, e))?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(Backup {
        out: out.to_owned(),
        bytes,
        nodes,
        queued,
        held,
    })
}

pub(super) fn check_app(c: &Connection) -> Result<(), StoreError> {
    let app: i64 = c.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if app != schema::APPLICATION_ID {
        return Err(StoreError::Foreign(format!("application_id {app:#x}")));
    }
    Ok(())
}
