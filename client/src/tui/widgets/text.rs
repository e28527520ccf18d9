//! Display-width aware text helpers: every place that cuts or wraps text for the
//! terminal goes through these, so wide characters (CJK, emoji) never break the
//! layout and nothing is cut inside a character.

use unicode_width::UnicodeWidthChar;

/// Columns a character takes (control characters take none).
pub fn char_width(c: char) -> usize {
    if c == '\t' { 4 } else { c.width().unwrap_or(0) }
}

/// Columns a string takes.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Cut `s` to at most `max` columns, ending with `…` when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = char_width(c);
        if w + cw > max - 1 {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// Pad with spaces to exactly `cols` columns (after truncating if needed).
pub fn fit(s: &str, cols: usize) -> String {
    let mut t = truncate(s, cols);
    let w = width(&t);
    t.extend(std::iter::repeat_n(' ', cols.saturating_sub(w)));
    t
}

/// A wrapped row: the text and the char index in the source line where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub text: String,
    pub start: usize,
    pub chars: usize,
}

/// Wrap one line (no newlines) to `cols` columns, per character. Latin words are
/// kept whole when they fit on a row; CJK can break between any two characters.
pub fn wrap_line(line: &str, cols: usize) -> Vec<Row> {
    let cols = cols.max(2);
    let chars: Vec<char> = line
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    let mut rows = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let mut w = 0;
        let mut end = start;
        while end < chars.len() && w + char_width(chars[end]) <= cols {
            w += char_width(chars[end]);
            end += 1;
        }
        if end < chars.len() {
            // Prefer breaking after a space, or before a Latin word that follows
            // other text, if the row holds such a place in its second half.
            let latin = |c: char| c.is_ascii_alphanumeric();
            if let Some(sp) = (start + 1..end)
                .rev()
                .find(|&i| chars[i - 1] == ' ' || (!latin(chars[i - 1]) && latin(chars[i])))
                && sp > start + (end - start) / 2
            {
                end = sp;
            }
        }
        if end == start {
            end = start + 1; // a character wider than the row: give it a row of its own
        }
        rows.push(Row {
            text: chars[start..end].iter().collect(),
            start,
            chars: end - start,
        });
        start = end;
    }
    if rows.is_empty() {
        rows.push(Row {
            text: String::new(),
            start: 0,
            chars: 0,
        });
    }
    rows
}

/// Wrap multi-line text.
pub fn wrap(text: &str, cols: usize) -> Vec<String> {
    text.split('\n')
        .flat_map(|l| wrap_line(l, cols))
        .map(|r| r.text)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_truncation_respect_wide_characters() {
        assert_eq!(width("中文ab"), 6);
        assert_eq!(width("🎉"), 2);
        assert_eq!(truncate("关于减税降费的通知", 9), "关于减税…");
        assert_eq!(width(&truncate("关于减税降费的通知", 9)), 9);
        assert_eq!(truncate("关于减税降费的通知", 8), "关于减…");
        assert_eq!(truncate("ab🎉cd", 4), "ab…");
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(fit("中", 4), "中  ");
        assert_eq!(width(&fit("关于减税降费的通知", 7)), 7);
    }

    #[test]
    fn wrapping_is_per_character_and_keeps_words() {
        let rows = wrap_line("关于减税降费的通知", 6);
        assert_eq!(
            rows.iter().map(|r| r.text.as_str()).collect::<Vec<_>>(),
            ["关于减", "税降费", "的通知"]
        );
        assert_eq!(rows[1].start, 3);
        assert_eq!(wrap("hello world again", 12), ["hello world ", "again"]);
        assert_eq!(wrap("a\n\nb", 5), ["a", "", "b"]);
        assert_eq!(wrap("政策调整。Please", 14), ["政策调整。", "Please"]);
        for r in wrap_line("混合 mixed 文本🎉emoji 以及 more words", 7) {
            assert!(width(&r.text) <= 7, "{r:?}");
        }
    }
}
