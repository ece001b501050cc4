//! The order's own PHI record (issue 4, "Order context"): every mention of the patient's name
//! (first or last alone, any case), date of birth (any format the date reader knows), MRN,
//! member id, phone (any separators) and the order's medications is found with certainty.

use super::scan::{prio, Ctx, Kind};
use crate::labels::{Label, NamePart, OrderRecord};

/// The record, pre-digested for matching.
#[derive(Debug, Default)]
pub(crate) struct RecordView {
    /// Lower-case name tokens (first, middle..., last).
    pub name: Vec<String>,
    pub dob: Option<(u16, u8, u8)>,
    mrn: Vec<u8>,
    member: Vec<u8>,
    phone: Vec<u8>,
    /// Lower-case words of each medication.
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

impl RecordView {
    /// Digests a record. Values shorter than 4 characters are ignored (too ambiguous).
    pub fn new(r: &OrderRecord) -> Self {
        let name = r
            .patient_name
            .as_deref()
            .unwrap_or("")
            .split(|c: char| !(c.is_alphabetic() || c == '\'' || c == '-'))
            .filter(|w| w.chars().count() >= 2)
            .map(str::to_lowercase)
            .collect();
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
        RecordView {
            name,
            dob: r.dob.as_deref().and_then(parse_any_date),
            mrn: keep(compact_alnum(r.mrn.as_deref().unwrap_or(""))),
            member: keep(compact_alnum(r.member_id.as_deref().unwrap_or(""))),
            phone: keep(phone),
            meds: r
                .medications
                .iter()
                .map(|m| super::lexicon::split_phrase(&m.to_lowercase()))
                .filter(|w| !w.is_empty())
                .collect(),
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
}

/// Finds the record's name parts and medications in the text.
pub(crate) fn detect(ctx: &mut Ctx<'_>, rec: &RecordView) {
    if rec.name.is_empty() && rec.meds.is_empty() {
        return;
    }
    let mut found = Vec::new();
    let mut i = 0;
    while i < ctx.toks.len() {
        let Some(t) = ctx.tok(i) else { break };
        // Inside an e-mail or URL the whole value is already hidden as one finding.
        if t.kind != Kind::Word || ctx.in_opaque(&(t.s..t.e)) {
            i += 1;
            continue;
        }
        let low = ctx.low(i);
        let low = low.strip_suffix("'s").unwrap_or(low);
        if let Some(pos) = rec.name.iter().position(|n| n == low) {
            // A run of record name tokens: the full name or one part of it.
            let mut j = i;
            let mut end = t.s + low.len();
            let mut count = 1;
            while let Some(nx) = ctx.next(j) {
                let w = ctx.low(nx);
                let w = w.strip_suffix("'s").unwrap_or(w);
                let adjacent = ctx.tok(nx).is_some_and(|x| x.kind == Kind::Word) && nx == j + 2;
                if !adjacent || !rec.name.contains(&w.to_owned()) {
                    break;
                }
                end = ctx.tok(nx).map_or(end, |x| x.s + w.len());
                j = nx;
                count += 1;
            }
            let first_tok = pos == 0 && rec.name.len() > 1;
            let (part, first) = if count > 1 {
                (
                    NamePart::Whole,
                    if first_tok {
                        Some(t.s..t.s + low.len())
                    } else {
                        None
                    },
                )
            } else if first_tok {
                (NamePart::First, None)
            } else {
                (NamePart::Last, None)
            };
            found.push((Label::Name, t.s..end, part, first));
            i = j + 1;
            continue;
        }
        for med in &rec.meds {
            if med.first().map(String::as_str) != Some(low) {
                continue;
            }
            let mut j = i;
            let mut ok = true;
            for w in med.iter().skip(1) {
                match ctx.next(j) {
                    Some(nx) if ctx.low(nx) == w => j = nx,
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                let end = ctx.tok(j).map_or(t.e, |x| x.e);
                found.push((Label::Medication, t.s..end, NamePart::Whole, None));
                break;
            }
        }
        i += 1;
    }
    for (label, r, part, first) in found {
        if label == Label::Name {
            ctx.push_name(r, part, first, prio::RECORD, "order_record");
        } else {
            ctx.push(label, r, prio::RECORD, "order_record");
        }
    }
}
