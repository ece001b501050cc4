//! Number and identifier detectors (LABELS.md section 3): SSN, phone, card, NPI, MRN, member id,
//! Rx number, ZIP, age, MBI, DEA. A digit chain (digits joined by single separators) is read once
//! and classified by its shape, its check digits and the nearest cue word; operational numbers
//! (orders, codes, prices, doses, times) are left alone.

use super::dates;
use super::lexicon::Cue;
use super::record::RecordView;
use super::scan::{prio, Ctx, Kind};
use super::validate;
use crate::labels::Label;
use std::ops::Range;

/// Longest digit chain that is classified at all; longer ones are skipped as a whole (C9).
const MAX_CHAIN_DIGITS: usize = 24;

/// Digits joined by single separators, e.g. `+1 (312) 555-0147`.
#[derive(Debug)]
pub(crate) struct Chain {
    pub range: Range<usize>,
    pub groups: Vec<Range<usize>>,
    pub seps: Vec<u8>,
    pub digits: Vec<u8>,
    pub plus: bool,
    pub paren: bool,
    /// Length of each group, computed once.
    pub lens: Vec<usize>,
}

impl Chain {
    fn lens(&self) -> &[usize] {
        &self.lens
    }
}

fn digit(b: u8) -> bool {
    b.is_ascii_digit()
}

/// Reads the chain that starts at byte `start` (a digit).
pub(crate) fn chain_at(ctx: &Ctx<'_>, start: usize) -> Chain {
    let b = |p: usize| ctx.byte(p);
    let mut s = start;
    let (mut plus, mut paren) = (false, false);
    if start > 0 && b(start - 1) == b'+' {
        plus = true;
        s = start - 1;
    } else if start > 0 && b(start - 1) == b'(' {
        paren = true;
        s = start - 1;
    }
    // Sized for the common chain (phone, SSN, card) so that pushes do not reallocate.
    let mut groups = Vec::with_capacity(8);
    let mut seps = Vec::with_capacity(8);
    let mut digits = Vec::with_capacity(MAX_CHAIN_DIGITS + 1);
    let mut pos = start;
    let mut open_paren = paren;
    loop {
        let gs = pos;
        while digit(b(pos)) {
            if digits.len() <= MAX_CHAIN_DIGITS {
                digits.push(b(pos));
            }
            pos += 1;
        }
        groups.push(gs..pos);
        let (c0, c1, c2, c3) = (b(pos), b(pos + 1), b(pos + 2), b(pos + 3));
        let step = match (c0, c1, c2, c3) {
            (b'-' | b'.' | b'/', d, _, _) if digit(d) => Some((c0, 1)),
            (b' ', d, _, _) if digit(d) => Some((b' ', 1)),
            (b' ', b'-', b' ', d) if digit(d) => Some((b'-', 3)),
            (b')', b' ', d, _) if open_paren && digit(d) => Some((b')', 2)),
            (b')', d, _, _) if open_paren && digit(d) => Some((b')', 1)),
            (b')', b'-' | b'.', d, _) if open_paren && digit(d) => Some((b')', 2)),
            (b' ', b'(', d, _) if (plus || digits == b"1") && groups.len() == 1 && digit(d) => {
                Some((b'(', 2))
            }
            _ => None,
        };
        let Some((sep, n)) = step else { break };
        if sep == b')' {
            open_paren = false;
        }
        if sep == b'(' {
            open_paren = true;
        }
        seps.push(sep);
        pos += n;
        if groups.len() > 64 {
            // Keep consuming digits so the scan stays linear, but stop recording groups.
            while digit(b(pos)) || matches!(b(pos), b'-' | b'.' | b'/' | b' ') && digit(b(pos + 1))
            {
                pos += 1;
                digits.push(b'0');
            }
            break;
        }
    }
    let lens = groups.iter().map(|g| g.end - g.start).collect();
    Chain {
        range: s..pos,
        groups,
        seps,
        digits,
        plus,
        paren,
        lens,
    }
}

fn word_after<'c>(ctx: &'c Ctx<'_>, pos: usize) -> (&'c str, bool) {
    // The word right after `pos` (skipping at most one space), and whether it was glued.
    let glued = ctx.byte(pos).is_ascii_alphabetic() || ctx.byte(pos) == 0xC2;
    let mut p = pos;
    if ctx.byte(p) == b' ' {
        p += 1;
    }
    let mut e = p;
    while ctx.byte(e).is_ascii_alphabetic() {
        e += 1;
    }
    (ctx.lower.get(p..e).unwrap_or(""), glued)
}

const UNITS: &[&str] = &[
    "mg", "mcg", "g", "ml", "l", "units", "unit", "u", "iu", "tablets", "tablet", "tabs", "tab",
    "pills", "pill", "capsules", "capsule", "caps", "pens", "pen", "inhalers", "inhaler", "vials",
    "vial", "min", "mins", "minute", "minutes", "hours", "hour", "hrs", "hr", "h", "days", "day",
    "weeks", "week", "months", "bags", "bag", "boxes", "box", "totes", "tote", "refills", "refill",
    "times", "lbs", "lb", "kg", "f", "c", "x", "am", "pm", "a", "p", "percent", "bottles",
    "bottle", "packs", "pack", "patches", "doses", "dose", "sprays", "puffs", "drops", "ounces",
    "oz", "miles", "mi", "km", "blocks", "stops", "items", "packages", "de", "of", "st", "nd",
    "rd", "th", "cc", "meq", "mmol", "pts", "people", "steps", "floors", "flights", "dollars",
    "cents", "usd", "k", "year", "yr", "month", "mo", "morning", "tarde", "noche", "mañana",
];

/// Whether the chain sits in an operational context: price, time, unit, percentage.
fn operational(ctx: &Ctx<'_>, c: &Chain, after: &str, glued: bool) -> bool {
    let s = c.range.start;
    let before = if s > 0 { ctx.byte(s - 1) } else { 0 };
    let before2 = if s > 1 { ctx.byte(s - 2) } else { 0 };
    let e = c.range.end;
    if before == b'$' || (before == b' ' && before2 == b'$') || matches!(ctx.byte(e), b'%' | b'$') {
        return true;
    }
    if ctx
        .text
        .get(e..)
        .is_some_and(|r| r.starts_with('°') || r.starts_with(" °"))
    {
        return true;
    }
    // Times: 3:45, 12:30pm.
    if (before == b':' && digit(before2)) || (ctx.byte(e) == b':' && digit(ctx.byte(e + 1))) {
        return true;
    }
    // Decimal amounts (`12.50`) right after a currency word are prices.
    if (glued || c.groups.len() == 1) && UNITS.contains(&after) {
        return true;
    }
    false
}

fn same_seps(c: &Chain, allowed: &[u8]) -> bool {
    c.seps
        .first()
        .is_some_and(|f| allowed.contains(f) && c.seps.iter().all(|s| s == f))
}

fn toll_free(d: &[u8]) -> bool {
    let area = match d.len() {
        10 => d.get(0..3),
        11 if d.first() == Some(&b'1') => d.get(1..4),
        _ => None,
    };
    matches!(
        area,
        Some(b"800" | b"888" | b"877" | b"866" | b"855" | b"844" | b"833")
    )
}

/// A phone shape that needs no cue.
fn phone_shape(c: &Chain) -> bool {
    let n = c.digits.len();
    let lens = c.lens();
    if c.plus {
        return (8..=15).contains(&n) && c.groups.len() >= 2;
    }
    if c.paren {
        return (10..=11).contains(&n) && lens.first().is_some_and(|l| (3..=5).contains(l));
    }
    if c.seps.contains(&b'(') {
        // `1 (206) 555-0180`
        return n == 11 && c.digits.first() == Some(&b'1');
    }
    let nanp = match lens {
        [3, 3, 4] => same_seps(c, b"-. "),
        [1, 3, 3, 4] => c.digits.first() == Some(&b'1') && same_seps(c, b"-. "),
        [1, 3, 4] => false,
        [3, 4] => c.seps.first() == Some(&b'-') || c.seps.first() == Some(&b'.'),
        _ => false,
    };
    if nanp {
        return true;
    }
    // Digit by digit (`6 0 8 5 5 5 0 1 4 3`, or spelled out), or a bare ten-digit NANP number.
    let spaced = c.groups.len() == n && same_seps(c, b" -");
    let nanp_digits = |d: &[u8]| {
        let d = if d.len() == 11 && d.first() == Some(&b'1') {
            d.get(1..).unwrap_or(d)
        } else {
            d
        };
        d.len() == 10
            && d.first().is_some_and(|x| *x >= b'2')
            && d.get(3).is_some_and(|x| *x >= b'2')
    };
    if (spaced && (10..=11).contains(&n)) || (c.groups.len() == 1 && nanp_digits(&c.digits)) {
        return nanp_digits(&c.digits) || c.digits.first() == Some(&b'0');
    }
    // UK/EU national formats: leading 0, 10-11 digits in 2-4 groups.
    c.digits.first() == Some(&b'0')
        && (10..=11).contains(&n)
        && (2..=4).contains(&c.groups.len())
        && c.seps.iter().all(|s| matches!(s, b' ' | b'-'))
}

fn card_shape(c: &Chain) -> bool {
    let lens = c.lens();
    if lens.len() == 1 {
        return true;
    }
    if lens.iter().all(|l| *l == 1) {
        return true; // typed digit by digit
    }
    let all4 = lens.iter().take(lens.len() - 1).all(|l| *l == 4);
    all4 || matches!(lens, [4, 6, 5] | [4, 6, 4]) && same_seps(c, b"- ")
}

fn ssn_shape(c: &Chain) -> bool {
    (c.lens() == [3, 2, 4] && same_seps(c, b"-. "))
        || (c.digits.len() == 9 && c.groups.len() == 9 && same_seps(c, b" -"))
}

/// What the chain is, given its cue and surroundings.
fn classify(
    ctx: &Ctx<'_>,
    c: &Chain,
    cue: Option<Cue>,
    rec: &RecordView,
) -> Option<(Label, u8, &'static str)> {
    let n = c.digits.len();
    if n > MAX_CHAIN_DIGITS || n == 0 {
        return None;
    }
    if let Some(l) = rec.match_digits(&c.digits) {
        return Some((l, prio::RECORD, "order_record"));
    }
    if (13..=19).contains(&n) && card_shape(c) && validate::luhn(&c.digits) {
        return Some((Label::CreditCard, prio::CHECKSUM, "card_luhn"));
    }
    let (after, _) = word_after(ctx, c.range.end);
    // Formats that say what they are win over operational cue words (`door 923-45-6789`).
    let strong_shape = ssn_shape(c) || (phone_shape(c) && c.groups.len() >= 2);
    if strong_shape
        && matches!(
            cue,
            Some(Cue::Skip | Cue::Delivery | Cue::Expiry | Cue::Card)
        )
    {
        if ssn_shape(c) {
            return Some((Label::Ssn, prio::CHECKSUM, "ssn_shape"));
        }
        return (!toll_free(&c.digits)).then_some((Label::Phone, prio::PHONE, "phone_shape"));
    }
    match cue {
        Some(Cue::Ssn) if n == 9 || n == 4 => return Some((Label::Ssn, prio::CHECKSUM, "ssn_cue")),
        Some(Cue::Npi) if n == 10 => return Some((Label::Npi, prio::CHECKSUM, "npi")),
        Some(Cue::Mrn) if (4..=12).contains(&n) => {
            return Some((Label::Mrn, prio::CUED, "mrn_cue"))
        }
        Some(Cue::Insurance | Cue::Medicare) if (6..=15).contains(&n) => {
            return Some((Label::InsuranceId, prio::CUED, "member_cue"))
        }
        Some(Cue::Rx) if (5..=12).contains(&n) => {
            return Some((Label::RxNumber, prio::CUED, "rx_cue"))
        }
        Some(Cue::Zip) if n == 5 || (n == 9 && c.lens() == [5, 4]) => {
            return Some((Label::Zip, prio::CUED, "zip_cue"))
        }
        Some(Cue::Age) if n <= 3 && age_value(&c.digits) => {
            return Some((Label::Age, prio::CUED, "age_cue"))
        }
        Some(Cue::Phone) if (7..=15).contains(&n) && !toll_free(&c.digits) => {
            return Some((Label::Phone, prio::PHONE, "phone_cue"))
        }
        Some(Cue::Pharmacy | Cue::Skip | Cue::Expiry | Cue::Card) => return None,
        _ => {}
    }
    if ssn_shape(c) {
        return Some((Label::Ssn, prio::CHECKSUM, "ssn_shape"));
    }
    if n == 10 && c.groups.len() == 1 && validate::npi(&c.digits) {
        return Some((Label::Npi, prio::CHECKSUM, "npi_luhn"));
    }
    if phone_shape(c) {
        return if toll_free(&c.digits) {
            None
        } else {
            Some((Label::Phone, prio::PHONE, "phone_shape"))
        };
    }
    if n <= 3
        && age_value(&c.digits)
        && (years_old(ctx, c.range.end) || age_verb_before(ctx, c.range.start))
    {
        return Some((Label::Age, prio::CUED, "age_years"));
    }
    if n == 5 && c.groups.len() == 1 && after == "area" {
        return Some((Label::Zip, prio::CUED, "zip_area"));
    }
    None
}

fn age_value(d: &[u8]) -> bool {
    let v = d.iter().fold(0u32, |a, b| a * 10 + u32::from(b - b'0'));
    (90..=130).contains(&v)
}

/// `she is 95`, `I'm 91`: an age-like number right after a copula.
fn age_verb_before(ctx: &Ctx<'_>, start: usize) -> bool {
    let before = ctx.lower.get(..start).unwrap_or("").trim_end();
    let word = before
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '\''))
        .next()
        .unwrap_or("");
    let after = ctx.lower.get(start..).unwrap_or("");
    let next_ok = after
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start()
        .chars()
        .next()
        .is_none_or(|c| matches!(c, ',' | '.' | '!' | '?' | ';' | 'a' | 'n' | 't'));
    matches!(
        word,
        "is" | "i'm" | "im" | "she's" | "he's" | "am" | "turns" | "turning" | "was"
    ) && next_ok
}

fn years_old(ctx: &Ctx<'_>, end: usize) -> bool {
    let rest = ctx.lower.get(end..).unwrap_or("");
    let rest = rest.trim_start_matches([' ', '-']);
    rest.starts_with("years old")
        || rest.starts_with("year old")
        || rest.starts_with("years of age")
        || rest.starts_with("year-old")
        || rest.starts_with("years-old")
        || rest.starts_with("y.o")
        || rest.starts_with("yr old")
        || rest.starts_with("yo ")
        || rest.starts_with("y/o")
        || rest.starts_with("yrs old")
        || rest.starts_with("años")
}

/// Runs the digit-chain detector over every number token.
pub(crate) fn detect_chains(ctx: &mut Ctx<'_>, rec: &RecordView) {
    let mut consumed = 0usize;
    let mut found = Vec::new();
    for i in 0..ctx.toks.len() {
        let Some(t) = ctx.tok(i) else { break };
        if t.s < consumed {
            continue;
        }
        let (start, forced) = match t.kind {
            Kind::Num => (t.s, None),
            Kind::Mixed => match glued_cue(ctx, i) {
                Some((pos, cue)) => (pos, Some(cue)),
                None => continue,
            },
            _ => continue,
        };
        // A short lone number (`3 bags`, `stop 4`) is nothing unless it could be an age.
        if forced.is_none() && t.e - t.s <= 2 {
            let next = ctx.byte(t.e);
            let joins = (matches!(next, b'-' | b'.' | b'/' | b' ' | b')')
                && digit(ctx.byte(t.e + 1)))
                || (next == b' ' && ctx.byte(t.e + 1) == b'(');
            let opens = t.s > 0 && matches!(ctx.byte(t.s - 1), b'+' | b'(');
            let maybe_age = t.e - t.s == 2 && ctx.byte(t.s) == b'9';
            if !(joins || opens || maybe_age) {
                continue;
            }
        }
        let c = chain_at(ctx, start);
        consumed = c.range.end;
        if ctx.in_opaque(&c.range) {
            continue;
        }
        let (after, glued) = word_after(ctx, c.range.end);
        if forced.is_none() && glued && c.groups.len() == 1 {
            continue; // `20mg`, `8am`: a mixed token, read by the id detector.
        }
        if operational(ctx, &c, after, glued) {
            continue;
        }
        let cue = forced.or_else(|| ctx.cue_before(i, 6).map(|(c, _)| c));
        if let Some(d) = dates::numeric(ctx, &c) {
            if let Some(label) = dates::decide(ctx, i, &d, rec) {
                found.push((label, c.range.clone(), prio::DATE, "date_numeric"));
            }
            continue;
        }
        if let Some((label, p, det)) = classify(ctx, &c, cue, rec) {
            let start = if matches!(label, Label::Mrn | Label::InsuranceId | Label::RxNumber) {
                letter_prefix(ctx, c.range.start).unwrap_or(c.range.start)
            } else {
                c.range.start
            };
            found.push((label, start..c.range.end, p, det));
        } else if c.seps.contains(&b' ') {
            // Two numbers side by side ("rx 1234567 30"): read each space-separated part.
            for part in split_spaces(ctx, &c) {
                if let Some((label, p, det)) = classify(ctx, &part, cue, rec) {
                    found.push((label, part.range.clone(), p, det));
                }
            }
        }
    }
    for (label, r, p, det) in found {
        ctx.push(label, r, p, det);
    }
}

/// `XGP 847 293 011`, `W-7399-6987785`: a short capital-letter prefix that is part of the id
/// (not a cue word such as `MRN` or `RX`).
fn letter_prefix(ctx: &Ctx<'_>, start: usize) -> Option<usize> {
    let sep = start.checked_sub(1)?;
    if !matches!(ctx.byte(sep), b'-' | b' ') {
        return None;
    }
    let mut s = sep;
    while s > 0 && ctx.byte(s - 1).is_ascii_uppercase() {
        s -= 1;
    }
    let len = sep - s;
    let word = ctx.lower.get(s..sep)?;
    let bounded = s == 0 || !ctx.byte(s - 1).is_ascii_alphanumeric();
    ((1..=4).contains(&len)
        && bounded
        && ctx.lex.cue(word).is_none()
        && word != "id"
        && word != "no")
        .then_some(s)
}

fn split_spaces(ctx: &Ctx<'_>, c: &Chain) -> Vec<Chain> {
    let mut out = Vec::new();
    let mut gi = 0;
    while gi < c.groups.len() {
        let mut gj = gi;
        while gj < c.seps.len() && c.seps.get(gj) != Some(&b' ') {
            gj += 1;
        }
        let (Some(a), Some(b)) = (c.groups.get(gi), c.groups.get(gj)) else {
            break;
        };
        let sub = chain_sub(
            ctx,
            a.start..b.end,
            c.groups.get(gi..=gj).unwrap_or(&[]),
            c.seps.get(gi..gj).unwrap_or(&[]),
        );
        out.push(sub);
        gi = gj + 1;
    }
    out
}

fn chain_sub(ctx: &Ctx<'_>, range: Range<usize>, groups: &[Range<usize>], seps: &[u8]) -> Chain {
    let digits = groups
        .iter()
        .flat_map(|g| {
            ctx.text
                .as_bytes()
                .get(g.clone())
                .unwrap_or(&[])
                .iter()
                .copied()
        })
        .collect();
    Chain {
        range,
        groups: groups.to_vec(),
        seps: seps.to_vec(),
        digits,
        plus: false,
        paren: false,
        lens: groups.iter().map(|g| g.end - g.start).collect(),
    }
}

/// A mixed token whose letters are a cue word glued to digits (`SSN936959067`, `phone5550154`).
fn glued_cue(ctx: &Ctx<'_>, i: usize) -> Option<(usize, Cue)> {
    let t = ctx.tok(i)?;
    let low = ctx.low(i);
    let split = low.find(|c: char| c.is_ascii_digit())?;
    let (letters, rest) = low.split_at(split);
    let continues =
        matches!(ctx.byte(t.e), b'-' | b'.' | b' ') && ctx.byte(t.e + 1).is_ascii_digit();
    if letters.is_empty()
        || !rest.bytes().all(|b| b.is_ascii_digit())
        || (rest.len() < 4 && !continues)
    {
        return None;
    }
    let cue = ctx.lex.cue(letters).or_else(|| {
        [
            "phone", "cell", "mobile", "tel", "ssn", "mrn", "dob", "npi", "at", "is", "number",
        ]
        .iter()
        .find(|w| letters.ends_with(*w))
        .and_then(|w| match *w {
            "at" | "is" | "number" => Some(Cue::Phone),
            w => ctx.lex.cue(w),
        })
    })?;
    Some((t.s + split, cue))
}
