//! The auditor's export of one order: its audit chain (from the bucket's segments and the
//! object's outbox) and its messages in the full view (from the live room or its archive), as
//! JSON Lines.

use crate::config::Config;
use crate::room_do::ChatRoom;
use crate::seams::RoomSealer;
use rxroom_core::audit::{
    decode_segment, segment_prefix, AuditAction, AuditEvent, ExportHeader, ExportLine,
    ExportMessage, ExportTrailer, EXPORT_FORMAT,
};
use rxroom_core::claims::Scope;
use rxroom_core::ids::OrderId;
use rxroom_core::policy::{self, Action};
use rxroom_core::room::{ArchiveDoc, ArchivedMessage};
use rxroom_core::room::{Caller, RoomError, RoomStore, SealKind, Sealer, StoreError, OUTCOME_OK};

fn unavailable<E>(_: E) -> RoomError {
    RoomError::Store(StoreError::Unavailable)
}

/// Builds the export, after checking that the caller is an auditor of the order's tenant and
/// recording the export in the order's chain.
pub async fn export_order(
    room: &ChatRoom,
    cfg: &Config,
    order: &OrderId,
    caller: &Caller<'_>,
) -> Result<String, RoomError> {
    let now = caller.now_ms;
    let mut store = room.store(cfg, order, now)?;

    // 1. Who may export: an auditor of the order's tenant, in this region.
    let (tenant, archive_name) = store.audit_info()?;
    let principal = caller.principal;
    let tenant_ok = matches!(
        (principal.scope(), tenant.as_deref()),
        (Scope::Tenant(t), Some(stored)) if t.as_str() == stored
    );
    if !policy::allows(principal.role(), Action::ExportAudit)
        || !tenant_ok
        || principal.region() != cfg.region
    {
        return Err(RoomError::Forbidden);
    }

    // 2. The export is itself an audited access.
    store.append_audit(caller.draft(AuditAction::AuditExported, None, OUTCOME_OK))?;

    // 3. Events: flushed segments in key order, then what still waits in the outbox.
    let bucket = room.audit_bucket().map_err(unavailable)?;
    let prefix = segment_prefix(cfg.region, store.chain());
    let mut events: Vec<AuditEvent> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut list = bucket.list().prefix(prefix.clone());
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let page = list.execute().await.map_err(unavailable)?;
        for obj in page.objects() {
            let Some(body) = bucket.get(obj.key()).execute().await.map_err(unavailable)? else {
                continue;
            };
            let Some(b) = body.body() else { continue };
            let text = b.text().await.map_err(unavailable)?;
            events.extend(decode_segment(&text).map_err(|_| RoomError::Encoding)?);
        }
        match page.cursor() {
            Some(c) if page.truncated() => cursor = Some(c),
            _ => break,
        }
    }
    let flushed_to = events.last().map_or(0, AuditEvent::seq);
    events.extend(
        store
            .outbox_events()?
            .into_iter()
            .filter(|e| e.seq() > flushed_to),
    );

    // 4. Messages in the full view: from the sealed archive once the room was archived (one
    //    room per order: an archived order never gets a second room), else from the live room.
    let mut messages: Vec<ArchivedMessage> = Vec::new();
    if let Some(name) = archive_name {
        let bucket = room.archive_bucket().map_err(unavailable)?;
        let obj = bucket
            .get(&name)
            .execute()
            .await
            .map_err(unavailable)?
            .ok_or(RoomError::Encoding)?;
        let bytes = obj
            .body()
            .ok_or(RoomError::Encoding)?
            .bytes()
            .await
            .map_err(unavailable)?;
        let sealer = RoomSealer {
            keyring: &cfg.keyring,
            region: cfg.region,
            order,
        };
        let plain = sealer.open(SealKind::Archive, &name, &bytes)?;
        let doc: ArchiveDoc = serde_json::from_slice(&plain).map_err(|_| RoomError::Encoding)?;
        messages.extend(doc.messages);
    } else if store.meta()?.is_some() {
        messages.extend(room.with_room(cfg, order, now, |r| r.full_messages())?);
    }

    // 5. Header, events, messages, trailer.
    let head = events
        .last()
        .map(|e| (e.seq(), e.hash().to_owned()))
        .unwrap_or_default();
    let mut out = String::new();
    out.push_str(
        &ExportLine::Header(ExportHeader {
            format: EXPORT_FORMAT.to_owned(),
            order: order.clone(),
            region: cfg.region,
            generated_at_ms: now,
            events: events.len() as u64,
            messages: messages.len() as u64,
        })
        .to_line(),
    );
    let event_count = events.len() as u64;
    for e in events {
        out.push_str(&ExportLine::Event(e).to_line());
    }
    let message_count = messages.len() as u64;
    for m in messages {
        out.push_str(
            &ExportLine::Message(ExportMessage {
                seq: m.seq,
                sender: m.sender.as_str().to_owned(),
                role: m.sender_role,
                server_time_ms: m.server_time,
                text: m.text.clone(),
                labels: m.labels.clone(),
            })
            .to_line(),
        );
    }
    out.push_str(
        &ExportLine::Trailer(ExportTrailer {
            events: event_count,
            messages: message_count,
            head_seq: head.0,
            head_hash: head.1,
        })
        .to_line(),
    );
    Ok(out)
}
