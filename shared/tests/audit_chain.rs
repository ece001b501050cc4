//! SECURITY.md F3 and F4 at core level: sequence numbers are server-assigned and gap-free, a
//! random run of operations yields exactly its events, and segment flushing loses, repeats and
//! overwrites nothing, even when a write is retried after a crash.

use proptest::prelude::*;
use rxroom_core::audit::{
    decode_segment, encode_segment, parse_segment_key, segment_key, segment_prefix, verify,
    AuditAction, AuditEvent, Chain, ChainHead, ChainId, EventDraft, FlushPolicy, FlushState,
    SegmentRange,
};
use rxroom_core::ids::{OrderId, Region, Role};
use std::collections::BTreeMap;

fn draft(action: AuditAction, order: Option<&OrderId>, outcome: &str) -> EventDraft {
    EventDraft {
        action,
        actor: Some("user-7".parse().expect("valid user id")),
        role: Some(Role::Driver),
        ip: Some("2001:db8::1".into()),
        device: Some("dev-7".parse().expect("valid device id")),
        order: order.cloned(),
        target: None,
        outcome: outcome.into(),
        labels: vec![],
    }
}

#[test]
fn f3_many_events_in_one_request_keep_distinct_seqs() {
    let order: OrderId = "ord-f3".parse().expect("valid order id");
    let mut chain = Chain::resume(ChainId::order(&order), ChainHead::genesis());
    let ts = 1_700_000_000_000;
    let events: Vec<AuditEvent> = (0..100)
        .map(|_| chain.append(draft(AuditAction::MessageRead, Some(&order), "OK"), ts))
        .collect();
    let seqs: Vec<u64> = events.iter().map(AuditEvent::seq).collect();
    assert_eq!(seqs, (1..=100).collect::<Vec<u64>>());
    assert!(events.iter().all(|e| e.ts_ms() == ts));
    let mut ids: Vec<&str> = events.iter().map(AuditEvent::event_id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 100);
    assert_eq!(events.get(41).map(AuditEvent::event_id), Some("ord-f3:42"));
    assert!(verify(&events, &[], None).is_ok());
}

#[test]
fn replaying_the_same_drafts_gives_the_same_events() {
    let order: OrderId = "ord-replay".parse().expect("valid order id");
    let run = || {
        let mut chain = Chain::resume(ChainId::order(&order), ChainHead::genesis());
        (0..5u64)
            .map(|i| chain.append(draft(AuditAction::MediaViewed, Some(&order), "OK"), 10 + i))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn segment_keys_parse_back_and_sort_in_seq_order() {
    let chain = ChainId::region(Region::Eu);
    let a = segment_key(
        Region::Eu,
        &chain,
        SegmentRange {
            first: 1,
            last: 500,
        },
    );
    let b = segment_key(
        Region::Eu,
        &chain,
        SegmentRange {
            first: 501,
            last: 1_000,
        },
    );
    let c = segment_key(
        Region::Eu,
        &chain,
        SegmentRange {
            first: 10_001,
            last: 10_002,
        },
    );
    assert_eq!(a, "audit/eu/region:eu/000000000001-000000000500.jsonl");
    assert!(a < b && b < c);
    assert!(a.starts_with(&segment_prefix(Region::Eu, &chain)));
    let parsed = parse_segment_key(&b).expect("own key parses");
    assert_eq!(
        parsed,
        (
            Region::Eu,
            chain,
            SegmentRange {
                first: 501,
                last: 1_000
            }
        )
    );
    for bad in [
        "audit/eu/region:eu/1-2.jsonl",
        "audit/xx/ord-1/000000000001-000000000002.jsonl",
        "audit/eu/../000000000001-000000000002.jsonl",
        "audit/eu/ord-1/000000000005-000000000002.jsonl",
        "audit/eu/ord-1/000000000000-000000000002.jsonl",
        "other/eu/ord-1/000000000001-000000000002.jsonl",
    ] {
        assert!(parse_segment_key(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_flush_is_not_due_until_size_age_or_force() {
    let order: OrderId = "ord-flush".parse().expect("valid order id");
    let mut chain = Chain::resume(ChainId::order(&order), ChainHead::genesis());
    let outbox: Vec<AuditEvent> = (0..3)
        .map(|_| chain.append(draft(AuditAction::MessageSent, Some(&order), "OK"), 1_000))
        .collect();
    let state = FlushState::default();
    let policy = FlushPolicy {
        max_events: 10,
        max_age_ms: 5_000,
    };
    assert_eq!(state.next(&outbox, &policy, 2_000, false), Ok(None));
    assert_eq!(
        state.next(&outbox, &policy, 6_000, false),
        Ok(Some(SegmentRange { first: 1, last: 3 }))
    );
    assert_eq!(
        state.next(&outbox, &policy, 2_000, true),
        Ok(Some(SegmentRange { first: 1, last: 3 }))
    );
    assert!(
        state.next(&outbox[1..], &policy, 2_000, true).is_err(),
        "a gap is refused"
    );
}

#[derive(Debug, Clone)]
enum Op {
    CreateRoom(usize),
    Send {
        order: usize,
        refused: bool,
        burst: usize,
    },
    Read(usize),
    Upload(usize),
    View(usize),
    Forbidden(usize),
    TokenRefused,
    Deliver(usize),
    Flush {
        crash: bool,
        force: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize).prop_map(Op::CreateRoom),
        (0..3usize, any::<bool>(), 1..4usize).prop_map(|(order, refused, burst)| Op::Send {
            order,
            refused,
            burst
        }),
        (0..3usize).prop_map(Op::Read),
        (0..3usize).prop_map(Op::Upload),
        (0..3usize).prop_map(Op::View),
        (0..3usize).prop_map(Op::Forbidden),
        Just(Op::TokenRefused),
        (0..3usize).prop_map(Op::Deliver),
        (any::<bool>(), any::<bool>()).prop_map(|(crash, force)| Op::Flush { crash, force }),
    ]
}

/// One chain's writer as the room keeps it: head, outbox, flush state.
struct Writer {
    chain: Chain,
    outbox: Vec<AuditEvent>,
    flush: FlushState,
}

/// The bucket: keys are written once; a second write must carry identical bytes.
#[derive(Default)]
struct Bucket(BTreeMap<String, String>);

impl Bucket {
    fn put(&mut self, key: String, body: String) -> Result<(), String> {
        match self.0.get(&key) {
            Some(old) if *old != body => Err(format!("overwrite of {key}")),
            _ => {
                self.0.insert(key, body);
                Ok(())
            }
        }
    }
}

fn flush(
    w: &mut Writer,
    bucket: &mut Bucket,
    now: u64,
    crash: bool,
    force: bool,
) -> Result<(), String> {
    let policy = FlushPolicy {
        max_events: 4,
        max_age_ms: 50,
    };
    while let Some(range) = w
        .flush
        .next(&w.outbox, &policy, now, force)
        .map_err(|e| e.to_string())?
    {
        w.flush.begin(range);
        let body = encode_segment(
            w.flush
                .events(range, &w.outbox)
                .map_err(|e| e.to_string())?,
        );
        bucket.put(segment_key(Region::Us, w.chain.id(), range), body)?;
        if crash {
            // The write landed but the confirmation was lost; the next flush replays it.
            return Ok(());
        }
        let done = w
            .flush
            .complete(range, &w.outbox)
            .map_err(|e| e.to_string())?;
        w.outbox.drain(..done);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn f4_random_operations_produce_exactly_their_events(ops in proptest::collection::vec(op(), 1..80)) {
        let orders: Vec<OrderId> =
            (0..3).map(|i| format!("ord-p{i}").parse().expect("valid order id")).collect();
        let mut writers: BTreeMap<ChainId, Writer> = BTreeMap::new();
        let mut bucket = Bucket::default();
        let mut expected: BTreeMap<(ChainId, &str, String), u64> = BTreeMap::new();
        let mut now = 1_700_000_000_000u64;

        for op in &ops {
            now += 7;
            let drafts: Vec<EventDraft> = match op {
                Op::CreateRoom(o) => vec![draft(AuditAction::RoomCreated, Some(&orders[*o]), "OK")],
                Op::Send { order, refused, burst } => {
                    let outcome = if *refused { "PHI_REJECTED" } else { "OK" };
                    (0..*burst).map(|_| draft(AuditAction::MessageSent, Some(&orders[*order]), outcome)).collect()
                }
                Op::Read(o) => vec![draft(AuditAction::MessageRead, Some(&orders[*o]), "OK")],
                Op::Upload(o) => vec![draft(AuditAction::MediaUploaded, Some(&orders[*o]), "OK")],
                Op::View(o) => vec![draft(AuditAction::MediaViewed, Some(&orders[*o]), "OK")],
                Op::Forbidden(o) => vec![draft(AuditAction::AccessForbidden, Some(&orders[*o]), "FORBIDDEN")],
                Op::TokenRefused => vec![draft(AuditAction::TokenRefused, None, "UNAUTHENTICATED")],
                Op::Deliver(o) => vec![draft(AuditAction::DeliveredMarked, Some(&orders[*o]), "OK")],
                Op::Flush { crash, force } => {
                    for w in writers.values_mut() {
                        prop_assert!(flush(w, &mut bucket, now, *crash, *force).is_ok());
                    }
                    vec![]
                }
            };
            for d in drafts {
                let id = ChainId::for_draft(&d, Region::Us);
                *expected.entry((id.clone(), d.action.as_str(), d.outcome.clone())).or_default() += 1;
                let w = writers.entry(id.clone()).or_insert_with(|| Writer {
                    chain: Chain::resume(id, ChainHead::genesis()),
                    outbox: vec![],
                    flush: FlushState::default(),
                });
                // One request: every event of a burst shares the server time.
                let e = w.chain.append(d, now);
                w.outbox.push(e);
            }
        }
        for w in writers.values_mut() {
            prop_assert!(flush(w, &mut bucket, now, false, true).is_ok());
            prop_assert!(w.outbox.is_empty());
        }

        let mut seen: BTreeMap<(ChainId, &str, String), u64> = BTreeMap::new();
        for (id, w) in &writers {
            let prefix = segment_prefix(Region::Us, id);
            let mut events = vec![];
            for (key, body) in bucket.0.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)) {
                let (_, _, range) = parse_segment_key(key).expect("own key");
                let seg = decode_segment(body).expect("own segment");
                prop_assert!(range.matches(&seg));
                events.extend(seg);
            }
            let report = verify(&events, &[], None);
            prop_assert!(report.is_ok());
            prop_assert_eq!(&report.head, w.chain.head());
            prop_assert_eq!(events.len() as u64, w.chain.head().seq);
            for e in &events {
                *seen.entry((id.clone(), e.action().as_str(), e.outcome().to_owned())).or_default() += 1;
                prop_assert!(e.actor().is_some() && e.role().is_some() && e.device().is_some());
            }
        }
        prop_assert_eq!(seen, expected);
    }
}

#[test]
fn a_retried_checkpoint_is_byte_identical_under_the_same_key() {
    use rxroom_core::audit::{checkpoint_key, AuditSigningKey};
    let order: OrderId = "ord-cp".parse().expect("valid order id");
    let mut chain = Chain::resume(ChainId::order(&order), ChainHead::genesis());
    let last = (0..3)
        .map(|i| chain.append(draft(AuditAction::MessageSent, Some(&order), "OK"), 500 + i))
        .last()
        .expect("three events");
    let key = AuditSigningKey::generate().expect("random source");
    let a = key.sign_head(&last);
    let b = key.sign_head(&last);
    assert_eq!(
        serde_json::to_string(&a).ok(),
        serde_json::to_string(&b).ok()
    );
    assert_eq!((a.seq, a.count, a.ts_ms), (3, 3, 502));
    assert_eq!(
        checkpoint_key(Region::Us, last.chain(), a.seq),
        "audit-checkpoints/us/ord-cp/000000000003.json"
    );
    assert!(key.public_key().verify(&a));
}
