//! Medications and diagnoses (LABELS.md `MEDICATION`, `DIAGNOSIS`): dictionary phrases matched
//! on word boundaries, longest phrase first (`insulin glargine` before `insulin`).

use super::scan::{prio, Ctx, Kind};

/// Finds dictionary drugs and conditions.
pub(crate) fn detect(ctx: &mut Ctx<'_>) {
    let mut found = Vec::new();
    let mut i = 0;
    while i < ctx.toks.len() {
        let Some(t) = ctx.tok(i) else { break };
        if t.kind != Kind::Word {
            i += 1;
            continue;
        }
        let Some(list) = ctx.lex.phrases(ctx.low(i)) else {
            i += 1;
            continue;
        };
        let mut hit = None;
        for ph in list {
            if let Some(ex) = &ph.exact {
                if ph.words.len() == 1 && ctx.raw(i) != ex.as_str() {
                    continue;
                }
            }
            let mut j = i;
            let mut ok = true;
            for w in ph.words.iter().skip(1) {
                // Words of a phrase are separated by one space or a hyphen.
                let next = match ctx.tok(j + 1) {
                    Some(s) if s.kind == Kind::Space && s.e - s.s == 1 => j + 2,
                    Some(_) if ctx.is_sym(j + 1, b'-') => j + 2,
                    _ => {
                        ok = false;
                        break;
                    }
                };
                if ctx.low(next) != w {
                    ok = false;
                    break;
                }
                j = next;
            }
            if ok {
                hit = Some((j, ph.label));
                break;
            }
        }
        match hit {
            Some((j, label)) => {
                let end = ctx.tok(j).map_or(t.e, |x| x.e);
                // A possessive or plural `s` glued on stays outside the span.
                found.push((label, t.s..end));
                i = j + 1;
            }
            None => i += 1,
        }
    }
    for (label, r) in found {
        ctx.push(label, r, prio::DICT, "dictionary");
    }
}

/// Dictionary abbreviations written with dots (`H.I.V.`, `o.c.d`): two or more single letters
/// joined by dots read as the abbreviation, in any case (the dots say it is one).
pub(crate) fn detect_dotted(ctx: &mut Ctx<'_>) {
    let mut found = Vec::new();
    let mut i = 0;
    while i < ctx.toks.len() {
        let single = |j: usize| {
            ctx.tok(j)
                .is_some_and(|t| t.kind == Kind::Word && t.e == t.s + 1)
        };
        if !single(i) || !ctx.is_sym(i + 1, b'.') || !single(i + 2) {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut letters = String::new();
        while single(j) && letters.len() < 8 {
            letters.push(char::from(ctx.byte(ctx.tok(j).map_or(0, |t| t.s))));
            if !(ctx.is_sym(j + 1, b'.') && single(j + 2)) {
                break;
            }
            j += 2;
        }
        let key = letters.to_ascii_lowercase();
        let upper = letters.to_ascii_uppercase();
        let label = ctx.lex.phrases(&key).and_then(|list| {
            list.iter()
                .find(|p| p.words.len() == 1 && p.exact.as_ref().is_none_or(|e| *e == upper))
                .map(|p| p.label)
        });
        if let (Some(label), Some(s), Some(e)) = (label, ctx.tok(i), ctx.tok(j)) {
            let end = if ctx.is_sym(j + 1, b'.') {
                e.e + 1
            } else {
                e.e
            };
            found.push((label, s.s..end));
        }
        i = j + 1;
    }
    for (label, r) in found {
        ctx.push(label, r, prio::DICT, "dictionary");
    }
}
