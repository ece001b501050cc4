//! rxroom on Cloudflare Workers: a thin adapter that turns platform requests into core calls.
//!
//! Every response carries `x-request-id`; every failure carries `{code, message, request_id}`;
//! every request writes one allow-listed JSON log line. Identity is verified here and again
//! enforced inside the room's Durable Object, which holds the membership.

mod audit_do;
mod audit_sink;
mod config;
mod export;
mod http;
mod internal;
mod log;
mod reseal;
mod room_do;
mod seams;
mod store;

use config::Config;
use hmac::{Hmac, Mac};
use http::ApiError;
use rxroom_core::api::ErrorCode;
use rxroom_core::audit::{AuditAction, EventDraft};
use rxroom_core::claims::{bearer_token, Principal};
use rxroom_core::ids::OrderId;
use serde::Serialize;
use sha2::Sha256;
use worker::{event, Context, Date, Env, Method, Request, Response, Result};

/// Largest create-room body (participants and the order record).
const MAX_CREATE_BYTES: usize = 32 * 1024;
/// Largest message body: 4 KiB of text, JSON-escaped, plus the envelope fields.
const MAX_MESSAGE_BODY_BYTES: usize = 16 * 1024;
/// Largest body of the small control routes (read receipts, emergency access).
const MAX_SMALL_BODY_BYTES: usize = 2 * 1024;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let started = Date::now().as_millis();
    let request_id = http::new_request_id();
    let method = method_name(&req.method());

    let (route, outcome) = dispatch(req, &env, &request_id).await;

    let (response, code, reason) = match outcome {
        Ok(resp) => (resp, None, None),
        Err(err) => (
            http::error_response(&err, &request_id)?,
            Some(err.code.as_str()),
            err.reason,
        ),
    };
    log::LogLine {
        kind: "request",
        request_id: &request_id,
        route,
        method,
        status: response.status_code(),
        code,
        reason,
        latency_ms: Date::now().as_millis().saturating_sub(started),
    }
    .emit();
    if response.status_code() == 101 {
        return Ok(response);
    }
    let headers = response.headers().clone();
    let _ = headers.set("x-request-id", &request_id);
    let _ = headers.set("cache-control", "no-store");
    let _ = headers.set("x-content-type-options", "nosniff");
    Ok(response.with_headers(headers))
}

/// One room route: its template, method, body limit and the object operation it runs.
struct RoomRoute {
    template: &'static str,
    op: &'static str,
    body_limit: Option<usize>,
}

/// A method a route accepts: the object operation it runs and its body limit.
type MethodOp = (Method, &'static str, Option<usize>);

fn room_route(rest: &[&str], method: &Method) -> std::result::Result<RoomRoute, ErrorCode> {
    let (template, allowed): (&'static str, &[MethodOp]) = match rest {
        [] => (
            "/v1/rooms/{order_id}",
            &[
                (Method::Post, "create", Some(MAX_CREATE_BYTES)),
                (Method::Get, "view", None),
            ],
        ),
        ["messages"] => (
            "/v1/rooms/{order_id}/messages",
            &[
                (Method::Post, "send", Some(MAX_MESSAGE_BODY_BYTES)),
                (Method::Get, "history", None),
            ],
        ),
        ["delivered"] => (
            "/v1/rooms/{order_id}/delivered",
            &[(Method::Post, "delivered", Some(MAX_SMALL_BODY_BYTES))],
        ),
        ["read"] => (
            "/v1/rooms/{order_id}/read",
            &[(Method::Post, "read", Some(MAX_SMALL_BODY_BYTES))],
        ),
        ["live"] => ("/v1/rooms/{order_id}/live", &[(Method::Get, "live", None)]),
        ["emergency"] => (
            "/v1/rooms/{order_id}/emergency",
            &[(Method::Post, "emergency", Some(MAX_SMALL_BODY_BYTES))],
        ),
        ["audit", "export"] => (
            "/v1/rooms/{order_id}/audit/export",
            &[(Method::Get, "export", None)],
        ),
        _ => return Err(ErrorCode::NotFound),
    };
    allowed
        .iter()
        .find(|(m, _, _)| m == method)
        .map(|(_, op, limit)| RoomRoute {
            template,
            op,
            body_limit: *limit,
        })
        .ok_or(ErrorCode::MethodNotAllowed)
}

/// Matches the path to a route template and runs its handler.
async fn dispatch(
    mut req: Request,
    env: &Env,
    request_id: &str,
) -> (&'static str, std::result::Result<Response, ApiError>) {
    let path = req.path();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method();

    let route = match segments.as_slice() {
        ["v1", "health"] => {
            let r = if method == Method::Get {
                health(env, request_id)
            } else {
                Err(ErrorCode::MethodNotAllowed.into())
            };
            return ("/v1/health", r);
        }
        ["v1", "admin", "reseal"] => {
            let r = if method == Method::Post {
                reseal::handle(&mut req, env, request_id).await
            } else {
                Err(ErrorCode::MethodNotAllowed.into())
            };
            return ("/v1/admin/reseal", r);
        }
        ["v1", "rooms", _order, rest @ ..] => match room_route(rest, &method) {
            Ok(r) => r,
            Err(code) => return ("unmatched", Err(code.into())),
        },
        _ => return ("unmatched", Err(ErrorCode::NotFound.into())),
    };
    let template = route.template;

    // 1. Size: a declared body over the route's limit is refused before anything else.
    let body = match route.body_limit {
        Some(limit) => match http::read_body(&mut req, limit).await {
            Ok(b) => Some(b),
            Err(e) => return (template, Err(e)),
        },
        None => None,
    };

    // 2. Configuration and transport.
    let cfg = match Config::get(env) {
        Ok(c) => c,
        Err(e) => {
            return (
                template,
                Err(ApiError::because(ErrorCode::ConfigInvalid, e.as_str())),
            )
        }
    };
    if !cfg.dev && !tls_acceptable(http::tls_version(&req).as_deref()) {
        return (
            template,
            Err(ApiError::because(ErrorCode::TlsRequired, "tls_version")),
        );
    }
    let ip = req.headers().get("cf-connecting-ip").ok().flatten();
    let ip = ip
        .as_deref()
        .filter(|v| v.parse::<std::net::IpAddr>().is_ok());

    // 3. Identity: a verified principal, from the Authorization header (or, for a live socket,
    //    the Sec-WebSocket-Protocol header or the first frame). Never from the URL.
    let now = Date::now().as_millis();
    let is_live = route.op == "live";
    let token = token_of(&req, is_live);
    let verified = match token {
        Some(t) => cfg
            .verifier
            .verify(&t, now)
            .map(Some)
            .map_err(|e| e.as_str()),
        None if is_live => Ok(None),
        None => Err("missing_token"),
    };
    let principal = match verified {
        Ok(p) => p,
        Err(reason) => {
            audit_refusal(
                env,
                AuditAction::TokenRefused,
                None,
                ip,
                None,
                "UNAUTHENTICATED",
            )
            .await;
            return (
                template,
                Err(ApiError::because(ErrorCode::Unauthenticated, reason)),
            );
        }
    };

    // 4. The order, and the region it lives in.
    let order = match segments.get(2).and_then(|s| s.parse::<OrderId>().ok()) {
        Some(o) => o,
        None => {
            return (
                template,
                Err(ApiError::because(ErrorCode::InvalidRequest, "order_id")),
            )
        }
    };
    if let Some(p) = &principal {
        if p.region() != cfg.region {
            audit_refusal(
                env,
                AuditAction::AccessForbidden,
                Some(p),
                ip,
                Some(&order),
                "FORBIDDEN",
            )
            .await;
            return (
                template,
                Err(ApiError::because(ErrorCode::Forbidden, "region")),
            );
        }
    }

    // 5. The room's object decides the rest (membership, deadlines, policy).
    let result = forward(
        env,
        &cfg,
        &req,
        &route,
        &order,
        principal.as_ref(),
        ip,
        body,
        is_live,
    )
    .await;
    // A created room joins the region's registry, so key rotation can find it.
    if route.op == "create"
        && result.as_ref().is_ok_and(|r| r.status_code() == 201)
        && reseal::register_room(env, &order, Date::now().as_millis())
            .await
            .is_err()
    {
        log::event("room_register_failed", None);
    }
    if let Err(e) = &result {
        if let (Some(p), true) = (
            &principal,
            matches!(
                e.code,
                ErrorCode::Forbidden | ErrorCode::AccessEnded | ErrorCode::RoomClosed
            ),
        ) {
            audit_refusal(
                env,
                AuditAction::AccessForbidden,
                Some(p),
                ip,
                Some(&order),
                e.code.as_str(),
            )
            .await;
        }
    }
    (template, result)
}

#[allow(clippy::too_many_arguments)] // reason: one call site; a struct would only rename them
async fn forward(
    env: &Env,
    cfg: &Config,
    req: &Request,
    route: &RoomRoute,
    order: &OrderId,
    principal: Option<&Principal>,
    ip: Option<&str>,
    body: Option<Vec<u8>>,
    is_live: bool,
) -> std::result::Result<Response, ApiError> {
    if is_live
        && !req
            .headers()
            .get("upgrade")
            .ok()
            .flatten()
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    {
        return Err(ApiError::because(
            ErrorCode::InvalidRequest,
            "not_websocket",
        ));
    }
    let query = req.url().ok().and_then(|u| u.query().map(str::to_owned));
    let mut inner = internal::request(
        route.op,
        order,
        principal,
        ip,
        query.as_deref(),
        body,
        if is_live { Some(req) } else { None },
    )?;
    if is_live && offered_protocol(req) {
        internal::offer_protocol(&mut inner)?;
    }
    let ns = env.durable_object("ROOMS")?;
    let stub = ns.id_from_name(&room_name(cfg, order))?.get_stub()?;
    let resp = stub.fetch_with_request(inner).await?;
    let status = resp.status_code();
    if status == 101 || status < 300 {
        return Ok(resp);
    }
    Err(internal::into_api_error(resp).await)
}

/// The Durable Object name for an order: a keyed hash, so object ids (which the platform may
/// log outside the region) reveal nothing and cannot be guessed (SECURITY B7, I5).
pub(crate) fn room_name(cfg: &Config, order: &OrderId) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&cfg.room_name_key) else {
        return String::new();
    };
    mac.update(cfg.region.as_str().as_bytes());
    mac.update(b"/");
    mac.update(order.as_str().as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The bearer token: from `Authorization`, or for a live socket from a `bearer.<token>` entry
/// of `Sec-WebSocket-Protocol`.
fn token_of(req: &Request, live: bool) -> Option<String> {
    if let Some(t) = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .and_then(|h| bearer_token(&h).map(str::to_owned))
    {
        return Some(t);
    }
    if !live {
        return None;
    }
    let protocols = req.headers().get("sec-websocket-protocol").ok().flatten()?;
    protocols
        .split(',')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("bearer.").map(str::to_owned))
}

fn offered_protocol(req: &Request) -> bool {
    req.headers()
        .get("sec-websocket-protocol")
        .ok()
        .flatten()
        .is_some_and(|v| v.split(',').any(|p| p.trim() == room_do::WS_PROTOCOL))
}

async fn audit_refusal(
    env: &Env,
    action: AuditAction,
    principal: Option<&Principal>,
    ip: Option<&str>,
    order: Option<&OrderId>,
    outcome: &str,
) {
    let draft = EventDraft {
        action,
        actor: principal.map(|p| p.user().clone()),
        role: principal.map(Principal::role),
        ip: ip.map(str::to_owned),
        device: principal.map(|p| p.device().clone()),
        order: order.cloned(),
        target: None,
        outcome: outcome.to_owned(),
        labels: Vec::new(),
    };
    audit_sink::record_region(env, &draft).await;
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    region: &'static str,
}

fn health(env: &Env, request_id: &str) -> std::result::Result<Response, ApiError> {
    let cfg =
        Config::get(env).map_err(|e| ApiError::because(ErrorCode::ConfigInvalid, e.as_str()))?;
    let body = Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        region: cfg.region.as_str(),
    };
    Ok(http::json_response(200, &body, request_id)?)
}

/// TLS 1.2 and 1.3 only. Plain HTTP (no version reported) is refused too: outside dev every
/// request must have come over TLS.
fn tls_acceptable(version: Option<&str>) -> bool {
    rxroom_core::claims::tls_acceptable(version, false)
}

fn method_name(m: &Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Patch => "PATCH",
        Method::Head => "HEAD",
        Method::Options => "OPTIONS",
        _ => "OTHER",
    }
}
