//! Deployment configuration, read from the Worker's vars and secrets once per isolate and
//! checked before any request is served. A non-dev deployment with a missing or weak key
//! answers 503 CONFIG_INVALID (the reason is logged once) instead of running unprotected.

use rxroom_core::audit::AuditSigningKey;
use rxroom_core::claims::{AuthConfig, Verifier};
use rxroom_core::envelope::{KeyConfig, Keyring};
use rxroom_core::ids::{Region, Role};
use rxroom_core::redact::{IngestMode, IngestPolicy, Redactor};
use rxroom_core::room::RoomConfig;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::rc::Rc;
use subtle::ConstantTimeEq;
use worker::Env;
use zeroize::{Zeroize, Zeroizing};

/// Shortest accepted `OPERATOR_KEY`, in decoded bytes.
pub const OPERATOR_KEY_MIN_LEN: usize = 32;

/// Longest operator key text accepted from a request header, checked before decoding.
const OPERATOR_KEY_MAX_TEXT: usize = 1024;

/// The operator credential for the admin routes (`OPERATOR_KEY`, base64, at least 32 bytes).
/// Only its SHA-256 digest is kept; `Debug` shows nothing of it.
pub struct OperatorKey {
    digest: [u8; 32],
}

impl std::fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorKey(..)")
    }
}

impl Drop for OperatorKey {
    fn drop(&mut self) {
        self.digest.zeroize();
    }
}

fn decode_operator_key(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    use base64::Engine;
    let text = text.trim();
    if text.len() > OPERATOR_KEY_MAX_TEXT {
        return None;
    }
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()
        .map(Zeroizing::new)
}

impl OperatorKey {
    /// The key from its base64 text, or `None` when it is not base64 of at least
    /// [`OPERATOR_KEY_MIN_LEN`] bytes.
    pub fn from_base64(text: &str) -> Option<Self> {
        let bytes = decode_operator_key(text).filter(|b| b.len() >= OPERATOR_KEY_MIN_LEN)?;
        Some(Self {
            digest: Sha256::digest(bytes.as_slice()).into(),
        })
    }

    /// Whether `presented` (base64 text from the request) is this key. The comparison runs in
    /// constant time over fixed-length digests, so neither content nor length leaks.
    pub fn matches(&self, presented: &str) -> bool {
        let Some(bytes) = decode_operator_key(presented) else {
            return false;
        };
        let mut digest: [u8; 32] = Sha256::digest(bytes.as_slice()).into();
        let equal: bool = self.digest.ct_eq(&digest).into();
        digest.zeroize();
        equal
    }
}

/// Everything a request needs from the deployment, built once per isolate.
pub struct Config {
    /// `true` only when `ENVIRONMENT` is `dev` (local runs and tests).
    pub dev: bool,
    /// The region this deployment serves.
    pub region: Region,
    /// Token verification (issuer, audience, key ring).
    pub verifier: Verifier,
    /// AES-256-GCM data keys.
    pub keyring: Keyring,
    /// Signs audit checkpoints.
    pub audit_key: AuditSigningKey,
    /// Makes Durable Object names opaque (HMAC of the order id).
    pub room_name_key: Zeroizing<Vec<u8>>,
    /// Room lifetimes and limits.
    pub room: RoomConfig,
    /// What ingest does with PHI per sender role.
    pub ingest: IngestPolicy,
    /// The PHI detectors, compiled once.
    pub redactor: Redactor,
    /// The operator credential for `/v1/admin/*`; `None` when `OPERATOR_KEY` is unset or
    /// unusable (the admin routes then answer `CONFIG_INVALID`; the rest keeps working).
    pub operator_key: Option<OperatorKey>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("dev", &self.dev)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// Why the configuration was refused. Logged by name; the client sees `CONFIG_INVALID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// `REGION` is missing or not one of us, eu, apac.
    Region,
    /// `AUTH_JWKS`, `AUTH_ISSUER` or `AUTH_AUDIENCE` is missing or unacceptable.
    Auth,
    /// `DATA_KEYS` / `DATA_KEY_ACTIVE` / `DATA_KEYS_RETIRED` is missing, short or inconsistent.
    DataKeys,
    /// `AUDIT_SIGNING_KEY` is missing or not a 32-byte base64 seed.
    AuditKey,
    /// `ROOM_NAME_KEY` is missing or shorter than 32 bytes.
    RoomNameKey,
    /// A TTL or limit var is not a number, or the driver TTL outlasts the room.
    Limits,
    /// `INGEST_REJECT_ROLES` names an unknown role.
    Ingest,
}

impl ConfigError {
    /// The reason's log name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Region => "region",
            Self::Auth => "auth",
            Self::DataKeys => "data_keys",
            Self::AuditKey => "audit_key",
            Self::RoomNameKey => "room_name_key",
            Self::Limits => "limits",
            Self::Ingest => "ingest",
        }
    }
}

fn text(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .filter(|s| !s.trim().is_empty())
}

fn secs(env: &Env, name: &str, default: u64) -> Result<u64, ConfigError> {
    match text(env, name) {
        None => Ok(default),
        Some(v) => v.trim().parse::<u64>().map_err(|_| ConfigError::Limits),
    }
}

thread_local! {
    static CACHE: RefCell<Option<Result<Rc<Config>, ConfigError>>> = const { RefCell::new(None) };
}

impl Config {
    /// The isolate's configuration, loaded and checked on first use. A refusal is logged once.
    pub fn get(env: &Env) -> Result<Rc<Config>, ConfigError> {
        CACHE.with(|cell| {
            if let Some(done) = cell.borrow().as_ref() {
                return done.clone();
            }
            let loaded = Self::load(env).map(Rc::new);
            if let Err(e) = &loaded {
                crate::log::event("config_invalid", Some(e.as_str()));
            }
            *cell.borrow_mut() = Some(loaded.clone());
            loaded
        })
    }

    fn load(env: &Env) -> Result<Self, ConfigError> {
        let dev = text(env, "ENVIRONMENT").as_deref() == Some("dev");
        let region = text(env, "REGION")
            .and_then(|v| v.trim().parse::<Region>().ok())
            .ok_or(ConfigError::Region)?;

        let mut auth = if dev {
            AuthConfig::dev()
        } else {
            AuthConfig::new(
                text(env, "AUTH_ISSUER").ok_or(ConfigError::Auth)?,
                text(env, "AUTH_AUDIENCE").ok_or(ConfigError::Auth)?,
            )
        };
        if dev {
            if let Some(iss) = text(env, "AUTH_ISSUER") {
                auth.issuer = iss;
            }
            if let Some(aud) = text(env, "AUTH_AUDIENCE") {
                auth.audience = aud;
            }
        }
        let jwks = text(env, "AUTH_JWKS").ok_or(ConfigError::Auth)?;
        let verifier = Verifier::new(auth, &jwks).map_err(|_| ConfigError::Auth)?;

        let keys = text(env, "DATA_KEYS").ok_or(ConfigError::DataKeys)?;
        let active = text(env, "DATA_KEY_ACTIVE").ok_or(ConfigError::DataKeys)?;
        let retired = text(env, "DATA_KEYS_RETIRED");
        let keyring = Keyring::from_config(
            &KeyConfig {
                data_keys: Some(&keys),
                active: Some(&active),
                retired: retired.as_deref(),
            },
            dev,
        )
        .map_err(|_| ConfigError::DataKeys)?;

        let audit_key = text(env, "AUDIT_SIGNING_KEY")
            .and_then(|k| AuditSigningKey::from_base64(&k).ok())
            .ok_or(ConfigError::AuditKey)?;

        let room_name_key = text(env, "ROOM_NAME_KEY")
            .and_then(|k| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(k.trim())
                    .ok()
            })
            .filter(|k| k.len() >= 32)
            .map(Zeroizing::new)
            .ok_or(ConfigError::RoomNameKey)?;

        let mut room = RoomConfig::new(region);
        room.driver_ttl_ms = secs(env, "DRIVER_TTL_SECS", 30 * 60)?.saturating_mul(1000);
        room.close_ttl_ms = secs(env, "CLOSE_TTL_SECS", 24 * 3600)?.saturating_mul(1000);
        // Automatic logoff (164.312(a)(2)(iii)): idle sockets close after this.
        room.live.idle_logoff_ms = secs(env, "IDLE_LOGOFF_SECS", 15 * 60)?.saturating_mul(1000);
        room.live.auth_timeout_ms = secs(env, "WS_AUTH_TIMEOUT_SECS", 10)?.saturating_mul(1000);
        if !room.is_valid() {
            return Err(ConfigError::Limits);
        }

        let mut ingest = IngestPolicy::default();
        if let Some(roles) = text(env, "INGEST_REJECT_ROLES") {
            for name in roles.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let role = name.parse::<Role>().map_err(|_| ConfigError::Ingest)?;
                ingest.set(role, IngestMode::Reject(Vec::new()));
            }
        }

        // Optional: only the admin routes need it, so a missing or weak key disables them
        // (logged once, by name) instead of taking the whole deployment down.
        let operator_key = text(env, "OPERATOR_KEY").and_then(|k| {
            let key = OperatorKey::from_base64(&k);
            if key.is_none() {
                crate::log::event("operator_key_invalid", Some("operator_key"));
            }
            key
        });

        Ok(Self {
            dev,
            region,
            verifier,
            keyring,
            audit_key,
            room_name_key,
            room,
            ingest,
            redactor: Redactor::new(),
            operator_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn operator_keys_shorter_than_32_bytes_or_not_base64_are_refused() {
        assert!(OperatorKey::from_base64(KEY).is_some());
        assert!(OperatorKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==").is_none());
        assert!(OperatorKey::from_base64("not base64 at all").is_none());
        assert!(OperatorKey::from_base64("").is_none());
    }

    #[test]
    fn only_the_exact_operator_key_matches() {
        let key = OperatorKey::from_base64(KEY).expect("valid key");
        assert!(key.matches(KEY));
        assert!(key.matches(&format!(" {KEY} ")));
        assert!(!key.matches("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHiA="));
        assert!(!key.matches("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="));
        assert!(!key.matches(""));
        assert!(!key.matches(&"A".repeat(OPERATOR_KEY_MAX_TEXT + 4)));
        assert_eq!(format!("{key:?}"), "OperatorKey(..)");
    }
}
