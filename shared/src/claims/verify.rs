//! Token verification (45 CFR 164.312(d)): a compact JWS (RFC 7515) carrying JWT claims
//! (RFC 7519), checked as RFC 8725 advises, becomes a [`Principal`]. SECURITY.md A1–A15.
//!
//! Every refusal is an [`AuthError`] whose [`AuthError::as_str`] name goes to the log; the
//! client only ever gets `401 UNAUTHENTICATED` with one fixed message.
//!
//! Header stance:
//! - `alg` must name an allowed algorithm (`EdDSA`, `ES256`; `HS256` only in dev) and equal the
//!   algorithm of the key that `kid` selects. `none` and any other spelling are refused.
//! - `typ` must be exactly `JWT`. RFC 8725 section 3.11 asks for explicit typing so that one kind
//!   of JWT cannot be used as another; rxroom's access tokens say `JWT` and nothing else is
//!   accepted (a missing `typ`, `at+jwt`, `jwt`, `refresh+jwt`, ... are refused). Together with
//!   `aud` this keeps ID, refresh and other services' tokens out (A12).
//! - `crit` is refused whatever it lists: rxroom understands no extension (RFC 7515 4.1.11, A10).
//! - `cty` is refused: claims are plain JSON, never nested or CBOR (A11).
//! - `jwk`, `jku`, `x5u`, `x5c`, `x5t`, `x5t#S256` are refused rather than ignored: keys come
//!   from the configured ring only, and our issuers never send them (A4).
//! - Any object, in the header or the claims, naming a member twice is refused (A13).

use super::config::AuthConfig;
use super::jwks::{self, KeyAlg, KeyRing};
use super::strict_json::{self, StrictJsonError};
use super::{ConfigError, Principal, Scope};
use crate::api::ErrorCode;
use crate::ids::{DeviceId, OrderId, Region, Role, TenantId, UserId};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// The most orders one driver or patient token may name.
pub const MAX_ORDERS_PER_TOKEN: usize = 50;
/// The largest accepted NumericDate, in seconds (9999-12-31T23:59:59Z).
pub const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

/// Header members that would let a token name or carry its own key; refused.
const KEY_HEADERS: [&str; 6] = ["jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"];

/// Why a token was refused. Logged by name; never shown to the client, never carries input.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthError {
    /// `too_large`: longer than the configured cap; refused before any decoding (A8).
    TooLarge,
    /// `structure`: not exactly three non-empty dot-separated segments (A13).
    Structure,
    /// `bad_encoding`: a segment is not unpadded URL-safe base64 (A13).
    BadEncoding,
    /// `malformed_header`: the header is not a JSON object.
    MalformedHeader,
    /// `duplicate_key`: the header or the claims name a member twice (A13).
    DuplicateKey,
    /// `alg_not_allowed`: `alg` is missing, `none`, or not allowed in this deployment (A1, A15).
    AlgNotAllowed,
    /// `alg_mismatch`: `alg` differs from the algorithm of the key `kid` selects (A2, A3).
    AlgMismatch,
    /// `typ_mismatch`: `typ` is missing or not exactly `JWT` (A12).
    TypMismatch,
    /// `crit_present`: the header has a `crit` member (A10).
    CritPresent,
    /// `cty_present`: the header has a `cty` member (A11).
    CtyPresent,
    /// `embedded_key`: the header carries or points at a key (`jwk`, `jku`, `x5*`) (A4).
    EmbeddedKey,
    /// `missing_kid`: the header has no `kid`.
    MissingKid,
    /// `bad_kid`: `kid` is not a string, too long, or outside the key-id alphabet (A3).
    BadKid,
    /// `unknown_kid`: no key in the ring has this `kid` (A3).
    UnknownKid,
    /// `bad_signature`: the signature has the wrong length or does not verify.
    BadSignature,
    /// `malformed_claims`: the claims are not a JSON object.
    MalformedClaims,
    /// `wrong_issuer`: `iss` is missing or not ours (A7).
    WrongIssuer,
    /// `wrong_audience`: `aud` is missing, or neither ours nor an array containing ours (A7).
    WrongAudience,
    /// `missing_exp`: no `exp` (A5).
    MissingExp,
    /// `missing_iat`: no `iat`.
    MissingIat,
    /// `bad_time`: `exp`, `nbf` or `iat` is not a whole number of seconds in range (A5, A6).
    BadTime,
    /// `expired`: `exp` plus leeway is in the past (A5).
    Expired,
    /// `not_yet_valid`: `nbf` minus leeway is in the future (A6).
    NotYetValid,
    /// `issued_in_future`: `iat` minus leeway is in the future.
    IssuedInFuture,
    /// `bad_lifetime`: `exp` is not after `iat`, or `exp - iat` exceeds the configured cap.
    BadLifetime,
    /// `bad_subject`: `sub` is missing or not a valid user id.
    BadSubject,
    /// `bad_role`: `role` is missing or not one of the five roles.
    BadRole,
    /// `bad_scope`: the scope does not fit the role (orders for drivers and patients, a
    /// tenant for the others, never both), or an order or tenant id is invalid.
    BadScope,
    /// `bad_region`: `region` is missing or unknown.
    BadRegion,
    /// `bad_device`: `dev` is missing or not a valid device id.
    BadDevice,
}

impl AuthError {
    /// The stable name that goes to the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Structure => "structure",
            Self::BadEncoding => "bad_encoding",
            Self::MalformedHeader => "malformed_header",
            Self::DuplicateKey => "duplicate_key",
            Self::AlgNotAllowed => "alg_not_allowed",
            Self::AlgMismatch => "alg_mismatch",
            Self::TypMismatch => "typ_mismatch",
            Self::CritPresent => "crit_present",
            Self::CtyPresent => "cty_present",
            Self::EmbeddedKey => "embedded_key",
            Self::MissingKid => "missing_kid",
            Self::BadKid => "bad_kid",
            Self::UnknownKid => "unknown_kid",
            Self::BadSignature => "bad_signature",
            Self::MalformedClaims => "malformed_claims",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::MissingExp => "missing_exp",
            Self::MissingIat => "missing_iat",
            Self::BadTime => "bad_time",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::BadLifetime => "bad_lifetime",
            Self::BadSubject => "bad_subject",
            Self::BadRole => "bad_role",
            Self::BadScope => "bad_scope",
            Self::BadRegion => "bad_region",
            Self::BadDevice => "bad_device",
        }
    }

    /// The only answer a client gets for any token failure: `401 UNAUTHENTICATED`.
    pub fn code(self) -> ErrorCode {
        ErrorCode::Unauthenticated
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token refused: {}", self.as_str())
    }
}

impl std::error::Error for AuthError {}

/// Verifies tokens against one configuration and one key ring. Build it once per isolate.
#[derive(Debug)]
pub struct Verifier {
    config: AuthConfig,
    ring: KeyRing,
}

impl Verifier {
    /// Checks `config` and builds the key ring from `jwks_json`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when a setting is out of range or the key set is unusable, including an
    /// HMAC key in a configuration not marked dev (A15).
    pub fn new(config: AuthConfig, jwks_json: &str) -> Result<Self, ConfigError> {
        config.validate()?;
        let ring = KeyRing::from_jwks(jwks_json, config.dev)?;
        Ok(Self { config, ring })
    }

    /// The configuration in force.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The key ring in force.
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// Verifies a compact JWS at `now_ms` (ms since the epoch) and returns who made the request.
    ///
    /// # Errors
    ///
    /// The first check the token fails, as an [`AuthError`].
    ///
    /// # Security
    ///
    /// The size is checked before anything is decoded, the key is chosen only by `kid` from the
    /// in-memory ring, its algorithm is pinned, and the claims are decoded only after the
    /// signature verified.
    pub fn verify(&self, token: &str, now_ms: u64) -> Result<Principal, AuthError> {
        // 1. Size, before any decoding.
        if token.len() > self.config.max_token_bytes {
            return Err(AuthError::TooLarge);
        }

        // 2. Structure and alphabet.
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(sig_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Structure);
        };
        if header_b64.is_empty() || claims_b64.is_empty() || sig_b64.is_empty() {
            return Err(AuthError::Structure);
        }
        if ![header_b64, claims_b64, sig_b64]
            .iter()
            .all(|s| jwks::is_b64url(s))
        {
            return Err(AuthError::BadEncoding);
        }

        // 3. Header, then the key it names.
        let header_bytes = jwks::decode_b64url(header_b64).ok_or(AuthError::BadEncoding)?;
        let header = strict_json::parse_object(&header_bytes).map_err(|e| match e {
            StrictJsonError::DuplicateKey => AuthError::DuplicateKey,
            StrictJsonError::Syntax | StrictJsonError::NotObject => AuthError::MalformedHeader,
        })?;
        let alg = self.check_header(&header)?;
        let key = match header.get("kid") {
            None => return Err(AuthError::MissingKid),
            Some(Value::String(kid)) if jwks::kid_is_well_formed(kid) => {
                self.ring.get(kid).ok_or(AuthError::UnknownKid)?
            }
            Some(_) => return Err(AuthError::BadKid),
        };
        if key.alg() != alg {
            return Err(AuthError::AlgMismatch);
        }

        // 4. Signature over `header.claims`, before the claims are read.
        let signature = jwks::decode_b64url(sig_b64).ok_or(AuthError::BadEncoding)?;
        let signing_input = token
            .as_bytes()
            .get(..header_b64.len() + 1 + claims_b64.len())
            .ok_or(AuthError::Structure)?;
        if !jwks::verify_signature(key, signing_input, &signature) {
            return Err(AuthError::BadSignature);
        }

        // 5. Claims.
        let claims_bytes = jwks::decode_b64url(claims_b64).ok_or(AuthError::BadEncoding)?;
        let claims = strict_json::parse_object(&claims_bytes).map_err(|e| match e {
            StrictJsonError::DuplicateKey => AuthError::DuplicateKey,
            StrictJsonError::Syntax | StrictJsonError::NotObject => AuthError::MalformedClaims,
        })?;
        self.principal_from_claims(&claims, now_ms)
    }

    /// Applies the header stance described in the module docs; returns the pinned algorithm.
    fn check_header(&self, header: &Map<String, Value>) -> Result<KeyAlg, AuthError> {
        let alg = match header.get("alg").and_then(Value::as_str) {
            Some("EdDSA") => KeyAlg::EdDsa,
            Some("ES256") => KeyAlg::Es256,
            Some("HS256") if self.config.dev => KeyAlg::Hs256,
            _ => return Err(AuthError::AlgNotAllowed),
        };
        if header.contains_key("crit") {
            return Err(AuthError::CritPresent);
        }
        if header.contains_key("cty") {
            return Err(AuthError::CtyPresent);
        }
        if KEY_HEADERS.iter().any(|name| header.contains_key(*name)) {
            return Err(AuthError::EmbeddedKey);
        }
        match header.get("typ") {
            Some(Value::String(typ)) if typ == "JWT" => Ok(alg),
            _ => Err(AuthError::TypMismatch),
        }
    }

    fn principal_from_claims(
        &self,
        claims: &Map<String, Value>,
        now_ms: u64,
    ) -> Result<Principal, AuthError> {
        // Who issued it, and for whom (RFC 7519 4.1.1, 4.1.3).
        match claims.get("iss") {
            Some(Value::String(iss)) if *iss == self.config.issuer => {}
            _ => return Err(AuthError::WrongIssuer),
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => *aud == self.config.audience,
            Some(Value::Array(auds)) => {
                auds.iter().all(Value::is_string)
                    && auds
                        .iter()
                        .any(|a| a.as_str() == Some(self.config.audience.as_str()))
            }
            _ => false,
        };
        if !audience_ok {
            return Err(AuthError::WrongAudience);
        }

        // When (RFC 7519 4.1.4-4.1.6), with the explicit leeway on every boundary.
        let leeway_ms = self.config.leeway_secs.saturating_mul(1000);
        let exp = numeric_date(claims.get("exp"))?.ok_or(AuthError::MissingExp)?;
        let iat = numeric_date(claims.get("iat"))?.ok_or(AuthError::MissingIat)?;
        let nbf = numeric_date(claims.get("nbf"))?;
        let exp_ms = exp.saturating_mul(1000);
        if now_ms > exp_ms.saturating_add(leeway_ms) {
            return Err(AuthError::Expired);
        }
        if let Some(nbf) = nbf {
            if nbf.saturating_mul(1000) > now_ms.saturating_add(leeway_ms) {
                return Err(AuthError::NotYetValid);
            }
        }
        if iat.saturating_mul(1000) > now_ms.saturating_add(leeway_ms) {
            return Err(AuthError::IssuedInFuture);
        }
        if exp <= iat || exp - iat > self.config.max_lifetime_secs {
            return Err(AuthError::BadLifetime);
        }

        // Who, in which role, about what.
        let user = string_claim(claims, "sub")
            .and_then(|s| UserId::from_str(s).ok())
            .ok_or(AuthError::BadSubject)?;
        let role = string_claim(claims, "role")
            .and_then(|s| Role::from_str(s).ok())
            .ok_or(AuthError::BadRole)?;
        let scope = scope_for(role, claims).ok_or(AuthError::BadScope)?;
        let region = string_claim(claims, "region")
            .and_then(|s| Region::from_str(s).ok())
            .ok_or(AuthError::BadRegion)?;
        let device = string_claim(claims, "dev")
            .and_then(|s| DeviceId::from_str(s).ok())
            .ok_or(AuthError::BadDevice)?;

        Ok(Principal::new_unchecked(
            user, role, scope, region, device, exp_ms,
        ))
    }
}

/// A NumericDate as whole seconds. Absent is `Ok(None)`; a string, a fraction, a negative or an
/// out-of-range number (`1e300`) is `BadTime`. RFC 7519 allows fractions; our issuers never send
/// them, so refusing is the stricter reading.
fn numeric_date(value: Option<&Value>) -> Result<Option<u64>, AuthError> {
    match value {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(secs) if secs <= MAX_NUMERIC_DATE => Ok(Some(secs)),
            _ => Err(AuthError::BadTime),
        },
    }
}

fn string_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// Drivers and patients carry `orders` (1..=50 distinct order ids) and no `tenant`; the other
/// roles carry `tenant` and no `orders`.
fn scope_for(role: Role, claims: &Map<String, Value>) -> Option<Scope> {
    let orders = claims.get("orders");
    let tenant = claims.get("tenant");
    match role {
        Role::Driver | Role::Patient => {
            if tenant.is_some() {
                return None;
            }
            let items = orders?.as_array()?;
            if items.is_empty() || items.len() > MAX_ORDERS_PER_TOKEN {
                return None;
            }
            let mut ids: Vec<OrderId> = Vec::with_capacity(items.len());
            for item in items {
                let id = OrderId::from_str(item.as_str()?).ok()?;
                if ids.contains(&id) {
                    return None;
                }
                ids.push(id);
            }
            Some(Scope::Orders(ids))
        }
        Role::Pharmacist | Role::Dispatcher | Role::Auditor => {
            if orders.is_some() {
                return None;
            }
            TenantId::from_str(tenant?.as_str()?)
                .ok()
                .map(Scope::Tenant)
        }
    }
}

/// The token from an `Authorization: Bearer <token>` value (RFC 6750 section 2.1; the scheme is
/// case-insensitive). `None` for any other scheme or an empty token.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, rest) = authorization.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        None
    } else {
        Some(token)
    }
}
