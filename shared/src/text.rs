//! Text that crosses from one node to another: what is refused, and how what is
//! left is shown safely.
//!
//! A member's node may be hostile. Short fields that a person reads on one line
//! (titles, names, organisation names, document numbers, attachment names) must
//! hold no control character and no bidirectional override, so a sender cannot
//! move the cursor, rewrite a line, set a terminal's title or reorder what a
//! reader sees. Those are refused with `bad_payload` when sent and when received
//! ([`check_line`], [`check_file_name`]). Longer text (bodies, notes, summaries)
//! may hold line breaks and tabs; every place that prints received text passes
//! it through [`escape_line`] or [`escape_text`], which make anything else
//! visible instead of letting the terminal act on it.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::error::{ErrorCode, ProtoError};

/// The latest time (ms) any node accepts inside a message: 9999-12-30 UTC.
/// Times travel as `i64`; anything outside `0..=MAX_TIME_MS` is refused where
/// it is checked and shown as unknown where it is displayed.
pub const MAX_TIME_MS: i64 = 253_402_128_000_000;

/// A time inside a payload (`ack_by`, a receipt's time): within `0..=MAX_TIME_MS`.
pub fn check_time(what: &str, ms: i64) -> Result<(), ProtoError> {
    if (0..=MAX_TIME_MS).contains(&ms) {
        Ok(())
    } else {
        Err(refuse(what, "is out of range"))
    }
}

/// Longest attachment name, in bytes (a common file-system limit).
pub const MAX_FILE_NAME: usize = 255;

/// Characters a terminal may act on: C0 controls (with CR, LF, TAB and ESC),
/// DEL, C1 controls, and the bidirectional embeddings, overrides and isolates
/// (U+202A–U+202E, U+2066–U+2069) plus the Arabic letter mark.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
}

fn refuse(what: &str, why: &str) -> ProtoError {
    ProtoError::new(ErrorCode::BadPayload, format!("{what} {why}"))
}

/// A one-line field: no control character or bidi override, at most `max` bytes.
pub fn check_line(what: &str, s: &str, max: usize) -> Result<(), ProtoError> {
    if s.len() > max {
        return Err(ProtoError::new(
            ErrorCode::TooLarge,
            format!("{what} is longer than {max} bytes"),
        ));
    }
    if let Some(c) = s.chars().find(|c| is_unsafe(*c)) {
        return Err(refuse(
            what,
            &format!("holds a control or bidi character (U+{:04X})", c as u32),
        ));
    }
    Ok(())
}

/// A multi-line text: line breaks and tabs are allowed, other controls are not
/// refused here (they are escaped where shown), but the size is bounded.
pub fn check_text(what: &str, s: &str, max: usize) -> Result<(), ProtoError> {
    if s.len() > max {
        return Err(ProtoError::new(
            ErrorCode::TooLarge,
            format!("{what} is longer than {max} bytes"),
        ));
    }
    Ok(())
}

/// An attachment's file name: one non-empty path component that does not
/// start with `.` or `-`, holds no separator, control or bidi character, and
/// fits [`MAX_FILE_NAME`].
pub fn check_file_name(name: &str) -> Result<(), ProtoError> {
    let what = "an attachment name";
    if name.trim().is_empty() {
        return Err(refuse(what, "is empty"));
    }
    check_line(what, name, MAX_FILE_NAME)?;
    if name.contains(['/', '\\']) {
        return Err(refuse(what, "holds a path"));
    }
    if name.starts_with(['.', '-']) {
        return Err(refuse(what, "starts with '.' or '-'"));
    }
    if name.trim() != name {
        return Err(refuse(what, "starts or ends with a space"));
    }
    Ok(())
}

fn escape_with(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) && !keep(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Received text for one line of a terminal: every control and bidi character
/// (line breaks included) is shown as `\u{…}`, never passed through.
pub fn escape_line(s: &str) -> Cow<'_, str> {
    escape_with(s, |_| false)
}

/// Received multi-line text: line breaks and tabs stay, every other control
/// or bidi character is shown as `\u{…}`.
pub fn escape_text(s: &str) -> Cow<'_, str> {
    escape_with(s, |c| c == '\n' || c == '\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_refuse_every_control_and_bidi_character() {
        for bad in [
            "\r\u{1b}[2K2026-01-01 nat 伪造",
            "\u{1b}]0;title\u{7}",
            "a\nb",
            "tab\there",
            "del\u{7f}",
            "c1\u{9b}31m",
            "rlo\u{202e}fdp.exe",
            "isolate\u{2066}x\u{2069}",
        ] {
            let e = check_line("a title", bad, 1024).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadPayload, "{bad:?}");
            assert!(!escape_line(bad).chars().any(is_unsafe), "{bad:?}");
        }
        assert!(check_line("a title", "关于进一步减税降费的通知 (2026)", 1024).is_ok());
        assert_eq!(
            check_line("t", &"长".repeat(400), 1024).unwrap_err().code,
            ErrorCode::TooLarge
        );
    }

    #[test]
    fn file_names_are_one_plain_component() {
        for bad in [
            "", " ", ".bashrc", "-rf", "../x", "a/b", "a\\b", "a\nb", "x\u{1b}y", " pad",
        ] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_file_name(&"长".repeat(100)).is_err());
        for good in ["报送模板.docx", "附件1.pdf", "a b.txt", "v1.2-final.pdf"] {
            assert!(check_file_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn escaping_keeps_text_and_shows_controls() {
        assert!(matches!(escape_text("第一行\n\t第二行"), Cow::Borrowed(_)));
        assert_eq!(escape_text("a\r\u{1b}[2Kb\n"), "a\\u{d}\\u{1b}[2Kb\n");
        assert_eq!(escape_line("a\nb"), "a\\u{a}b");
        assert_eq!(escape_line("x\u{202e}y"), "x\\u{202e}y");
    }
}
