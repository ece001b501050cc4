//! `rxroom phi-eval FILE.jsonl`: scores the redactor on a corpus in the dev-set format
//! (`shared/phi/LABELS.md` section 1). Prints counts and rates only, never message text or
//! span values.
//!
//! Matching rules:
//! - a gold span is *found (strict)* when findings of the same label cover every byte of it
//!   that is not whitespace or a format character; *covered* when findings of any label do;
//! - a finding is a *true positive (strict)* when it overlaps a gold span of the same label;
//!   *(any)* when it overlaps any gold span;
//! - a decoy is *hit* when any finding overlaps it; a `negative` message is *flagged* when it
//!   has any finding;
//! - a *driver leak* is a must-hide span (LABELS.md section 5: every label but ADDRESS and ZIP;
//!   for a full NAME the part after the first name; a first name alone is visible) with a byte
//!   left visible in the driver view ([`rxroom_core::redact::hidden_ranges`]).
//!
//! The last line is `recall=R precision=P driver_leaks=L decoys_hit=D negatives_flagged=F`,
//! R and P strict and micro-averaged, L, D and F rates in [0, 1].
//!
//! `--with-record` builds, per message, an order record from that message's own gold NAME,
//! DOB, MRN, INSURANCE_ID, MEDICATION and PHONE spans (the first of each, all medications), scans
//! with it, and reports recall on the spans whose values are in the record.

use rxroom_core::ids::Role;
use rxroom_core::labels::{Finding, Label, OrderRecord};
use rxroom_core::redact::{hidden_ranges, Redactor};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Instant;

/// Options of the `phi-eval` subcommand.
#[derive(Debug, clap::Args)]
pub struct PhiEvalArgs {
    /// Corpus file, one JSON object per line (LABELS.md section 1).
    pub file: std::path::PathBuf,
    /// Build an order record per message from its own gold spans and score record recall.
    #[arg(long)]
    pub with_record: bool,
    /// Print the ids and labels (never values) of missed spans, false positives and leaks.
    #[arg(long)]
    pub show_errors: bool,
}

struct Span {
    label: String,
    range: Range<usize>,
    first: Option<Range<usize>>,
    name_part: String,
    value: String,
}

fn byte_range(text: &str, o: &Value) -> Option<Range<usize>> {
    if let (Some(s), Some(e)) = (
        o.get("byte_start").and_then(Value::as_u64),
        o.get("byte_end").and_then(Value::as_u64),
    ) {
        return Some(s as usize..e as usize);
    }
    let s = o.get("start")?.as_u64()? as usize;
    let e = o.get("end")?.as_u64()? as usize;
    Some(cp_to_byte(text, s)?..cp_to_byte(text, e)?)
}

fn cp_to_byte(text: &str, cp: usize) -> Option<usize> {
    if cp == text.chars().count() {
        return Some(text.len());
    }
    text.char_indices().nth(cp).map(|(b, _)| b)
}

fn spans(text: &str, o: &Value, key: &str) -> Vec<Span> {
    let mut out = Vec::new();
    for s in o
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let Some(range) = byte_range(text, s) else {
            continue;
        };
        let first = s.get("first").and_then(Value::as_array).and_then(|a| {
            let (fs, fe) = (a.first()?.as_u64()? as usize, a.get(1)?.as_u64()? as usize);
            Some(cp_to_byte(text, fs)?..cp_to_byte(text, fe)?)
        });
        let label = s
            .get("label")
            .or_else(|| s.get("kind"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        out.push(Span {
            label,
            range,
            first,
            name_part: s
                .get("name_part")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            value: s
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        });
    }
    out
}

fn ignorable(c: char) -> bool {
    c.is_whitespace()
        || matches!(c as u32, 0x200B..=0x200F | 0x2060 | 0xFEFF | 0x00AD | 0x202A..=0x202E | 0x2066..=0x2069)
}

/// Whether every significant byte of `r` lies inside one of `cover`.
fn covered(text: &str, r: &Range<usize>, cover: &[Range<usize>]) -> bool {
    let Some(slice) = text.get(r.clone()) else {
        return false;
    };
    slice.char_indices().all(|(i, c)| {
        let p = r.start + i;
        ignorable(c) || cover.iter().any(|x| x.start <= p && p < x.end)
    })
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

#[derive(Default)]
struct Tally {
    gold: usize,
    strict: usize,
    coverage: usize,
    found: usize,
    tp: usize,
}

fn record_from(spans: &[Span]) -> OrderRecord {
    let first = |l: &str| spans.iter().find(|s| s.label == l).map(|s| s.value.clone());
    let name = spans
        .iter()
        .find(|s| s.label == "NAME" && s.name_part == "full")
        .or_else(|| spans.iter().find(|s| s.label == "NAME"))
        .map(|s| s.value.clone());
    OrderRecord {
        patient_name: name,
        dob: first("DOB"),
        mrn: first("MRN"),
        member_id: first("INSURANCE_ID"),
        medications: spans
            .iter()
            .filter(|s| s.label == "MEDICATION")
            .map(|s| s.value.clone())
            .collect(),
        phone: first("PHONE"),
    }
}

fn in_record(s: &Span, rec: &OrderRecord) -> bool {
    let eq = |v: &Option<String>| v.as_deref() == Some(s.value.as_str());
    match s.label.as_str() {
        "NAME" => rec.patient_name.as_deref().is_some_and(|n| {
            n.to_lowercase()
                .split_whitespace()
                .any(|p| s.value.to_lowercase().split_whitespace().any(|q| q == p))
        }),
        "DOB" => eq(&rec.dob),
        "MRN" => eq(&rec.mrn),
        "INSURANCE_ID" => eq(&rec.member_id),
        "PHONE" => eq(&rec.phone),
        "MEDICATION" => rec.medications.iter().any(|m| m == &s.value),
        _ => false,
    }
}

fn rate(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// Runs the evaluation and prints the report.
///
/// # Errors
/// When the file cannot be read or a line is not valid JSON.
pub fn run(args: &PhiEvalArgs) -> Result<(), String> {
    let data =
        std::fs::read_to_string(&args.file).map_err(|e| format!("cannot read corpus: {e}"))?;
    let redactor = Redactor::new();
    let mut per: BTreeMap<String, Tally> = BTreeMap::new();
    let (mut findings_total, mut tp_strict, mut tp_any) = (0usize, 0usize, 0usize);
    let (mut decoys, mut decoys_hit) = (0usize, 0usize);
    let (mut negatives, mut negatives_flagged) = (0usize, 0usize);
    let (mut must_hide, mut leaks) = (0usize, 0usize);
    let (mut rec_gold, mut rec_found) = (0usize, 0usize);
    let (mut messages, mut bytes) = (0usize, 0usize);
    let mut scan_time = std::time::Duration::ZERO;

    for (n, line) in data.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let o: Value =
            serde_json::from_str(line).map_err(|_| format!("line {}: invalid JSON", n + 1))?;
        let id = o
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let text = o.get("text").and_then(Value::as_str).unwrap_or("");
        let gold = spans(text, &o, "spans");
        let decoy = spans(text, &o, "decoys");
        let negative = o
            .get("tags")
            .and_then(Value::as_array)
            .is_some_and(|t| t.iter().any(|x| x.as_str() == Some("negative")));
        let record = if args.with_record {
            record_from(&gold)
        } else {
            OrderRecord::default()
        };

        let t0 = Instant::now();
        let found: Vec<Finding> = redactor
            .scan(text, &record)
            .map_err(|e| format!("line {}: {e}", n + 1))?;
        scan_time += t0.elapsed();
        messages += 1;
        bytes += text.len();

        for g in &gold {
            let same: Vec<Range<usize>> = found
                .iter()
                .filter(|f| f.label.as_str() == g.label)
                .map(|f| f.range.clone())
                .collect();
            let any: Vec<Range<usize>> = found.iter().map(|f| f.range.clone()).collect();
            let t = per.entry(g.label.clone()).or_default();
            t.gold += 1;
            let strict = covered(text, &g.range, &same);
            if strict {
                t.strict += 1;
            }
            if covered(text, &g.range, &any) {
                t.coverage += 1;
            }
            if args.show_errors && !strict {
                let got: Vec<&str> = found
                    .iter()
                    .filter(|f| overlaps(&f.range, &g.range))
                    .map(|f| f.label.as_str())
                    .collect();
                println!("miss {id} {} {:?} got {:?}", g.label, g.range, got);
            }
            if args.with_record && in_record(g, &record) {
                rec_gold += 1;
                if strict {
                    rec_found += 1;
                }
            }
        }
        for f in &found {
            findings_total += 1;
            let t = per.entry(f.label.as_str().to_owned()).or_default();
            t.found += 1;
            if gold
                .iter()
                .any(|g| g.label == f.label.as_str() && overlaps(&g.range, &f.range))
            {
                t.tp += 1;
                tp_strict += 1;
            } else if args.show_errors {
                let what: Vec<&str> = gold
                    .iter()
                    .filter(|g| overlaps(&g.range, &f.range))
                    .map(|g| g.label.as_str())
                    .chain(
                        decoy
                            .iter()
                            .filter(|d| overlaps(&d.range, &f.range))
                            .map(|d| d.label.as_str()),
                    )
                    .collect();
                println!(
                    "false {id} {} {:?} ({}) overlaps {:?}",
                    f.label.as_str(),
                    f.range,
                    f.detector,
                    what
                );
            }
            if gold.iter().any(|g| overlaps(&g.range, &f.range)) {
                tp_any += 1;
            }
        }
        for d in &decoy {
            decoys += 1;
            if found.iter().any(|f| overlaps(&f.range, &d.range)) {
                decoys_hit += 1;
            }
        }
        if negative {
            negatives += 1;
            if !found.is_empty() {
                negatives_flagged += 1;
            }
        }
        let hidden: Vec<Range<usize>> = hidden_ranges(text, &found, Role::Driver)
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        for g in &gold {
            let parts: Vec<Range<usize>> = match g.label.as_str() {
                "ADDRESS" | "ZIP" => Vec::new(),
                "NAME" if g.name_part == "first" => Vec::new(),
                "NAME" => match &g.first {
                    Some(f) => vec![g.range.start..f.start, f.end..g.range.end],
                    None => vec![g.range.clone()],
                },
                _ => vec![g.range.clone()],
            };
            let parts: Vec<Range<usize>> = parts
                .into_iter()
                .filter(|p| {
                    text.get(p.clone())
                        .is_some_and(|s| s.chars().any(|c| !ignorable(c)))
                })
                .collect();
            if parts.is_empty() {
                continue;
            }
            must_hide += 1;
            if !parts.iter().all(|p| covered(text, p, &hidden)) {
                leaks += 1;
                if args.show_errors {
                    println!("leak {id} {} {:?}", g.label, g.range);
                }
            }
        }
    }

    let (mut gold_total, mut strict_total, mut cov_total) = (0, 0, 0);
    println!(
        "{:<14} {:>5} {:>8} {:>8} {:>6} {:>9}",
        "label", "gold", "recall", "covered", "found", "precision"
    );
    for l in Label::ALL {
        let Some(t) = per.get(l.as_str()) else {
            continue;
        };
        gold_total += t.gold;
        strict_total += t.strict;
        cov_total += t.coverage;
        println!(
            "{:<14} {:>5} {:>8.4} {:>8.4} {:>6} {:>9.4}",
            l.as_str(),
            t.gold,
            rate(t.strict, t.gold),
            rate(t.coverage, t.gold),
            t.found,
            rate(t.tp, t.found)
        );
    }
    println!(
        "spans: {gold_total}, found (label match) {strict_total}, covered (any label) {cov_total}"
    );
    println!(
        "findings: {findings_total}, overlapping a span of the same label {tp_strict}, of any label {tp_any} (precision any-label {:.4})",
        rate(tp_any, findings_total)
    );
    println!("decoys hit: {decoys_hit}/{decoys}");
    println!("negative messages flagged: {negatives_flagged}/{negatives}");
    println!("driver view: {leaks} of {must_hide} must-hide spans leak");
    if args.with_record {
        println!(
            "order-record values found: {rec_found}/{rec_gold} (recall {:.4})",
            rate(rec_found, rec_gold)
        );
    }
    let secs = scan_time.as_secs_f64();
    if secs > 0.0 {
        println!(
            "speed (this build, one thread): {:.0} msgs/s, {:.2} MB/s over {messages} messages",
            messages as f64 / secs,
            bytes as f64 / secs / 1e6
        );
    }
    println!(
        "recall={:.4} precision={:.4} driver_leaks={:.4} decoys_hit={:.4} negatives_flagged={:.4}",
        rate(strict_total, gold_total),
        rate(tp_strict, findings_total),
        rate(leaks, must_hide),
        rate(decoys_hit, decoys),
        rate(negatives_flagged, negatives)
    );
    Ok(())
}
