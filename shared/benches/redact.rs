//! Criterion benchmark `redact` (issue 4, "Measure"): messages/s and MB/s over the dev corpus,
//! and how the cost scales with message length (64 B .. 4 KiB). Run with
//! `cargo bench -p rxroom-core --bench redact`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rxroom_core::ids::Role;
use rxroom_core::labels::OrderRecord;
use rxroom_core::redact::{render, Redactor};

/// The dev corpus texts (vendored copy of `shared/phi/dev.jsonl`, synthetic data).
fn corpus() -> Vec<String> {
    include_str!("../data/phi-dev.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_owned))
        .collect()
}

/// A text of about `len` bytes made of corpus messages, cut on a char boundary.
fn text_of_len(corpus: &[String], len: usize) -> String {
    let mut s = String::with_capacity(len + 256);
    for m in corpus.iter().cycle() {
        if s.len() >= len {
            break;
        }
        s.push_str(m);
        s.push(' ');
    }
    let mut cut = len.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s
}

fn bench(c: &mut Criterion) {
    let redactor = Redactor::new();
    let record = OrderRecord::default();
    let texts = corpus();
    let bytes: usize = texts.iter().map(String::len).sum();

    let mut g = c.benchmark_group("redact/dev_corpus_msgs");
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("scan", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(redactor.scan(black_box(t), &record).ok());
            }
        })
    });
    g.bench_function("scan_and_driver_render", |b| {
        b.iter(|| {
            for t in &texts {
                if let Ok(f) = redactor.scan(black_box(t), &record) {
                    black_box(render(t, &f, Role::Driver));
                }
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("redact/dev_corpus_bytes");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("scan", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(redactor.scan(black_box(t), &record).ok());
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("redact/scaling");
    for len in [64usize, 256, 1024, 4096] {
        let t = text_of_len(&texts, len);
        g.throughput(Throughput::Bytes(t.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(len), &t, |b, t| {
            b.iter(|| black_box(redactor.scan(black_box(t), &record).ok()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
