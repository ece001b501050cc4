//! Room ingest, views, history, resume and audit drafts over the in-memory store (issue 5;
//! SECURITY B6, D4, D5, D9, J2, J3, J5).

#[path = "room_support/fixture.rs"]
mod fixture;

use fixture::{caller, uid, Cast, World, T0};
use rxroom_core::audit::AuditAction;
use rxroom_core::ids::{ClientMessageId, Role};
use rxroom_core::labels::Label;
use rxroom_core::room::{
    Caller, HistoryQuery, MarkRead, RoomError, RoomState, RoomStore, SendMessage,
};

fn msg(id: &str, text: &str) -> SendMessage {
    let client_id: ClientMessageId = id.parse().expect("test client ids are valid");
    SendMessage {
        client_id,
        text: text.to_owned(),
    }
}

const PHI_TEXT: &str = "Jane Roe: your Metformin is on the way, SSN-123456789 verified";

#[test]
fn full_flow_gives_each_role_its_view_and_never_shows_the_driver_phi() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);

    let ph = caller(&cast.pharmacist, &cast.order, T0 + 1);
    let sent = w
        .room()
        .send(&ph, &msg("m1", PHI_TEXT))
        .expect("pharmacist sends");
    assert_eq!(sent.ack.seq, 1);
    assert_eq!(sent.ack.server_time, T0 + 1);
    assert_eq!(
        sent.ack.redacted_labels,
        vec![Label::Name, Label::Ssn, Label::Medication]
    );
    assert!(!sent.replay);
    assert_eq!(sent.push_to, vec![uid("dr-1"), uid("pt-1")]);

    let driver_view = sent
        .views
        .for_role(Role::Driver)
        .expect("driver view")
        .text
        .clone();
    assert_eq!(
        driver_view,
        "Jane [NAME]: your [MEDICATION] is on the way, [SSN] verified"
    );
    for phi in ["Roe", "Metformin", "123456789"] {
        assert!(!driver_view.contains(phi));
    }
    let full = sent
        .views
        .for_role(Role::Pharmacist)
        .expect("pharmacist view");
    assert_eq!(full.text, PHI_TEXT);
    assert_eq!(
        sent.views.for_role(Role::Patient).map(|v| v.text.as_str()),
        Some(PHI_TEXT)
    );

    let pt = caller(&cast.patient, &cast.order, T0 + 2);
    w.room()
        .send(&pt, &msg("p1", "thanks, leave it at the door"))
        .expect("patient sends");
    let dr = caller(&cast.driver, &cast.order, T0 + 3);
    w.room()
        .send(&dr, &msg("d1", "at the gate, code 4411"))
        .expect("driver sends");

    let page = w
        .room()
        .history(&dr, HistoryQuery::default())
        .expect("driver reads history");
    let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts[0], driver_view);
    assert_eq!(
        &texts[1..],
        ["thanks, leave it at the door", "at the gate, code 4411"]
    );
    let page = w
        .room()
        .history(&pt, HistoryQuery::default())
        .expect("patient reads history");
    assert_eq!(page.messages[0].text, PHI_TEXT);

    // Room metadata for the driver: no order record, participants are ids and roles only.
    let view = w.room().view(&dr).expect("driver sees the room");
    assert!(view.record.is_none());
    let json = serde_json::to_string(&view).expect("view serializes");
    for phi in ["Jane", "Roe", "Metformin"] {
        assert!(!json.contains(phi), "driver room view leaks {phi}");
    }
    assert_eq!(view.state, RoomState::Active);
    assert_eq!(view.last_seq, 3);
    let ph_view = w.room().view(&ph).expect("pharmacist sees the room");
    assert_eq!(ph_view.record, Some(Cast::record()));
}

#[test]
fn d5_j3_idempotent_retry_returns_the_same_ack_and_stores_one_copy() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let first = w
        .room()
        .send(
            &caller(&cast.driver, &cast.order, T0 + 10),
            &msg("k", "five minutes out"),
        )
        .expect("first send");
    let drafts_after_first = w.drafts().len();

    // Retried later (for example after the object restarted): same ack, nothing new.
    let again = w
        .room()
        .send(
            &caller(&cast.driver, &cast.order, T0 + 99),
            &msg("k", "five minutes out"),
        )
        .expect("retry");
    assert_eq!(again.ack, first.ack);
    assert!(again.replay);
    assert!(again.views.is_empty());
    assert!(again.push_to.is_empty());
    assert_eq!(w.store.message_count(), 1);
    assert_eq!(
        w.drafts().len(),
        drafts_after_first,
        "a replay records no second draft"
    );
}

#[test]
fn d5_conflicting_retry_is_a_duplicate_id_conflict() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let dr = caller(&cast.driver, &cast.order, T0 + 10);
    w.room()
        .send(&dr, &msg("k", "five minutes out"))
        .expect("first send");
    let err = w
        .room()
        .send(&dr, &msg("k", "ten minutes out"))
        .expect_err("other content");
    assert_eq!(err, RoomError::DuplicateIdConflict);
    assert_eq!(err.code().status(), 409);
    assert_eq!(w.store.message_count(), 1);
}

#[test]
fn d5_the_same_client_id_from_another_sender_is_independent() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let a = w
        .room()
        .send(&caller(&cast.driver, &cast.order, T0 + 1), &msg("1", "hi"))
        .expect("a");
    let b = w
        .room()
        .send(
            &caller(&cast.patient, &cast.order, T0 + 2),
            &msg("1", "hello"),
        )
        .expect("b");
    assert_eq!((a.ack.seq, b.ack.seq), (1, 2));
}

#[test]
fn d9_j5_ten_interleaved_senders_get_gap_free_increasing_sequences() {
    let cast = Cast::new();
    let mut w = World::new();
    // Ten distinct senders: pharmacist, driver, patient and seven caregivers (patient role).
    let carers: Vec<rxroom_core::claims::Principal> = (0..7)
        .map(|i| {
            fixture::principal(
                &format!("cg-{i}"),
                Role::Patient,
                rxroom_core::claims::Scope::Orders(vec![cast.order.clone()]),
                rxroom_core::ids::Region::Us,
            )
        })
        .collect();
    let mut body = cast.create_body();
    body.participants
        .extend(carers.iter().map(|p| rxroom_core::room::Participant {
            user: p.user().clone(),
            role: Role::Patient,
        }));
    w.room()
        .create(&caller(&cast.pharmacist, &cast.order, T0), body)
        .expect("create");

    let mut senders = vec![&cast.pharmacist, &cast.driver, &cast.patient];
    senders.extend(carers.iter());
    assert_eq!(senders.len(), 10);
    let mut seqs = Vec::new();
    for round in 0..20u64 {
        for (i, p) in senders.iter().enumerate() {
            let id = format!("r{round}-s{i}");
            let c = caller(p, &cast.order, T0 + round * 10 + i as u64);
            let sent = w.room().send(&c, &msg(&id, "status update")).expect("send");
            seqs.push(sent.ack.seq);
        }
    }
    let expected: Vec<u64> = (1..=200).collect();
    assert_eq!(seqs, expected);
    assert_eq!(w.store.last_seq().expect("reads"), 200);

    // Every reader sees the same order.
    let a = w.room().history(
        &caller(&cast.driver, &cast.order, T0 + 500),
        HistoryQuery {
            after: Some(0),
            before: None,
            limit: Some(100),
        },
    );
    let b = w.room().history(
        &caller(&cast.patient, &cast.order, T0 + 500),
        HistoryQuery {
            after: Some(0),
            before: None,
            limit: Some(100),
        },
    );
    let order = |p: Result<rxroom_core::room::Page, RoomError>| -> Vec<(u64, String, u64)> {
        p.expect("history")
            .messages
            .into_iter()
            .map(|m| (m.seq, m.sender.as_str().to_owned(), m.server_time))
            .collect()
    };
    assert_eq!(order(a), order(b));
}

#[test]
fn g2_a_client_message_id_is_shown_only_to_roles_with_a_full_view() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let sent = w
        .room()
        .send(
            &caller(&cast.pharmacist, &cast.order, T0 + 10),
            &msg("Haddad-sertraline", "on the way"),
        )
        .expect("send");
    assert_eq!(sent.ack.id.as_str(), "Haddad-sertraline");
    let mut seen = |who| {
        w.room()
            .history(&caller(who, &cast.order, T0 + 20), HistoryQuery::default())
            .expect("history")
            .messages[0]
            .id
            .as_str()
            .to_owned()
    };
    assert_eq!(seen(&cast.driver), "m-1");
    assert_eq!(seen(&cast.patient), "Haddad-sertraline");
}

#[test]
fn d4_resume_returns_exactly_the_missed_messages_in_order() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let ph = caller(&cast.pharmacist, &cast.order, T0 + 1);
    for i in 1..=7 {
        w.room()
            .send(&ph, &msg(&format!("m{i}"), &format!("note {i}")))
            .expect("send");
    }
    let dr = caller(&cast.driver, &cast.order, T0 + 2);
    let page = w.room().missed(&dr, 4).expect("resume");
    let seqs: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![5, 6, 7]);
    assert!(!page.has_more);
    assert_eq!(page.next_after, 7);

    let none = w.room().missed(&dr, 7).expect("nothing missed");
    assert!(none.messages.is_empty());
    assert_eq!(
        w.room().missed(&dr, 8),
        Err(RoomError::InvalidRequest),
        "forged future cursor"
    );
}

#[test]
fn history_pages_forward_and_backward_with_bounded_limits() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let ph = caller(&cast.pharmacist, &cast.order, T0 + 1);
    for i in 1..=5 {
        w.room()
            .send(&ph, &msg(&format!("m{i}"), "x"))
            .expect("send");
    }
    let q = |after, before, limit| HistoryQuery {
        after,
        before,
        limit,
    };
    let p = w
        .room()
        .history(&ph, q(Some(1), None, Some(2)))
        .expect("forward");
    assert_eq!(
        p.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert!(p.has_more);
    assert_eq!(p.next_after, 3);

    let p = w
        .room()
        .history(&ph, q(None, None, Some(2)))
        .expect("newest");
    assert_eq!(
        p.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![4, 5]
    );
    assert!(p.has_more);
    assert_eq!(p.next_before, Some(4));
    let p = w
        .room()
        .history(&ph, q(None, Some(4), Some(10)))
        .expect("older");
    assert_eq!(
        p.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(!p.has_more);

    assert_eq!(
        w.room().history(&ph, q(None, None, Some(101))),
        Err(RoomError::InvalidRequest)
    );
    assert_eq!(
        w.room().history(&ph, q(None, None, Some(0))),
        Err(RoomError::InvalidRequest)
    );
    assert_eq!(
        w.room().history(&ph, q(Some(1), Some(3), None)),
        Err(RoomError::InvalidRequest)
    );
}

#[test]
fn c5_text_over_the_byte_limit_is_refused_before_anything_else() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    // 4 KiB + 1 byte of multi-byte characters: the limit is on bytes, not characters.
    let text = "é".repeat(2048) + "x";
    assert_eq!(text.len(), 4097);
    let dr = caller(&cast.driver, &cast.order, T0 + 1);
    assert_eq!(
        w.room().send(&dr, &msg("big", &text)),
        Err(RoomError::PayloadTooLarge)
    );
    // Checked before access: an outsider gets the same answer and no room state is read.
    let outsider = fixture::principal(
        "dr-9",
        Role::Driver,
        rxroom_core::claims::Scope::Orders(vec![fixture::oid("ord-2")]),
        rxroom_core::ids::Region::Us,
    );
    let c = caller(&outsider, &cast.order, T0 + 1);
    assert_eq!(
        w.room().send(&c, &msg("big", &text)),
        Err(RoomError::PayloadTooLarge)
    );
    let exact = "a".repeat(4096);
    assert!(w.room().send(&dr, &msg("ok", &exact)).is_ok());
}

#[test]
fn phi_rejected_names_the_labels_stores_nothing_and_is_audited_once() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let before = w.drafts().len();
    let dr = caller(&cast.driver, &cast.order, T0 + 1);
    let err = w
        .room()
        .send(&dr, &msg("s", "her SSN-123456789?"))
        .expect_err("driver may not");
    assert_eq!(err, RoomError::PhiRejected(vec![Label::Ssn]));
    assert_eq!(err.labels(), Some(vec!["SSN"]));
    assert_eq!(err.code().status(), 422);
    assert_eq!(w.store.message_count(), 0);
    let drafts = w.drafts();
    assert_eq!(drafts.len(), before + 1);
    let d = drafts.last().expect("draft");
    assert_eq!(d.action, AuditAction::MessageSent);
    assert_eq!(d.outcome, "PHI_REJECTED");
    assert_eq!(d.labels, vec!["SSN".to_owned()]);
}

#[test]
fn cards_are_masked_before_storage_for_every_role() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let pt = caller(&cast.patient, &cast.order, T0 + 1);
    let sent = w
        .room()
        .send(&pt, &msg("c", "pay with CARD-4111111111111111 ok"))
        .expect("send");
    assert_eq!(sent.ack.redacted_labels, vec![Label::CreditCard]);
    let ph = caller(&cast.pharmacist, &cast.order, T0 + 2);
    let page = w
        .room()
        .history(&ph, HistoryQuery::default())
        .expect("history");
    assert_eq!(page.messages[0].text, "pay with CARD-****1111 ok");
}

#[test]
fn b6_mass_assignment_fields_in_bodies_are_ignored() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let body = r#"{"client_id":"m1","text":"hello","sender":"ph-1","role":"pharmacist",
        "sender_role":"pharmacist","seq":99,"server_time":1,"room_id":"ord-2","region":"eu"}"#;
    let req: SendMessage = serde_json::from_str(body).expect("unknown fields are ignored");
    let dr = caller(&cast.driver, &cast.order, T0 + 5);
    let sent = w.room().send(&dr, &req).expect("send");
    assert_eq!(sent.ack.seq, 1);
    assert_eq!(sent.ack.server_time, T0 + 5);
    let view = sent.views.for_role(Role::Pharmacist).expect("view");
    assert_eq!(view.sender, uid("dr-1"));
    assert_eq!(view.sender_role, Role::Driver);

    let read: MarkRead = serde_json::from_str(r#"{"seq":1,"user":"ph-1"}"#).expect("parses");
    let out = w.room().mark_read(&dr, read).expect("read");
    assert_eq!(out.receipt.user, uid("dr-1"));
}

#[test]
fn read_receipts_only_move_forward_and_are_audited_when_they_move() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let ph = caller(&cast.pharmacist, &cast.order, T0 + 1);
    for i in 1..=3 {
        w.room()
            .send(&ph, &msg(&format!("m{i}"), "x"))
            .expect("send");
    }
    let pt = caller(&cast.patient, &cast.order, T0 + 2);
    let before = w.drafts().len();
    assert!(
        w.room()
            .mark_read(&pt, MarkRead { seq: 2 })
            .expect("read")
            .advanced
    );
    let back = w.room().mark_read(&pt, MarkRead { seq: 1 }).expect("read");
    assert!(!back.advanced);
    assert_eq!(back.receipt.seq, 2);
    assert_eq!(
        w.room().mark_read(&pt, MarkRead { seq: 4 }),
        Err(RoomError::InvalidRequest)
    );
    assert_eq!(w.drafts().len(), before + 1);
    let receipts = w.room().receipts(&ph).expect("receipts");
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].seq, 2);
}

#[test]
fn j2_a_failed_write_is_never_acknowledged_and_a_retry_then_succeeds() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let dr = caller(&cast.driver, &cast.order, T0 + 1);
    w.store.set_fail_commits(true);
    let err = w
        .room()
        .send(&dr, &msg("m", "ok"))
        .expect_err("storage down");
    assert_eq!(err.code().as_str(), "INTERNAL");
    assert!(!err.to_string().contains("ok"));
    w.store.set_fail_commits(false);
    assert_eq!(w.store.message_count(), 0);
    let sent = w.room().send(&dr, &msg("m", "ok")).expect("retry");
    assert_eq!(sent.ack.seq, 1);
}

#[test]
fn f4_audit_drafts_are_written_exactly_once_per_action() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let ph = caller(&cast.pharmacist, &cast.order, T0 + 1);
    let dr = caller(&cast.driver, &cast.order, T0 + 2);
    w.room()
        .send(&ph, &msg("m1", "Metformin ready"))
        .expect("send");
    w.room()
        .send(&ph, &msg("m1", "Metformin ready"))
        .expect("replay");
    w.room()
        .history(&dr, HistoryQuery::default())
        .expect("history");
    w.room().mark_read(&dr, MarkRead { seq: 1 }).expect("read");
    w.room().mark_delivered(&dr).expect("delivered");
    w.room()
        .mark_delivered(&ph)
        .expect("second delivery mark changes nothing");
    let _ = w
        .room()
        .send(&dr, &msg("bad", "SSN-1234"))
        .expect_err("rejected");

    let actions: Vec<AuditAction> = w.drafts().iter().map(|d| d.action).collect();
    assert_eq!(
        actions,
        vec![
            AuditAction::RoomCreated,
            AuditAction::MessageSent,
            AuditAction::MessageRead,
            AuditAction::MessageRead,
            AuditAction::DeliveredMarked,
            AuditAction::MessageSent,
        ]
    );
    let drafts = w.drafts();
    let sent = &drafts[1];
    assert_eq!(sent.actor, Some(uid("ph-1")));
    assert_eq!(sent.role, Some(Role::Pharmacist));
    assert_eq!(sent.ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(sent.order, Some(cast.order.clone()));
    assert_eq!(sent.target.as_deref(), Some("seq:1"));
    assert_eq!(sent.labels, vec!["MEDICATION".to_owned()]);
    // F6: drafts carry ids and label names, never text.
    let json = serde_json::to_string(&drafts).expect("drafts serialize");
    assert!(!json.contains("Metformin") && !json.contains("1234"));

    let times: Vec<u64> = w
        .store
        .audit_outbox(usize::MAX)
        .expect("outbox")
        .iter()
        .map(|e| e.at_ms)
        .collect();
    assert_eq!(times, vec![T0, T0 + 1, T0 + 2, T0 + 2, T0 + 2, T0 + 2]);

    // The adapter removes what the chain has stored.
    let ids = w.store.audit_outbox(3).expect("outbox");
    w.store.remove_audit_through(ids[2].id).expect("remove");
    assert_eq!(w.drafts().len(), 3);
}

#[test]
fn b9_emergency_grant_lets_tenant_staff_read_but_not_write_and_is_audited() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    w.room()
        .send(
            &caller(&cast.patient, &cast.order, T0 + 1),
            &msg("m", "Metformin?"),
        )
        .expect("send");
    // A supervising pharmacist of the tenant who is not a participant.
    let sup = fixture::principal(
        "ph-2",
        Role::Pharmacist,
        rxroom_core::claims::Scope::Tenant(fixture::tid("pharm-a")),
        rxroom_core::ids::Region::Us,
    );
    let plain = caller(&sup, &cast.order, T0 + 2);
    assert_eq!(
        w.room().history(&plain, HistoryQuery::default()),
        Err(RoomError::Forbidden)
    );

    let grant = Caller {
        emergency: true,
        ..plain
    };
    let page = w
        .room()
        .history(&grant, HistoryQuery::default())
        .expect("emergency read");
    assert_eq!(page.messages.len(), 1);
    assert_eq!(
        w.drafts().last().map(|d| d.action),
        Some(AuditAction::EmergencyAccess)
    );
    assert_eq!(
        w.room().send(&grant, &msg("x", "hi")),
        Err(RoomError::Forbidden)
    );
    assert_eq!(
        w.room().mark_delivered(&grant).map(|_| ()),
        Err(RoomError::Forbidden)
    );

    // The grant flag does nothing for a driver or for another tenant's staff.
    let other = fixture::principal(
        "ph-3",
        Role::Pharmacist,
        rxroom_core::claims::Scope::Tenant(fixture::tid("pharm-b")),
        rxroom_core::ids::Region::Us,
    );
    let c = Caller {
        emergency: true,
        ..caller(&other, &cast.order, T0 + 3)
    };
    assert_eq!(
        w.room().history(&c, HistoryQuery::default()),
        Err(RoomError::Forbidden)
    );
}

#[test]
fn stored_bodies_are_sealed_and_bound_to_their_sequence() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let ph = caller(&cast.pharmacist, &cast.order, T0 + 1);
    w.room()
        .send(&ph, &msg("a", "Metformin for Jane Roe"))
        .expect("send");
    w.room().send(&ph, &msg("b", "second")).expect("send");
    let rows = w.store.messages_after(0, 10).expect("rows");
    let raw = String::from_utf8_lossy(&rows[0].body).into_owned();
    assert!(!raw.contains("Metformin"));

    // H4 class: swap the two sealed bodies; reading must fail closed, not show a wrong text.
    let mut swapped = rxroom_core::room::MemoryStore::new();
    let meta = w.store.meta().expect("meta").expect("room");
    let mut a = rows[0].clone();
    let mut b = rows[1].clone();
    std::mem::swap(&mut a.body, &mut b.body);
    swapped
        .commit(vec![
            rxroom_core::room::Write::PutMeta(meta),
            rxroom_core::room::Write::InsertMessage(a),
            rxroom_core::room::Write::InsertMessage(b),
        ])
        .expect("commit");
    let mut room = rxroom_core::room::Room::new(&mut swapped, &w.scanner, &w.sealer, &w.config);
    let err = room
        .history(&ph, HistoryQuery::default())
        .expect_err("swapped bodies");
    assert_eq!(err.code().as_str(), "INTERNAL");
}

#[test]
fn c5_a_message_of_only_invisible_or_control_characters_is_refused() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    for (i, text) in [
        "\u{200b}\u{200d}",
        "\u{feff}\u{2060}",
        "\u{202e}\u{0007}",
        " \u{0000} ",
    ]
    .iter()
    .enumerate()
    {
        let r = w.room().send(
            &caller(&cast.pharmacist, &cast.order, T0 + 10),
            &msg(&format!("inv-{i}"), text),
        );
        assert_eq!(
            r.err(),
            Some(RoomError::InvalidRequest),
            "text {i} must be refused"
        );
    }
}
