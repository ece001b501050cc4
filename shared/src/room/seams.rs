//! The room's seams to the PHI redactor and the envelope keyring (45 CFR 164.312(a)(2)(iv),
//! 164.514): small traits the adapter implements with `crate::redact` and `crate::envelope`.
//!
//! The room never sees a key or a detector: it asks a [`PhiScanner`] what PHI a text holds and
//! how a role may see it, and a [`Sealer`] to seal and open bytes bound to one object.

use crate::ids::Role;
use crate::labels::{Finding, Label, OrderRecord};
use std::fmt;

/// Why a scan failed. Never carries the text.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanError {
    /// The text is over the scanner's own size limit.
    TooLarge,
    /// The scanner could not finish (for example an internal limit was hit).
    Failed,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLarge => "text is over the scanner limit",
            Self::Failed => "phi scan failed",
        })
    }
}

impl std::error::Error for ScanError {}

/// Finds PHI in a message, applies the sender's ingest policy, and renders role views.
///
/// Implementations must be deterministic for a given text and record, and must never log text.
pub trait PhiScanner {
    /// Finds every piece of PHI in `text`, using the order's own `record` as well as patterns.
    ///
    /// # Errors
    /// [`ScanError`] when the scan cannot complete; the room refuses the message (fails closed).
    fn scan(&self, text: &str, record: &OrderRecord) -> Result<Vec<Finding>, ScanError>;

    /// The text as `role` may see it: every finding the role may not see is replaced by its
    /// placeholder (a full name keeps only its first name where the policy says so).
    fn render(&self, text: &str, findings: &[Finding], role: Role) -> String;

    /// Applies ingest rules before storage: masks card numbers for every role and applies the
    /// sender's policy. Returns the text to store and its findings (ranges into that text).
    ///
    /// # Errors
    /// The labels that the sender's policy rejects; the room answers `PHI_REJECTED` with them.
    fn prepare_ingest(
        &self,
        sender: Role,
        text: &str,
        findings: Vec<Finding>,
    ) -> Result<(String, Vec<Finding>), Vec<Label>>;
}

/// What a sealed object is. The implementation binds the kind, the region, the order and the
/// object id into the AAD, so a blob moved to another object, order or kind fails to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SealKind {
    /// A message body (object id: the message's sequence number in decimal).
    Message,
    /// The order's PHI record (object id: [`ORDER_RECORD_OBJECT_ID`]).
    OrderRecord,
    /// A room archive (object id: the archive's object name).
    Archive,
}

impl SealKind {
    /// A fixed short name for the kind, for AAD building.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::OrderRecord => "order_record",
            Self::Archive => "archive",
        }
    }
}

/// The object id under which the order record is sealed.
pub const ORDER_RECORD_OBJECT_ID: &str = "order-record";

/// Why sealing or opening failed. Never carries plaintext or key material.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealError {
    /// Sealing failed (no usable key, or no randomness).
    Seal,
    /// The blob does not open: wrong object, tampered, truncated, or unknown key id.
    Open,
    /// The blob is sealed under a retired key and will not be opened.
    KeyRetired,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Seal => "sealing failed",
            Self::Open => "sealed data does not open",
            Self::KeyRetired => "sealed under a retired key",
        })
    }
}

impl std::error::Error for SealError {}

/// Seals and opens bytes for one room (the implementation knows the room's region and order).
pub trait Sealer {
    /// Seals `plaintext` as object `object_id` of `kind`.
    ///
    /// # Errors
    /// [`SealError::Seal`] when no key or randomness is available.
    fn seal(&self, kind: SealKind, object_id: &str, plaintext: &[u8])
        -> Result<Vec<u8>, SealError>;

    /// Opens a blob sealed by [`Sealer::seal`] with the same `kind` and `object_id`.
    ///
    /// # Errors
    /// [`SealError::Open`] for any mismatch or tampering, [`SealError::KeyRetired`] for a
    /// retired key.
    fn open(&self, kind: SealKind, object_id: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError>;
}
