//! Closing and archiving a room (45 CFR 164.316(b)(2)(i) retention, 164.312(c)(1) integrity;
//! SECURITY B8, J6, J8): alarms that may fire late, twice or never, and the sealed archive.
//!
//! The adapter's archival run is: [`Room::archive`] (seal; records `room_archived`) → put the
//! blob in the region's bucket → ship and remove the audit outbox → [`Room::finish_archive`]
//! (deletes storage only once the outbox is empty). Every step is safe to repeat.

use crate::audit::{AuditAction, EventDraft};
use crate::ids::{ClientMessageId, OrderId, Region, Role, TenantId, UserId};
use crate::labels::{Label, NamePart, OrderRecord};
use crate::room::{
    Participant, ReadReceipt, Room, RoomError, RoomMeta, RoomStore, SealKind, Write, OUTCOME_OK,
};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Format version of [`ArchiveDoc`].
pub const ARCHIVE_FORMAT: u32 = 1;

/// Messages read from storage per step while building an archive.
const ARCHIVE_PAGE: usize = 500;

/// The object name of a room's archive in the region's bucket:
/// `{region}/rooms/{order_id}/{created_at_ms}.archive`. Order ids are opaque platform ids from a
/// restricted alphabet; the creation time keeps a later room for the same order from ever
/// overwriting an earlier archive.
pub fn archive_name(region: Region, order: &OrderId, created_at_ms: u64) -> String {
    format!(
        "{}/rooms/{}/{}.archive",
        region.as_str(),
        order.as_str(),
        created_at_ms
    )
}

/// What the adapter should do after an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmOutcome {
    /// Nothing is stored (never created, or already archived): delete the alarm.
    Clear,
    /// Re-check every live socket (a deadline may have passed), then set the alarm to this time
    /// (`None`: no alarm until the order is delivered).
    Recheck {
        /// The next deadline, ms since the epoch.
        next_alarm_ms: Option<u64>,
    },
    /// The room is closed: close every socket, then run the archival steps.
    Archive,
}

/// The outcome of [`Room::finish_archive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishArchive {
    /// Storage was deleted now and is verified empty.
    Deleted,
    /// Nothing was stored (a second call, or a late alarm): nothing to do.
    AlreadyDeleted,
    /// The room is not closed yet; nothing was deleted.
    NotDue,
    /// [`Room::archive`] has not sealed the archive yet; nothing was deleted.
    NotSealed,
    /// The audit outbox still holds drafts: ship them, remove them, and call again.
    FlushAudit,
}

/// A sealed archive for the adapter to store under `name` in the region's bucket.
#[derive(Clone, PartialEq, Eq)]
pub struct ArchiveBlob {
    /// The object name ([`archive_name`]).
    pub name: String,
    /// The sealed [`ArchiveDoc`] JSON ([`SealKind::Archive`], object id = `name`).
    pub sealed: Vec<u8>,
    /// How many messages it holds.
    pub message_count: usize,
}

impl std::fmt::Debug for ArchiveBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveBlob")
            .field("name", &self.name)
            .field("sealed_len", &self.sealed.len())
            .field("message_count", &self.message_count)
            .finish()
    }
}

/// A PHI finding in an archived message (ranges into its full-view text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedFinding {
    /// What was found.
    pub label: Label,
    /// Byte range in `text`.
    pub range: Range<usize>,
    /// For a full name, the first name's byte range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<Range<usize>>,
    /// For names, which part.
    #[serde(default)]
    pub name_part: NamePart,
}

/// One message in an archive, in the full view. `Debug` omits the text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedMessage {
    /// Per-room sequence.
    pub seq: u64,
    /// The sender's client message id.
    pub client_id: ClientMessageId,
    /// The sender.
    pub sender: UserId,
    /// The sender's role.
    pub sender_role: Role,
    /// Server time of acceptance (ms).
    pub server_time: u64,
    /// The full-view text (cards masked at ingest).
    pub text: String,
    /// PHI labels found at ingest.
    pub labels: Vec<Label>,
    /// The findings, so an export can render any role's view.
    pub findings: Vec<ArchivedFinding>,
}

/// The plaintext of a room archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveDoc {
    /// [`ARCHIVE_FORMAT`].
    pub format: u32,
    /// The order.
    pub order: OrderId,
    /// The owning tenant.
    pub tenant: TenantId,
    /// The data region.
    pub region: Region,
    /// Who created the room.
    pub created_by: UserId,
    /// Server time of creation (ms).
    pub created_at_ms: u64,
    /// Server time of delivery (ms).
    pub delivered_at_ms: Option<u64>,
    /// When the room closed (ms).
    pub closes_at_ms: Option<u64>,
    /// Participants.
    pub participants: Vec<Participant>,
    /// The order's PHI record.
    pub record: OrderRecord,
    /// Every message, ascending.
    pub messages: Vec<ArchivedMessage>,
    /// Final read positions.
    pub receipts: Vec<ReadReceipt>,
}

impl<S: RoomStore> Room<'_, S> {
    /// Tidies up after an alarm and says what to do next. Idempotent: firing twice or late is
    /// harmless, and access never depends on it (deadlines are checked on every call). Writes
    /// the drivers' `access_ended` drafts once, when their deadline has passed.
    ///
    /// # Errors
    /// `INTERNAL` when storage fails (the adapter retries at the next alarm).
    pub fn on_alarm(&mut self, now_ms: u64) -> Result<AlarmOutcome, RoomError> {
        let Some(meta) = self.store.meta()? else {
            return Ok(AlarmOutcome::Clear);
        };
        let meta = self.record_driver_end(meta, now_ms)?;
        if is_closed(&meta, now_ms) {
            return Ok(AlarmOutcome::Archive);
        }
        Ok(AlarmOutcome::Recheck {
            next_alarm_ms: next_deadline(&meta, now_ms),
        })
    }

    /// When the adapter should set the room's alarm (after create, delivery, or a
    /// `ROOM_CLOSED` answer: the sweep on next access). `Some(now)` when archival is due.
    ///
    /// # Errors
    /// `INTERNAL` when storage fails.
    pub fn next_alarm_ms(&self, now_ms: u64) -> Result<Option<u64>, RoomError> {
        Ok(self.store.meta()?.and_then(|m| {
            if is_closed(&m, now_ms) {
                Some(now_ms)
            } else {
                next_deadline(&m, now_ms)
            }
        }))
    }

    /// Every stored message in the full view (text as stored, cards masked at ingest), with
    /// its findings: what the archive seals and what an auditor's export of a live room holds.
    ///
    /// # Errors
    /// `INTERNAL` when storage fails or a body does not open.
    pub fn full_messages(&self) -> Result<Vec<ArchivedMessage>, RoomError> {
        let mut messages = Vec::new();
        let mut after = 0;
        loop {
            let rows = self.store.messages_after(after, ARCHIVE_PAGE)?;
            let Some(last) = rows.last() else { break };
            after = last.seq;
            for m in rows {
                let body = self.open_body(&m)?;
                let findings = body
                    .findings()?
                    .into_iter()
                    .map(|f| ArchivedFinding {
                        label: f.label,
                        range: f.range,
                        first_name: f.first_name,
                        name_part: f.name_part,
                    })
                    .collect();
                messages.push(ArchivedMessage {
                    seq: m.seq,
                    client_id: m.client_id,
                    sender: m.sender,
                    sender_role: m.sender_role,
                    server_time: m.server_time_ms,
                    text: body.text,
                    labels: m.labels,
                    findings,
                });
            }
        }
        Ok(messages)
    }

    /// Seals the archive of a closed room: meta, record, every message in the full view with
    /// labels and findings, and read positions. The first call records `room_archived` (target:
    /// the object name) and remembers the name; later calls return the same content again
    /// (for a retried put) and record nothing. `None` when no room is stored or it is not
    /// closed yet.
    ///
    /// # Errors
    /// `INTERNAL` when storage, opening or sealing fails; nothing is deleted.
    pub fn archive(&mut self, now_ms: u64) -> Result<Option<ArchiveBlob>, RoomError> {
        let Some(meta) = self.store.meta()? else {
            return Ok(None);
        };
        if !is_closed(&meta, now_ms) {
            return Ok(None);
        }
        let mut meta = self.record_driver_end(meta, now_ms)?;
        let name = archive_name(meta.region, &meta.order, meta.created_at_ms);

        let messages = self.full_messages()?;
        let doc = ArchiveDoc {
            format: ARCHIVE_FORMAT,
            order: meta.order.clone(),
            tenant: meta.tenant.clone(),
            region: meta.region,
            created_by: meta.created_by.clone(),
            created_at_ms: meta.created_at_ms,
            delivered_at_ms: meta.delivered_at_ms,
            closes_at_ms: meta.closes_at_ms,
            participants: meta.participants.clone(),
            record: self.open_record(&meta)?,
            receipts: self
                .store
                .receipts()?
                .into_iter()
                .map(|(user, seq)| ReadReceipt { user, seq })
                .collect(),
            messages,
        };
        let message_count = doc.messages.len();
        let plain = serde_json::to_vec(&doc).map_err(|_| RoomError::Encoding)?;
        let sealed = self.sealer.seal(SealKind::Archive, &name, &plain)?;

        if meta.archive_name.is_none() {
            meta.archive_name = Some(name.clone());
            let draft = system_draft(&meta, AuditAction::RoomArchived, Some(name.clone()));
            self.store
                .commit(vec![Write::PutMeta(meta), Write::audit(now_ms, draft)])?;
        }
        Ok(Some(ArchiveBlob {
            name,
            sealed,
            message_count,
        }))
    }

    /// Deletes the room's storage once the archive is sealed and the audit outbox is empty,
    /// then verifies that nothing is left. Safe to call any number of times (SECURITY J6, J8).
    ///
    /// # Errors
    /// `INTERNAL` when storage fails or is not empty after deletion (call again).
    pub fn finish_archive(&mut self, now_ms: u64) -> Result<FinishArchive, RoomError> {
        let Some(meta) = self.store.meta()? else {
            return Ok(FinishArchive::AlreadyDeleted);
        };
        if !is_closed(&meta, now_ms) {
            return Ok(FinishArchive::NotDue);
        }
        if meta.archive_name.is_none() {
            return Ok(FinishArchive::NotSealed);
        }
        if !self.store.audit_outbox(1)?.is_empty() {
            return Ok(FinishArchive::FlushAudit);
        }
        self.store.delete_all()?;
        if !self.store.is_empty()? {
            return Err(RoomError::Store(crate::room::StoreError::Unavailable));
        }
        Ok(FinishArchive::Deleted)
    }

    /// Writes one `access_ended` draft per driver once the driver deadline has passed.
    fn record_driver_end(
        &mut self,
        mut meta: RoomMeta,
        now_ms: u64,
    ) -> Result<RoomMeta, RoomError> {
        let Some(ended_at) = meta.driver_access_ends_ms.filter(|t| now_ms >= *t) else {
            return Ok(meta);
        };
        if meta.driver_end_recorded {
            return Ok(meta);
        }
        meta.driver_end_recorded = true;
        let mut writes: Vec<Write> = meta
            .participants
            .iter()
            .filter(|p| p.role == Role::Driver)
            .map(|p| {
                let mut d =
                    system_draft(&meta, AuditAction::AccessEnded, Some("driver_ttl".into()));
                d.actor = Some(p.user.clone());
                d.role = Some(Role::Driver);
                Write::audit(ended_at, d)
            })
            .collect();
        writes.insert(0, Write::PutMeta(meta.clone()));
        self.store.commit(writes)?;
        Ok(meta)
    }
}

fn is_closed(meta: &RoomMeta, now_ms: u64) -> bool {
    meta.closes_at_ms.is_some_and(|t| now_ms >= t)
}

/// The next stored deadline after `now_ms`.
fn next_deadline(meta: &RoomMeta, now_ms: u64) -> Option<u64> {
    [meta.driver_access_ends_ms, meta.closes_at_ms]
        .into_iter()
        .flatten()
        .find(|t| *t > now_ms)
}

/// A draft for an action the room takes by itself (no caller, no device, no IP).
fn system_draft(meta: &RoomMeta, action: AuditAction, target: Option<String>) -> EventDraft {
    EventDraft {
        action,
        actor: None,
        role: None,
        ip: None,
        device: None,
        order: Some(meta.order.clone()),
        target,
        outcome: OUTCOME_OK.to_owned(),
        labels: Vec::new(),
    }
}

impl std::fmt::Debug for ArchivedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchivedMessage")
            .field("seq", &self.seq)
            .field("sender_role", &self.sender_role)
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}
