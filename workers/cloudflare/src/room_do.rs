//! The per-order `ChatRoom` Durable Object (SQLite-backed).
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// One chat room per delivery order.
#[allow(missing_debug_implementations)] // reason: holds platform handles without Debug
#[durable_object]
pub struct ChatRoom {
    #[allow(dead_code)] // reason: used by the room routes
    state: State,
    #[allow(dead_code)] // reason: used by the room routes
    env: Env,
}

impl DurableObject for ChatRoom {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, _req: Request) -> Result<Response> {
        Response::error("not found", 404)
    }
}
