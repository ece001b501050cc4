//! The hash-chained audit event (45 CFR 164.312(b), (c)(2)): one chain per order, one per region
//! for events with no order, each event committing to its predecessor by SHA-256.
//!
//! # Canonical serialization (version 1)
//!
//! The hash of an event is `lowercase_hex(SHA-256(canonical_bytes))`, where `canonical_bytes`
//! is the ASCII tag `rxroom.audit.v1` followed by every field except `hash`, in this order:
//! `event_id, chain, seq, ts_ms, actor, role, ip, device, action, order, target, outcome,
//! labels, prev_hash`. Each field is encoded as:
//!
//! - a string: byte `0x01`, its UTF-8 length as u32 big-endian, then the bytes;
//! - an absent optional string: byte `0x00`;
//! - a number: its u64 big-endian (8 bytes);
//! - `labels`: the count as u32 big-endian, then each label's wire name as a string.
//!
//! `role` and `action` are encoded by their wire names (`driver`, `message_sent`), labels by
//! theirs (`RX_NUMBER`). The encoding is length-prefixed, so no two events share one.

use super::{AuditAction, EventDraft};
use crate::api::ErrorCode;
use crate::ids::{OrderId, Region, Role};
use crate::labels::Label;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;

/// The `prev_hash` of the first event of every chain: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The value stored instead of a draft field that fails its shape check (see [`append_with`]).
const REFUSED: &str = "?";

/// The longest opaque value (sealed actor, IP, device; target) kept in an event, in bytes.
const MAX_OPAQUE: usize = 128;

/// Which chain an event belongs to: an order id, or `region:<r>` for events with no order.
///
/// Order ids never contain `:`, so the two forms cannot collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainId(String);

impl ChainId {
    /// The chain of one order.
    pub fn order(order: &OrderId) -> Self {
        Self(order.as_str().to_owned())
    }

    /// The per-region chain of events with no order (refused tokens).
    pub fn region(region: Region) -> Self {
        Self(format!("region:{}", region.as_str()))
    }

    /// The chain a draft goes to: its order's, or the region's when it has none.
    pub fn for_draft(draft: &EventDraft, region: Region) -> Self {
        draft
            .order
            .as_ref()
            .map_or_else(|| Self::region(region), Self::order)
    }

    /// The chain id as it appears in events and object keys.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses a chain id; `None` unless it is an order id or `region:<us|eu|apac>`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.strip_prefix("region:") {
            Some(r) => r.parse::<Region>().ok().map(Self::region),
            None => s.parse::<OrderId>().ok().map(|o| Self::order(&o)),
        }
    }
}

impl Serialize for ChainId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ChainId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom("invalid chain id"))
    }
}

/// The head of a chain: the last sequence number given and its event's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// The last sequence number given (0 before the first event).
    pub seq: u64,
    /// The hash of that event ([`GENESIS_HASH`] before the first event).
    pub hash: String,
}

impl ChainHead {
    /// The head of an empty chain.
    pub fn genesis() -> Self {
        Self {
            seq: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }

    /// The head after `event` (whatever the event claims; the verifier checks it).
    pub fn of(event: &AuditEvent) -> Self {
        Self {
            seq: event.seq,
            hash: event.hash.clone(),
        }
    }
}

impl Default for ChainHead {
    fn default() -> Self {
        Self::genesis()
    }
}

/// An audit event as stored: the draft plus its chain, sequence, server time and hashes.
///
/// Built only by [`append`] / [`append_with`] (or read back from storage), so every field has
/// passed its shape check. Fields are exposed read-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    event_id: String,
    chain: ChainId,
    seq: u64,
    ts_ms: u64,
    actor: Option<String>,
    role: Option<Role>,
    ip: Option<String>,
    device: Option<String>,
    action: AuditAction,
    order: Option<OrderId>,
    target: Option<String>,
    outcome: String,
    labels: Vec<Label>,
    prev_hash: String,
    hash: String,
}

impl AuditEvent {
    /// The event id, `{chain}:{seq}`: derived, so replays produce the same id.
    pub fn event_id(&self) -> &str {
        &self.event_id
    }
    /// The chain it belongs to.
    pub fn chain(&self) -> &ChainId {
        &self.chain
    }
    /// Its position in the chain, from 1, gap-free.
    pub fn seq(&self) -> u64 {
        self.seq
    }
    /// Server time in ms since the epoch (never client time).
    pub fn ts_ms(&self) -> u64 {
        self.ts_ms
    }
    /// The actor (a user id, or the value the Worker sealed in its place).
    pub fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }
    /// The actor's role.
    pub fn role(&self) -> Option<Role> {
        self.role
    }
    /// The client address (canonical IP text, or a sealed value).
    pub fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }
    /// The device (a device id, or a sealed value).
    pub fn device(&self) -> Option<&str> {
        self.device.as_deref()
    }
    /// What happened.
    pub fn action(&self) -> AuditAction {
        self.action
    }
    /// The order, if any.
    pub fn order(&self) -> Option<&OrderId> {
        self.order.as_ref()
    }
    /// The object acted on (message sequence, media key, archive name).
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }
    /// `OK` or a stable error code (`?` if the draft carried anything else).
    pub fn outcome(&self) -> &str {
        &self.outcome
    }
    /// PHI label names found in a message (never the values).
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }
    /// The hash of the previous event ([`GENESIS_HASH`] for seq 1).
    pub fn prev_hash(&self) -> &str {
        &self.prev_hash
    }
    /// This event's hash over [`AuditEvent::canonical_bytes`].
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The canonical serialization that the hash covers (see the module docs for the layout).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"rxroom.audit.v1");
        put_str(&mut out, Some(&self.event_id));
        put_str(&mut out, Some(self.chain.as_str()));
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.ts_ms.to_be_bytes());
        put_str(&mut out, self.actor.as_deref());
        put_str(&mut out, self.role.map(Role::as_str));
        put_str(&mut out, self.ip.as_deref());
        put_str(&mut out, self.device.as_deref());
        put_str(&mut out, Some(self.action.as_str()));
        put_str(&mut out, self.order.as_ref().map(OrderId::as_str));
        put_str(&mut out, self.target.as_deref());
        put_str(&mut out, Some(&self.outcome));
        put_len(&mut out, self.labels.len());
        for l in &self.labels {
            put_str(&mut out, Some(l.as_str()));
        }
        put_str(&mut out, Some(&self.prev_hash));
        out
    }

    /// Recomputes the hash from the fields (lowercase hex SHA-256 of the canonical bytes).
    pub fn compute_hash(&self) -> String {
        hex(&Sha256::digest(self.canonical_bytes()))
    }

    /// The id an event at `seq` in `chain` must carry.
    pub fn derive_id(chain: &ChainId, seq: u64) -> String {
        format!("{}:{seq}", chain.as_str())
    }
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.push(1);
            put_len(out, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        None => out.push(0),
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Which opaque field a sealing function is asked to transform.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealField {
    /// The actor's user id.
    Actor,
    /// The client's IP address.
    Ip,
    /// The device id.
    Device,
}

/// True for values the chain keeps as opaque strings: 1..=128 bytes of `[A-Za-z0-9._:=+/-]`,
/// with no embedded bearer token. No whitespace means no sentence of message text fits.
fn opaque_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_OPAQUE
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:=+/-".contains(&b))
        && !has_jwt(s)
}

/// True if some run of base64url-and-dot characters looks like a compact JWS: it starts with
/// `eyJ` (base64 of `{"`) and has at least two dots. Sealed values (`s1.<base64>`, one dot)
/// never match, even when their base64 happens to contain `eyJ`.
fn has_jwt(s: &str) -> bool {
    s.split([':', '/', '=', '+'])
        .any(|run| run.starts_with("eyJ") && run.matches('.').count() >= 2)
}

fn opaque(s: String) -> String {
    if opaque_ok(&s) {
        s
    } else {
        REFUSED.to_owned()
    }
}

fn ip_value(s: String) -> String {
    match s.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => opaque(s),
    }
}

fn outcome_value(s: &str) -> String {
    if s == "OK" || ErrorCode::ALL.iter().any(|c| c.as_str() == s) {
        s.to_owned()
    } else {
        REFUSED.to_owned()
    }
}

/// Appends `draft` to the chain whose head is `head`: the event gets `seq = head.seq + 1`,
/// `prev_hash = head.hash`, server time `ts_ms`, and its own hash. The caller stores the event
/// and moves its head to [`ChainHead::of`] the result.
///
/// Same as [`append_with`] with no sealing.
pub fn append(head: &ChainHead, chain: &ChainId, draft: EventDraft, ts_ms: u64) -> AuditEvent {
    append_with(head, chain, draft, ts_ms, &|_, v| v.to_owned())
}

/// [`append`], passing the actor, IP and device through `seal` first (the Worker replaces them
/// with sealed values there).
///
/// # Security
///
/// Free-text fields are shape-checked so message text, PHI values and tokens cannot ride in
/// them: `outcome` must be `OK` or an [`ErrorCode`] wire name; `target`, sealed values and
/// non-IP addresses must be short opaque tokens without whitespace or an embedded JWT; labels
/// must be known [`Label`] names. A value that fails is stored as `?` (and an unknown label is
/// dropped) rather than losing the event.
pub fn append_with(
    head: &ChainHead,
    chain: &ChainId,
    draft: EventDraft,
    ts_ms: u64,
    seal: &dyn Fn(SealField, &str) -> String,
) -> AuditEvent {
    let seq = head.seq.saturating_add(1);
    let mut event = AuditEvent {
        event_id: AuditEvent::derive_id(chain, seq),
        chain: chain.clone(),
        seq,
        ts_ms,
        actor: draft
            .actor
            .map(|u| opaque(seal(SealField::Actor, u.as_str()))),
        role: draft.role,
        ip: draft.ip.map(|ip| ip_value(seal(SealField::Ip, &ip))),
        device: draft
            .device
            .map(|d| opaque(seal(SealField::Device, d.as_str()))),
        action: draft.action,
        order: draft.order,
        target: draft.target.map(opaque),
        outcome: outcome_value(&draft.outcome),
        labels: draft
            .labels
            .iter()
            .filter_map(|l| Label::from_wire(l))
            .collect(),
        prev_hash: head.hash.clone(),
        hash: String::new(),
    };
    event.hash = event.compute_hash();
    event
}

/// A chain being written: its id and head. The Durable Object keeps the head in its storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    id: ChainId,
    head: ChainHead,
}

impl Chain {
    /// A chain resumed at `head` (use [`ChainHead::genesis`] for a new one).
    pub fn resume(id: ChainId, head: ChainHead) -> Self {
        Self { id, head }
    }

    /// The chain id.
    pub fn id(&self) -> &ChainId {
        &self.id
    }

    /// The current head.
    pub fn head(&self) -> &ChainHead {
        &self.head
    }

    /// Appends a draft at server time `ts_ms` and advances the head. Events appended in one
    /// request (same `ts_ms`) still get distinct, consecutive sequence numbers.
    pub fn append(&mut self, draft: EventDraft, ts_ms: u64) -> AuditEvent {
        self.append_with(draft, ts_ms, &|_, v| v.to_owned())
    }

    /// [`Chain::append`] with sealing, as in [`append_with`].
    pub fn append_with(
        &mut self,
        draft: EventDraft,
        ts_ms: u64,
        seal: &dyn Fn(SealField, &str) -> String,
    ) -> AuditEvent {
        let event = append_with(&self.head, &self.id, draft, ts_ms, seal);
        self.head = ChainHead::of(&event);
        event
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
