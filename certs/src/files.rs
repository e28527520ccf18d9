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

/// A file name from another node, made safe to use as one path component in a
/// directory the user named: controls, separators and a leading `.` or `-`
/// become `_`, and it is cut to 200 bytes on a character boundary. Never empty.
pub fn safe_component(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let bad = c == '/' || c == '\\' || c == '\0' || lianxi_shared::text::is_unsafe(c);
        let c = if bad { '_' } else { c };
        if out.len() + c.len_utf8() > 200 {
            break;
        }
        out.push(c);
    }
    if out.starts_with('.') || out.starts_with('-') {
        out.replace_range(..1, "_");
    }
    if out.is_empty() {
        out.push_str("file");
    }
    out
}

/// `name` with ` (n)` before its extension: `报告.pdf` → `报告 (2).pdf`.
fn numbered(name: &str, n: u32) -> String {
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{} ({n}){}", &name[..dot], &name[dot..]),
        _ => format!("{name} ({n})"),
    }
}

/// Write a new private file (0600) in `dir` under `name` (already one safe
/// component), never replacing or following what is there: the bytes go to an
/// unpredictable temp file opened with O_EXCL|O_NOFOLLOW, fsynced, then
/// hard-linked into place, which fails on any existing name or symlink; on a
/// clash the name is numbered (`名 (1).ext`). With `force` an existing file is
/// replaced atomically (rename) instead. Returns the path written.
pub fn write_new_in(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    force: bool,
) -> Result<std::path::PathBuf, ProtoError> {
    let tmp = private_temp(dir, bytes)?;
    let result = (|| {
        if force {
            let path = dir.join(name);
            std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
            return Ok(path);
        }
        for n in 0..1000u32 {
            let candidate = if n == 0 {
                name.to_owned()
            } else {
                numbered(name, n)
            };
            let path = dir.join(&candidate);
            match std::fs::hard_link(&tmp, &path) {
                Ok(()) => return Ok(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err(&path, e)),
            }
        }
        Err(ProtoError::new(
            ErrorCode::Io,
            format!("{}: 1000 files named like {name} already", dir.display()),
        ))
    })();
    let _ = std::fs::remove_file(&tmp);
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    result
}

/// Write `bytes` to a new file with a random name in `dir`, created with
/// O_EXCL|O_NOFOLLOW and mode 0600, and fsync it.
fn private_temp(dir: &Path, bytes: &[u8]) -> Result<std::path::PathBuf, ProtoError> {
    for _ in 0..16 {
        let r: [u8; 12] = rand::random();
        let tag: String = r.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = dir.join(format!(".lianxi-{tag}.part"));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        match opts.open(&tmp) {
            Ok(mut f) => {
                let written = f.write_all(bytes).and_then(|()| f.sync_all());
                if let Err(e) = written {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(io_err(&tmp, e));
                }
                return Ok(tmp);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(&tmp, e)),
        }
    }
    Err(ProtoError::new(
        ErrorCode::Io,
        format!("{}: no free temp name", dir.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_component_is_one_harmless_name() {
        assert_eq!(safe_component("报告.pdf"), "报告.pdf");
        assert_eq!(safe_component(".bashrc"), "_bashrc");
        assert_eq!(safe_component("-rf"), "_rf");
        assert_eq!(safe_component("../../etc/passwd"), "_._.._etc_passwd");
        assert_eq!(safe_component("a\nb\u{1b}[31m"), "a_b_[31m");
        assert_eq!(safe_component("\u{202e}fdp.exe"), "_fdp.exe");
        assert_eq!(safe_component(""), "file");
        let long = "长".repeat(200);
        let cut = safe_component(&long);
        assert!(cut.len() <= 200 && cut.chars().all(|c| c == '长'));
    }

    #[test]
    fn numbered_names_keep_the_extension() {
        assert_eq!(numbered("报告.pdf", 2), "报告 (2).pdf");
        assert_eq!(numbered("README", 1), "README (1)");
        assert_eq!(numbered(".env", 1), ".env (1)");
    }

    #[test]
    fn write_new_in_never_replaces_and_force_does() {
        let d = tempfile::tempdir().unwrap();
        let a = write_new_in(d.path(), "x.txt", b"1", false).unwrap();
        let b = write_new_in(d.path(), "x.txt", b"2", false).unwrap();
        assert_eq!(a, d.path().join("x.txt"));
        assert_eq!(b, d.path().join("x (1).txt"));
        assert_eq!(std::fs::read(&a).unwrap(), b"1");
        let c = write_new_in(d.path(), "x.txt", b"3", true).unwrap();
        assert_eq!(c, a);
        assert_eq!(std::fs::read(&a).unwrap(), b"3");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 2);
    }
}
