//! Room lifecycle and access control over the in-memory store (issue 5; SECURITY B1, B2, B4,
//! B5, B8, I4, J6, J8).

#[path = "room_support/fixture.rs"]
mod fixture;

use fixture::{caller, oid, principal, tid, uid, Cast, World, T0};
use rxroom_core::audit::AuditAction;
use rxroom_core::claims::Scope;
use rxroom_core::ids::{ClientMessageId, Region, Role};
use rxroom_core::room::{
    archive_name, AlarmOutcome, ArchiveDoc, CreateRoom, FinishArchive, HistoryQuery, MarkRead,
    Participant, RoomError, RoomState, RoomStore, SealKind, Sealer, SendMessage,
};

fn msg(id: &str, text: &str) -> SendMessage {
    let client_id: ClientMessageId = id.parse().expect("test client ids are valid");
    SendMessage {
        client_id,
        text: text.to_owned(),
    }
}

/// Delivered at `T0 + 1000`: driver access ends at +30 s, the room closes at +120 s.
const DELIVERED: u64 = T0 + 1000;
const DRIVER_END: u64 = DELIVERED + 30_000;
const CLOSES: u64 = DELIVERED + 120_000;

fn delivered_world(cast: &Cast) -> World {
    let mut w = World::with_room(cast);
    w.room()
        .send(
            &caller(&cast.pharmacist, &cast.order, T0 + 1),
            &msg("m1", "Metformin for Jane Roe"),
        )
        .expect("send");
    let view = w
        .room()
        .mark_delivered(&caller(&cast.driver, &cast.order, DELIVERED))
        .expect("delivered");
    assert_eq!(view.delivered_at_ms, Some(DELIVERED));
    assert_eq!(view.driver_access_ends_ms, Some(DRIVER_END));
    assert_eq!(view.closes_at_ms, Some(CLOSES));
    w
}

#[test]
fn b8_driver_is_refused_after_the_ttl_for_reads_and_writes_while_the_pharmacist_is_not() {
    let cast = Cast::new();
    let mut w = delivered_world(&cast);

    let dr = caller(&cast.driver, &cast.order, DRIVER_END - 1);
    assert!(w.room().history(&dr, HistoryQuery::default()).is_ok());
    assert!(w.room().send(&dr, &msg("d1", "left at door")).is_ok());

    // No alarm has run: the stored deadline alone ends access.
    let dr = caller(&cast.driver, &cast.order, DRIVER_END);
    assert_eq!(
        w.room().history(&dr, HistoryQuery::default()),
        Err(RoomError::AccessEnded)
    );
    assert_eq!(
        w.room().send(&dr, &msg("d2", "hello?")),
        Err(RoomError::AccessEnded)
    );
    assert_eq!(w.room().view(&dr).map(|_| ()), Err(RoomError::AccessEnded));
    assert_eq!(
        w.room().missed(&dr, 0).map(|_| ()),
        Err(RoomError::AccessEnded)
    );
    assert_eq!(
        w.room().mark_read(&dr, MarkRead { seq: 1 }).map(|_| ()),
        Err(RoomError::AccessEnded)
    );
    assert_eq!(w.room().check_live(&dr), Err(RoomError::AccessEnded));
    assert_eq!(RoomError::AccessEnded.code().as_str(), "ACCESS_ENDED");

    let ph = caller(&cast.pharmacist, &cast.order, DRIVER_END + 5);
    assert_eq!(
        w.room()
            .history(&ph, HistoryQuery::default())
            .expect("pharmacist")
            .messages
            .len(),
        2
    );
    assert!(w.room().send(&ph, &msg("p2", "thanks")).is_ok());
    let pt = caller(&cast.patient, &cast.order, DRIVER_END + 5);
    assert_eq!(
        w.room().view(&pt).expect("patient").state,
        RoomState::DriverAccessEnded
    );
}

#[test]
fn b8_room_closes_for_everyone_at_the_close_ttl() {
    let cast = Cast::new();
    let mut w = delivered_world(&cast);
    for p in [&cast.pharmacist, &cast.patient] {
        let before = caller(p, &cast.order, CLOSES - 1);
        assert!(w.room().history(&before, HistoryQuery::default()).is_ok());
        let after = caller(p, &cast.order, CLOSES);
        assert_eq!(
            w.room().history(&after, HistoryQuery::default()),
            Err(RoomError::RoomClosed)
        );
        assert_eq!(
            w.room().send(&after, &msg("late", "x")),
            Err(RoomError::RoomClosed)
        );
    }
    // The driver, whose access ended earlier, now also sees the room closed.
    let dr = caller(&cast.driver, &cast.order, CLOSES);
    assert_eq!(w.room().check_live(&dr), Err(RoomError::RoomClosed));
    assert_eq!(
        w.room().state(CLOSES).expect("state"),
        Some(RoomState::Closed)
    );
    assert_eq!(
        w.room().next_alarm_ms(CLOSES + 7).expect("alarm"),
        Some(CLOSES + 7)
    );
}

#[test]
fn j8_archive_seals_every_message_and_then_storage_is_empty() {
    let cast = Cast::new();
    let mut w = delivered_world(&cast);
    w.room()
        .send(
            &caller(&cast.driver, &cast.order, DELIVERED + 5),
            &msg("d1", "SSN-none here, gate 12"),
        )
        .expect("send");
    w.room()
        .mark_read(
            &caller(&cast.patient, &cast.order, DELIVERED + 6),
            MarkRead { seq: 2 },
        )
        .expect("read");

    // Not due yet: nothing sealed, nothing deleted.
    assert!(w.room().archive(CLOSES - 1).expect("archive").is_none());
    assert_eq!(
        w.room().finish_archive(CLOSES - 1),
        Ok(FinishArchive::NotDue)
    );
    assert_eq!(
        w.room().finish_archive(CLOSES),
        Ok(FinishArchive::NotSealed)
    );

    let blob = w.room().archive(CLOSES).expect("archive").expect("due");
    let name = archive_name(Region::Us, &cast.order, T0);
    assert_eq!(blob.name, name);
    assert_eq!(blob.name, "us/rooms/ord-1/1800000000000.archive");
    assert_eq!(blob.message_count, 2);
    assert!(!String::from_utf8_lossy(&blob.sealed).contains("Metformin"));
    let plain = w
        .sealer
        .open(SealKind::Archive, &name, &blob.sealed)
        .expect("opens");
    assert!(w
        .sealer
        .open(SealKind::Archive, "us/rooms/ord-2/1.archive", &blob.sealed)
        .is_err());
    let doc: ArchiveDoc = serde_json::from_slice(&plain).expect("archive doc");
    assert_eq!(doc.messages.len(), 2);
    assert_eq!(
        doc.messages[0].text, "Metformin for Jane Roe",
        "the archive holds the full view"
    );
    assert_eq!(doc.record, Cast::record());
    assert_eq!(doc.receipts.len(), 1);
    assert_eq!(doc.closes_at_ms, Some(CLOSES));

    // A retried archive (the put failed) returns the same object and records nothing new.
    let again = w
        .room()
        .archive(CLOSES + 10)
        .expect("archive")
        .expect("due");
    assert_eq!(again.name, blob.name);
    let archived: Vec<_> = w
        .drafts()
        .into_iter()
        .filter(|d| d.action == AuditAction::RoomArchived)
        .collect();
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0].target.as_deref(), Some(name.as_str()));

    // Storage is deleted only after the adapter shipped the outbox.
    assert_eq!(
        w.room().finish_archive(CLOSES + 20),
        Ok(FinishArchive::FlushAudit)
    );
    assert!(w.store.meta().expect("meta").is_some());
    let last = w
        .store
        .audit_outbox(usize::MAX)
        .expect("outbox")
        .last()
        .map(|e| e.id)
        .expect("ids");
    w.store.remove_audit_through(last).expect("remove");
    assert_eq!(
        w.room().finish_archive(CLOSES + 30),
        Ok(FinishArchive::Deleted)
    );
    assert!(w.store.is_empty().expect("reads"));
    assert_eq!(
        w.room().finish_archive(CLOSES + 40),
        Ok(FinishArchive::AlreadyDeleted)
    );
    assert_eq!(w.room().on_alarm(CLOSES + 50), Ok(AlarmOutcome::Clear));

    // After archival the room answers like a room that never existed.
    let ph = caller(&cast.pharmacist, &cast.order, CLOSES + 60);
    assert_eq!(
        w.room().history(&ph, HistoryQuery::default()),
        Err(RoomError::Forbidden)
    );
}

#[test]
fn j6_alarm_fired_twice_late_or_never_is_harmless() {
    let cast = Cast::new();
    let mut w = delivered_world(&cast);
    assert_eq!(
        w.room().next_alarm_ms(DELIVERED).expect("alarm"),
        Some(DRIVER_END)
    );

    // On time, then again (at-least-once delivery): one access_ended draft for the driver.
    let first = w.room().on_alarm(DRIVER_END).expect("alarm");
    assert_eq!(
        first,
        AlarmOutcome::Recheck {
            next_alarm_ms: Some(CLOSES)
        }
    );
    assert_eq!(w.room().on_alarm(DRIVER_END).expect("alarm twice"), first);
    let ended: Vec<_> = w
        .drafts()
        .into_iter()
        .filter(|d| d.action == AuditAction::AccessEnded)
        .collect();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].actor, Some(uid("dr-1")));
    let entry = w.store.audit_outbox(usize::MAX).expect("outbox");
    let entry = entry
        .iter()
        .find(|e| e.draft.action == AuditAction::AccessEnded)
        .expect("entry");
    assert_eq!(
        entry.at_ms, DRIVER_END,
        "the draft carries when access ended, not when noticed"
    );

    // An early alarm (clock skew) changes nothing and points at the next deadline.
    assert_eq!(
        w.room().on_alarm(DELIVERED + 1).expect("early"),
        AlarmOutcome::Recheck {
            next_alarm_ms: Some(DRIVER_END)
        }
    );
    assert_eq!(
        w.drafts()
            .iter()
            .filter(|d| d.action == AuditAction::AccessEnded)
            .count(),
        1
    );
    // Late by far more than a minute: archival is due.
    assert_eq!(
        w.room().on_alarm(CLOSES + 3 * 60_000),
        Ok(AlarmOutcome::Archive)
    );
    assert_eq!(
        w.room().on_alarm(CLOSES + 3 * 60_000),
        Ok(AlarmOutcome::Archive)
    );
}

#[test]
fn j6_a_room_whose_alarms_never_fired_is_closed_and_archived_on_next_access() {
    let cast = Cast::new();
    let mut w = delivered_world(&cast);
    // No alarm ever ran. The next access is refused by the stored deadline...
    let pt = caller(&cast.patient, &cast.order, CLOSES + 600_000);
    assert_eq!(
        w.room().send(&pt, &msg("x", "hello")),
        Err(RoomError::RoomClosed)
    );
    // ...and the sweep asks for an immediate alarm, whose run archives everything.
    let now = CLOSES + 600_000;
    assert_eq!(w.room().next_alarm_ms(now).expect("alarm"), Some(now));
    let blob = w.room().archive(now).expect("archive").expect("due");
    assert_eq!(blob.message_count, 1);
    // The driver's end was never recorded by an alarm; archival records it once.
    let drafts = w.drafts();
    assert_eq!(
        drafts
            .iter()
            .filter(|d| d.action == AuditAction::AccessEnded)
            .count(),
        1
    );
    let last = w
        .store
        .audit_outbox(usize::MAX)
        .expect("outbox")
        .last()
        .map(|e| e.id)
        .expect("id");
    w.store.remove_audit_through(last).expect("remove");
    assert_eq!(w.room().finish_archive(now), Ok(FinishArchive::Deleted));
    assert!(w.store.is_empty().expect("reads"));
}

#[test]
fn an_undelivered_room_needs_no_alarm() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    assert_eq!(w.room().next_alarm_ms(T0 + 1).expect("alarm"), None);
    assert_eq!(
        w.room().on_alarm(T0 + 1),
        Ok(AlarmOutcome::Recheck {
            next_alarm_ms: None
        })
    );
    assert_eq!(World::new().room().on_alarm(T0), Ok(AlarmOutcome::Clear));
}

#[test]
fn b1_b2_outsiders_get_the_same_forbidden_for_existing_and_missing_rooms() {
    let cast = Cast::new();
    let mut existing = World::with_room(&cast);
    let mut missing = World::new();

    let d2 = principal(
        "dr-2",
        Role::Driver,
        Scope::Orders(vec![oid("ord-2")]),
        Region::Us,
    );
    let p2 = principal(
        "pt-2",
        Role::Patient,
        Scope::Orders(vec![oid("ord-2")]),
        Region::Us,
    );
    // Token covers the order but the person is not a participant (e.g. a reassigned driver).
    let d3 = principal(
        "dr-3",
        Role::Driver,
        Scope::Orders(vec![oid("ord-1")]),
        Region::Us,
    );
    // A participant's user id presented in another role.
    let wrong_role = principal(
        "pt-1",
        Role::Driver,
        Scope::Orders(vec![oid("ord-1")]),
        Region::Us,
    );

    for p in [&d2, &p2, &d3, &wrong_role] {
        for w in [&mut existing, &mut missing] {
            let c = caller(p, &cast.order, T0 + 1);
            assert_eq!(
                w.room().history(&c, HistoryQuery::default()),
                Err(RoomError::Forbidden)
            );
            assert_eq!(
                w.room().send(&c, &msg("x", "hi")),
                Err(RoomError::Forbidden)
            );
            assert_eq!(w.room().view(&c).map(|_| ()), Err(RoomError::Forbidden));
            assert_eq!(
                w.room().missed(&c, 0).map(|_| ()),
                Err(RoomError::Forbidden)
            );
            assert_eq!(
                w.room().mark_delivered(&c).map(|_| ()),
                Err(RoomError::Forbidden)
            );
            assert_eq!(
                w.room().typing(&c, true).map(|_| ()),
                Err(RoomError::Forbidden)
            );
            assert_eq!(w.room().check_live(&c), Err(RoomError::Forbidden));
        }
    }
    // Same bytes on the wire, and the refusal writes nothing into the room.
    let body = rxroom_core::api::ErrorBody::new(RoomError::Forbidden.code(), "r").to_json();
    assert_eq!(
        body,
        r#"{"code":"FORBIDDEN","message":"not allowed","request_id":"r"}"#
    );
    assert!(missing.store.is_empty().expect("reads"));
    assert_eq!(existing.drafts().len(), 1, "only room_created");

    // Outsiders stay FORBIDDEN after the room closed: closure is not revealed to them.
    let mut w = World::with_room(&cast);
    w.room()
        .mark_delivered(&caller(&cast.driver, &cast.order, DELIVERED))
        .expect("delivered");
    let c = caller(&d2, &cast.order, CLOSES + 1);
    assert_eq!(
        w.room().history(&c, HistoryQuery::default()),
        Err(RoomError::Forbidden)
    );
}

#[test]
fn b1_a_route_for_another_order_is_forbidden_even_for_a_participant() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let other = oid("ord-2");
    let c = caller(&cast.pharmacist, &other, T0 + 1);
    assert_eq!(
        w.room().history(&c, HistoryQuery::default()),
        Err(RoomError::Forbidden)
    );
}

#[test]
fn b4_auditor_cannot_write_or_read_the_live_room() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let au = caller(&cast.auditor, &cast.order, T0 + 1);
    assert_eq!(
        w.room().send(&au, &msg("x", "hi")),
        Err(RoomError::Forbidden)
    );
    assert_eq!(
        w.room().mark_delivered(&au).map(|_| ()),
        Err(RoomError::Forbidden)
    );
    assert_eq!(
        w.room().mark_read(&au, MarkRead { seq: 0 }).map(|_| ()),
        Err(RoomError::Forbidden)
    );
    assert_eq!(
        w.room().typing(&au, true).map(|_| ()),
        Err(RoomError::Forbidden)
    );
    assert_eq!(
        w.room().create(&au, cast.create_body()).map(|_| ()),
        Err(RoomError::Forbidden)
    );
    assert_eq!(
        w.room().history(&au, HistoryQuery::default()),
        Err(RoomError::Forbidden)
    );
    // Auditors cannot be made participants either.
    let mut body = cast.create_body();
    body.participants.push(Participant {
        user: uid("au-1"),
        role: Role::Auditor,
    });
    let mut fresh = World::new();
    let ph = caller(&cast.pharmacist, &cast.order, T0);
    assert_eq!(
        fresh.room().create(&ph, body).map(|_| ()),
        Err(RoomError::InvalidRequest)
    );
}

#[test]
fn b5_staff_of_another_tenant_are_forbidden() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let other = principal(
        "ph-9",
        Role::Pharmacist,
        Scope::Tenant(tid("pharm-b")),
        Region::Us,
    );
    let c = caller(&other, &cast.order, T0 + 1);
    assert_eq!(
        w.room().history(&c, HistoryQuery::default()),
        Err(RoomError::Forbidden)
    );
    // Creating over an existing room of another tenant is FORBIDDEN, not ROOM_EXISTS.
    assert_eq!(
        w.room().create(&c, cast.create_body()).map(|_| ()),
        Err(RoomError::Forbidden)
    );
    let same = caller(&cast.dispatcher, &cast.order, T0 + 1);
    assert_eq!(
        w.room().create(&same, cast.create_body()).map(|_| ()),
        Err(RoomError::RoomExists)
    );
}

#[test]
fn i4_a_principal_of_another_region_is_forbidden() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let eu_driver = principal(
        "dr-1",
        Role::Driver,
        Scope::Orders(vec![oid("ord-1")]),
        Region::Eu,
    );
    let c = caller(&eu_driver, &cast.order, T0 + 1);
    assert_eq!(
        w.room().history(&c, HistoryQuery::default()),
        Err(RoomError::Forbidden)
    );
    let eu_ph = principal(
        "ph-1",
        Role::Pharmacist,
        Scope::Tenant(tid("pharm-a")),
        Region::Eu,
    );
    let mut fresh = World::new();
    let c = caller(&eu_ph, &cast.order, T0);
    assert_eq!(
        fresh.room().create(&c, cast.create_body()).map(|_| ()),
        Err(RoomError::Forbidden)
    );
}

#[test]
fn only_tenant_pharmacists_and_dispatchers_create_rooms_and_the_creator_joins() {
    let cast = Cast::new();
    for p in [&cast.driver, &cast.patient] {
        let mut w = World::new();
        let c = caller(p, &cast.order, T0);
        assert_eq!(
            w.room().create(&c, cast.create_body()).map(|_| ()),
            Err(RoomError::Forbidden)
        );
    }
    let mut w = World::new();
    let c = caller(&cast.dispatcher, &cast.order, T0);
    let view = w
        .room()
        .create(&c, cast.create_body())
        .expect("dispatcher creates");
    assert!(view.participants.contains(&Participant {
        user: uid("ds-1"),
        role: Role::Dispatcher
    }));
    assert!(
        view.record.is_none(),
        "dispatchers get the driver's view: no order record"
    );
    assert_eq!(view.state, RoomState::Active);
    let drafts = w.drafts();
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].action, AuditAction::RoomCreated);
}

#[test]
fn create_refuses_duplicate_participants_and_oversized_records() {
    let cast = Cast::new();
    let ph = caller(&cast.pharmacist, &cast.order, T0);
    let mut dup = cast.create_body();
    dup.participants.push(Participant {
        user: uid("dr-1"),
        role: Role::Patient,
    });
    assert_eq!(
        World::new().room().create(&ph, dup).map(|_| ()),
        Err(RoomError::InvalidRequest)
    );

    let mut big = cast.create_body();
    big.record.patient_name = Some("x".repeat(257));
    assert_eq!(
        World::new().room().create(&ph, big).map(|_| ()),
        Err(RoomError::InvalidRequest)
    );

    let crowd = CreateRoom {
        participants: (0..16)
            .map(|i| Participant {
                user: uid(&format!("u-{i}")),
                role: Role::Patient,
            })
            .collect(),
        record: Cast::record(),
    };
    // 16 listed + the creator = 17 > 16.
    assert_eq!(
        World::new().room().create(&ph, crowd).map(|_| ()),
        Err(RoomError::InvalidRequest)
    );

    let mut w = World::new();
    let mut body = cast.create_body();
    body.participants.push(Participant {
        user: uid("ph-1"),
        role: Role::Patient,
    });
    assert_eq!(
        w.room().create(&ph, body).map(|_| ()),
        Err(RoomError::InvalidRequest)
    );
}

#[test]
fn d6_an_expired_principal_is_unauthenticated() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let device = "dev-1".parse().expect("device");
    let expiring = rxroom_core::claims::Principal::new_unchecked(
        uid("dr-1"),
        Role::Driver,
        Scope::Orders(vec![oid("ord-1")]),
        Region::Us,
        device,
        T0 + 100,
    );
    assert!(w
        .room()
        .check_live(&caller(&expiring, &cast.order, T0 + 99))
        .is_ok());
    let c = caller(&expiring, &cast.order, T0 + 100);
    assert_eq!(w.room().check_live(&c), Err(RoomError::Unauthenticated));
    assert_eq!(
        w.room().send(&c, &msg("x", "hi")),
        Err(RoomError::Unauthenticated)
    );
}

#[test]
fn mark_delivered_is_for_driver_and_pharmacist_participants_and_fixes_server_time_once() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let pt = caller(&cast.patient, &cast.order, T0 + 1);
    assert_eq!(
        w.room().mark_delivered(&pt).map(|_| ()),
        Err(RoomError::Forbidden)
    );
    let ds = caller(&cast.dispatcher, &cast.order, T0 + 1);
    assert_eq!(
        w.room().mark_delivered(&ds).map(|_| ()),
        Err(RoomError::Forbidden)
    );
    let ph = caller(&cast.pharmacist, &cast.order, T0 + 5);
    assert_eq!(
        w.room().mark_delivered(&ph).expect("ph").delivered_at_ms,
        Some(T0 + 5)
    );
    let dr = caller(&cast.driver, &cast.order, T0 + 9);
    assert_eq!(
        w.room().mark_delivered(&dr).expect("dr").delivered_at_ms,
        Some(T0 + 5)
    );
}

#[test]
fn refusal_drafts_for_the_adapter_carry_the_code_and_no_content() {
    let cast = Cast::new();
    let c = caller(&cast.driver, &cast.order, T0);
    let d = c.refusal_draft(&RoomError::Forbidden);
    assert_eq!(d.action, AuditAction::AccessForbidden);
    assert_eq!(d.outcome, "FORBIDDEN");
    assert_eq!(d.actor, Some(uid("dr-1")));
    let d = c.refusal_draft(&RoomError::AccessEnded);
    assert_eq!(d.action, AuditAction::AccessEnded);
    assert_eq!(d.outcome, "ACCESS_ENDED");
}
