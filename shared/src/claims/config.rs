//! Token verification settings (45 CFR 164.312(d)), checked once at start-up so that an unsafe
//! deployment refuses to run rather than accept weak tokens (SECURITY.md A15).

use std::fmt;

/// The issuer that dev tokens minted by `rxroom token` carry.
pub const DEV_ISSUER: &str = "rxroom-dev";
/// The audience rxroom expects by default.
pub const DEFAULT_AUDIENCE: &str = "rxroom";
/// The largest leeway a deployment may configure, in seconds.
pub const MAX_LEEWAY_SECS: u64 = 30;
/// The largest token accepted, in bytes (and the default).
pub const MAX_TOKEN_BYTES: usize = 8192;
/// The default cap on a token's lifetime (`exp - iat`), in seconds.
pub const DEFAULT_MAX_LIFETIME_SECS: u64 = 3600;
/// The largest lifetime cap a deployment may configure, in seconds.
pub const MAX_LIFETIME_SECS_LIMIT: u64 = 24 * 3600;

/// Why a configuration was refused. The service must not start with it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// The issuer is empty or longer than 256 bytes.
    Issuer,
    /// The audience is empty or longer than 256 bytes.
    Audience,
    /// The leeway is over [`MAX_LEEWAY_SECS`].
    LeewayTooLarge,
    /// The token size cap is zero or over [`MAX_TOKEN_BYTES`].
    MaxTokenBytes,
    /// The lifetime cap is zero or over [`MAX_LIFETIME_SECS_LIMIT`].
    MaxLifetime,
    /// The JWKS is too large, not JSON, has duplicate members, or has no `keys` array.
    JwksMalformed,
    /// The JWKS holds no key.
    JwksEmpty,
    /// The JWKS holds more keys than the ring allows.
    TooManyKeys,
    /// A key has no `kid`, or a `kid` that is too long or outside the allowed alphabet.
    KeyId,
    /// Two keys share a `kid`.
    DuplicateKeyId,
    /// A key type or curve that rxroom does not verify (only OKP/Ed25519, EC/P-256 and, in
    /// dev, oct).
    UnsupportedKey,
    /// A key's `alg` or `use` member contradicts its type.
    KeyAlgorithm,
    /// A key's material does not decode to a valid key.
    KeyMaterial,
    /// A public key set carries private material (`d`): the verifier must hold public keys only.
    PrivateKeyMaterial,
    /// An HMAC (`oct`) key in a configuration that is not marked dev.
    HmacOutsideDev,
    /// An HMAC key shorter than the SHA-256 block size (64 bytes).
    WeakHmacKey,
}

impl ConfigError {
    /// A stable snake_case name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::LeewayTooLarge => "leeway_too_large",
            Self::MaxTokenBytes => "max_token_bytes",
            Self::MaxLifetime => "max_lifetime",
            Self::JwksMalformed => "jwks_malformed",
            Self::JwksEmpty => "jwks_empty",
            Self::TooManyKeys => "too_many_keys",
            Self::KeyId => "key_id",
            Self::DuplicateKeyId => "duplicate_key_id",
            Self::UnsupportedKey => "unsupported_key",
            Self::KeyAlgorithm => "key_algorithm",
            Self::KeyMaterial => "key_material",
            Self::PrivateKeyMaterial => "private_key_material",
            Self::HmacOutsideDev => "hmac_outside_dev",
            Self::WeakHmacKey => "weak_hmac_key",
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Issuer => "issuer is empty or too long",
            Self::Audience => "audience is empty or too long",
            Self::LeewayTooLarge => "leeway is over 30 seconds",
            Self::MaxTokenBytes => "token size cap is out of range",
            Self::MaxLifetime => "token lifetime cap is out of range",
            Self::JwksMalformed => "key set is malformed",
            Self::JwksEmpty => "key set is empty",
            Self::TooManyKeys => "key set has too many keys",
            Self::KeyId => "key id is missing or invalid",
            Self::DuplicateKeyId => "key id is used twice",
            Self::UnsupportedKey => "key type is not supported",
            Self::KeyAlgorithm => "key algorithm contradicts its type",
            Self::KeyMaterial => "key material is invalid",
            Self::PrivateKeyMaterial => "key set carries private key material",
            Self::HmacOutsideDev => "hmac keys are allowed in dev only",
            Self::WeakHmacKey => "hmac key is too short",
        })
    }
}

impl std::error::Error for ConfigError {}

/// What a token must say to be accepted here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The only accepted `iss`.
    pub issuer: String,
    /// The audience that `aud` must be or contain.
    pub audience: String,
    /// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds (at most 30).
    pub leeway_secs: u64,
    /// Whether this is a developer deployment. Only dev accepts HS256 keys and plain HTTP.
    pub dev: bool,
    /// Tokens longer than this are refused before any decoding (at most 8192).
    pub max_token_bytes: usize,
    /// Tokens whose `exp - iat` is longer than this are refused, in seconds.
    pub max_lifetime_secs: u64,
}

impl AuthConfig {
    /// A production configuration for `issuer` and `audience`: leeway 30 s, 8 KiB tokens,
    /// lifetime at most one hour, not dev.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway_secs: MAX_LEEWAY_SECS,
            dev: false,
            max_token_bytes: MAX_TOKEN_BYTES,
            max_lifetime_secs: DEFAULT_MAX_LIFETIME_SECS,
        }
    }

    /// The local developer configuration: issuer `rxroom-dev`, audience `rxroom`, dev on.
    pub fn dev() -> Self {
        Self {
            dev: true,
            ..Self::new(DEV_ISSUER, DEFAULT_AUDIENCE)
        }
    }

    /// Checks every bound.
    ///
    /// # Errors
    ///
    /// The first setting that is out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.issuer.is_empty() || self.issuer.len() > 256 {
            return Err(ConfigError::Issuer);
        }
        if self.audience.is_empty() || self.audience.len() > 256 {
            return Err(ConfigError::Audience);
        }
        if self.leeway_secs > MAX_LEEWAY_SECS {
            return Err(ConfigError::LeewayTooLarge);
        }
        if self.max_token_bytes == 0 || self.max_token_bytes > MAX_TOKEN_BYTES {
            return Err(ConfigError::MaxTokenBytes);
        }
        if self.max_lifetime_secs == 0 || self.max_lifetime_secs > MAX_LIFETIME_SECS_LIMIT {
            return Err(ConfigError::MaxLifetime);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_every_bound_is_enforced() {
        assert_eq!(AuthConfig::dev().validate(), Ok(()));
        assert_eq!(AuthConfig::new("iss", "aud").validate(), Ok(()));
        let base = AuthConfig::new("iss", "aud");
        let leeway = AuthConfig {
            leeway_secs: 31,
            ..base.clone()
        };
        assert_eq!(leeway.validate(), Err(ConfigError::LeewayTooLarge));
        let at_limit = AuthConfig {
            leeway_secs: 30,
            ..base.clone()
        };
        assert_eq!(at_limit.validate(), Ok(()));
        let big = AuthConfig {
            max_token_bytes: 8193,
            ..base.clone()
        };
        assert_eq!(big.validate(), Err(ConfigError::MaxTokenBytes));
        let zero = AuthConfig {
            max_token_bytes: 0,
            ..base.clone()
        };
        assert_eq!(zero.validate(), Err(ConfigError::MaxTokenBytes));
        let life = AuthConfig {
            max_lifetime_secs: 24 * 3600 + 1,
            ..base.clone()
        };
        assert_eq!(life.validate(), Err(ConfigError::MaxLifetime));
        let iss = AuthConfig {
            issuer: String::new(),
            ..base.clone()
        };
        assert_eq!(iss.validate(), Err(ConfigError::Issuer));
        let aud = AuthConfig {
            audience: String::new(),
            ..base
        };
        assert_eq!(aud.validate(), Err(ConfigError::Audience));
    }
}
