//! Everything the `lianxi` command prints goes through here.
//!
//! Text may hold what another node sent (titles, names, notes), so it is passed
//! through [`escape_text`]: line breaks and tabs stay, every other control or
//! bidi character is shown as `\u{…}` instead of reaching the terminal. A
//! closed pipe (`lianxi list | head -1`) ends the program quietly with success,
//! as Unix tools do, instead of a panic.

use std::io::Write;
use std::sync::OnceLock;

use lianxi_shared::text::escape_text;

use lianxi::tui::i18n::Lang;

static LANG: OnceLock<Lang> = OnceLock::new();

/// The language of every human-readable line from now on (`--lang`, else
/// `lang` in node.toml, else Chinese). Error codes and JSON keys never change.
pub fn set_lang(lang: Lang) {
    let _ = LANG.set(lang);
}

/// The language lines are printed in.
pub fn lang() -> Lang {
    LANG.get().copied().unwrap_or_default()
}

/// `zh` or `en`, whichever the output's language is (both `&str`, or both
/// `String` when they are formatted).
pub fn tr<T>(zh: T, en: T) -> T {
    match lang() {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

fn write_or_exit(mut w: impl Write, s: &str) {
    let r = w.write_all(s.as_bytes()).and_then(|()| w.flush());
    if let Err(e) = r {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        // Nowhere left to report it; the exit code says it.
        std::process::exit(1);
    }
}

/// One line (or several) to standard output, escaped, with a final newline.
pub fn line(s: &str) {
    let mut t = escape_text(s).into_owned();
    t.push('\n');
    write_or_exit(std::io::stdout().lock(), &t);
}

/// Text to standard output as it is, escaped (no newline added).
pub fn raw(s: &str) {
    write_or_exit(std::io::stdout().lock(), &escape_text(s));
}

/// A warning or progress line to standard error, escaped.
pub fn warn(s: &str) {
    let mut t = escape_text(s).into_owned();
    t.push('\n');
    write_or_exit(std::io::stderr().lock(), &t);
}
