//! The wire contract's error side: stable codes, their fixed HTTP status, and the body
//! `{code, message, request_id}` that every failure carries.
//!
//! Codes are added, never renamed. Messages are fixed per code and never echo input.

use serde::Serialize;

/// A stable error code. Each code has one HTTP status and one fixed message.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `NOT_FOUND`: no route matches the path.
    NotFound,
    /// `METHOD_NOT_ALLOWED`: the route exists but not for this method.
    MethodNotAllowed,
    /// `INVALID_JSON`: the body is not the JSON document the route expects.
    InvalidJson,
    /// `INVALID_REQUEST`: well-formed JSON with a field that fails validation.
    InvalidRequest,
    /// `PAYLOAD_TOO_LARGE`: the body or frame is over its limit (checked before reading).
    PayloadTooLarge,
    /// `UNAUTHENTICATED`: no valid token. The reason goes to the log, never to the client.
    Unauthenticated,
    /// `FORBIDDEN`: the principal may not do this here. Identical whether the room exists or not.
    Forbidden,
    /// `ACCESS_ENDED`: this participant's access to the room has ended (driver after delivery).
    AccessEnded,
    /// `ROOM_CLOSED`: the room is closed for everyone.
    RoomClosed,
    /// `ROOM_EXISTS`: a room for this order was already created.
    RoomExists,
    /// `DUPLICATE_ID_CONFLICT`: a client message id was reused with other content.
    DuplicateIdConflict,
    /// `PHI_REJECTED`: the sender's policy rejects messages that carry these PHI labels.
    PhiRejected,
    /// `RATE_LIMITED`: too many requests or frames.
    RateLimited,
    /// `TLS_REQUIRED`: the request reached the edge over TLS older than 1.2.
    TlsRequired,
    /// `KEY_RETIRED`: the data is sealed under a retired key; it will not be opened.
    KeyRetired,
    /// `CONFIG_INVALID`: the deployment's configuration is unsafe; the service refuses to run.
    ConfigInvalid,
    /// `INTERNAL`: an unexpected failure. Details go to the log once.
    Internal,
}

impl ErrorCode {
    /// Every code, for documentation and exhaustive tests.
    pub const ALL: [ErrorCode; 17] = [
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::InvalidJson,
        Self::InvalidRequest,
        Self::PayloadTooLarge,
        Self::Unauthenticated,
        Self::Forbidden,
        Self::AccessEnded,
        Self::RoomClosed,
        Self::RoomExists,
        Self::DuplicateIdConflict,
        Self::PhiRejected,
        Self::RateLimited,
        Self::TlsRequired,
        Self::KeyRetired,
        Self::ConfigInvalid,
        Self::Internal,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::InvalidJson => "INVALID_JSON",
            Self::InvalidRequest => "INVALID_REQUEST",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::AccessEnded => "ACCESS_ENDED",
            Self::RoomClosed => "ROOM_CLOSED",
            Self::RoomExists => "ROOM_EXISTS",
            Self::DuplicateIdConflict => "DUPLICATE_ID_CONFLICT",
            Self::PhiRejected => "PHI_REJECTED",
            Self::RateLimited => "RATE_LIMITED",
            Self::TlsRequired => "TLS_REQUIRED",
            Self::KeyRetired => "KEY_RETIRED",
            Self::ConfigInvalid => "CONFIG_INVALID",
            Self::Internal => "INTERNAL",
        }
    }

    /// The fixed HTTP status for this code.
    pub fn status(self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::InvalidJson | Self::InvalidRequest => 400,
            Self::PayloadTooLarge => 413,
            Self::Unauthenticated => 401,
            Self::Forbidden | Self::AccessEnded => 403,
            Self::RoomClosed => 410,
            Self::RoomExists | Self::DuplicateIdConflict => 409,
            Self::PhiRejected => 422,
            Self::RateLimited => 429,
            Self::TlsRequired => 426,
            Self::KeyRetired | Self::Internal => 500,
            Self::ConfigInvalid => 503,
        }
    }

    /// The fixed human-readable message. Never carries input.
    pub fn message(self) -> &'static str {
        match self {
            Self::NotFound => "no such route",
            Self::MethodNotAllowed => "method not allowed on this route",
            Self::InvalidJson => "request body is not valid JSON for this route",
            Self::InvalidRequest => "request failed validation",
            Self::PayloadTooLarge => "payload is over the size limit",
            Self::Unauthenticated => "missing or invalid credentials",
            Self::Forbidden => "not allowed",
            Self::AccessEnded => "access to this room has ended",
            Self::RoomClosed => "room is closed",
            Self::RoomExists => "room already exists",
            Self::DuplicateIdConflict => "message id was already used with other content",
            Self::PhiRejected => "message contains PHI that this sender may not send",
            Self::RateLimited => "too many requests",
            Self::TlsRequired => "TLS 1.2 or newer is required",
            Self::KeyRetired => "data is sealed under a retired key",
            Self::ConfigInvalid => "service configuration is invalid",
            Self::Internal => "internal error",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody<'a> {
    /// The stable code.
    pub code: ErrorCode,
    /// The fixed message for the code.
    pub message: &'static str,
    /// The request id, also sent as `x-request-id`.
    pub request_id: &'a str,
    /// PHI labels found, only for `PHI_REJECTED` (label names, never values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<&'static str>>,
}

impl<'a> ErrorBody<'a> {
    /// The body for `code` on request `request_id`.
    pub fn new(code: ErrorCode, request_id: &'a str) -> Self {
        Self {
            code,
            message: code.message(),
            request_id,
            labels: None,
        }
    }

    /// The body serialized as JSON.
    pub fn to_json(&self) -> String {
        // Serializing this struct cannot fail: every field is a string or a list of strings.
        serde_json::to_string(self).unwrap_or_else(|_| {
            String::from(r#"{"code":"INTERNAL","message":"internal error","request_id":""}"#)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_wire_name_and_an_error_status() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {code}");
            assert!(code.status() >= 400, "{code} must be an error status");
            assert!(!code.message().is_empty());
        }
    }

    #[test]
    fn error_body_has_exactly_code_message_request_id() {
        let json = ErrorBody::new(ErrorCode::Forbidden, "req-1").to_json();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(v["code"], "FORBIDDEN");
        assert_eq!(v["message"], "not allowed");
        assert_eq!(v["request_id"], "req-1");
        assert_eq!(v.as_object().map(|o| o.len()), Some(3));
    }
}
