//! Vocabularies of the redactor: drug and condition dictionaries, given names and surnames
//! (`shared/data/`, provenance in `shared/data/PROVENANCE.md`), and the cue words that tell a
//! number or a capitalised word what it is.
//!
//! Matching rules: dictionary words are compared in lower case on whole-word boundaries;
//! dictionary lines written entirely in capitals (abbreviations such as `HIV`, `GERD`) match only
//! as written; multi-word entries (`insulin glargine`, `type 2 diabetes`) match token by token.

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

fn cue_of(w: &str) -> Option<Cue> {
    Some(match w {
        "ssn" | "ss" | "ss#" | "social" | "seguro" | "ssn#" | "itin" => Cue::Ssn,
        "phone" | "tel" | "telephone" | "cell" | "mobile" | "call" | "calling" | "text"
        | "reach" | "fax" | "teléfono" | "telefono" | "celular" | "móvil" | "movil"
        | "whatsapp" | "ph" | "contact" | "landline" | "home#" | "callback" => Cue::Phone,
        "mrn" | "chart" | "record" | "mr#" | "expediente" | "patient" | "hospital#" | "rec"
        | "mr" => Cue::Mrn,
        "member" | "insurance" | "ins" | "policy" | "subscriber" | "medicaid" | "plan" | "bin"
        | "pcn" | "seguro#" | "coverage" | "beneficiary" | "hicn" | "carrier" | "bcbs"
        | "aetna" | "cigna" | "humana" | "anthem" | "tricare" | "kaiser" | "uhc" | "payer" => {
            Cue::Insurance
        }
        "medicare" | "mbi" => Cue::Medicare,
        "rx" | "rx#" | "prescription" | "script" | "receta" => Cue::Rx,
        "npi" => Cue::Npi,
        "dea" => Cue::Dea,
        "card" | "visa" | "mastercard" | "amex" | "discover" | "tarjeta" | "credit" | "debit" => {
            Cue::Card
        }
        "dob" | "d.o.b" | "born" | "birth" | "birthday" | "birthdate" | "nacimiento" | "nació"
        | "nacido" | "nacida" | "cumpleaños" | "bday" | "nací" | "naci" | "born:" => Cue::Dob,
        "surgery" | "filled" | "fill" | "since" | "discharged" | "discharge" | "admitted"
        | "admission" | "due" | "starts" | "start" | "started" | "biopsy" | "diagnosed"
        | "procedure" | "hospitalized" | "visit" | "appointment" | "injection" | "dose" | "lab"
        | "labs" | "test" | "tested" | "scan" | "mri" | "operation" | "stopped" | "ended"
        | "expired" | "died" | "passed" | "seen" | "cirugía" | "cirugia" | "alta" | "refill"
        | "refilled" | "vaccinated" | "vaccine" | "shot" | "infusion" | "treatment" | "checkup"
        | "exam" | "transplant" | "chemo" | "dialysis" | "hospitalised" | "surgical" | "er"
        | "prescribed" | "written" | "drawn" | "administered" | "onset" | "symptoms" | "fell"
        | "injured" | "broke" | "diagnosis" | "released" => Cue::ClinicalDate,
        "zip" | "zipcode" | "postal" | "postcode" => Cue::Zip,
        "turned" | "aged" | "age" | "edad" => Cue::Age,
        "order" | "ord" | "receipt" | "tracking" | "store" | "location" | "code" | "gate"
        | "locker" | "box" | "unit" | "suite" | "apt" | "apartment" | "stop" | "confirmation"
        | "ref" | "ticket" | "invoice" | "pedido" | "orden" | "código" | "codigo" | "room"
        | "floor" | "bldg" | "building" | "lot" | "bay" | "door" | "pin" | "shelf" | "bin#"
        | "route" | "stops" | "package" | "parcel" | "pallet" | "batch" | "lot#" | "bag"
        | "bags" | "tote" | "totes" | "step" | "option" | "reply" | "press" | "ext"
        | "extension" | "x" | "version" | "v" => Cue::Skip,
        "deliver" | "delivery" | "delivered" | "home" | "arrive" | "arriving" | "come"
        | "coming" | "reschedule" | "rescheduled" | "rescheduling" | "moved" | "window"
        | "pickup" | "ship" | "ships" | "shipping" | "eta" | "until" | "tomorrow" | "entrega"
        | "schedule" | "scheduled" | "drop" | "dropoff" | "available" | "back" | "away"
        | "travel" | "returning" => Cue::Delivery,
        "main" | "us" | "pharmacy" | "store's" | "office" | "hotline" | "toll" => Cue::Pharmacy,
        "exp" | "expires" | "expiry" | "expiration" | "vence" | "cvv" => Cue::Expiry,
        "ip" | "login" | "logins" | "ips" | "address:" => Cue::Ip,
        _ => return None,
    })
}

/// The redactor's vocabularies, built once.
#[derive(Debug)]
pub(crate) struct Lexicon {
    phrases: FastMap<String, Vec<Phrase>>,
    first_names: FastSet<String>,
    surnames: FastSet<String>,
    not_names: FastSet<String>,
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
                let exact = if line.chars().any(|c| c.is_alphabetic())
                    && !line.chars().any(|c| c.is_lowercase())
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
        Lexicon {
            phrases,
            first_names,
            surnames,
            not_names,
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
        self.not_names.contains(w) || self.phrases.contains_key(w) || cue_of(w).is_some()
    }

    /// The cue carried by `w` (lower case), if any.
    pub fn cue(&self, w: &str) -> Option<Cue> {
        cue_of(w)
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
