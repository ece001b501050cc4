//! The order's own PHI record (issue 4, "Order context"; SECURITY.md C6, C7): every mention of
//! the patient's name (first or last alone, any case, with or without accents, through
//! lookalike letters), date of birth (any format the date reader knows, and digits only in any
//! order), MRN and member id (alone or written in groups), phone (any separators) and the
//! order's medications (the drug names inside an entry with strength and form) is found with
//! certainty.
//!
//! Record values are read the way pharmacy systems store them: `LAST, FIRST MIDDLE`, titles
//! and suffixes (`Mrs.`, `Jr.`), compound surnames (`Haddad-Smith`, `García López`) and name
//! particles (`de la Cruz`); medications such as `lenacapavir 463.5 mg/1.5 mL injection`,
//! `Apretude (cabotegravir) 600 mg` or `zolvaprine-XR`.

mod fold;
mod meds;

use super::scan::{prio, Ctx, Kind};
use crate::labels::{Label, NamePart, OrderRecord};
use std::borrow::Cow;
use std::ops::Range;

/// Titles and suffixes that are part of how a name is written, never a name part.
const NAME_AFFIXES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "jr", "sr", "sra", "srta", "ii", "iii", "iv", "md",
    "phd", "dds", "dmd", "rn", "esq",
];

/// Particles that join the parts of a surname (`de la Cruz`, `van der Berg`): part of a run of
/// name words, never a match alone.
const NAME_PARTICLES: &[&str] = &[
    "de", "del", "della", "la", "las", "los", "le", "da", "das", "dos", "di", "du", "van", "von",
    "der", "den", "ter", "ten", "el", "bin", "bint", "ibn", "al",
];

/// Longest record id that is looked for written in groups (longer ones only as one token).
const MAX_GROUPED_ID: usize = 40;

/// The record, pre-digested for matching.
#[derive(Debug, Default)]
pub(crate) struct RecordView {
    /// Name keys (see [`fold`]): given names first (the first one is the first name), then the
    /// surname parts.
    name: Vec<String>,
    /// Particle keys that may join name keys inside a run.
    particles: Vec<String>,
    /// The date of birth as (year, month, day).
    pub dob: Option<(u16, u8, u8)>,
    /// The date of birth as digits only, in every common order (`19560304`, `03041956`, ...).
    dob_digits: Vec<Vec<u8>>,
    mrn: Vec<u8>,
    member: Vec<u8>,
    phone: Vec<u8>,
    /// Record ids (compact, upper case) looked for in one token or in groups, with their label.
    grouped: Vec<(Vec<u8>, Label)>,
    /// Drug-name phrases from the medications, as keys, sorted by first word, longest first.
    meds: Vec<Vec<String>>,
}

fn compact_alnum(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_uppercase())
        .collect()
}

fn parse_any_date(s: &str) -> Option<(u16, u8, u8)> {
    let parts: Vec<&str> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .collect();
    let n = |p: &str| p.parse::<u32>().ok();
    let (y, m, d) = match parts.as_slice() {
        [y, m, d] if y.len() == 4 => (n(y)?, n(m)?, n(d)?),
        [m, d, y] if y.len() == 4 => (n(y)?, n(m)?, n(d)?),
        _ => return None,
    };
    ((1..=12).contains(&m) && (1..=31).contains(&d) && (1900..=2100).contains(&y))
        .then_some((y as u16, m as u8, d as u8))
}

/// The date written with digits only: year first, month first or day first, 4- or 2-digit year.
fn dob_digit_forms((y, m, d): (u16, u8, u8)) -> Vec<Vec<u8>> {
    let (yy, y2) = (format!("{y:04}"), format!("{:02}", y % 100));
    let (mm, dd) = (format!("{m:02}"), format!("{d:02}"));
    let mut out: Vec<Vec<u8>> = [
        [&yy, &mm, &dd],
        [&mm, &dd, &yy],
        [&dd, &mm, &yy],
        [&yy, &dd, &mm],
        [&mm, &dd, &y2],
        [&dd, &mm, &y2],
        [&y2, &mm, &dd],
    ]
    .iter()
    .map(|p| p.iter().flat_map(|s| s.bytes()).collect())
    .collect();
    out.sort();
    out.dedup();
    out
}

/// Splits a record value into word keys the way the tokenizer splits a message: runs of
/// letters and digits (an inner apostrophe stays, as in `O'Neill`); anything else separates.
fn word_keys(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        let inner_apostrophe = matches!(c, '\'' | '\u{2019}' | '\u{2bc}')
            && !cur.is_empty()
            && it.peek().is_some_and(|n| n.is_alphabetic());
        if c.is_alphanumeric() || inner_apostrophe {
            fold::push_folded(c, &mut cur);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The name keys of a record name, given names first: `HADDAD, MARIA` reads as `maria haddad`;
/// titles and suffixes are dropped, hyphenated parts are separate keys.
fn name_keys(name: &str) -> (Vec<String>, Vec<String>) {
    let words = |s: &str| -> Vec<String> {
        word_keys(s)
            .into_iter()
            .filter(|w| !NAME_AFFIXES.contains(&w.as_str()))
            .collect()
    };
    let ordered = match name.split_once(',') {
        Some((last, given)) => {
            let given = words(given);
            let mut last = words(last);
            if given.is_empty() {
                last
            } else {
                let mut all = given;
                all.append(&mut last);
                all
            }
        }
        None => words(name),
    };
    let mut keys = Vec::new();
    let mut particles = Vec::new();
    for (i, w) in ordered.into_iter().enumerate() {
        if w.chars().count() < 2 {
            continue;
        }
        if i > 0 && NAME_PARTICLES.contains(&w.as_str()) {
            particles.push(w);
        } else if !keys.contains(&w) {
            keys.push(w);
        }
    }
    (keys, particles)
}

impl RecordView {
    /// Digests a record. Ids and phones shorter than 4 characters are ignored (too ambiguous).
    pub fn new(r: &OrderRecord) -> Self {
        let (name, particles) = name_keys(r.patient_name.as_deref().unwrap_or(""));
        let keep = |v: Vec<u8>| if v.len() >= 4 { v } else { Vec::new() };
        let mut phone: Vec<u8> = r
            .phone
            .as_deref()
            .unwrap_or("")
            .bytes()
            .filter(u8::is_ascii_digit)
            .collect();
        if phone.len() == 11 && phone.first() == Some(&b'1') {
            phone.remove(0);
        }
        let mrn = keep(compact_alnum(r.mrn.as_deref().unwrap_or("")));
        let member = keep(compact_alnum(r.member_id.as_deref().unwrap_or("")));
        let mut grouped = Vec::new();
        for (id, label) in [(&mrn, Label::Mrn), (&member, Label::InsuranceId)] {
            if id.len() < 6 || id.len() > MAX_GROUPED_ID {
                continue;
            }
            grouped.push((id.clone(), label));
            // `XJH123456789` is also written without its letters: `123 456 789`.
            let lead = id.iter().take_while(|b| b.is_ascii_alphabetic()).count();
            if let Some(tail) = id.get(lead..).filter(|t| lead > 0 && t.len() >= 6) {
                grouped.push((tail.to_vec(), label));
            }
        }
        let dob = r.dob.as_deref().and_then(parse_any_date);
        let mut meds: Vec<Vec<String>> = r
            .medications
            .iter()
            .flat_map(|m| meds::drug_phrases(m))
            .collect();
        meds.sort_by(|a, b| a.first().cmp(&b.first()).then(b.len().cmp(&a.len())));
        meds.dedup();
        RecordView {
            name,
            particles,
            dob,
            dob_digits: dob.map(dob_digit_forms).unwrap_or_default(),
            mrn,
            member,
            phone: keep(phone),
            grouped,
            meds,
        }
    }

    /// The record label of a digit string, if it is the record's MRN, member id or phone.
    pub fn match_digits(&self, d: &[u8]) -> Option<Label> {
        if d.is_empty() {
            return None;
        }
        if d == self.mrn.as_slice() {
            return Some(Label::Mrn);
        }
        if d == self.member.as_slice() {
            return Some(Label::InsuranceId);
        }
        let d = if d.len() == 11 && d.first() == Some(&b'1') {
            d.get(1..).unwrap_or(d)
        } else {
            d
        };
        (d == self.phone.as_slice()).then_some(Label::Phone)
    }

    /// The record label of an alphanumeric id, compared without case.
    pub fn match_alnum(&self, s: &[u8]) -> Option<Label> {
        let up: Vec<u8> = s.iter().map(u8::to_ascii_uppercase).collect();
        if !self.mrn.is_empty() && up == self.mrn {
            return Some(Label::Mrn);
        }
        (!self.member.is_empty() && up == self.member).then_some(Label::InsuranceId)
    }

    fn is_empty(&self) -> bool {
        self.name.is_empty()
            && self.meds.is_empty()
            && self.grouped.is_empty()
            && self.dob_digits.is_empty()
    }

    /// Drug phrases whose first word is `first`, longest first.
    fn meds_from(&self, first: &str) -> &[Vec<String>] {
        let lo = self
            .meds
            .partition_point(|p| p.first().map_or("", String::as_str) < first);
        let hi = self
            .meds
            .partition_point(|p| p.first().map_or("", String::as_str) <= first);
        self.meds.get(lo..hi).unwrap_or(&[])
    }
}

/// A word token of the message, ready to compare with record keys.
struct Word<'t> {
    /// Its key (see [`fold`]), without a possessive `'s`.
    key: Cow<'t, str>,
    /// Byte end of the word without the possessive.
    end: usize,
    /// Whether a possessive `'s` followed (it ends a name or drug phrase).
    possessive: bool,
}

fn word<'t>(ctx: &'t Ctx<'_>, i: usize) -> Option<Word<'t>> {
    let t = ctx.tok(i)?;
    if !matches!(t.kind, Kind::Word | Kind::Mixed) {
        return None;
    }
    let raw = ctx.raw(i);
    let body = raw
        .strip_suffix("'s")
        .or_else(|| raw.strip_suffix("'S"))
        .filter(|b| !b.is_empty())
        .unwrap_or(raw);
    let end = t.s + body.len();
    let key = if body.is_ascii() {
        Cow::Borrowed(ctx.low(i).get(..body.len()).unwrap_or(""))
    } else {
        Cow::Owned(fold::key(body))
    };
    Some(Word {
        key,
        end,
        possessive: body.len() < raw.len(),
    })
}

/// The next word token when only one space or one hyphen separates it from token `j`.
fn joined_next(ctx: &Ctx<'_>, j: usize) -> Option<usize> {
    let sep = ctx.tok(j + 1)?;
    let ok = sep.kind == Kind::Space || ctx.is_sym(j + 1, b'-');
    let nx = ctx.tok(j + 2)?;
    (ok && matches!(nx.kind, Kind::Word | Kind::Mixed)).then_some(j + 2)
}

/// The previous word token when only one space or one hyphen separates it from token `j`.
fn joined_prev(ctx: &Ctx<'_>, j: usize) -> Option<usize> {
    let p = j.checked_sub(2)?;
    let sep = ctx.tok(j - 1)?;
    let ok = sep.kind == Kind::Space || ctx.is_sym(j - 1, b'-');
    (ok && ctx.tok(p)?.kind == Kind::Word).then_some(p)
}

/// One record finding before it is handed to the context.
struct Hit {
    label: Label,
    range: Range<usize>,
    part: NamePart,
    first: Option<Range<usize>>,
    /// The token after the finding.
    next: usize,
}

/// A run of record name words starting at token `i` (particles may join it, not start or end it).
fn match_name(ctx: &Ctx<'_>, rec: &RecordView, i: usize, w: &Word<'_>) -> Option<Hit> {
    let t = ctx.tok(i)?;
    let pos = rec.name.iter().position(|n| n == w.key.as_ref())?;
    let (mut j, mut end, mut count, mut possessive) = (i, w.end, 1, w.possessive);
    while !possessive {
        let mut k = joined_next(ctx, j);
        let mut hops = 0;
        while let Some(kk) = k {
            let is_particle =
                word(ctx, kk).is_some_and(|x| rec.particles.iter().any(|p| p == x.key.as_ref()));
            if !is_particle || hops >= 3 {
                break;
            }
            k = joined_next(ctx, kk);
            hops += 1;
        }
        let Some(nx) = k else { break };
        let Some(nw) = word(ctx, nx).filter(|x| rec.name.iter().any(|n| n == x.key.as_ref()))
        else {
            break;
        };
        j = nx;
        end = nw.end;
        possessive = nw.possessive;
        count += 1;
    }
    // Particles written before a surname belong to it (`de la Cruz`).
    let mut start = t.s;
    if pos > 0 {
        let mut k = i;
        for _ in 0..3 {
            let Some(p) = joined_prev(ctx, k) else { break };
            if !word(ctx, p).is_some_and(|x| rec.particles.iter().any(|q| q == x.key.as_ref())) {
                break;
            }
            start = ctx.tok(p).map_or(start, |x| x.s);
            k = p;
        }
    }
    let first_tok = pos == 0 && rec.name.len() > 1;
    let (part, first) = match (count > 1 || start < t.s, first_tok) {
        (true, true) => (NamePart::Whole, Some(t.s..w.end)),
        (true, false) => (NamePart::Whole, None),
        (false, true) => (NamePart::First, None),
        (false, false) => (NamePart::Last, None),
    };
    Some(Hit {
        label: Label::Name,
        range: start..end,
        part,
        first,
        next: j + 1,
    })
}

/// A record drug phrase starting at token `i`, with a release suffix (`-XR`, ` ER`) after it.
fn match_med(ctx: &Ctx<'_>, rec: &RecordView, i: usize, w: &Word<'_>) -> Option<Hit> {
    let t = ctx.tok(i)?;
    for phrase in rec.meds_from(w.key.as_ref()) {
        let (mut j, mut end, mut possessive) = (i, w.end, w.possessive);
        let mut ok = true;
        for want in phrase.iter().skip(1) {
            let nx = (!possessive).then(|| joined_next(ctx, j)).flatten();
            match nx.and_then(|nx| word(ctx, nx).map(|x| (nx, x))) {
                Some((nx, x)) if x.key.as_ref() == want => {
                    (j, end, possessive) = (nx, x.end, x.possessive);
                }
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            continue;
        }
        if !possessive {
            if let Some(nx) = joined_next(ctx, j) {
                let hyphen = ctx.is_sym(j + 1, b'-');
                let raw = ctx.raw(nx);
                let upper = !raw.bytes().any(|b| b.is_ascii_lowercase());
                if word(ctx, nx).is_some_and(|x| meds::is_release_suffix(&x.key))
                    && (hyphen || upper)
                {
                    j = nx;
                    end = ctx.tok(nx).map_or(end, |x| x.e);
                }
            }
        }
        return Some(Hit {
            label: Label::Medication,
            range: t.s..end,
            part: NamePart::Whole,
            first: None,
            next: j + 1,
        });
    }
    None
}

/// A record id from token `i`, in one token or in groups (`XJH 123 456 789`, `XJH-123-456-789`,
/// `123456789` for its digits alone).
fn match_grouped(ctx: &Ctx<'_>, rec: &RecordView, i: usize) -> Option<Hit> {
    let t = ctx.tok(i)?;
    let head = ctx.byte(t.s).to_ascii_uppercase();
    for (id, label) in &rec.grouped {
        if id.first() != Some(&head) {
            continue;
        }
        let (mut j, mut pos) = (i, 0usize);
        while let Some(tok) = ctx.tok(j) {
            if !matches!(tok.kind, Kind::Word | Kind::Num | Kind::Mixed) {
                break;
            }
            let part = ctx.raw(j).as_bytes();
            let want = id.get(pos..pos + part.len());
            if !want.is_some_and(|w| w.eq_ignore_ascii_case(part)) {
                break;
            }
            pos += part.len();
            if pos == id.len() {
                return Some(Hit {
                    label: *label,
                    range: t.s..tok.e,
                    part: NamePart::Whole,
                    first: None,
                    next: j + 1,
                });
            }
            let one_sep = ctx.tok(j + 1).is_some_and(|s| {
                s.e == s.s + 1 && matches!(ctx.byte(s.s), b' ' | b'-' | b'.' | b'/')
            });
            if !one_sep {
                break;
            }
            j += 2;
        }
    }
    None
}

/// Finds the record's name parts, medications, grouped ids and digit-only DOB in the text.
pub(crate) fn detect(ctx: &mut Ctx<'_>, rec: &RecordView) {
    if rec.is_empty() {
        return;
    }
    let mut found = Vec::new();
    let mut i = 0;
    while i < ctx.toks.len() {
        let Some(t) = ctx.tok(i) else { break };
        // Inside an e-mail or URL the whole value is already hidden as one finding.
        if !matches!(t.kind, Kind::Word | Kind::Num | Kind::Mixed) || ctx.in_opaque(&(t.s..t.e)) {
            i += 1;
            continue;
        }
        let hit = match word(ctx, i) {
            Some(w) if t.kind == Kind::Word => match_name(ctx, rec, i, &w)
                .or_else(|| match_med(ctx, rec, i, &w))
                .or_else(|| match_grouped(ctx, rec, i)),
            Some(w) => match_med(ctx, rec, i, &w).or_else(|| match_grouped(ctx, rec, i)),
            None => match_grouped(ctx, rec, i).or_else(|| {
                let digits = ctx.raw(i).as_bytes();
                rec.dob_digits.iter().any(|d| d == digits).then(|| Hit {
                    label: Label::Dob,
                    range: t.s..t.e,
                    part: NamePart::Whole,
                    first: None,
                    next: i + 1,
                })
            }),
        };
        match hit {
            Some(h) => {
                i = h.next.max(i + 1);
                found.push(h);
            }
            None => i += 1,
        }
    }
    for h in found {
        if h.label == Label::Name {
            ctx.push_name(h.range, h.part, h.first, prio::RECORD, "order_record");
        } else {
            ctx.push(h.label, h.range, prio::RECORD, "order_record");
        }
    }
}
