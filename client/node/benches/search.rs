//! Micro-benchmarks of search's own code: tokenizing a bulletin for the index
//! and building a query. Queries over a 200,000-message archive are
//! `lianxi-bench`'s search scenario.
//!
//! `cargo bench -p lianxi-node --bench search`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lianxi_node::search::{fts_query, index_text};

fn tokenize(c: &mut Criterion) {
    let mut text = String::new();
    while text.chars().count() < 500 {
        text.push_str("關於進一步做好中小企業紓困解難工作的通知，WTO 規則與跨境電商合規經營。");
    }
    let mut g = c.benchmark_group("search");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("index 500 characters (Traditional folded)", |b| {
        b.iter(|| index_text(&text))
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("build a query", |b| {
        b.iter(|| {
            fts_query("減稅降費 wto 专精特新", |_| {
                Some(vec!["wto".into()])
            })
        })
    });
    g.finish();
}

criterion_group!(benches, tokenize);
criterion_main!(benches);
