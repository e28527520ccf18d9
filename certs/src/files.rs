//! Writing key and record files safely.

use std::io::Write;
use std::path::Path;

use lianxi_shared::{ErrorCode, ProtoError};

fn io_err(path: &Path, e: std::io::Error) -> ProtoError {
    ProtoError::new(ErrorCode::Io, format!("{}: {e}", path.display()))
}

/// Create `dir` and its missing parents with mode 0700 (whatever the umask);
/// an existing directory is left as it is.
pub fn create_private_dir(dir: &Path) -> Result<(), ProtoError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| io_err(dir, e))
}

/// Refuse a directory that other local users can read or enter: a node's home
/// and a CA's directory hold an archive in the clear and private keys.
pub fn check_private_dir(dir: &Path) -> Result<(), ProtoError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(dir) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(ProtoError::new(
                    ErrorCode::KeyFile,
                    format!(
                        "{} has mode {mode:o}: other users can read it; run `chmod -R go-rwx {}`",
                        dir.display(),
                        dir.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Write `bytes` atomically (temp file + fsync + rename). The file is created
/// with mode 0600 before any byte is written, whatever the umask; a missing
/// directory is created 0700. (`_secret` is kept for callers' readability:
/// every file Lianxi writes is private.)
pub fn write_atomic(path: &Path, bytes: &[u8], _secret: bool) -> Result<(), ProtoError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
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
