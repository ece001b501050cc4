//! Live sockets, as pure logic over a serializable attachment (45 CFR 164.312(a)(2)(iii)
//! automatic logoff; SECURITY D1, D2, D3, D6, D7, B10).
//!
//! The adapter keeps a [`SocketAttachment`] in the WebSocket's hibernation attachment (it
//! survives eviction), passes every incoming frame through [`accept_frame`], and closes with
//! the [`Close`] it is given. The room is bound to the socket, never to frame content.

use crate::api::ErrorCode;
use crate::claims::{Principal, Scope};
use crate::ids::{DeviceId, OrderId, Region, Role, TenantId, UserId};
use crate::room::{Ack, MarkRead, MessageView, ReadReceipt, RoomError, SendMessage};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// WebSocket limits. Times in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveConfig {
    /// Largest accepted frame, in bytes, checked before parsing (default 16 KiB).
    pub max_frame_bytes: usize,
    /// An unauthenticated socket is closed this long after opening (default 10 s).
    pub auth_timeout_ms: u64,
    /// A socket without user activity (pings do not count) is closed after this (default 15 min).
    pub idle_logoff_ms: u64,
    /// Sustained frames per second (default 10).
    pub rate_per_sec: u32,
    /// Burst size (default 20).
    pub rate_burst: u32,
    /// Consecutive refused frames before the socket is closed (default 20).
    pub max_strikes: u32,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: 16 * 1024,
            auth_timeout_ms: 10_000,
            idle_logoff_ms: 15 * 60 * 1000,
            rate_per_sec: 10,
            rate_burst: 20,
            max_strikes: 20,
        }
    }
}

impl LiveConfig {
    /// Whether every limit is positive.
    pub fn is_valid(&self) -> bool {
        self.max_frame_bytes > 0
            && self.auth_timeout_ms > 0
            && self.idle_logoff_ms > 0
            && self.rate_per_sec > 0
            && self.rate_burst > 0
            && self.max_strikes > 0
    }
}

/// A close code and its reason, sent when the server closes a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    /// The WebSocket close code.
    pub code: u16,
    /// The fixed reason (a stable code name, never input).
    pub reason: &'static str,
}

impl Close {
    /// 4401: no `auth` frame within the auth timeout (SECURITY D3).
    pub const AUTH_TIMEOUT: Close = Close {
        code: 4401,
        reason: "AUTH_TIMEOUT",
    };
    /// 4401: a frame other than `auth` before authentication, or the token expired (D6).
    pub const UNAUTHENTICATED: Close = Close {
        code: 4401,
        reason: "UNAUTHENTICATED",
    };
    /// 4003: the principal may not use this room (identical whether it exists or not).
    pub const FORBIDDEN: Close = Close {
        code: 4003,
        reason: "FORBIDDEN",
    };
    /// 4403: the driver's access ended after delivery.
    pub const ACCESS_ENDED: Close = Close {
        code: 4403,
        reason: "ACCESS_ENDED",
    };
    /// 4408: automatic logoff after inactivity (D7).
    pub const IDLE: Close = Close {
        code: 4408,
        reason: "IDLE_TIMEOUT",
    };
    /// 4410: the room closed for everyone.
    pub const ROOM_CLOSED: Close = Close {
        code: 4410,
        reason: "ROOM_CLOSED",
    };
    /// 4429: the socket kept sending over its rate limit (D1).
    pub const RATE_LIMITED: Close = Close {
        code: 4429,
        reason: "RATE_LIMITED",
    };
    /// 1009: a frame over the size limit (D2).
    pub const TOO_LARGE: Close = Close {
        code: 1009,
        reason: "PAYLOAD_TOO_LARGE",
    };
    /// 1011: an internal failure.
    pub const INTERNAL: Close = Close {
        code: 1011,
        reason: "INTERNAL",
    };

    /// The close for a room error that ends the socket's right to stay open, `None` for errors
    /// that are answered with an error frame instead.
    pub fn for_error(e: &RoomError) -> Option<Close> {
        match e {
            RoomError::Forbidden => Some(Self::FORBIDDEN),
            RoomError::Unauthenticated => Some(Self::UNAUTHENTICATED),
            RoomError::AccessEnded => Some(Self::ACCESS_ENDED),
            RoomError::RoomClosed => Some(Self::ROOM_CLOSED),
            RoomError::PayloadTooLarge => Some(Self::TOO_LARGE),
            RoomError::Store(_) | RoomError::Seal(_) | RoomError::Encoding => Some(Self::INTERNAL),
            _ => None,
        }
    }
}

/// A bearer token as it arrives in an `auth` frame: placeholder `Debug`, zeroized on drop.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct FrameToken(String);

impl FrameToken {
    /// The token, for verification only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for FrameToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FrameToken(..)")
    }
}

impl Drop for FrameToken {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A frame from the client: `{"type": "auth" | "send" | "read" | "typing" | "ping", ...}`.
/// Unknown fields are ignored; a `room_id` or `sender` in a frame has no effect (B6, B10).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ClientFrame {
    /// The first frame: the token, and the last sequence the client has seen (for resume).
    Auth {
        /// The bearer token (never in the URL: SECURITY D8, G3).
        token: FrameToken,
        /// The last sequence the client has; missed messages follow (0 or absent: all).
        #[serde(default)]
        last_seq: u64,
    },
    /// Send a message (same body as the HTTP route).
    Send(SendMessage),
    /// Move the read position.
    Read(MarkRead),
    /// A typing indicator (not stored).
    Typing {
        /// Whether the user is typing now.
        active: bool,
    },
    /// A heartbeat; answered with `pong`; not user activity.
    Ping,
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Authentication succeeded; missed messages follow, then live ones.
    Ready {
        /// The room's highest sequence at this moment.
        last_seq: u64,
        /// False when more messages were missed than one resume sends: the client fetches the
        /// gap over HTTP history (`after` = the last message frame it got).
        complete: bool,
    },
    /// A message in this socket's role view.
    Message(MessageView),
    /// The acknowledgement of this socket's `send`.
    Ack(Ack),
    /// A participant's read position moved.
    Read(ReadReceipt),
    /// A participant is (or stopped) typing.
    Typing {
        /// Who.
        user: UserId,
        /// In which role.
        role: Role,
        /// Typing or not.
        active: bool,
    },
    /// The answer to `ping`.
    Pong,
    /// A refused frame; the socket stays open.
    Error {
        /// The stable code.
        code: ErrorCode,
        /// The fixed message for the code.
        message: &'static str,
        /// Label names, only for `PHI_REJECTED`.
        #[serde(skip_serializing_if = "Option::is_none")]
        labels: Option<Vec<&'static str>>,
    },
}

impl ServerFrame {
    /// The error frame for `e` (fixed message, no input).
    pub fn error(e: &RoomError) -> Self {
        let code = e.code();
        Self::Error {
            code,
            message: code.message(),
            labels: e.labels(),
        }
    }

    /// The frame as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            String::from(r#"{"type":"error","code":"INTERNAL","message":"internal error"}"#)
        })
    }
}

/// A token bucket in integer milli-tokens, small enough for the socket attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBucket {
    /// Tokens left, in thousandths.
    pub milli_tokens: u64,
    /// When it was last refilled (ms).
    pub last_ms: u64,
}

impl TokenBucket {
    /// A full bucket at `now_ms`.
    pub fn full(now_ms: u64, cfg: &LiveConfig) -> Self {
        Self {
            milli_tokens: u64::from(cfg.rate_burst).saturating_mul(1000),
            last_ms: now_ms,
        }
    }

    /// Refills for the time since the last call, then takes one token if there is one.
    pub fn try_take(&mut self, now_ms: u64, cfg: &LiveConfig) -> bool {
        let cap = u64::from(cfg.rate_burst).saturating_mul(1000);
        let elapsed = now_ms.saturating_sub(self.last_ms);
        // rate_per_sec tokens per second = rate_per_sec milli-tokens per millisecond.
        let refill = elapsed.saturating_mul(u64::from(cfg.rate_per_sec));
        self.milli_tokens = self.milli_tokens.saturating_add(refill).min(cap);
        self.last_ms = self.last_ms.max(now_ms);
        if self.milli_tokens >= 1000 {
            self.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }
}

/// A principal's scope, in serializable form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeSnapshot {
    /// Exactly these orders.
    Orders(Vec<OrderId>),
    /// Every order of this tenant.
    Tenant(TenantId),
}

/// The verified principal behind an authenticated socket, kept in the attachment so that it
/// survives hibernation. Built only from a verified [`Principal`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketAuth {
    user: UserId,
    role: Role,
    scope: ScopeSnapshot,
    region: Region,
    device: DeviceId,
    expires_at_ms: u64,
    ip: Option<String>,
}

impl std::fmt::Debug for SocketAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketAuth")
            .field("user", &self.user)
            .field("role", &self.role)
            .field("expires_at_ms", &self.expires_at_ms)
            .finish_non_exhaustive()
    }
}

impl SocketAuth {
    /// Captures a verified principal and the connecting IP.
    pub fn from_principal(p: &Principal, ip: Option<&str>) -> Self {
        let scope = match p.scope() {
            Scope::Orders(o) => ScopeSnapshot::Orders(o.clone()),
            Scope::Tenant(t) => ScopeSnapshot::Tenant(t.clone()),
        };
        Self {
            user: p.user().clone(),
            role: p.role(),
            scope,
            region: p.region(),
            device: p.device().clone(),
            expires_at_ms: p.expires_at_ms(),
            ip: ip.map(str::to_owned),
        }
    }

    /// The principal again, after hibernation. The attachment is server-held state written
    /// only by [`SocketAuth::from_principal`], never client data.
    pub fn principal(&self) -> Principal {
        let scope = match &self.scope {
            ScopeSnapshot::Orders(o) => Scope::Orders(o.clone()),
            ScopeSnapshot::Tenant(t) => Scope::Tenant(t.clone()),
        };
        Principal::new_unchecked(
            self.user.clone(),
            self.role,
            scope,
            self.region,
            self.device.clone(),
            self.expires_at_ms,
        )
    }

    /// The connecting IP recorded at authentication, for audit drafts.
    pub fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }

    /// The socket's role (which view its messages are rendered in).
    pub fn role(&self) -> Role {
        self.role
    }

    /// The socket's user.
    pub fn user(&self) -> &UserId {
        &self.user
    }
}

/// Everything a socket needs across hibernation. Serialize it into the WebSocket attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketAttachment {
    /// When the socket was opened (ms).
    pub opened_at_ms: u64,
    /// Last user activity (ms): any frame but `ping`.
    pub last_activity_ms: u64,
    /// The per-connection rate limiter.
    pub bucket: TokenBucket,
    /// Consecutive frames refused by the rate limiter.
    pub strikes: u32,
    /// The principal, once the `auth` frame was verified.
    pub auth: Option<SocketAuth>,
}

impl SocketAttachment {
    /// A fresh, unauthenticated socket opened at `now_ms`.
    pub fn new(now_ms: u64, cfg: &LiveConfig) -> Self {
        Self {
            opened_at_ms: now_ms,
            last_activity_ms: now_ms,
            bucket: TokenBucket::full(now_ms, cfg),
            strikes: 0,
            auth: None,
        }
    }

    /// Records a verified principal after an `auth` frame.
    pub fn authenticate(&mut self, p: &Principal, ip: Option<&str>, now_ms: u64) {
        self.auth = Some(SocketAuth::from_principal(p, ip));
        self.last_activity_ms = now_ms;
    }

    /// When this socket may next need closing by [`check_socket`] (for the alarm), in ms.
    pub fn next_check_ms(&self, cfg: &LiveConfig) -> u64 {
        match &self.auth {
            None => self.opened_at_ms.saturating_add(cfg.auth_timeout_ms),
            Some(a) => a
                .expires_at_ms
                .min(self.last_activity_ms.saturating_add(cfg.idle_logoff_ms)),
        }
    }
}

/// What to do with one incoming frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameVerdict {
    /// Dispatch it (an `auth` frame still needs its token verified).
    Handle(ClientFrame),
    /// Answer with this frame (an error) and keep the socket open.
    Reply(ServerFrame),
    /// Close the socket with this code and reason.
    Close(Close),
}

/// Socket-local deadlines: auth timeout, token expiry, idle logoff. Room deadlines come from
/// [`crate::room::Room::check_live`].
pub fn check_socket(att: &SocketAttachment, now_ms: u64, cfg: &LiveConfig) -> Option<Close> {
    match &att.auth {
        None if now_ms.saturating_sub(att.opened_at_ms) >= cfg.auth_timeout_ms => {
            Some(Close::AUTH_TIMEOUT)
        }
        None => None,
        Some(a) if now_ms >= a.expires_at_ms => Some(Close::UNAUTHENTICATED),
        Some(_) if now_ms.saturating_sub(att.last_activity_ms) >= cfg.idle_logoff_ms => {
            Some(Close::IDLE)
        }
        Some(_) => None,
    }
}

/// The gate every incoming frame passes, in order: size (before parsing) → socket deadlines →
/// rate limit → parse → authentication state. Updates the attachment (store it back).
pub fn accept_frame(
    att: &mut SocketAttachment,
    raw: &[u8],
    now_ms: u64,
    cfg: &LiveConfig,
) -> FrameVerdict {
    if raw.len() > cfg.max_frame_bytes {
        return FrameVerdict::Close(Close::TOO_LARGE);
    }
    if let Some(close) = check_socket(att, now_ms, cfg) {
        return FrameVerdict::Close(close);
    }

    if !att.bucket.try_take(now_ms, cfg) {
        att.strikes = att.strikes.saturating_add(1);
        if att.strikes >= cfg.max_strikes {
            return FrameVerdict::Close(Close::RATE_LIMITED);
        }
        return FrameVerdict::Reply(ServerFrame::error(&RoomError::RateLimited));
    }
    att.strikes = 0;

    let Ok(frame) = serde_json::from_slice::<ClientFrame>(raw) else {
        return FrameVerdict::Reply(ServerFrame::error(&RoomError::InvalidJson));
    };
    match (&frame, att.auth.is_some()) {
        (ClientFrame::Auth { .. }, true) => {
            return FrameVerdict::Reply(ServerFrame::error(&RoomError::InvalidRequest));
        }
        (ClientFrame::Auth { .. }, false) => {}
        (_, false) => return FrameVerdict::Close(Close::UNAUTHENTICATED),
        (_, true) => {}
    }
    if !matches!(frame, ClientFrame::Ping) {
        att.last_activity_ms = now_ms;
    }
    FrameVerdict::Handle(frame)
}
