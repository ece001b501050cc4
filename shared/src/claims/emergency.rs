//! Emergency access procedure (45 CFR 164.312(a)(2)(ii), SECURITY.md B9): a pharmacist or
//! dispatcher of the order's tenant may open a room outside normal membership, only by stating a
//! reason, for a limited time, and always with a high-severity audit event.
//!
//! The reason is a code from a fixed list plus a free-text note. The code goes into the audit
//! event; the note may carry PHI ("patient reports chest pain"), so it never goes to a log or an
//! audit record: it prints as a placeholder, is zeroized on drop, and is meant to be stored only
//! sealed, for the break-glass review.

use super::Principal;
use crate::audit::{AuditAction, EventDraft};
use crate::ids::{OrderId, Region, Role, TenantId, UserId};
use std::fmt;
use zeroize::Zeroizing;

/// The longest note accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 500;
/// The longest grant, in milliseconds (60 minutes).
pub const MAX_GRANT_MS: u64 = 60 * 60 * 1000;

/// Why emergency access is needed. A fixed list, so that reviews can count and compare.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmergencyReason {
    /// A risk to the patient's health that needs the conversation now.
    PatientSafety,
    /// The delivery went wrong (wrong address, missing package, incident on the way).
    DeliveryIncident,
    /// The assigned participant cannot be reached and someone must take over.
    ParticipantUnreachable,
    /// Normal assignment is broken by an outage of the platform or its integrations.
    SystemOutage,
}

impl EmergencyReason {
    /// Every reason, in a fixed order.
    pub const ALL: [EmergencyReason; 4] = [
        Self::PatientSafety,
        Self::DeliveryIncident,
        Self::ParticipantUnreachable,
        Self::SystemOutage,
    ];

    /// The reason's wire and audit name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PatientSafety => "patient_safety",
            Self::DeliveryIncident => "delivery_incident",
            Self::ParticipantUnreachable => "participant_unreachable",
            Self::SystemOutage => "system_outage",
        }
    }

    /// The reason for a wire name, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// Why emergency access was refused (answer: 403 FORBIDDEN).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmergencyError {
    /// Only pharmacists and dispatchers may use emergency access.
    RoleNotAllowed,
    /// The principal's tenant is not the order's tenant.
    OtherTenant,
    /// The principal's region is not the order's region.
    OtherRegion,
    /// The note is empty or only whitespace.
    NoteMissing,
    /// The note is longer than [`MAX_NOTE_BYTES`].
    NoteTooLong,
    /// The requested duration is zero or longer than [`MAX_GRANT_MS`].
    Duration,
}

impl EmergencyError {
    /// A stable snake_case name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoleNotAllowed => "role_not_allowed",
            Self::OtherTenant => "other_tenant",
            Self::OtherRegion => "other_region",
            Self::NoteMissing => "note_missing",
            Self::NoteTooLong => "note_too_long",
            Self::Duration => "duration",
        }
    }
}

impl fmt::Display for EmergencyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RoleNotAllowed => "role may not use emergency access",
            Self::OtherTenant => "order belongs to another tenant",
            Self::OtherRegion => "order belongs to another region",
            Self::NoteMissing => "a reason is required",
            Self::NoteTooLong => "reason is too long",
            Self::Duration => "duration is out of range",
        })
    }
}

impl std::error::Error for EmergencyError {}

/// The free-text part of the reason. Never printed, never logged; zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct ReasonNote(Zeroizing<String>);

impl ReasonNote {
    /// The note's text, for sealing into the break-glass review record only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ReasonNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReasonNote({} bytes)", self.0.len())
    }
}

/// What the person asks for: a reason and how long they need.
#[derive(Debug)]
pub struct EmergencyRequest {
    /// The reason code.
    pub reason: EmergencyReason,
    /// The free-text reason (at most 500 bytes).
    pub note: ReasonNote,
    /// How long access is needed, in ms (at most 60 minutes).
    pub duration_ms: u64,
}

impl EmergencyRequest {
    /// A request; the note is wrapped at once so that it cannot be printed by accident.
    pub fn new(reason: EmergencyReason, note: String, duration_ms: u64) -> Self {
        Self {
            reason,
            note: ReasonNote(Zeroizing::new(note)),
            duration_ms,
        }
    }
}

/// Time-limited access for one person to one order's room, outside normal membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyGrant {
    user: UserId,
    role: Role,
    order: OrderId,
    tenant: TenantId,
    reason: EmergencyReason,
    note: ReasonNote,
    granted_at_ms: u64,
    expires_at_ms: u64,
}

impl EmergencyGrant {
    /// Who holds the grant.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// In which role it was granted.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The order whose room it opens.
    pub fn order(&self) -> &OrderId {
        &self.order
    }

    /// The tenant of that order.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The reason code.
    pub fn reason(&self) -> EmergencyReason {
        self.reason
    }

    /// The free-text reason (never log it).
    pub fn note(&self) -> &ReasonNote {
        &self.note
    }

    /// When it was granted, ms since the epoch.
    pub fn granted_at_ms(&self) -> u64 {
        self.granted_at_ms
    }

    /// When it ends, ms since the epoch.
    pub fn expires_at_ms(&self) -> u64 {
        self.expires_at_ms
    }

    /// Whether `principal` may use this grant for `order` at `now_ms`: same person, same order,
    /// not yet expired (B9: reuse by another user or after expiry is refused).
    pub fn permits(&self, principal: &Principal, order: &OrderId, now_ms: u64) -> bool {
        principal.user() == &self.user
            && principal.role() == self.role
            && order == &self.order
            && now_ms >= self.granted_at_ms
            && now_ms < self.expires_at_ms
    }
}

/// Decides an emergency request by `principal` for `order` of `order_tenant` in `order_region`.
///
/// Returns the grant and the high-severity audit event to record (`emergency_access`, target
/// `reason:<code>`; the note is not in it). The caller records the event before opening the
/// room, and a refused request as `access_forbidden`.
///
/// # Errors
///
/// [`EmergencyError`] when the role, tenant, region, note or duration does not qualify.
pub fn grant_emergency_access(
    principal: &Principal,
    order: &OrderId,
    order_tenant: &TenantId,
    order_region: Region,
    request: EmergencyRequest,
    now_ms: u64,
) -> Result<(EmergencyGrant, EventDraft), EmergencyError> {
    if !matches!(principal.role(), Role::Pharmacist | Role::Dispatcher) {
        return Err(EmergencyError::RoleNotAllowed);
    }
    if !matches!(principal.scope(), super::Scope::Tenant(t) if t == order_tenant) {
        return Err(EmergencyError::OtherTenant);
    }
    if principal.region() != order_region {
        return Err(EmergencyError::OtherRegion);
    }
    let note = request.note.expose();
    if note.len() > MAX_NOTE_BYTES {
        return Err(EmergencyError::NoteTooLong);
    }
    if note.trim().is_empty() {
        return Err(EmergencyError::NoteMissing);
    }
    if request.duration_ms == 0 || request.duration_ms > MAX_GRANT_MS {
        return Err(EmergencyError::Duration);
    }

    let grant = EmergencyGrant {
        user: principal.user().clone(),
        role: principal.role(),
        order: order.clone(),
        tenant: order_tenant.clone(),
        reason: request.reason,
        note: request.note,
        granted_at_ms: now_ms,
        expires_at_ms: now_ms.saturating_add(request.duration_ms),
    };
    let event = EventDraft {
        action: AuditAction::EmergencyAccess,
        actor: Some(principal.user().clone()),
        role: Some(principal.role()),
        ip: None,
        device: Some(principal.device().clone()),
        order: Some(order.clone()),
        target: Some(format!("reason:{}", request.reason.as_str())),
        outcome: String::from("OK"),
        labels: Vec::new(),
    };
    Ok((grant, event))
}
