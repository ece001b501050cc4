//! Properties of the room under random operation sequences, and the storage contract the
//! Durable Object store must also meet (SECURITY D5, D9, F4, J3, J4, J5).

#[path = "room_support/fixture.rs"]
mod fixture;

use fixture::{caller, Cast, World, T0};
use proptest::prelude::*;
use rxroom_core::audit::AuditAction;
use rxroom_core::ids::{ClientMessageId, Role};
use rxroom_core::room::{
    HistoryQuery, MemoryStore, RoomError, RoomStore, SendMessage, StoreError, StoredMessage, Write,
};
use std::collections::HashMap;

fn msg(id: &str, text: &str) -> SendMessage {
    let client_id: ClientMessageId = id.parse().expect("test client ids are valid");
    SendMessage {
        client_id,
        text: text.to_owned(),
    }
}

const TEXTS: [&str; 4] = [
    "on my way",
    "Metformin is ready",
    "SSN-12345",
    "gate code 12",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random senders reuse a small pool of client ids with a small pool of texts: every send
    /// is a new message, a replay, a conflict or a rejection, and the room stays consistent.
    #[test]
    fn f4_d5_random_sends_keep_sequences_gap_free_and_drafts_one_per_stored_or_rejected(
        ops in proptest::collection::vec((0usize..3, 0usize..4, 0usize..4), 1..60)
    ) {
        let cast = Cast::new();
        let mut w = World::with_room(&cast);
        let senders = [&cast.pharmacist, &cast.driver, &cast.patient];
        let mut first: HashMap<(usize, usize), (usize, rxroom_core::room::Ack)> = HashMap::new();
        let mut stored = 0u64;
        let mut rejected = 0usize;

        for (i, (s, id, t)) in ops.into_iter().enumerate() {
            let p = senders[s];
            let c = caller(p, &cast.order, T0 + 1 + i as u64);
            let result = w.room().send(&c, &msg(&format!("id{id}"), TEXTS[t]));
            match (first.get(&(s, id)), result) {
                (None, Ok(sent)) => {
                    stored += 1;
                    prop_assert_eq!(sent.ack.seq, stored);
                    prop_assert!(!sent.replay);
                    first.insert((s, id), (t, sent.ack));
                }
                (None, Err(RoomError::PhiRejected(_))) => {
                    prop_assert!(p.role() == Role::Driver && t == 2);
                    rejected += 1;
                }
                (Some((t0, ack)), Ok(sent)) => {
                    prop_assert_eq!(*t0, t);
                    prop_assert!(sent.replay);
                    prop_assert_eq!(&sent.ack, ack);
                }
                (Some((t0, _)), Err(RoomError::DuplicateIdConflict)) => prop_assert_ne!(*t0, t),
                (_, other) => prop_assert!(false, "unexpected outcome {:?}", other.map(|s| s.ack)),
            }
        }

        prop_assert_eq!(w.store.last_seq().expect("reads"), stored);
        let rows = w.store.messages_after(0, 1000).expect("reads");
        let seqs: Vec<u64> = rows.iter().map(|m| m.seq).collect();
        prop_assert_eq!(seqs, (1..=stored).collect::<Vec<_>>());
        let drafts = w.drafts();
        let sent_drafts = drafts.iter().filter(|d| d.action == AuditAction::MessageSent).count();
        prop_assert_eq!(sent_drafts, stored as usize + rejected);

        // Forward paging in steps of 7 yields every message exactly once, in order.
        let mut seen = Vec::new();
        let mut after = 0;
        loop {
            let q = HistoryQuery { after: Some(after), before: None, limit: Some(7) };
            let page = w.room().history(&caller(&cast.patient, &cast.order, T0 + 10_000), q);
            let page = page.expect("history");
            seen.extend(page.messages.iter().map(|m| m.seq));
            after = page.next_after;
            if !page.has_more {
                break;
            }
        }
        prop_assert_eq!(seen, (1..=stored).collect::<Vec<_>>());
    }
}

fn stored(seq: u64, sender: &str, id: &str) -> StoredMessage {
    StoredMessage {
        seq,
        client_id: id.parse().expect("client id"),
        sender: fixture::uid(sender),
        sender_role: Role::Driver,
        server_time_ms: T0,
        labels: Vec::new(),
        body: vec![1, 2, 3],
    }
}

fn draft() -> rxroom_core::audit::EventDraft {
    rxroom_core::audit::EventDraft {
        action: AuditAction::MessageSent,
        actor: None,
        role: None,
        ip: None,
        device: None,
        order: None,
        target: None,
        outcome: "OK".into(),
        labels: Vec::new(),
    }
}

#[test]
fn j4_store_commit_is_all_or_nothing_on_a_duplicate_sequence_or_client_id() {
    let mut s = MemoryStore::new();
    s.commit(vec![
        Write::InsertMessage(stored(1, "a", "x")),
        Write::audit(T0, draft()),
    ])
    .expect("first insert");
    for dup in [stored(1, "b", "y"), stored(2, "a", "x")] {
        let r = s.commit(vec![Write::audit(T0, draft()), Write::InsertMessage(dup)]);
        assert_eq!(r, Err(StoreError::Conflict));
    }
    // Two messages with the same key in one batch conflict too.
    let r = s.commit(vec![
        Write::InsertMessage(stored(2, "c", "z")),
        Write::InsertMessage(stored(3, "c", "z")),
    ]);
    assert_eq!(r, Err(StoreError::Conflict));
    assert_eq!(s.last_seq(), Ok(1));
    assert_eq!(
        s.audit_outbox(10).map(|o| o.len()),
        Ok(1),
        "no draft of a failed batch"
    );
    // The same client id from another sender is a different key.
    assert!(s
        .commit(vec![Write::InsertMessage(stored(2, "b", "x"))])
        .is_ok());
}

#[test]
fn store_ranges_are_ascending_and_bounded() {
    let mut s = MemoryStore::new();
    for i in 1..=10 {
        s.commit(vec![Write::InsertMessage(stored(i, "a", &format!("m{i}")))])
            .expect("insert");
    }
    let seqs = |v: Vec<StoredMessage>| v.into_iter().map(|m| m.seq).collect::<Vec<_>>();
    assert_eq!(seqs(s.messages_after(3, 3).expect("after")), vec![4, 5, 6]);
    assert_eq!(
        seqs(s.messages_before(5, 3).expect("before")),
        vec![2, 3, 4]
    );
    assert_eq!(
        seqs(s.messages_after(10, 3).expect("after end")),
        Vec::<u64>::new()
    );
    assert_eq!(
        seqs(s.messages_before(1, 3).expect("before start")),
        Vec::<u64>::new()
    );
    let found = s.message_by_client_id(&fixture::uid("a"), &"m4".parse().expect("id"));
    assert_eq!(found.expect("lookup").map(|m| m.seq), Some(4));
    s.delete_all().expect("delete");
    assert_eq!(s.is_empty(), Ok(true));
    assert_eq!(s.last_seq(), Ok(0));
}

#[test]
fn blank_messages_are_invalid() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let c = caller(&cast.driver, &cast.order, T0 + 1);
    assert_eq!(
        w.room().send(&c, &msg("b", " \n ")),
        Err(RoomError::InvalidRequest)
    );
}

#[test]
fn history_cursors_beyond_the_last_sequence_are_clamped() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let c = caller(&cast.pharmacist, &cast.order, T0 + 1);
    w.room().send(&c, &msg("a", "one")).expect("send");
    let q = HistoryQuery {
        after: Some(u64::MAX),
        before: None,
        limit: None,
    };
    let page = w.room().history(&c, q).expect("far future after");
    assert!(page.messages.is_empty());
    assert_eq!(page.next_after, u64::MAX);
    let q = HistoryQuery {
        after: None,
        before: Some(u64::MAX),
        limit: None,
    };
    assert_eq!(
        w.room()
            .history(&c, q)
            .expect("far future before")
            .messages
            .len(),
        1
    );
}

#[test]
fn default_config_is_valid_and_incoherent_settings_are_not() {
    let mut c = rxroom_core::room::RoomConfig::new(rxroom_core::ids::Region::Eu);
    assert!(c.is_valid());
    assert_eq!(c.max_text_bytes, 4096);
    assert_eq!(c.driver_ttl_ms, 30 * 60 * 1000);
    assert_eq!(c.live.max_frame_bytes, 16 * 1024);
    c.driver_ttl_ms = c.close_ttl_ms + 1;
    assert!(!c.is_valid(), "a driver must not outlive the room");
    let mut c = rxroom_core::room::RoomConfig::new(rxroom_core::ids::Region::Eu);
    c.history_default_limit = 101;
    assert!(!c.is_valid());
}

#[test]
fn debug_output_never_shows_text_or_ip() {
    let cast = Cast::new();
    let c = caller(&cast.driver, &cast.order, T0);
    let m = msg("m", "Metformin for Jane");
    let printed = format!("{c:?} {m:?}");
    assert!(!printed.contains("192.0.2.1"));
    assert!(!printed.contains("Metformin"));
}
