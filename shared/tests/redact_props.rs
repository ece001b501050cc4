//! Property tests for the redactor (issue 4 "Robustness"; SECURITY.md C6, C7, C9): generated PHI
//! at random positions, plain or obfuscated, never survives in the driver view; redaction is
//! idempotent; no input panics and findings are always well-formed.

use proptest::prelude::*;
use rxroom_core::ids::Role;
use rxroom_core::labels::OrderRecord;
use rxroom_core::redact::{mask_cards, render, Redactor, MAX_TEXT_BYTES};
use std::sync::OnceLock;

fn redactor() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(Redactor::new)
}

fn driver_view(text: &str) -> String {
    let f = redactor()
        .scan(text, &OrderRecord::default())
        .expect("under the cap");
    render(text, &f, Role::Driver)
}

const FILLER: &[&str] = &[
    "please", "leave", "it", "at", "the", "door", "thanks", "ok", "so", "and", "then", "here",
    "is", "my", "info", "for", "you", "today", "again", "note", "-", ",", ":", "(", ")", "😊",
    "it’s", "gracias", "also", "btw",
];

fn digits(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..10, n)
        .prop_map(|v| v.into_iter().map(|d| char::from(b'0' + d)).collect())
}

fn luhn_digit(body: &str) -> char {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// One PHI value in a self-identifying format (needs no cue word).
fn phi() -> impl Strategy<Value = String> {
    prop_oneof![
        // SSN in never-issued ranges, dashed.
        (digits(2), digits(2), digits(4)).prop_map(|(a, b, c)| format!("9{a}-{b}-{c}")),
        // NANP fiction range phones in common formats.
        (digits(3), digits(2), 0usize..4).prop_map(|(a, x, k)| {
            // Area codes 2xx-7xx: toll-free 8xx numbers are read as business lines by design.
            let a = format!("{}{}", ((a.as_bytes()[0] - b'0') % 6 + 2), &a[1..]);
            match k {
                0 => format!("({a}) 555-01{x}"),
                1 => format!("{a}-555-01{x}"),
                2 => format!("{a}.555.01{x}"),
                _ => format!("+1 {a} 555 01{x}"),
            }
        }),
        // E-mails on example domains.
        ("[a-z]{3,8}", "[a-z]{2,6}", 0usize..3).prop_map(|(u, v, k)| {
            let d = ["example.com", "example.org", "mail.example.net"][k];
            format!("{u}.{v}@{d}")
        }),
        // Luhn-valid 16-digit cards, grouped or not.
        (digits(15), any::<bool>()).prop_map(|(b, grouped)| {
            let body = format!("4{}", &b[..14]);
            let pan = format!("{body}{}", luhn_digit(&body));
            if grouped {
                format!(
                    "{} {} {} {}",
                    &pan[0..4],
                    &pan[4..8],
                    &pan[8..12],
                    &pan[12..16]
                )
            } else {
                pan
            }
        }),
        // MBI in CMS classes.
        (
            1u8..10,
            "[ACDEFGHJKMNPQRTUVWXY]",
            digits(2),
            "[ACDEFGHJKMNPQRTUVWXY]{2}",
            digits(1),
            "[ACDEFGHJKMNPQRTUVWXY]{2}",
            digits(2),
            any::<bool>()
        )
            .prop_map(|(a, b, c, d, e, f, g, dashed)| {
                let sep = if dashed { "-" } else { "" };
                format!("{a}{b}{c}{sep}{d}{e}{sep}{f}{g}")
            }),
        // Documentation-range IPv4.
        (0u8..3, 1u8..255).prop_map(|(k, h)| format!(
            "{}.{h}",
            ["192.0.2", "198.51.100", "203.0.113"][usize::from(k)]
        )),
    ]
}

/// Obfuscations from SECURITY.md C6, applied to digits and separators.
fn obfuscate(v: &str, how: u8) -> String {
    let numeric = v.chars().all(|c| c.is_ascii_digit() || " -()+".contains(c));
    if how == 5 && numeric {
        // Typed digit by digit: `9 2 3 4 5 ...`.
        let d: Vec<String> = v
            .chars()
            .filter(char::is_ascii_digit)
            .map(String::from)
            .collect();
        return d.join(" ");
    }
    let mut out = String::new();
    for (i, c) in v.chars().enumerate() {
        match how {
            1 if c.is_ascii_digit() => {
                out.push(char::from_u32(c as u32 - 0x30 + 0xFF10).unwrap_or(c))
            }
            2 if i > 0 && c.is_ascii_digit() && i % 3 == 0 => {
                out.push('\u{200B}');
                out.push(c);
            }
            3 if c == '-' => out.push('\u{2013}'),
            4 if c == '@' => out.push('\u{FF20}'),
            _ => out.push(c),
        }
    }
    out
}

fn sentence() -> impl Strategy<Value = (String, String, String)> {
    (
        proptest::collection::vec(proptest::sample::select(FILLER), 0..6),
        phi(),
        0u8..6,
        proptest::collection::vec(proptest::sample::select(FILLER), 0..6),
    )
        .prop_map(|(pre, v, how, post)| {
            let v = obfuscate(&v, how);
            (pre.join(" "), v, post.join(" "))
        })
}

fn significant(v: &str) -> String {
    v.chars().filter(|c| c.is_alphanumeric()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn c6_generated_phi_never_survives_in_the_driver_view((pre, v, post) in sentence()) {
        let text = format!("{pre} {v} {post}");
        let view = driver_view(&text);
        prop_assert!(!view.contains(&v), "value survived");
        let sig = significant(&v);
        let view_sig: String = view.chars().filter(|c| c.is_alphanumeric()).collect();
        // Filler and placeholders hold no digits, so no digit of the value may remain.
        if sig.chars().any(|c| c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(&c)) {
            prop_assert!(!view.chars().any(|c| c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(&c)), "digits survived");
        } else {
            prop_assert!(!view_sig.contains(&sig), "value survived");
        }
    }

    #[test]
    fn redaction_is_idempotent((pre, v, post) in sentence(), (pre2, v2, post2) in sentence()) {
        let text = format!("{pre} {v} {post}. {pre2} {v2} {post2}");
        let once = driver_view(&text);
        let twice = driver_view(&once);
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn c9_no_input_panics_and_findings_are_well_formed(text in "\\PC{0,300}") {
        let f = redactor().scan(&text, &OrderRecord::default()).expect("under the cap");
        let mut last_end = 0;
        for x in &f {
            prop_assert!(x.range.start >= last_end && x.range.start < x.range.end && x.range.end <= text.len());
            prop_assert!(text.is_char_boundary(x.range.start) && text.is_char_boundary(x.range.end));
            last_end = x.range.end;
        }
        for role in Role::ALL {
            let _ = render(&text, &f, role);
        }
        let _ = mask_cards(&text, &f);
    }

    #[test]
    fn c6_mixed_digit_separator_and_format_soup_never_panics(
        parts in proptest::collection::vec(prop_oneof![
            Just("1"), Just("9"), Just("-"), Just("."), Just("/"), Just(" "), Just("("), Just(")"),
            Just("+"), Just("@"), Just("\u{200B}"), Just("\u{FF15}"), Just("\u{2013}"), Just(":"),
            Just("nine"), Just("a"), Just("Dr."), Just("#"), Just("$"), Just("\n"), Just("é"),
        ], 0..400)
    ) {
        let text: String = parts.concat();
        let f = redactor().scan(&text, &OrderRecord::default()).expect("under the cap");
        let _ = render(&text, &f, Role::Driver);
    }
}

#[test]
fn c9_one_megabyte_of_digits_is_refused_not_scanned() {
    let text = "7".repeat(1 << 20);
    assert!(redactor().scan(&text, &OrderRecord::default()).is_err());
    let capped = "7".repeat(MAX_TEXT_BYTES);
    let start = std::time::Instant::now();
    assert!(redactor().scan(&capped, &OrderRecord::default()).is_ok());
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}
