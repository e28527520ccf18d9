//! Search over a large Chinese archive: 1- to 4-character queries and a Latin
//! word, 50 hits each, through `Archive::search` (the UI's and the CLI's path).

use std::time::Instant;

use lianxi_node::archive::Archive;

pub struct Search {
    /// (query, p50 ms, p99 ms, hits)
    pub rows: Vec<(&'static str, f64, f64, usize)>,
}

pub const QUERIES: &[&str] = &["税", "维权", "电商合", "专精特新", "English"];

pub fn search(path: &std::path::Path, rounds: usize) -> anyhow::Result<Search> {
    let a = Archive::open(path)?;
    let mut rows = Vec::new();
    for q in QUERIES {
        let mut times = Vec::with_capacity(rounds);
        let mut hits = 0;
        for _ in 0..rounds {
            let t = Instant::now();
            hits = a.search(q, 50)?.len();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        let p = |x: f64| times[((times.len() - 1) as f64 * x) as usize];
        rows.push((*q, p(0.5), p(0.99), hits));
    }
    Ok(Search { rows })
}
