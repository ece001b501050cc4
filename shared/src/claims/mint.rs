//! Dev keys and dev tokens (RFC 8037 Ed25519 JWS, RFC 7517 JWK) for `rxroom keygen` /
//! `rxroom token` and for tests. Production tokens come from the platform's identity provider;
//! a deployment only ever holds the public half (see [`super::jwks`]).
//!
//! Token format (header, then claims):
//! `{"alg":"EdDSA","kid":"dev-1a2b3c4d","typ":"JWT"}`
//! `{"iss":"rxroom-dev","aud":"rxroom","sub":"u-1","role":"driver","orders":["ord-1"],`
//! `"region":"us","dev":"dev-phone-1","iat":1700000000,"exp":1700000900}`; pharmacists,
//! dispatchers and auditors carry `"tenant":"..."` instead of `"orders"`.

use super::jwks::{self, kid_is_well_formed};
use super::strict_json;
use super::Scope;
use crate::ids::{DeviceId, OrderId, Region, Role, TenantId, UserId};
use base64::Engine as _;
use ed25519_compact::{KeyPair, Seed};
use jwt_compact::alg::Ed25519;
use jwt_compact::{AlgorithmExt as _, Claims, Header};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;
/// Re-exported: [`DevSigningKey::private_jwk`] returns it, and callers reading key files use it.
pub use zeroize::Zeroizing;

/// The longest TTL a dev token may be minted with, in seconds (one day).
pub const MAX_TTL_SECS: u64 = 24 * 3600;

/// Why a key could not be made or read, or a token could not be minted.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MintError {
    /// The operating system's random source failed.
    Random,
    /// The private key file is not an Ed25519 private JWK with a valid `kid` and matching `x`.
    KeyFile,
    /// The TTL is zero or over [`MAX_TTL_SECS`].
    Ttl,
    /// The scope does not fit the role (orders for drivers and patients, a tenant otherwise),
    /// or names more than 50 orders.
    Scope,
    /// Serializing the token failed.
    Encode,
}

impl fmt::Display for MintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Random => "random source failed",
            Self::KeyFile => "key file is not a valid ed25519 private jwk",
            Self::Ttl => "ttl is out of range",
            Self::Scope => "scope does not fit the role",
            Self::Encode => "token could not be encoded",
        })
    }
}

impl std::error::Error for MintError {}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An Ed25519 signing key with its `kid`. Prints only the `kid`; the seed is zeroized on drop.
pub struct DevSigningKey {
    kid: String,
    seed: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for DevSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevSigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl DevSigningKey {
    /// A fresh key from the OS random source, with `kid` `dev-` and 8 hex digits of the
    /// SHA-256 of its public key.
    ///
    /// # Errors
    ///
    /// [`MintError::Random`] when the random source fails.
    pub fn generate() -> Result<Self, MintError> {
        let mut seed = Zeroizing::new([0_u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(|_| MintError::Random)?;
        let public = KeyPair::from_seed(Seed::new(*seed)).pk;
        let digest = Sha256::digest(public.as_ref());
        let mut kid = String::from("dev-");
        for byte in digest.iter().take(4) {
            kid.push_str(&format!("{byte:02x}"));
        }
        Ok(Self { kid, seed })
    }

    /// A key from a 32-byte seed and a `kid` (tests and known answers).
    ///
    /// # Errors
    ///
    /// [`MintError::KeyFile`] when `kid` is not a well-formed key id.
    pub fn from_seed(kid: &str, seed: [u8; 32]) -> Result<Self, MintError> {
        if !kid_is_well_formed(kid) {
            return Err(MintError::KeyFile);
        }
        Ok(Self {
            kid: kid.to_owned(),
            seed: Zeroizing::new(seed),
        })
    }

    /// Reads a private JWK as written by [`DevSigningKey::private_jwk`].
    ///
    /// # Errors
    ///
    /// [`MintError::KeyFile`] unless it is an OKP/Ed25519 JWK with a valid `kid`, a 32-byte
    /// `d`, and an `x` that matches `d`.
    pub fn from_private_jwk(json: &str) -> Result<Self, MintError> {
        let jwk = strict_json::parse_object(json.as_bytes()).map_err(|_| MintError::KeyFile)?;
        let member = |name: &str| jwk.get(name).and_then(Value::as_str);
        if member("kty") != Some("OKP") || member("crv") != Some("Ed25519") {
            return Err(MintError::KeyFile);
        }
        let kid = member("kid").ok_or(MintError::KeyFile)?;
        let d = Zeroizing::new(
            member("d")
                .and_then(jwks::decode_b64url)
                .ok_or(MintError::KeyFile)?,
        );
        let seed: [u8; 32] = d.as_slice().try_into().map_err(|_| MintError::KeyFile)?;
        let key = Self::from_seed(kid, seed)?;
        let x = member("x")
            .and_then(jwks::decode_b64url)
            .ok_or(MintError::KeyFile)?;
        if x.as_slice() != key.key_pair().pk.as_ref() {
            return Err(MintError::KeyFile);
        }
        Ok(key)
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    fn key_pair(&self) -> KeyPair {
        KeyPair::from_seed(Seed::new(*self.seed))
    }

    /// The private JWK (with `d`), for the dev key file. Zeroized on drop.
    pub fn private_jwk(&self) -> Zeroizing<String> {
        let d = Zeroizing::new(b64(self.seed.as_slice()));
        let x = b64(self.key_pair().pk.as_ref());
        // `kid` is from the key-id alphabet and the rest is base64url: nothing needs escaping.
        Zeroizing::new(format!(
            "{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"EdDSA\",\"use\":\"sig\",\
             \"kid\":\"{}\",\"x\":\"{}\",\"d\":\"{}\"}}",
            self.kid,
            x,
            d.as_str()
        ))
    }

    /// The public JWK (no `d`).
    pub fn public_jwk(&self) -> Value {
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": self.kid,
            "x": b64(self.key_pair().pk.as_ref()),
        })
    }

    /// The public key set `{"keys":[...]}` that a deployment puts into `AUTH_JWKS`.
    pub fn public_jwks(&self) -> String {
        serde_json::json!({ "keys": [self.public_jwk()] }).to_string()
    }
}

/// What a dev token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    /// `iss` (dev default `rxroom-dev`).
    pub issuer: String,
    /// `aud` (default `rxroom`).
    pub audience: String,
    /// `sub`.
    pub subject: UserId,
    /// `role`.
    pub role: Role,
    /// `orders` or `tenant`, matching the role.
    pub scope: Scope,
    /// `region`.
    pub region: Region,
    /// `dev`.
    pub device: DeviceId,
    /// Seconds from now to `exp`.
    pub ttl_secs: u64,
}

#[derive(Serialize)]
struct WireClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a UserId,
    role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    orders: Option<&'a [OrderId]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a TenantId>,
    region: Region,
    dev: &'a DeviceId,
    iat: u64,
    exp: u64,
}

/// Mints a signed token for `spec` at `now_ms` with jwt-compact's Ed25519 signer.
///
/// # Errors
///
/// [`MintError::Ttl`] or [`MintError::Scope`] for a spec the verifier would refuse;
/// [`MintError::Encode`] if serialization fails.
pub fn mint_token(key: &DevSigningKey, spec: &TokenSpec, now_ms: u64) -> Result<String, MintError> {
    if spec.ttl_secs == 0 || spec.ttl_secs > MAX_TTL_SECS {
        return Err(MintError::Ttl);
    }
    let (orders, tenant) = match (&spec.scope, spec.role) {
        (Scope::Orders(o), Role::Driver | Role::Patient)
            if !o.is_empty() && o.len() <= super::verify::MAX_ORDERS_PER_TOKEN =>
        {
            (Some(o.as_slice()), None)
        }
        (Scope::Tenant(t), Role::Pharmacist | Role::Dispatcher | Role::Auditor) => (None, Some(t)),
        _ => return Err(MintError::Scope),
    };
    let iat = now_ms / 1000;
    let claims = WireClaims {
        iss: &spec.issuer,
        aud: &spec.audience,
        sub: &spec.subject,
        role: spec.role,
        orders,
        tenant,
        region: spec.region,
        dev: &spec.device,
        iat,
        exp: iat.saturating_add(spec.ttl_secs),
    };
    let header = Header::empty()
        .with_key_id(key.kid())
        .with_token_type("JWT");
    Ed25519
        .token(&header, &Claims::new(claims), &key.key_pair().sk)
        .map_err(|_| MintError::Encode)
}
