//! Full-text search that works for Chinese.
//!
//! SQLite's tokenizers cannot index one- and two-character Chinese words, so the
//! text is tokenized here and stored in an FTS5 table as space-separated tokens:
//! - column `bi`: runs of CJK characters as overlapping bigrams (a single
//!   character when the run has one), and Latin words, in text order, so a
//!   phrase of consecutive bigrams matches a substring;
//! - column `uni`: every CJK character, for one-character queries.
//!
//! Text is normalised first: Traditional characters to Simplified (so 發展 finds
//! 发展), full-width ASCII to half-width, lower case.

/// Is this a character that gets bigram indexing (CJK ideographs, kana, hangul)?
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF |
        0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

fn fold(c: char) -> char {
    let c = match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    };
    c.to_lowercase().next().unwrap_or(c)
}

/// Normalise text char for char (the result has as many chars as the input).
pub fn normalize(text: &str) -> Vec<char> {
    let simplified = fast2s::convert(text);
    let out: Vec<char> = simplified.chars().map(fold).collect();
    if out.len() == text.chars().count() {
        out
    } else {
        text.chars().map(fold).collect()
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Tok {
    /// A CJK run.
    Cjk(Vec<char>),
    Word(String),
}

fn tokens(chars: &[char]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_cjk(c) {
            let start = i;
            while i < chars.len() && is_cjk(chars[i]) {
                i += 1;
            }
            out.push(Tok::Cjk(chars[start..i].to_vec()));
        } else if c.is_alphanumeric() {
            let start = i;
            while i < chars.len() && chars[i].is_alphanumeric() && !is_cjk(chars[i]) {
                i += 1;
            }
            out.push(Tok::Word(chars[start..i].iter().collect()));
        } else {
            i += 1;
        }
    }
    out
}

fn push_bigrams(run: &[char], out: &mut String) {
    if run.len() == 1 {
        out.push(run[0]);
        out.push(' ');
        return;
    }
    for w in run.windows(2) {
        out.push(w[0]);
        out.push(w[1]);
        out.push(' ');
    }
}

/// The two FTS columns for a document.
pub fn index_text(text: &str) -> (String, String) {
    let chars = normalize(text);
    let mut bi = String::with_capacity(text.len() * 2);
    let mut uni = String::with_capacity(text.len());
    for t in tokens(&chars) {
        match t {
            Tok::Cjk(run) => {
                push_bigrams(&run, &mut bi);
                for c in run {
                    uni.push(c);
                    uni.push(' ');
                }
            }
            Tok::Word(w) => {
                bi.push_str(&w);
                bi.push(' ');
            }
        }
    }
    (bi, uni)
}

/// An FTS5 `MATCH` expression for a user's query, or `None` if it has no
/// searchable character. Every whitespace-separated term must match.
pub fn fts_query(query: &str) -> Option<String> {
    let mut parts = Vec::new();
    for term in query.split_whitespace() {
        for t in tokens(&normalize(term)) {
            match t {
                Tok::Cjk(run) if run.len() == 1 => parts.push(format!("uni:\"{}\"", run[0])),
                Tok::Cjk(run) => {
                    let mut s = String::new();
                    push_bigrams(&run, &mut s);
                    parts.push(format!("bi:\"{}\"", s.trim_end()));
                }
                Tok::Word(w) => parts.push(format!("bi:\"{}\"*", w.replace('"', ""))),
            }
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(" AND "))
    }
}

/// A snippet of `text` around the first match of the query, about `width`
/// characters, with the hit marked by `[` `]`.
pub fn snippet(text: &str, query: &str, width: usize) -> String {
    let orig: Vec<char> = text.chars().collect();
    let norm = normalize(text);
    let needles: Vec<Vec<char>> = query
        .split_whitespace()
        .map(normalize)
        .filter(|n| !n.is_empty())
        .collect();
    let hit = needles
        .iter()
        .filter_map(|n| {
            norm.windows(n.len())
                .position(|w| w == n.as_slice())
                .map(|p| (p, n.len()))
        })
        .min();
    let flat = |cs: &[char]| {
        cs.iter()
            .map(|c| if c.is_whitespace() { ' ' } else { *c })
            .collect::<String>()
    };
    match hit {
        Some((p, len)) => {
            let before = width.saturating_sub(len) / 2;
            let start = p.saturating_sub(before);
            let end = (p + len + (width.saturating_sub(len) - (p - start))).min(orig.len());
            let mut s = String::new();
            if start > 0 {
                s.push('…');
            }
            s.push_str(&flat(&orig[start..p]));
            s.push('[');
            s.push_str(&flat(&orig[p..p + len]));
            s.push(']');
            s.push_str(&flat(&orig[p + len..end]));
            if end < orig.len() {
                s.push('…');
            }
            s
        }
        None => {
            let end = width.min(orig.len());
            let mut s = flat(&orig[..end]);
            if end < orig.len() {
                s.push('…');
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigrams_and_unigrams() {
        let (bi, uni) = index_text("关于减税，WTO规则 2026年");
        assert_eq!(bi, "关于 于减 减税 wto 规则 2026 年 ");
        assert_eq!(uni, "关 于 减 税 规 则 年 ");
    }

    #[test]
    fn queries() {
        assert_eq!(fts_query("税").unwrap(), "uni:\"税\"");
        assert_eq!(fts_query("减税").unwrap(), "bi:\"减税\"");
        assert_eq!(fts_query("减税降费").unwrap(), "bi:\"减税 税降 降费\"");
        assert_eq!(
            fts_query("WTO 規則").unwrap(),
            "bi:\"wto\"* AND bi:\"规则\""
        );
        assert_eq!(fts_query("  ，。 "), None);
        assert_eq!(fts_query("a\"b").unwrap(), "bi:\"a\"* AND bi:\"b\"*");
    }

    #[test]
    fn traditional_matches_simplified() {
        let (bi, _) = index_text("發展動態");
        assert!(bi.contains("发展"), "{bi}");
        assert_eq!(normalize("ＡＢＣ").iter().collect::<String>(), "abc");
    }

    #[test]
    fn snippets_mark_the_hit() {
        let text = "第一段内容。关于进一步减税降费的若干措施，请各协会转发。";
        assert_eq!(snippet(text, "減稅", 12), "…关于进一步[减税]降费的若干…");
        assert_eq!(snippet("短文", "无", 10), "短文");
    }
}
