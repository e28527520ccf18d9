//! `lianxi`: the node's command-line front end over the core library.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use cli::output;
use lianxi::lang::Lang;
use lianxi::{ErrorCode, ProtoError};

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
                Some(p) => (p.code, p.message.clone()),
                None => (ErrorCode::Internal, format!("{e:#}")),
            };
            if json {
                let v = serde_json::json!({"error": {"code": code.as_str(), "message": message}});
                output::line(&v.to_string());
            } else {
                output::warn(&error_line(code, &message, output::lang()));
            }
            ExitCode::FAILURE
        }
    }
}

/// The line a failure prints: in Chinese, the code's Chinese description
/// first, then the detail (which names what failed); the code in brackets
/// stays the same in every language.
fn error_line(code: ErrorCode, message: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("lianxi: {message} [{code}]"),
        Lang::Zh if message == code.describe() || message == code.describe_zh() => {
            format!("lianxi: {} [{code}]", code.describe_zh())
        }
        Lang::Zh if code == ErrorCode::Internal => format!("lianxi: 出错：{message} [{code}]"),
        Lang::Zh => format!("lianxi: {}：{message} [{code}]", code.describe_zh()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_in_the_chosen_language_with_the_same_code() {
        let c = ErrorCode::NotHandler;
        assert_eq!(
            error_line(c, c.describe(), Lang::Zh),
            "lianxi: 只有案件承办方可以变更案件或查看保密信息 [not_handler]"
        );
        assert_eq!(
            error_line(c, "case LX-1", Lang::Zh),
            "lianxi: 只有案件承办方可以变更案件或查看保密信息：case LX-1 [not_handler]"
        );
        assert_eq!(
            error_line(c, "case LX-1", Lang::En),
            "lianxi: case LX-1 [not_handler]"
        );
    }
}
