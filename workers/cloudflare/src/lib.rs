//! rxroom on Cloudflare Workers: a thin adapter that turns platform requests into core calls.
//!
//! Every response carries `x-request-id`; every failure carries `{code, message, request_id}`;
//! every request writes one allow-listed JSON log line.

mod config;
mod http;
mod log;
mod room_do;

use http::ApiError;
use rxroom_core::api::ErrorCode;
use serde::Serialize;
use worker::{event, Context, Date, Env, Method, Request, Response, Result};

/// Largest request body any route accepts; routes set lower limits of their own.
const MAX_BODY_BYTES: usize = 64 * 1024;

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
    Ok(response)
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

    // Transmission security (164.312(e)): outside dev, refuse anything below TLS 1.2.
    match config::Config::load(env) {
        Ok(config) if !config.dev && !tls_acceptable(http::tls_version(&req).as_deref()) => {
            return (
                "tls_check",
                Err(ApiError::because(ErrorCode::TlsRequired, "tls_version")),
            );
        }
        Ok(_) => {}
        Err(e) => {
            log::event("config_invalid", Some(e.as_str()));
            return (
                "config_check",
                Err(ApiError::because(ErrorCode::ConfigInvalid, e.as_str())),
            );
        }
    }

    match segments.as_slice() {
        ["v1", "health"] => (
            "/v1/health",
            only(&method, &[Method::Get], || health(env, request_id)),
        ),
        ["v1", "echo-size"] => {
            // Size guard probe used by the black-box tests: reads a JSON body under the limit
            // and reports only its byte count.
            let route = "/v1/echo-size";
            if method != Method::Post {
                return (route, Err(ErrorCode::MethodNotAllowed.into()));
            }
            (route, echo_size(&mut req, request_id).await)
        }
        _ => ("unmatched", Err(ErrorCode::NotFound.into())),
    }
}

fn only<F>(
    method: &Method,
    allowed: &[Method],
    handler: F,
) -> std::result::Result<Response, ApiError>
where
    F: FnOnce() -> std::result::Result<Response, ApiError>,
{
    if allowed.contains(method) {
        handler()
    } else {
        Err(ErrorCode::MethodNotAllowed.into())
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    region: &'static str,
}

fn health(env: &Env, request_id: &str) -> std::result::Result<Response, ApiError> {
    let config = config::Config::load(env).map_err(|e| {
        log::event("config_invalid", Some(e.as_str()));
        ApiError::because(ErrorCode::ConfigInvalid, e.as_str())
    })?;
    let body = Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        region: config.region.as_str(),
    };
    Ok(http::json_response(200, &body, request_id)?)
}

async fn echo_size(req: &mut Request, request_id: &str) -> std::result::Result<Response, ApiError> {
    let value: serde_json::Value = http::read_json(req, MAX_BODY_BYTES).await?;
    #[derive(Serialize)]
    struct Size {
        bytes: usize,
    }
    let bytes = serde_json::to_vec(&value).map(|v| v.len()).unwrap_or(0);
    Ok(http::json_response(200, &Size { bytes }, request_id)?)
}

/// TLS 1.2 and 1.3 only. Plain HTTP (no version reported) is refused too: outside dev every
/// request must have come over TLS.
fn tls_acceptable(version: Option<&str>) -> bool {
    matches!(version, Some("TLSv1.2") | Some("TLSv1.3"))
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
