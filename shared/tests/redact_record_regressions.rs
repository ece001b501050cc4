//! Order-record values that once reached a driver's view (SECURITY.md C6, C7; LABELS.md section
//! 5), reproduced natively from the black-box break-it pass in `tests/adversarial_phi.test.mjs`.
//! Each test scans with the order's record and asserts what `render(.., Role::Driver)` shows.
//! All values are synthetic.

use rxroom_core::ids::Role;
use rxroom_core::labels::{Label, OrderRecord};
use rxroom_core::redact::{render, Redactor};

fn record(name: &str, meds: &[&str]) -> OrderRecord {
    OrderRecord {
        patient_name: Some(name.to_owned()),
        medications: meds.iter().map(|m| (*m).to_owned()).collect(),
        ..OrderRecord::default()
    }
}

fn driver_view(text: &str, rec: &OrderRecord) -> String {
    let f = Redactor::new().scan(text, rec).expect("under the cap");
    render(text, &f, Role::Driver)
}

/// Every `(text, secrets)` case whose driver view still contains a secret (any case).
fn leaks(rec: &OrderRecord, cases: &[(&str, &[&str])]) -> Vec<String> {
    let mut out = Vec::new();
    for (text, secrets) in cases {
        let view = driver_view(text, rec);
        let low = view.to_lowercase();
        for s in *secrets {
            if low.contains(&s.to_lowercase()) {
                out.push(format!("{text:?} -> {view:?} (leaks {s})"));
            }
        }
    }
    out
}

#[test]
fn c6_a_record_name_stored_last_comma_first_hides_the_surname() {
    let rec = record("HADDAD, MARIA", &["sertraline"]);
    let found = leaks(
        &rec,
        &[
            ("Haddad", &["haddad"]),
            ("Mrs Haddad will be home", &["haddad"]),
            ("deliver to Haddad at the side door", &["haddad"]),
            ("Maria Haddad", &["haddad"]),
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
    // The given name after the comma is the first name: a driver may still read it.
    assert_eq!(driver_view("Maria Haddad", &rec), "Maria [NAME]");
    assert_eq!(driver_view("ask for Maria", &rec), "ask for Maria");
}

#[test]
fn c6_last_comma_first_with_a_middle_name_and_a_suffix_is_read() {
    let rec = record("Vandeleur Jr., Xiomara Elena", &[]);
    assert_eq!(
        driver_view("Xiomara at the door", &rec),
        "Xiomara at the door"
    );
    assert_eq!(driver_view("Mr Vandeleur", &rec), "Mr [NAME]");
    assert_eq!(driver_view("Elena Vandeleur", &rec), "[NAME]");
    // A suffix after the comma is not a given name.
    let rec = record("Xiomara Vandeleur, Jr.", &[]);
    assert_eq!(driver_view("Xiomara Vandeleur", &rec), "Xiomara [NAME]");
}

#[test]
fn c6_a_record_medication_with_strength_and_form_hides_the_drug_name() {
    let rec = record(
        "Maria Haddad",
        &[
            "lenacapavir 463.5 mg/1.5 mL injection",
            "Apretude (cabotegravir) 600 mg",
            "zolvaprine-XR",
        ],
    );
    let found = leaks(
        &rec,
        &[
            ("your lenacapavir shot is in the cooler", &["lenacapavir"]),
            (
                "Apretude (cabotegravir) 600 mg",
                &["apretude", "cabotegravir"],
            ),
            ("Apretude is in the bag", &["apretude"]),
            ("CABOTEGRAVIR", &["cabotegravir"]),
            ("zolvaprine-XR", &["zolvaprine", "xr"]),
            ("zolvaprine XR", &["zolvaprine", "xr"]),
            ("your zolvaprine refill", &["zolvaprine"]),
            ("Zolvaprine's box", &["zolvaprine"]),
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
    // Strength stays readable (it is not the drug, LABELS.md `MEDICATION`).
    assert_eq!(
        driver_view("lenacapavir 463.5 mg", &rec),
        "[MEDICATION] 463.5 mg"
    );
    // A release suffix is optional, and the dosage words alone are not a drug.
    assert_eq!(
        driver_view("one injection, 600 mg", &rec),
        "one injection, 600 mg"
    );
}

#[test]
fn c6_multi_word_record_medications_match_as_a_phrase_and_by_distinctive_words() {
    let rec = record(
        "Maria Haddad",
        &["Ácido fólico 5 mg", "glarvimab sodium 20 mg/mL"],
    );
    let found = leaks(
        &rec,
        &[
            ("Ácido fólico 5 mg", &["ácido", "fólico"]),
            ("acido folico", &["acido", "folico"]),
            ("ÁCIDO FÓLICO", &["ácido", "fólico"]),
            ("the fólico", &["fólico"]),
            ("glarvimab", &["glarvimab"]),
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
    // Generic words of a multi-word entry are not hidden alone.
    assert_eq!(driver_view("sodium lamp", &rec), "sodium lamp");
}

#[test]
fn c6_c7_record_values_with_non_ascii_letters_match_in_any_case_and_without_accents() {
    let found = leaks(
        &record("Zoë Öztürk", &[]),
        &[
            ("Zoë Öztürk", &["öztürk"]),
            ("Öztürk", &["öztürk"]),
            ("ÖZTÜRK at the door", &["öztürk"]),
            ("ozturk", &["ozturk"]),
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
    let found = leaks(
        &record("José Núñez", &[]),
        &[("NÚÑEZ", &["núñez"]), ("Nunez", &["nunez"])],
    );
    assert!(found.is_empty(), "{found:#?}");
    let found = leaks(
        &record("Łukasz Żak", &[]),
        &[
            ("Łukasz Żak", &["żak"]),
            ("Żak", &["żak"]),
            ("ŻAK", &["żak"]),
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
    // The accent may be missing in the record instead of the text.
    let found = leaks(
        &record("Ana Maria Garcia Lopez", &[]),
        &[("García", &["garcía"]), ("LÓPEZ", &["lópez"])],
    );
    assert!(found.is_empty(), "{found:#?}");
    // A first name in capitals with an accent is still the visible first name.
    assert_eq!(
        driver_view("ZOË Öztürk", &record("Zoë Öztürk", &[])),
        "ZOË [NAME]"
    );
}

#[test]
fn c6_hyphenated_and_compound_record_surnames_hide_the_whole_and_each_part() {
    let rec = record("Maria Haddad-Smith", &[]);
    let found = leaks(
        &rec,
        &[
            ("Haddad-Smith", &["haddad", "smith"]),
            ("Mrs Haddad-Smith at the back door", &["haddad", "smith"]),
            ("HADDAD-SMITH", &["haddad", "smith"]),
            ("Haddad", &["haddad"]),
            ("smith is home", &["smith"]),
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(driver_view("Maria Haddad-Smith", &rec), "Maria [NAME]");
    let rec = record("Ana María García López", &[]);
    let found = leaks(
        &rec,
        &[
            ("Garcia", &["garcia"]),
            ("for Lopez, gate 12", &["lopez"]),
            ("García López", &["garcía", "lópez"]),
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn c6_name_particles_join_a_surname_but_never_match_alone() {
    let rec = record("Maria de la Cruz", &[]);
    assert_eq!(driver_view("Mrs de la Cruz", &rec), "Mrs [NAME]");
    assert_eq!(
        driver_view("leave it de la mañana", &rec),
        "leave it de la mañana"
    );
}

#[test]
fn c6_the_record_member_id_and_dob_are_found_in_other_formats() {
    let rec = OrderRecord {
        patient_name: Some("Maria Haddad".into()),
        dob: Some("1956-03-04".into()),
        member_id: Some("XJH123456789".into()),
        mrn: Some("MR-00482913".into()),
        ..OrderRecord::default()
    };
    let found = leaks(
        &rec,
        &[
            ("XJH 123 456 789 is on the card", &["123 456 789", "xjh"]),
            ("card says XJH-123-456-789", &["123-456-789", "xjh"]),
            ("xjh.1234.5678.9", &["1234"]),
            ("card 123456789 on file", &["123456789"]),
            ("the 123-456-789 one", &["123-456-789"]),
            ("born 19560304", &["19560304"]),
            ("dob 03041956", &["03041956"]),
            ("it is 04031956", &["04031956"]),
            ("19560403 again", &["19560403"]),
            ("chart mr 0048 2913", &["0048 2913"]),
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
    let f = Redactor::new().scan("XJH 123 456 789", &rec).expect("scan");
    assert_eq!(f.len(), 1);
    assert!(f.iter().all(|x| x.label == Label::InsuranceId));
    let f = Redactor::new().scan("born 19560304", &rec).expect("scan");
    assert!(f.iter().any(|x| x.label == Label::Dob));
    // A different number of the same shape is not the record's.
    assert_eq!(
        driver_view("order XJH 123 456 780 shipped", &rec),
        "order XJH 123 456 780 shipped"
    );
    assert_eq!(driver_view("tracking 19560305", &rec), "tracking 19560305");
}

#[test]
fn c6_c7_a_homoglyph_inside_a_record_name_is_still_the_name() {
    let rec = record("Maria Haddad", &["sertraline"]);
    let found = leaks(
        &rec,
        &[
            ("leave it with the H\u{430}ddad family", &["h\u{430}ddad"]),
            ("H\u{410}DD\u{410}D", &["dd"]),
            ("s\u{435}rtr\u{430}line", &["rtr"]),
            ("\u{397}addad", &["addad"]),
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn c6_record_matching_does_not_take_other_words_for_the_name() {
    let rec = record("Maria Haddad", &["sertraline"]);
    assert_eq!(
        driver_view("Hadda is a place; Haddadi too", &rec),
        "Hadda is a place; Haddadi too"
    );
}

#[test]
fn c6_sensitive_terms_in_lower_case_spanish_dotted_or_short_form_are_hidden() {
    let rec = record("Maria Haddad", &[]);
    let found = leaks(
        &rec,
        &[
            ("she is hiv positive", &["hiv"]),
            ("es VIH positivo", &["vih"]),
            ("tiene sida", &["sida"]),
            ("diagnosed with H.I.V.", &["h.i.v"]),
            ("diagnosed with h.i.v", &["h.i.v"]),
            ("tiene esquizofrenia", &["esquizofrenia"]),
            ("hep C clinic follow-up", &["hep c"]),
            ("her PrEP refill", &["prep"]),
            ("su insulina y metformina", &["insulina", "metformina"]),
            ("Narcan kit included", &["narcan"]),
            ("tiene depresion y ansiedad", &["depresion", "ansiedad"]),
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
    // Short forms that are also words stay readable when they are not the term.
    for text in [
        "meal prep done, U.S. mail later",
        "the A.M. delivery",
        "E.T.A. 5 pm",
    ] {
        assert_eq!(driver_view(text, &rec), text);
    }
}

#[test]
fn c9_record_matching_stays_linear_on_adversarial_repetition() {
    let rec = OrderRecord {
        patient_name: Some("Maria de la Haddad-Smith".into()),
        dob: Some("1956-03-04".into()),
        mrn: Some("MR-0048-2913".into()),
        member_id: Some("XJH123456789".into()),
        medications: vec!["zolvaprine-XR 10 mg (zolvaprine)".into()],
        phone: Some("202-555-0154".into()),
    };
    let r = Redactor::new();
    for unit in [
        "Haddad-",
        "de la ",
        "XJH 123 456 ",
        "1 ",
        "zolvaprine-XR ",
        "H\u{430}ddad ",
        "Maria Haddad ",
    ] {
        let text = unit.repeat(60_000 / unit.len());
        let started = std::time::Instant::now();
        let f = r.scan(&text, &rec).expect("under the cap");
        assert!(f.windows(2).all(|w| w[0].range.end <= w[1].range.start));
        // Generous bound: a quadratic pass over 60 kB takes minutes, a linear one milliseconds.
        assert!(started.elapsed().as_secs() < 20, "{unit:?} took too long");
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn strip_accents(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                'á' => 'a',
                'é' => 'e',
                'í' => 'i',
                'ó' | 'ö' => 'o',
                'ú' | 'ü' => 'u',
                'ñ' => 'n',
                'ł' => 'l',
                'ż' => 'z',
                'Ö' => 'O',
                'Ż' => 'Z',
                'Ł' => 'L',
                'Á' => 'A',
                c => c,
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn c9_any_record_and_text_never_panic_and_findings_are_well_formed(
            text in "\\PC{0,200}",
            name in "\\PC{0,40}",
            med in "\\PC{0,40}",
            id in "[A-Za-z0-9 .-]{0,20}",
            dob in "[0-9/-]{0,12}",
        ) {
            let rec = OrderRecord {
                patient_name: Some(name),
                dob: Some(dob),
                mrn: Some(id.clone()),
                member_id: Some(id),
                medications: vec![med],
                phone: None,
            };
            let f = Redactor::new().scan(&text, &rec).expect("under the cap");
            for w in f.windows(2) {
                prop_assert!(w[0].range.end <= w[1].range.start);
            }
            for x in &f {
                prop_assert!(x.range.end <= text.len());
                prop_assert!(text.is_char_boundary(x.range.start));
                prop_assert!(text.is_char_boundary(x.range.end));
            }
            let _ = render(&text, &f, Role::Driver);
        }

        #[test]
        fn c6_a_record_surname_in_any_case_or_accent_never_reaches_the_driver(
            given in prop::sample::select(vec!["Zoë", "José", "Łukasz", "Ana María", "Maria"]),
            surname in prop::sample::select(vec![
                "Öztürk", "Núñez", "Żak", "García López", "Haddad-Smith", "Vandeleur",
            ]),
            comma in any::<bool>(),
            how in 0u8..4,
            pre in prop::sample::select(vec!["", "Mrs ", "deliver to ", "for "]),
            post in prop::sample::select(vec!["", " at the door", "'s box", ", gate 12"]),
        ) {
            let name = if comma {
                format!("{}, {given}", surname.to_uppercase())
            } else {
                format!("{given} {surname}")
            };
            let rec = record(&name, &[]);
            let written = match how {
                0 => surname.to_owned(),
                1 => surname.to_uppercase(),
                2 => strip_accents(surname),
                _ => surname.to_lowercase(),
            };
            let text = format!("{pre}{written}{post}");
            let view = driver_view(&text, &rec).to_lowercase();
            for part in written.split([' ', '-']) {
                prop_assert!(!view.contains(&part.to_lowercase()), "{text:?} -> {view:?}");
            }
        }
    }
}
