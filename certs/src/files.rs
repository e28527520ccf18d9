//! Writing key and record files safely.

use std::io::Write;
use std::path::Path;

use lianxi_shared::{ErrorCode, ProtoError};

fn io_err(path: &Path, e: std::io::Error) -> ProtoError {
    ProtoError::new(ErrorCode::Io, format!("{}: {e}", path.display()))
}

/// Write `bytes` atomically (temp file + fsync + rename). With `secret`, the
/// file is created with mode 0600 before any byte is written.
pub fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> Result<(), ProtoError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(|e| io_err(&tmp, e))?;
    f.write_all(bytes).map_err(|e| io_err(&tmp, e))?;
    f.sync_all().map_err(|e| io_err(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Write a new secret file (0600); refuse to overwrite an existing one.
pub fn write_new_secret(path: &Path, bytes: &[u8]) -> Result<(), ProtoError> {
    if path.exists() {
        return Err(ProtoError::new(
            ErrorCode::AlreadyInitialized,
            format!("{} exists; refusing to overwrite a key", path.display()),
        ));
    }
    write_atomic(path, bytes, true)
}

/// Read a secret file, refusing one that others can read.
pub fn read_secret(path: &Path) -> Result<Vec<u8>, ProtoError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)
            .map_err(|e| ProtoError::new(ErrorCode::KeyFile, format!("{}: {e}", path.display())))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(ProtoError::new(
                ErrorCode::KeyFile,
                format!(
                    "{} has mode {mode:o}; a key file must be 0600 (chmod 600)",
                    path.display()
                ),
            ));
        }
    }
    std::fs::read(path)
        .map_err(|e| ProtoError::new(ErrorCode::KeyFile, format!("{}: {e}", path.display())))
}
