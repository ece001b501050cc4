//! The internal hop from the front Worker to a Durable Object.
//!
//! The front Worker verifies the token, then forwards the call to the order's object with the
//! verified principal in a header. Durable Objects are reachable only through this Worker's
//! own binding, never from the internet, so the header is server-held state, not client data.

use crate::http::ApiError;
use rxroom_core::api::ErrorCode;
use rxroom_core::claims::Principal;
use rxroom_core::ids::OrderId;
use rxroom_core::room::live::SocketAuth;
use rxroom_core::room::RoomError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::{Headers, Method, Request, RequestInit, Response};

const H_AUTH: &str = "x-rxroom-auth";
const H_ORDER: &str = "x-rxroom-order";
const H_IP: &str = "x-rxroom-ip";
const H_PROTO: &str = "x-rxroom-ws-protocol";

/// A call as the Durable Object receives it.
#[derive(Debug)]
pub struct Forwarded {
    /// The operation (`create`, `send`, `live`, …).
    pub op: String,
    /// The order, from the route.
    pub order: OrderId,
    /// The verified principal, if the caller had a token (a live socket may authenticate
    /// later, in its first frame).
    pub auth: Option<SocketAuth>,
    /// The connecting IP, for audit.
    pub ip: Option<String>,
    /// The raw query string (history cursors, resume position).
    pub query: String,
    /// Whether the client offered the `rxroom.v1` WebSocket sub-protocol.
    pub offered_protocol: bool,
    /// The body, already size-checked by the front Worker.
    pub body: Vec<u8>,
}

impl Forwarded {
    /// Reads the forwarded call (the body is read by [`Forwarded::read`]).
    pub fn from_request(req: &Request) -> Result<Self, ()> {
        let url = req.url().map_err(|_| ())?;
        let op = url.path().trim_start_matches('/').to_owned();
        let h = req.headers();
        let order = h
            .get(H_ORDER)
            .ok()
            .flatten()
            .ok_or(())?
            .parse::<OrderId>()
            .map_err(|_| ())?;
        let auth = match h.get(H_AUTH).ok().flatten() {
            Some(json) => Some(serde_json::from_str::<SocketAuth>(&json).map_err(|_| ())?),
            None => None,
        };
        Ok(Self {
            op,
            order,
            auth,
            ip: h.get(H_IP).ok().flatten(),
            query: url.query().unwrap_or("").to_owned(),
            offered_protocol: h.get(H_PROTO).ok().flatten().is_some(),
            body: Vec::new(),
        })
    }

    /// The verified principal.
    pub fn principal(&self) -> Option<Principal> {
        self.auth.as_ref().map(SocketAuth::principal)
    }

    /// One query parameter's value.
    pub fn query_value(&self, name: &str) -> Option<String> {
        worker::url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// Builds the request the front Worker sends to the object.
pub fn request(
    op: &str,
    order: &OrderId,
    principal: Option<&Principal>,
    ip: Option<&str>,
    query: Option<&str>,
    body: Option<Vec<u8>>,
    websocket: Option<&Request>,
) -> worker::Result<Request> {
    let headers = Headers::new();
    headers.set(H_ORDER, order.as_str())?;
    if let Some(p) = principal {
        let auth = SocketAuth::from_principal(p, ip);
        let json = serde_json::to_string(&auth).map_err(|_| worker::Error::from("auth"))?;
        headers.set(H_AUTH, &json)?;
    }
    if let Some(ip) = ip {
        headers.set(H_IP, ip)?;
    }
    let mut url = format!("https://room.internal/{op}");
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(q);
    }
    let mut init = RequestInit::new();
    init.with_headers(headers.clone());
    if let Some(ws) = websocket {
        // A WebSocket upgrade must reach the object as one, so copy the upgrade headers.
        for name in [
            "upgrade",
            "connection",
            "sec-websocket-key",
            "sec-websocket-version",
        ] {
            if let Ok(Some(v)) = ws.headers().get(name) {
                headers.set(name, &v)?;
            }
        }
        init.with_headers(headers);
        init.with_method(Method::Get);
    } else if let Some(b) = body {
        init.with_method(Method::Post);
        init.with_body(Some(worker::js_sys::Uint8Array::from(b.as_slice()).into()));
    } else {
        init.with_method(Method::Get);
    }
    Request::new_with_init(&url, &init)
}

/// Marks that the client offered our WebSocket sub-protocol.
pub fn offer_protocol(req: &mut Request) -> worker::Result<()> {
    req.headers_mut()?.set(H_PROTO, "1")
}

/// Parses a JSON body, mapping failures to `INVALID_JSON`.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, RoomError> {
    serde_json::from_slice(body).map_err(|_| RoomError::InvalidJson)
}

/// Parses a query string into `T`, mapping failures to `INVALID_REQUEST`.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, RoomError> {
    serde_urlencoded_like(query).ok_or(RoomError::InvalidRequest)
}

fn serde_urlencoded_like<T: DeserializeOwned>(query: &str) -> Option<T> {
    let mut map = serde_json::Map::new();
    for (k, v) in worker::url::form_urlencoded::parse(query.as_bytes()) {
        let n: u64 = v.parse().ok()?;
        if map
            .insert(k.into_owned(), serde_json::Value::from(n))
            .is_some()
        {
            return None;
        }
    }
    serde_json::from_value(serde_json::Value::Object(map)).ok()
}

/// A JSON success response from the object.
pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response, RoomError> {
    let body = serde_json::to_string(value).map_err(|_| RoomError::Encoding)?;
    text(status, body, "application/json; charset=utf-8")
}

/// A text success response from the object.
pub fn text(status: u16, body: String, content_type: &str) -> Result<Response, RoomError> {
    let headers = Headers::new();
    let _ = headers.set("content-type", content_type);
    Response::ok(body)
        .map(|r| r.with_status(status).with_headers(headers))
        .map_err(|_| RoomError::Encoding)
}

/// The object's error: status and `{code, labels}`; the front Worker adds the request id.
#[derive(Serialize, Deserialize)]
struct InternalError {
    code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// The object's error response for `e`.
pub fn error(e: &RoomError) -> worker::Result<Response> {
    let code = e.code();
    let reason = match e {
        RoomError::Store(_) => Some("store"),
        RoomError::Seal(_) => Some("seal"),
        RoomError::Scan(_) => Some("scan"),
        RoomError::Encoding => Some("encoding"),
        _ => None,
    };
    let body = InternalError {
        code: code.as_str().to_owned(),
        labels: e
            .labels()
            .map(|l| l.into_iter().map(str::to_owned).collect()),
        reason: reason.map(str::to_owned),
    };
    let json = serde_json::to_string(&body).unwrap_or_default();
    Ok(Response::ok(json)?.with_status(code.status()))
}

/// Turns the object's error response into the front Worker's [`ApiError`].
pub async fn into_api_error(mut resp: Response) -> ApiError {
    let parsed: Option<InternalError> = resp.json().await.ok();
    let Some(body) = parsed else {
        return ApiError::because(ErrorCode::Internal, "object_response");
    };
    let code = ErrorCode::ALL
        .into_iter()
        .find(|c| c.as_str() == body.code)
        .unwrap_or(ErrorCode::Internal);
    let labels = body.labels.map(|ls| {
        ls.iter()
            .filter_map(|l| rxroom_core::labels::Label::from_wire(l))
            .map(|l| l.as_str())
            .collect()
    });
    let reason = match body.reason.as_deref() {
        Some("store") => Some("store"),
        Some("seal") => Some("seal"),
        Some("scan") => Some("scan"),
        Some("encoding") => Some("encoding"),
        _ => None,
    };
    ApiError {
        code,
        reason,
        labels,
    }
}
