//! Envelope format v1 stays readable: regression envelopes sealed when the format was introduced
//! (`vectors/envelope_v1.txt`) still open, and only with their exact binding.

use rxroom_core::envelope::{key_id_of, Aad, EnvelopeError, KeyId, Keyring, ObjectKind, SecretKey};
use rxroom_core::ids::{OrderId, Region};

const KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const FILE: &str = include_str!("vectors/envelope_v1.txt");

fn field<'a>(block: &'a str, name: &str) -> &'a str {
    block
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(" = ")))
        .expect("field present")
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2).expect("even length"), 16).expect("hex"))
        .collect()
}

fn ring() -> Keyring {
    let kid = KeyId::new("k2026").expect("kid");
    let key = SecretKey::from_base64(KEY).expect("key");
    Keyring::new(vec![(kid.clone(), key)], &kid, vec![], false).expect("keyring")
}

#[test]
fn v1_regression_envelopes_still_open() {
    let ring = ring();
    let blocks: Vec<&str> = FILE
        .split("\n\n")
        .filter(|b| b.contains("Key = "))
        .collect();
    assert_eq!(blocks.len(), 2);
    for block in blocks {
        assert_eq!(field(block, "Key"), KEY);
        let region: Region = field(block, "Region").parse().expect("region");
        let kind = match field(block, "Kind") {
            "Message" => ObjectKind::Message,
            "AuditField" => ObjectKind::AuditField,
            _ => ObjectKind::RoomMeta,
        };
        let aad = Aad {
            region,
            order: field(block, "Order"),
            kind,
            object_id: field(block, "ObjectId"),
        };
        let want = field(block, "Plaintext").as_bytes();
        let opened = if block.contains("EnvelopeHex") {
            let sealed = unhex(field(block, "EnvelopeHex"));
            assert_eq!(key_id_of(&sealed), Ok("k2026"));
            ring.open(&aad, &sealed)
        } else {
            ring.open_text(&aad, field(block, "EnvelopeText"))
        };
        assert_eq!(opened.expect("v1 envelope opens").as_slice(), want);
    }
}

#[test]
fn v1_regression_envelope_opens_only_with_its_exact_binding() {
    let ring = ring();
    let block = FILE
        .split("\n\n")
        .find(|b| b.contains("EnvelopeHex"))
        .expect("block");
    let sealed = unhex(field(block, "EnvelopeHex"));
    let order: OrderId = "ord-42".parse().expect("order");
    let good = Aad::new(Region::Eu, &order, ObjectKind::Message, "msg-7");
    assert!(ring.open(&good, &sealed).is_ok());
    let other: OrderId = "ord-43".parse().expect("order");
    let bad = Aad::new(Region::Eu, &other, ObjectKind::Message, "msg-7");
    assert_eq!(
        ring.open(&bad, &sealed).err(),
        Some(EnvelopeError::Authentication)
    );
}
