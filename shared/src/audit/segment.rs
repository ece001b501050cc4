//! Audit segments (45 CFR 164.312(b), (c)(1)): the room's outbox is flushed to the region's
//! audit bucket as new, append-only JSON Lines objects, one per disjoint sequence range.
//!
//! Key layout: `audit/{region}/{chain}/{first:012}-{last:012}.jsonl`, with sequence numbers
//! zero-padded to 12 digits so a prefix listing returns a chain's segments in order.
//!
//! Flushing is write-ahead: the planned range is recorded ([`FlushState::begin`]) before the
//! object is written, and a retry after a crash replays exactly that range. So a key is only
//! ever written with one content, and ranges never overlap.

use super::event::{AuditEvent, ChainHead, ChainId};
use super::{AuditError, MAX_LINE_BYTES, MAX_SEGMENT_EVENTS};
use crate::ids::Region;
use serde::{Deserialize, Serialize};

/// The first and last sequence numbers (inclusive) of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRange {
    /// The first event's seq.
    pub first: u64,
    /// The last event's seq.
    pub last: u64,
}

impl SegmentRange {
    /// True when `events` are exactly `first..=last`, in order.
    pub fn matches(&self, events: &[AuditEvent]) -> bool {
        let expected = self
            .last
            .checked_sub(self.first)
            .and_then(|d| d.checked_add(1));
        expected == u64::try_from(events.len()).ok()
            && events.iter().zip(self.first..).all(|(e, s)| e.seq() == s)
    }
}

/// The key prefix under which a chain's segments live: `audit/{region}/{chain}/`.
pub fn segment_prefix(region: Region, chain: &ChainId) -> String {
    format!("audit/{}/{}/", region.as_str(), chain.as_str())
}

/// The object key of one segment: `audit/{region}/{chain}/{first:012}-{last:012}.jsonl`.
pub fn segment_key(region: Region, chain: &ChainId, range: SegmentRange) -> String {
    format!(
        "{}{:012}-{:012}.jsonl",
        segment_prefix(region, chain),
        range.first,
        range.last
    )
}

/// Parses a segment key back into its region, chain and range.
///
/// # Errors
///
/// [`AuditError::InvalidKey`] unless the key is exactly what [`segment_key`] produces.
pub fn parse_segment_key(key: &str) -> Result<(Region, ChainId, SegmentRange), AuditError> {
    let rest = key.strip_prefix("audit/").ok_or(AuditError::InvalidKey)?;
    let (region, rest) = rest.split_once('/').ok_or(AuditError::InvalidKey)?;
    let (chain, name) = rest.split_once('/').ok_or(AuditError::InvalidKey)?;
    let region: Region = region.parse().map_err(|_| AuditError::InvalidKey)?;
    let chain = ChainId::parse(chain).ok_or(AuditError::InvalidKey)?;
    let range = name.strip_suffix(".jsonl").ok_or(AuditError::InvalidKey)?;
    let (first, last) = range.split_once('-').ok_or(AuditError::InvalidKey)?;
    let digits = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(first) || !digits(last) {
        return Err(AuditError::InvalidKey);
    }
    let first = first.parse().map_err(|_| AuditError::InvalidKey)?;
    let last = last.parse().map_err(|_| AuditError::InvalidKey)?;
    if first == 0 || last < first {
        return Err(AuditError::InvalidKey);
    }
    let range = SegmentRange { first, last };
    (segment_key(region, &chain, range) == key)
        .then_some((region, chain, range))
        .ok_or(AuditError::InvalidKey)
}

/// Encodes events as JSON Lines (one event per line, each line ending in `\n`).
pub fn encode_segment(events: &[AuditEvent]) -> String {
    let mut out = String::with_capacity(events.len() * 400);
    for e in events {
        if let Ok(line) = serde_json::to_string(e) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// Decodes a JSON Lines segment. Checks sizes only: whether the events form a valid chain is
/// the verifier's job, so tampering is reported by position rather than refused here.
///
/// # Errors
///
/// [`AuditError::LineTooLong`], [`AuditError::TooManyEvents`], [`AuditError::InvalidLine`].
pub fn decode_segment(text: &str) -> Result<Vec<AuditEvent>, AuditError> {
    let mut events = Vec::new();
    for line in text.lines() {
        if line.len() > MAX_LINE_BYTES {
            return Err(AuditError::LineTooLong);
        }
        if line.trim().is_empty() {
            continue;
        }
        if events.len() >= MAX_SEGMENT_EVENTS {
            return Err(AuditError::TooManyEvents);
        }
        events.push(serde_json::from_str(line).map_err(|_| AuditError::InvalidLine)?);
    }
    Ok(events)
}

/// When the outbox is flushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushPolicy {
    /// Flush once this many events wait; also the most events one segment takes.
    pub max_events: usize,
    /// Flush once the oldest waiting event is this old.
    pub max_age_ms: u64,
}

impl Default for FlushPolicy {
    /// 500 events or 60 seconds, whichever comes first.
    fn default() -> Self {
        Self {
            max_events: 500,
            max_age_ms: 60_000,
        }
    }
}

/// What a chain's outbox has flushed so far, and the flush in flight. Kept in the room's
/// storage next to the outbox, written in the same transaction as the outbox changes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FlushState {
    /// The head of the last flushed segment.
    pub flushed: ChainHead,
    /// A range planned but not yet confirmed written.
    pub pending: Option<SegmentRange>,
}

impl FlushState {
    /// Decides what to flush next from `outbox` (events appended and not yet deleted from the
    /// outbox, oldest first). A pending range is always returned first and unchanged, so a
    /// retried write produces the same key and bytes. Otherwise a new range starts right after
    /// the flushed head, when `force` is set (room archiving), when `max_events` wait, or when
    /// the oldest waits `max_age_ms`.
    ///
    /// # Errors
    ///
    /// [`AuditError::OutboxGap`] if the outbox does not continue the flushed head gap-free, or
    /// does not hold the pending range.
    pub fn next(
        &self,
        outbox: &[AuditEvent],
        policy: &FlushPolicy,
        now_ms: u64,
        force: bool,
    ) -> Result<Option<SegmentRange>, AuditError> {
        if let Some(range) = self.pending {
            self.events(range, outbox)?;
            return Ok(Some(range));
        }
        let fresh = self.unflushed(outbox)?;
        let Some(oldest) = fresh.first() else {
            return Ok(None);
        };
        let max = policy.max_events.clamp(1, MAX_SEGMENT_EVENTS);
        let due = force
            || fresh.len() >= max
            || now_ms.saturating_sub(oldest.ts_ms()) >= policy.max_age_ms;
        if !due {
            return Ok(None);
        }
        let take = fresh.len().min(max);
        let last = fresh
            .get(take.saturating_sub(1))
            .map_or(oldest.seq(), AuditEvent::seq);
        Ok(Some(SegmentRange {
            first: oldest.seq(),
            last,
        }))
    }

    /// The outbox events of `range`, to encode with [`encode_segment`].
    ///
    /// # Errors
    ///
    /// [`AuditError::OutboxGap`] if the outbox does not hold exactly that range.
    pub fn events<'a>(
        &self,
        range: SegmentRange,
        outbox: &'a [AuditEvent],
    ) -> Result<&'a [AuditEvent], AuditError> {
        let start = outbox
            .iter()
            .position(|e| e.seq() == range.first)
            .ok_or(AuditError::OutboxGap)?;
        let len = usize::try_from(range.last.saturating_sub(range.first))
            .ok()
            .and_then(|d| d.checked_add(1))
            .ok_or(AuditError::OutboxGap)?;
        let slice = outbox
            .get(start..start.saturating_add(len))
            .ok_or(AuditError::OutboxGap)?;
        if range.matches(slice) {
            Ok(slice)
        } else {
            Err(AuditError::OutboxGap)
        }
    }

    /// Records `range` as in flight. Persist the state before writing the object.
    pub fn begin(&mut self, range: SegmentRange) {
        self.pending = Some(range);
    }

    /// Confirms the pending `range` was written: the flushed head moves to its last event.
    /// Returns how many events at the front of `outbox` may now be deleted from it.
    ///
    /// # Errors
    ///
    /// [`AuditError::OutboxGap`] if `range` is not the pending range or not in the outbox.
    pub fn complete(
        &mut self,
        range: SegmentRange,
        outbox: &[AuditEvent],
    ) -> Result<usize, AuditError> {
        if self.pending != Some(range) {
            return Err(AuditError::OutboxGap);
        }
        let events = self.events(range, outbox)?;
        let last = events.last().ok_or(AuditError::OutboxGap)?;
        self.flushed = ChainHead::of(last);
        self.pending = None;
        Ok(outbox.iter().take_while(|e| e.seq() <= range.last).count())
    }

    /// The outbox events after the flushed head, checked to continue it gap-free.
    fn unflushed<'a>(&self, outbox: &'a [AuditEvent]) -> Result<&'a [AuditEvent], AuditError> {
        let skip = outbox
            .iter()
            .take_while(|e| e.seq() <= self.flushed.seq)
            .count();
        let fresh = outbox.get(skip..).unwrap_or(&[]);
        let mut last_hash = self.flushed.hash.as_str();
        for (e, s) in fresh.iter().zip(self.flushed.seq.saturating_add(1)..) {
            if e.seq() != s || e.prev_hash() != last_hash {
                return Err(AuditError::OutboxGap);
            }
            last_hash = e.hash();
        }
        Ok(fresh)
    }
}
