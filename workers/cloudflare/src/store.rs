//! The room's storage on Durable Object SQLite.
//!
//! Every call is synchronous (`sql.exec`), so a check and the insert that follows it run with no
//! other event in between (SECURITY J4). A [`Write`] batch is checked for conflicts first and
//! then written in one synchronous turn, so it lands whole or not at all. Audit drafts are chained here, at commit, with the chain head kept
//! in the same database: an acknowledged action always has its chained audit event stored.
//!
//! Tables: `meta` (one row, JSON), `messages` (seq, sender, client id, role, time, labels,
//! sealed body), `receipts`, and the audit tables `audit_head`, `audit_outbox`, `audit_flush`,
//! which outlive the room's own data after archival (they are audit data, kept apart).

use crate::reseal::ResealCounts;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rxroom_core::audit::{self, AuditEvent, ChainHead, ChainId, EventDraft, FlushState, SealField};
use rxroom_core::envelope::{Aad, Keyring, ObjectKind};
use rxroom_core::ids::{ClientMessageId, OrderId, Region, UserId};
use rxroom_core::labels::Label;
use rxroom_core::room::{
    OutboxEntry, RoomMeta, RoomStore, StoreError, StoredMessage, Write, ORDER_RECORD_OBJECT_ID,
};
use serde::Deserialize;
use worker::{SqlStorage, SqlStorageValue, State};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY,
  sender TEXT NOT NULL,
  client_id TEXT NOT NULL,
  sender_role TEXT NOT NULL,
  server_time INTEGER NOT NULL,
  labels TEXT NOT NULL,
  body TEXT NOT NULL,
  UNIQUE (sender, client_id)
);
CREATE TABLE IF NOT EXISTS receipts (user TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_outbox (seq INTEGER PRIMARY KEY, event TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_flush (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_info (id INTEGER PRIMARY KEY CHECK (id = 1), chain TEXT NOT NULL, tenant TEXT, archive TEXT);
CREATE TABLE IF NOT EXISTS grants (user TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
";

/// Message rows read per step while re-sealing.
const RESEAL_PAGE: u64 = 500;

/// [`RoomStore`] over one Durable Object's SQLite database.
pub struct SqlRoomStore<'k> {
    sql: SqlStorage,
    region: Region,
    chain: ChainId,
    order: Option<OrderId>,
    keyring: &'k Keyring,
    now_ms: u64,
    /// Whether the tables exist. They are created by the first write only, so a request for a
    /// room that does not exist leaves no storage behind.
    ready: std::cell::Cell<bool>,
}

impl std::fmt::Debug for SqlRoomStore<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqlRoomStore(..)")
    }
}

#[derive(Deserialize)]
struct MessageRow {
    seq: f64,
    sender: String,
    client_id: String,
    sender_role: String,
    server_time: f64,
    labels: String,
    body: String,
}

#[derive(Deserialize)]
struct Count {
    n: f64,
}

fn unavailable(_: worker::Error) -> StoreError {
    StoreError::Unavailable
}

fn int(v: u64) -> SqlStorageValue {
    SqlStorageValue::Integer(i64::try_from(v).unwrap_or(i64::MAX))
}

fn to_u64(v: f64) -> u64 {
    if v.is_finite() && v >= 0.0 {
        v as u64
    } else {
        0
    }
}

fn tables_exist(sql: &SqlStorage) -> Result<bool, StoreError> {
    let rows: Vec<Count> = sql
        .exec(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'audit_info'",
            None,
        )
        .map_err(unavailable)?
        .to_array()
        .map_err(unavailable)?;
    Ok(rows.first().is_some_and(|c| c.n > 0.0))
}

impl<'k> SqlRoomStore<'k> {
    /// Runs a read query, or returns nothing when no table was ever created.
    fn rows<T: serde::de::DeserializeOwned>(
        &self,
        query: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<Vec<T>, StoreError> {
        if !self.ready.get() {
            return Ok(Vec::new());
        }
        self.sql
            .exec(query, args)
            .map_err(unavailable)?
            .to_array()
            .map_err(unavailable)
    }

    fn ensure_tables(&self) -> Result<(), StoreError> {
        if !self.ready.get() {
            self.sql.exec(SCHEMA, None).map_err(unavailable)?;
            self.ready.set(true);
        }
        Ok(())
    }

    /// Opens the store (creating tables on first use). `now_ms` stamps audit events appended
    /// through this handle; open one handle per request.
    pub fn open(
        state: &State,
        region: Region,
        order: OrderId,
        keyring: &'k Keyring,
        now_ms: u64,
    ) -> Result<Self, StoreError> {
        let sql = state.storage().sql();
        let ready = std::cell::Cell::new(tables_exist(&sql)?);
        Ok(Self {
            sql,
            region,
            chain: ChainId::order(&order),
            order: Some(order),
            keyring,
            now_ms,
            ready,
        })
    }

    /// Opens the region-wide audit chain's store (events with no order, such as refused
    /// tokens), in the region's audit Durable Object.
    pub fn open_region(
        state: &State,
        region: Region,
        keyring: &'k Keyring,
        now_ms: u64,
    ) -> Result<Self, StoreError> {
        let sql = state.storage().sql();
        let ready = std::cell::Cell::new(tables_exist(&sql)?);
        Ok(Self {
            sql,
            region,
            chain: ChainId::region(region),
            order: None,
            keyring,
            now_ms,
            ready,
        })
    }

    fn row_to_message(row: MessageRow) -> Result<StoredMessage, StoreError> {
        let labels: Vec<String> =
            serde_json::from_str(&row.labels).map_err(|_| StoreError::Corrupt)?;
        Ok(StoredMessage {
            seq: to_u64(row.seq),
            client_id: row
                .client_id
                .parse::<ClientMessageId>()
                .map_err(|_| StoreError::Corrupt)?,
            sender: row
                .sender
                .parse::<UserId>()
                .map_err(|_| StoreError::Corrupt)?,
            sender_role: row.sender_role.parse().map_err(|_| StoreError::Corrupt)?,
            server_time_ms: to_u64(row.server_time),
            labels: labels.iter().filter_map(|l| Label::from_wire(l)).collect(),
            body: B64
                .decode(row.body.as_bytes())
                .map_err(|_| StoreError::Corrupt)?,
        })
    }

    fn query_messages(
        &self,
        query: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let rows: Vec<MessageRow> = self.rows(query, args)?;
        rows.into_iter().map(Self::row_to_message).collect()
    }

    /// The audit chain's head (genesis when nothing was appended yet).
    pub fn audit_head(&self) -> Result<ChainHead, StoreError> {
        #[derive(Deserialize)]
        struct Head {
            seq: f64,
            hash: String,
        }
        let rows: Vec<Head> =
            self.rows("SELECT seq, hash FROM audit_head WHERE id = 1", Vec::new())?;
        Ok(rows
            .into_iter()
            .next()
            .map(|h| ChainHead {
                seq: to_u64(h.seq),
                hash: h.hash,
            })
            .unwrap_or_else(ChainHead::genesis))
    }

    /// Every chained event still in the outbox (not yet confirmed in the audit bucket).
    pub fn outbox_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            event: String,
        }
        let rows: Vec<Row> =
            self.rows("SELECT event FROM audit_outbox ORDER BY seq", Vec::new())?;
        rows.iter()
            .map(|r| serde_json::from_str(&r.event).map_err(|_| StoreError::Corrupt))
            .collect()
    }

    /// The outbox flush state.
    pub fn flush_state(&self) -> Result<FlushState, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            state: String,
        }
        let rows: Vec<Row> = self.rows("SELECT state FROM audit_flush WHERE id = 1", Vec::new())?;
        match rows.into_iter().next() {
            Some(r) => serde_json::from_str(&r.state).map_err(|_| StoreError::Corrupt),
            None => Ok(FlushState::default()),
        }
    }

    /// Saves the flush state and drops the first `drop_through_seq` events from the outbox.
    pub fn save_flush(
        &self,
        state: &FlushState,
        drop_through_seq: Option<u64>,
    ) -> Result<(), StoreError> {
        self.ensure_tables()?;
        let json = serde_json::to_string(state).map_err(|_| StoreError::Corrupt)?;
        self.sql
            .exec(
                "INSERT INTO audit_flush (id, state) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state",
                vec![SqlStorageValue::String(json)],
            )
            .map_err(unavailable)?;
        if let Some(seq) = drop_through_seq {
            self.sql
                .exec("DELETE FROM audit_outbox WHERE seq <= ?", vec![int(seq)])
                .map_err(unavailable)?;
        }
        Ok(())
    }

    /// The order this object holds (from the room, or from the audit record after archival).
    pub fn stored_order(state: &State) -> Result<Option<OrderId>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            chain: String,
        }
        let sql = state.storage().sql();
        if !tables_exist(&sql)? {
            return Ok(None);
        }
        let rows: Vec<Row> = sql
            .exec("SELECT chain FROM audit_info WHERE id = 1", None)
            .map_err(unavailable)?
            .to_array()
            .map_err(unavailable)?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.chain.parse::<OrderId>().ok()))
    }

    /// The tenant the room belonged to (kept with the audit data after archival) and the
    /// archive object name, once sealed.
    pub fn audit_info(&self) -> Result<(Option<String>, Option<String>), StoreError> {
        #[derive(Deserialize)]
        struct Row {
            tenant: Option<String>,
            archive: Option<String>,
        }
        let rows: Vec<Row> = self.rows(
            "SELECT tenant, archive FROM audit_info WHERE id = 1",
            Vec::new(),
        )?;
        Ok(rows
            .into_iter()
            .next()
            .map(|r| (r.tenant, r.archive))
            .unwrap_or((None, None)))
    }

    /// Records the archive object's name with the audit data (it outlives the room's rows).
    pub fn remember_archive(&self, name: &str) -> Result<(), StoreError> {
        self.ensure_tables()?;
        self.sql
            .exec(
                "UPDATE audit_info SET archive = ? WHERE id = 1",
                vec![SqlStorageValue::String(name.to_owned())],
            )
            .map_err(unavailable)?;
        Ok(())
    }

    /// When `user`'s emergency grant expires, if they have one.
    pub fn grant_expiry(&self, user: &str) -> Result<Option<u64>, StoreError> {
        let rows: Vec<Count> = self.rows(
            "SELECT expires_at AS n FROM grants WHERE user = ?",
            vec![SqlStorageValue::String(user.to_owned())],
        )?;
        Ok(rows.first().map(|c| to_u64(c.n)))
    }

    /// Stores an emergency grant for `user` until `expires_at_ms`.
    pub fn put_grant(&self, user: &str, expires_at_ms: u64) -> Result<(), StoreError> {
        self.ensure_tables()?;
        self.sql
            .exec(
                "INSERT INTO grants (user, expires_at) VALUES (?, ?) ON CONFLICT(user) DO UPDATE SET expires_at = excluded.expires_at",
                vec![SqlStorageValue::String(user.to_owned()), int(expires_at_ms)],
            )
            .map_err(unavailable)?;
        Ok(())
    }

    /// The chain id events are appended to.
    pub fn chain(&self) -> &ChainId {
        &self.chain
    }

    /// The region.
    pub fn region(&self) -> Region {
        self.region
    }

    /// Appends one draft to this room's chain right away (outside a message batch).
    pub fn append_audit(&mut self, draft: EventDraft) -> Result<(), StoreError> {
        self.commit(vec![Write::audit(self.now_ms, draft)])
    }

    /// Re-seals the room's order record and every message body under the active data key
    /// (issue 6 rotation). Each changed row is rewritten by one synchronous `UPDATE`; nothing
    /// awaits in between, so no request of the room interleaves. A row that does not open (a
    /// retired or unknown key, tampering) is counted as failed and left as it is. Audit events
    /// are not touched: their sealed IP and device fields are hashed into the chain.
    pub fn reseal_room_data(&self) -> Result<ResealCounts, StoreError> {
        #[derive(Deserialize)]
        struct BodyRow {
            seq: f64,
            body: String,
        }
        let mut counts = ResealCounts::default();
        let Some(order) = self.order.as_ref() else {
            return Ok(counts);
        };
        let Some(mut meta) = self.meta()? else {
            return Ok(counts);
        };
        if &meta.order != order {
            counts.failed += 1;
        } else {
            let aad = Aad::new(
                self.region,
                order,
                ObjectKind::OrderRecord,
                ORDER_RECORD_OBJECT_ID,
            );
            match self.keyring.reseal(&aad, &meta.sealed_record) {
                Ok(None) => counts.already_current += 1,
                Ok(Some(sealed)) => {
                    meta.sealed_record = sealed;
                    let doc = serde_json::to_string(&meta).map_err(|_| StoreError::Corrupt)?;
                    self.sql
                        .exec(
                            "UPDATE meta SET doc = ? WHERE id = 1",
                            vec![SqlStorageValue::String(doc)],
                        )
                        .map_err(unavailable)?;
                    counts.resealed += 1;
                }
                Err(_) => counts.failed += 1,
            }
        }

        let mut after = 0u64;
        loop {
            let rows: Vec<BodyRow> = self.rows(
                "SELECT seq, body FROM messages WHERE seq > ? ORDER BY seq ASC LIMIT ?",
                vec![int(after), int(RESEAL_PAGE)],
            )?;
            let Some(last) = rows.last() else { break };
            let next = to_u64(last.seq);
            if next <= after {
                return Err(StoreError::Corrupt);
            }
            after = next;
            for row in rows {
                let seq = to_u64(row.seq);
                let object_id = seq.to_string();
                let aad = Aad::new(self.region, order, ObjectKind::Message, &object_id);
                match self.keyring.reseal_text(&aad, &row.body) {
                    Ok(None) => counts.already_current += 1,
                    Ok(Some(text)) => {
                        self.sql
                            .exec(
                                "UPDATE messages SET body = ? WHERE seq = ?",
                                vec![SqlStorageValue::String(text), int(seq)],
                            )
                            .map_err(unavailable)?;
                        counts.resealed += 1;
                    }
                    Err(_) => counts.failed += 1,
                }
            }
        }
        Ok(counts)
    }

    fn seal_field(&self, field: SealField, value: &str) -> String {
        match field {
            SealField::Ip | SealField::Device => {
                let kind = if field == SealField::Ip {
                    "ip"
                } else {
                    "device"
                };
                let aad = match &self.order {
                    Some(order) => Aad::new(self.region, order, ObjectKind::AuditField, kind),
                    None => Aad::region_wide(self.region, ObjectKind::AuditField, kind),
                };
                self.keyring
                    .seal_text(&aad, value.as_bytes())
                    .unwrap_or_else(|_| String::from("?"))
            }
            _ => value.to_owned(),
        }
    }

    fn apply(&self, writes: &[Write]) -> Result<(), StoreError> {
        self.ensure_tables()?;
        let mut head: Option<ChainHead> = None;
        for w in writes {
            match w {
                Write::PutMeta(meta) => {
                    let doc = serde_json::to_string(meta).map_err(|_| StoreError::Corrupt)?;
                    self.sql
                        .exec(
                            "INSERT INTO meta (id, doc) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
                            vec![SqlStorageValue::String(doc)],
                        )
                        .map_err(unavailable)?;
                    self.sql
                        .exec(
                            "INSERT INTO audit_info (id, chain, tenant) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET tenant = excluded.tenant",
                            vec![
                                SqlStorageValue::String(meta.order.as_str().to_owned()),
                                SqlStorageValue::String(meta.tenant.as_str().to_owned()),
                            ],
                        )
                        .map_err(unavailable)?;
                }
                Write::InsertMessage(m) => {
                    let labels: Vec<&str> = m.labels.iter().map(|l| l.as_str()).collect();
                    let labels = serde_json::to_string(&labels).map_err(|_| StoreError::Corrupt)?;
                    self.sql
                        .exec(
                            "INSERT INTO messages (seq, sender, client_id, sender_role, server_time, labels, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            vec![
                                int(m.seq),
                                SqlStorageValue::String(m.sender.as_str().to_owned()),
                                SqlStorageValue::String(m.client_id.as_str().to_owned()),
                                SqlStorageValue::String(m.sender_role.as_str().to_owned()),
                                int(m.server_time_ms),
                                SqlStorageValue::String(labels),
                                // Sealed bytes as base64 text: the SQL cursor hands blobs to
                                // serde as buffers it cannot read back into bytes.
                                SqlStorageValue::String(B64.encode(&m.body)),
                            ],
                        )
                        .map_err(|_| StoreError::Conflict)?;
                }
                Write::PutReceipt { user, seq } => {
                    self.sql
                        .exec(
                            "INSERT INTO receipts (user, seq) VALUES (?, ?) ON CONFLICT(user) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                            vec![SqlStorageValue::String(user.as_str().to_owned()), int(*seq)],
                        )
                        .map_err(unavailable)?;
                }
                Write::AppendAudit { at_ms, draft } => {
                    let current = match head.take() {
                        Some(h) => h,
                        None => self.audit_head()?,
                    };
                    let event = audit::append_with(
                        &current,
                        &self.chain,
                        draft.clone(),
                        *at_ms,
                        &|f, v| self.seal_field(f, v),
                    );
                    let json = serde_json::to_string(&event).map_err(|_| StoreError::Corrupt)?;
                    self.sql
                        .exec(
                            "INSERT INTO audit_outbox (seq, event) VALUES (?, ?)",
                            vec![int(event.seq()), SqlStorageValue::String(json)],
                        )
                        .map_err(|_| StoreError::Conflict)?;
                    let next = ChainHead::of(&event);
                    self.sql
                        .exec(
                            "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                            vec![int(next.seq), SqlStorageValue::String(next.hash.clone())],
                        )
                        .map_err(unavailable)?;
                    head = Some(next);
                }
            }
        }
        Ok(())
    }
}

impl RoomStore for SqlRoomStore<'_> {
    fn meta(&self) -> Result<Option<RoomMeta>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            doc: String,
        }
        let rows: Vec<Row> = self.rows("SELECT doc FROM meta WHERE id = 1", Vec::new())?;
        match rows.into_iter().next() {
            Some(r) => serde_json::from_str(&r.doc)
                .map(Some)
                .map_err(|_| StoreError::Corrupt),
            None => Ok(None),
        }
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        let rows: Vec<Count> = self.rows(
            "SELECT COALESCE(MAX(seq), 0) AS n FROM messages",
            Vec::new(),
        )?;
        Ok(rows.first().map(|c| to_u64(c.n)).unwrap_or(0))
    }

    fn message_by_client_id(
        &self,
        sender: &UserId,
        client_id: &ClientMessageId,
    ) -> Result<Option<StoredMessage>, StoreError> {
        Ok(self
            .query_messages(
                "SELECT * FROM messages WHERE sender = ? AND client_id = ?",
                vec![
                    SqlStorageValue::String(sender.as_str().to_owned()),
                    SqlStorageValue::String(client_id.as_str().to_owned()),
                ],
            )?
            .into_iter()
            .next())
    }

    fn messages_after(&self, after: u64, limit: usize) -> Result<Vec<StoredMessage>, StoreError> {
        self.query_messages(
            "SELECT * FROM messages WHERE seq > ? ORDER BY seq ASC LIMIT ?",
            vec![int(after), int(limit as u64)],
        )
    }

    fn messages_before(&self, before: u64, limit: usize) -> Result<Vec<StoredMessage>, StoreError> {
        let mut page = self.query_messages(
            "SELECT * FROM messages WHERE seq < ? ORDER BY seq DESC LIMIT ?",
            vec![int(before), int(limit as u64)],
        )?;
        page.reverse();
        Ok(page)
    }

    fn receipts(&self) -> Result<Vec<(UserId, u64)>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            user: String,
            seq: f64,
        }
        let rows: Vec<Row> =
            self.rows("SELECT user, seq FROM receipts ORDER BY user", Vec::new())?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    r.user.parse::<UserId>().map_err(|_| StoreError::Corrupt)?,
                    to_u64(r.seq),
                ))
            })
            .collect()
    }

    fn audit_outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        // Drafts are chained at commit, so the room-level outbox of unchained drafts is always
        // empty here; the chained events wait in `audit_outbox` until flushed to the bucket.
        let _ = limit;
        Ok(Vec::new())
    }

    fn commit(&mut self, writes: Vec<Write>) -> Result<(), StoreError> {
        // All-or-nothing: every uniqueness rule is checked before the first write, and the
        // writes then run in one synchronous turn, which the Durable Object commits as one
        // implicit transaction (a storage failure resets the object and drops the turn's
        // output, so no acknowledgement can follow a lost write).
        for w in &writes {
            if let Write::InsertMessage(m) = w {
                let taken: Vec<Count> = self.rows("SELECT COUNT(*) AS n FROM messages WHERE seq = ? OR (sender = ? AND client_id = ?)", vec![
                            int(m.seq),
                            SqlStorageValue::String(m.sender.as_str().to_owned()),
                            SqlStorageValue::String(m.client_id.as_str().to_owned()),
                        ])?;
                if taken.first().is_some_and(|c| c.n > 0.0) {
                    return Err(StoreError::Conflict);
                }
            }
        }
        self.apply(&writes)
    }

    fn remove_audit_through(&mut self, _through: u64) -> Result<(), StoreError> {
        Ok(())
    }

    fn delete_all(&mut self) -> Result<(), StoreError> {
        if !self.ready.get() {
            return Ok(());
        }
        for table in ["messages", "receipts", "meta", "grants"] {
            self.sql
                .exec(&format!("DELETE FROM {table}"), None)
                .map_err(unavailable)?;
        }
        Ok(())
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        if !self.ready.get() {
            return Ok(true);
        }
        let rows: Vec<Count> = self.rows(
            "SELECT (SELECT COUNT(*) FROM meta) + (SELECT COUNT(*) FROM messages) + (SELECT COUNT(*) FROM receipts) AS n",
            Vec::new(),
        )?;
        Ok(rows.first().map(|c| c.n == 0.0).unwrap_or(false))
    }
}
