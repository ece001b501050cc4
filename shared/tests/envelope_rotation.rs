//! SECURITY H2 (rotation and retirement) and H7 (keys never printed): keyring configuration as
//! it arrives in Worker secrets, and the rotation round trip.

use rxroom_core::envelope::{
    key_id_of, Aad, ConfigError, EnvelopeError, KeyConfig, Keyring, ObjectKind, SecretKey,
};
use rxroom_core::ids::{OrderId, Region};

// Two fixed test keys (not secrets: test data only) in standard padded base64.
const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn ring(keys: &str, active: &str, retired: Option<&str>) -> Result<Keyring, ConfigError> {
    let config = KeyConfig {
        data_keys: Some(keys),
        active: Some(active),
        retired,
    };
    Keyring::from_config(&config, false)
}

fn order() -> OrderId {
    "ord-rot".parse().expect("valid order id")
}

#[test]
fn h2_rotation_round_trip_moves_writes_reseals_then_retires() {
    let o = order();
    let aad = Aad::new(Region::Us, &o, ObjectKind::Archive, "archive-1");

    // 1. Write under k1.
    let only_k1 = ring(&format!("k1:{K1}"), "k1", None).expect("config");
    let old = only_k1.seal(&aad, b"old record").expect("seal");
    assert_eq!(key_id_of(&old), Ok("k1"));

    // 2. Rotate: k2 active, k1 still readable. New writes carry k2 at once.
    let rotated = ring(&format!("k1:{K1},k2:{K2}"), "k2", None).expect("config");
    let new = rotated.seal(&aad, b"new record").expect("seal");
    assert_eq!(key_id_of(&new), Ok("k2"));
    assert_eq!(
        rotated.open(&aad, &old).expect("old opens").as_slice(),
        b"old record"
    );
    assert_eq!(
        rotated.open(&aad, &new).expect("new opens").as_slice(),
        b"new record"
    );

    // 3. Re-seal moves k1 records to k2 and leaves k2 records alone.
    let moved = rotated
        .reseal(&aad, &old)
        .expect("reseal")
        .expect("k1 record moves");
    assert_eq!(key_id_of(&moved), Ok("k2"));
    assert_eq!(rotated.reseal(&aad, &new), Ok(None));
    assert_eq!(rotated.reseal(&aad, &moved), Ok(None));

    // 4. Retire k1: its records fail closed with KEY_RETIRED, never garbage.
    let retired = ring(&format!("k2:{K2}"), "k2", Some("k1")).expect("config");
    assert_eq!(
        retired.open(&aad, &old).err(),
        Some(EnvelopeError::KeyRetired)
    );
    assert_eq!(
        retired.reseal(&aad, &old).err(),
        Some(EnvelopeError::KeyRetired)
    );
    assert_eq!(
        retired.open(&aad, &moved).expect("moved opens").as_slice(),
        b"old record"
    );
    assert_eq!(
        retired.open(&aad, &new).expect("new opens").as_slice(),
        b"new record"
    );
    assert_eq!(EnvelopeError::KeyRetired.code().as_str(), "KEY_RETIRED");

    // A key simply removed (not listed as retired) is unknown: still no plaintext.
    let removed = ring(&format!("k2:{K2}"), "k2", None).expect("config");
    assert_eq!(
        removed.open(&aad, &old).err(),
        Some(EnvelopeError::UnknownKey)
    );
}

#[test]
fn h2_text_envelopes_rotate_too() {
    let o = order();
    let aad = Aad::new(Region::Eu, &o, ObjectKind::AuditField, "evt-1/ip");
    let only_k1 = ring(&format!("k1:{K1}"), "k1", None).expect("config");
    let text = only_k1.seal_text(&aad, b"203.0.113.9").expect("seal");
    let rotated = ring(&format!("k1:{K1},k2:{K2}"), "k2", None).expect("config");
    let moved = rotated
        .reseal_text(&aad, &text)
        .expect("reseal")
        .expect("moves");
    assert_eq!(rotated_kid(&moved), "k2");
    assert_eq!(
        rotated.open_text(&aad, &moved).expect("open").as_slice(),
        b"203.0.113.9"
    );
}

fn rotated_kid(text: &str) -> String {
    rxroom_core::envelope::key_id_of_text(text).expect("valid text envelope")
}

#[test]
fn config_with_whitespace_and_retired_list_parses() {
    let keys = format!(" k1:{K1} ,\n k2:{K2}\n");
    let ring = ring(&keys, " k2\n", Some(" k0 , old-2026 ")).expect("config");
    assert_eq!(ring.active_kid().as_str(), "k2");
    let readable: Vec<&str> = ring.readable_kids().map(|k| k.as_str()).collect();
    assert_eq!(readable, vec!["k2", "k1"]);
    let retired: Vec<&str> = ring.retired_kids().iter().map(|k| k.as_str()).collect();
    assert_eq!(retired, vec!["k0", "old-2026"]);
}

#[test]
fn invalid_configs_are_refused_with_a_reason() {
    let one = format!("k1:{K1}");
    let trailing = format!("{one},");
    let cases: Vec<(KeyConfig<'_>, ConfigError)> = vec![
        (
            KeyConfig {
                data_keys: None,
                active: Some("k1"),
                retired: None,
            },
            ConfigError::MissingKeys,
        ),
        (
            KeyConfig {
                data_keys: Some("  "),
                active: Some("k1"),
                retired: None,
            },
            ConfigError::MissingKeys,
        ),
        (
            KeyConfig {
                data_keys: Some(&one),
                active: None,
                retired: None,
            },
            ConfigError::MissingActive,
        ),
        (
            KeyConfig {
                data_keys: Some(&one),
                active: Some("k2"),
                retired: None,
            },
            ConfigError::ActiveNotPresent,
        ),
        (
            KeyConfig {
                data_keys: Some(&one),
                active: Some("k1"),
                retired: Some("k1"),
            },
            ConfigError::RetiredKeyPresent,
        ),
        (
            KeyConfig {
                data_keys: Some(&one),
                active: Some("k1"),
                retired: Some("k0,k0"),
            },
            ConfigError::DuplicateKeyId,
        ),
        (
            KeyConfig {
                data_keys: Some(&one),
                active: Some("k 1"),
                retired: None,
            },
            ConfigError::KeyIdInvalid,
        ),
        (
            KeyConfig {
                data_keys: Some(&one),
                active: Some("k1"),
                retired: Some("bad kid"),
            },
            ConfigError::KeyIdInvalid,
        ),
        (
            KeyConfig {
                data_keys: Some(K1),
                active: Some("k1"),
                retired: None,
            },
            ConfigError::EntryMalformed,
        ),
        (
            KeyConfig {
                data_keys: Some("k1:c2hvcnQ="),
                active: Some("k1"),
                retired: None,
            },
            ConfigError::KeyLength,
        ),
        (
            KeyConfig {
                data_keys: Some(&trailing),
                active: Some("k1"),
                retired: None,
            },
            ConfigError::EntryMalformed,
        ),
    ];
    for (config, want) in cases {
        assert_eq!(
            Keyring::from_config(&config, false).err(),
            Some(want),
            "{want:?}"
        );
        assert_eq!(
            Keyring::from_config(&config, true).err(),
            Some(want),
            "dev: {want:?}"
        );
        assert!(!want.to_string().contains(K1) && !want.reason().contains(' '));
    }

    let dup = format!("k1:{K1},k1:{K2}");
    assert_eq!(
        ring(&dup, "k1", None).err(),
        Some(ConfigError::DuplicateKeyId)
    );
    assert_eq!(
        ring(&format!("k2:{K2}"), "k1", Some("k1")).err(),
        Some(ConfigError::ActiveRetired)
    );
    let urlsafe = format!("k1:-_{}", K2.get(2..).unwrap_or_default());
    assert_eq!(
        ring(&urlsafe, "k1", None).err(),
        Some(ConfigError::KeyEncoding)
    );
    let many: Vec<String> = (0..17).map(|i| format!("k{i}:{K1}")).collect();
    assert_eq!(
        ring(&many.join(","), "k1", None).err(),
        Some(ConfigError::TooMany)
    );
    assert_eq!(
        ring(&"k".repeat(5000), "k1", None).err(),
        Some(ConfigError::TooMany)
    );
}

#[test]
fn a_placeholder_key_is_refused_outside_dev_only() {
    let zeros = format!(
        "k1:{}",
        SecretKey::from_bytes([0; 32]).expose_base64().as_str()
    );
    let config = KeyConfig {
        data_keys: Some(&zeros),
        active: Some("k1"),
        retired: None,
    };
    assert_eq!(
        Keyring::from_config(&config, false).err(),
        Some(ConfigError::KeyPlaceholder)
    );
    assert!(Keyring::from_config(&config, true).is_ok());
    assert_eq!(
        ConfigError::KeyPlaceholder.code().as_str(),
        "CONFIG_INVALID"
    );
}

#[test]
fn h7_keyring_debug_lists_key_ids_and_no_key_bytes() {
    let ring = ring(&format!("k1:{K1},k2:{K2}"), "k2", Some("k0")).expect("config");
    let dbg = format!("{ring:?} {ring:#?}");
    assert!(dbg.contains("k1") && dbg.contains("k2") && dbg.contains("k0"));
    for secret in [K1, K2, &K1[..8], &K2[..8]] {
        assert!(!dbg.contains(secret));
    }
    let keys = format!("k1:{K1}");
    let config = KeyConfig {
        data_keys: Some(&keys),
        active: Some("k1"),
        retired: None,
    };
    assert!(!format!("{config:?}").contains(&K1[..8]));
    // The raw bytes of K1 are 0..=31: their decimal or hex rendering must not appear either.
    assert!(!dbg.contains("[0, 1, 2") && !dbg.contains("0x0"));
}
