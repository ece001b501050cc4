//! Live-socket logic: frames, size and rate limits, auth deadline, idle logoff, hibernation
//! round trip, close codes (issue 5; SECURITY D1, D2, D3, D6, D7, B10).

#[path = "room_support/fixture.rs"]
mod fixture;

use fixture::{caller, Cast, World, T0};
use rxroom_core::room::live::{
    accept_frame, check_socket, ClientFrame, Close, FrameVerdict, ServerFrame, SocketAttachment,
    TokenBucket,
};
use rxroom_core::room::{LiveConfig, RoomError, SendMessage};

fn cfg() -> LiveConfig {
    LiveConfig::default()
}

fn authed(now: u64) -> SocketAttachment {
    let cast = Cast::new();
    let mut att = SocketAttachment::new(now, &cfg());
    att.authenticate(&cast.driver, Some("192.0.2.1"), now);
    att
}

fn send_of(v: FrameVerdict) -> Option<SendMessage> {
    match v {
        FrameVerdict::Handle(ClientFrame::Send(m)) => Some(m),
        _ => None,
    }
}

fn error_code(v: &FrameVerdict) -> Option<String> {
    match v {
        FrameVerdict::Reply(frame) => {
            let json: serde_json::Value =
                serde_json::from_str(&frame.to_json()).expect("frames are JSON");
            assert_eq!(json["type"], "error");
            json["code"].as_str().map(str::to_owned)
        }
        _ => None,
    }
}

#[test]
fn frames_parse_by_type_and_unknown_fields_are_ignored() {
    let mut att = authed(T0);
    let v = accept_frame(
        &mut att,
        br#"{"type":"send","client_id":"c1","text":"hi","room_id":"ord-2","sender":"x"}"#,
        T0,
        &cfg(),
    );
    let m = send_of(v).expect("a send frame");
    assert_eq!(m.client_id.as_str(), "c1");
    assert_eq!(m.text, "hi");
    assert!(matches!(
        accept_frame(&mut att, br#"{"type":"read","seq":3}"#, T0, &cfg()),
        FrameVerdict::Handle(ClientFrame::Read(r)) if r.seq == 3
    ));
    assert!(matches!(
        accept_frame(&mut att, br#"{"type":"typing","active":true}"#, T0, &cfg()),
        FrameVerdict::Handle(ClientFrame::Typing { active: true })
    ));
    assert!(matches!(
        accept_frame(&mut att, br#"{"type":"ping"}"#, T0, &cfg()),
        FrameVerdict::Handle(ClientFrame::Ping)
    ));
}

#[test]
fn c2_malformed_or_unknown_frames_get_an_error_frame_without_echo() {
    let mut att = authed(T0);
    for raw in [
        &b"not json"[..],
        br#"{"type":"shout"}"#,
        br#"{"type":"send","text":1}"#,
        b"[[[[[",
    ] {
        let v = accept_frame(&mut att, raw, T0, &cfg());
        assert_eq!(error_code(&v).as_deref(), Some("INVALID_JSON"));
        if let FrameVerdict::Reply(f) = v {
            assert!(!f.to_json().contains("shout"));
        }
    }
}

#[test]
fn d2_a_frame_over_16_kib_closes_with_1009_before_parsing() {
    let mut att = authed(T0);
    let big = vec![b'{'; 16 * 1024 + 1];
    assert_eq!(
        accept_frame(&mut att, &big, T0, &cfg()),
        FrameVerdict::Close(Close::TOO_LARGE)
    );
    assert_eq!(Close::TOO_LARGE.code, 1009);
    let mut ok = br#"{"type":"ping","pad":""#.to_vec();
    ok.resize(16 * 1024 - 2, b'a');
    ok.extend_from_slice(b"\"}");
    assert_eq!(ok.len(), 16 * 1024);
    assert!(matches!(
        accept_frame(&mut att, &ok, T0, &cfg()),
        FrameVerdict::Handle(_)
    ));
}

#[test]
fn d1_rate_limit_allows_a_burst_of_20_then_10_per_second() {
    let mut att = authed(T0);
    let ping = br#"{"type":"ping"}"#;
    for _ in 0..20 {
        assert!(matches!(
            accept_frame(&mut att, ping, T0, &cfg()),
            FrameVerdict::Handle(_)
        ));
    }
    let v = accept_frame(&mut att, ping, T0, &cfg());
    assert_eq!(error_code(&v).as_deref(), Some("RATE_LIMITED"));
    // 100 ms later one token is back.
    assert!(matches!(
        accept_frame(&mut att, ping, T0 + 100, &cfg()),
        FrameVerdict::Handle(_)
    ));
    assert!(error_code(&accept_frame(&mut att, ping, T0 + 100, &cfg())).is_some());
    // A second later, ten.
    let mut ok = 0;
    for _ in 0..15 {
        if matches!(
            accept_frame(&mut att, ping, T0 + 1100, &cfg()),
            FrameVerdict::Handle(_)
        ) {
            ok += 1;
        }
    }
    assert_eq!(ok, 10);
}

#[test]
fn d1_a_socket_that_keeps_flooding_is_closed_with_4429() {
    let mut att = authed(T0);
    let ping = br#"{"type":"ping"}"#;
    let mut closed = None;
    for i in 0..100 {
        if let FrameVerdict::Close(c) = accept_frame(&mut att, ping, T0, &cfg()) {
            closed = Some((i, c));
            break;
        }
    }
    assert_eq!(closed, Some((39, Close::RATE_LIMITED)));
    assert_eq!(Close::RATE_LIMITED.code, 4429);
}

#[test]
fn token_bucket_state_survives_serialization_and_never_overfills() {
    let c = cfg();
    let mut b = TokenBucket::full(T0, &c);
    for _ in 0..20 {
        assert!(b.try_take(T0, &c));
    }
    assert!(!b.try_take(T0, &c));
    let json = serde_json::to_string(&b).expect("serializes");
    let mut back: TokenBucket = serde_json::from_str(&json).expect("parses");
    // An hour later the bucket holds the burst, not an hour of tokens.
    let mut n = 0;
    while back.try_take(T0 + 3_600_000, &c) {
        n += 1;
    }
    assert_eq!(n, 20);
    // A clock that goes backwards refills nothing.
    assert!(!back.try_take(T0, &c));
}

#[test]
fn d3_an_unauthenticated_socket_may_only_auth_and_is_closed_after_10_s() {
    let c = cfg();
    let mut att = SocketAttachment::new(T0, &c);
    assert_eq!(
        accept_frame(
            &mut att,
            br#"{"type":"send","client_id":"a","text":"x"}"#,
            T0,
            &c
        ),
        FrameVerdict::Close(Close::UNAUTHENTICATED)
    );
    let mut att = SocketAttachment::new(T0, &c);
    let v = accept_frame(
        &mut att,
        br#"{"type":"auth","token":"abc.def.ghi","last_seq":4}"#,
        T0,
        &c,
    );
    let (token, last_seq) = match v {
        FrameVerdict::Handle(ClientFrame::Auth { token, last_seq }) => Some((token, last_seq)),
        _ => None,
    }
    .expect("an auth frame");
    assert_eq!(token.expose(), "abc.def.ghi");
    assert_eq!(last_seq, 4);
    assert!(!format!("{token:?}").contains("abc"));

    let att = SocketAttachment::new(T0, &c);
    assert_eq!(check_socket(&att, T0 + 9_999, &c), None);
    assert_eq!(
        check_socket(&att, T0 + 10_000, &c),
        Some(Close::AUTH_TIMEOUT)
    );
    assert_eq!(att.next_check_ms(&c), T0 + 10_000);
    let mut att = SocketAttachment::new(T0, &c);
    assert_eq!(
        accept_frame(&mut att, br#"{"type":"ping"}"#, T0 + 10_000, &c),
        FrameVerdict::Close(Close::AUTH_TIMEOUT)
    );
}

#[test]
fn a_second_auth_frame_is_refused_with_an_error_frame() {
    let mut att = authed(T0);
    let v = accept_frame(&mut att, br#"{"type":"auth","token":"t"}"#, T0, &cfg());
    assert_eq!(error_code(&v).as_deref(), Some("INVALID_REQUEST"));
}

#[test]
fn d7_idle_logoff_survives_hibernation_and_pings_are_not_activity() {
    let c = cfg();
    let mut att = authed(T0);
    assert!(matches!(
        accept_frame(
            &mut att,
            br#"{"type":"typing","active":true}"#,
            T0 + 1000,
            &c
        ),
        FrameVerdict::Handle(_)
    ));
    // Hibernation: the attachment is all that survives.
    let stored = serde_json::to_string(&att).expect("serializes");
    let mut att: SocketAttachment = serde_json::from_str(&stored).expect("parses");
    let idle = c.idle_logoff_ms;
    assert!(matches!(
        accept_frame(&mut att, br#"{"type":"ping"}"#, T0 + 1000 + idle - 1, &c),
        FrameVerdict::Handle(_)
    ));
    assert_eq!(att.last_activity_ms, T0 + 1000, "ping is not user activity");
    assert_eq!(check_socket(&att, T0 + 1000 + idle, &c), Some(Close::IDLE));
    assert_eq!(Close::IDLE.code, 4408);
}

#[test]
fn d6_the_socket_closes_when_the_token_expires() {
    let c = cfg();
    let cast = Cast::new();
    let device = "dev-1".parse().expect("device");
    let p = rxroom_core::claims::Principal::new_unchecked(
        cast.driver.user().clone(),
        cast.driver.role(),
        cast.driver.scope().clone(),
        cast.driver.region(),
        device,
        T0 + 5_000,
    );
    let mut att = SocketAttachment::new(T0, &c);
    att.authenticate(&p, None, T0);
    assert_eq!(att.next_check_ms(&c), T0 + 5_000);
    assert_eq!(
        check_socket(&att, T0 + 5_000, &c),
        Some(Close::UNAUTHENTICATED)
    );
}

#[test]
fn b10_the_room_comes_from_the_socket_binding_not_the_frame() {
    // A frame naming another room parses to the same send; the adapter calls the room the
    // socket is bound to, whose principal is restored from the attachment.
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let mut att = authed(T0);
    let v = accept_frame(
        &mut att,
        br#"{"type":"send","client_id":"c","text":"hi","room_id":"ord-2"}"#,
        T0 + 1,
        &cfg(),
    );
    let m = send_of(v).expect("a send frame");
    let auth = att.auth.as_ref().expect("authed");
    let principal = auth.principal();
    assert_eq!(principal, cast.driver);
    let c = rxroom_core::room::Caller {
        ip: auth.ip(),
        ..caller(&principal, &cast.order, T0 + 1)
    };
    let sent = w.room().send(&c, &m).expect("send");
    assert_eq!(sent.ack.seq, 1);
    let frame = ServerFrame::Ack(sent.ack).to_json();
    let json: serde_json::Value = serde_json::from_str(&frame).expect("json");
    assert_eq!(json["type"], "ack");
    assert_eq!(json["seq"], 1);
    assert_eq!(json["id"], "c");
}

#[test]
fn room_errors_map_to_documented_close_codes() {
    assert_eq!(
        Close::for_error(&RoomError::AccessEnded),
        Some(Close::ACCESS_ENDED)
    );
    assert_eq!(Close::ACCESS_ENDED.code, 4403);
    assert_eq!(
        Close::for_error(&RoomError::RoomClosed).map(|c| c.code),
        Some(4410)
    );
    assert_eq!(
        Close::for_error(&RoomError::Forbidden).map(|c| c.code),
        Some(4003)
    );
    assert_eq!(
        Close::for_error(&RoomError::Unauthenticated).map(|c| c.code),
        Some(4401)
    );
    assert_eq!(Close::for_error(&RoomError::DuplicateIdConflict), None);
    assert_eq!(Close::for_error(&RoomError::PhiRejected(vec![])), None);
}

#[test]
fn error_frames_carry_code_message_and_labels_only_for_phi_rejected() {
    let f = ServerFrame::error(&RoomError::PhiRejected(vec![
        rxroom_core::labels::Label::Ssn,
    ]));
    assert_eq!(
        f.to_json(),
        concat!(
            r#"{"type":"error","code":"PHI_REJECTED","#,
            r#""message":"message contains PHI that this sender may not send","labels":["SSN"]}"#
        )
    );
    let f = ServerFrame::error(&RoomError::RateLimited);
    assert_eq!(
        f.to_json(),
        r#"{"type":"error","code":"RATE_LIMITED","message":"too many requests"}"#
    );
}

#[test]
fn typing_is_a_pure_frame_for_participants_and_is_not_stored() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let before = w.drafts().len();
    let frame = w
        .room()
        .typing(&caller(&cast.patient, &cast.order, T0 + 1), true)
        .expect("typing");
    assert_eq!(
        frame.to_json(),
        r#"{"type":"typing","user":"pt-1","role":"patient","active":true}"#
    );
    assert_eq!(w.drafts().len(), before);
    assert_eq!(w.store.message_count(), 0);
}

#[test]
fn d4_connect_sends_ready_then_exactly_the_missed_messages_and_records_the_connection() {
    let cast = Cast::new();
    let mut w = World::with_room(&cast);
    let ph = caller(&cast.pharmacist, &cast.order, T0 + 1);
    for i in 1..=4 {
        let m = SendMessage {
            client_id: format!("m{i}").parse().expect("id"),
            text: "x".into(),
        };
        w.room().send(&ph, &m).expect("send");
    }
    let dr = caller(&cast.driver, &cast.order, T0 + 2);
    let frames = w.room().connect(&dr, 2).expect("connect");
    let kinds: Vec<String> = frames
        .iter()
        .map(|f| {
            let v: serde_json::Value = serde_json::from_str(&f.to_json()).expect("json");
            format!(
                "{}:{}",
                v["type"].as_str().unwrap_or(""),
                v["seq"].as_u64().unwrap_or(0)
            )
        })
        .collect();
    assert_eq!(kinds, vec!["ready:0", "message:3", "message:4"]);
    assert_eq!(
        frames[0],
        ServerFrame::Ready {
            last_seq: 4,
            complete: true
        }
    );
    let actions: Vec<_> = w.drafts().iter().map(|d| d.action).collect();
    assert!(actions.ends_with(&[
        rxroom_core::audit::AuditAction::LiveConnected,
        rxroom_core::audit::AuditAction::MessageRead
    ]));

    // More missed than one resume sends: ready says the client must page the rest.
    w.config.resume_max = 1;
    let frames = w.room().connect(&dr, 0).expect("connect");
    assert_eq!(frames.len(), 2);
    assert_eq!(
        frames[0],
        ServerFrame::Ready {
            last_seq: 4,
            complete: false
        }
    );

    // An outsider's connect is refused and records nothing in the room.
    let before = w.drafts().len();
    let d2 = fixture::principal(
        "dr-2",
        rxroom_core::ids::Role::Driver,
        rxroom_core::claims::Scope::Orders(vec![fixture::oid("ord-2")]),
        rxroom_core::ids::Region::Us,
    );
    let c = caller(&d2, &cast.order, T0 + 3);
    assert_eq!(w.room().connect(&c, 0), Err(RoomError::Forbidden));
    assert_eq!(w.drafts().len(), before);
}
