//! Person names (LABELS.md `NAME`; Safe Harbor (A)): cue words (`Pt`, `patient:`, `my name is`,
//! `I'm`, `my sister`, `Dr.`, `Hi`, `for`, ...), a given-name/surname dictionary, and capitalised
//! word runs after a cue. Staff introducing themselves ("this is Dana from the pharmacy") and
//! people being thanked are staff, not patients, and stay visible.

use super::name_words::{
    AFTER_VOCATIVE, CALL_VERBS, GREETINGS, PARTICLES, PERSONAL_AFTER, PERSON_VERBS, RELATIONS,
    STAFF_WORDS, SURNAME_ENDINGS, THANKS, TITLES, WEAK,
};
use super::scan::{prio, Ctx, Kind};
use crate::labels::{Label, NamePart};

#[derive(Clone, Copy, PartialEq, Eq)]
enum CueKind {
    /// Any case accepted (`my name is andre duarte`).
    AnyCase,
    /// Capitalised words accepted without a dictionary hit.
    Strong,
    /// Self-introduction: strong, but staff when a pharmacy word follows.
    Intro,
    /// `Dr.`, `Mrs.`: a single word is a last name.
    Title,
    /// Greeting: a single word is a first name.
    Greeting,
    /// Weak: needs a dictionary hit or two capitalised words.
    Weak,
    /// A verb whose object is a person (`call`, `ask`): a capitalised word is a name.
    Call,
    None,
    /// Thanks: the person is staff.
    Staff,
}

fn cue_for(ctx: &Ctx<'_>, j: usize) -> CueKind {
    let Some(p1) = ctx.prev(j) else {
        return CueKind::None;
    };
    let w1 = ctx.low(p1);
    let p2 = ctx.prev(p1);
    let w2 = p2.map_or("", |p| ctx.low(p));
    if ctx.is_sym(p1, b':') {
        return if matches!(
            w2,
            "name"
                | "patient"
                | "pt"
                | "nombre"
                | "paciente"
                | "customer"
                | "recipient"
                | "member"
                | "for"
                | "attn"
        ) {
            CueKind::AnyCase
        } else {
            CueKind::None
        };
    }
    if ctx.is_sym(p1, b'.') && TITLES.contains(&w2) {
        return CueKind::Title;
    }
    if ctx.is_sym(p1, b',') && GREETINGS.contains(&w2) {
        return CueKind::Greeting;
    }
    if ctx.is_sym(p1, b',')
        && (matches!(w2, "patient" | "customer" | "recipient" | "paciente")
            || RELATIONS.contains(&w2))
    {
        return CueKind::Strong;
    }
    if matches!(
        w1,
        "driver" | "courier" | "pharmacist" | "tech" | "technician" | "dispatcher" | "rider"
    ) {
        return CueKind::Staff;
    }
    if (w1 == "is" && w2 == "name")
        || (w1 == "es" && w2 == "nombre")
        || matches!(w1, "soy" | "llamo")
    {
        return if w1 == "soy" {
            CueKind::Intro
        } else {
            CueKind::AnyCase
        };
    }
    if THANKS.contains(&w1) || (w1 == "you" && w2 == "thank") {
        return CueKind::Staff;
    }
    if matches!(w1, "i'm" | "im")
        || (w1 == "am" && w2 == "i")
        || (w1 == "is" && w2 == "this")
        || (w1 == "here" && w2 == "it's")
    {
        return CueKind::Intro;
    }
    if TITLES.contains(&w1) {
        return CueKind::Title;
    }
    if matches!(
        w1,
        "patient" | "pt" | "customer" | "recipient" | "paciente" | "member"
    ) || RELATIONS.contains(&w1)
    {
        return CueKind::Strong;
    }
    if GREETINGS.contains(&w1) {
        return CueKind::Greeting;
    }
    if CALL_VERBS.contains(&w1) {
        return CueKind::Call;
    }
    if WEAK.contains(&w1) {
        return CueKind::Weak;
    }
    CueKind::None
}

fn is_cap(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_uppercase)
}

/// Whether token `i` can be part of a name (case rules applied by the caller).
fn name_word(ctx: &Ctx<'_>, i: usize) -> bool {
    let Some(t) = ctx.tok(i) else { return false };
    if t.kind != Kind::Word || t.e - t.s < 2 {
        return false;
    }
    let low = ctx.low(i);
    let low = low.strip_suffix("'s").unwrap_or(low);
    !ctx.lex.is_name_stop(low)
}

/// Finds names.
pub(crate) fn detect(ctx: &mut Ctx<'_>) {
    let mut found: Vec<(
        std::ops::Range<usize>,
        NamePart,
        Option<std::ops::Range<usize>>,
    )> = Vec::new();
    let mut i = 0;
    while i < ctx.toks.len() {
        let Some(t) = ctx.tok(i) else { break };
        // Cheap gate first: a lower-case word can only start a name right after a cue word.
        let raw = ctx.raw(i);
        let maybe = t.kind == Kind::Word
            && (is_cap(raw) || ctx.prev(i).is_some_and(|p| lower_name_may_follow(ctx, p)));
        if !maybe || !name_word(ctx, i) {
            i += 1;
            continue;
        }
        let cue = cue_for(ctx, i);
        let low0 = ctx.low(i);
        let low0 = low0.strip_suffix("'s").unwrap_or(low0);
        let first_dict = ctx.lex.is_first_name(low0);
        let sur_dict = ctx.lex.is_surname(low0);
        // Lower case is accepted after `my name is`, or for a dictionary given name after a
        // strong cue (`my sister maria`).
        let lower_ok =
            matches!(cue, CueKind::Strong | CueKind::Intro | CueKind::Greeting) && first_dict;
        let any_case = cue == CueKind::AnyCase || lower_ok;
        if !any_case && !is_cap(raw) {
            i += 1;
            continue;
        }
        // Extend over following name words joined by one space, a hyphen (`Smith-Jones`) or a
        // particle (`de la Cruz`, `van der Berg`).
        // The name's tokens (at most five), without allocating.
        let mut toks = [i; 5];
        let mut n_toks = 1usize;
        let mut j = i;
        let mut hyphen_first = false;
        while n_toks < 5 {
            if ctx.low(j).ends_with("'s") {
                break;
            }
            let Some(k) = next_name_token(ctx, j, any_case) else {
                break;
            };
            if k == j + 2 && ctx.is_sym(j + 1, b'-') && n_toks == 1 {
                hyphen_first = true;
            }
            let kr = ctx.raw(k);
            let kl = ctx.low(k);
            let kl = kl.strip_suffix("'s").unwrap_or(kl);
            let dict = ctx.lex.is_surname(kl) || ctx.lex.is_first_name(kl);
            let ok = if cue == CueKind::AnyCase {
                true
            } else if lower_ok && !is_cap(kr) {
                dict || surname_like(kl)
            } else {
                is_cap(kr) && (dict || kr.chars().skip(1).any(char::is_lowercase) || kr.len() > 2)
            };
            if !ok {
                break;
            }
            if let Some(slot) = toks.get_mut(n_toks) {
                *slot = k;
            }
            n_toks += 1;
            j = k;
        }
        let toks = toks.get(..n_toks).unwrap_or(&[]);
        let multi = toks.len() > 1;
        let accept = match cue {
            CueKind::Staff => false,
            CueKind::AnyCase | CueKind::Strong | CueKind::Title => true,
            CueKind::Intro => !staff_follows(ctx, j),
            CueKind::Greeting => true,
            CueKind::Call => !ctx.at_sentence_start(i) || first_dict || sur_dict,
            CueKind::Weak if possessive_person(ctx, j) => true,
            // Two or three capitalised words after `for`, `to`, `with` read as a full name.
            CueKind::Weak => first_dict || sur_dict || (multi && toks.len() <= 3),
            CueKind::None => {
                let surname_follows = multi
                    && toks
                        .iter()
                        .skip(1)
                        .any(|k| ctx.lex.is_surname(ctx.low(*k).trim_end_matches("'s")));
                (first_dict
                    || (sur_dict && !ctx.at_sentence_start(i))
                    || surname_follows
                    || possessive_person(ctx, j)
                    || person_follows(ctx, j, multi))
                    && !staff_precedes(ctx, i)
            }
        };
        if !accept || (cue == CueKind::None && first_dict && staff_follows(ctx, j) && !multi) {
            // Later words get their own chance (`for Grandma Rose`).
            i += 1;
            continue;
        }
        let (Some(ft), Some(lt)) = (ctx.tok(i), ctx.tok(j)) else {
            break;
        };
        let last_low = ctx.low(j);
        let end = if last_low.ends_with("'s") {
            lt.e - 2
        } else {
            lt.e
        };
        let first_end = if low0.len() < ctx.low(i).len() {
            ft.e - 2
        } else {
            ft.e
        };
        let (part, first) = if multi && hyphen_first && toks.len() == 2 {
            // `Smith-Jones` is one surname, not a first name and a last name.
            (
                if cue == CueKind::Title {
                    NamePart::Last
                } else {
                    NamePart::Whole
                },
                None,
            )
        } else if multi {
            (NamePart::Whole, Some(ft.s..first_end))
        } else if cue == CueKind::Title || (sur_dict && !first_dict) {
            (NamePart::Last, None)
        } else if first_dict
            || cue == CueKind::Call
            || matches!(
                cue,
                CueKind::Greeting | CueKind::Strong | CueKind::Intro | CueKind::AnyCase
            )
        {
            // A single word after `Hi`, `my sister` or `I'm` is a given name.
            (NamePart::First, None)
        } else {
            (NamePart::Whole, None)
        };
        // `DOE, JANE` / `Okafor, Sofia`: a surname, a comma, then a given name.
        if !multi && !first_dict && ctx.is_sym(j + 1, b',') {
            let given = ctx.next(j + 1).filter(|g| {
                let gl = ctx.low(*g).trim_end_matches("'s");
                ctx.tok(*g).is_some_and(|t| t.kind == Kind::Word)
                    && ctx.lex.is_first_name(gl)
                    && (is_cap(ctx.raw(*g)) || cue == CueKind::AnyCase)
            });
            if let Some((g, gt)) = given.and_then(|g| ctx.tok(g).map(|t| (g, t))) {
                let strong = matches!(cue, CueKind::AnyCase | CueKind::Strong | CueKind::Title);
                if strong || sur_dict {
                    found.push((ft.s..gt.e, NamePart::Whole, Some(gt.s..gt.e)));
                    i = g + 1;
                    continue;
                }
            }
        }
        found.push((ft.s..end, part, first));
        i = j + 1;
    }
    for (r, part, first) in found {
        ctx.push_name(r, part, first, prio::NAME, "name");
    }
}

/// The next token of a name after token `j`: one space, a hyphen, or a particle run, then a
/// capitalised word.
fn next_name_token(ctx: &Ctx<'_>, j: usize, allow_lower: bool) -> Option<usize> {
    let t = ctx.tok(j + 1)?;
    let k = if t.kind == Kind::Space && t.e - t.s == 1 {
        j + 2
    } else if ctx.is_sym(j + 1, b'-') && ctx.tok(j + 2).is_some_and(|x| x.kind == Kind::Word) {
        return Some(j + 2).filter(|k| is_cap(ctx.raw(*k)));
    } else {
        return None;
    };
    if !PARTICLES.contains(&ctx.low(k)) {
        return name_word(ctx, k).then_some(k);
    }
    // Up to two particles, then a capitalised word.
    let mut m = k;
    for _ in 0..2 {
        let sp = ctx.tok(m + 1)?;
        if sp.kind != Kind::Space || sp.e - sp.s != 1 {
            return None;
        }
        m += 2;
        if !PARTICLES.contains(&ctx.low(m)) {
            return ((allow_lower || is_cap(ctx.raw(m))) && name_word(ctx, m)).then_some(m);
        }
    }
    None
}

/// Whether a word looks like a surname by its ending (`Kowalczyk`, `Andersson`, `Petrenko`).
fn surname_like(w: &str) -> bool {
    w.len() >= 5 && SURNAME_ENDINGS.iter().any(|e| w.ends_with(e))
}

/// Whether what follows the capitalised word(s) ending at `j` shows a person: a person verb;
/// for two or more words also `is`/`was`/`has`/`will`; a vocative comma at sentence start.
fn person_follows(ctx: &Ctx<'_>, j: usize, multi: bool) -> bool {
    let Some(n) = ctx.next(j) else { return false };
    let w = ctx.low(n);
    if PERSON_VERBS.contains(&w)
        || (multi && matches!(w, "is" | "was" | "has" | "had" | "will" | "would"))
    {
        return true;
    }
    ctx.is_sym(n, b',')
        && ctx
            .next(n)
            .is_some_and(|m| AFTER_VOCATIVE.contains(&ctx.low(m)))
        && ctx.prev(j).is_none_or(|p| ctx.is_boundary(p))
}

/// Whether a lower-case name may follow token `p` (`is`, `soy`, `:`, `my sister`, `hi`).
fn lower_name_may_follow(ctx: &Ctx<'_>, p: usize) -> bool {
    ctx.is_sym(p, b':') || ctx.is_sym(p, b',') || ctx.lex.is_lower_name_cue(ctx.low(p))
}

/// `Tendai's refill`: a possessive followed by something only a person has.
fn possessive_person(ctx: &Ctx<'_>, j: usize) -> bool {
    ctx.low(j).ends_with("'s")
        && ctx.next(j).is_some_and(|n| {
            let w = ctx.low(n);
            PERSONAL_AFTER.contains(&w) || ctx.lex.phrases(w).is_some()
        })
}

/// `Your driver today is Luis`: a staff word shortly before the name.
fn staff_precedes(ctx: &Ctx<'_>, i: usize) -> bool {
    let mut k = i;
    let mut words = 0;
    while let Some(p) = ctx.prev(k) {
        if ctx.is_boundary(p) || words >= 3 {
            return false;
        }
        if matches!(
            ctx.low(p),
            "driver" | "courier" | "pharmacist" | "technician" | "dispatcher"
        ) {
            return true;
        }
        if ctx.tok(p).is_some_and(|t| t.kind == Kind::Word) {
            words += 1;
        }
        k = p;
    }
    false
}

/// Whether a pharmacy/staff word follows within a few words (`this is Dana from the pharmacy`).
fn staff_follows(ctx: &Ctx<'_>, j: usize) -> bool {
    let mut k = j;
    for _ in 0..6 {
        let Some(n) = ctx.next(k) else { return false };
        if ctx.is_boundary(n) {
            return false;
        }
        if STAFF_WORDS.contains(&ctx.low(n)) {
            return true;
        }
        k = n;
    }
    false
}

impl Ctx<'_> {
    /// Adds a `NAME` candidate with its part and first-name range.
    pub(crate) fn push_name(
        &mut self,
        range: std::ops::Range<usize>,
        part: NamePart,
        first: Option<std::ops::Range<usize>>,
        prio: u8,
        detector: &'static str,
    ) {
        if range.start < range.end {
            self.cands.push(super::scan::Cand {
                label: Label::Name,
                range,
                prio,
                first,
                part,
                detector,
            });
        }
    }
}
