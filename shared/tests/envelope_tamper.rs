//! SECURITY H3, H4, H5: an edited, truncated, re-labelled or moved envelope never opens, and a
//! failure returns an error only (no plaintext).

use rxroom_core::envelope::{
    key_id_of, Aad, EnvelopeError, KeyId, Keyring, ObjectKind, SecretKey, NONCE_LEN, TAG_LEN,
};
use rxroom_core::ids::{OrderId, Region};

const CANARY: &[u8] = b"canary-7f3a: patient Jane Roe, DOB 1970-01-01";

fn kid(s: &str) -> KeyId {
    KeyId::new(s).expect("valid kid")
}

/// k1 (active) and k2, both readable; k0 retired.
fn ring() -> Keyring {
    let keys = vec![
        (kid("k1"), SecretKey::from_bytes([0x11; 32])),
        (kid("k2"), SecretKey::from_bytes([0x22; 32])),
    ];
    Keyring::new(keys, &kid("k1"), vec![kid("k0")], true).expect("valid keyring")
}

fn order(s: &str) -> OrderId {
    s.parse().expect("valid order id")
}

fn assert_refused(result: Result<zeroize::Zeroizing<Vec<u8>>, EnvelopeError>, what: &str) {
    assert!(result.is_err(), "{what}: a tampered envelope opened");
    if let Err(e) = result {
        assert!(
            !e.to_string().contains("canary"),
            "{what}: error echoes input"
        );
    }
}

#[test]
fn h5_every_flipped_bit_is_refused() {
    let ring = ring();
    let o = order("ord-1");
    let aad = Aad::new(Region::Us, &o, ObjectKind::Message, "m7");
    let sealed = ring.seal(&aad, CANARY).expect("seal");
    let header = 2 + 2;
    let tag_start = sealed.len() - TAG_LEN;

    for byte in 0..sealed.len() {
        for bit in 0..8 {
            let mut t = sealed.clone();
            if let Some(b) = t.get_mut(byte) {
                *b ^= 1 << bit;
            }
            let got = ring.open(&aad, &t);
            if byte >= header {
                // Nonce, ciphertext and tag: only the tag check can catch these.
                assert_eq!(
                    got.as_ref().err(),
                    Some(&EnvelopeError::Authentication),
                    "byte {byte}"
                );
            }
            assert_refused(got, &format!("byte {byte} bit {bit}"));
        }
    }
    assert!(header + NONCE_LEN + CANARY.len() == tag_start);
}

#[test]
fn h5_truncated_extended_and_empty_envelopes_are_refused() {
    let ring = ring();
    let o = order("ord-1");
    let aad = Aad::new(Region::Us, &o, ObjectKind::Message, "m7");
    let sealed = ring.seal(&aad, CANARY).expect("seal");

    for len in 0..sealed.len() {
        assert_refused(
            ring.open(&aad, sealed.get(..len).unwrap_or_default()),
            "truncated",
        );
    }
    assert_eq!(ring.open(&aad, &[]).err(), Some(EnvelopeError::Truncated));
    let mut longer = sealed.clone();
    longer.push(0);
    assert_eq!(
        ring.open(&aad, &longer).err(),
        Some(EnvelopeError::Authentication)
    );
    assert_eq!(
        ring.open_text(&aad, "").err(),
        Some(EnvelopeError::Truncated)
    );
    assert_eq!(
        ring.open_text(&aad, "not base64!").err(),
        Some(EnvelopeError::Encoding)
    );
}

#[test]
fn h5_an_empty_plaintext_still_carries_a_tag_that_is_checked() {
    let ring = ring();
    let o = order("ord-1");
    let aad = Aad::new(Region::Us, &o, ObjectKind::RoomMeta, "status");
    let sealed = ring.seal(&aad, b"").expect("seal");
    assert_eq!(ring.open(&aad, &sealed).expect("open").len(), 0);
    let mut t = sealed;
    if let Some(b) = t.last_mut() {
        *b ^= 0x80;
    }
    assert_eq!(
        ring.open(&aad, &t).err(),
        Some(EnvelopeError::Authentication)
    );
}

/// Rewrites the key id in an envelope's header, keeping nonce, ciphertext and tag.
fn relabel(sealed: &[u8], new_kid: &str) -> Vec<u8> {
    let old_len = usize::from(*sealed.get(1).expect("header"));
    let mut out = vec![sealed[0], u8::try_from(new_kid.len()).expect("short kid")];
    out.extend_from_slice(new_kid.as_bytes());
    out.extend_from_slice(sealed.get(2 + old_len..).expect("body"));
    out
}

#[test]
fn h3_a_key_id_edited_to_another_valid_key_fails_without_fallback() {
    let ring = ring();
    let o = order("ord-1");
    let aad = Aad::new(Region::Us, &o, ObjectKind::Message, "m7");
    let sealed = ring.seal(&aad, CANARY).expect("seal");
    assert_eq!(key_id_of(&sealed), Ok("k1"));

    let forged = relabel(&sealed, "k2");
    assert_eq!(key_id_of(&forged), Ok("k2"));
    // k2 is a valid key; k1 would open the body, but there is no "try all keys".
    assert_eq!(
        ring.open(&aad, &forged).err(),
        Some(EnvelopeError::Authentication)
    );
    assert_eq!(
        ring.open(&aad, &relabel(&sealed, "k9")).err(),
        Some(EnvelopeError::UnknownKey)
    );
    assert_eq!(
        ring.open(&aad, &relabel(&sealed, "k0")).err(),
        Some(EnvelopeError::KeyRetired)
    );
    assert_eq!(
        ring.open(&aad, &relabel(&sealed, "k:1")).err(),
        Some(EnvelopeError::Malformed)
    );
    assert_eq!(
        ring.open(&aad, &relabel(&sealed, "k1"))
            .expect("unchanged")
            .as_slice(),
        CANARY
    );
}

#[test]
fn h4_cut_and_paste_between_orders_messages_kinds_and_regions_fails() {
    let ring = ring();
    let (o1, o2) = (order("ord-1"), order("ord-2"));
    let home = Aad::new(Region::Us, &o1, ObjectKind::Message, "m7");
    let sealed = ring.seal(&home, CANARY).expect("seal");
    assert_eq!(ring.open(&home, &sealed).expect("open").as_slice(), CANARY);

    let elsewhere = [
        (
            "another order",
            Aad {
                order: o2.as_str(),
                ..home
            },
        ),
        (
            "another message",
            Aad {
                object_id: "m8",
                ..home
            },
        ),
        (
            "another kind",
            Aad {
                kind: ObjectKind::Archive,
                ..home
            },
        ),
        (
            "another region",
            Aad {
                region: Region::Eu,
                ..home
            },
        ),
        (
            "region-wide scope",
            Aad::region_wide(Region::Us, ObjectKind::Message, "m7"),
        ),
    ];
    for (what, aad) in elsewhere {
        assert_eq!(
            ring.open(&aad, &sealed).err(),
            Some(EnvelopeError::Authentication),
            "{what}"
        );
    }
    for kind in ObjectKind::ALL
        .into_iter()
        .filter(|k| *k != ObjectKind::Message)
    {
        assert!(ring.open(&Aad { kind, ..home }, &sealed).is_err());
    }
}

#[test]
fn h4_text_envelopes_are_bound_the_same_way() {
    let ring = ring();
    let o = order("ord-1");
    let aad = Aad::new(Region::Eu, &o, ObjectKind::PushToken, "device-1");
    let text = ring.seal_text(&aad, CANARY).expect("seal");
    assert!(!text.contains("canary"));
    assert_eq!(
        ring.open_text(&aad, &text).expect("open").as_slice(),
        CANARY
    );
    let moved = Aad {
        object_id: "device-2",
        ..aad
    };
    assert_eq!(
        ring.open_text(&moved, &text).err(),
        Some(EnvelopeError::Authentication)
    );
}

#[test]
fn sealing_twice_gives_different_envelopes_without_plaintext_in_them() {
    let ring = ring();
    let o = order("ord-1");
    let aad = Aad::new(Region::Us, &o, ObjectKind::Media, "photo-1");
    let a = ring.seal(&aad, CANARY).expect("seal");
    let b = ring.seal(&aad, CANARY).expect("seal");
    assert_ne!(a, b);
    assert!(!a.windows(6).any(|w| w == b"canary"));
}
