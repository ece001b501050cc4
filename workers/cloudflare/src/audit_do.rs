//! The region's audit chain as a Durable Object: events with no room to hold them.

use crate::audit_sink;
use crate::config::Config;
use crate::store::SqlRoomStore;
use rxroom_core::audit::EventDraft;
use worker::{durable_object, Date, DurableObject, Env, Request, Response, Result, State};

/// One per region: the chain of refused tokens and refusals outside any room.
#[allow(missing_debug_implementations)] // reason: holds platform handles without Debug
#[durable_object]
pub struct AuditLog {
    state: State,
    env: Env,
}

impl AuditLog {
    async fn flush_and_schedule(&self, cfg: &Config, now: u64, force: bool) {
        let Ok(store) = SqlRoomStore::open_region(&self.state, cfg.region, &cfg.keyring, now)
        else {
            return;
        };
        let _ = audit_sink::flush(&store, cfg, &self.env.bucket("AUDIT"), now, force).await;
        if let Ok(Some(t)) = audit_sink::next_flush_ms(&store) {
            let _ = self
                .state
                .storage()
                .set_alarm(t.max(now.saturating_add(1)) as i64)
                .await;
        }
    }
}

impl DurableObject for AuditLog {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let Ok(cfg) = Config::get(&self.env) else {
            return Response::error("config", 503);
        };
        let body = req.bytes().await?;
        let Ok(draft) = serde_json::from_slice::<EventDraft>(&body) else {
            return Response::error("draft", 400);
        };
        let now = Date::now().as_millis();
        let mut store = match SqlRoomStore::open_region(&self.state, cfg.region, &cfg.keyring, now)
        {
            Ok(s) => s,
            Err(_) => return Response::error("store", 500),
        };
        if store.append_audit(draft).is_err() {
            return Response::error("store", 500);
        }
        self.flush_and_schedule(&cfg, now, false).await;
        Response::empty().map(|r| r.with_status(204))
    }

    async fn alarm(&self) -> Result<Response> {
        if let Ok(cfg) = Config::get(&self.env) {
            self.flush_and_schedule(&cfg, Date::now().as_millis(), true)
                .await;
        }
        Response::empty()
    }
}
