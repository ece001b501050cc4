//! The auditor's export (45 CFR 164.312(b)): one order's complete history as JSON Lines.
//!
//! Line order: one `header`, the order's audit `event`s in sequence, its `message`s in the full
//! view, one `trailer`. Every line is a JSON object whose `type` names its kind; the other keys
//! are the fields of [`ExportHeader`], [`AuditEvent`], [`ExportMessage`] or [`ExportTrailer`].

use super::event::{AuditEvent, ChainHead};
use super::{AuditError, MAX_LINE_BYTES};
use crate::ids::{OrderId, Region, Role};
use crate::labels::Label;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The `format` value of export headers this version writes.
pub const EXPORT_FORMAT: &str = "rxroom-audit-export/1";

/// One line of an export.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExportLine {
    /// The first line.
    Header(ExportHeader),
    /// An audit event of the order's chain.
    Event(AuditEvent),
    /// A message, in the full view.
    Message(ExportMessage),
    /// The last line.
    Trailer(ExportTrailer),
}

impl ExportLine {
    /// The line as JSON followed by `\n`.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Parses one line (without its `\n`).
    ///
    /// # Errors
    ///
    /// [`AuditError::LineTooLong`] or [`AuditError::InvalidLine`].
    pub fn parse(line: &str) -> Result<Self, AuditError> {
        if line.len() > MAX_LINE_BYTES {
            return Err(AuditError::LineTooLong);
        }
        serde_json::from_str(line).map_err(|_| AuditError::InvalidLine)
    }
}

/// The export's first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportHeader {
    /// [`EXPORT_FORMAT`].
    pub format: String,
    /// The order.
    pub order: OrderId,
    /// Its region.
    pub region: Region,
    /// When the export was generated (server time, ms).
    pub generated_at_ms: u64,
    /// How many audit events follow.
    pub events: u64,
    /// How many messages follow.
    pub messages: u64,
}

impl ExportHeader {
    /// A header of the current [`EXPORT_FORMAT`].
    pub fn new(
        order: OrderId,
        region: Region,
        generated_at_ms: u64,
        events: u64,
        messages: u64,
    ) -> Self {
        Self {
            format: EXPORT_FORMAT.to_owned(),
            order,
            region,
            generated_at_ms,
            events,
            messages,
        }
    }
}

/// A message in the full view, as the export carries it. Its `Debug` never prints the text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportMessage {
    /// The room's sequence number of the message.
    pub seq: u64,
    /// The sender's user id.
    pub sender: String,
    /// The sender's role.
    pub role: Role,
    /// Server time of acceptance, ms.
    pub server_time_ms: u64,
    /// The full text (PHI: only ever in exports, never in audit events or logs).
    pub text: String,
    /// PHI labels found in it.
    #[serde(default)]
    pub labels: Vec<Label>,
}

impl fmt::Debug for ExportMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportMessage")
            .field("seq", &self.seq)
            .field("role", &self.role)
            .field("server_time_ms", &self.server_time_ms)
            .field("text", &"..")
            .field("labels", &self.labels)
            .finish()
    }
}

/// The export's last line: what the stream claims it held. The verifier checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportTrailer {
    /// Audit events written.
    pub events: u64,
    /// Messages written.
    pub messages: u64,
    /// The chain head's sequence number.
    pub head_seq: u64,
    /// The chain head's hash.
    pub head_hash: String,
}

impl ExportTrailer {
    /// The trailer after `events` events ending at `head` and `messages` messages.
    pub fn new(events: u64, messages: u64, head: &ChainHead) -> Self {
        Self {
            events,
            messages,
            head_seq: head.seq,
            head_hash: head.hash.clone(),
        }
    }
}
