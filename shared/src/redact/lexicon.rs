//! Vocabularies of the redactor: drug and condition dictionaries, given names and surnames
//! (`shared/data/`, provenance in `shared/data/PROVENANCE.md`), and the cue words that tell a
//! number or a capitalised word what it is.
//!
//! Matching rules: dictionary words are compared in lower case on whole-word boundaries;
//! dictionary lines written entirely in capitals (abbreviations such as `HIV`, `GERD`), or
//! marked with a leading `=` (`=PrEP`), match only as written; multi-word entries
//! (`insulin glargine`, `type 2 diabetes`) match token by token.

use crate::labels::Label;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

const MEDICATIONS: &str = include_str!("../../data/medications.txt");
const DIAGNOSES: &str = include_str!("../../data/diagnoses.txt");
const FIRST_NAMES: &str = include_str!("../../data/first_names.txt");
const SURNAMES: &str = include_str!("../../data/surnames.txt");
const NOT_NAMES: &str = include_str!("../../data/not_names.txt");

/// FNV-1a: the keys are short words, and SipHash's DoS resistance buys nothing for a fixed,
/// compile-time key set.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;

/// One dictionary phrase, split into lower-case words.
#[derive(Debug, Clone)]
pub(crate) struct Phrase {
    pub words: Vec<String>,
    pub label: Label,
    /// Abbreviations match only as written (upper case).
    pub exact: Option<String>,
}

/// What a cue word says about the value that follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cue {
    Ssn,
    Phone,
    Mrn,
    Insurance,
    Medicare,
    Rx,
    Npi,
    Dea,
    Card,
    Dob,
    /// A clinical event: surgery, fill, discharge, due date of a refill.
    ClinicalDate,
    Zip,
    /// Age context ("turned", "aged").
    Age,
    /// An operational number: order, receipt, tracking, store, gate/locker code, unit.
    Skip,
    /// A delivery date or time context.
    Delivery,
    /// The pharmacy's own line ("main line", "call us").
    Pharmacy,
    /// Card expiry.
    Expiry,
    /// An IP context ("IP", "login from").
    Ip,
}

/// Cue words and what they say about the value that follows (looked up through a hash map
/// built once in [`Lexicon::new`]).
const CUE_WORDS: &[(&str, Cue)] = &[
    ("ssn", Cue::Ssn),
    ("ss", Cue::Ssn),
    ("ss#", Cue::Ssn),
    ("social", Cue::Ssn),
    ("seguro", Cue::Ssn),
    ("ssn#", Cue::Ssn),
    ("itin", Cue::Ssn),
    ("phone", Cue::Phone),
    ("tel", Cue::Phone),
    ("telephone", Cue::Phone),
    ("cell", Cue::Phone),
    ("mobile", Cue::Phone),
    ("call", Cue::Phone),
    ("calling", Cue::Phone),
    ("text", Cue::Phone),
    ("reach", Cue::Phone),
    ("fax", Cue::Phone),
    ("teléfono", Cue::Phone),
    ("telefono", Cue::Phone),
    ("celular", Cue::Phone),
    ("móvil", Cue::Phone),
    ("movil", Cue::Phone),
    ("whatsapp", Cue::Phone),
    ("ph", Cue::Phone),
    ("contact", Cue::Phone),
    ("landline", Cue::Phone),
    ("home#", Cue::Phone),
    ("callback", Cue::Phone),
    ("mrn", Cue::Mrn),
    ("chart", Cue::Mrn),
    ("record", Cue::Mrn),
    ("mr#", Cue::Mrn),
    ("expediente", Cue::Mrn),
    ("patient", Cue::Mrn),
    ("hospital#", Cue::Mrn),
    ("rec", Cue::Mrn),
    ("mr", Cue::Mrn),
    ("member", Cue::Insurance),
    ("insurance", Cue::Insurance),
    ("ins", Cue::Insurance),
    ("policy", Cue::Insurance),
    ("subscriber", Cue::Insurance),
    ("medicaid", Cue::Insurance),
    ("plan", Cue::Insurance),
    ("bin", Cue::Insurance),
    ("pcn", Cue::Insurance),
    ("seguro#", Cue::Insurance),
    ("coverage", Cue::Insurance),
    ("beneficiary", Cue::Insurance),
    ("hicn", Cue::Insurance),
    ("carrier", Cue::Insurance),
    ("bcbs", Cue::Insurance),
    ("aetna", Cue::Insurance),
    ("cigna", Cue::Insurance),
    ("humana", Cue::Insurance),
    ("anthem", Cue::Insurance),
    ("tricare", Cue::Insurance),
    ("kaiser", Cue::Insurance),
    ("uhc", Cue::Insurance),
    ("payer", Cue::Insurance),
    ("medicare", Cue::Medicare),
    ("mbi", Cue::Medicare),
    ("rx", Cue::Rx),
    ("rx#", Cue::Rx),
    ("prescription", Cue::Rx),
    ("script", Cue::Rx),
    ("receta", Cue::Rx),
    ("npi", Cue::Npi),
    ("dea", Cue::Dea),
    ("card", Cue::Card),
    ("visa", Cue::Card),
    ("mastercard", Cue::Card),
    ("amex", Cue::Card),
    ("discover", Cue::Card),
    ("tarjeta", Cue::Card),
    ("credit", Cue::Card),
    ("debit", Cue::Card),
    ("dob", Cue::Dob),
    ("d.o.b", Cue::Dob),
    ("born", Cue::Dob),
    ("birth", Cue::Dob),
    ("birthday", Cue::Dob),
    ("birthdate", Cue::Dob),
    ("nacimiento", Cue::Dob),
    ("nació", Cue::Dob),
    ("nacido", Cue::Dob),
    ("nacida", Cue::Dob),
    ("cumpleaños", Cue::Dob),
    ("bday", Cue::Dob),
    ("nací", Cue::Dob),
    ("naci", Cue::Dob),
    ("born:", Cue::Dob),
    ("surgery", Cue::ClinicalDate),
    ("filled", Cue::ClinicalDate),
    ("fill", Cue::ClinicalDate),
    ("since", Cue::ClinicalDate),
    ("discharged", Cue::ClinicalDate),
    ("discharge", Cue::ClinicalDate),
    ("admitted", Cue::ClinicalDate),
    ("admission", Cue::ClinicalDate),
    ("due", Cue::ClinicalDate),
    ("starts", Cue::ClinicalDate),
    ("start", Cue::ClinicalDate),
    ("started", Cue::ClinicalDate),
    ("biopsy", Cue::ClinicalDate),
    ("diagnosed", Cue::ClinicalDate),
    ("procedure", Cue::ClinicalDate),
    ("hospitalized", Cue::ClinicalDate),
    ("visit", Cue::ClinicalDate),
    ("appointment", Cue::ClinicalDate),
    ("injection", Cue::ClinicalDate),
    ("dose", Cue::ClinicalDate),
    ("lab", Cue::ClinicalDate),
    ("labs", Cue::ClinicalDate),
    ("test", Cue::ClinicalDate),
    ("tested", Cue::ClinicalDate),
    ("scan", Cue::ClinicalDate),
    ("mri", Cue::ClinicalDate),
    ("operation", Cue::ClinicalDate),
    ("stopped", Cue::ClinicalDate),
    ("ended", Cue::ClinicalDate),
    ("expired", Cue::ClinicalDate),
    ("died", Cue::ClinicalDate),
    ("passed", Cue::ClinicalDate),
    ("seen", Cue::ClinicalDate),
    ("cirugía", Cue::ClinicalDate),
    ("cirugia", Cue::ClinicalDate),
    ("alta", Cue::ClinicalDate),
    ("refill", Cue::ClinicalDate),
    ("refilled", Cue::ClinicalDate),
    ("vaccinated", Cue::ClinicalDate),
    ("vaccine", Cue::ClinicalDate),
    ("shot", Cue::ClinicalDate),
    ("infusion", Cue::ClinicalDate),
    ("treatment", Cue::ClinicalDate),
    ("checkup", Cue::ClinicalDate),
    ("exam", Cue::ClinicalDate),
    ("transplant", Cue::ClinicalDate),
    ("chemo", Cue::ClinicalDate),
    ("dialysis", Cue::ClinicalDate),
    ("hospitalised", Cue::ClinicalDate),
    ("surgical", Cue::ClinicalDate),
    ("er", Cue::ClinicalDate),
    ("prescribed", Cue::ClinicalDate),
    ("written", Cue::ClinicalDate),
    ("drawn", Cue::ClinicalDate),
    ("administered", Cue::ClinicalDate),
    ("onset", Cue::ClinicalDate),
    ("symptoms", Cue::ClinicalDate),
    ("fell", Cue::ClinicalDate),
    ("injured", Cue::ClinicalDate),
    ("broke", Cue::ClinicalDate),
    ("diagnosis", Cue::ClinicalDate),
    ("released", Cue::ClinicalDate),
    ("zip", Cue::Zip),
    ("zipcode", Cue::Zip),
    ("postal", Cue::Zip),
    ("postcode", Cue::Zip),
    ("turned", Cue::Age),
    ("aged", Cue::Age),
    ("age", Cue::Age),
    ("edad", Cue::Age),
    ("order", Cue::Skip),
    ("ord", Cue::Skip),
    ("receipt", Cue::Skip),
    ("tracking", Cue::Skip),
    ("store", Cue::Skip),
    ("location", Cue::Skip),
    ("code", Cue::Skip),
    ("gate", Cue::Skip),
    ("locker", Cue::Skip),
    ("box", Cue::Skip),
    ("unit", Cue::Skip),
    ("suite", Cue::Skip),
    ("apt", Cue::Skip),
    ("apartment", Cue::Skip),
    ("stop", Cue::Skip),
    ("confirmation", Cue::Skip),
    ("ref", Cue::Skip),
    ("ticket", Cue::Skip),
    ("invoice", Cue::Skip),
    ("pedido", Cue::Skip),
    ("orden", Cue::Skip),
    ("código", Cue::Skip),
    ("codigo", Cue::Skip),
    ("room", Cue::Skip),
    ("floor", Cue::Skip),
    ("bldg", Cue::Skip),
    ("building", Cue::Skip),
    ("lot", Cue::Skip),
    ("bay", Cue::Skip),
    ("door", Cue::Skip),
    ("pin", Cue::Skip),
    ("shelf", Cue::Skip),
    ("bin#", Cue::Skip),
    ("route", Cue::Skip),
    ("stops", Cue::Skip),
    ("package", Cue::Skip),
    ("parcel", Cue::Skip),
    ("pallet", Cue::Skip),
    ("batch", Cue::Skip),
    ("lot#", Cue::Skip),
    ("bag", Cue::Skip),
    ("bags", Cue::Skip),
    ("tote", Cue::Skip),
    ("totes", Cue::Skip),
    ("step", Cue::Skip),
    ("option", Cue::Skip),
    ("reply", Cue::Skip),
    ("press", Cue::Skip),
    ("ext", Cue::Skip),
    ("extension", Cue::Skip),
    ("x", Cue::Skip),
    ("version", Cue::Skip),
    ("v", Cue::Skip),
    ("deliver", Cue::Delivery),
    ("delivery", Cue::Delivery),
    ("delivered", Cue::Delivery),
    ("home", Cue::Delivery),
    ("arrive", Cue::Delivery),
    ("arriving", Cue::Delivery),
    ("come", Cue::Delivery),
    ("coming", Cue::Delivery),
    ("reschedule", Cue::Delivery),
    ("rescheduled", Cue::Delivery),
    ("rescheduling", Cue::Delivery),
    ("moved", Cue::Delivery),
    ("window", Cue::Delivery),
    ("pickup", Cue::Delivery),
    ("ship", Cue::Delivery),
    ("ships", Cue::Delivery),
    ("shipping", Cue::Delivery),
    ("eta", Cue::Delivery),
    ("until", Cue::Delivery),
    ("tomorrow", Cue::Delivery),
    ("entrega", Cue::Delivery),
    ("schedule", Cue::Delivery),
    ("scheduled", Cue::Delivery),
    ("drop", Cue::Delivery),
    ("dropoff", Cue::Delivery),
    ("available", Cue::Delivery),
    ("back", Cue::Delivery),
    ("away", Cue::Delivery),
    ("travel", Cue::Delivery),
    ("returning", Cue::Delivery),
    ("main", Cue::Pharmacy),
    ("us", Cue::Pharmacy),
    ("pharmacy", Cue::Pharmacy),
    ("store's", Cue::Pharmacy),
    ("office", Cue::Pharmacy),
    ("hotline", Cue::Pharmacy),
    ("toll", Cue::Pharmacy),
    ("exp", Cue::Expiry),
    ("expires", Cue::Expiry),
    ("expiry", Cue::Expiry),
    ("expiration", Cue::Expiry),
    ("vence", Cue::Expiry),
    ("cvv", Cue::Expiry),
    ("ip", Cue::Ip),
    ("login", Cue::Ip),
    ("logins", Cue::Ip),
    ("ips", Cue::Ip),
    ("address:", Cue::Ip),
];

/// The redactor's vocabularies, built once.
#[derive(Debug)]
pub(crate) struct Lexicon {
    phrases: FastMap<String, Vec<Phrase>>,
    first_names: FastSet<String>,
    surnames: FastSet<String>,
    not_names: FastSet<String>,
    cues: FastMap<&'static str, Cue>,
    lower_name_cues: FastSet<&'static str>,
    /// Every word that can never be a name word: not-names, dictionary phrase heads, cues,
    /// street suffixes, relations and titles (one lookup per candidate word).
    name_stops: FastSet<String>,
}

fn load_words(src: &str) -> FastSet<String> {
    src.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split_whitespace())
        .map(str::to_lowercase)
        .collect()
}

impl Lexicon {
    /// Builds every table from the compiled-in data.
    pub fn new() -> Self {
        let mut phrases: FastMap<String, Vec<Phrase>> = FastMap::default();
        for (src, label) in [
            (MEDICATIONS, Label::Medication),
            (DIAGNOSES, Label::Diagnosis),
        ] {
            for line in src.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                // `=PrEP`: a mixed-case term that matches only as written.
                let (line, as_written) = match line.strip_prefix('=') {
                    Some(rest) => (rest.trim(), true),
                    None => (line, false),
                };
                let exact = if as_written
                    || (line.chars().any(|c| c.is_alphabetic())
                        && !line.chars().any(|c| c.is_lowercase()))
                {
                    Some(line.to_owned())
                } else {
                    None
                };
                let words: Vec<String> = split_phrase(&line.to_lowercase());
                let Some(first) = words.first().cloned() else {
                    continue;
                };
                phrases.entry(first).or_default().push(Phrase {
                    words,
                    label,
                    exact,
                });
            }
        }
        for list in phrases.values_mut() {
            list.sort_by_key(|p| std::cmp::Reverse(p.words.len()));
        }
        let mut first_names = load_words(FIRST_NAMES);
        let mut surnames = load_words(SURNAMES);
        // Two-letter surnames (Ma, Do, Li) collide with state codes and common words.
        surnames.retain(|n| n.chars().count() > 2);
        let not_names = load_words(NOT_NAMES);
        first_names.retain(|n| !not_names.contains(n.as_str()));
        let cues = CUE_WORDS.iter().copied().collect();
        let lower_name_cues = ["is", "es", "soy", "llamo", "i'm", "im", "am", "this"]
            .iter()
            .chain(super::name_words::GREETINGS)
            .chain(super::name_words::RELATIONS)
            .copied()
            .collect();
        let name_stops = not_names
            .iter()
            .map(String::as_str)
            .chain(phrases.keys().map(String::as_str))
            .chain(CUE_WORDS.iter().map(|(w, _)| *w))
            .chain(super::address::SUFFIXES.iter().copied())
            .chain(super::name_words::RELATIONS.iter().copied())
            .chain(super::name_words::TITLES.iter().copied())
            .map(str::to_owned)
            .collect();
        Lexicon {
            phrases,
            first_names,
            surnames,
            not_names,
            cues,
            lower_name_cues,
            name_stops,
        }
    }

    /// Dictionary phrases starting with the lower-case word `w`, longest first.
    pub fn phrases(&self, w: &str) -> Option<&Vec<Phrase>> {
        self.phrases.get(w)
    }

    /// Whether `w` (lower case) is a known given name (accents ignored: `María`, `José`).
    pub fn is_first_name(&self, w: &str) -> bool {
        self.first_names.contains(w)
            || (!w.is_ascii() && self.first_names.contains(&fold_accents(w)))
    }

    /// Whether `w` (lower case) is a known surname (accents ignored: `García`, `López`).
    pub fn is_surname(&self, w: &str) -> bool {
        self.surnames.contains(w) || (!w.is_ascii() && self.surnames.contains(&fold_accents(w)))
    }

    /// Whether `w` (lower case) is a word that is never a name.
    pub fn is_not_name(&self, w: &str) -> bool {
        self.not_names.contains(w) || self.phrases.contains_key(w) || self.cues.contains_key(w)
    }

    /// Whether `w` (lower case) can never be a name word: [`Lexicon::is_not_name`], a street
    /// suffix, a relation or a title.
    pub fn is_name_stop(&self, w: &str) -> bool {
        self.name_stops.contains(w)
    }

    /// Whether a lower-case name may follow the word `w` (`is`, `soy`, `hi`, `sister`).
    pub fn is_lower_name_cue(&self, w: &str) -> bool {
        self.lower_name_cues.contains(w)
    }

    /// The cue carried by `w` (lower case), if any.
    pub fn cue(&self, w: &str) -> Option<Cue> {
        self.cues.get(w).copied()
    }
}

/// Lower-case ASCII spelling of a Latin word with accents (`Ramón` → `ramon`).
pub(crate) fn fold_accents(w: &str) -> String {
    w.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => {
                'a'
            }
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' | 'Ø' => {
                'o'
            }
            'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => 'u',
            'ñ' | 'Ñ' => 'n',
            'ç' | 'Ç' => 'c',
            'ł' | 'Ł' => 'l',
            'ś' | 'Ś' | 'š' | 'Š' => 's',
            'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => 'z',
            'ć' | 'č' | 'Ć' | 'Č' => 'c',
            'ń' | 'Ń' => 'n',
            'ř' | 'Ř' => 'r',
            'ğ' | 'Ğ' => 'g',
            'ı' | 'İ' => 'i',
            'ş' | 'Ş' => 's',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Splits a dictionary phrase into words the way the tokenizer does (letters, digits, `'`).
pub(crate) fn split_phrase(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut kind = 0u8;
    for c in s.chars() {
        let k = if c.is_alphabetic() || c == '\'' {
            1
        } else if c.is_ascii_digit() {
            2
        } else {
            0
        };
        if (k == 0 || k != kind) && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if k != 0 {
            cur.push(c);
        }
        kind = k;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
