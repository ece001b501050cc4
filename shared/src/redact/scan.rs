//! One pass over the detection copy: tokens (words, numbers, mixed ids, symbols), then each
//! detector looks only at the token windows that can hold its kind of value, then overlapping
//! candidates are resolved by priority and mapped back to the original bytes (SECURITY.md C7).

use super::lexicon::{Cue, Lexicon};
use super::normalize::Normalized;
use crate::labels::{Finding, Label, NamePart};
use std::ops::Range;

/// Token kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Letters (and an inner apostrophe).
    Word,
    /// ASCII digits only.
    Num,
    /// Letters and digits mixed (`A3891164`, `20mg`, `4th`).
    Mixed,
    /// A run of spaces.
    Space,
    /// A line break.
    Newline,
    /// Any other single character.
    Sym,
}

/// One token of the detection copy (byte offsets into it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tok {
    pub s: usize,
    pub e: usize,
    pub kind: Kind,
}

/// A detected value before overlap resolution (offsets into the detection copy).
#[derive(Debug, Clone)]
pub(crate) struct Cand {
    pub label: Label,
    pub range: Range<usize>,
    pub prio: u8,
    pub first: Option<Range<usize>>,
    pub part: NamePart,
    pub detector: &'static str,
}

/// Priorities: the more certain detector wins an overlap.
pub(crate) mod prio {
    pub const RECORD: u8 = 100;
    pub const WEB: u8 = 90;
    pub const CHECKSUM: u8 = 80;
    pub const PHONE: u8 = 75;
    pub const DATE: u8 = 70;
    pub const ADDRESS: u8 = 65;
    pub const CUED: u8 = 60;
    pub const DICT: u8 = 50;
    pub const NAME: u8 = 40;
}

/// Everything the detectors share for one message.
pub(crate) struct Ctx<'a> {
    pub text: &'a str,
    pub lower: String,
    pub toks: Vec<Tok>,
    pub lex: &'a Lexicon,
    pub cands: Vec<Cand>,
    /// Byte ranges (detection copy) that detectors must not look inside (URLs, blobs).
    pub opaque: Vec<Range<usize>>,
}

/// The character starting at byte `i` of `text` (ASCII without decoding).
fn char_at(text: &str, i: usize) -> Option<char> {
    match text.as_bytes().get(i) {
        Some(b) if b.is_ascii() => Some(char::from(*b)),
        Some(_) => text.get(i..).and_then(|r| r.chars().next()),
        None => None,
    }
}

fn tokenize(text: &str) -> Vec<Tok> {
    let mut toks = Vec::with_capacity(text.len() / 3 + 4);
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(c) = char_at(text, i) {
        if c.is_alphanumeric() {
            let (mut alpha, mut digit) = (c.is_alphabetic(), c.is_ascii_digit());
            let mut other = !alpha && !digit;
            let s = i;
            i += c.len_utf8();
            loop {
                // ASCII letters and digits: no decoding.
                match bytes.get(i) {
                    Some(b) if b.is_ascii_alphabetic() => {
                        alpha = true;
                        i += 1;
                        continue;
                    }
                    Some(b) if b.is_ascii_digit() => {
                        digit = true;
                        i += 1;
                        continue;
                    }
                    _ => {}
                }
                let Some(d) = char_at(text, i) else { break };
                if d.is_alphanumeric() {
                    alpha |= d.is_alphabetic();
                    digit |= d.is_ascii_digit();
                    other |= !d.is_alphabetic() && !d.is_ascii_digit();
                    i += d.len_utf8();
                } else if d == '\'' && alpha && !digit {
                    // An inner apostrophe (O'Neill, Nina's) when a letter follows.
                    if !char_at(text, i + 1).is_some_and(char::is_alphabetic) {
                        break;
                    }
                    i += 1;
                } else {
                    break;
                }
            }
            let kind = if digit && !alpha && !other {
                Kind::Num
            } else if alpha && !digit {
                Kind::Word
            } else {
                Kind::Mixed
            };
            toks.push(Tok { s, e: i, kind });
        } else if c == ' ' {
            let s = i;
            while bytes.get(i) == Some(&b' ') {
                i += 1;
            }
            toks.push(Tok {
                s,
                e: i,
                kind: Kind::Space,
            });
        } else {
            let kind = if c == '\n' || c == '\u{2028}' || c == '\u{2029}' || c == '\u{85}' {
                Kind::Newline
            } else {
                Kind::Sym
            };
            let s = i;
            i += c.len_utf8();
            toks.push(Tok { s, e: i, kind });
        }
    }
    toks
}

const TITLE_ABBR: &[&str] = &["dr", "mr", "mrs", "ms", "st", "no", "pt", "jr", "sr", "apt"];

impl<'a> Ctx<'a> {
    /// Tokenizes the detection copy.
    pub fn new(text: &'a str, lex: &'a Lexicon) -> Self {
        Ctx {
            text,
            lower: text.to_ascii_lowercase(),
            toks: tokenize(text),
            lex,
            cands: Vec::new(),
            opaque: Vec::new(),
        }
    }

    /// The token at `i`.
    pub fn tok(&self, i: usize) -> Option<Tok> {
        self.toks.get(i).copied()
    }

    /// The lower-case (ASCII-folded) text of token `i`.
    pub fn low(&self, i: usize) -> &str {
        self.toks
            .get(i)
            .and_then(|t| self.lower.get(t.s..t.e))
            .unwrap_or("")
    }

    /// The text of token `i` as written (in the detection copy).
    pub fn raw(&self, i: usize) -> &str {
        self.toks
            .get(i)
            .and_then(|t| self.text.get(t.s..t.e))
            .unwrap_or("")
    }

    /// The byte at `pos` of the detection copy, or 0 past the end.
    pub fn byte(&self, pos: usize) -> u8 {
        self.text.as_bytes().get(pos).copied().unwrap_or(0)
    }

    /// Whether token `i` is the single character `c`.
    pub fn is_sym(&self, i: usize, c: u8) -> bool {
        self.tok(i)
            .is_some_and(|t| t.kind == Kind::Sym && t.e == t.s + 1 && self.byte(t.s) == c)
    }

    /// Index of the previous non-space token.
    pub fn prev(&self, i: usize) -> Option<usize> {
        let mut j = i;
        while j > 0 {
            j -= 1;
            if self.toks.get(j)?.kind != Kind::Space {
                return Some(j);
            }
        }
        None
    }

    /// Index of the next non-space token.
    pub fn next(&self, i: usize) -> Option<usize> {
        let mut j = i + 1;
        while let Some(t) = self.toks.get(j) {
            if t.kind != Kind::Space {
                return Some(j);
            }
            j += 1;
        }
        None
    }

    /// Whether token `i` ends a sentence (`.`, `!`, `?`, `;` or a line break).
    pub fn is_boundary(&self, i: usize) -> bool {
        let Some(t) = self.tok(i) else { return true };
        match t.kind {
            Kind::Newline => true,
            Kind::Sym => match self.byte(t.s) {
                b'!' | b'?' | b';' => true,
                b'.' => {
                    let next_space = matches!(self.byte(t.e), b' ' | b'\n' | 0);
                    let abbr = self
                        .prev(i)
                        .is_some_and(|p| TITLE_ABBR.contains(&self.low(p)));
                    next_space && !abbr
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// Whether token `i` starts a sentence.
    pub fn at_sentence_start(&self, i: usize) -> bool {
        match self.prev(i) {
            None => true,
            Some(p) => self.is_boundary(p) || (self.is_sym(p, b':') && self.prev(p).is_none()),
        }
    }

    /// The nearest cue word before token `i`, within `max_words` words of the same sentence,
    /// not reaching past another value.
    pub fn cue_before(&self, i: usize, max_words: usize) -> Option<(Cue, usize)> {
        self.cue_before_where(i, max_words, |_| true)
    }

    /// Like [`Ctx::cue_before`], but only cues that `keep` accepts count; others are read as
    /// plain words.
    pub fn cue_before_where(
        &self,
        i: usize,
        max_words: usize,
        keep: impl Fn(Cue) -> bool,
    ) -> Option<(Cue, usize)> {
        let mut j = i;
        let mut words = 0;
        while let Some(p) = self.prev(j) {
            if self.is_boundary(p) {
                return None;
            }
            let t = self.tok(p)?;
            match t.kind {
                Kind::Word => {
                    // `d.o.b.` written with dots.
                    if self.low(p) == "b"
                        && p >= 4
                        && self.low(p - 2) == "o"
                        && self.low(p - 4) == "d"
                    {
                        return Some((Cue::Dob, p));
                    }
                    if let Some(c) = self.lex.cue(self.low(p)).filter(|c| keep(*c)) {
                        // `zip code 94110`, `area code`: the first word decides.
                        let before = self.prev(p).map_or("", |q| self.low(q));
                        if c == Cue::Skip && self.low(p) == "code" {
                            match before {
                                "zip" | "postal" => return Some((Cue::Zip, p)),
                                "area" => return Some((Cue::Phone, p)),
                                _ => {}
                            }
                        }
                        return Some((c, p));
                    }
                    words += 1;
                }
                Kind::Mixed => {
                    // Glued cue with a symbol, e.g. `Rx#`, `SSN#`.
                    if let Some(c) = self.lex.cue(self.low(p)).filter(|c| keep(*c)) {
                        return Some((c, p));
                    }
                    return None;
                }
                // `last 4 of my SSN`: the count belongs to the cue phrase, not a value.
                Kind::Num
                    if matches!(
                        self.prev(p).map(|q| self.low(q)),
                        Some("last" | "final" | "últimos" | "ultimos")
                    ) => {}
                Kind::Num => return None,
                _ => {}
            }
            if words >= max_words {
                return None;
            }
            j = p;
        }
        None
    }

    /// Sorts and merges the opaque regions, so that [`Ctx::in_opaque`] is a binary search.
    /// Called once the web detectors (the only ones that add regions) have run.
    pub fn seal_opaque(&mut self) {
        self.opaque.sort_by_key(|o| o.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(self.opaque.len());
        for o in self.opaque.drain(..) {
            match merged.last_mut() {
                Some(last) if o.start < last.end => last.end = last.end.max(o.end),
                _ => merged.push(o),
            }
        }
        self.opaque = merged;
    }

    /// Whether `r` overlaps an opaque region (URL, e-mail, blob). Expects
    /// [`Ctx::seal_opaque`] to have run (regions sorted and disjoint).
    pub fn in_opaque(&self, r: &Range<usize>) -> bool {
        let k = self.opaque.partition_point(|o| o.end <= r.start);
        self.opaque
            .get(k)
            .is_some_and(|o| o.start < r.end && r.start < o.end)
    }

    /// Adds a candidate.
    pub fn push(&mut self, label: Label, range: Range<usize>, prio: u8, detector: &'static str) {
        if range.start < range.end {
            self.cands.push(Cand {
                label,
                range,
                prio,
                first: None,
                part: NamePart::Whole,
                detector,
            });
        }
    }
}

/// Keeps the best non-overlapping candidates and maps them to the original text.
pub(crate) fn resolve(mut cands: Vec<Cand>, norm: &Normalized) -> Vec<Finding> {
    cands.sort_by(|a, b| {
        b.prio
            .cmp(&a.prio)
            .then((b.range.end - b.range.start).cmp(&(a.range.end - a.range.start)))
            .then(a.range.start.cmp(&b.range.start))
    });
    // Byte occupancy keeps this linear in text length (no pairwise overlap checks).
    let mut taken = vec![false; norm.text.len()];
    let mut kept: Vec<Cand> = Vec::with_capacity(cands.len());
    for c in cands {
        let Some(slots) = taken.get_mut(c.range.clone()) else {
            continue;
        };
        if slots.iter().all(|t| !*t) {
            slots.iter_mut().for_each(|t| *t = true);
            kept.push(c);
        }
    }
    kept.sort_by_key(|c| c.range.start);
    let mut out = Vec::with_capacity(kept.len());
    for c in kept {
        let Some(range) = norm.to_original(&c.range) else {
            continue;
        };
        let first = c.first.as_ref().and_then(|f| norm.to_original(f));
        out.push(Finding {
            label: c.label,
            range,
            first_name: first,
            name_part: c.part,
            detector: c.detector,
        });
    }
    out
}
