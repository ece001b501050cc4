//! The region's audit chain as a Durable Object: events with no room to hold them, and the
//! region's room registry (Durable Object namespaces cannot be listed, so the key-rotation
//! command pages through this table to find every room; issue 6).
//!
//! Operations (path of the internal request): `/append` (an [`EventDraft`] body; the default),
//! `/register` (POST `{order, created_ms}`), `/list?after=<order>&limit=<n>` (GET).

use crate::audit_sink;
use crate::config::Config;
use crate::store::SqlRoomStore;
use rxroom_core::audit::EventDraft;
use rxroom_core::ids::OrderId;
use serde::{Deserialize, Serialize};
use worker::{
    durable_object, Date, DurableObject, Env, Request, Response, Result, SqlStorageValue, State,
};

/// Largest page [`AuditLog`] returns from the room registry.
pub const MAX_LIST_LIMIT: u32 = 100;

const ROOMS_SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS rooms (order_id TEXT PRIMARY KEY, created_ms INTEGER NOT NULL);";

/// One room in the registry, as `/register` takes it and `/list` returns it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisteredRoom {
    /// The room's order id.
    pub order: OrderId,
    /// When the front Worker saw the room created (ms since the epoch).
    pub created_ms: u64,
}

/// One page of the registry, in order id order.
#[derive(Debug, Serialize, Deserialize)]
pub struct RoomPage {
    /// The rooms after the requested order id.
    pub rooms: Vec<RegisteredRoom>,
}

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
                .set_alarm(
                    t.max(now.saturating_add(1))
                        .saturating_sub(Date::now().as_millis()) as i64,
                ) // an offset
                .await;
        }
    }

    async fn append(&self, cfg: &Config, body: &[u8]) -> Result<Response> {
        let Ok(draft) = serde_json::from_slice::<EventDraft>(body) else {
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
        self.flush_and_schedule(cfg, now, false).await;
        Response::empty().map(|r| r.with_status(204))
    }

    /// Records a room (idempotent: a room created again for the same order updates its time).
    fn register(&self, body: &[u8]) -> Result<Response> {
        let Ok(room) = serde_json::from_slice::<RegisteredRoom>(body) else {
            return Response::error("room", 400);
        };
        let sql = self.state.storage().sql();
        sql.exec(ROOMS_SCHEMA, None)?;
        sql.exec(
            "INSERT INTO rooms (order_id, created_ms) VALUES (?, ?) ON CONFLICT(order_id) DO UPDATE SET created_ms = excluded.created_ms",
            vec![
                SqlStorageValue::String(room.order.as_str().to_owned()),
                SqlStorageValue::Integer(i64::try_from(room.created_ms).unwrap_or(i64::MAX)),
            ],
        )?;
        Response::empty().map(|r| r.with_status(204))
    }

    /// Up to `limit` rooms whose order id sorts after `after`.
    fn list(&self, req: &Request) -> Result<Response> {
        #[derive(Deserialize)]
        struct Row {
            order_id: String,
            created_ms: f64,
        }
        let url = req.url()?;
        let mut after = String::new();
        let mut limit = MAX_LIST_LIMIT;
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "after" => match v.parse::<OrderId>() {
                    Ok(o) => after = o.as_str().to_owned(),
                    Err(_) => return Response::error("after", 400),
                },
                "limit" => match v.parse::<u32>() {
                    Ok(n) if (1..=MAX_LIST_LIMIT).contains(&n) => limit = n,
                    _ => return Response::error("limit", 400),
                },
                _ => return Response::error("query", 400),
            }
        }
        let sql = self.state.storage().sql();
        sql.exec(ROOMS_SCHEMA, None)?;
        let rows: Vec<Row> = sql
            .exec(
                "SELECT order_id, created_ms FROM rooms WHERE order_id > ? ORDER BY order_id ASC LIMIT ?",
                vec![
                    SqlStorageValue::String(after),
                    SqlStorageValue::Integer(i64::from(limit)),
                ],
            )?
            .to_array()?;
        let rooms = rows
            .into_iter()
            .filter_map(|r| {
                Some(RegisteredRoom {
                    order: r.order_id.parse().ok()?,
                    created_ms: if r.created_ms.is_finite() && r.created_ms >= 0.0 {
                        r.created_ms as u64
                    } else {
                        0
                    },
                })
            })
            .collect();
        Response::from_json(&RoomPage { rooms })
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
        let path = req.path();
        match path.as_str() {
            "/list" => self.list(&req),
            "/register" => {
                let body = req.bytes().await?;
                self.register(&body)
            }
            _ => {
                let body = req.bytes().await?;
                self.append(&cfg, &body).await
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        if let Ok(cfg) = Config::get(&self.env) {
            self.flush_and_schedule(&cfg, Date::now().as_millis(), true)
                .await;
        }
        Response::empty()
    }
}
