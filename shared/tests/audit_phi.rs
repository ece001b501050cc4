//! SECURITY.md F6: no message text, PHI value or token reaches an audit event. Canaries are
//! planted in every free-text field of a draft; the typed fields cannot hold them at all.

use rxroom_core::audit::{
    append, append_with, encode_segment, AuditAction, ChainHead, ChainId, EventDraft, SealField,
};
use rxroom_core::ids::{DeviceId, OrderId, Role, UserId};

const MESSAGE_TEXT: &str = "CANARY Jane Roe DOB 04/12/1961 takes warfarin 5mg";
const TOKEN: &str = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJl";
const MRN: &str = "MRN 88811122";

fn canary_draft(order: &OrderId) -> EventDraft {
    EventDraft {
        action: AuditAction::MessageSent,
        actor: Some("user-1".parse().expect("valid user id")),
        role: Some(Role::Patient),
        ip: Some(format!("Bearer {TOKEN}")),
        device: Some("dev-1".parse().expect("valid device id")),
        order: Some(order.clone()),
        target: Some(MESSAGE_TEXT.into()),
        outcome: MRN.into(),
        labels: vec!["MEDICATION".into(), "warfarin".into(), MESSAGE_TEXT.into()],
    }
}

fn assert_clean(serialized: &str) {
    for canary in [
        "CANARY", "Jane", "Roe", "warfarin", "1961", "88811122", "eyJ", TOKEN,
    ] {
        assert!(!serialized.contains(canary), "canary {canary:?} leaked");
    }
}

#[test]
fn f6_canaries_in_free_text_fields_never_reach_the_event() {
    let order: OrderId = "ord-f6".parse().expect("valid order id");
    let chain = ChainId::order(&order);
    let e = append(&ChainHead::genesis(), &chain, canary_draft(&order), 1);
    let line = encode_segment(std::slice::from_ref(&e));
    assert_clean(&line);
    assert_clean(&String::from_utf8_lossy(&e.canonical_bytes()));
    assert_clean(&format!("{e:?}"));
    assert_eq!(e.target(), Some("?"));
    assert_eq!(e.outcome(), "?");
    assert_eq!(e.ip(), Some("?"));
    assert_eq!(e.labels().len(), 1, "only the known label name stays");
}

#[test]
fn f6_jwt_shaped_or_spaced_values_are_refused_even_from_the_sealer() {
    let order: OrderId = "ord-f6".parse().expect("valid order id");
    let chain = ChainId::order(&order);
    let leaky = |f: SealField, v: &str| match f {
        SealField::Actor => TOKEN.to_owned(),
        SealField::Device => MESSAGE_TEXT.to_owned(),
        _ => v.to_owned(),
    };
    let e = append_with(
        &ChainHead::genesis(),
        &chain,
        canary_draft(&order),
        1,
        &leaky,
    );
    assert_clean(&encode_segment(std::slice::from_ref(&e)));
    assert_eq!((e.actor(), e.device()), (Some("?"), Some("?")));
}

#[test]
fn f6_legitimate_values_pass_unchanged() {
    let order: OrderId = "ord-f6".parse().expect("valid order id");
    let chain = ChainId::order(&order);
    let mut d = canary_draft(&order);
    d.ip = Some("2001:0db8:0000::0001".into());
    d.target = Some("media/ord-f6/3f2a.jpg".into());
    d.outcome = "PHI_REJECTED".into();
    let sealed = |_: SealField, v: &str| format!("s1.{}", v.len());
    let e = append_with(&ChainHead::genesis(), &chain, d, 1, &sealed);
    assert_eq!(e.ip(), Some("s1.20"));
    assert_eq!(e.target(), Some("media/ord-f6/3f2a.jpg"));
    assert_eq!(e.outcome(), "PHI_REJECTED");
    let plain = append(&ChainHead::genesis(), &chain, canary_draft(&order), 1);
    assert_eq!(plain.actor(), Some("user-1"));
}

#[test]
fn f6_a_jwt_inside_an_id_is_refused_but_sealed_base64_with_eyj_is_kept() {
    let order: OrderId = "ord-f6".parse().expect("valid order id");
    let chain = ChainId::order(&order);
    let mut d = canary_draft(&order);
    d.target = Some(format!("media/{TOKEN}"));
    d.ip = Some("s1.QeyJx+9/eyJaa==".into());
    let e = append(&ChainHead::genesis(), &chain, d, 1);
    assert_eq!(e.target(), Some("?"));
    assert_eq!(e.ip(), Some("s1.QeyJx+9/eyJaa=="));
}

#[test]
fn f6_typed_fields_cannot_hold_text_or_tokens() {
    // Actor and device are typed ids: text and tokens do not parse.
    for v in [MESSAGE_TEXT, MRN, &format!("Bearer {TOKEN}")] {
        assert!(v.parse::<UserId>().is_err());
        assert!(v.parse::<DeviceId>().is_err());
        assert!(v.parse::<OrderId>().is_err());
    }
    // The stored record has exactly these keys: no field exists that could carry a body.
    let order: OrderId = "ord-f6".parse().expect("valid order id");
    let e = append(
        &ChainHead::genesis(),
        &ChainId::order(&order),
        canary_draft(&order),
        1,
    );
    let v = serde_json::to_value(&e).expect("serializes");
    let keys: Vec<&str> = v
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut expected = vec![
        "event_id",
        "chain",
        "seq",
        "ts_ms",
        "actor",
        "role",
        "ip",
        "device",
        "action",
        "order",
        "target",
        "outcome",
        "labels",
        "prev_hash",
        "hash",
    ];
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected);
}
