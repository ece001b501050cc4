//! Fuzz target: the redactor and its normalizer on arbitrary input (SECURITY.md C6, C7, C9).
//! Findings must be sorted, non-overlapping, inside the text and on char boundaries; every
//! view and the card mask must build without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rxroom_core::ids::Role;
use rxroom_core::labels::OrderRecord;
use rxroom_core::redact::{mask_cards, render, Redactor};
use std::sync::OnceLock;

static REDACTOR: OnceLock<Redactor> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let redactor = REDACTOR.get_or_init(Redactor::new);
    let record = OrderRecord {
        patient_name: Some("Rosa Chen".into()),
        dob: Some("1956-03-04".into()),
        mrn: Some("00482913".into()),
        member_id: Some("XGP847293011".into()),
        medications: vec!["sertraline".into()],
        phone: Some("312-555-0147".into()),
    };
    let Ok(findings) = redactor.scan(&text, &record) else { return };
    let mut last = 0;
    for f in &findings {
        assert!(f.range.start >= last && f.range.start < f.range.end && f.range.end <= text.len());
        assert!(text.is_char_boundary(f.range.start) && text.is_char_boundary(f.range.end));
        last = f.range.end;
    }
    for role in Role::ALL {
        let _ = render(&text, &findings, role);
    }
    let (masked, remapped) = mask_cards(&text, &findings);
    let _ = render(&masked, &remapped, Role::Driver);
});
