//! `lianxi`: the node's command-line front end over the core library.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use cli::output;
use lianxi::ProtoError;

fn main() -> ExitCode {
    let cli = cli::args::Cli::parse();
    let json = cli.json;
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::warn(&format!("lianxi: cannot start: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(cli::commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let (code, message) = match e.downcast_ref::<ProtoError>() {
                Some(p) => (p.code.as_str().to_owned(), p.message.clone()),
                None => ("internal".to_owned(), format!("{e:#}")),
            };
            if json {
                output::line(
                    &serde_json::json!({"error": {"code": code, "message": message}}).to_string(),
                );
            } else {
                output::warn(&format!("lianxi: {message} [{code}]"));
            }
            ExitCode::FAILURE
        }
    }
}
