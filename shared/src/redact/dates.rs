//! Dates (LABELS.md `DOB`, `DATE`; Safe Harbor (C)): numeric (`3/4/56`, `1956-03-04`,
//! `21/12/1945`), English and Spanish month names (`March 4th, 1956`, `4 de marzo de 1956`).
//! Birth dates and clinical dates are told apart by cue words; delivery scheduling dates, card
//! expiry dates and years alone are left visible.

use super::lexicon::Cue;
use super::numbers::Chain;
use super::record::RecordView;
use super::scan::{prio, Ctx, Kind};
use crate::labels::Label;

/// A date read from the text. `alt` is the day/month swap when both readings are valid.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DateVal {
    pub y: Option<u16>,
    pub m: u8,
    pub d: u8,
    pub alt: Option<(u8, u8)>,
}

impl DateVal {
    /// Whether this date can be the calendar date `(y, m, d)`.
    pub fn matches(&self, y: u16, m: u8, d: u8) -> bool {
        let md = (self.m == m && self.d == d) || self.alt == Some((m, d));
        md && self.y.is_none_or(|v| v == y)
    }
}

fn num(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |a, b| a * 10 + u32::from(b - b'0')))
}

fn year(s: &[u8]) -> Option<u16> {
    let v = num(s)?;
    match s.len() {
        2 => Some(if v <= 30 { 2000 + v } else { 1900 + v } as u16),
        4 if (1900..=2100).contains(&v) => Some(v as u16),
        _ => None,
    }
}

/// Month, day and the swapped reading when both are valid.
type MonthDay = (u8, u8, Option<(u8, u8)>);

fn md(a: u32, b: u32) -> Option<MonthDay> {
    let us = (1..=12).contains(&a) && (1..=31).contains(&b);
    let eu = (1..=12).contains(&b) && (1..=31).contains(&a);
    match (us, eu) {
        (true, true) if a != b => Some((a as u8, b as u8, Some((b as u8, a as u8)))),
        (true, _) => Some((a as u8, b as u8, None)),
        (false, true) => Some((b as u8, a as u8, None)),
        _ => None,
    }
}

/// Reads a numeric date chain.
pub(crate) fn numeric(ctx: &Ctx<'_>, c: &Chain) -> Option<DateVal> {
    let sep = *c.seps.first()?;
    if c.plus || c.paren || !c.seps.iter().all(|s| *s == sep) || !matches!(sep, b'/' | b'-' | b'.')
    {
        return None;
    }
    // At most three groups make a date: read them without allocating.
    if c.groups.len() > 3 {
        return None;
    }
    let mut gs: [&[u8]; 3] = [&[]; 3];
    for (slot, r) in gs.iter_mut().zip(&c.groups) {
        *slot = ctx.text.as_bytes().get(r.clone()).unwrap_or(&[]);
    }
    match gs.get(..c.groups.len()).unwrap_or(&[]) {
        [y, m, d] if y.len() == 4 && m.len() <= 2 && d.len() <= 2 => {
            let (y, m, d) = (year(y)?, num(m)?, num(d)?);
            ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some(DateVal {
                y: Some(y),
                m: m as u8,
                d: d as u8,
                alt: None,
            })
        }
        [a, b, y] if a.len() <= 2 && b.len() <= 2 && (y.len() == 2 || y.len() == 4) => {
            let (m, d, alt) = md(num(a)?, num(b)?)?;
            Some(DateVal {
                y: Some(year(y)?),
                m,
                d,
                alt,
            })
        }
        [a, b] if sep == b'/' && a.len() <= 2 && b.len() <= 2 => {
            let (m, d, alt) = md(num(a)?, num(b)?)?;
            Some(DateVal { y: None, m, d, alt })
        }
        _ => None,
    }
}

/// DOB, DATE, or nothing (delivery dates, expiry dates).
pub(crate) fn decide(ctx: &Ctx<'_>, tok: usize, d: &DateVal, rec: &RecordView) -> Option<Label> {
    if rec.dob.is_some_and(|(y, m, dd)| d.matches(y, m, dd)) {
        return Some(Label::Dob);
    }
    let date_cue = |c: Cue| {
        matches!(
            c,
            Cue::Dob
                | Cue::ClinicalDate
                | Cue::Delivery
                | Cue::Skip
                | Cue::Expiry
                | Cue::Pharmacy
                | Cue::Card
        )
    };
    match ctx.cue_before_where(tok, 7, date_cue).map(|(c, _)| c) {
        Some(Cue::Dob) => return Some(Label::Dob),
        Some(Cue::ClinicalDate) => return Some(Label::Date),
        Some(Cue::Delivery | Cue::Skip | Cue::Expiry | Cue::Pharmacy | Cue::Card) => return None,
        _ => {}
    }
    match d.y {
        Some(y) if y < 2010 => Some(Label::Dob),
        Some(_) => Some(Label::Date),
        None => None,
    }
}

fn month(w: &str) -> Option<u8> {
    let first = *w.as_bytes().first()?;
    if !(3..=10).contains(&w.len()) || !b"jfmasondeg".contains(&first) {
        return None;
    }
    Some(match w {
        "january" | "jan" | "enero" => 1,
        "february" | "feb" | "febrero" => 2,
        "march" | "mar" | "marzo" => 3,
        "april" | "apr" | "abril" => 4,
        "may" | "mayo" => 5,
        "june" | "jun" | "junio" => 6,
        "july" | "jul" | "julio" => 7,
        "august" | "aug" | "agosto" => 8,
        "september" | "sep" | "sept" | "septiembre" | "setiembre" => 9,
        "october" | "oct" | "octubre" => 10,
        "november" | "nov" | "noviembre" => 11,
        "december" | "dec" | "diciembre" => 12,
        _ => return None,
    })
}

/// A day number (`9`, `09`, `2nd`, `21st`) at token `i`.
fn day_at(ctx: &Ctx<'_>, i: usize) -> Option<u8> {
    let t = ctx.tok(i)?;
    let low = ctx.low(i);
    let digits: &str = match t.kind {
        Kind::Num => low,
        Kind::Mixed => {
            let p = low.find(|c: char| !c.is_ascii_digit())?;
            let (d, suf) = low.split_at(p);
            if !matches!(suf, "st" | "nd" | "rd" | "th" | "o" | "º") {
                return None;
            }
            d
        }
        _ => return None,
    };
    let v = num(digits.as_bytes())?;
    (digits.len() <= 2 && (1..=31).contains(&v)).then_some(v as u8)
}

fn year_at(ctx: &Ctx<'_>, i: usize) -> Option<u16> {
    let t = ctx.tok(i)?;
    (t.kind == Kind::Num && t.e - t.s == 4)
        .then(|| year(ctx.low(i).as_bytes()))
        .flatten()
}

/// Finds month-name dates.
pub(crate) fn detect_month_dates(ctx: &mut Ctx<'_>, rec: &RecordView) {
    let mut found = Vec::new();
    for i in 0..ctx.toks.len() {
        let Some(t) = ctx.tok(i) else { break };
        if t.kind != Kind::Word {
            continue;
        }
        let Some(m) = month(ctx.low(i)) else { continue };
        let mut after = ctx.next(i);
        if let Some(a) = after {
            if ctx.is_sym(a, b'.') && ctx.low(i).len() <= 4 {
                after = ctx.next(a);
            }
        }
        // Month first: `March 3, 1990`, `Jul 6 1936`, `January 2nd`.
        if let Some(day) = after.and_then(|a| day_at(ctx, a)) {
            let Some(a) = after else { continue };
            let mut end_tok = a;
            let mut y = None;
            let mut k = ctx.next(a);
            if let Some(kk) = k {
                if ctx.is_sym(kk, b',') {
                    k = ctx.next(kk);
                }
            }
            if let Some(yv) = k.and_then(|kk| year_at(ctx, kk)) {
                y = Some(yv);
                end_tok = k.unwrap_or(a);
            }
            let d = DateVal {
                y,
                m,
                d: day,
                alt: None,
            };
            let (Some(st), Some(et)) = (ctx.tok(i), ctx.tok(end_tok)) else {
                continue;
            };
            if let Some(label) = decide(ctx, i, &d, rec) {
                found.push((label, st.s..et.e));
            }
            continue;
        }
        // Month and year only (`born in March 1956`): a date element, hidden only after a
        // birth or clinical cue.
        let day_before = ctx.prev(i).is_some_and(|p| {
            let p = if matches!(ctx.low(p), "de" | "of")
                || ctx.is_sym(p, b'-')
                || ctx.is_sym(p, b'/')
            {
                ctx.prev(p).unwrap_or(p)
            } else {
                p
            };
            day_at(ctx, p).is_some()
        });
        if let Some(y) = after.and_then(|a| year_at(ctx, a)).filter(|_| !day_before) {
            let date_cue = |c: Cue| matches!(c, Cue::Dob | Cue::ClinicalDate);
            let label = match ctx.cue_before_where(i, 7, date_cue).map(|(c, _)| c) {
                Some(Cue::Dob) => Some(Label::Dob),
                Some(Cue::ClinicalDate) => Some(Label::Date),
                _ => None,
            };
            if let (Some(label), Some(a), Some(st)) = (label, after, ctx.tok(i)) {
                if let Some(et) = ctx.tok(a).filter(|_| y > 0) {
                    found.push((label, st.s..et.e));
                }
            }
            continue;
        }
        // Day first: `4 de marzo de 1956`, `3rd of March, 1990`, `4 March 1956`, `4-Mar-1956`.
        let mut p = ctx.prev(i);
        let mut dashed = false;
        if let Some(pp) = p {
            if matches!(ctx.low(pp), "de" | "of") {
                p = ctx.prev(pp);
            } else if (ctx.is_sym(pp, b'-') || ctx.is_sym(pp, b'/')) && pp + 1 == i {
                dashed = true;
                p = pp.checked_sub(1);
            }
        }
        let Some(day) = p.and_then(|pp| day_at(ctx, pp)) else {
            continue;
        };
        let Some(start_tok) = p else { continue };
        let mut end_tok = i;
        let mut y = None;
        let mut k = ctx.next(i);
        if let Some(kk) = k {
            let dash_year = dashed && (ctx.is_sym(kk, b'-') || ctx.is_sym(kk, b'/')) && kk == i + 1;
            if ctx.is_sym(kk, b',') || matches!(ctx.low(kk), "de" | "del") || dash_year {
                k = ctx.next(kk);
            }
        }
        if let Some(yv) = k.and_then(|kk| year_at(ctx, kk)) {
            y = Some(yv);
            end_tok = k.unwrap_or(i);
        }
        let d = DateVal {
            y,
            m,
            d: day,
            alt: None,
        };
        let (Some(st), Some(et)) = (ctx.tok(start_tok), ctx.tok(end_tok)) else {
            continue;
        };
        if let Some(label) = decide(ctx, start_tok, &d, rec) {
            found.push((label, st.s..et.e));
        }
    }
    for (label, r) in found {
        ctx.push(label, r, prio::DATE, "date_month");
    }
}
