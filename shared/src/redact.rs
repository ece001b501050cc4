//! PHI detection and redaction (issue 4; LABELS.md; SECURITY.md C5–C7, C9; 45 CFR 164.514(b)
//! Safe Harbor identifiers plus medication and diagnosis).
//!
//! The pipeline, run once per message before anything is stored or sent:
//! 1. guard: the text is capped at [`MAX_TEXT_BYTES`] before any work (C9);
//! 2. normalize a detection copy (fullwidth and other digits folded, zero-width and bidi
//!    characters dropped, dashes and spaces unified, spelled-out digit runs read as digits),
//!    keeping a map back to the original bytes (C6, C7);
//! 3. tokenize once, then run each detector only on the token windows that can hold its value:
//!    web (e-mail, URL, IP), the order record, digit chains (SSN, phone, card, NPI, MRN, member
//!    id, Rx, ZIP, age) with validators and cue words, alphanumeric ids (MBI, DEA, member ids),
//!    dates, addresses, drug/condition dictionaries, names;
//! 4. resolve overlaps by detector certainty and map each finding to exact original bytes.
//!
//! Views: [`render`] replaces what a role may not see with typed placeholders
//! ([`Label::placeholder`], e.g. `[SSN]`); a driver keeps the first name of a full name
//! (`Andre [NAME]`). [`mask_cards`] replaces card numbers at ingest for every role with
//! `[CARD ••••1111]` (PCI DSS: last four only).

mod address;
mod dates;
mod ids;
mod lexicon;
mod name_words;
mod names;
mod normalize;
mod numbers;
mod record;
mod scan;
mod terms;
mod validate;
mod web;

use crate::ids::Role;
use crate::labels::{Finding, Label, NamePart, OrderRecord};
use crate::policy::{visibility, Visibility};
use std::ops::Range;

/// Largest message the redactor scans, in UTF-8 bytes (checked before any work).
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Why a text could not be scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedactError {
    /// The text is longer than [`MAX_TEXT_BYTES`].
    TooLarge,
}

impl std::fmt::Display for RedactError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge => f.write_str("text too large to scan"),
        }
    }
}

impl std::error::Error for RedactError {}

/// The PHI detector. Built once (dictionaries are indexed in [`Redactor::new`]), then shared:
/// it is `Send + Sync` and holds no per-message state.
pub struct Redactor {
    lex: lexicon::Lexicon,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor(..)")
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    /// Builds the redactor and its dictionaries.
    pub fn new() -> Redactor {
        Redactor {
            lex: lexicon::Lexicon::new(),
        }
    }

    /// Finds PHI in `text`, using the order's own record for certain matches.
    ///
    /// Findings are sorted by start, never overlap, and carry byte ranges into the original
    /// `text`; `NAME` findings carry their part and, for a full name, the first-name range.
    ///
    /// # Errors
    /// [`RedactError::TooLarge`] when `text` is longer than [`MAX_TEXT_BYTES`].
    pub fn scan(&self, text: &str, record: &OrderRecord) -> Result<Vec<Finding>, RedactError> {
        if text.len() > MAX_TEXT_BYTES {
            return Err(RedactError::TooLarge);
        }

        let norm = normalize::normalize(text);
        let rec = record::RecordView::new(record);
        let mut ctx = scan::Ctx::new(&norm.text, &self.lex);

        web::detect(&mut ctx);
        ctx.seal_opaque();
        record::detect(&mut ctx, &rec);
        numbers::detect_chains(&mut ctx, &rec);
        ids::detect_ids(&mut ctx, &rec);
        dates::detect_month_dates(&mut ctx, &rec);
        address::detect(&mut ctx);
        terms::detect(&mut ctx);
        terms::detect_dotted(&mut ctx);
        names::detect(&mut ctx);

        Ok(scan::resolve(ctx.cands, &norm))
    }
}

/// Widens `r` to char boundaries of `text` and clamps it to the text.
fn clamp(text: &str, r: &Range<usize>) -> Range<usize> {
    let mut s = r.start.min(text.len());
    let mut e = r.end.min(text.len()).max(s);
    while s > 0 && !text.is_char_boundary(s) {
        s -= 1;
    }
    while e < text.len() && !text.is_char_boundary(e) {
        e += 1;
    }
    s..e
}

/// The byte ranges of `text` that `role` may not see, each with its placeholder label, sorted
/// and merged. Out-of-range or mid-character findings are widened, never dropped.
pub fn hidden_ranges(text: &str, findings: &[Finding], role: Role) -> Vec<(Range<usize>, Label)> {
    let mut out: Vec<(Range<usize>, Label)> = Vec::with_capacity(findings.len());
    for f in findings {
        let r = clamp(text, &f.range);
        match visibility(role, f.label) {
            Visibility::Visible => {}
            Visibility::Redacted => out.push((r, f.label)),
            Visibility::FirstNameOnly => match (f.name_part, &f.first_name) {
                (NamePart::First, _) => {}
                (_, Some(first))
                    if first.start >= r.start && first.end <= r.end && first.start < first.end =>
                {
                    let first = clamp(text, first);
                    // `Okafor, Sofia`: hide the surname, keep the comma and space readable.
                    let head = text.get(r.start..first.start).unwrap_or("");
                    let head_end = r.start + head.trim_end_matches([' ', ',']).len();
                    if head_end > r.start {
                        out.push((r.start..head_end, f.label));
                    }
                    let tail = text.get(first.end..r.end).unwrap_or("");
                    let skip = tail.len() - tail.trim_start().len();
                    if first.end + skip < r.end {
                        out.push((first.end + skip..r.end, f.label));
                    }
                }
                _ => out.push((r, f.label)),
            },
        }
    }
    out.sort_by_key(|(r, _)| r.start);
    let mut merged: Vec<(Range<usize>, Label)> = Vec::with_capacity(out.len());
    for (r, l) in out {
        match merged.last_mut() {
            Some((last, _)) if r.start < last.end => last.end = last.end.max(r.end),
            _ => merged.push((r, l)),
        }
    }
    merged
}

/// The view of `text` for `role`: every span the role may not see replaced by its label's
/// placeholder (`[SSN]`, `[NAME]`, ...); a driver keeps the first name of a full name.
pub fn render(text: &str, findings: &[Finding], role: Role) -> String {
    let hidden = hidden_ranges(text, findings, role);
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (r, label) in hidden {
        out.push_str(text.get(pos..r.start).unwrap_or(""));
        out.push_str(label.placeholder());
        pos = r.end;
    }
    out.push_str(text.get(pos..).unwrap_or(""));
    out
}

/// Replaces every `CREDIT_CARD` value with `[CARD ••••NNNN]` (its last four digits), for every
/// role, before storage (PCI DSS). Returns the new text and the findings re-mapped onto it (the
/// mask keeps the `CREDIT_CARD` label, so roles that may not see cards get `[CREDIT_CARD]`).
pub fn mask_cards(text: &str, findings: &[Finding]) -> (String, Vec<Finding>) {
    let mut out = String::with_capacity(text.len());
    let mut mapped = Vec::with_capacity(findings.len());
    let mut pos = 0usize;
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| f.range.start);
    for f in sorted {
        let r = clamp(text, &f.range);
        if r.start < pos {
            continue; // overlapping input: the earlier finding already covered it
        }
        out.push_str(text.get(pos..r.start).unwrap_or(""));
        let start = out.len();
        if f.label == Label::CreditCard {
            let digits: String = normalize::normalize(text.get(r.clone()).unwrap_or(""))
                .text
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            let last4 = digits.get(digits.len().saturating_sub(4)..).unwrap_or("");
            out.push_str("[CARD ••••");
            out.push_str(last4);
            out.push(']');
        } else {
            out.push_str(text.get(r.clone()).unwrap_or(""));
        }
        let shift = |x: usize| start + (x - r.start);
        mapped.push(Finding {
            label: f.label,
            range: start..out.len(),
            first_name: f
                .first_name
                .as_ref()
                .filter(|fr| fr.start >= r.start && fr.end <= r.end && f.label != Label::CreditCard)
                .map(|fr| shift(fr.start)..shift(fr.end)),
            name_part: f.name_part,
            detector: f.detector,
        });
        pos = r.end;
    }
    out.push_str(text.get(pos..).unwrap_or(""));
    (out, mapped)
}

/// What ingest does with a sender's message that carries PHI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestMode {
    /// Store the original (encrypted, cards masked) with its findings; serve each viewer its
    /// role's view. The default.
    Redact,
    /// Refuse the message (422 `PHI_REJECTED`) when it carries any of these labels; an empty
    /// list means any label.
    Reject(Vec<Label>),
    /// Store as sent, with no findings applied.
    Allow,
}

/// Ingest mode per sender role. Default: [`IngestMode::Redact`] for every role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestPolicy {
    modes: [IngestMode; 5],
}

impl Default for IngestPolicy {
    fn default() -> Self {
        IngestPolicy {
            modes: [
                IngestMode::Redact,
                IngestMode::Redact,
                IngestMode::Redact,
                IngestMode::Redact,
                IngestMode::Redact,
            ],
        }
    }
}

fn role_index(role: Role) -> usize {
    Role::ALL.iter().position(|r| *r == role).unwrap_or(0)
}

impl IngestPolicy {
    /// Sets the mode for messages sent by `role`.
    pub fn set(&mut self, role: Role, mode: IngestMode) {
        if let Some(m) = self.modes.get_mut(role_index(role)) {
            *m = mode;
        }
    }

    /// The mode for messages sent by `role`.
    pub fn mode(&self, role: Role) -> &IngestMode {
        self.modes
            .get(role_index(role))
            .unwrap_or(&IngestMode::Redact)
    }

    /// `Ok(())` when `role` may send a message with these findings; otherwise the labels that
    /// trigger rejection (sorted, deduplicated, names only) for a 422 `PHI_REJECTED`.
    ///
    /// # Errors
    /// The rejected labels when the sender's mode is [`IngestMode::Reject`] and one matches.
    pub fn check(&self, role: Role, findings: &[Finding]) -> Result<(), Vec<Label>> {
        let IngestMode::Reject(triggers) = self.mode(role) else {
            return Ok(());
        };
        let mut hit: Vec<Label> = findings
            .iter()
            .map(|f| f.label)
            .filter(|l| triggers.is_empty() || triggers.contains(l))
            .collect();
        hit.sort();
        hit.dedup();
        if hit.is_empty() {
            Ok(())
        } else {
            Err(hit)
        }
    }

    /// The findings to store for a message from `role`: none under [`IngestMode::Allow`].
    pub fn findings_to_store(&self, role: Role, findings: Vec<Finding>) -> Vec<Finding> {
        match self.mode(role) {
            IngestMode::Allow => Vec::new(),
            _ => findings,
        }
    }
}
