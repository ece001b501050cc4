//! Key rotation (issue 6; 45 CFR 164.312(a)(2)(iv); SECURITY H2, H7): the operator-only
//! `POST /v1/admin/reseal` re-seals stored room data and room archives under the active data
//! key, one bounded batch per request, so the command is resumable and reports progress.
//!
//! Authentication is `Authorization: Operator <OPERATOR_KEY>`, compared in constant time; it
//! is not a JWT route. A batch body is `{cursor?, limit?}`; the answer is
//! `{resealed, already_current, failed, rooms, archives, cursor, phase}`, where `cursor` (null
//! when finished) resumes the run and `phase` names what the cursor points at.
//!
//! Phases: `rooms` pages through the region's room registry (kept by the `AuditLog` object,
//! since Durable Object namespaces cannot be listed) and asks each room's object to re-seal
//! its order record and message bodies; `archives` pages through the archive bucket
//! (`{region}/rooms/`) and rewrites each archive under the active key, conditional on the
//! object being unchanged since it was read. Every batch appends one `keys_resealed` event to
//! the region's audit chain.
//!
//! Not re-sealed: the sealed IP and device fields of audit events, which are hashed into the
//! chain; the key they were sealed under must stay readable (not retired) for the audit
//! retention period.

use crate::audit_do::{RegisteredRoom, RoomPage, MAX_LIST_LIMIT};
use crate::audit_sink;
use crate::config::Config;
use crate::http::{self, ApiError};
use crate::internal;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rxroom_core::api::ErrorCode;
use rxroom_core::audit::{AuditAction, EventDraft};
use rxroom_core::envelope::{Aad, ObjectKind, MAX_SEALED_LEN};
use rxroom_core::ids::OrderId;
use serde::{Deserialize, Serialize};
use worker::{Bucket, Conditional, Env, Request, Response, Stub};

/// The header the front Worker sets on the per-room `reseal` call after the operator check.
/// Room objects refuse the op without it. Durable Objects are reachable only through this
/// Worker, and no public route forwards the op, so a client can never set it.
pub const OPERATOR_HEADER: &str = "x-rxroom-operator";

/// Objects (rooms or archives) handled per batch when the body names no limit.
pub const DEFAULT_BATCH: u32 = 10;

/// Largest batch: each room is one subrequest, each archive three at most.
pub const MAX_BATCH: u32 = 50;

/// Largest request body.
const MAX_BODY_BYTES: usize = 2 * 1024;

/// Longest cursor accepted, checked before decoding.
const MAX_CURSOR_LEN: usize = 2048;

/// Envelopes re-sealed, found already under the active key, or failed to open or write.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResealCounts {
    /// Envelopes rewritten under the active key.
    pub resealed: u64,
    /// Envelopes already under the active key (verified to open).
    pub already_current: u64,
    /// Envelopes (or whole rooms, when a room's object did not answer) that failed.
    pub failed: u64,
}

impl ResealCounts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: ResealCounts) {
        self.resealed = self.resealed.saturating_add(other.resealed);
        self.already_current = self.already_current.saturating_add(other.already_current);
        self.failed = self.failed.saturating_add(other.failed);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchRequest {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Serialize)]
struct BatchResponse {
    resealed: u64,
    already_current: u64,
    failed: u64,
    /// Rooms handled in this batch.
    rooms: u64,
    /// Archives handled in this batch.
    archives: u64,
    cursor: Option<String>,
    phase: &'static str,
}

/// Where a run stands: the cursor, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Position {
    /// Rooms whose order id sorts after `after` (all rooms when `None`).
    Rooms { after: Option<OrderId> },
    /// Archives from the bucket listing cursor (the start when `None`).
    Archives { listing: Option<String> },
    /// Nothing left.
    Done,
}

impl Position {
    /// `rooms.<order>` or `archives.<base64url of the bucket cursor>`; `None` when done.
    fn encode(&self) -> Option<String> {
        match self {
            Self::Rooms { after } => Some(format!(
                "rooms.{}",
                after.as_ref().map_or("", OrderId::as_str)
            )),
            Self::Archives { listing } => Some(format!(
                "archives.{}",
                listing
                    .as_deref()
                    .map(|c| URL_SAFE_NO_PAD.encode(c))
                    .unwrap_or_default()
            )),
            Self::Done => None,
        }
    }

    fn decode(text: Option<&str>) -> Option<Self> {
        let Some(text) = text else {
            return Some(Self::Rooms { after: None });
        };
        if text.len() > MAX_CURSOR_LEN {
            return None;
        }
        match text.split_once('.')? {
            ("rooms", "") => Some(Self::Rooms { after: None }),
            ("rooms", order) => Some(Self::Rooms {
                after: Some(order.parse().ok()?),
            }),
            ("archives", "") => Some(Self::Archives { listing: None }),
            ("archives", c) => {
                let raw = URL_SAFE_NO_PAD.decode(c).ok()?;
                Some(Self::Archives {
                    listing: Some(String::from_utf8(raw).ok()?),
                })
            }
            _ => None,
        }
    }

    fn phase(&self) -> &'static str {
        match self {
            Self::Rooms { .. } => "rooms",
            Self::Archives { .. } => "archives",
            Self::Done => "done",
        }
    }
}

/// The connecting IP, when the edge supplied a well-formed one.
fn client_ip(req: &Request) -> Option<String> {
    req.headers()
        .get("cf-connecting-ip")
        .ok()
        .flatten()
        .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
}

fn region_draft(
    action: AuditAction,
    ip: Option<String>,
    target: Option<String>,
    outcome: &str,
) -> EventDraft {
    EventDraft {
        action,
        actor: None,
        role: None,
        ip,
        device: None,
        order: None,
        target,
        outcome: outcome.to_owned(),
        labels: Vec::new(),
    }
}

/// `POST /v1/admin/reseal`: checks the body size, the configuration, transport and the
/// operator credential, then runs one batch.
pub async fn handle(req: &mut Request, env: &Env, request_id: &str) -> Result<Response, ApiError> {
    let body = http::read_body(req, MAX_BODY_BYTES).await?;
    let cfg =
        Config::get(env).map_err(|e| ApiError::because(ErrorCode::ConfigInvalid, e.as_str()))?;
    if !cfg.dev && !rxroom_core::claims::tls_acceptable(http::tls_version(req).as_deref(), false) {
        return Err(ApiError::because(ErrorCode::TlsRequired, "tls_version"));
    }
    let Some(operator_key) = cfg.operator_key.as_ref() else {
        return Err(ApiError::because(ErrorCode::ConfigInvalid, "operator_key"));
    };
    let ip = client_ip(req);
    let presented = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .and_then(|h| {
            let (scheme, key) = h.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("operator")
                .then(|| zeroize::Zeroizing::new(key.trim().to_owned()))
        });
    let authorized = presented
        .as_ref()
        .is_some_and(|k| operator_key.matches(k.as_str()));
    if !authorized {
        let draft = region_draft(AuditAction::TokenRefused, ip, None, "UNAUTHENTICATED");
        audit_sink::record_region(env, &draft).await;
        let reason = if presented.is_some() {
            "operator_key"
        } else {
            "missing_token"
        };
        return Err(ApiError::because(ErrorCode::Unauthenticated, reason));
    }

    let batch: BatchRequest = if body.is_empty() {
        BatchRequest {
            cursor: None,
            limit: None,
        }
    } else {
        serde_json::from_slice(&body).map_err(|_| ApiError::new(ErrorCode::InvalidJson))?
    };
    let limit = batch.limit.unwrap_or(DEFAULT_BATCH);
    if !(1..=MAX_BATCH).contains(&limit) {
        return Err(ApiError::because(ErrorCode::InvalidRequest, "limit"));
    }
    let position = Position::decode(batch.cursor.as_deref())
        .ok_or(ApiError::because(ErrorCode::InvalidRequest, "cursor"))?;

    let mut counts = ResealCounts::default();
    let (mut rooms, mut archives) = (0u64, 0u64);
    let next = match position {
        Position::Rooms { after } => {
            let page = list_rooms(env, after.as_ref(), limit.min(MAX_LIST_LIMIT)).await?;
            for room in &page {
                rooms += 1;
                match reseal_room(env, &cfg, &room.order).await {
                    Ok(c) => counts.add(c),
                    Err(_) => counts.failed = counts.failed.saturating_add(1),
                }
            }
            match page.last() {
                Some(last) if page.len() >= limit as usize => Position::Rooms {
                    after: Some(last.order.clone()),
                },
                _ => Position::Archives { listing: None },
            }
        }
        Position::Archives { listing } => {
            let bucket = env.bucket("ARCHIVE")?;
            let prefix = format!("{}/rooms/", cfg.region.as_str());
            let mut list = bucket.list().prefix(prefix.clone()).limit(limit);
            if let Some(c) = listing {
                list = list.cursor(c);
            }
            let page = list.execute().await?;
            for obj in page.objects() {
                archives += 1;
                counts.add(reseal_archive(&bucket, &cfg, &prefix, &obj.key()).await);
            }
            match page.cursor() {
                Some(c) if page.truncated() => Position::Archives { listing: Some(c) },
                _ => Position::Done,
            }
        }
        Position::Done => Position::Done,
    };

    let (kind, n) = if archives > 0 {
        ("archives", archives)
    } else {
        ("rooms", rooms)
    };
    let target = format!(
        "{kind}:{n}/resealed:{}/current:{}/failed:{}",
        counts.resealed, counts.already_current, counts.failed
    );
    let outcome = if counts.failed == 0 { "OK" } else { "INTERNAL" };
    let draft = region_draft(
        AuditAction::KeysResealed,
        client_ip(req),
        Some(target),
        outcome,
    );
    audit_sink::record_region(env, &draft).await;

    let body = BatchResponse {
        resealed: counts.resealed,
        already_current: counts.already_current,
        failed: counts.failed,
        rooms,
        archives,
        cursor: next.encode(),
        phase: next.phase(),
    };
    Ok(http::json_response(200, &body, request_id)?)
}

fn audit_log(env: &Env) -> worker::Result<Stub> {
    env.durable_object("AUDIT_LOG")?
        .id_from_name("region")?
        .get_stub()
}

/// Adds a room to the region's registry so the rotation command can find it. Called by the
/// front Worker after a room was created.
pub async fn register_room(env: &Env, order: &OrderId, created_ms: u64) -> worker::Result<()> {
    let room = RegisteredRoom {
        order: order.clone(),
        created_ms,
    };
    let body = serde_json::to_vec(&room).map_err(|_| worker::Error::from("encode"))?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post);
    init.with_body(Some(
        worker::js_sys::Uint8Array::from(body.as_slice()).into(),
    ));
    let req = Request::new_with_init("https://audit.internal/register", &init)?;
    let resp = audit_log(env)?.fetch_with_request(req).await?;
    if resp.status_code() >= 300 {
        return Err(worker::Error::from("status"));
    }
    Ok(())
}

async fn list_rooms(
    env: &Env,
    after: Option<&OrderId>,
    limit: u32,
) -> worker::Result<Vec<RegisteredRoom>> {
    let mut url = format!("https://audit.internal/list?limit={limit}");
    if let Some(o) = after {
        url.push_str("&after=");
        url.push_str(o.as_str());
    }
    let mut resp = audit_log(env)?.fetch_with_str(&url).await?;
    if resp.status_code() != 200 {
        return Err(worker::Error::from("status"));
    }
    let page: RoomPage = resp.json().await?;
    Ok(page.rooms)
}

/// Asks one room's object to re-seal its stored data.
async fn reseal_room(env: &Env, cfg: &Config, order: &OrderId) -> worker::Result<ResealCounts> {
    let mut inner = internal::request("reseal", order, None, None, None, Some(Vec::new()), None)?;
    inner.headers_mut()?.set(OPERATOR_HEADER, "1")?;
    let stub = env
        .durable_object("ROOMS")?
        .id_from_name(&crate::room_name(cfg, order))?
        .get_stub()?;
    let mut resp = stub.fetch_with_request(inner).await?;
    if resp.status_code() != 200 {
        return Err(worker::Error::from("status"));
    }
    resp.json().await
}

/// The order an archive belongs to, from its key `{region}/rooms/{order}/{created_ms}.archive`.
fn archive_order(prefix: &str, key: &str) -> Option<OrderId> {
    let (order, file) = key.strip_prefix(prefix)?.split_once('/')?;
    let created = file.strip_suffix(".archive")?;
    if created.is_empty() || !created.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    order.parse().ok()
}

/// Re-seals one archive object in place, if it is not already under the active key. The write
/// is conditional on the object's etag, so an archive rewritten meanwhile is not overwritten.
async fn reseal_archive(bucket: &Bucket, cfg: &Config, prefix: &str, key: &str) -> ResealCounts {
    let failed = ResealCounts {
        failed: 1,
        ..ResealCounts::default()
    };
    let Some(order) = archive_order(prefix, key) else {
        return failed;
    };
    let Ok(got) = bucket.get(key).execute().await else {
        return failed;
    };
    // Deleted since it was listed: nothing to re-seal.
    let Some(obj) = got else {
        return ResealCounts::default();
    };
    if obj.size() > MAX_SEALED_LEN as u64 {
        return failed;
    }
    let etag = obj.etag();
    let Some(body) = obj.body() else {
        return failed;
    };
    let Ok(sealed) = body.bytes().await else {
        return failed;
    };
    let aad = Aad::new(cfg.region, &order, ObjectKind::Archive, key);
    match cfg.keyring.reseal(&aad, &sealed) {
        Ok(None) => ResealCounts {
            already_current: 1,
            ..ResealCounts::default()
        },
        Ok(Some(resealed)) => {
            let condition = Conditional {
                etag_matches: Some(etag),
                ..Conditional::default()
            };
            match bucket.put(key, resealed).only_if(condition).execute().await {
                Ok(Some(_)) => ResealCounts {
                    resealed: 1,
                    ..ResealCounts::default()
                },
                _ => failed,
            }
        }
        Err(_) => failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_through_their_text_form() {
        let order: OrderId = "ord-1_a".parse().expect("valid order id");
        for p in [
            Position::Rooms { after: None },
            Position::Rooms { after: Some(order) },
            Position::Archives { listing: None },
            Position::Archives {
                listing: Some("opaque/cursor==+".to_owned()),
            },
        ] {
            let text = p.encode().expect("not done");
            assert_eq!(Position::decode(Some(&text)), Some(p));
        }
        assert_eq!(Position::Done.encode(), None);
        assert_eq!(
            Position::decode(None),
            Some(Position::Rooms { after: None })
        );
    }

    #[test]
    fn malformed_cursors_are_refused() {
        for bad in [
            "",
            "rooms",
            "rooms.../x",
            "archives.***",
            "other.x",
            "done.",
        ] {
            assert_eq!(Position::decode(Some(bad)), None, "{bad}");
        }
        assert_eq!(
            Position::decode(Some(&"r".repeat(MAX_CURSOR_LEN + 1))),
            None
        );
    }

    #[test]
    fn archive_keys_name_their_order() {
        let p = "us/rooms/";
        assert_eq!(
            archive_order(p, "us/rooms/ord-1/1700000000000.archive").map(|o| o.as_str().to_owned()),
            Some("ord-1".to_owned())
        );
        assert!(archive_order(p, "eu/rooms/ord-1/1.archive").is_none());
        assert!(archive_order(p, "us/rooms/ord-1/x.archive").is_none());
        assert!(archive_order(p, "us/rooms/ord-1/1.json").is_none());
        assert!(archive_order(p, "us/rooms/ord-1/a/1.archive").is_none());
    }
}
