//! Audit delivery (45 CFR 164.312(b)): chained events wait in the object's outbox and are
//! flushed as new, append-only segment objects in the region's audit bucket, each followed by
//! a signed checkpoint of the chain head. Events with no room (refused tokens, refusals for
//! rooms that may not exist) go to the region's own chain in the `AuditLog` object.

use crate::config::Config;
use crate::store::SqlRoomStore;
use rxroom_core::audit::{
    checkpoint_key, encode_segment, segment_key, ChainHead, EventDraft, FlushPolicy,
};
use rxroom_core::room::StoreError;
use worker::{Bucket, Env};

/// Writes every due segment (all of them when `force`) and its checkpoint. Safe to repeat: a
/// planned range is persisted before the write, so a retry writes the same key and bytes.
pub async fn flush(
    store: &SqlRoomStore<'_>,
    cfg: &Config,
    bucket: &worker::Result<Bucket>,
    now: u64,
    force: bool,
) -> Result<(), StoreError> {
    let Ok(bucket) = bucket else {
        return Err(StoreError::Unavailable);
    };
    let policy = FlushPolicy::default();
    loop {
        let outbox = store.outbox_events()?;
        let mut state = store.flush_state()?;
        let Some(range) = state
            .next(&outbox, &policy, now, force)
            .map_err(|_| StoreError::Corrupt)?
        else {
            return Ok(());
        };
        state.begin(range);
        store.save_flush(&state, None)?;

        let events = state
            .events(range, &outbox)
            .map_err(|_| StoreError::Corrupt)?;
        let Some(last) = events.last() else {
            return Ok(());
        };
        let head = ChainHead::of(last);
        let key = segment_key(store.region(), store.chain(), range);
        bucket
            .put(&key, encode_segment(events))
            .execute()
            .await
            .map_err(|_| StoreError::Unavailable)?;
        // Signed at the head event's own time, so a retried flush writes identical bytes.
        let checkpoint = cfg.audit_key.sign_head(last);
        let line = serde_json::to_string(&checkpoint).map_err(|_| StoreError::Corrupt)?;
        bucket
            .put(
                checkpoint_key(store.region(), store.chain(), head.seq),
                format!("{line}\n"),
            )
            .execute()
            .await
            .map_err(|_| StoreError::Unavailable)?;

        state
            .complete(range, &outbox)
            .map_err(|_| StoreError::Corrupt)?;
        store.save_flush(&state, Some(range.last))?;
    }
}

/// When the oldest waiting event reaches the flush age, if any event waits.
pub fn next_flush_ms(store: &SqlRoomStore<'_>) -> Result<Option<u64>, StoreError> {
    let outbox = store.outbox_events()?;
    Ok(outbox
        .first()
        .map(|e| e.ts_ms().saturating_add(FlushPolicy::default().max_age_ms)))
}

/// Appends `draft` to the region's chain (the `AuditLog` object). Failures are logged by
/// name; the refusal that caused the event is still refused.
pub async fn record_region(env: &Env, draft: &EventDraft) {
    let outcome = async {
        let ns = env.durable_object("AUDIT_LOG")?;
        let stub = ns.id_from_name("region")?.get_stub()?;
        let body = serde_json::to_vec(draft).map_err(|_| worker::Error::from("encode"))?;
        let mut init = worker::RequestInit::new();
        init.with_method(worker::Method::Post);
        init.with_body(Some(
            worker::js_sys::Uint8Array::from(body.as_slice()).into(),
        ));
        let req = worker::Request::new_with_init("https://audit.internal/append", &init)?;
        let resp = stub.fetch_with_request(req).await?;
        if resp.status_code() >= 300 {
            return Err(worker::Error::from("status"));
        }
        Ok::<(), worker::Error>(())
    }
    .await;
    if outcome.is_err() {
        crate::log::event("region_audit_failed", None);
    }
}
