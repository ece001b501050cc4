//! HTTP plumbing shared by every route: request ids, bounded body reading, JSON responses and
//! the error body `{code, message, request_id}`.

use futures_util::StreamExt;
use rxroom_core::api::{ErrorBody, ErrorCode};
use serde::Serialize;
use worker::{Headers, Request, Response};

/// A failed request: a stable code for the client and, optionally, a reason for the log.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The stable code (decides status and message).
    pub code: ErrorCode,
    /// An enum name explaining the failure, for the log only.
    pub reason: Option<&'static str>,
    /// PHI label names, only for `PHI_REJECTED`.
    pub labels: Option<Vec<&'static str>>,
}

impl ApiError {
    /// An error with no log reason.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            reason: None,
            labels: None,
        }
    }

    /// An error with a reason for the log.
    pub fn because(code: ErrorCode, reason: &'static str) -> Self {
        Self {
            code,
            reason: Some(reason),
            labels: None,
        }
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

impl From<worker::Error> for ApiError {
    fn from(_: worker::Error) -> Self {
        Self::because(ErrorCode::Internal, "platform_error")
    }
}

/// The TLS version the client used to reach the edge (`request.cf.tlsVersion`), if the
/// platform reported one. Read without the worker crate's accessor, which panics when absent.
pub fn tls_version(req: &Request) -> Option<String> {
    use worker::js_sys::Reflect;
    let cf = Reflect::get(req.inner(), &"cf".into()).ok()?;
    if cf.is_undefined() || cf.is_null() {
        return None;
    }
    Reflect::get(&cf, &"tlsVersion".into()).ok()?.as_string()
}

/// A fresh request id: 16 random bytes as hex. Never taken from the client.
pub fn new_request_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        return String::from("00000000000000000000000000000000");
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the body into memory, refusing more than `limit` bytes.
///
/// A declared `Content-Length` over the limit is refused before any byte is read; a body
/// without one (or lying about it) is read as a stream and cut off at the limit.
pub async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    if let Ok(Some(declared)) = req.headers().get("content-length") {
        match declared.trim().parse::<usize>() {
            Ok(n) if n > limit => {
                return Err(ApiError::because(
                    ErrorCode::PayloadTooLarge,
                    "declared_length",
                ))
            }
            Ok(_) => {}
            Err(_) => {
                return Err(ApiError::because(
                    ErrorCode::InvalidRequest,
                    "content_length",
                ))
            }
        }
    }
    let mut stream = match req.stream() {
        Ok(s) => s,
        // No body at all.
        Err(_) => return Ok(Vec::new()),
    };
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::because(ErrorCode::InvalidRequest, "body_read"))?;
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(ApiError::because(
                ErrorCode::PayloadTooLarge,
                "streamed_length",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn base_headers(request_id: &str) -> Headers {
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json; charset=utf-8");
    let _ = headers.set("cache-control", "no-store");
    let _ = headers.set("x-content-type-options", "nosniff");
    let _ = headers.set("x-request-id", request_id);
    headers
}

/// A JSON response with the standard headers.
pub fn json_response<T: Serialize>(
    status: u16,
    value: &T,
    request_id: &str,
) -> worker::Result<Response> {
    let body = serde_json::to_string(value).map_err(|_| worker::Error::from("serialize"))?;
    respond(status, body, request_id)
}

/// The error response for `err`.
pub fn error_response(err: &ApiError, request_id: &str) -> worker::Result<Response> {
    let mut body = ErrorBody::new(err.code, request_id);
    body.labels = err.labels.clone();
    respond(err.code.status(), body.to_json(), request_id)
}

fn respond(status: u16, body: String, request_id: &str) -> worker::Result<Response> {
    Ok(Response::ok(body)?
        .with_status(status)
        .with_headers(base_headers(request_id)))
}
