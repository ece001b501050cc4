//! The audit verifier (45 CFR 164.312(b) examination, (c)(2) integrity; SECURITY.md F1): walks a
//! chain in order and reports the first bad position and what kind of tampering it shows.
//!
//! Rules, applied to each event in turn with `s` the expected seq and `h` the previous hash:
//! 1. seq `s` and another line with seq `s` right after it: the one the following event does
//!    not link to is `Inserted`;
//! 2. seq `s`, hash or id not matching the fields: `Modified` here; fields fine but `prev_hash`
//!    not `h`: the previous event was rewritten and re-hashed, `Modified` there;
//! 3. seq below `s` (a replayed seq) or a foreign chain: `Inserted`;
//! 4. seq above `s`: `Swapped` if seq `s` shows up within the next [`LOOKAHEAD`] lines, else
//!    `Deleted`;
//! 5. a checkpoint at an accepted seq whose hash, count or signature does not match:
//!    `CheckpointMismatch` (a self-consistent rewrite up to there);
//! 6. at the end, a checkpoint or the export trailer naming more events than present:
//!    `Truncated`.

use super::checkpoint::{AuditPublicKey, Checkpoint};
use super::event::{AuditEvent, ChainHead, ChainId};
use super::export::ExportLine;
use super::{AuditError, MAX_LINE_BYTES};
use serde::Serialize;
use std::collections::VecDeque;
use std::fmt;
use std::io::BufRead;

/// How many lines ahead the verifier looks to tell a swap from a deletion.
pub const LOOKAHEAD: usize = 64;

/// What kind of tampering a failure shows.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TamperKind {
    /// An event's fields no longer match its hash, or a rewritten event broke its successor's
    /// link.
    Modified,
    /// One or more events are missing (a sequence gap).
    Deleted,
    /// Events are out of order.
    Swapped,
    /// An event that is not part of the chain (replayed seq, forged or foreign line).
    Inserted,
    /// A checkpoint or the export trailer names more events than are present.
    Truncated,
    /// A signed checkpoint does not match the chain, or its signature fails.
    CheckpointMismatch,
}

impl fmt::Display for TamperKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Modified => "modified",
            Self::Deleted => "deleted",
            Self::Swapped => "swapped",
            Self::Inserted => "inserted",
            Self::Truncated => "truncated",
            Self::CheckpointMismatch => "checkpoint mismatch",
        })
    }
}

/// The first bad position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// 0-based index among the audit events of the input (not counting other export lines).
    pub position: u64,
    /// The sequence number the chain expects at that position.
    pub seq: u64,
    /// What it shows.
    pub kind: TamperKind,
    /// The 1-based input line of that event, when read from lines and known.
    pub line: Option<u64>,
}

/// The verifier's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The chain verified (from the first event).
    pub chain: Option<ChainId>,
    /// Audit events read.
    pub events: u64,
    /// Message lines read (exports only).
    pub messages: u64,
    /// Checkpoints matched against the chain.
    pub checkpoints: u64,
    /// Whether checkpoint signatures were checked (a public key was given).
    pub signatures_checked: bool,
    /// The last accepted head.
    pub head: ChainHead,
    /// The first bad position, or `None` when the chain verifies.
    pub failure: Option<Failure>,
}

impl Report {
    /// True when nothing bad was found.
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// A verifier fed one event at a time, keeping at most [`LOOKAHEAD`] + 1 events in memory.
#[derive(Debug)]
pub struct StreamVerifier<'k> {
    pubkey: Option<&'k AuditPublicKey>,
    checkpoints: Vec<Checkpoint>,
    window: VecDeque<(AuditEvent, Option<u64>)>,
    cur_line: Option<u64>,
    prev_line: Option<u64>,
    decided: u64,
    read: u64,
    messages: u64,
    matched: u64,
    head: ChainHead,
    chain: Option<ChainId>,
    failure: Option<Failure>,
    claimed_events: Option<u64>,
    claimed_head: Option<String>,
    claimed_messages: Option<u64>,
}

impl<'k> StreamVerifier<'k> {
    /// A verifier checking against `checkpoints` (those of other chains are ignored) and, when
    /// given, their signatures against `pubkey`.
    pub fn new(checkpoints: &[Checkpoint], pubkey: Option<&'k AuditPublicKey>) -> Self {
        let mut checkpoints = checkpoints.to_vec();
        checkpoints.sort_by_key(|c| c.seq);
        Self {
            pubkey,
            checkpoints,
            window: VecDeque::with_capacity(LOOKAHEAD + 1),
            cur_line: None,
            prev_line: None,
            decided: 0,
            read: 0,
            messages: 0,
            matched: 0,
            head: ChainHead::genesis(),
            chain: None,
            failure: None,
            claimed_events: None,
            claimed_head: None,
            claimed_messages: None,
        }
    }

    /// Continues a chain from a known head instead of genesis (to check one segment on its
    /// own, given the head that precedes it).
    pub fn resume_from(mut self, head: ChainHead) -> Self {
        self.head = head;
        self
    }

    /// Feeds the next event.
    pub fn push(&mut self, event: AuditEvent) {
        self.push_line(event, None);
    }

    /// Feeds the next event, read from input line `line` (1-based), so a failure names it.
    pub fn push_line(&mut self, event: AuditEvent, line: Option<u64>) {
        self.read = self.read.saturating_add(1);
        if self.failure.is_some() {
            return;
        }
        if self.chain.is_none() {
            self.chain = Some(event.chain().clone());
        }
        self.window.push_back((event, line));
        while self.window.len() > LOOKAHEAD && self.failure.is_none() {
            self.decide_front();
        }
    }

    /// Feeds a line that should have been an event but cannot be read: `Modified` there.
    pub fn push_unreadable(&mut self, line: Option<u64>) {
        self.reject(TamperKind::Modified, line);
    }

    /// Feeds a line found after an export's trailer: `Inserted` there.
    pub fn push_after_end(&mut self, line: Option<u64>) {
        self.reject(TamperKind::Inserted, line);
    }

    fn reject(&mut self, kind: TamperKind, line: Option<u64>) {
        self.drain();
        self.read = self.read.saturating_add(1);
        self.cur_line = line;
        self.fail(self.decided, self.head.seq.saturating_add(1), kind);
    }

    /// Counts a message line of an export.
    pub fn count_message(&mut self) {
        self.messages = self.messages.saturating_add(1);
    }

    /// Records what an export trailer claims, checked in [`StreamVerifier::finish`].
    pub fn claim(&mut self, events: u64, head_hash: &str) {
        self.claimed_events = Some(events);
        self.claimed_head = Some(head_hash.to_owned());
    }

    /// Records how many message lines an export trailer claims, checked in
    /// [`StreamVerifier::finish`]: a dropped or added message line is reported.
    pub fn claim_messages(&mut self, messages: u64) {
        self.claimed_messages = Some(messages);
    }

    /// Decides the remaining events, applies the end-of-input checks and reports.
    pub fn finish(mut self) -> Report {
        self.drain();
        if self.failure.is_none() {
            self.check_tail();
        }
        Report {
            chain: self.chain,
            events: self.read,
            messages: self.messages,
            checkpoints: self.matched,
            signatures_checked: self.pubkey.is_some(),
            head: self.head,
            failure: self.failure,
        }
    }

    fn drain(&mut self) {
        while !self.window.is_empty() && self.failure.is_none() {
            self.decide_front();
        }
    }

    fn fail(&mut self, position: u64, seq: u64, kind: TamperKind) {
        let line = self.cur_line;
        self.fail_at(position, seq, kind, line);
    }

    fn fail_at(&mut self, position: u64, seq: u64, kind: TamperKind, line: Option<u64>) {
        if self.failure.is_none() {
            self.failure = Some(Failure {
                position,
                seq,
                kind,
                line,
            });
        }
    }

    fn decide_front(&mut self) {
        let Some((e, line)) = self.window.pop_front() else {
            return;
        };
        self.cur_line = line;
        let p = self.decided;
        self.decided = self.decided.saturating_add(1);
        let s = self.head.seq.saturating_add(1);
        let chain = self.chain.clone().unwrap_or_else(|| e.chain().clone());

        if e.chain() != &chain || e.seq() < s {
            return self.fail(p, s, TamperKind::Inserted);
        }
        if e.seq() > s {
            let kind = if self.window.iter().any(|(w, _)| w.seq() == s) {
                TamperKind::Swapped
            } else {
                TamperKind::Deleted
            };
            return self.fail(p, s, kind);
        }

        let intact =
            e.compute_hash() == e.hash() && e.event_id() == AuditEvent::derive_id(&chain, s);
        let linked = e.prev_hash() == self.head.hash;
        if self.window.front().is_some_and(|(n, _)| n.seq() == s) {
            let successor_agrees = match self.window.get(1) {
                Some((a, _)) if a.seq() == s.saturating_add(1) => a.prev_hash() == e.hash(),
                _ => true,
            };
            if !(intact && linked && successor_agrees) {
                return self.fail(p, s, TamperKind::Inserted);
            }
        } else if !intact || (!linked && p == 0) {
            return self.fail(p, s, TamperKind::Modified);
        } else if !linked {
            let prev = self.prev_line;
            return self.fail_at(
                p.saturating_sub(1),
                s.saturating_sub(1),
                TamperKind::Modified,
                prev,
            );
        }

        self.head = ChainHead::of(&e);
        self.prev_line = line;
        self.check_checkpoints_at(p, &e);
    }

    fn check_checkpoints_at(&mut self, p: u64, e: &AuditEvent) {
        let mut bad = false;
        let mut matched = 0u64;
        let from = self.checkpoints.partition_point(|c| c.seq < e.seq());
        let to = self.checkpoints.partition_point(|c| c.seq <= e.seq());
        let at = self.checkpoints.get(from..to).unwrap_or(&[]);
        for cp in at.iter().filter(|c| &c.chain_id == e.chain()) {
            let signed = self.pubkey.is_none_or(|k| k.verify(cp));
            if signed && cp.head_hash == e.hash() && cp.count == cp.seq {
                matched = matched.saturating_add(1);
            } else {
                bad = true;
            }
        }
        self.matched = self.matched.saturating_add(matched);
        if bad {
            self.fail(p, e.seq(), TamperKind::CheckpointMismatch);
        }
    }

    fn check_tail(&mut self) {
        self.cur_line = None;
        let p = self.decided;
        let s = self.head.seq.saturating_add(1);
        let chain = self.chain.clone();
        let beyond: Vec<bool> = self
            .checkpoints
            .iter()
            .filter(|c| chain.as_ref().is_none_or(|ch| &c.chain_id == ch) && c.seq > self.head.seq)
            .map(|c| self.pubkey.is_none_or(|k| k.verify(c)))
            .collect();
        if beyond.iter().any(|signed| !signed) {
            return self.fail(p, s, TamperKind::CheckpointMismatch);
        }
        if !beyond.is_empty() {
            return self.fail(p, s, TamperKind::Truncated);
        }
        if let Some(claimed) = self.claimed_events {
            if claimed > self.read {
                return self.fail(p, s, TamperKind::Truncated);
            }
            if claimed < self.read {
                return self.fail(claimed, claimed.saturating_add(1), TamperKind::Inserted);
            }
            if self.claimed_head.as_deref() != Some(self.head.hash.as_str()) {
                let (last, line) = (p.saturating_sub(1), self.prev_line);
                return self.fail_at(last, self.head.seq, TamperKind::Modified, line);
            }
        }
        if let Some(claimed) = self.claimed_messages {
            if claimed > self.messages {
                self.fail(p, s, TamperKind::Deleted);
            } else if claimed < self.messages {
                self.fail(p, s, TamperKind::Inserted);
            }
        }
    }
}

/// Verifies one chain given as events in stored order.
pub fn verify(
    events: &[AuditEvent],
    checkpoints: &[Checkpoint],
    pubkey: Option<&AuditPublicKey>,
) -> Report {
    let mut v = StreamVerifier::new(checkpoints, pubkey);
    for e in events {
        v.push(e.clone());
    }
    v.finish()
}

/// Verifies a JSON Lines stream: a segment (bare events) or an export (header, events,
/// messages, trailer). An export without its trailer is reported `Truncated`.
///
/// # Errors
///
/// [`AuditError::Io`] if reading fails, [`AuditError::LineTooLong`] for a line over
/// [`MAX_LINE_BYTES`].
pub fn verify_lines<R: BufRead>(
    mut reader: R,
    checkpoints: &[Checkpoint],
    pubkey: Option<&AuditPublicKey>,
) -> Result<Report, AuditError> {
    let mut v = StreamVerifier::new(checkpoints, pubkey);
    let mut buf = Vec::new();
    let mut export = false;
    let mut trailer = false;
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let limit = u64::try_from(MAX_LINE_BYTES)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let n = std::io::Read::take(&mut reader, limit)
            .read_until(b'\n', &mut buf)
            .map_err(|_| AuditError::Io)?;
        if n == 0 {
            break;
        }
        line_no = line_no.saturating_add(1);
        let at = Some(line_no);
        if buf.len() > MAX_LINE_BYTES {
            return Err(AuditError::LineTooLong);
        }
        let line = std::str::from_utf8(&buf).map(str::trim).unwrap_or("\u{0}");
        if line.is_empty() {
            continue;
        }
        if trailer {
            v.push_after_end(at);
            continue;
        }
        match ExportLine::parse(line) {
            Ok(ExportLine::Header(_)) => export = true,
            Ok(ExportLine::Event(e)) => v.push_line(e, at),
            Ok(ExportLine::Message(_)) => v.count_message(),
            Ok(ExportLine::Trailer(t)) => {
                trailer = true;
                v.claim(t.events, &t.head_hash);
                v.claim_messages(t.messages);
            }
            Err(_) => match serde_json::from_str::<AuditEvent>(line) {
                Ok(e) => v.push_line(e, at),
                Err(_) => v.push_unreadable(at),
            },
        }
    }
    if export && !trailer {
        v.claim(u64::MAX, "");
    }
    Ok(v.finish())
}
