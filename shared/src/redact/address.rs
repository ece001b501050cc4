//! Street addresses (LABELS.md `ADDRESS`; Safe Harbor (B)): house number, capitalised street
//! name, street suffix, an attached unit, and `City, ST 12345` when it follows. Units, gate codes
//! and locker numbers on their own are not addresses.

use super::scan::{prio, Ctx, Kind};
use crate::labels::Label;

pub(crate) const SUFFIXES: &[&str] = &[
    "st",
    "street",
    "ave",
    "avenue",
    "av",
    "rd",
    "road",
    "dr",
    "drive",
    "blvd",
    "boulevard",
    "ln",
    "lane",
    "way",
    "ct",
    "court",
    "pl",
    "place",
    "ter",
    "terrace",
    "cir",
    "circle",
    "pkwy",
    "parkway",
    "hwy",
    "highway",
    "sq",
    "square",
    "trl",
    "trail",
    "loop",
    "row",
    "path",
    "pike",
    "plz",
    "plaza",
    "cres",
    "crescent",
    "close",
    "walk",
    "aly",
    "alley",
    "xing",
    "crossing",
    "expy",
    "expressway",
    "fwy",
    "freeway",
    "run",
    "pt",
    "point",
    "bend",
    "cove",
    "grove",
    "heights",
    "hts",
    "manor",
    "mews",
    "ridge",
    "commons",
    "green",
    "vista",
];

/// Suffixes that are not ordinary words, so a lower-case street name before them is safe.
const CLEAR_SUFFIXES: &[&str] = &[
    "st",
    "street",
    "ave",
    "avenue",
    "rd",
    "road",
    "blvd",
    "boulevard",
    "ln",
    "lane",
    "dr",
    "drive",
    "ct",
    "pl",
    "pkwy",
    "parkway",
    "hwy",
    "highway",
    "ter",
    "cir",
    "trl",
];

const UNIT_WORDS: &[&str] = &[
    "apt",
    "apartment",
    "unit",
    "suite",
    "ste",
    "bldg",
    "building",
    "fl",
    "floor",
    "rm",
    "room",
    "lot",
    "space",
];

const STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC", "PR",
];

const DIRECTIONS: &[&str] = &[
    "n", "s", "e", "w", "ne", "nw", "se", "sw", "north", "south", "east", "west",
];

/// Whether `w` (lower case) is a street suffix.
pub(crate) fn street_suffix(w: &str) -> bool {
    SUFFIXES.contains(&w)
}

fn cap(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_uppercase)
}

/// Next token index if it is exactly one space away.
fn after_space(ctx: &Ctx<'_>, i: usize) -> Option<usize> {
    let sp = ctx.tok(i + 1)?;
    (sp.kind == Kind::Space && sp.e - sp.s == 1).then_some(i + 2)
}

/// Finds street addresses.
pub(crate) fn detect(ctx: &mut Ctx<'_>) {
    let mut found = Vec::new();
    let mut i = 0;
    while i < ctx.toks.len() {
        match street_at(ctx, i) {
            Some((s, e, last)) => {
                found.push(s..e);
                i = last + 1;
            }
            None => i += 1,
        }
    }
    for r in found {
        ctx.push(Label::Address, r, prio::ADDRESS, "address");
    }
}

/// `Address: 19 Rue Lafayette, Paris`: after an explicit address label, a value that starts with
/// a number runs to the end of the line or sentence (at most 100 bytes).
fn labelled_at(ctx: &Ctx<'_>, i: usize) -> Option<(usize, usize, usize)> {
    let t = ctx.tok(i).filter(|t| t.kind == Kind::Num)?;
    let colon = ctx.prev(i)?;
    let label = ctx.prev(colon)?;
    if !ctx.is_sym(colon, b':')
        || !matches!(
            ctx.low(label),
            "address" | "addr" | "dirección" | "direccion" | "domicilio"
        )
    {
        return None;
    }
    let mut last = i;
    let mut k = i + 1;
    while let Some(kt) = ctx.tok(k) {
        if kt.e - t.s > 100 || ctx.is_boundary(k) {
            break;
        }
        if !matches!(kt.kind, Kind::Space | Kind::Sym) {
            last = k;
        }
        k += 1;
    }
    Some((t.s, ctx.tok(last)?.e, last))
}

fn street_at(ctx: &Ctx<'_>, i: usize) -> Option<(usize, usize, usize)> {
    if let Some(longest) = street_at_inner(ctx, i) {
        return Some(longest);
    }
    labelled_at(ctx, i)
}

fn street_at_inner(ctx: &Ctx<'_>, i: usize) -> Option<(usize, usize, usize)> {
    let t = ctx.tok(i)?;
    if t.kind != Kind::Num || t.e - t.s > 6 || ctx.in_opaque(&(t.s..t.e)) {
        return None;
    }
    if i > 0 && (ctx.is_sym(i - 1, b'#') || ctx.is_sym(i - 1, b'$') || ctx.is_sym(i - 1, b'-')) {
        return None;
    }
    // Street name words, then a suffix.
    let mut j = i;
    let mut suffix_at = None;
    let mut lower_seen = false;
    for names in 0..6 {
        let k = after_space(ctx, j)?;
        let kt = ctx.tok(k)?;
        let low = ctx.low(k);
        let raw = ctx.raw(k);
        let ordinal = kt.kind == Kind::Mixed
            && (low.ends_with("st")
                || low.ends_with("nd")
                || low.ends_with("rd")
                || low.ends_with("th"));
        if kt.kind == Kind::Word && street_suffix(low) && names > 0 {
            // Lower-case street names only with an unmistakable suffix (`12 oak st`).
            if lower_seen && !CLEAR_SUFFIXES.contains(&low) {
                return None;
            }
            suffix_at = Some(k);
            break;
        }
        let lower_word =
            kt.kind == Kind::Word && !cap(raw) && !ctx.lex.is_not_name(low) && low.len() > 1;
        lower_seen |= lower_word;
        let ok = lower_word
            || (kt.kind == Kind::Word && cap(raw) && !UNIT_WORDS.contains(&low))
            || ordinal
            || DIRECTIONS.contains(&low) && cap(raw);
        if !ok {
            return None;
        }
        j = k;
    }
    let mut last = suffix_at?;
    while let Some(k) = after_space(ctx, last) {
        if ctx.tok(k).is_some_and(|t| t.kind == Kind::Word) && street_suffix(ctx.low(k)) {
            last = k;
        } else {
            break;
        }
    }
    let mut end = ctx.tok(last)?.e;
    // `St., Salem`: an abbreviation dot before a comma belongs to the address.
    let dotted = ctx.is_sym(last + 1, b'.') && ctx.is_sym(last + 2, b',');
    if dotted {
        last += 1;
    }
    // Attached unit: `, Apt 196`, ` Unit 39`, ` #12`.
    let mut pos = last + 1;
    if ctx.is_sym(pos, b',') {
        pos += 1;
    }
    if ctx.tok(pos).is_some_and(|t| t.kind == Kind::Space) {
        let u = pos + 1;
        if UNIT_WORDS.contains(&ctx.low(u)) || ctx.is_sym(u, b'#') {
            let mut v = u + 1;
            if ctx.is_sym(v, b'.') || ctx.is_sym(v, b'#') {
                v += 1;
            }
            if ctx.tok(v).is_some_and(|t| t.kind == Kind::Space) {
                v += 1;
            }
            let value = ctx.tok(v).filter(|t| {
                matches!(t.kind, Kind::Num | Kind::Mixed)
                    || (t.kind == Kind::Word && t.e - t.s <= 2)
            });
            if let Some(vt) = value {
                last = v;
                end = vt.e;
            }
        }
    }
    // `, City, ST 12345` or `, City ST 12345`.
    if let Some((e2, l2)) = city_state(ctx, last) {
        end = e2;
        last = l2;
    }
    Some((t.s, end, last))
}

fn city_state(ctx: &Ctx<'_>, last: usize) -> Option<(usize, usize)> {
    if !ctx.is_sym(last + 1, b',') {
        return None;
    }
    let mut j = last + 1;
    let mut words = 0;
    loop {
        let k = after_space(ctx, j)?;
        let kt = ctx.tok(k)?;
        let raw = ctx.raw(k);
        if kt.kind != Kind::Word || !cap(raw) {
            return None;
        }
        if words > 0 && STATES.contains(&raw) {
            // `City ST`
            return zip_after(ctx, k);
        }
        words += 1;
        j = k;
        if ctx.is_sym(k + 1, b',') {
            let s = after_space(ctx, k + 1)?;
            if STATES.contains(&ctx.raw(s)) {
                return zip_after(ctx, s);
            }
            return None;
        }
        if words >= 3 {
            return None;
        }
    }
}

fn zip_after(ctx: &Ctx<'_>, st: usize) -> Option<(usize, usize)> {
    let st_end = ctx.tok(st)?.e;
    let Some(z) = after_space(ctx, st) else {
        return Some((st_end, st));
    };
    let zt = ctx.tok(z)?;
    if zt.kind != Kind::Num || zt.e - zt.s != 5 {
        return Some((st_end, st));
    }
    if ctx.is_sym(z + 1, b'-')
        && ctx
            .tok(z + 2)
            .is_some_and(|t| t.kind == Kind::Num && t.e - t.s == 4)
    {
        return Some((ctx.tok(z + 2)?.e, z + 2));
    }
    Some((zt.e, z))
}
