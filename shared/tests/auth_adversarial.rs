//! The SECURITY.md section 3.A adversarial set (A1–A15) against `Verifier::verify`, natively.
//! Every refusal is asserted by its `AuthError` name, so a token refused for the wrong reason
//! fails the test.

mod auth_support;

use auth_support::*;
use rxroom_core::api::ErrorCode;
use rxroom_core::claims::{AuthConfig, AuthError, Verifier};
use serde_json::{json, Value};

fn s(v: &str) -> Value {
    Value::String(v.into())
}

#[test]
fn a_valid_token_is_accepted_so_that_every_refusal_below_is_meaningful() {
    let p = verify_prod(&good_driver()).expect("baseline token verifies");
    assert_eq!(p.user().as_str(), "user-7");
    assert_eq!(p.expires_at_ms(), (NOW + 840) * 1000);
}

#[test]
fn a1_alg_none_and_its_case_and_whitespace_variants_are_refused() {
    for alg in [
        "none", "None", "NONE", "nOnE", "none ", " none", "", "EdDSA ", "eddsa", "ED25519",
    ] {
        let t = ed(&header(alg, ED_A), &driver_claims());
        assert_eq!(refused(&t), Some(AuthError::AlgNotAllowed), "alg {alg:?}");
        // An empty signature, as `none` tokens carry, never gets as far as the header.
        let unsigned = format!("{}.", t.rsplit_once('.').map(|(a, _)| a).unwrap_or(""));
        assert_eq!(
            refused(&unsigned),
            Some(AuthError::Structure),
            "alg {alg:?} unsigned"
        );
    }
    let no_alg = ed(&without(header("EdDSA", ED_A), "alg"), &driver_claims());
    assert_eq!(refused(&no_alg), Some(AuthError::AlgNotAllowed));
    let numeric = ed(
        &with(header("EdDSA", ED_A), "alg", json!(1)),
        &driver_claims(),
    );
    assert_eq!(refused(&numeric), Some(AuthError::AlgNotAllowed));
    // RFC 7519 section 6.1, the unsecured JWT example.
    let rfc =
        "eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt\
               cGxlLmNvbS9pc19yb290Ijp0cnVlfQ.";
    assert_eq!(refused(rfc), Some(AuthError::Structure));
}

#[test]
fn a2_hs256_maced_with_the_ed25519_public_key_is_refused() {
    let x = ed_public(SEED_A);
    let jwk_text = ed_jwk(ED_A, SEED_A).to_string();
    let x_text = b64(&x);
    let h = Value::Object(header("HS256", ED_A)).to_string();
    let c = Value::Object(driver_claims()).to_string();
    for secret in [x.as_slice(), jwk_text.as_bytes(), x_text.as_bytes()] {
        let t = sign_hs_raw(secret, &h, &c);
        // Production: HS256 is not an algorithm at all.
        assert_eq!(refused(&t), Some(AuthError::AlgNotAllowed));
        // Dev: HS256 exists, but the kid names an Ed25519 key, which pins EdDSA.
        assert_eq!(refused_dev(&t), Some(AuthError::AlgMismatch));
    }
}

#[test]
fn a3_unknown_huge_path_like_null_numeric_and_cross_algorithm_kids_are_refused() {
    let claims = driver_claims();
    let t = ed(&header("EdDSA", "no-such-key"), &claims);
    assert_eq!(refused(&t), Some(AuthError::UnknownKid));
    let t = ed(&header("EdDSA", "../../etc/passwd"), &claims);
    assert_eq!(refused(&t), Some(AuthError::UnknownKid));
    let t = ed(&header("EdDSA", "k'; DROP TABLE keys;--"), &claims);
    assert_eq!(refused(&t), Some(AuthError::BadKid));
    let t = ed(&header("EdDSA", "$(rm -rf /)"), &claims);
    assert_eq!(refused(&t), Some(AuthError::BadKid));
    let t = ed(&header("EdDSA", &"k".repeat(65)), &claims);
    assert_eq!(refused(&t), Some(AuthError::BadKid));
    let t = ed(&header("EdDSA", &"k".repeat(10 * 1024)), &claims);
    assert_eq!(refused(&t), Some(AuthError::TooLarge));
    let t = ed(&with(header("EdDSA", ED_A), "kid", Value::Null), &claims);
    assert_eq!(refused(&t), Some(AuthError::BadKid));
    let t = ed(&with(header("EdDSA", ED_A), "kid", json!(7)), &claims);
    assert_eq!(refused(&t), Some(AuthError::BadKid));
    let t = ed(&without(header("EdDSA", ED_A), "kid"), &claims);
    assert_eq!(refused(&t), Some(AuthError::MissingKid));
    // A kid that names a key of another algorithm: EdDSA header, ES256 key.
    let t = ed(&header("EdDSA", ES), &claims);
    assert_eq!(refused(&t), Some(AuthError::AlgMismatch));
    let t = sign_es_raw(
        &Value::Object(header("ES256", ED_A)).to_string(),
        &Value::Object(claims).to_string(),
    );
    assert_eq!(refused(&t), Some(AuthError::AlgMismatch));
}

#[test]
fn a4_embedded_jwk_jku_and_x5_headers_are_refused() {
    let attacker = [66_u8; 32];
    let embedded = [
        ("jwk", ed_jwk("evil", attacker)),
        ("jku", s("https://attacker.example/jwks.json")),
        ("x5u", s("https://attacker.example/cert.pem")),
        ("x5c", json!(["MIIB"])),
        ("x5t", s("AAAA")),
        ("x5t#S256", s("AAAA")),
    ];
    for (name, value) in embedded {
        for kid in ["evil", ED_A] {
            let h = with(header("EdDSA", kid), name, value.clone());
            let t = sign_ed_raw(
                attacker,
                &Value::Object(h).to_string(),
                &Value::Object(driver_claims()).to_string(),
            );
            assert_eq!(
                refused(&t),
                Some(AuthError::EmbeddedKey),
                "{name} with kid {kid}"
            );
        }
    }
}

#[test]
fn a5_exp_missing_malformed_and_both_sides_of_the_leeway_are_decided() {
    let base = with(driver_claims(), "iat", json!(NOW - 600));
    let t = ed(&header("EdDSA", ED_A), &without(base.clone(), "exp"));
    assert_eq!(refused(&t), Some(AuthError::MissingExp));
    let t = ed(
        &header("EdDSA", ED_A),
        &with(base.clone(), "exp", json!(NOW - LEEWAY)),
    );
    assert_eq!(refused(&t), None, "exp at now - leeway is still accepted");
    let t = ed(
        &header("EdDSA", ED_A),
        &with(base.clone(), "exp", json!(NOW - LEEWAY - 1)),
    );
    assert_eq!(refused(&t), Some(AuthError::Expired));
    let t = ed(
        &header("EdDSA", ED_A),
        &with(base.clone(), "exp", json!(NOW - 1)),
    );
    assert_eq!(refused(&t), None, "inside the leeway");
    for bad in [
        json!((NOW + 60).to_string()),
        json!(1.8e9 + 0.5),
        json!(-1),
        json!(null),
        json!(true),
    ] {
        let t = ed(
            &header("EdDSA", ED_A),
            &with(base.clone(), "exp", bad.clone()),
        );
        assert_eq!(refused(&t), Some(AuthError::BadTime), "exp {bad}");
    }
    // 1e300 and 1800000000.0 are floats in JSON; 10^14 s is past year 9999.
    for raw in ["1e300", "1800000600.0", "100000000000000"] {
        let c = Value::Object(without(base.clone(), "exp")).to_string();
        let c = format!("{},\"exp\":{raw}}}", c.trim_end_matches('}'));
        let t = sign_ed_raw(
            SEED_A,
            &Value::Object(header("EdDSA", ED_A)).to_string(),
            &c,
        );
        assert_eq!(refused(&t), Some(AuthError::BadTime), "exp {raw}");
    }
    // A far but representable exp is refused by the lifetime cap (one hour by default).
    let t = ed(
        &header("EdDSA", ED_A),
        &with(base.clone(), "exp", json!(NOW + 3600)),
    );
    assert_eq!(refused(&t), Some(AuthError::BadLifetime));
    let inverted = with(with(base, "iat", json!(NOW - 10)), "exp", json!(NOW - 20));
    let t = ed(&header("EdDSA", ED_A), &inverted);
    assert_eq!(
        refused(&t),
        Some(AuthError::BadLifetime),
        "exp not after iat"
    );
}

#[test]
fn a6_nbf_and_iat_are_checked_on_both_sides_of_the_leeway() {
    let h = header("EdDSA", ED_A);
    let t = ed(&h, &with(driver_claims(), "nbf", json!(NOW + LEEWAY)));
    assert_eq!(refused(&t), None, "nbf at now + leeway is accepted");
    let t = ed(&h, &with(driver_claims(), "nbf", json!(NOW + LEEWAY + 1)));
    assert_eq!(refused(&t), Some(AuthError::NotYetValid));
    let t = ed(&h, &with(driver_claims(), "nbf", json!(NOW + 120)));
    assert_eq!(refused(&t), Some(AuthError::NotYetValid));
    let t = ed(&h, &with(driver_claims(), "nbf", json!("soon")));
    assert_eq!(refused(&t), Some(AuthError::BadTime));
    let t = ed(&h, &with(driver_claims(), "iat", json!(NOW + LEEWAY)));
    assert_eq!(refused(&t), None, "iat at now + leeway is accepted");
    let t = ed(&h, &with(driver_claims(), "iat", json!(NOW + LEEWAY + 1)));
    assert_eq!(refused(&t), Some(AuthError::IssuedInFuture));
    let t = ed(&h, &without(driver_claims(), "iat"));
    assert_eq!(refused(&t), Some(AuthError::MissingIat));
}

#[test]
fn a7_issuer_and_audience_must_be_ours() {
    let h = header("EdDSA", ED_A);
    let t = ed(
        &h,
        &with(driver_claims(), "iss", s("https://other-idp.example")),
    );
    assert_eq!(refused(&t), Some(AuthError::WrongIssuer));
    let t = ed(&h, &without(driver_claims(), "iss"));
    assert_eq!(refused(&t), Some(AuthError::WrongIssuer));
    let t = ed(&h, &with(driver_claims(), "aud", s("media-service")));
    assert_eq!(refused(&t), Some(AuthError::WrongAudience));
    let t = ed(
        &h,
        &with(driver_claims(), "aud", json!(["media-service", "rxroom"])),
    );
    assert_eq!(refused(&t), None, "an array containing ours is accepted");
    let t = ed(
        &h,
        &with(driver_claims(), "aud", json!(["media-service", "RXROOM"])),
    );
    assert_eq!(refused(&t), Some(AuthError::WrongAudience));
    let t = ed(&h, &with(driver_claims(), "aud", json!([])));
    assert_eq!(refused(&t), Some(AuthError::WrongAudience));
    let t = ed(&h, &with(driver_claims(), "aud", json!([1, "rxroom"])));
    assert_eq!(refused(&t), Some(AuthError::WrongAudience));
    let t = ed(&h, &without(driver_claims(), "aud"));
    assert_eq!(refused(&t), Some(AuthError::WrongAudience));
}

#[test]
fn a8_oversized_tokens_are_refused_before_any_decoding() {
    // Garbage that would fail every later check: only the size check can name it.
    for len in [8 * 1024 + 1, 64 * 1024, 1024 * 1024] {
        assert_eq!(
            refused(&"!".repeat(len)),
            Some(AuthError::TooLarge),
            "{len} bytes"
        );
        let dotted = format!("{}.{}.{}", "a".repeat(len), "b", "c");
        assert_eq!(refused(&dotted), Some(AuthError::TooLarge));
    }
    // The cap is inclusive: a token of exactly the cap passes, one byte over does not.
    let t = ed(
        &header("EdDSA", ED_A),
        &with(driver_claims(), "pad", s(&"p".repeat(5000))),
    );
    let exact = AuthConfig {
        max_token_bytes: t.len(),
        ..prod_config()
    };
    let v = Verifier::new(exact, &prod_jwks()).expect("valid");
    assert!(v.verify(&t, NOW_MS).is_ok());
    let under = AuthConfig {
        max_token_bytes: t.len() - 1,
        ..prod_config()
    };
    let v = Verifier::new(under, &prod_jwks()).expect("valid");
    assert_eq!(v.verify(&t, NOW_MS).err(), Some(AuthError::TooLarge));
}

#[test]
fn a9_scope_role_and_region_claims_are_enforced_and_covers_is_exact() {
    let h = header("EdDSA", ED_A);
    let p = verify_prod(&good_driver()).expect("verifies");
    let tenant = "pharm-1".parse().expect("valid");
    assert!(p.covers(&"ord-1".parse().expect("valid"), &tenant));
    assert!(
        !p.covers(&"ord-2".parse().expect("valid"), &tenant),
        "another order"
    );
    assert_eq!(
        p.region(),
        rxroom_core::ids::Region::Us,
        "a US token is not an EU token"
    );

    let pharm = with(
        without(with(driver_claims(), "role", s("pharmacist")), "orders"),
        "tenant",
        s("pharm-1"),
    );
    let p = verify_prod(&ed(&h, &pharm)).expect("pharmacist verifies");
    assert!(p.covers(&"ord-9".parse().expect("valid"), &tenant));
    assert!(!p.covers(
        &"ord-9".parse().expect("valid"),
        &"pharm-2".parse().expect("valid")
    ));

    let cases = [
        (
            with(driver_claims(), "role", s("admin")),
            AuthError::BadRole,
        ),
        (
            with(driver_claims(), "role", s("Driver")),
            AuthError::BadRole,
        ),
        (
            with(driver_claims(), "tenant", s("pharm-1")),
            AuthError::BadScope,
        ),
        (
            with(pharm.clone(), "orders", json!(["ord-1"])),
            AuthError::BadScope,
        ),
        (without(pharm, "tenant"), AuthError::BadScope),
        (without(driver_claims(), "orders"), AuthError::BadScope),
        (
            with(driver_claims(), "orders", json!([])),
            AuthError::BadScope,
        ),
        (
            with(driver_claims(), "orders", json!(["ord-1", "ord-1"])),
            AuthError::BadScope,
        ),
        (
            with(driver_claims(), "orders", json!(["../x"])),
            AuthError::BadScope,
        ),
        (
            with(driver_claims(), "orders", json!("ord-1")),
            AuthError::BadScope,
        ),
        (
            with(driver_claims(), "region", s("mars")),
            AuthError::BadRegion,
        ),
        (without(driver_claims(), "region"), AuthError::BadRegion),
        (without(driver_claims(), "dev"), AuthError::BadDevice),
        (with(driver_claims(), "dev", s("a b")), AuthError::BadDevice),
        (without(driver_claims(), "sub"), AuthError::BadSubject),
        (
            with(driver_claims(), "sub", json!(42)),
            AuthError::BadSubject,
        ),
    ];
    for (claims, expected) in cases {
        assert_eq!(refused(&ed(&h, &claims)), Some(expected), "{claims:?}");
    }
    let fifty: Vec<String> = (0..50).map(|i| format!("ord-{i}")).collect();
    assert_eq!(
        refused(&ed(&h, &with(driver_claims(), "orders", json!(fifty)))),
        None
    );
    let fifty_one: Vec<String> = (0..51).map(|i| format!("ord-{i}")).collect();
    let t = ed(&h, &with(driver_claims(), "orders", json!(fifty_one)));
    assert_eq!(refused(&t), Some(AuthError::BadScope));
}

#[test]
fn a10_any_crit_header_is_refused() {
    for crit in [json!(["exp-ext"]), json!([]), json!(["b64"])] {
        let t = ed(&with(header("EdDSA", ED_A), "crit", crit), &driver_claims());
        assert_eq!(refused(&t), Some(AuthError::CritPresent));
    }
}

#[test]
fn a11_cty_cbor_and_any_other_cty_are_refused() {
    // CBOR claims: `{"sub": "x"}` as CBOR bytes; the header refusal comes first.
    let cbor_claims = [0xa1_u8, 0x63, b's', b'u', b'b', 0x61, b'x'];
    for cty in ["CBOR", "cbor", "JWT", "json"] {
        let h = Value::Object(with(header("EdDSA", ED_A), "cty", s(cty))).to_string();
        let input = format!("{}.{}", b64(h.as_bytes()), b64(&cbor_claims));
        let kp = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(SEED_A));
        let t = format!(
            "{input}.{}",
            b64(kp.sk.sign(input.as_bytes(), None).as_ref())
        );
        assert_eq!(refused(&t), Some(AuthError::CtyPresent), "cty {cty}");
    }
}

#[test]
fn a12_typ_must_be_exactly_jwt() {
    for typ in [
        s("at+jwt"),
        s("jwt"),
        s("JWS"),
        s("refresh+jwt"),
        s("JWT "),
        json!(1),
        Value::Null,
    ] {
        let t = ed(
            &with(header("EdDSA", ED_A), "typ", typ.clone()),
            &driver_claims(),
        );
        assert_eq!(refused(&t), Some(AuthError::TypMismatch), "typ {typ}");
    }
    let t = ed(&without(header("EdDSA", ED_A), "typ"), &driver_claims());
    assert_eq!(refused(&t), Some(AuthError::TypMismatch));
}

#[test]
fn a13_structure_and_encoding_tricks_are_refused() {
    let good = good_driver();
    assert_eq!(
        refused(&format!("{good}.AAAA")),
        Some(AuthError::Structure),
        "4 segments"
    );
    assert_eq!(
        refused(&format!("{good}.")),
        Some(AuthError::Structure),
        "empty 4th segment"
    );
    let two = good
        .rsplit_once('.')
        .map(|(a, _)| a.to_owned())
        .unwrap_or_default();
    assert_eq!(refused(&two), Some(AuthError::Structure), "2 segments");
    assert_eq!(refused(""), Some(AuthError::Structure));
    assert_eq!(refused(".."), Some(AuthError::Structure));

    let padded = format!("{good}==");
    assert_eq!(refused(&padded), Some(AuthError::BadEncoding), "padding");
    let (h, rest) = good.split_once('.').expect("three segments");
    assert_eq!(
        refused(&format!("{h}=.{rest}")),
        Some(AuthError::BadEncoding)
    );
    let std_alphabet = good.replacen('-', "+", 1).replacen('_', "/", 1);
    if std_alphabet != good {
        assert_eq!(
            refused(&std_alphabet),
            Some(AuthError::BadEncoding),
            "+/ alphabet"
        );
    }
    assert_eq!(
        refused(&format!("{h}+.{rest}")),
        Some(AuthError::BadEncoding)
    );
    assert_eq!(
        refused(&format!("{h}/.{rest}")),
        Some(AuthError::BadEncoding)
    );
    for ws in [" ", "\n", "\t", "\r\n"] {
        assert_eq!(
            refused(&format!("{good}{ws}")),
            Some(AuthError::BadEncoding),
            "trailing {ws:?}"
        );
        assert_eq!(
            refused(&format!("{ws}{good}")),
            Some(AuthError::BadEncoding),
            "leading {ws:?}"
        );
        assert_eq!(
            refused(&format!("{h}{ws}.{rest}")),
            Some(AuthError::BadEncoding),
            "inside {ws:?}"
        );
    }

    let claims = Value::Object(driver_claims()).to_string();
    let dup_header = r#"{"alg":"EdDSA","typ":"JWT","kid":"k-ed-a","alg":"none"}"#;
    assert_eq!(
        refused(&sign_ed_raw(SEED_A, dup_header, &claims)),
        Some(AuthError::DuplicateKey)
    );
    let dup_kid = r#"{"alg":"EdDSA","typ":"JWT","kid":"k-ed-b","kid":"k-ed-a"}"#;
    assert_eq!(
        refused(&sign_ed_raw(SEED_A, dup_kid, &claims)),
        Some(AuthError::DuplicateKey)
    );
    let header_json = Value::Object(header("EdDSA", ED_A)).to_string();
    let dup_claims = format!("{},\"role\":\"pharmacist\"}}", claims.trim_end_matches('}'));
    let t = sign_ed_raw(SEED_A, &header_json, &dup_claims);
    assert_eq!(
        refused(&t),
        Some(AuthError::DuplicateKey),
        "validly signed, duplicate claim"
    );
    let t = sign_ed_raw(SEED_A, &header_json, "[1,2]");
    assert_eq!(refused(&t), Some(AuthError::MalformedClaims));
    let t = sign_ed_raw(SEED_A, "\"EdDSA\"", &claims);
    assert_eq!(refused(&t), Some(AuthError::MalformedHeader));
}

#[test]
fn tampered_signatures_and_claims_are_refused() {
    let good = good_driver();
    let (input, sig) = good.rsplit_once('.').expect("three segments");
    let mut sig_bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig)
            .expect("signature decodes");
    sig_bytes[0] ^= 1;
    assert_eq!(
        refused(&format!("{input}.{}", b64(&sig_bytes))),
        Some(AuthError::BadSignature)
    );
    assert_eq!(
        refused(&format!("{input}.{}", b64(&sig_bytes[..63]))),
        Some(AuthError::BadSignature)
    );
    assert_eq!(
        refused(&format!("{input}.AAAA")),
        Some(AuthError::BadSignature)
    );
    // Claims of another token under this token's signature.
    let other = ed(
        &header("EdDSA", ED_A),
        &with(driver_claims(), "orders", json!(["ord-2"])),
    );
    let (h, _) = good.split_once('.').expect("three segments");
    let other_claims = other.split('.').nth(1).expect("three segments");
    assert_eq!(
        refused(&format!("{h}.{other_claims}.{sig}")),
        Some(AuthError::BadSignature)
    );
    // Signed by key B but naming key A.
    let t = sign_ed_raw(
        SEED_B,
        &Value::Object(header("EdDSA", ED_A)).to_string(),
        &Value::Object(driver_claims()).to_string(),
    );
    assert_eq!(refused(&t), Some(AuthError::BadSignature));
}

#[test]
fn every_refusal_maps_to_401_and_names_no_input() {
    let errors = [
        AuthError::TooLarge,
        AuthError::Structure,
        AuthError::BadEncoding,
        AuthError::AlgNotAllowed,
        AuthError::UnknownKid,
        AuthError::BadSignature,
        AuthError::Expired,
        AuthError::BadScope,
    ];
    let mut names = std::collections::HashSet::new();
    for e in errors {
        assert_eq!(e.code(), ErrorCode::Unauthenticated);
        assert_eq!(e.code().status(), 401);
        assert!(names.insert(e.as_str()));
        assert!(e
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_'));
        assert!(e.to_string().contains(e.as_str()));
    }
    // Debug of a verifier shows kids and algorithms, never key bytes.
    let debug = format!("{:?}", dev());
    assert!(debug.contains("k-hs") && debug.contains("HS256"));
    assert!(!debug.contains(&b64(&HS_SECRET)));
    assert!(!debug.contains(&b64(&ed_public(SEED_A))));
}
