//! The redactor's cost inside the wasm build (issue 4, "Measure"): the same release wasm32
//! code the Worker runs, executed by V8 (Node) through `wasm-bindgen-test-runner`. Workers'
//! own clocks only advance across I/O, so a timing taken inside workerd would read zero; V8 is
//! the engine workerd embeds.
//!
//! A measurement, not a test: it is `#[ignore]`d and run by `scripts/bench-wasm`, which prints
//! the figures for BENCHMARKS.md. Nothing here asserts a time.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use rxroom_core::labels::OrderRecord;
use rxroom_core::redact::Redactor;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
    #[wasm_bindgen(js_namespace = console)]
    fn log(s: &str);
}

fn corpus() -> Vec<String> {
    include_str!("../data/phi-dev.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_owned))
        .collect()
}

/// Corpus messages joined into texts of about `len` bytes, cut on a char boundary.
fn texts_of_len(corpus: &[String], len: usize, count: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(count);
    let mut it = corpus.iter().cycle();
    for _ in 0..count {
        let mut s = String::with_capacity(len + 256);
        while s.len() < len {
            if let Some(m) = it.next() {
                s.push_str(m);
                s.push(' ');
            }
        }
        let mut cut = len.min(s.len());
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        out.push(s);
    }
    out
}

fn time_per_item(texts: &[String], redactor: &Redactor, rounds: usize) -> f64 {
    let record = OrderRecord::default();
    // Warm up (JIT tiers, allocator).
    for t in texts {
        let _ = redactor.scan(t, &record);
    }
    let start = now();
    let mut found = 0usize;
    for _ in 0..rounds {
        for t in texts {
            found += redactor.scan(t, &record).map(|f| f.len()).unwrap_or(0);
        }
    }
    let elapsed_ms = now() - start;
    std::hint::black_box(found);
    elapsed_ms * 1000.0 / (rounds * texts.len()) as f64
}

#[wasm_bindgen_test]
#[ignore = "measurement, run by scripts/bench-wasm"]
fn redact_cost_inside_wasm() {
    let redactor = Redactor::new();
    let corpus = corpus();
    let bytes: usize = corpus.iter().map(String::len).sum();
    let per_msg = time_per_item(&corpus, &redactor, 20);
    log(&format!(
        "wasm redact dev corpus: {:.1} us/msg, {:.0} msgs/s, {:.1} MB/s ({} msgs, {} bytes)",
        per_msg,
        1e6 / per_msg,
        (bytes as f64 / corpus.len() as f64) / per_msg,
        corpus.len(),
        bytes
    ));
    for len in [64usize, 256, 1024, 4096] {
        let texts = texts_of_len(&corpus, len, 200);
        let us = time_per_item(&texts, &redactor, 10);
        log(&format!("wasm redact {len} B: {us:.1} us/msg"));
    }
}
