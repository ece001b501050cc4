//! SECURITY H5 as properties: arbitrary bytes, arbitrary edits of a real envelope and arbitrary
//! configuration strings never panic, never open, and never echo their input in errors.

use proptest::prelude::*;
use rxroom_core::envelope::{
    key_id_of, Aad, KeyConfig, KeyId, Keyring, ObjectKind, SecretKey, MIN_SEALED_LEN,
};
use rxroom_core::ids::{OrderId, Region};

fn ring() -> Keyring {
    let keys = vec![
        (
            KeyId::new("k1").expect("kid"),
            SecretKey::from_bytes([0x31; 32]),
        ),
        (
            KeyId::new("k2").expect("kid"),
            SecretKey::from_bytes([0x32; 32]),
        ),
    ];
    Keyring::new(keys, &KeyId::new("k1").expect("kid"), vec![], true).expect("keyring")
}

fn order() -> OrderId {
    "ord-p".parse().expect("valid order id")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn h5_arbitrary_bytes_never_open(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let ring = ring();
        let o = order();
        let aad = Aad::new(Region::Us, &o, ObjectKind::Message, "m1");
        prop_assert!(ring.open(&aad, &bytes).is_err());
        let _ = key_id_of(&bytes);
        if bytes.len() < MIN_SEALED_LEN {
            prop_assert!(key_id_of(&bytes).is_err());
        }
    }

    #[test]
    fn h5_any_edit_of_a_real_envelope_is_refused(
        plaintext in proptest::collection::vec(any::<u8>(), 0..64),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let ring = ring();
        let o = order();
        let aad = Aad::new(Region::Eu, &o, ObjectKind::Media, "photo");
        let sealed = ring.seal(&aad, &plaintext).expect("seal");
        let opened = ring.open(&aad, &sealed).expect("open");
        prop_assert_eq!(opened.as_slice(), &plaintext[..]);
        let mut edited = sealed.clone();
        let i = at.index(edited.len());
        if let Some(b) = edited.get_mut(i) {
            *b ^= xor;
        }
        prop_assert!(ring.open(&aad, &edited).is_err());
    }

    #[test]
    fn arbitrary_config_strings_never_panic_or_echo(
        keys in "[ -~\n]{0,120}",
        active in "[ -~]{0,40}",
        retired in "[ -~]{0,40}",
    ) {
        let config = KeyConfig { data_keys: Some(&keys), active: Some(&active), retired: Some(&retired) };
        if let Err(e) = Keyring::from_config(&config, false) {
            let shown = format!("{e} {e:?} {}", e.reason());
            prop_assert!(keys.len() < 6 || !shown.contains(keys.as_str()));
        }
    }
}
