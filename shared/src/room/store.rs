//! Room storage (45 CFR 164.312(c)(1)): the synchronous storage contract a room runs on, and
//! [`MemoryStore`], a complete in-memory implementation for native tests and tools.
//!
//! Every change goes through [`RoomStore::commit`], which applies a batch of [`Write`]s all or
//! nothing. A message, its audit draft and any meta change of one action travel in one batch,
//! so an acknowledged action always has its audit draft stored (SECURITY F5, J2).

use crate::audit::EventDraft;
use crate::ids::{ClientMessageId, OrderId, Region, Role, TenantId, UserId};
use crate::labels::Label;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Why storage failed. Never carries stored data.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// The storage backend refused or failed the operation.
    Unavailable,
    /// A write would break a uniqueness rule (sequence or client message id already stored).
    Conflict,
    /// Stored data could not be decoded.
    Corrupt,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unavailable => "room storage is unavailable",
            Self::Conflict => "room storage write conflicts with stored data",
            Self::Corrupt => "room storage holds undecodable data",
        })
    }
}

impl std::error::Error for StoreError {}

/// A member of a room: a person in one role. No names are stored, only opaque user ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Participant {
    /// The person (`sub`).
    pub user: UserId,
    /// The role they take part in.
    pub role: Role,
}

/// The room's single metadata row. Deadlines are fixed when the order is delivered, so a later
/// configuration change never reopens or shortens a running room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMeta {
    /// The order this room belongs to.
    pub order: OrderId,
    /// The tenant of the creator; staff scopes are checked against it.
    pub tenant: TenantId,
    /// The region the room's data lives in.
    pub region: Region,
    /// Who may take part, and in which role.
    pub participants: Vec<Participant>,
    /// The order's PHI record, sealed ([`crate::room::SealKind::OrderRecord`]).
    pub sealed_record: Vec<u8>,
    /// Who created the room.
    pub created_by: UserId,
    /// Server time of creation (ms since the epoch).
    pub created_at_ms: u64,
    /// Server time the order was marked delivered, once it was.
    pub delivered_at_ms: Option<u64>,
    /// When the driver's access ends (delivered + driver TTL), once delivered.
    pub driver_access_ends_ms: Option<u64>,
    /// When the room closes for everyone (delivered + close TTL), once delivered.
    pub closes_at_ms: Option<u64>,
    /// Whether the `access_ended` audit drafts for drivers were already written.
    pub driver_end_recorded: bool,
    /// The archive object name, once the archive was sealed.
    pub archive_name: Option<String>,
}

/// One stored message. Only `body` holds message content, and it is sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    /// Per-room sequence number, from 1, gap-free.
    pub seq: u64,
    /// The sender's idempotency key (unique per sender).
    pub client_id: ClientMessageId,
    /// Who sent it.
    pub sender: UserId,
    /// In which role.
    pub sender_role: Role,
    /// Server time of acceptance (ms since the epoch).
    pub server_time_ms: u64,
    /// PHI labels found at ingest (names only, stored in clear for filtering and audit).
    pub labels: Vec<Label>,
    /// The sealed body ([`crate::room::SealKind::Message`], object id = `seq` in decimal).
    pub body: Vec<u8>,
}

/// One audit draft waiting in the room's outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Increasing id, never reused within the room's life: the key to remove drafts once the
    /// audit chain has them, and to deduplicate a draft shipped twice.
    pub id: u64,
    /// Server time of the action the draft records (ms). The chain's own timestamp may be
    /// later, when the outbox is shipped.
    pub at_ms: u64,
    /// The draft.
    pub draft: EventDraft,
}

/// One change in an atomic [`RoomStore::commit`] batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Insert or replace the room's metadata row.
    PutMeta(RoomMeta),
    /// Insert a message. Fails the whole batch with [`StoreError::Conflict`] if its `seq` or its
    /// (`sender`, `client_id`) pair is already stored.
    InsertMessage(StoredMessage),
    /// Set a participant's last read sequence.
    PutReceipt {
        /// The reader.
        user: UserId,
        /// The last sequence they have read.
        seq: u64,
    },
    /// Append an audit draft to the outbox.
    AppendAudit {
        /// Server time of the action (ms).
        at_ms: u64,
        /// The draft.
        draft: EventDraft,
    },
}

impl Write {
    /// An [`Write::AppendAudit`] of `draft` for an action at `at_ms`.
    pub fn audit(at_ms: u64, draft: EventDraft) -> Self {
        Self::AppendAudit { at_ms, draft }
    }
}

/// Synchronous storage for one room (one Durable Object). All state lives here: the room keeps
/// nothing in memory between calls, so the object may be evicted between any two calls.
pub trait RoomStore {
    /// The metadata row, if the room exists.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails or holds undecodable data.
    fn meta(&self) -> Result<Option<RoomMeta>, StoreError>;

    /// The highest stored sequence, 0 when no message is stored.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn last_seq(&self) -> Result<u64, StoreError>;

    /// The message `sender` sent under `client_id`, if any.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn message_by_client_id(
        &self,
        sender: &UserId,
        client_id: &ClientMessageId,
    ) -> Result<Option<StoredMessage>, StoreError>;

    /// Up to `limit` messages with `seq > after`, ascending.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn messages_after(&self, after: u64, limit: usize) -> Result<Vec<StoredMessage>, StoreError>;

    /// The `limit` highest messages with `seq < before`, returned ascending.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn messages_before(&self, before: u64, limit: usize) -> Result<Vec<StoredMessage>, StoreError>;

    /// Every participant's last read sequence.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn receipts(&self) -> Result<Vec<(UserId, u64)>, StoreError>;

    /// Up to `limit` outbox drafts, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn audit_outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Applies every write of `writes`, or none of them.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] on a uniqueness violation, [`StoreError::Unavailable`] when the
    /// backend fails. Either way nothing of the batch is stored.
    fn commit(&mut self, writes: Vec<Write>) -> Result<(), StoreError>;

    /// Removes outbox drafts with `id <= through` (the audit chain has stored them).
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn remove_audit_through(&mut self, through: u64) -> Result<(), StoreError>;

    /// Deletes everything: meta, messages, receipts, outbox. Re-runnable.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails; calling again finishes the job (SECURITY J8).
    fn delete_all(&mut self) -> Result<(), StoreError>;

    /// Whether nothing at all is stored (the final check after [`RoomStore::delete_all`]).
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    fn is_empty(&self) -> Result<bool, StoreError>;
}

/// A complete in-memory [`RoomStore`]: the reference implementation native tests run on.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    meta: Option<RoomMeta>,
    messages: BTreeMap<u64, StoredMessage>,
    by_client_id: HashMap<(UserId, ClientMessageId), u64>,
    receipts: BTreeMap<UserId, u64>,
    outbox: BTreeMap<u64, (u64, EventDraft)>,
    next_outbox_id: u64,
    fail_commits: bool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later [`RoomStore::commit`] fail with [`StoreError::Unavailable`] (or
    /// succeed again), to test that nothing is acknowledged unless it was stored (SECURITY J2).
    pub fn set_fail_commits(&mut self, fail: bool) {
        self.fail_commits = fail;
    }

    /// How many messages are stored.
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }
}

impl RoomStore for MemoryStore {
    fn meta(&self) -> Result<Option<RoomMeta>, StoreError> {
        Ok(self.meta.clone())
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(self.messages.keys().next_back().copied().unwrap_or(0))
    }

    fn message_by_client_id(
        &self,
        sender: &UserId,
        client_id: &ClientMessageId,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let key = (sender.clone(), client_id.clone());
        Ok(self
            .by_client_id
            .get(&key)
            .and_then(|seq| self.messages.get(seq))
            .cloned())
    }

    fn messages_after(&self, after: u64, limit: usize) -> Result<Vec<StoredMessage>, StoreError> {
        let start = after.saturating_add(1);
        Ok(self
            .messages
            .range(start..)
            .take(limit)
            .map(|(_, m)| m.clone())
            .collect())
    }

    fn messages_before(&self, before: u64, limit: usize) -> Result<Vec<StoredMessage>, StoreError> {
        let mut out: Vec<StoredMessage> = self
            .messages
            .range(..before)
            .rev()
            .take(limit)
            .map(|(_, m)| m.clone())
            .collect();
        out.reverse();
        Ok(out)
    }

    fn receipts(&self) -> Result<Vec<(UserId, u64)>, StoreError> {
        Ok(self.receipts.iter().map(|(u, s)| (u.clone(), *s)).collect())
    }

    fn audit_outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        Ok(self
            .outbox
            .iter()
            .take(limit)
            .map(|(id, (at_ms, draft))| OutboxEntry {
                id: *id,
                at_ms: *at_ms,
                draft: draft.clone(),
            })
            .collect())
    }

    fn commit(&mut self, writes: Vec<Write>) -> Result<(), StoreError> {
        if self.fail_commits {
            return Err(StoreError::Unavailable);
        }

        // Check the whole batch first so that a conflict stores nothing.
        let mut seqs = std::collections::HashSet::new();
        let mut keys = std::collections::HashSet::new();
        for w in &writes {
            if let Write::InsertMessage(m) = w {
                let key = (m.sender.clone(), m.client_id.clone());
                if self.messages.contains_key(&m.seq)
                    || self.by_client_id.contains_key(&key)
                    || !seqs.insert(m.seq)
                    || !keys.insert(key)
                {
                    return Err(StoreError::Conflict);
                }
            }
        }

        for w in writes {
            match w {
                Write::PutMeta(meta) => self.meta = Some(meta),
                Write::InsertMessage(m) => {
                    self.by_client_id
                        .insert((m.sender.clone(), m.client_id.clone()), m.seq);
                    self.messages.insert(m.seq, m);
                }
                Write::PutReceipt { user, seq } => {
                    self.receipts.insert(user, seq);
                }
                Write::AppendAudit { at_ms, draft } => {
                    self.next_outbox_id = self.next_outbox_id.saturating_add(1);
                    self.outbox.insert(self.next_outbox_id, (at_ms, draft));
                }
            }
        }
        Ok(())
    }

    fn remove_audit_through(&mut self, through: u64) -> Result<(), StoreError> {
        self.outbox.retain(|id, _| *id > through);
        Ok(())
    }

    fn delete_all(&mut self) -> Result<(), StoreError> {
        let fail = self.fail_commits;
        *self = Self {
            fail_commits: fail,
            ..Self::default()
        };
        Ok(())
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.meta.is_none()
            && self.messages.is_empty()
            && self.by_client_id.is_empty()
            && self.receipts.is_empty()
            && self.outbox.is_empty())
    }
}
