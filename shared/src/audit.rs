//! Audit controls (45 CFR 164.312(b)): the events every PHI access and security decision
//! produces. Events carry ids, enums and hashes only: never message text, PHI or tokens.
//!
//! The pieces, in the order a room uses them (SECURITY.md F1–F7):
//! - [`Chain::append`] turns an [`EventDraft`] into a hash-chained [`AuditEvent`] (one chain per
//!   order, `region:<r>` for events with no order); the room stores it in its outbox before it
//!   acknowledges the PHI action.
//! - [`FlushState`] decides which outbox range becomes the next append-only segment object
//!   ([`segment_key`], [`encode_segment`]); [`AuditSigningKey::sign_head`] makes the signed
//!   [`Checkpoint`] written beside it ([`checkpoint_key`]).
//! - [`ExportLine`] is the auditor's JSON Lines export; [`verify`] / [`verify_lines`] report the
//!   first bad position and its [`TamperKind`].
//! - [`RetentionPolicy`] renders and checks the bucket lock and lifecycle rules.

use crate::ids::{DeviceId, OrderId, Role, UserId};
use serde::{Deserialize, Serialize};

/// What happened.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A room was created for an order.
    RoomCreated,
    /// A message was accepted (or refused) by ingest.
    MessageSent,
    /// History was fetched or a read receipt was sent.
    MessageRead,
    /// A proof-of-delivery photo was uploaded.
    MediaUploaded,
    /// A photo was viewed.
    MediaViewed,
    /// The order was marked signed and delivered.
    DeliveredMarked,
    /// A participant's access ended (driver after the TTL, idle logoff).
    AccessEnded,
    /// The room was sealed into an archive and its storage deleted.
    RoomArchived,
    /// An auditor exported the order's history.
    AuditExported,
    /// A token was refused.
    TokenRefused,
    /// A principal was refused an action.
    AccessForbidden,
    /// A live socket was opened.
    LiveConnected,
    /// Emergency (break-glass) access was used. High severity.
    EmergencyAccess,
    /// An operator re-sealed stored data under the active data key (one event per batch of
    /// the rotation command; target: the batch's counts).
    KeysResealed,
}

/// An event before the chain gives it a sequence, a timestamp and hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDraft {
    /// What happened.
    pub action: AuditAction,
    /// Who did it (`None` when no token could be verified).
    pub actor: Option<UserId>,
    /// In which role.
    pub role: Option<Role>,
    /// From which address (the edge's connecting-IP header).
    pub ip: Option<String>,
    /// From which device.
    pub device: Option<DeviceId>,
    /// About which order (`None` for the per-region chain).
    pub order: Option<OrderId>,
    /// The object acted on: a message sequence, a media key, an archive name.
    pub target: Option<String>,
    /// The outcome: `OK` or a stable error code.
    pub outcome: String,
    /// PHI labels found (for `message_sent`), names only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

impl AuditAction {
    /// Every action, in a fixed order.
    pub const ALL: [AuditAction; 14] = [
        Self::RoomCreated,
        Self::MessageSent,
        Self::MessageRead,
        Self::MediaUploaded,
        Self::MediaViewed,
        Self::DeliveredMarked,
        Self::AccessEnded,
        Self::RoomArchived,
        Self::AuditExported,
        Self::TokenRefused,
        Self::AccessForbidden,
        Self::LiveConnected,
        Self::EmergencyAccess,
        Self::KeysResealed,
    ];

    /// The action's wire name (`message_sent`, …), as serialized and as hashed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoomCreated => "room_created",
            Self::MessageSent => "message_sent",
            Self::MessageRead => "message_read",
            Self::MediaUploaded => "media_uploaded",
            Self::MediaViewed => "media_viewed",
            Self::DeliveredMarked => "delivered_marked",
            Self::AccessEnded => "access_ended",
            Self::RoomArchived => "room_archived",
            Self::AuditExported => "audit_exported",
            Self::TokenRefused => "token_refused",
            Self::AccessForbidden => "access_forbidden",
            Self::LiveConnected => "live_connected",
            Self::EmergencyAccess => "emergency_access",
            Self::KeysResealed => "keys_resealed",
        }
    }
}

mod checkpoint;
mod event;
mod export;
mod retention;
mod segment;
mod verify;

pub use checkpoint::{checkpoint_key, AuditPublicKey, AuditSigningKey, Checkpoint};
pub use event::{
    append, append_with, AuditEvent, Chain, ChainHead, ChainId, SealField, GENESIS_HASH,
};
pub use export::{ExportHeader, ExportLine, ExportMessage, ExportTrailer, EXPORT_FORMAT};
pub use retention::RetentionPolicy;
pub use segment::{
    decode_segment, encode_segment, parse_segment_key, segment_key, segment_prefix, FlushPolicy,
    FlushState, SegmentRange,
};
pub use verify::{verify, verify_lines, Failure, Report, StreamVerifier, TamperKind, LOOKAHEAD};

/// The longest line accepted in a segment, an export or a checkpoint file, in bytes. Checked
/// before a line is parsed.
pub const MAX_LINE_BYTES: usize = 256 * 1024;

/// The most events one segment object may hold. Checked before a segment is decoded.
pub const MAX_SEGMENT_EVENTS: usize = 100_000;

/// Why an audit operation failed. Never carries input, PHI or key material.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditError {
    /// A line is longer than [`MAX_LINE_BYTES`].
    LineTooLong,
    /// A line is not the JSON document expected at its place.
    InvalidLine,
    /// An object key is not a segment or checkpoint key of this layout.
    InvalidKey,
    /// A segment's contents do not match the sequence range its key names.
    SegmentMismatch,
    /// A segment holds more than [`MAX_SEGMENT_EVENTS`] events.
    TooManyEvents,
    /// The outbox does not continue the flushed head (a gap or a foreign chain).
    OutboxGap,
    /// A key or signature is not valid base64 of the right length.
    InvalidKeyMaterial,
    /// Reading the input failed.
    Io,
    /// A retention period below the six-year floor was asked for.
    RetentionTooShort,
}

impl std::fmt::Display for AuditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::LineTooLong => "line is over the size limit",
            Self::InvalidLine => "line is not a valid audit record",
            Self::InvalidKey => "object key does not match the audit layout",
            Self::SegmentMismatch => "segment contents do not match its key",
            Self::TooManyEvents => "segment holds too many events",
            Self::OutboxGap => "outbox does not continue the flushed head",
            Self::InvalidKeyMaterial => "key or signature is malformed",
            Self::Io => "reading audit data failed",
            Self::RetentionTooShort => "retention is below six years",
        })
    }
}

impl std::error::Error for AuditError {}
