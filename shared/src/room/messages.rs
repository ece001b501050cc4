//! Message ingest, history, resume, read receipts and typing (issue 5 "Ingest", "Views",
//! "History and live"; SECURITY D4, D5, D9, J3, J4, J5).
//!
//! Ingest runs, in order: size limit → principal and policy → deadline → idempotency →
//! scan → ingest policy → seal → persist (message and audit draft in one commit) → fan-out
//! views. Idempotency check and insert are one synchronous step with no other I/O between.

use crate::audit::AuditAction;
use crate::ids::{ClientMessageId, Role, UserId};
use crate::labels::{Finding, Label, NamePart};
use crate::policy::Action;
use crate::room::live::ServerFrame;
use crate::room::{
    Ack, Caller, HistoryQuery, MarkRead, MessageView, Page, ReadReceipt, Room, RoomError,
    RoomStore, SealKind, SendMessage, StoredMessage, Write, OUTCOME_OK,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::ops::Range;

/// The roles a message is rendered for (every role that can hold a socket).
const VIEW_ROLES: [Role; 4] = [
    Role::Pharmacist,
    Role::Driver,
    Role::Patient,
    Role::Dispatcher,
];

/// Detector name given to findings read back from storage.
const STORED_DETECTOR: &str = "stored";

/// One message rendered once per role, for fan-out to live sockets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleViews(Vec<(Role, MessageView)>);

impl RoleViews {
    /// The view for sockets of `role` (`None` for a role that never holds a socket).
    pub fn for_role(&self, role: Role) -> Option<&MessageView> {
        self.0.iter().find(|(r, _)| *r == role).map(|(_, v)| v)
    }

    /// Whether there is nothing to fan out (a replayed send).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The result of a send: the ack, and what to fan out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The acknowledgement (the original one for a replay).
    pub ack: Ack,
    /// True when this was a retry of a stored message: nothing new is stored, fanned out,
    /// pushed or audited.
    pub replay: bool,
    /// The message per role, for live sockets (empty for a replay).
    pub views: RoleViews,
    /// Participants other than the sender, for push to those without a live socket (empty for
    /// a replay). Push text must be fixed and PHI-free.
    pub push_to: Vec<UserId>,
}

/// The result of a read receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOutcome {
    /// The reader's position after the call.
    pub receipt: ReadReceipt,
    /// Whether it moved forward (then broadcast it; otherwise nothing was stored).
    pub advanced: bool,
}

/// A finding as stored inside a sealed body (no detector name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredFinding {
    label: Label,
    range: Range<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_name: Option<Range<usize>>,
    #[serde(default)]
    name_part: NamePart,
}

/// The plaintext of a sealed message body. `Debug` omits the text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Body {
    /// The text after ingest (cards masked): the full view.
    pub(crate) text: String,
    findings: Vec<StoredFinding>,
    /// SHA-256 of the text as sent, to tell a retry from a conflicting reuse of the id. Sealed,
    /// never stored in clear.
    sent_digest: [u8; 32],
}

impl Body {
    /// The findings, checked against the text so that no range can point outside it.
    pub(crate) fn findings(&self) -> Result<Vec<Finding>, RoomError> {
        let ok = |r: &Range<usize>| {
            r.start <= r.end
                && self.text.is_char_boundary(r.start)
                && self.text.is_char_boundary(r.end)
                && r.end <= self.text.len()
        };
        self.findings
            .iter()
            .map(|f| {
                let first_ok = f.first_name.as_ref().is_none_or(ok);
                if ok(&f.range) && first_ok {
                    Ok(Finding {
                        label: f.label,
                        range: f.range.clone(),
                        first_name: f.first_name.clone(),
                        name_part: f.name_part,
                        detector: STORED_DETECTOR,
                    })
                } else {
                    Err(RoomError::Encoding)
                }
            })
            .collect()
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn unique_labels(findings: &[Finding]) -> Vec<Label> {
    let mut labels: Vec<Label> = findings.iter().map(|f| f.label).collect();
    labels.sort();
    labels.dedup();
    labels
}

fn seq_target(seqs: &[StoredMessage]) -> Option<String> {
    match (seqs.first(), seqs.last()) {
        (Some(a), Some(b)) => Some(format!("seq:{}-{}", a.seq, b.seq)),
        _ => None,
    }
}

impl<S: RoomStore> Room<'_, S> {
    /// Accepts a message: the ingest pipeline. Stores the message and its `message_sent` draft
    /// in one commit and only then returns the ack (SECURITY J2). A retry with the same client
    /// id and text returns the original ack and stores nothing (D5, J3).
    ///
    /// # Errors
    /// `PAYLOAD_TOO_LARGE` (checked first, on bytes), `INVALID_REQUEST` (blank text),
    /// `FORBIDDEN`, `UNAUTHENTICATED`, `ACCESS_ENDED`, `ROOM_CLOSED`, `DUPLICATE_ID_CONFLICT`,
    /// `PHI_REJECTED` (its draft is stored), `INTERNAL` (storage, sealing or scanning failed:
    /// nothing acknowledged).
    pub fn send(&mut self, caller: &Caller<'_>, req: &SendMessage) -> Result<Sent, RoomError> {
        if req.text.len() > self.config.max_text_bytes {
            return Err(RoomError::PayloadTooLarge);
        }
        if !has_visible_text(&req.text) {
            return Err(RoomError::InvalidRequest);
        }

        let access = self.authorize(caller, Action::Send)?;
        let sender = caller.principal.user();

        let sent_digest = digest(&req.text);
        if let Some(stored) = self.store.message_by_client_id(sender, &req.client_id)? {
            let body = self.open_body(&stored)?;
            if body.sent_digest != sent_digest {
                return Err(RoomError::DuplicateIdConflict);
            }
            return Ok(Sent {
                ack: ack_of(&stored),
                replay: true,
                views: RoleViews::default(),
                push_to: Vec::new(),
            });
        }

        let record = self.open_record(&access.meta)?;
        let findings = self.scanner.scan(&req.text, &record)?;
        let (text, findings) = match self
            .scanner
            .prepare_ingest(access.role, &req.text, findings)
        {
            Ok(prepared) => prepared,
            Err(mut labels) => {
                labels.sort();
                labels.dedup();
                let mut draft = caller.draft(
                    AuditAction::MessageSent,
                    None,
                    crate::api::ErrorCode::PhiRejected.as_str(),
                );
                draft.labels = labels.iter().map(|l| l.as_str().to_owned()).collect();
                self.store
                    .commit(vec![Write::audit(caller.now_ms, draft)])?;
                return Err(RoomError::PhiRejected(labels));
            }
        };

        let labels = unique_labels(&findings);
        let seq = self.store.last_seq()?.saturating_add(1);
        let body = Body {
            text,
            findings: findings
                .iter()
                .map(|f| StoredFinding {
                    label: f.label,
                    range: f.range.clone(),
                    first_name: f.first_name.clone(),
                    name_part: f.name_part,
                })
                .collect(),
            sent_digest,
        };
        let plain = serde_json::to_vec(&body).map_err(|_| RoomError::Encoding)?;
        let sealed = self
            .sealer
            .seal(SealKind::Message, &seq.to_string(), &plain)?;
        let stored = StoredMessage {
            seq,
            client_id: req.client_id.clone(),
            sender: sender.clone(),
            sender_role: access.role,
            server_time_ms: caller.now_ms,
            labels: labels.clone(),
            body: sealed,
        };
        let mut draft = caller.draft(
            AuditAction::MessageSent,
            Some(format!("seq:{seq}")),
            OUTCOME_OK,
        );
        draft.labels = labels.iter().map(|l| l.as_str().to_owned()).collect();
        self.store.commit(vec![
            Write::InsertMessage(stored.clone()),
            Write::audit(caller.now_ms, draft),
        ])?;

        let views = VIEW_ROLES
            .into_iter()
            .map(|role| Ok((role, self.render(&stored, &body, &findings, role))))
            .collect::<Result<Vec<_>, RoomError>>()?;
        let push_to = access
            .meta
            .participants
            .iter()
            .filter(|m| m.user != *sender)
            .map(|m| m.user.clone())
            .collect();
        Ok(Sent {
            ack: ack_of(&stored),
            replay: false,
            views: RoleViews(views),
            push_to,
        })
    }

    /// A page of history in the caller's role view (`after` xor `before`; neither = the newest
    /// page). Records one `message_read` draft (`emergency_access` under an emergency grant).
    ///
    /// # Errors
    /// `INVALID_REQUEST` (both cursors, or a limit outside 1..=max), `FORBIDDEN`,
    /// `UNAUTHENTICATED`, `ACCESS_ENDED`, `ROOM_CLOSED`, `INTERNAL`.
    pub fn history(&mut self, caller: &Caller<'_>, q: HistoryQuery) -> Result<Page, RoomError> {
        let limit = q.limit.unwrap_or(self.config.history_default_limit);
        if limit == 0
            || limit > self.config.history_max_limit
            || (q.after.is_some() && q.before.is_some())
        {
            return Err(RoomError::InvalidRequest);
        }
        let access = self.authorize(caller, Action::ReadHistory)?;
        let limit = usize::try_from(limit).map_err(|_| RoomError::InvalidRequest)?;
        let fetch = limit.saturating_add(1);

        // Cursors are clamped to stored sequences, so storage only ever sees values up to
        // last_seq + 1 (SQLite integers are signed 64-bit).
        let last = self.store.last_seq()?;
        let (mut rows, forward) = match q.after {
            Some(after) if after >= last => (Vec::new(), true),
            Some(after) => (self.store.messages_after(after, fetch)?, true),
            None => {
                let before = q
                    .before
                    .map_or(last.saturating_add(1), |b| b.min(last.saturating_add(1)));
                (self.store.messages_before(before, fetch)?, false)
            }
        };
        let has_more = rows.len() > limit;
        if has_more {
            if forward {
                rows.truncate(limit);
            } else {
                rows.remove(0);
            }
        }

        let page = self.page(&rows, access.role, q.after.unwrap_or(0), has_more)?;
        self.record_read(caller, access.emergency, seq_target(&rows))?;
        Ok(page)
    }

    /// Opens a live session after the adapter verified the `auth` frame's token: records
    /// `live_connected`, and returns the frames to send, in order: `ready`, then every message
    /// after `last_seen` in the caller's role view (as [`Room::missed`]). Live messages follow.
    ///
    /// # Errors
    /// As [`Room::missed`]; close the socket with [`crate::room::live::Close::for_error`].
    pub fn connect(
        &mut self,
        caller: &Caller<'_>,
        last_seen: u64,
    ) -> Result<Vec<ServerFrame>, RoomError> {
        self.authorize(caller, Action::ConnectLive)?;
        let draft = caller.draft(AuditAction::LiveConnected, None, OUTCOME_OK);
        self.store
            .commit(vec![Write::audit(caller.now_ms, draft)])?;
        let page = self.missed(caller, last_seen)?;
        let last_seq = self.store.last_seq()?;
        let mut frames = Vec::with_capacity(page.messages.len().saturating_add(1));
        frames.push(ServerFrame::Ready {
            last_seq,
            complete: !page.has_more,
        });
        frames.extend(page.messages.into_iter().map(ServerFrame::Message));
        Ok(frames)
    }

    /// What a reconnecting socket missed: every message after `last_seen`, in order, in the
    /// caller's role view, up to the configured resume maximum (`has_more` says the client must
    /// page the rest over HTTP). Send these, then live messages (SECURITY D4).
    ///
    /// # Errors
    /// `INVALID_REQUEST` for a cursor beyond the last sequence (forged future), `FORBIDDEN`,
    /// `UNAUTHENTICATED`, `ACCESS_ENDED`, `ROOM_CLOSED`, `INTERNAL`.
    pub fn missed(&mut self, caller: &Caller<'_>, last_seen: u64) -> Result<Page, RoomError> {
        let access = self.authorize(caller, Action::ConnectLive)?;
        if last_seen > self.store.last_seq()? {
            return Err(RoomError::InvalidRequest);
        }
        let max = self.config.resume_max;
        let mut rows = self
            .store
            .messages_after(last_seen, max.saturating_add(1))?;
        let has_more = rows.len() > max;
        rows.truncate(max);
        let page = self.page(&rows, access.role, last_seen, has_more)?;
        if !rows.is_empty() {
            self.record_read(caller, access.emergency, seq_target(&rows))?;
        }
        Ok(page)
    }

    /// Moves the caller's read position forward (never back). Records a `message_read` draft
    /// (target `receipt:N`) only when it moves.
    ///
    /// # Errors
    /// `INVALID_REQUEST` for a sequence beyond the last message, `FORBIDDEN`,
    /// `UNAUTHENTICATED`, `ACCESS_ENDED`, `ROOM_CLOSED`, `INTERNAL`.
    pub fn mark_read(
        &mut self,
        caller: &Caller<'_>,
        req: MarkRead,
    ) -> Result<ReadOutcome, RoomError> {
        let access = self.authorize(caller, Action::ReadReceipts)?;
        if access.emergency {
            return Err(RoomError::Forbidden);
        }
        if req.seq > self.store.last_seq()? {
            return Err(RoomError::InvalidRequest);
        }
        let user = caller.principal.user().clone();
        let current = self
            .store
            .receipts()?
            .into_iter()
            .find(|(u, _)| *u == user)
            .map_or(0, |(_, s)| s);
        if req.seq <= current {
            return Ok(ReadOutcome {
                receipt: ReadReceipt { user, seq: current },
                advanced: false,
            });
        }
        let draft = caller.draft(
            AuditAction::MessageRead,
            Some(format!("receipt:{}", req.seq)),
            OUTCOME_OK,
        );
        self.store.commit(vec![
            Write::PutReceipt {
                user: user.clone(),
                seq: req.seq,
            },
            Write::audit(caller.now_ms, draft),
        ])?;
        Ok(ReadOutcome {
            receipt: ReadReceipt { user, seq: req.seq },
            advanced: true,
        })
    }

    /// Every participant's read position.
    ///
    /// # Errors
    /// `FORBIDDEN`, `UNAUTHENTICATED`, `ACCESS_ENDED`, `ROOM_CLOSED`, `INTERNAL`.
    pub fn receipts(&self, caller: &Caller<'_>) -> Result<Vec<ReadReceipt>, RoomError> {
        self.authorize(caller, Action::ReadReceipts)?;
        Ok(self
            .store
            .receipts()?
            .into_iter()
            .map(|(user, seq)| ReadReceipt { user, seq })
            .collect())
    }

    /// A typing indicator frame to broadcast (not stored, not audited).
    ///
    /// # Errors
    /// As for [`Room::send`] access: `FORBIDDEN`, `UNAUTHENTICATED`, `ACCESS_ENDED`,
    /// `ROOM_CLOSED`, `INTERNAL`.
    pub fn typing(&self, caller: &Caller<'_>, active: bool) -> Result<ServerFrame, RoomError> {
        let access = self.authorize(caller, Action::Send)?;
        Ok(ServerFrame::Typing {
            user: caller.principal.user().clone(),
            role: access.role,
            active,
        })
    }

    pub(crate) fn open_body(&self, m: &StoredMessage) -> Result<Body, RoomError> {
        let plain = self
            .sealer
            .open(SealKind::Message, &m.seq.to_string(), &m.body)?;
        serde_json::from_slice(&plain).map_err(|_| RoomError::Encoding)
    }

    fn render(
        &self,
        m: &StoredMessage,
        body: &Body,
        findings: &[Finding],
        role: Role,
    ) -> MessageView {
        MessageView {
            seq: m.seq,
            id: view_id(m, role),
            sender: m.sender.clone(),
            sender_role: m.sender_role,
            server_time: m.server_time_ms,
            text: self.scanner.render(&body.text, findings, role),
            labels: m.labels.clone(),
        }
    }

    fn page(
        &self,
        rows: &[StoredMessage],
        role: Role,
        cursor: u64,
        has_more: bool,
    ) -> Result<Page, RoomError> {
        let messages = rows
            .iter()
            .map(|m| {
                let body = self.open_body(m)?;
                let findings = body.findings()?;
                Ok(self.render(m, &body, &findings, role))
            })
            .collect::<Result<Vec<_>, RoomError>>()?;
        Ok(Page {
            next_after: rows.last().map_or(cursor, |m| m.seq),
            next_before: rows.first().map(|m| m.seq),
            messages,
            has_more,
        })
    }

    fn record_read(
        &mut self,
        caller: &Caller<'_>,
        emergency: bool,
        target: Option<String>,
    ) -> Result<(), RoomError> {
        let action = if emergency {
            AuditAction::EmergencyAccess
        } else {
            AuditAction::MessageRead
        };
        let draft = caller.draft(action, target, OUTCOME_OK);
        self.store
            .commit(vec![Write::audit(caller.now_ms, draft)])?;
        Ok(())
    }
}

fn ack_of(m: &StoredMessage) -> Ack {
    Ack {
        id: m.client_id.clone(),
        seq: m.seq,
        server_time: m.server_time_ms,
        redacted_labels: m.labels.clone(),
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Body(..)")
    }
}

/// The message id a role sees. The client id is the sender's free choice, so it could carry
/// PHI past the redactor: roles with a restricted view see an id derived from the sequence.
fn view_id(m: &StoredMessage, role: Role) -> ClientMessageId {
    let restricted = Label::ALL
        .iter()
        .any(|l| crate::policy::visibility(role, *l) != crate::policy::Visibility::Visible);
    if !restricted {
        return m.client_id.clone();
    }
    format!("m-{}", m.seq)
        .parse()
        .unwrap_or_else(|_| m.client_id.clone())
}

/// Whether a text has at least one character a reader can see: not whitespace, not a control
/// character, not an invisible format character (zero-width, bidi, BOM, soft hyphen).
fn has_visible_text(text: &str) -> bool {
    text.chars().any(|c| {
        !(c.is_whitespace()
            || c.is_control()
            || matches!(c,
                '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{180E}'
                | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
                | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'))
    })
}
