//! The per-order `ChatRoom` Durable Object (SQLite-backed).
//!
//! A thin adapter: it rebuilds the verified principal the front Worker passed in, opens the
//! room's SQLite store, and runs the core [`Room`] for each request, frame and alarm. Live
//! sockets use the hibernation API; everything a socket needs lives in its attachment.

use crate::audit_sink;
use crate::config::Config;
use crate::internal::{self, Forwarded};
use crate::seams::{RoomSealer, Scanner};
use crate::store::SqlRoomStore;
use rxroom_core::audit::{AuditAction, EventDraft};
use rxroom_core::claims::emergency::grant_emergency_access;
use rxroom_core::claims::{EmergencyReason, EmergencyRequest};
use rxroom_core::ids::{OrderId, Role};
use rxroom_core::room::live::{
    accept_frame, check_socket, ClientFrame, Close, FrameVerdict, ServerFrame, SocketAttachment,
    TokenBucket,
};
use rxroom_core::room::{
    AlarmOutcome, Caller, CreateRoom, FinishArchive, HistoryQuery, MarkRead, Room, RoomError,
    RoomStore, SendMessage,
};
use serde::{Deserialize, Serialize};
use std::rc::Rc;
use worker::{
    durable_object, Date, DurableObject, Env, Request, Response, Result, State, WebSocket,
    WebSocketIncomingMessage, WebSocketPair,
};

/// One chat room per delivery order.
#[allow(missing_debug_implementations)] // reason: holds platform handles without Debug
#[durable_object]
pub struct ChatRoom {
    state: State,
    env: Env,
    /// Per-user rate limit for sends over HTTP (sockets keep theirs in the attachment). Kept
    /// in memory: an evicted object starts with full buckets, which only ever allows more.
    send_limits: std::cell::RefCell<std::collections::HashMap<String, TokenBucket>>,
}

/// Burst of new messages one user may send over HTTP before the sustained rate applies.
const HTTP_SEND_BURST: u32 = 60;

/// Most sockets that may wait unauthenticated on one room at a time (SECURITY D3).
const MAX_PENDING_SOCKETS: usize = 32;

/// The sub-protocol a browser or app offers and the server selects (never the token).
pub const WS_PROTOCOL: &str = "rxroom.v1";

fn now_ms() -> u64 {
    Date::now().as_millis()
}

#[derive(Deserialize)]
struct EmergencyBody {
    reason: String,
    note: String,
    #[serde(default)]
    duration_secs: Option<u64>,
}

#[derive(Serialize)]
struct GrantView {
    reason: &'static str,
    expires_at_ms: u64,
}

impl ChatRoom {
    fn config(&self) -> std::result::Result<Rc<Config>, RoomError> {
        Config::get(&self.env)
            .map_err(|_| RoomError::Store(rxroom_core::room::StoreError::Unavailable))
    }

    /// Runs `f` over the room's store with the real scanner and sealer.
    pub(crate) fn with_room<T>(
        &self,
        cfg: &Config,
        order: &OrderId,
        now: u64,
        f: impl FnOnce(&mut Room<'_, SqlRoomStore<'_>>) -> std::result::Result<T, RoomError>,
    ) -> std::result::Result<T, RoomError> {
        let mut store =
            SqlRoomStore::open(&self.state, cfg.region, order.clone(), &cfg.keyring, now)?;
        let scanner = Scanner {
            redactor: &cfg.redactor,
            policy: &cfg.ingest,
        };
        let sealer = RoomSealer {
            keyring: &cfg.keyring,
            region: cfg.region,
            order,
        };
        let mut room = Room::new(&mut store, &scanner, &sealer, &cfg.room);
        f(&mut room)
    }

    /// Whether `user` holds an unexpired emergency grant for this room.
    fn emergency_active(&self, cfg: &Config, order: &OrderId, user: &str, now: u64) -> bool {
        SqlRoomStore::open(&self.state, cfg.region, order.clone(), &cfg.keyring, now)
            .and_then(|s| s.grant_expiry(user))
            .map(|exp| exp.is_some_and(|e| e > now))
            .unwrap_or(false)
    }

    async fn handle(&self, mut req: Request) -> std::result::Result<Response, RoomError> {
        let cfg = self.config()?;
        let mut fwd = Forwarded::from_request(&req).map_err(|_| RoomError::InvalidRequest)?;
        if fwd.op != "live" {
            fwd.body = req.bytes().await.map_err(|_| RoomError::InvalidRequest)?;
        }
        // Read the clock after the body: Workers time only advances across I/O.
        let now = now_ms();
        let order = fwd.order.clone();

        if fwd.op == "live" {
            return self.live_upgrade(&req, &cfg, &fwd, now).await;
        }
        if fwd.op == "reseal" {
            return self.reseal(&req, &cfg, &order, now);
        }
        let principal = fwd.principal().ok_or(RoomError::Unauthenticated)?;
        let emergency = self.emergency_active(&cfg, &order, principal.user().as_str(), now);
        let caller = Caller {
            principal: &principal,
            order: &order,
            now_ms: now,
            ip: fwd.ip.as_deref(),
            emergency,
        };
        let body = fwd.body.as_slice();

        let response = match fwd.op.as_str() {
            "create" => {
                let req: CreateRoom = internal::parse(body)?;
                // One room per order: an archived order gets no second room. Staff of its
                // tenant learn it is closed; anyone else gets the outsider's answer.
                let store = self.store(&cfg, &order, now)?;
                if let (Some(tenant), Some(_)) = store.audit_info()? {
                    let own = principal.tenant().is_some_and(|t| t.as_str() == tenant);
                    return Err(if own {
                        RoomError::RoomClosed
                    } else {
                        RoomError::Forbidden
                    });
                }
                let view = self.with_room(&cfg, &order, now, |room| room.create(&caller, req))?;
                internal::json(201, &view)
            }
            "view" => {
                let view = self.with_room(&cfg, &order, now, |room| room.view(&caller))?;
                internal::json(200, &view)
            }
            "send" => {
                let msg: SendMessage = internal::parse(body)?;
                // Retries of a stored message cost nothing; new messages spend a token.
                let stored = self
                    .store(&cfg, &order, now)?
                    .message_by_client_id(principal.user(), &msg.client_id)?
                    .is_some();
                if !stored {
                    self.take_send_token(principal.user().as_str(), now, &cfg)?;
                }
                let sent = self.with_room(&cfg, &order, now, |room| room.send(&caller, &msg))?;
                if !sent.replay {
                    self.fan_out(
                        |role| {
                            sent.views
                                .for_role(role)
                                .map(|v| ServerFrame::Message(v.clone()))
                        },
                        None,
                    );
                }
                // TODO: push to `sent.push_to` participants without a live socket once the push
                // issue lands (fixed PHI-free text, never SMS); until then offline users catch up
                // through history or resume.
                internal::json(if sent.replay { 200 } else { 201 }, &sent.ack)
            }
            "history" => {
                let q: HistoryQuery = internal::parse_query(&fwd.query)?;
                let page = self.with_room(&cfg, &order, now, |room| room.history(&caller, q))?;
                internal::json(200, &page)
            }
            "delivered" => {
                let view =
                    self.with_room(&cfg, &order, now, |room| room.mark_delivered(&caller))?;
                internal::json(200, &view)
            }
            "read" => {
                let m: MarkRead = internal::parse(body)?;
                let out = self.with_room(&cfg, &order, now, |room| room.mark_read(&caller, m))?;
                if out.advanced {
                    let frame = ServerFrame::Read(out.receipt.clone());
                    self.fan_out(|_| Some(frame.clone()), None);
                }
                internal::json(200, &out.receipt)
            }
            "emergency" => {
                let b: EmergencyBody = internal::parse(body)?;
                let reason =
                    EmergencyReason::from_name(&b.reason).ok_or(RoomError::InvalidRequest)?;
                let duration_ms = b.duration_secs.unwrap_or(30 * 60).saturating_mul(1000);
                let request = EmergencyRequest::new(reason, b.note, duration_ms);
                let mut store =
                    SqlRoomStore::open(&self.state, cfg.region, order.clone(), &cfg.keyring, now)?;
                let meta = store.meta()?.ok_or(RoomError::Forbidden)?;
                let (grant, draft) = grant_emergency_access(
                    &principal,
                    &order,
                    &meta.tenant,
                    meta.region,
                    request,
                    now,
                )
                .map_err(|_| RoomError::Forbidden)?;
                store.put_grant(principal.user().as_str(), grant.expires_at_ms())?;
                let mut draft = draft;
                draft.ip = fwd.ip.clone();
                store.append_audit(draft)?;
                internal::json(
                    201,
                    &GrantView {
                        reason: grant.reason().as_str(),
                        expires_at_ms: grant.expires_at_ms(),
                    },
                )
            }
            "export" => {
                let body = crate::export::export_order(self, &cfg, &order, &caller).await?;
                internal::text(200, body, "application/x-ndjson")
            }
            _ => Err(RoomError::InvalidRequest),
        };
        self.after_request(&cfg, &order, now).await;
        response
    }

    /// The key-rotation step for this room: re-seals its stored data under the active key and
    /// answers the counts. Only the front Worker's operator route sets the operator header
    /// (after checking the operator credential); without it the op is refused.
    fn reseal(
        &self,
        req: &Request,
        cfg: &Config,
        order: &OrderId,
        now: u64,
    ) -> std::result::Result<Response, RoomError> {
        let operator = req
            .headers()
            .get(crate::reseal::OPERATOR_HEADER)
            .ok()
            .flatten();
        if operator.as_deref() != Some("1") {
            return Err(RoomError::Forbidden);
        }
        let counts = self.store(cfg, order, now)?.reseal_room_data()?;
        internal::json(200, &counts)
    }

    /// The store for export and lifecycle code in sibling modules.
    pub(crate) fn store<'k>(
        &self,
        cfg: &'k Config,
        order: &OrderId,
        now: u64,
    ) -> std::result::Result<SqlRoomStore<'k>, RoomError> {
        Ok(SqlRoomStore::open(
            &self.state,
            cfg.region,
            order.clone(),
            &cfg.keyring,
            now,
        )?)
    }

    /// The region's archive bucket.
    pub(crate) fn archive_bucket(&self) -> Result<worker::Bucket> {
        self.env.bucket("ARCHIVE")
    }

    /// The region's audit bucket.
    pub(crate) fn audit_bucket(&self) -> Result<worker::Bucket> {
        self.env.bucket("AUDIT")
    }

    /// Flushes due audit segments and sets the next alarm.
    async fn after_request(&self, cfg: &Config, order: &OrderId, now: u64) {
        if let Ok(store) = self.store(cfg, order, now) {
            let _ = audit_sink::flush(&store, cfg, &self.audit_bucket(), now, false).await;
        }
        self.schedule(cfg, order, now).await;
    }

    /// Sets the alarm to the earliest of: the room's next deadline, the earliest socket check,
    /// the audit outbox's age limit.
    async fn schedule(&self, cfg: &Config, order: &OrderId, now: u64) {
        let mut next: Option<u64> = self
            .with_room(cfg, order, now, |room| room.next_alarm_ms(now))
            .ok()
            .flatten();
        for ws in self.state.get_websockets() {
            if let Ok(Some(att)) = ws.deserialize_attachment::<SocketAttachment>() {
                let t = att.next_check_ms(&cfg.room.live);
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        if let Ok(store) = self.store(cfg, order, now) {
            if let Ok(Some(t)) = audit_sink::next_flush_ms(&store) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        if let Some(t) = next {
            let at = t.max(now.saturating_add(1));
            // `set_alarm(i64)` takes an offset from now, not a timestamp.
            let _ = self
                .state
                .storage()
                .set_alarm(at.saturating_sub(now_ms()) as i64)
                .await;
        }
    }

    /// Sends `frame_for(role)` to every authenticated socket except `skip`. Each socket's
    /// right to receive is checked again first (token expiry, idle logoff, the room's
    /// deadlines): an alarm that fires late must never let a closed session keep receiving.
    fn fan_out(&self, frame_for: impl Fn(Role) -> Option<ServerFrame>, skip: Option<&WebSocket>) {
        let Ok(cfg) = self.config() else { return };
        let now = now_ms();
        for ws in self.state.get_websockets() {
            if skip.is_some_and(|s| s == &ws) {
                continue;
            }
            let Ok(Some(att)) = ws.deserialize_attachment::<SocketAttachment>() else {
                continue;
            };
            let Some(auth) = att.auth.as_ref() else {
                continue;
            };
            // Idle logoff is the alarm's job (a socket that only listens is idle); an expired
            // token or an ended room must not receive even one more frame (SECURITY D6).
            if now >= auth.principal().expires_at_ms() {
                Self::close(&ws, Close::UNAUTHENTICATED);
                continue;
            }
            let Ok(order) = self.order_of_socket(&ws) else {
                continue;
            };
            let principal = auth.principal();
            let caller = Caller {
                principal: &principal,
                order: &order,
                now_ms: now,
                ip: None,
                emergency: false,
            };
            if let Err(e) = self.with_room(&cfg, &order, now, |room| room.check_live(&caller)) {
                Self::close(&ws, Close::for_error(&e).unwrap_or(Close::FORBIDDEN));
                continue;
            }
            if let Some(frame) = frame_for(auth.role()) {
                let _ = ws.send_with_str(frame.to_json());
            }
        }
    }

    async fn live_upgrade(
        &self,
        req: &Request,
        cfg: &Config,
        fwd: &Forwarded,
        now: u64,
    ) -> std::result::Result<Response, RoomError> {
        let order = &fwd.order;
        let mut att = SocketAttachment::new(now, &cfg.room.live);
        let mut opening: Vec<ServerFrame> = Vec::new();
        if fwd.auth.is_none() {
            let pending = self
                .state
                .get_websockets()
                .iter()
                .filter(|ws| {
                    ws.deserialize_attachment::<SocketAttachment>()
                        .ok()
                        .flatten()
                        .is_some_and(|a| a.auth.is_none())
                })
                .count();
            if pending >= MAX_PENDING_SOCKETS {
                return Err(RoomError::RateLimited);
            }
        }
        if let Some(principal) = fwd.principal() {
            let caller = Caller {
                principal: &principal,
                order,
                now_ms: now,
                ip: fwd.ip.as_deref(),
                emergency: false,
            };
            let last_seen: u64 = fwd
                .query_value("last_seq")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            opening = self.with_room(cfg, order, now, |room| room.connect(&caller, last_seen))?;
            att.authenticate(&principal, fwd.ip.as_deref(), now);
        }
        let _ = req;
        let pair = WebSocketPair::new().map_err(|_| RoomError::Encoding)?;
        // The order rides in the socket's tag, so frames and alarms know it even for a room
        // that does not exist (and must still be refused the same way).
        // The connecting IP rides in a second tag, for the audit of a first-frame login.
        let ip_tag = format!("ip:{}", fwd.ip.as_deref().unwrap_or(""));
        self.state
            .accept_websocket_with_tags(&pair.server, &[order.as_str(), ip_tag.as_str()]);
        pair.server
            .serialize_attachment(&att)
            .map_err(|_| RoomError::Encoding)?;
        for frame in opening {
            let _ = pair.server.send_with_str(frame.to_json());
        }
        self.schedule(cfg, order, now).await;
        let resp = Response::from_websocket(pair.client).map_err(|_| RoomError::Encoding)?;
        let headers = worker::Headers::new();
        if fwd.offered_protocol {
            let _ = headers.set("sec-websocket-protocol", WS_PROTOCOL);
        }
        Ok(resp.with_headers(headers))
    }

    /// The connecting IP recorded when the socket was opened.
    fn ip_of_socket(&self, ws: &WebSocket) -> Option<String> {
        self.state.get_tags(ws).iter().find_map(|t| {
            t.strip_prefix("ip:")
                .filter(|ip| !ip.is_empty())
                .map(str::to_owned)
        })
    }

    /// Writes a refusal to the region's audit chain (never into the room: it may not exist).
    async fn audit_refusal(
        &self,
        action: AuditAction,
        principal: Option<&rxroom_core::claims::Principal>,
        ip: Option<&str>,
        order: &OrderId,
        outcome: &str,
    ) {
        let draft = EventDraft {
            action,
            actor: principal.map(|p| p.user().clone()),
            role: principal.map(|p| p.role()),
            ip: ip.map(str::to_owned),
            device: principal.map(|p| p.device().clone()),
            order: Some(order.clone()),
            target: None,
            outcome: outcome.to_owned(),
            labels: Vec::new(),
        };
        audit_sink::record_region(&self.env, &draft).await;
    }

    /// Takes one token from `user`'s HTTP send bucket, or refuses with `RATE_LIMITED`. The
    /// sustained rate is the socket's; the burst is larger (HTTP clients catch up in batches
    /// after a reconnect).
    fn take_send_token(
        &self,
        user: &str,
        now: u64,
        cfg: &Config,
    ) -> std::result::Result<(), RoomError> {
        let mut limits_cfg = cfg.room.live.clone();
        limits_cfg.rate_burst = HTTP_SEND_BURST;
        let mut limits = self.send_limits.borrow_mut();
        if limits.len() > 1024 {
            limits.clear();
        }
        let bucket = limits
            .entry(user.to_owned())
            .or_insert_with(|| TokenBucket::full(now, &limits_cfg));
        if bucket.try_take(now, &limits_cfg) {
            Ok(())
        } else {
            Err(RoomError::RateLimited)
        }
    }

    fn close(ws: &WebSocket, close: Close) {
        let _ = ws.close(Some(close.code), Some(close.reason));
    }

    async fn on_frame(&self, ws: WebSocket, raw: Vec<u8>) -> std::result::Result<(), RoomError> {
        let cfg = self.config()?;
        let now = now_ms();
        let Some(mut att) = ws
            .deserialize_attachment::<SocketAttachment>()
            .ok()
            .flatten()
        else {
            Self::close(&ws, Close::INTERNAL);
            return Ok(());
        };
        let order = self.order_of_socket(&ws)?;
        let verdict = accept_frame(&mut att, &raw, now, &cfg.room.live);
        let frame = match verdict {
            FrameVerdict::Close(c) => {
                Self::close(&ws, c);
                return Ok(());
            }
            FrameVerdict::Reply(f) => {
                let _ = ws.serialize_attachment(&att);
                let _ = ws.send_with_str(f.to_json());
                return Ok(());
            }
            FrameVerdict::Handle(f) => f,
        };

        if let ClientFrame::Auth { token, last_seq } = &frame {
            let ip = self.ip_of_socket(&ws);
            let principal = match cfg.verifier.verify(token.expose(), now) {
                Ok(p) if p.region() == cfg.region => p,
                Ok(p) => {
                    self.audit_refusal(
                        AuditAction::AccessForbidden,
                        Some(&p),
                        ip.as_deref(),
                        &order,
                        "FORBIDDEN",
                    )
                    .await;
                    Self::close(&ws, Close::FORBIDDEN);
                    return Ok(());
                }
                Err(e) => {
                    crate::log::event("ws_token_refused", Some(e.as_str()));
                    self.audit_refusal(
                        AuditAction::TokenRefused,
                        None,
                        ip.as_deref(),
                        &order,
                        "UNAUTHENTICATED",
                    )
                    .await;
                    Self::close(&ws, Close::UNAUTHENTICATED);
                    return Ok(());
                }
            };
            let caller = Caller {
                principal: &principal,
                order: &order,
                now_ms: now,
                ip: ip.as_deref(),
                emergency: false,
            };
            let opened = self.with_room(&cfg, &order, now, |room| room.connect(&caller, *last_seq));
            match opened {
                Ok(frames) => {
                    att.authenticate(&principal, ip.as_deref(), now);
                    let _ = ws.serialize_attachment(&att);
                    for f in frames {
                        let _ = ws.send_with_str(f.to_json());
                    }
                }
                Err(e) => match Close::for_error(&e) {
                    Some(c) => {
                        self.audit_refusal(
                            AuditAction::AccessForbidden,
                            Some(&principal),
                            ip.as_deref(),
                            &order,
                            e.code().as_str(),
                        )
                        .await;
                        Self::close(&ws, c);
                    }
                    // A bad cursor: say so and let the client try again.
                    None => {
                        let _ = ws.serialize_attachment(&att);
                        let _ = ws.send_with_str(ServerFrame::error(&e).to_json());
                    }
                },
            }
            self.schedule(&cfg, &order, now).await;
            return Ok(());
        }

        let Some(auth) = att.auth.clone() else {
            Self::close(&ws, Close::UNAUTHENTICATED);
            return Ok(());
        };
        let principal = auth.principal();
        let emergency = self.emergency_active(&cfg, &order, principal.user().as_str(), now);
        let caller = Caller {
            principal: &principal,
            order: &order,
            now_ms: now,
            ip: auth.ip(),
            emergency,
        };
        let _ = ws.serialize_attachment(&att);

        let outcome: std::result::Result<(), RoomError> = match frame {
            ClientFrame::Ping => self
                .with_room(&cfg, &order, now, |room| room.check_live(&caller))
                .map(|_| {
                    let _ = ws.send_with_str(ServerFrame::Pong.to_json());
                }),
            ClientFrame::Send(msg) => self
                .with_room(&cfg, &order, now, |room| room.send(&caller, &msg))
                .map(|sent| {
                    let _ = ws.send_with_str(ServerFrame::Ack(sent.ack.clone()).to_json());
                    if !sent.replay {
                        self.fan_out(
                            |role| {
                                sent.views
                                    .for_role(role)
                                    .map(|v| ServerFrame::Message(v.clone()))
                            },
                            Some(&ws),
                        );
                    }
                }),
            ClientFrame::Read(m) => self
                .with_room(&cfg, &order, now, |room| room.mark_read(&caller, m))
                .map(|out| {
                    if out.advanced {
                        let frame = ServerFrame::Read(out.receipt);
                        self.fan_out(|_| Some(frame.clone()), None);
                    }
                }),
            ClientFrame::Typing { active } => self
                .with_room(&cfg, &order, now, |room| room.typing(&caller, active))
                .map(|frame| {
                    self.fan_out(|_| Some(frame.clone()), Some(&ws));
                }),
            ClientFrame::Auth { .. } => Ok(()),
        };
        if let Err(e) = outcome {
            match Close::for_error(&e) {
                Some(c) => Self::close(&ws, c),
                None => {
                    let _ = ws.send_with_str(ServerFrame::error(&e).to_json());
                }
            }
        }
        self.after_request(&cfg, &order, now).await;
        Ok(())
    }

    /// The order a socket was opened for (its tag).
    fn order_of_socket(&self, ws: &WebSocket) -> std::result::Result<OrderId, RoomError> {
        self.state
            .get_tags(ws)
            .first()
            .and_then(|t| t.parse::<OrderId>().ok())
            .ok_or(RoomError::Encoding)
    }

    async fn on_alarm(&self) -> std::result::Result<(), RoomError> {
        let cfg = self.config()?;
        let now = now_ms();
        let stored = SqlRoomStore::stored_order(&self.state)?;

        // 1. Room lifecycle: record the driver's end of access; archive once closed.
        let mut archived = false;
        if let Some(order) = &stored {
            archived = self.lifecycle(&cfg, order, now).await?;
        }

        // 2. Sockets: auth timeout, token expiry, idle logoff, and the room's own deadlines.
        let mut any_socket: Option<OrderId> = None;
        for ws in self.state.get_websockets() {
            let Ok(Some(att)) = ws.deserialize_attachment::<SocketAttachment>() else {
                continue;
            };
            let Ok(order) = self.order_of_socket(&ws) else {
                Self::close(&ws, Close::INTERNAL);
                continue;
            };
            if archived {
                Self::close(&ws, Close::ROOM_CLOSED);
                continue;
            }
            if let Some(c) = check_socket(&att, now, &cfg.room.live) {
                Self::close(&ws, c);
                continue;
            }
            if let Some(auth) = att.auth.as_ref() {
                let principal = auth.principal();
                let caller = Caller {
                    principal: &principal,
                    order: &order,
                    now_ms: now,
                    ip: None,
                    emergency: false,
                };
                if let Err(e) = self.with_room(&cfg, &order, now, |room| room.check_live(&caller)) {
                    Self::close(&ws, Close::for_error(&e).unwrap_or(Close::FORBIDDEN));
                    continue;
                }
            }
            any_socket = Some(order);
        }

        // 3. Audit: flush what is due (everything once archived), then the next alarm.
        if let Some(order) = &stored {
            if let Ok(store) = self.store(&cfg, order, now) {
                let _ = audit_sink::flush(&store, &cfg, &self.audit_bucket(), now, archived).await;
            }
        }
        if let Some(order) = stored.or(any_socket) {
            if !archived {
                self.schedule(&cfg, &order, now).await;
            }
        }
        Ok(())
    }

    /// The room's own deadlines at alarm time. Returns whether the room is now archived.
    async fn lifecycle(
        &self,
        cfg: &Config,
        order: &OrderId,
        now: u64,
    ) -> std::result::Result<bool, RoomError> {
        let outcome = self.with_room(cfg, order, now, |room| room.on_alarm(now))?;
        let mut archived = false;
        if outcome == AlarmOutcome::Archive {
            let blob = self.with_room(cfg, order, now, |room| room.archive(now))?;
            if let Some(blob) = blob {
                let bucket = self.archive_bucket().map_err(|_| RoomError::Encoding)?;
                bucket
                    .put(&blob.name, blob.sealed)
                    .execute()
                    .await
                    .map_err(|_| RoomError::Store(rxroom_core::room::StoreError::Unavailable))?;
                if let Ok(store) = self.store(cfg, order, now) {
                    let _ = store.remember_archive(&blob.name);
                }
            }
            let finished = self.with_room(cfg, order, now, |room| room.finish_archive(now))?;
            archived = matches!(
                finished,
                FinishArchive::Deleted | FinishArchive::AlreadyDeleted
            );
        }

        Ok(archived)
    }
}

impl DurableObject for ChatRoom {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            send_limits: Default::default(),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match self.handle(req).await {
            Ok(r) => Ok(r),
            Err(e) => internal::error(&e),
        }
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        let raw = match message {
            WebSocketIncomingMessage::String(s) => s.into_bytes(),
            WebSocketIncomingMessage::Binary(b) => b,
        };
        if self.on_frame(ws.clone(), raw).await.is_err() {
            Self::close(&ws, Close::INTERNAL);
        }
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        let _ = ws.close(Some(1000), Some("CLOSED"));
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        let _ = ws.close(Some(1011), Some("INTERNAL"));
        Ok(())
    }

    async fn alarm(&self) -> Result<Response> {
        if let Err(e) = self.on_alarm().await {
            crate::log::event("alarm_failed", Some(e.code().as_str()));
            // Retry soon: alarms only tidy up, so a late retry is safe.
            let _ = self
                .state
                .storage()
                .set_alarm(5_000_i64) // an offset from now
                .await;
        }
        Response::empty()
    }
}
