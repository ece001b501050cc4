//! The deployment's keyring and its configuration check (45 CFR 164.312(a)(2)(iv); HHS secured-PHI
//! guidance: keys live in Worker secrets, apart from the data).
//!
//! # Configuration format
//!
//! Three strings, as they arrive in Worker secrets and vars:
//!
//! - `DATA_KEYS` (secret, required): comma-separated `kid:key` entries, where `kid` is 1 to 32
//!   characters from `[A-Za-z0-9_-]` and `key` is 32 bytes in standard, padded base64 (44
//!   characters). Whitespace around entries is ignored; an empty entry (`a:..,,b:..`) is an error.
//!   At most [`MAX_KEYS`] entries. Example: `k1:AAEC...Hh8=,k2:ZmFr...ZQ==`.
//! - `DATA_KEY_ACTIVE` (var, required): the kid new envelopes are sealed under. Must be in
//!   `DATA_KEYS` and not retired.
//! - `DATA_KEYS_RETIRED` (var, optional): comma-separated kids whose envelopes must no longer open.
//!   A retired kid must not also carry key material in `DATA_KEYS`: retiring means removing the
//!   key, and listing it here turns "unknown key" into the specific `KEY_RETIRED`.
//!
//! Outside dev, a key whose 32 bytes are all equal (all zero: a placeholder copied from docs) is
//! refused. Everything else is checked the same in dev and production.

use super::key::{KeyId, SecretKey};
use crate::api::ErrorCode;
use aes_gcm::{Aes256Gcm, KeyInit};
use std::fmt;

/// Name of the secret holding the data keys.
pub const ENV_DATA_KEYS: &str = "DATA_KEYS";
/// Name of the var naming the active key id.
pub const ENV_DATA_KEY_ACTIVE: &str = "DATA_KEY_ACTIVE";
/// Name of the var listing retired key ids.
pub const ENV_DATA_KEYS_RETIRED: &str = "DATA_KEYS_RETIRED";

/// Most keys (readable plus retired) one keyring holds.
pub const MAX_KEYS: usize = 16;

/// Longest accepted configuration string, in bytes (checked before parsing).
pub const MAX_CONFIG_LEN: usize = 4096;

/// Why the key configuration was refused. The Worker answers `503 CONFIG_INVALID` and logs
/// [`ConfigError::reason`] once. Never carries key material or the configuration text.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// `DATA_KEYS` is missing or blank.
    MissingKeys,
    /// `DATA_KEY_ACTIVE` is missing or blank.
    MissingActive,
    /// A `DATA_KEYS` entry is not `kid:key`, or an entry is empty.
    EntryMalformed,
    /// A key id is empty, longer than 32 characters or outside `[A-Za-z0-9_-]`.
    KeyIdInvalid,
    /// A key is not canonical standard base64.
    KeyEncoding,
    /// A key does not decode to exactly 32 bytes.
    KeyLength,
    /// Outside dev, a key whose bytes are all equal (a placeholder).
    KeyPlaceholder,
    /// Two entries share a key id.
    DuplicateKeyId,
    /// More than [`MAX_KEYS`] keys, or a configuration string over [`MAX_CONFIG_LEN`].
    TooMany,
    /// The active key id has no key in `DATA_KEYS`.
    ActiveNotPresent,
    /// The active key id is listed as retired.
    ActiveRetired,
    /// A retired key id still has key material in `DATA_KEYS`.
    RetiredKeyPresent,
    /// The platform CSPRNG failed while generating a key.
    Random,
}

impl ConfigError {
    /// A stable snake_case name for the one log line at cold start.
    pub fn reason(self) -> &'static str {
        match self {
            Self::MissingKeys => "missing_keys",
            Self::MissingActive => "missing_active",
            Self::EntryMalformed => "entry_malformed",
            Self::KeyIdInvalid => "key_id_invalid",
            Self::KeyEncoding => "key_encoding",
            Self::KeyLength => "key_length",
            Self::KeyPlaceholder => "key_placeholder",
            Self::DuplicateKeyId => "duplicate_key_id",
            Self::TooMany => "too_many",
            Self::ActiveNotPresent => "active_not_present",
            Self::ActiveRetired => "active_retired",
            Self::RetiredKeyPresent => "retired_key_present",
            Self::Random => "random",
        }
    }

    /// The API code a request answered while the configuration is invalid gets.
    pub fn code(self) -> ErrorCode {
        ErrorCode::ConfigInvalid
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MissingKeys => "data keys are not configured",
            Self::MissingActive => "active data key id is not configured",
            Self::EntryMalformed => "a data key entry is not kid:key",
            Self::KeyIdInvalid => "a data key id is invalid",
            Self::KeyEncoding => "a data key is not standard base64",
            Self::KeyLength => "a data key is not 32 bytes",
            Self::KeyPlaceholder => "a data key is a placeholder",
            Self::DuplicateKeyId => "a data key id is listed twice",
            Self::TooMany => "too many data keys",
            Self::ActiveNotPresent => "the active data key is not configured",
            Self::ActiveRetired => "the active data key is retired",
            Self::RetiredKeyPresent => "a retired data key is still configured",
            Self::Random => "random source failed",
        })
    }
}

impl std::error::Error for ConfigError {}

/// The configuration strings as read from the environment; `None` when a variable is unset.
///
/// `Debug` shows whether `DATA_KEYS` is set, never its text.
#[derive(Clone, Copy, Default)]
pub struct KeyConfig<'a> {
    /// `DATA_KEYS`: `kid:base64,kid:base64`. Secret.
    pub data_keys: Option<&'a str>,
    /// `DATA_KEY_ACTIVE`: one kid.
    pub active: Option<&'a str>,
    /// `DATA_KEYS_RETIRED`: `kid,kid` (optional).
    pub retired: Option<&'a str>,
}

impl fmt::Debug for KeyConfig<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyConfig")
            .field("data_keys", &self.data_keys.map(|_| ".."))
            .field("active", &self.active)
            .field("retired", &self.retired)
            .finish()
    }
}

/// One readable key: its id and the AES-256-GCM instance built from it.
pub(super) struct Entry {
    pub(super) kid: KeyId,
    pub(super) cipher: Aes256Gcm,
}

/// The deployment's data keys: exactly one active key for new envelopes, other keys readable,
/// retired key ids that fail closed with `KEY_RETIRED`.
///
/// # Security
/// Holds only expanded AES key schedules (zeroized on drop by `aes-gcm`'s `zeroize` feature);
/// `Debug` lists key ids, never key bytes. Lookup is by the envelope's key id only: there is no
/// "try every key" fallback.
pub struct Keyring {
    pub(super) active: Entry,
    pub(super) others: Vec<Entry>,
    pub(super) retired: Vec<KeyId>,
}

impl Keyring {
    /// Builds and checks the keyring from the three configuration strings.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first problem found (see the module docs for the format).
    pub fn from_config(config: &KeyConfig<'_>, dev: bool) -> Result<Self, ConfigError> {
        let data_keys = non_blank(config.data_keys).ok_or(ConfigError::MissingKeys)?;
        let active = non_blank(config.active).ok_or(ConfigError::MissingActive)?;
        let retired = non_blank(config.retired).unwrap_or("");
        if [data_keys, active, retired]
            .iter()
            .any(|s| s.len() > MAX_CONFIG_LEN)
        {
            return Err(ConfigError::TooMany);
        }

        let mut keys = Vec::new();
        for entry in data_keys.split(',') {
            if keys.len() == MAX_KEYS {
                return Err(ConfigError::TooMany);
            }
            let (kid, key) = entry
                .trim_ascii()
                .split_once(':')
                .ok_or(ConfigError::EntryMalformed)?;
            keys.push((KeyId::new(kid)?, SecretKey::from_base64(key)?));
        }

        let mut retired_ids = Vec::new();
        for kid in retired
            .split(',')
            .map(str::trim_ascii)
            .filter(|s| !s.is_empty())
        {
            retired_ids.push(KeyId::new(kid)?);
        }

        let active = KeyId::new(active.trim_ascii())?;
        Self::new(keys, &active, retired_ids, dev)
    }

    /// Builds and checks a keyring from parsed keys.
    ///
    /// # Errors
    /// [`ConfigError::DuplicateKeyId`], [`ConfigError::TooMany`],
    /// [`ConfigError::KeyPlaceholder`] (outside dev), [`ConfigError::ActiveRetired`],
    /// [`ConfigError::RetiredKeyPresent`], [`ConfigError::ActiveNotPresent`].
    pub fn new(
        keys: Vec<(KeyId, SecretKey)>,
        active: &KeyId,
        retired: Vec<KeyId>,
        dev: bool,
    ) -> Result<Self, ConfigError> {
        if keys.is_empty() {
            return Err(ConfigError::MissingKeys);
        }
        if keys.len() + retired.len() > MAX_KEYS {
            return Err(ConfigError::TooMany);
        }
        for (i, (kid, key)) in keys.iter().enumerate() {
            if keys.iter().skip(i + 1).any(|(other, _)| other == kid) {
                return Err(ConfigError::DuplicateKeyId);
            }
            if retired.contains(kid) {
                return Err(ConfigError::RetiredKeyPresent);
            }
            if !dev && key.is_placeholder() {
                return Err(ConfigError::KeyPlaceholder);
            }
        }
        for (i, kid) in retired.iter().enumerate() {
            if retired.iter().skip(i + 1).any(|other| other == kid) {
                return Err(ConfigError::DuplicateKeyId);
            }
        }
        if retired.contains(active) {
            return Err(ConfigError::ActiveRetired);
        }
        let mut active_entry = None;
        let mut others = Vec::with_capacity(keys.len());
        for (kid, key) in keys {
            let cipher = Aes256Gcm::new_from_slice(key.expose_bytes())
                .map_err(|_| ConfigError::KeyLength)?;
            if &kid == active {
                active_entry = Some(Entry { kid, cipher });
            } else {
                others.push(Entry { kid, cipher });
            }
        }
        let active = active_entry.ok_or(ConfigError::ActiveNotPresent)?;
        Ok(Self {
            active,
            others,
            retired,
        })
    }

    /// The key id new envelopes are sealed under.
    pub fn active_kid(&self) -> &KeyId {
        &self.active.kid
    }

    /// Every readable key id: the active one first, then the others in configuration order.
    pub fn readable_kids(&self) -> impl Iterator<Item = &KeyId> {
        std::iter::once(&self.active.kid).chain(self.others.iter().map(|e| &e.kid))
    }

    /// The retired key ids.
    pub fn retired_kids(&self) -> &[KeyId] {
        &self.retired
    }

    /// The readable key with this id, or why there is none.
    pub(super) fn entry(&self, kid: &[u8]) -> Result<&Entry, super::EnvelopeError> {
        let mut readable = std::iter::once(&self.active).chain(self.others.iter());
        if let Some(e) = readable.find(|e| e.kid.as_str().as_bytes() == kid) {
            return Ok(e);
        }
        if self.retired.iter().any(|r| r.as_str().as_bytes() == kid) {
            return Err(super::EnvelopeError::KeyRetired);
        }
        Err(super::EnvelopeError::UnknownKey)
    }
}

fn non_blank(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim_ascii().is_empty())
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("active", self.active_kid())
            .field("readable", &self.readable_kids().collect::<Vec<_>>())
            .field("retired", &self.retired)
            .finish()
    }
}
