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

/// What a document puts into the index: the two FTS columns, and its Latin
/// words (kept in the archive's word list, so that a prefix query can name
/// the words it means instead of merging every matching term's list).
#[derive(Debug, PartialEq, Eq)]
pub struct Indexed {
    pub bi: String,
    pub uni: String,
    pub words: Vec<String>,
}

/// The index entries for a document.
pub fn index_text(text: &str) -> Indexed {
    let chars = normalize(text);
    let mut bi = String::with_capacity(text.len() * 2);
    let mut uni = String::with_capacity(text.len());
    let mut words: Vec<String> = Vec::new();
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
                words.push(w);
            }
        }
    }
    words.sort_unstable();
    words.dedup();
    Indexed { bi, uni, words }
}

/// A prefix query names at most this many words; one that matches more is
/// left to FTS5's own prefix search.
pub const MAX_PREFIX_WORDS: usize = 32;

/// An FTS5 `MATCH` expression for a user's query, or `None` if it has no
/// searchable character. Every whitespace-separated term must match; a Latin
/// word matches every indexed word it begins.
///
/// `expand` lists the indexed words that begin with a prefix, or `None` when
/// there are more than [`MAX_PREFIX_WORDS`]: named words are exact-term
/// lookups that FTS5 walks newest first and stops at the limit, where a `*`
/// prefix query first merges the lists of every matching term.
pub fn fts_query(
    query: &str,
    mut expand: impl FnMut(&str) -> Option<Vec<String>>,
) -> Option<String> {
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
                Tok::Word(w) => {
                    let w = w.replace('"', "");
                    parts.push(match expand(&w) {
                        Some(words) if words.is_empty() => format!("bi:\"{w}\""),
                        Some(words) => {
                            let any: Vec<String> = words
                                .iter()
                                .map(|x| format!("\"{}\"", x.replace('"', "")))
                                .collect();
                            format!("bi:({})", any.join(" OR "))
                        }
                        None => format!("bi:\"{w}\"*"),
                    });
                }
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
        let i = index_text("关于减税，WTO规则 2026年 wto");
        assert_eq!(i.bi, "关于 于减 减税 wto 规则 2026 年 wto ");
        assert_eq!(i.uni, "关 于 减 税 规 则 年 ");
        assert_eq!(i.words, ["2026", "wto"]);
    }

    /// Prefix expansion as the archive would answer it, from a word list.
    fn from(words: &'static [&'static str]) -> impl Fn(&str) -> Option<Vec<String>> {
        move |p: &str| {
            let hits: Vec<String> = words
                .iter()
                .filter(|w| w.starts_with(p))
                .map(|w| w.to_string())
                .collect();
            (hits.len() <= MAX_PREFIX_WORDS).then_some(hits)
        }
    }

    #[test]
    fn queries() {
        let none = |_: &str| None;
        assert_eq!(fts_query("税", none).unwrap(), "uni:\"税\"");
        assert_eq!(fts_query("减税", none).unwrap(), "bi:\"减税\"");
        assert_eq!(
            fts_query("减税降费", none).unwrap(),
            "bi:\"减税 税降 降费\""
        );
        assert_eq!(
            fts_query("WTO 規則", none).unwrap(),
            "bi:\"wto\"* AND bi:\"规则\""
        );
        assert_eq!(fts_query("  ，。 ", none), None);
        assert_eq!(fts_query("a\"b", none).unwrap(), "bi:\"a\"* AND bi:\"b\"*");
    }

    #[test]
    fn latin_prefixes_name_the_words_they_begin() {
        let words = from(&["english", "englishman", "wto"]);
        assert_eq!(
            fts_query("Engl", &words).unwrap(),
            "bi:(\"english\" OR \"englishman\")"
        );
        assert_eq!(
            fts_query("WTO 规则", &words).unwrap(),
            "bi:(\"wto\") AND bi:\"规则\""
        );
        // No indexed word begins with it: an exact term, which finds nothing.
        assert_eq!(fts_query("xyz", &words).unwrap(), "bi:\"xyz\"");
        // Too many words begin with it: FTS5's own prefix query.
        let many: &'static [&'static str] = Box::leak(
            (0..=MAX_PREFIX_WORDS)
                .map(|i| &*Box::leak(format!("e{i}").into_boxed_str()))
                .collect::<Vec<&'static str>>()
                .into_boxed_slice(),
        );
        assert_eq!(fts_query("e", from(many)).unwrap(), "bi:\"e\"*");
    }

    #[test]
    fn traditional_matches_simplified() {
        let i = index_text("發展動態");
        assert!(i.bi.contains("发展"), "{}", i.bi);
        assert_eq!(normalize("ＡＢＣ").iter().collect::<String>(), "abc");
    }

    #[test]
    fn snippets_mark_the_hit() {
        let text = "第一段内容。关于进一步减税降费的若干措施，请各协会转发。";
        assert_eq!(snippet(text, "減稅", 12), "…关于进一步[减税]降费的若干…");
        assert_eq!(snippet("短文", "无", 10), "短文");
    }
}
