//! SECURITY.md F1 as properties: any single tampering of a random chain is reported no later
//! than where it happened; untrusted input never panics the verifier; the canonical form and
//! the checkpoint signature are pinned by known answers so stored chains stay verifiable.

use proptest::prelude::*;
use rxroom_core::audit::{
    append, verify, verify_lines, AuditAction, AuditEvent, AuditSigningKey, ChainHead, ChainId,
    EventDraft, TamperKind,
};
use rxroom_core::ids::{OrderId, Role};
use serde_json::Value;

fn order() -> OrderId {
    "ord-prop".parse().expect("valid order id")
}

fn chain(n: usize) -> Vec<AuditEvent> {
    let id = ChainId::order(&order());
    let mut head = ChainHead::genesis();
    (0..n as u64)
        .map(|i| {
            let d = EventDraft {
                action: AuditAction::MessageRead,
                actor: Some("user-1".parse().expect("valid user id")),
                role: Some(Role::Patient),
                ip: Some("192.0.2.10".into()),
                device: Some("dev-1".parse().expect("valid device id")),
                order: Some(order()),
                target: Some(i.to_string()),
                outcome: "OK".into(),
                labels: vec![],
            };
            let e = append(&head, &id, d, 1_000 + i / 3);
            head = ChainHead::of(&e);
            e
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Tamper {
    Modify(usize),
    ModifyRehash(usize),
    Delete(usize),
    Swap(usize, usize),
    Replay(usize, usize),
}

fn tamper(events: &mut Vec<AuditEvent>, t: &Tamper) -> usize {
    let n = events.len();
    let edit = |e: &AuditEvent, rehash: bool| -> AuditEvent {
        let mut v: Value = serde_json::to_value(e).expect("serializes");
        v["target"] = "tampered".into();
        let mut out: AuditEvent = serde_json::from_value(v.clone()).expect("parses");
        if rehash {
            v["hash"] = out.compute_hash().into();
            out = serde_json::from_value(v).expect("parses");
        }
        out
    };
    match *t {
        Tamper::Modify(i) => {
            let i = i % n;
            events[i] = edit(&events[i], false);
            i
        }
        Tamper::ModifyRehash(i) => {
            let i = i % n;
            events[i] = edit(&events[i], true);
            i
        }
        Tamper::Delete(i) => {
            let i = i % n;
            events.remove(i);
            i
        }
        Tamper::Swap(a, b) => {
            let a = a % (n - 1);
            let b = a + 1 + b % (n - 1 - a);
            events.swap(a, b);
            a
        }
        Tamper::Replay(from, to) => {
            let (from, to) = (from % n, to % (n + 1));
            let copy = events[from].clone();
            events.insert(to, copy);
            // A copy placed right before its original is identical to it: either may be "the"
            // inserted one.
            if from == to {
                to + 1
            } else {
                to
            }
        }
    }
}

fn any_tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        any::<usize>().prop_map(Tamper::Modify),
        any::<usize>().prop_map(Tamper::ModifyRehash),
        any::<usize>().prop_map(Tamper::Delete),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Tamper::Swap(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Tamper::Replay(a, b)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn f1_any_single_tampering_is_reported_no_later_than_it_happened(
        n in 2usize..60,
        t in any_tamper(),
    ) {
        let original = chain(n);
        let mut events = original.clone();
        let at = tamper(&mut events, &t);
        // Deleting the last event is a truncation: only a checkpoint can tell (tested apart).
        let key = AuditSigningKey::from_base64("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")
            .expect("32 bytes");
        let last = original.last().expect("non-empty");
        let cps = [key.sign(last.chain(), &ChainHead::of(last), 1)];
        let pk = key.public_key();
        let report = verify(&events, &cps, Some(&pk));
        let f = report.failure.expect("tampering is detected");
        prop_assert!(f.position <= at as u64, "{t:?} at {at} reported {f:?}");
        if let Tamper::Modify(_) = t {
            prop_assert_eq!((f.position, f.kind), (at as u64, TamperKind::Modified));
        }
    }

    #[test]
    fn verifier_never_panics_on_arbitrary_lines(lines in proptest::collection::vec(".{0,200}", 0..20)) {
        let text = lines.join("\n");
        let _ = verify_lines(text.as_bytes(), &[], None);
    }

    #[test]
    fn verifier_never_panics_on_shuffled_real_lines(
        order in proptest::collection::vec(0usize..12, 0..30),
        cut in 0usize..400,
    ) {
        let text = rxroom_core::audit::encode_segment(&chain(12));
        let lines: Vec<&str> = text.lines().collect();
        let mut out: String = order.iter().filter_map(|i| lines.get(*i)).map(|l| format!("{l}\n")).collect();
        out.truncate(cut.min(out.len()));
        if let Ok(report) = verify_lines(out.as_bytes(), &[], None) {
            prop_assert!(report.events <= order.len() as u64);
        }
    }
}

#[test]
fn canonical_form_and_hash_are_pinned() {
    let events = chain(2);
    let first = &events[0];
    let bytes = first.canonical_bytes();
    assert!(bytes.starts_with(b"rxroom.audit.v1\x01\x00\x00\x00\x0aord-prop:1"));
    // Changing the canonical form breaks every stored chain: these values must never move.
    assert_eq!(first.hash(), PINNED_FIRST_HASH);
    assert_eq!(events[1].prev_hash(), PINNED_FIRST_HASH);
    let key = AuditSigningKey::from_base64("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")
        .expect("32 bytes");
    let cp = key.sign(first.chain(), &ChainHead::of(first), 1_000);
    assert_eq!(cp.signature, PINNED_SIGNATURE);
    assert!(key.public_key().verify(&cp));
}

const PINNED_FIRST_HASH: &str = "25c85236cf7d7fbefc210c385e296d691aeb72eb00dfc9ba7b4332ff59cbbf11";
const PINNED_SIGNATURE: &str =
    "JDnNkQ6McWDQGXheQ6ih3NKBdzz87LX8xhsuDJ6dW09EuvZX9P7XnR452apLe1har8pmlkYIj4/GFqY2dXgFDQ==";
