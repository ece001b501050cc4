//! Audit controls (45 CFR 164.312(b)): the events every PHI access and security decision
//! produces. Events carry ids, enums and hashes only: never message text, PHI or tokens.

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
