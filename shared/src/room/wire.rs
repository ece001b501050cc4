//! The room's HTTP and WebSocket JSON bodies (the wire contract for `/v1/rooms/{order_id}`).
//!
//! Request bodies carry no identity: sender, role, room, region and times come from the verified
//! principal, the route and the server clock (SECURITY B6). Unknown fields in a body are
//! ignored, so a body that adds `role`, `sender` or `room_id` changes nothing.

use crate::ids::{ClientMessageId, OrderId, Region, Role, UserId};
use crate::labels::{Label, OrderRecord};
use crate::room::store::Participant;
use serde::{Deserialize, Serialize};

/// `POST /v1/rooms/{order_id}`: create the order's room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRoom {
    /// Who takes part, and in which role. The creator is added if missing.
    pub participants: Vec<Participant>,
    /// The order's PHI record, used by the redactor; never shown to a driver or dispatcher.
    #[serde(default)]
    pub record: OrderRecord,
}

/// The room's lifecycle state as seen at one instant (derived from stored times).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomState {
    /// Not yet delivered.
    Active,
    /// Delivered; the driver's access has not ended yet.
    Delivered,
    /// Delivered and past the driver's TTL; others still have access.
    DriverAccessEnded,
    /// Past the close TTL: closed for everyone, waiting for archival.
    Closed,
}

/// `GET /v1/rooms/{order_id}`: the room as the caller's role may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomView {
    /// The order.
    pub order: OrderId,
    /// The data region.
    pub region: Region,
    /// The lifecycle state now.
    pub state: RoomState,
    /// Participants: opaque user ids and roles only.
    pub participants: Vec<Participant>,
    /// Server time of creation (ms).
    pub created_at_ms: u64,
    /// Server time of delivery (ms), once delivered.
    pub delivered_at_ms: Option<u64>,
    /// When the driver's access ends (ms), once delivered.
    pub driver_access_ends_ms: Option<u64>,
    /// When the room closes for everyone (ms), once delivered.
    pub closes_at_ms: Option<u64>,
    /// The highest message sequence.
    pub last_seq: u64,
    /// The order record, only for roles that may see every field of it (never a driver).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<OrderRecord>,
}

/// `POST /v1/rooms/{order_id}/messages` and the socket's `send` frame. `Debug` omits the text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessage {
    /// The client's idempotency key for this message.
    pub client_id: ClientMessageId,
    /// The message text (UTF-8, at most the configured byte limit).
    pub text: String,
}

/// The acknowledgement of a stored message. A retry with the same id and text gets this again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The client message id.
    pub id: ClientMessageId,
    /// The per-room sequence number.
    pub seq: u64,
    /// Server time of acceptance (ms).
    pub server_time: u64,
    /// The PHI labels found in the message (names only).
    pub redacted_labels: Vec<Label>,
}

/// One message as one role may see it. `Debug` omits the text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    /// The per-room sequence number.
    pub seq: u64,
    /// The sender's client message id.
    pub id: ClientMessageId,
    /// The sender's opaque user id.
    pub sender: UserId,
    /// The sender's role.
    pub sender_role: Role,
    /// Server time of acceptance (ms).
    pub server_time: u64,
    /// The text in this role's view.
    pub text: String,
    /// The PHI labels found at ingest (names only; hidden values show as placeholders).
    pub labels: Vec<Label>,
}

/// `GET /v1/rooms/{order_id}/messages?after=&before=&limit=`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// Messages with a sequence above this, oldest first.
    #[serde(default)]
    pub after: Option<u64>,
    /// Messages with a sequence below this (the newest of them), oldest first.
    #[serde(default)]
    pub before: Option<u64>,
    /// Page size, 1..=100 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One page of history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The messages, ascending by sequence, in the caller's role view.
    pub messages: Vec<MessageView>,
    /// The cursor for the next forward page (`after`): the last sequence returned, or the
    /// request's cursor when the page is empty.
    pub next_after: u64,
    /// The cursor for the next backward page (`before`): the first sequence returned.
    pub next_before: Option<u64>,
    /// Whether more messages lie beyond this page in its direction.
    pub has_more: bool,
}

/// `POST /v1/rooms/{order_id}/read` and the socket's `read` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkRead {
    /// The last sequence the reader has seen.
    pub seq: u64,
}

/// A participant's read position, as stored and as broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadReceipt {
    /// The reader.
    pub user: UserId,
    /// The last sequence they have read (never decreases).
    pub seq: u64,
}

impl std::fmt::Debug for SendMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendMessage")
            .field("client_id", &self.client_id)
            .field("text_len", &self.text.len())
            .finish()
    }
}

impl std::fmt::Debug for MessageView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageView")
            .field("seq", &self.seq)
            .field("id", &self.id)
            .field("sender_role", &self.sender_role)
            .field("server_time", &self.server_time)
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}
