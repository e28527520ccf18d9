//! `lianxi backup` and `lianxi restore`: the whole node in one encrypted file.

use std::path::{Path, PathBuf};

use lianxi::backup::Summary;
use lianxi::home::Home;
use lianxi::node::Node;
use lianxi_certs::passphrase::Source;
use serde_json::json;

use crate::cli::commands::print;
use crate::cli::output::tr;

fn source(file: Option<PathBuf>) -> Source {
    Source {
        var: "LIANXI_BACKUP_PASSPHRASE",
        file_var: "LIANXI_BACKUP_PASSPHRASE_FILE",
        file,
        prompt: true,
        what: "the backup",
    }
}

fn report(json: bool, verb: &str, path: &Path, s: &Summary) {
    print(json, json!({"path": path, "summary": s}), || {
        format!(
            "{verb} {} ({} {}, {} {} bytes): {}",
            s.node_id,
            s.files.len(),
            tr("个文件", "files"),
            tr("档案", "archive"),
            s.archive_bytes,
            path.display()
        )
    });
}

pub async fn backup(
    home: &Home,
    out: PathBuf,
    pass_file: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<()> {
    let node = Node::open(home.clone())?;
    let pass = source(pass_file).get_new()?;
    let s = lianxi::backup::backup(&node, &out, pass).await?;
    report(json, tr("已备份", "backed up"), &out, &s);
    Ok(())
}

pub fn restore(
    home: &Home,
    file: PathBuf,
    pass_file: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<()> {
    let pass = source(pass_file).get()?;
    let s = lianxi::backup::restore(&file, home, pass)?;
    report(json, tr("已恢复", "restored"), &home.dir, &s);
    Ok(())
}
