//! Regression tests for the failure kinds reported against other redactors (issue 4,
//! "Robustness") and the evasion corpus of SECURITY.md C5–C7, C9. All values are synthetic.

use rxroom_core::ids::Role;
use rxroom_core::labels::{Finding, Label, NamePart, OrderRecord};
use rxroom_core::redact::{
    mask_cards, render, IngestMode, IngestPolicy, RedactError, Redactor, MAX_TEXT_BYTES,
};

fn scan(text: &str) -> Vec<Finding> {
    Redactor::new()
        .scan(text, &OrderRecord::default())
        .expect("under the cap")
}

fn found(text: &str) -> Vec<(Label, String)> {
    scan(text)
        .into_iter()
        .map(|f| (f.label, text[f.range].to_owned()))
        .collect()
}

fn has(text: &str, label: Label, value: &str) -> bool {
    found(text).iter().any(|(l, v)| *l == label && v == value)
}

fn driver(text: &str) -> String {
    render(text, &scan(text), Role::Driver)
}

#[test]
fn ssn_with_a_single_dash_is_found() {
    assert!(has("My ssn is 923-456789 thanks", Label::Ssn, "923-456789"));
    assert!(has("SSN 92345-6789", Label::Ssn, "92345-6789"));
}

#[test]
fn phone_glued_to_the_previous_word_or_after_phone_colon_is_found() {
    assert!(has("phone:5550148 after 5", Label::Phone, "5550148"));
    assert!(has("phone: 608.555.0199", Label::Phone, "608.555.0199"));
    assert!(has("call608-555-0143 now", Label::Phone, "608-555-0143"));
    assert!(has("Tel:(312) 555-0147", Label::Phone, "(312) 555-0147"));
}

#[test]
fn dotted_phone_after_at_is_a_phone_not_an_email() {
    let f = found("You can reach me at 312.555.0188 after work");
    assert_eq!(f, vec![(Label::Phone, "312.555.0188".to_owned())]);
}

#[test]
fn names_in_capitals_are_found() {
    assert!(has(
        "PATIENT: JOHN SMITH, DOB 4/5/1961",
        Label::Name,
        "JOHN SMITH"
    ));
    assert!(has(
        "Pt MARIA LOPEZ needs a refill",
        Label::Name,
        "MARIA LOPEZ"
    ));
}

#[test]
fn drug_and_product_names_are_not_taken_for_people() {
    for (text, drug) in [
        ("Hi, is the Eliquis ready?", "Eliquis"),
        ("Please deliver the Ozempic to the front desk.", "Ozempic"),
        ("Allergy to Lipitor noted.", "Lipitor"),
    ] {
        let f = found(text);
        assert!(
            f.iter().all(|(l, _)| *l != Label::Name),
            "{drug} taken for a name"
        );
        assert!(f.contains(&(Label::Medication, drug.to_owned())));
    }
    assert!(found("Parked out front in the blue Prius.").is_empty());
}

#[test]
fn licence_like_patterns_inside_base64_or_urls_are_not_ids() {
    // A DEA-valid and an MBI-valid string embedded in a token and a URL.
    let f = found("token dGhpc2lzQk00NzIxODYyZm9vYmFyYmF6cXV4 ok");
    assert!(f.is_empty(), "{f:?}");
    let f = found("see https://example.org/x/BM4721862/1EG4TE5MK73 now");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].0, Label::Url);
}

#[test]
fn order_numbers_times_gate_codes_dosages_and_prices_are_not_phi() {
    for text in [
        "Order #58211 picked up at 4:30pm.",
        "Your order ORD-20753 is out for delivery.",
        "Gate code 4821#, then unit 12.",
        "Take 50 mg twice a day, 30 tablets.",
        "Copay is $12.50, fee $3.",
        "Package locker code 302117, locker 14.",
        "Tracking 1Z999AA10123456784 shows delivered.",
        "Store #1142 closes at 9pm. Main line (800) 555-0142.",
        "Charge the card ending 1111 please.",
        "I was born in 1956, senior discount please.",
        "Storing at 36-46°F; ETA 12 min.",
        "Reply 1 to confirm, 2 to reschedule.",
    ] {
        assert!(found(text).is_empty(), "flagged: {text}");
    }
}

#[test]
fn c6_zero_width_characters_inside_an_email_are_ignored() {
    let text = "email me: ana.k\u{200b}@exa\u{200d}mple.org";
    let f = found(text);
    assert_eq!(
        f,
        vec![(Label::Email, "ana.k\u{200b}@exa\u{200d}mple.org".to_owned())]
    );
    assert_eq!(driver(text), "email me: [EMAIL]");
}

#[test]
fn c6_fullwidth_at_sign_and_digits_are_folded() {
    assert!(has(
        "ana\u{ff20}example.net is my email",
        Label::Email,
        "ana\u{ff20}example.net"
    ));
    let text = "phone: （３１２） ５５５－０１４２";
    assert_eq!(driver(text), "phone: [PHONE]");
}

#[test]
fn c6_en_dash_and_other_dash_ssns_are_found() {
    assert!(has(
        "SSN 923\u{2013}45\u{2013}6789",
        Label::Ssn,
        "923\u{2013}45\u{2013}6789"
    ));
    assert!(has(
        "ss 923\u{2014}45\u{2014}6789",
        Label::Ssn,
        "923\u{2014}45\u{2014}6789"
    ));
    assert!(has(
        "ssn 923\u{2011}45\u{2011}6789",
        Label::Ssn,
        "923\u{2011}45\u{2011}6789"
    ));
}

#[test]
fn c6_soft_hyphen_bidi_and_arabic_digits_do_not_hide_an_ssn() {
    let text = "ssn 9\u{ad}23-4\u{202e}5-67\u{2066}89 ok";
    assert_eq!(driver(text), "ssn [SSN] ok");
    let arabic = "ssn \u{669}\u{662}\u{663}-\u{664}\u{665}-\u{666}\u{667}\u{668}\u{669}";
    assert_eq!(driver(arabic), "ssn [SSN]");
}

#[test]
fn c6_spelled_out_and_spaced_digits_are_found() {
    assert_eq!(
        driver("ssn nine two three four five six seven eight nine"),
        "ssn [SSN]"
    );
    assert_eq!(
        driver("social security 9 2 3 4 5 6 7 8 9"),
        "social security [SSN]"
    );
}

#[test]
fn dates_in_spanish_are_found() {
    assert!(has(
        "Mi fecha de nacimiento es 4 de marzo de 1956.",
        Label::Dob,
        "4 de marzo de 1956"
    ));
    assert!(has(
        "Nací el 20 de Mayo del 1958",
        Label::Dob,
        "20 de Mayo del 1958"
    ));
    assert!(has("mi cumpleaños es 21/12/1945", Label::Dob, "21/12/1945"));
}

#[test]
fn c7_offsets_stay_exact_after_emoji_and_curly_quotes() {
    let text = "💊 it’s for Rosa Chen 😣, DOB 3/4/56";
    let f = scan(text);
    let got: Vec<&str> = f.iter().map(|x| &text[x.range.clone()]).collect();
    assert_eq!(got, vec!["Rosa Chen", "3/4/56"]);
    assert_eq!(
        render(text, &f, Role::Driver),
        "💊 it’s for Rosa [NAME] 😣, DOB [DOB]"
    );
}

#[test]
fn c7_phi_at_the_very_end_of_the_text_is_redacted() {
    assert_eq!(driver("call 608-555-0143"), "call [PHONE]");
}

#[test]
fn c9_text_over_the_cap_is_refused_before_scanning() {
    let big = "1".repeat(MAX_TEXT_BYTES + 1);
    let r = Redactor::new().scan(&big, &OrderRecord::default());
    assert_eq!(r, Err(RedactError::TooLarge));
    assert_eq!(RedactError::TooLarge.to_string(), "text too large to scan");
}

#[test]
fn c9_a_cap_sized_run_of_digits_and_separators_scans_without_panic() {
    let digits = "1234-".repeat(MAX_TEXT_BYTES / 5);
    assert!(Redactor::new()
        .scan(&digits, &OrderRecord::default())
        .is_ok());
}

#[test]
fn driver_sees_first_name_address_and_zip_only() {
    let text = "Deliver to Andre Chen, 5830 Harbor View Dr, Salem, MA 01970. His MRN is 141784843.";
    assert_eq!(
        driver(text),
        "Deliver to Andre [NAME], 5830 Harbor View Dr, Salem, MA 01970. His MRN is [MRN]."
    );
    assert_eq!(render(text, &scan(text), Role::Pharmacist), text);
}

#[test]
fn staff_introductions_and_thanks_are_not_patient_names() {
    assert!(found("Hi Samuel, this is Dana from the pharmacy.")
        .iter()
        .all(|(_, v)| v != "Dana"));
    assert!(found("Thanks Jess, I'll let the customer know.").is_empty());
}

#[test]
fn prescriber_after_title_is_a_last_name() {
    let f = scan("Prescriber Dr. O'Neill called in the warfarin.");
    let name = f
        .iter()
        .find(|x| x.label == Label::Name)
        .expect("name found");
    assert_eq!(name.name_part, NamePart::Last);
}

#[test]
fn order_record_values_are_found_in_any_case_and_format() {
    let rec = OrderRecord {
        patient_name: Some("Xiomara Vandeleur".into()),
        dob: Some("1961-04-05".into()),
        mrn: Some("AB-77123".into()),
        member_id: Some("QQ9988776655".into()),
        medications: vec!["Zyzzomab".into()],
        phone: Some("+1 (608) 555-0143".into()),
    };
    let text =
        "vandeleur says dob 04/05/61, chart ab77123, plan QQ9988776655, zyzzomab, 6085550143";
    let f = Redactor::new().scan(text, &rec).expect("scan");
    let labels: Vec<Label> = f.iter().map(|x| x.label).collect();
    assert_eq!(
        labels,
        vec![
            Label::Name,
            Label::Dob,
            Label::Mrn,
            Label::InsuranceId,
            Label::Medication,
            Label::Phone
        ]
    );
    // Dates are matched by value against the record's DOB inside the date reader.
    assert!(f
        .iter()
        .filter(|x| x.label != Label::Dob)
        .all(|x| x.detector == "order_record"));
}

#[test]
fn cards_are_masked_to_the_last_four_for_every_role() {
    let text = "card 4111 1111 1111 1111 exp 09/29";
    let f = scan(text);
    let (masked, remapped) = mask_cards(text, &f);
    assert_eq!(masked, "card [CARD ••••1111] exp 09/29");
    assert_eq!(render(&masked, &remapped, Role::Pharmacist), masked);
    assert_eq!(
        render(&masked, &remapped, Role::Driver),
        "card [CREDIT_CARD] exp 09/29"
    );
    // The mask itself is not found again as a card.
    assert!(scan(&masked).iter().all(|x| x.label != Label::CreditCard));
}

#[test]
fn ingest_policy_rejects_with_label_names_only() {
    let text = "ssn 923-45-6789, phone 608-555-0143";
    let f = scan(text);
    let mut p = IngestPolicy::default();
    assert_eq!(p.check(Role::Patient, &f), Ok(()));
    p.set(Role::Patient, IngestMode::Reject(vec![Label::Ssn]));
    assert_eq!(p.check(Role::Patient, &f), Err(vec![Label::Ssn]));
    p.set(Role::Driver, IngestMode::Reject(Vec::new()));
    assert_eq!(
        p.check(Role::Driver, &f),
        Err(vec![Label::Phone, Label::Ssn])
    );
    p.set(Role::Pharmacist, IngestMode::Allow);
    assert!(p.findings_to_store(Role::Pharmacist, f.clone()).is_empty());
    assert_eq!(p.findings_to_store(Role::Patient, f.clone()), f);
}

#[test]
fn redactor_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Redactor>();
}

#[test]
fn hyphenated_and_particle_surnames_are_hidden_whole_from_the_driver() {
    assert_eq!(driver("Dr. Smith-Jones called."), "Dr. [NAME] called.");
    assert_eq!(
        driver("my daughter Maria de la Cruz will sign"),
        "my daughter Maria [NAME] will sign"
    );
}

#[test]
fn last_four_of_ssn_is_found_after_the_cue_phrase() {
    assert_eq!(driver("SSN last 4: 6789"), "SSN last 4: [SSN]");
    assert_eq!(
        driver("The last four of my social are 4455."),
        "The last four of my social are [SSN]."
    );
}

#[test]
fn day_month_year_with_abbreviated_month_is_a_birth_date() {
    assert!(has("born 4-Mar-1956, thanks", Label::Dob, "4-Mar-1956"));
    assert!(has("d.o.b. 02-14-1961", Label::Dob, "02-14-1961"));
}

#[test]
fn delivery_dates_and_card_expiry_stay_visible() {
    assert!(found("Deliver Thursday 9/12 between 1 and 3pm.").is_empty());
    assert!(found("Can you come after 7:45pm? I'll be home 12/9.").is_empty());
    assert_eq!(
        driver("card 4111111111111111 exp 09/29"),
        "card [CREDIT_CARD] exp 09/29"
    );
}

#[test]
fn staff_named_by_role_are_not_patient_names() {
    assert!(found("Your driver today is Luis, he'll be there soon.").is_empty());
    assert!(found("This is Marco with Quick Rx Delivery, I'm outside.").is_empty());
}

#[test]
fn possessive_and_called_names_outside_the_dictionary_are_found() {
    assert_eq!(
        driver("Reminder: Tendai's refill is ready."),
        "Reminder: [NAME]'s refill is ready."
    );
    assert!(has(
        "Please call Tendai at the number on file.",
        Label::Name,
        "Tendai"
    ));
}

#[test]
fn operational_text_from_drivers_is_left_alone() {
    for text in [
        "Heads up: road closed on Elm, taking the long way, 20 min late.",
        "Front desk code 7731, ask for the concierge.",
        "Order ORD-77102 delivered at 2:14pm.",
        "Our phone is 1-888-555-0100 if you have questions.",
        "Delivery attempt 2 failed, will retry Monday.",
        "Mail room code 0042#.",
    ] {
        assert!(found(text).is_empty(), "flagged: {text}");
    }
}

#[test]
fn record_name_inside_an_email_leaves_the_email_whole() {
    let rec = OrderRecord {
        patient_name: Some("Daniel Delgado".into()),
        ..OrderRecord::default()
    };
    let text = "my email is daniel.delgado@example.org, Daniel";
    let f = Redactor::new().scan(text, &rec).expect("scan");
    let got: Vec<(Label, &str)> = f
        .iter()
        .map(|x| (x.label, &text[x.range.clone()]))
        .collect();
    assert_eq!(
        got,
        vec![
            (Label::Email, "daniel.delgado@example.org"),
            (Label::Name, "Daniel")
        ]
    );
}

#[test]
fn c6_zero_width_split_and_spelled_out_phones_are_found() {
    assert_eq!(
        driver("ok 608\u{200b}555\u{200b}0143 thanks"),
        "ok [PHONE] thanks"
    );
    assert_eq!(
        driver("six oh eight five five five oh one four three is my cell"),
        "[PHONE] is my cell"
    );
    assert!(found("Order 1234567890 shipped").is_empty());
}

#[test]
fn month_and_year_after_a_birth_cue_is_hidden_but_a_year_alone_is_not() {
    assert!(has("I was born in March 1956.", Label::Dob, "March 1956"));
    assert!(has("Born 3 March 1956 in Ohio", Label::Dob, "3 March 1956"));
    assert!(found("We moved in May 2024.").is_empty());
    assert!(found("I was born in 1955, so senior discount.").is_empty());
}

#[test]
fn surname_comma_given_name_keeps_only_the_given_name_for_the_driver() {
    assert_eq!(
        driver("Pt: DOE, JANE needs a refill"),
        "Pt: [NAME], JANE needs a refill"
    );
    assert_eq!(
        driver("Patient Okafor, Sofia called"),
        "Patient [NAME], Sofia called"
    );
}
