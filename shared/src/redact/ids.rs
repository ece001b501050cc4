//! Identifiers with letters (LABELS.md `MBI`, `DEA`, `INSURANCE_ID`, `MRN`): MBI in CMS classes
//! (also written 4-3-4), DEA with its checksum, member ids and HICNs by shape or cue. Carrier
//! tracking numbers and order ids are left alone.

use super::lexicon::Cue;
use super::record::RecordView;
use super::scan::{prio, Ctx, Kind};
use super::validate;
use crate::labels::Label;

/// Identifiers with letters: MBI, DEA, member ids, alphanumeric MRNs, HICNs.
pub(crate) fn detect_ids(ctx: &mut Ctx<'_>, rec: &RecordView) {
    let mut found = Vec::new();
    let mut i = 0;
    while i < ctx.toks.len() {
        let Some(t) = ctx.tok(i) else { break };
        // Every id here has letters in its first group (an MBI starts `1EG4`), so only mixed
        // tokens can start one.
        if t.kind != Kind::Mixed || t.e - t.s > 40 {
            i += 1;
            continue;
        }
        // Up to three groups joined by one `-` or space: MBI written 4-3-4.
        let mut j = i;
        let mut compact: Vec<u8> = ctx.raw(i).bytes().collect();
        let mut end = t.e;
        let mut best: Option<(Label, usize, usize, u8, &'static str)> = None;
        for round in 0..3 {
            // Joined groups are only ever an MBI written 4-3-4; other ids are single tokens.
            let r = if round == 0 {
                id_label(ctx, i, &compact, rec)
            } else {
                validate::mbi(&compact).then_some((Label::Mbi, prio::CHECKSUM, "mbi"))
            };
            if let Some(r) = r {
                best = Some((r.0, end, j, r.1, r.2));
            }
            let (Some(sep), Some(nx)) = (ctx.tok(j + 1), ctx.tok(j + 2)) else {
                break;
            };
            let sep_ok = sep.e == sep.s + 1 && matches!(ctx.byte(sep.s), b'-' | b' ');
            if !sep_ok
                || !matches!(nx.kind, Kind::Mixed | Kind::Num | Kind::Word)
                || nx.e - nx.s > 4
            {
                break;
            }
            compact.extend(ctx.raw(j + 2).bytes());
            end = nx.e;
            j += 2;
            if compact.len() > 11 {
                break;
            }
        }
        if let Some((label, e, last, p, det)) = best {
            if !ctx.in_opaque(&(t.s..e)) {
                found.push((label, t.s..e, p, det));
            }
            i = last + 1;
        } else {
            i += 1;
        }
    }
    for (label, r, p, det) in found {
        ctx.push(label, r, p, det);
    }
}

const ID_SKIP_PREFIXES: &[&str] = &["1z", "tba", "ord", "trk", "po", "inv", "ref", "conf"];

fn id_label(
    ctx: &Ctx<'_>,
    i: usize,
    compact: &[u8],
    rec: &RecordView,
) -> Option<(Label, u8, &'static str)> {
    let letters = compact.iter().filter(|b| b.is_ascii_alphabetic()).count();
    let digits = compact.iter().filter(|b| b.is_ascii_digit()).count();
    if letters + digits != compact.len() || letters == 0 || digits == 0 {
        return None;
    }
    if let Some(l) = rec.match_alnum(compact) {
        return Some((l, prio::RECORD, "order_record"));
    }
    if validate::mbi(compact) {
        return Some((Label::Mbi, prio::CHECKSUM, "mbi"));
    }
    if validate::dea(compact) {
        return Some((Label::Dea, prio::CHECKSUM, "dea"));
    }
    let skip = ID_SKIP_PREFIXES.iter().any(|p| {
        compact
            .get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p.as_bytes()))
    });
    if skip {
        return None;
    }
    let lead = compact
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    let tail_digits = compact
        .get(lead..)
        .is_some_and(|r| r.iter().all(u8::is_ascii_digit));
    let cue = ctx.cue_before(i, 6).map(|(c, _)| c);
    match cue {
        Some(Cue::Skip | Cue::Delivery | Cue::Pharmacy) => return None,
        Some(Cue::Mrn) if digits >= 5 && lead <= 3 => {
            return Some((Label::Mrn, prio::CUED, "mrn_cue"))
        }
        Some(Cue::Rx) if digits >= 5 && lead <= 3 => {
            return Some((Label::RxNumber, prio::CUED, "rx_cue"))
        }
        Some(Cue::Insurance | Cue::Medicare) if digits >= 4 && compact.len() >= 6 => {
            return Some((Label::InsuranceId, prio::CUED, "member_cue"))
        }
        _ => {}
    }
    // Member-id shape: 1-3 letters and 8-12 digits; HICN: 9 digits and 1-2 letters.
    if tail_digits && (1..=3).contains(&lead) && (8..=12).contains(&digits) {
        return Some((Label::InsuranceId, prio::CUED, "member_shape"));
    }
    let hicn = digits == 9
        && compact.iter().take(9).all(u8::is_ascii_digit)
        && (1..=2).contains(&letters)
        && compact.len() <= 11;
    if hicn {
        return Some((Label::InsuranceId, prio::CUED, "hicn_shape"));
    }
    None
}
