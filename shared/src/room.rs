//! Order chat rooms (45 CFR 164.312(a)(1) access control, (b) audit, (c)(1) integrity; issue 5):
//! the room as a state machine over synchronous storage, with no platform code and no async.
//!
//! A [`Room`] is built per call over a [`RoomStore`] and keeps nothing in memory, so a Durable
//! Object may be evicted between any two calls. Deadlines are checked on every call from the
//! stored times (SECURITY B8, J6); alarms only tidy up. Every state change and its audit draft
//! are stored by one atomic [`RoomStore::commit`].
//!
//! Lifecycle: created → active → delivered (driver access ends at delivered + driver TTL) →
//! closed (delivered + close TTL) → archived (sealed archive handed to the adapter, storage
//! deleted).

mod archive;
pub mod live;
mod messages;
mod seams;
mod store;
mod wire;

pub use archive::{
    archive_name, AlarmOutcome, ArchiveBlob, ArchiveDoc, ArchivedFinding, ArchivedMessage,
    FinishArchive, ARCHIVE_FORMAT,
};
pub use live::LiveConfig;
pub use messages::{ReadOutcome, RoleViews, Sent};
pub use seams::{PhiScanner, ScanError, SealError, SealKind, Sealer, ORDER_RECORD_OBJECT_ID};
pub use store::{
    MemoryStore, OutboxEntry, Participant, RoomMeta, RoomStore, StoreError, StoredMessage, Write,
};
pub use wire::{
    Ack, CreateRoom, HistoryQuery, MarkRead, MessageView, Page, ReadReceipt, RoomState, RoomView,
    SendMessage,
};

use crate::api::ErrorCode;
use crate::audit::{AuditAction, EventDraft};
use crate::claims::{Principal, Scope};
use crate::ids::{OrderId, Region, Role};
use crate::labels::{Label, OrderRecord};
use crate::policy::{self, Action, Visibility};
use std::fmt;

/// The outcome string of a successful audited action.
pub const OUTCOME_OK: &str = "OK";

/// The longest accepted string field of an order record, in bytes.
pub const MAX_RECORD_FIELD_BYTES: usize = 256;

/// The most medications an order record may list.
pub const MAX_RECORD_MEDICATIONS: usize = 64;

/// Deployment settings for rooms. Times are in milliseconds so tests can use seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomConfig {
    /// The deployment's region; rooms are created only for principals of this region.
    pub region: Region,
    /// Longest message text, in UTF-8 bytes (default 4 KiB).
    pub max_text_bytes: usize,
    /// The driver's access ends this long after delivery (default 30 minutes).
    pub driver_ttl_ms: u64,
    /// The room closes for everyone this long after delivery (default 24 hours).
    pub close_ttl_ms: u64,
    /// Most participants in one room (default 16).
    pub max_participants: usize,
    /// History page size when none is asked for (default 50).
    pub history_default_limit: u32,
    /// Largest history page (default 100).
    pub history_max_limit: u32,
    /// Most messages replayed to a reconnecting socket in one go (default 1000).
    pub resume_max: usize,
    /// WebSocket limits.
    pub live: LiveConfig,
}

impl RoomConfig {
    /// The default settings for `region`.
    pub fn new(region: Region) -> Self {
        Self {
            region,
            max_text_bytes: 4 * 1024,
            driver_ttl_ms: 30 * 60 * 1000,
            close_ttl_ms: 24 * 60 * 60 * 1000,
            max_participants: 16,
            history_default_limit: 50,
            history_max_limit: 100,
            resume_max: 1000,
            live: LiveConfig::default(),
        }
    }

    /// Whether the settings are coherent: every limit positive, the driver's access ending no
    /// later than the room closes.
    pub fn is_valid(&self) -> bool {
        self.max_text_bytes > 0
            && self.max_participants > 0
            && self.history_default_limit > 0
            && self.history_default_limit <= self.history_max_limit
            && self.resume_max > 0
            && self.driver_ttl_ms <= self.close_ttl_ms
            && self.live.is_valid()
    }
}

/// One request's context: who calls, for which order (from the route, never the body), when,
/// from where, and whether the adapter verified an active emergency grant for them. `Debug`
/// omits the IP.
#[derive(Clone, Copy)]
pub struct Caller<'r> {
    /// The verified principal.
    pub principal: &'r Principal,
    /// The order named by the route (or bound to the socket).
    pub order: &'r OrderId,
    /// Server time of the request (ms since the epoch).
    pub now_ms: u64,
    /// The connecting IP, for audit only.
    pub ip: Option<&'r str>,
    /// Set only when the adapter verified an active emergency (break-glass) grant for this
    /// principal and order. Lets tenant staff outside the participant list read (SECURITY B9).
    pub emergency: bool,
}

impl fmt::Debug for Caller<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller")
            .field("principal", self.principal)
            .field("order", self.order)
            .field("now_ms", &self.now_ms)
            .field("emergency", &self.emergency)
            .finish_non_exhaustive()
    }
}

impl Caller<'_> {
    /// An audit draft for `action` by this caller.
    pub fn draft(&self, action: AuditAction, target: Option<String>, outcome: &str) -> EventDraft {
        EventDraft {
            action,
            actor: Some(self.principal.user().clone()),
            role: Some(self.principal.role()),
            ip: self.ip.map(str::to_owned),
            device: Some(self.principal.device().clone()),
            order: Some(self.order.clone()),
            target,
            outcome: outcome.to_owned(),
            labels: Vec::new(),
        }
    }

    /// The draft the adapter sends to the audit sink when the room refused this caller with
    /// `error` (refusals are not stored in the room: a refused outsider must leave no trace in
    /// a room that may not exist).
    pub fn refusal_draft(&self, error: &RoomError) -> EventDraft {
        let action = match error {
            RoomError::AccessEnded => AuditAction::AccessEnded,
            _ => AuditAction::AccessForbidden,
        };
        self.draft(action, None, error.code().as_str())
    }
}

/// Why a room call failed. Maps to one stable [`ErrorCode`]; never carries input or PHI.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomError {
    /// `FORBIDDEN`: not a participant, out of scope or region, or the role may not do this.
    /// Identical whether the room exists or not.
    Forbidden,
    /// `UNAUTHENTICATED`: the principal's token has expired.
    Unauthenticated,
    /// `ACCESS_ENDED`: the driver's access ended (delivered + driver TTL).
    AccessEnded,
    /// `ROOM_CLOSED`: the room is closed for everyone.
    RoomClosed,
    /// `ROOM_EXISTS`: the order already has a room.
    RoomExists,
    /// `DUPLICATE_ID_CONFLICT`: the client message id was used with other content.
    DuplicateIdConflict,
    /// `PHI_REJECTED`: the sender's policy rejects these labels.
    PhiRejected(Vec<Label>),
    /// `PAYLOAD_TOO_LARGE`: the text or frame is over its byte limit.
    PayloadTooLarge,
    /// `INVALID_REQUEST`: a field failed validation.
    InvalidRequest,
    /// `INVALID_JSON`: a frame is not the JSON its type expects.
    InvalidJson,
    /// `RATE_LIMITED`: too many frames.
    RateLimited,
    /// `INTERNAL`: storage failed.
    Store(StoreError),
    /// `INTERNAL` (or `KEY_RETIRED`): sealing or opening failed.
    Seal(SealError),
    /// `INTERNAL`: the PHI scan failed (the message is refused: fail closed).
    Scan(ScanError),
    /// `INTERNAL`: a stored or sealed document did not encode or decode.
    Encoding,
}

impl RoomError {
    /// The stable wire code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Forbidden => ErrorCode::Forbidden,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::AccessEnded => ErrorCode::AccessEnded,
            Self::RoomClosed => ErrorCode::RoomClosed,
            Self::RoomExists => ErrorCode::RoomExists,
            Self::DuplicateIdConflict => ErrorCode::DuplicateIdConflict,
            Self::PhiRejected(_) => ErrorCode::PhiRejected,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::InvalidRequest => ErrorCode::InvalidRequest,
            Self::InvalidJson => ErrorCode::InvalidJson,
            Self::RateLimited => ErrorCode::RateLimited,
            Self::Seal(SealError::KeyRetired) => ErrorCode::KeyRetired,
            Self::Store(_) | Self::Seal(_) | Self::Scan(_) | Self::Encoding => ErrorCode::Internal,
        }
    }

    /// The label names for a `PHI_REJECTED` body, `None` for every other error.
    pub fn labels(&self) -> Option<Vec<&'static str>> {
        match self {
            Self::PhiRejected(labels) => Some(labels.iter().map(|l| l.as_str()).collect()),
            _ => None,
        }
    }
}

impl fmt::Display for RoomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store(e) => write!(f, "room storage failed: {e}"),
            Self::Seal(e) => write!(f, "room sealing failed: {e}"),
            Self::Scan(e) => write!(f, "room phi scan failed: {e}"),
            Self::Encoding => f.write_str("room document did not encode or decode"),
            other => f.write_str(other.code().message()),
        }
    }
}

impl std::error::Error for RoomError {}

impl From<StoreError> for RoomError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<SealError> for RoomError {
    fn from(e: SealError) -> Self {
        Self::Seal(e)
    }
}

impl From<ScanError> for RoomError {
    fn from(e: ScanError) -> Self {
        Self::Scan(e)
    }
}

/// What an authorized caller is to the room.
#[derive(Debug, Clone)]
pub(crate) struct Access {
    /// The stored metadata, read once for this call.
    pub(crate) meta: RoomMeta,
    /// The role whose view the caller gets.
    pub(crate) role: Role,
    /// Whether access comes from an emergency grant rather than membership.
    pub(crate) emergency: bool,
}

/// One order's room over its storage. Build one per call; it holds no state of its own.
pub struct Room<'a, S: RoomStore> {
    store: &'a mut S,
    scanner: &'a dyn PhiScanner,
    sealer: &'a dyn Sealer,
    config: &'a RoomConfig,
}

impl<S: RoomStore> fmt::Debug for Room<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Room(..)")
    }
}

impl<'a, S: RoomStore> Room<'a, S> {
    /// A room over `store`, redacting with `scanner` and sealing with `sealer` (which must be
    /// bound to this room's region and order).
    pub fn new(
        store: &'a mut S,
        scanner: &'a dyn PhiScanner,
        sealer: &'a dyn Sealer,
        config: &'a RoomConfig,
    ) -> Self {
        Self {
            store,
            scanner,
            sealer,
            config,
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        self.store
    }

    /// Creates the room for `caller.order`.
    ///
    /// Only a pharmacist or dispatcher with a tenant scope, in this deployment's region, may
    /// create; the caller's tenant becomes the room's. The creator is added to the participants
    /// if missing. Writes the meta and a `room_created` draft in one commit.
    ///
    /// # Errors
    /// `FORBIDDEN` (wrong role, scope or region; or the room exists under another tenant),
    /// `ROOM_EXISTS` (the caller's tenant already has it), `INVALID_REQUEST` (participants or
    /// record fail validation), `INTERNAL`.
    pub fn create(&mut self, caller: &Caller<'_>, req: CreateRoom) -> Result<RoomView, RoomError> {
        let p = caller.principal;
        check_token(caller)?;
        let tenant = match p.scope() {
            Scope::Tenant(t) if policy::allows(p.role(), Action::CreateRoom) => t.clone(),
            _ => return Err(RoomError::Forbidden),
        };
        if p.region() != self.config.region {
            return Err(RoomError::Forbidden);
        }
        if let Some(existing) = self.store.meta()? {
            let same_room = existing.order == *caller.order && existing.region == p.region();
            return Err(if same_room && p.covers(caller.order, &existing.tenant) {
                RoomError::RoomExists
            } else {
                RoomError::Forbidden
            });
        }

        let participants = self.validate_participants(caller, req.participants)?;
        validate_record(&req.record)?;

        let record_json = serde_json::to_vec(&req.record).map_err(|_| RoomError::Encoding)?;
        let sealed_record =
            self.sealer
                .seal(SealKind::OrderRecord, ORDER_RECORD_OBJECT_ID, &record_json)?;
        let meta = RoomMeta {
            order: caller.order.clone(),
            tenant,
            region: self.config.region,
            participants,
            sealed_record,
            created_by: p.user().clone(),
            created_at_ms: caller.now_ms,
            delivered_at_ms: None,
            driver_access_ends_ms: None,
            closes_at_ms: None,
            driver_end_recorded: false,
            archive_name: None,
        };
        let draft = caller.draft(AuditAction::RoomCreated, None, OUTCOME_OK);
        self.store.commit(vec![
            Write::PutMeta(meta.clone()),
            Write::audit(caller.now_ms, draft),
        ])?;

        self.room_view(&meta, p.role(), caller.now_ms, 0)
    }

    /// The room as the caller's role may see it (`GET /v1/rooms/{order_id}`). Records a
    /// `message_read` draft (target `room`) when the view includes the order record.
    ///
    /// # Errors
    /// `FORBIDDEN`, `UNAUTHENTICATED`, `ACCESS_ENDED`, `ROOM_CLOSED`, `INTERNAL`.
    pub fn view(&mut self, caller: &Caller<'_>) -> Result<RoomView, RoomError> {
        let access = self.authorize(caller, Action::ReadHistory)?;
        let last_seq = self.store.last_seq()?;
        let view = self.room_view(&access.meta, access.role, caller.now_ms, last_seq)?;
        let mut writes = Vec::new();
        if access.emergency {
            writes.push(Write::audit(
                caller.now_ms,
                caller.draft(
                    AuditAction::EmergencyAccess,
                    Some("room".to_owned()),
                    OUTCOME_OK,
                ),
            ));
        }
        if view.record.is_some() {
            writes.push(Write::audit(
                caller.now_ms,
                caller.draft(
                    AuditAction::MessageRead,
                    Some("room".to_owned()),
                    OUTCOME_OK,
                ),
            ));
        }
        if !writes.is_empty() {
            self.store.commit(writes)?;
        }
        Ok(view)
    }

    /// Marks the order signed and delivered at server time (driver or pharmacist participant).
    /// Fixes the driver and close deadlines. A second call changes nothing and records nothing.
    ///
    /// # Errors
    /// `FORBIDDEN`, `UNAUTHENTICATED`, `ACCESS_ENDED`, `ROOM_CLOSED`, `INTERNAL`.
    pub fn mark_delivered(&mut self, caller: &Caller<'_>) -> Result<RoomView, RoomError> {
        let access = self.authorize(caller, Action::MarkDelivered)?;
        if access.emergency {
            return Err(RoomError::Forbidden);
        }
        let mut meta = access.meta;
        if meta.delivered_at_ms.is_none() {
            let now = caller.now_ms;
            meta.delivered_at_ms = Some(now);
            meta.driver_access_ends_ms = Some(now.saturating_add(self.config.driver_ttl_ms));
            meta.closes_at_ms = Some(now.saturating_add(self.config.close_ttl_ms));
            let draft = caller.draft(AuditAction::DeliveredMarked, None, OUTCOME_OK);
            self.store.commit(vec![
                Write::PutMeta(meta.clone()),
                Write::audit(caller.now_ms, draft),
            ])?;
        }
        let last_seq = self.store.last_seq()?;
        self.room_view(&meta, access.role, caller.now_ms, last_seq)
    }

    /// Whether the caller may still hold a live socket: the per-frame check the adapter runs
    /// before handling each frame and on each alarm. Records nothing.
    ///
    /// # Errors
    /// The error to close the socket with (see [`live::Close::for_error`]).
    pub fn check_live(&self, caller: &Caller<'_>) -> Result<Role, RoomError> {
        self.authorize(caller, Action::ConnectLive).map(|a| a.role)
    }

    /// The lifecycle state at `now_ms`, `None` when no room is stored.
    ///
    /// # Errors
    /// `INTERNAL` when storage fails.
    pub fn state(&self, now_ms: u64) -> Result<Option<RoomState>, RoomError> {
        Ok(self.store.meta()?.map(|m| state_at(&m, now_ms)))
    }

    /// Access control, in order: the room exists and is this order's; region; scope; the role
    /// may do `action`; membership (or an emergency read grant); then deadlines. Everything
    /// before the deadlines answers the same `FORBIDDEN`, so outsiders learn nothing (B1, B2).
    pub(crate) fn authorize(
        &self,
        caller: &Caller<'_>,
        action: Action,
    ) -> Result<Access, RoomError> {
        let p = caller.principal;
        check_token(caller)?;
        let meta = self.store.meta()?.ok_or(RoomError::Forbidden)?;
        if meta.order != *caller.order
            || meta.region != p.region()
            || !p.covers(&meta.order, &meta.tenant)
            || !policy::allows(p.role(), action)
        {
            return Err(RoomError::Forbidden);
        }

        let member = meta
            .participants
            .iter()
            .any(|m| m.user == *p.user() && m.role == p.role());
        let emergency = !member
            && caller.emergency
            && matches!(p.scope(), Scope::Tenant(_))
            && matches!(p.role(), Role::Pharmacist | Role::Dispatcher)
            && matches!(action, Action::ReadHistory | Action::ConnectLive);
        if !member && !emergency {
            return Err(RoomError::Forbidden);
        }

        if meta.closes_at_ms.is_some_and(|t| caller.now_ms >= t) {
            return Err(RoomError::RoomClosed);
        }
        if p.role() == Role::Driver
            && meta
                .driver_access_ends_ms
                .is_some_and(|t| caller.now_ms >= t)
        {
            return Err(RoomError::AccessEnded);
        }
        Ok(Access {
            meta,
            role: p.role(),
            emergency,
        })
    }

    fn validate_participants(
        &self,
        caller: &Caller<'_>,
        mut list: Vec<Participant>,
    ) -> Result<Vec<Participant>, RoomError> {
        let p = caller.principal;
        if !list.iter().any(|m| m.user == *p.user()) {
            list.push(Participant {
                user: p.user().clone(),
                role: p.role(),
            });
        }
        if list.len() > self.config.max_participants {
            return Err(RoomError::InvalidRequest);
        }
        let mut seen = std::collections::HashSet::new();
        for m in &list {
            let creator_mismatch = m.user == *p.user() && m.role != p.role();
            if m.role == Role::Auditor || creator_mismatch || !seen.insert(&m.user) {
                return Err(RoomError::InvalidRequest);
            }
        }
        Ok(list)
    }

    fn open_record(&self, meta: &RoomMeta) -> Result<OrderRecord, RoomError> {
        let bytes = self.sealer.open(
            SealKind::OrderRecord,
            ORDER_RECORD_OBJECT_ID,
            &meta.sealed_record,
        )?;
        serde_json::from_slice(&bytes).map_err(|_| RoomError::Encoding)
    }

    fn room_view(
        &self,
        meta: &RoomMeta,
        role: Role,
        now_ms: u64,
        last_seq: u64,
    ) -> Result<RoomView, RoomError> {
        let record = if may_see_record(role) {
            Some(self.open_record(meta)?)
        } else {
            None
        };
        Ok(RoomView {
            order: meta.order.clone(),
            region: meta.region,
            state: state_at(meta, now_ms),
            participants: meta.participants.clone(),
            created_at_ms: meta.created_at_ms,
            delivered_at_ms: meta.delivered_at_ms,
            driver_access_ends_ms: meta.driver_access_ends_ms,
            closes_at_ms: meta.closes_at_ms,
            last_seq,
            record,
        })
    }
}

/// Refuses a principal whose token has expired (a socket may outlive its token: SECURITY D6).
fn check_token(caller: &Caller<'_>) -> Result<(), RoomError> {
    if caller.now_ms >= caller.principal.expires_at_ms() {
        Err(RoomError::Unauthenticated)
    } else {
        Ok(())
    }
}

/// Whether `role` sees every field of the order record unredacted (then it gets the record).
fn may_see_record(role: Role) -> bool {
    [
        Label::Name,
        Label::Dob,
        Label::Mrn,
        Label::InsuranceId,
        Label::Medication,
        Label::Phone,
    ]
    .into_iter()
    .all(|l| policy::visibility(role, l) == Visibility::Visible)
}

fn validate_record(r: &OrderRecord) -> Result<(), RoomError> {
    let fields = [&r.patient_name, &r.dob, &r.mrn, &r.member_id, &r.phone];
    let too_long = fields
        .iter()
        .any(|f| f.as_ref().is_some_and(|s| s.len() > MAX_RECORD_FIELD_BYTES))
        || r.medications.len() > MAX_RECORD_MEDICATIONS
        || r.medications
            .iter()
            .any(|m| m.is_empty() || m.len() > MAX_RECORD_FIELD_BYTES);
    if too_long {
        Err(RoomError::InvalidRequest)
    } else {
        Ok(())
    }
}

/// The lifecycle state of `meta` at `now_ms`, from stored times only.
pub fn state_at(meta: &RoomMeta, now_ms: u64) -> RoomState {
    if meta.closes_at_ms.is_some_and(|t| now_ms >= t) {
        RoomState::Closed
    } else if meta.driver_access_ends_ms.is_some_and(|t| now_ms >= t) {
        RoomState::DriverAccessEnded
    } else if meta.delivered_at_ms.is_some() {
        RoomState::Delivered
    } else {
        RoomState::Active
    }
}
