//! SECURITY.md F1: every kind of tampering with an audit chain, a segment or an export is
//! reported at the first bad position with its kind.

use rxroom_core::audit::{
    append, verify, verify_lines, AuditAction, AuditEvent, AuditPublicKey, AuditSigningKey,
    ChainHead, ChainId, Checkpoint, EventDraft, ExportHeader, ExportLine, ExportMessage,
    ExportTrailer, StreamVerifier, TamperKind, EXPORT_FORMAT,
};
use rxroom_core::ids::{OrderId, Region, Role};
use serde_json::Value;

fn order() -> OrderId {
    "ord-tamper-1".parse().expect("valid order id")
}

fn draft(i: u64) -> EventDraft {
    EventDraft {
        action: if i.is_multiple_of(2) {
            AuditAction::MessageSent
        } else {
            AuditAction::MessageRead
        },
        actor: Some(format!("user-{}", i % 3).parse().expect("valid user id")),
        role: Some(Role::Pharmacist),
        ip: Some("203.0.113.7".into()),
        device: Some("dev-1".parse().expect("valid device id")),
        order: Some(order()),
        target: Some(i.to_string()),
        outcome: "OK".into(),
        labels: vec!["MEDICATION".into()],
    }
}

fn chain(n: u64) -> Vec<AuditEvent> {
    let id = ChainId::order(&order());
    let mut head = ChainHead::genesis();
    (1..=n)
        .map(|i| {
            let e = append(&head, &id, draft(i), 1_700_000_000_000 + i);
            head = ChainHead::of(&e);
            e
        })
        .collect()
}

fn key() -> AuditSigningKey {
    AuditSigningKey::from_base64("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=").expect("32 bytes")
}

fn checkpoints(events: &[AuditEvent], every: usize) -> Vec<Checkpoint> {
    let k = key();
    events
        .iter()
        .enumerate()
        .filter(|(i, _)| (i + 1).is_multiple_of(every))
        .map(|(_, e)| k.sign(e.chain(), &ChainHead::of(e), e.ts_ms()))
        .collect()
}

/// Edits an event through its JSON form, as an attacker with write access to the bucket would.
fn edit(e: &AuditEvent, f: impl FnOnce(&mut Value)) -> AuditEvent {
    let mut v = serde_json::to_value(e).expect("event serializes");
    f(&mut v);
    serde_json::from_value(v).expect("edited event still parses")
}

fn rehash(e: AuditEvent) -> AuditEvent {
    let h = e.compute_hash();
    edit(&e, |v| v["hash"] = h.into())
}

fn first_failure(events: &[AuditEvent], cps: &[Checkpoint]) -> Option<(u64, TamperKind)> {
    let pk = key().public_key();
    verify(events, cps, Some(&pk))
        .failure
        .map(|f| (f.position, f.kind))
}

#[test]
fn f1_intact_chain_with_checkpoints_verifies() {
    let events = chain(50);
    let cps = checkpoints(&events, 10);
    let pk = key().public_key();
    let report = verify(&events, &cps, Some(&pk));
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.events, 50);
    assert_eq!(report.checkpoints, 5);
    assert_eq!(report.head.seq, 50);
    assert_eq!(
        events.first().map(AuditEvent::prev_hash),
        Some("0".repeat(64).as_str())
    );
}

#[test]
fn f1_modified_field_is_reported_at_its_position() {
    let mut events = chain(30);
    events[12] = edit(&events[12], |v| v["outcome"] = "FORBIDDEN".into());
    assert_eq!(
        first_failure(&events, &[]),
        Some((12, TamperKind::Modified))
    );
}

#[test]
fn f1_modified_and_rehashed_event_is_reported_at_its_position() {
    let mut events = chain(30);
    events[7] = rehash(edit(&events[7], |v| v["ts_ms"] = 1.into()));
    assert_eq!(first_failure(&events, &[]), Some((7, TamperKind::Modified)));
}

#[test]
fn f1_deleted_event_is_reported_as_a_gap_where_it_was() {
    let mut events = chain(30);
    events.remove(9);
    assert_eq!(first_failure(&events, &[]), Some((9, TamperKind::Deleted)));
    let mut first_gone = chain(5);
    first_gone.remove(0);
    assert_eq!(
        first_failure(&first_gone, &[]),
        Some((0, TamperKind::Deleted))
    );
}

#[test]
fn f1_swapped_events_are_reported_at_the_first_of_them() {
    let mut events = chain(30);
    events.swap(4, 5);
    assert_eq!(first_failure(&events, &[]), Some((4, TamperKind::Swapped)));
    let mut far = chain(30);
    far.swap(3, 20);
    assert_eq!(first_failure(&far, &[]), Some((3, TamperKind::Swapped)));
}

#[test]
fn f1_replayed_event_is_reported_as_inserted() {
    let mut events = chain(30);
    let copy = events[3].clone();
    events.insert(11, copy);
    assert_eq!(
        first_failure(&events, &[]),
        Some((11, TamperKind::Inserted))
    );
}

#[test]
fn f1_forged_event_with_a_valid_hash_is_reported_as_inserted() {
    let mut events = chain(30);
    let forged = rehash(edit(&events[5], |v| v["target"] = "999".into()));
    events.insert(5, forged);
    assert_eq!(first_failure(&events, &[]), Some((5, TamperKind::Inserted)));

    let mut after = chain(30);
    let forged = rehash(edit(&after[5], |v| v["target"] = "999".into()));
    after.insert(6, forged);
    assert_eq!(first_failure(&after, &[]), Some((6, TamperKind::Inserted)));
}

#[test]
fn f1_event_from_another_chain_is_reported_as_inserted() {
    let mut events = chain(10);
    let other = ChainId::region(Region::Us);
    let stray = append(&ChainHead::of(&events[3]), &other, draft(5), 1);
    events.insert(4, stray);
    assert_eq!(first_failure(&events, &[]), Some((4, TamperKind::Inserted)));
}

#[test]
fn f1_truncated_tail_is_caught_by_a_signed_checkpoint() {
    let events = chain(40);
    let cps = checkpoints(&events, 10);
    let kept = &events[..33];
    assert_eq!(first_failure(kept, &cps), Some((33, TamperKind::Truncated)));
    assert_eq!(first_failure(&[], &cps), Some((0, TamperKind::Truncated)));
}

#[test]
fn f1_self_consistent_rewrite_is_caught_by_a_signed_checkpoint() {
    let events = chain(40);
    let cps = checkpoints(&events, 10);
    // The attacker rebuilds the whole chain with one changed outcome: every hash is valid.
    let id = ChainId::order(&order());
    let mut head = ChainHead::genesis();
    let rewritten: Vec<AuditEvent> = (1..=40u64)
        .map(|i| {
            let mut d = draft(i);
            if i == 14 {
                d.outcome = "FORBIDDEN".into();
            }
            let e = append(&head, &id, d, 1_700_000_000_000 + i);
            head = ChainHead::of(&e);
            e
        })
        .collect();
    assert!(verify(&rewritten, &[], None).is_ok());
    assert_eq!(
        first_failure(&rewritten, &cps),
        Some((19, TamperKind::CheckpointMismatch))
    );
}

#[test]
fn f1_checkpoint_signed_by_another_key_is_a_mismatch() {
    let events = chain(20);
    let rogue = AuditSigningKey::generate().expect("random source");
    let mut cps = checkpoints(&events, 10);
    cps.push(rogue.sign(events[14].chain(), &ChainHead::of(&events[14]), 5));
    assert_eq!(
        first_failure(&events, &cps),
        Some((14, TamperKind::CheckpointMismatch))
    );

    let mut edited = checkpoints(&events, 10);
    edited[0].count = 3;
    assert_eq!(
        first_failure(&events, &edited),
        Some((9, TamperKind::CheckpointMismatch))
    );
}

#[test]
fn f1_the_first_of_several_tamperings_is_reported() {
    let mut events = chain(30);
    events.remove(20);
    events[8] = edit(&events[8], |v| v["role"] = "auditor".into());
    assert_eq!(first_failure(&events, &[]), Some((8, TamperKind::Modified)));
}

#[test]
fn public_key_round_trips_and_signing_key_debug_is_a_placeholder() {
    let k = key();
    let pk = AuditPublicKey::from_base64(&k.public_key().to_base64()).expect("round trip");
    assert_eq!(pk, k.public_key());
    assert_eq!(format!("{k:?}"), "AuditSigningKey(..)");
    assert!(AuditPublicKey::from_base64("c2hvcnQ=").is_err());
}

fn export_text(events: &[AuditEvent]) -> String {
    let mut out = ExportLine::Header(ExportHeader {
        format: EXPORT_FORMAT.into(),
        order: order(),
        region: Region::Us,
        generated_at_ms: 1_800_000_000_000,
        events: events.len() as u64,
        messages: 1,
    })
    .to_line();
    for e in events {
        out.push_str(&ExportLine::Event(e.clone()).to_line());
    }
    out.push_str(
        &ExportLine::Message(ExportMessage {
            seq: 1,
            sender: "user-1".into(),
            role: Role::Pharmacist,
            server_time_ms: 1_700_000_000_001,
            text: "your order is on the way".into(),
            labels: vec![],
        })
        .to_line(),
    );
    let last = events.last().map(ChainHead::of).unwrap_or_default();
    out.push_str(
        &ExportLine::Trailer(ExportTrailer {
            events: events.len() as u64,
            messages: 1,
            head_seq: last.seq,
            head_hash: last.hash,
        })
        .to_line(),
    );
    out
}

fn verify_text(text: &str, cps: &[Checkpoint]) -> Option<(u64, TamperKind)> {
    let pk = key().public_key();
    let report = verify_lines(text.as_bytes(), cps, Some(&pk)).expect("readable input");
    report.failure.map(|f| (f.position, f.kind))
}

#[test]
fn f1_export_file_verifies_and_counts_its_lines() {
    let events = chain(25);
    let text = export_text(&events);
    let pk = key().public_key();
    let report = verify_lines(text.as_bytes(), &checkpoints(&events, 5), Some(&pk)).expect("ok");
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(
        (report.events, report.messages, report.checkpoints),
        (25, 1, 5)
    );
}

#[test]
fn f1_export_missing_tail_or_trailer_is_truncated() {
    let events = chain(25);
    let mut short = export_text(&events[..20]);
    short = short.replace(
        "\"events\":20,\"messages\":1,\"head_seq\"",
        "\"events\":25,\"messages\":1,\"head_seq\"",
    );
    assert_eq!(verify_text(&short, &[]), Some((20, TamperKind::Truncated)));

    let full = export_text(&events);
    let no_trailer: String = full
        .lines()
        .filter(|l| !l.contains("\"trailer\""))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        verify_text(&no_trailer, &[]),
        Some((25, TamperKind::Truncated))
    );
}

#[test]
fn f1_export_with_an_edited_line_or_a_line_after_the_trailer_fails() {
    let events = chain(10);
    let full = export_text(&events);
    let edited = full.replacen("\"outcome\":\"OK\"", "\"outcome\":\"FORBIDDEN\"", 3);
    assert_eq!(verify_text(&edited, &[]), Some((0, TamperKind::Modified)));

    let broken = full.replacen(
        "\"type\":\"event\",",
        "\"type\":\"event\",\"seq\":\"x\",",
        1,
    );
    assert_eq!(verify_text(&broken, &[]), Some((0, TamperKind::Modified)));

    let extra = format!("{full}{}", ExportLine::Event(events[2].clone()).to_line());
    assert_eq!(verify_text(&extra, &[]), Some((10, TamperKind::Inserted)));
}

#[test]
fn f1_bare_segment_lines_verify_too() {
    let events = chain(12);
    let text = rxroom_core::audit::encode_segment(&events);
    assert_eq!(verify_text(&text, &[]), None);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(2, 3);
    assert_eq!(
        verify_text(&lines.join("\n"), &[]),
        Some((2, TamperKind::Swapped))
    );
}

#[test]
fn f1_failures_read_from_lines_name_the_input_line() {
    let events = chain(10);
    let full = export_text(&events);
    let pk = key().public_key();
    let edited = full.replacen("\"target\":\"4\"", "\"target\":\"44\"", 1);
    let report = verify_lines(edited.as_bytes(), &[], Some(&pk)).expect("readable");
    let f = report.failure.expect("tampering found");
    assert_eq!(
        (f.position, f.seq, f.kind, f.line),
        (3, 4, TamperKind::Modified, Some(5))
    );

    let mut rehashed = events.clone();
    rehashed[6] = rehash(edit(&rehashed[6], |v| v["ip"] = "192.0.2.1".into()));
    let text = export_text(&rehashed);
    let f = verify_lines(text.as_bytes(), &[], Some(&pk))
        .expect("ok")
        .failure
        .expect("found");
    assert_eq!(
        (f.position, f.kind, f.line),
        (6, TamperKind::Modified, Some(8))
    );
}

#[test]
fn a_single_segment_verifies_when_resumed_from_the_head_before_it() {
    let events = chain(20);
    let tail = &events[12..];
    assert_eq!(first_failure(tail, &[]), Some((0, TamperKind::Deleted)));
    let mut v = StreamVerifier::new(&[], None).resume_from(ChainHead::of(&events[11]));
    for e in tail {
        v.push(e.clone());
    }
    let report = v.finish();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.head, ChainHead::of(&events[19]));
}

#[test]
fn f1_first_event_with_a_foreign_prev_hash_is_modified_at_zero() {
    let mut events = chain(5);
    events[0] = rehash(edit(&events[0], |v| v["prev_hash"] = "1".repeat(64).into()));
    assert_eq!(first_failure(&events, &[]), Some((0, TamperKind::Modified)));
}

#[test]
fn f1_export_with_a_message_line_dropped_or_added_is_reported() {
    let events = chain(5);
    let text = export_text(&events);
    let message_line = text
        .lines()
        .find(|l| l.contains("\"type\":\"message\""))
        .expect("the export has a message line")
        .to_owned();

    let dropped = text.replace(&format!("{message_line}\n"), "");
    assert_eq!(
        verify_text(&dropped, &[]).map(|(_, k)| k),
        Some(TamperKind::Deleted)
    );

    let added = text.replace(&message_line, &format!("{message_line}\n{message_line}"));
    assert_eq!(
        verify_text(&added, &[]).map(|(_, k)| k),
        Some(TamperKind::Inserted)
    );
}
