//! The verifier's key ring: public keys from JWKS JSON (RFC 7517 section 5), looked up by `kid`
//! in memory only (SECURITY.md A3, A4, A15).
//!
//! Each key fixes its algorithm: OKP/Ed25519 is `EdDSA`, EC/P-256 is `ES256`, oct is `HS256`
//! (dev only, at least 64 bytes). A token's `alg` must equal its key's algorithm; the token never
//! chooses it. Several keys may be present at once, so an issuer can rotate: publish the new key,
//! sign with it, and drop the old key once the last token signed with it has expired.

use super::config::ConfigError;
use super::strict_json::{self, StrictJsonError};
use base64::Engine as _;
use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key, StrongKey};
use jwt_compact::{alg::VerifyingKey as _, Algorithm};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use zeroize::Zeroizing;

/// The longest accepted `kid`, in bytes (for keys in the ring and for token headers alike).
pub const MAX_KID_BYTES: usize = 64;
/// The most keys a ring may hold.
pub const MAX_KEYS: usize = 16;
/// The largest JWKS document accepted, in bytes.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

/// A signature algorithm rxroom verifies.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlg {
    /// Ed25519 (RFC 8037): the production algorithm.
    EdDsa,
    /// ECDSA over P-256 with SHA-256 (RFC 7518 section 3.4).
    Es256,
    /// HMAC-SHA-256 (RFC 7518 section 3.2): dev deployments only.
    Hs256,
}

impl KeyAlg {
    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
            Self::Hs256 => "HS256",
        }
    }
}

/// Key material of one ring entry.
pub(crate) enum KeyMaterial {
    /// An Ed25519 public key.
    Ed25519(<Ed25519 as Algorithm>::VerifyingKey),
    /// A P-256 public key.
    Es256(<Es256 as Algorithm>::VerifyingKey),
    /// A dev HMAC key (zeroized on drop by jwt-compact).
    Hs256(StrongKey<Hs256Key>),
}

impl KeyMaterial {
    pub(crate) fn alg(&self) -> KeyAlg {
        match self {
            Self::Ed25519(_) => KeyAlg::EdDsa,
            Self::Es256(_) => KeyAlg::Es256,
            Self::Hs256(_) => KeyAlg::Hs256,
        }
    }
}

/// The in-memory set of keys tokens may be signed with, by `kid`.
pub struct KeyRing {
    keys: BTreeMap<String, KeyMaterial>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_map();
        for (kid, key) in &self.keys {
            list.entry(kid, &key.alg().as_str());
        }
        list.finish()
    }
}

impl KeyRing {
    /// Builds the ring from a JWKS document `{"keys":[...]}`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for a malformed or oversized document, an empty or overfull ring, a
    /// missing, invalid or repeated `kid`, an unsupported key type, contradicting `alg`/`use`,
    /// invalid key bytes, private material (`d`), or an HMAC key that is weak or outside dev.
    pub fn from_jwks(jwks_json: &str, dev: bool) -> Result<Self, ConfigError> {
        if jwks_json.len() > MAX_JWKS_BYTES {
            return Err(ConfigError::JwksMalformed);
        }
        let doc = strict_json::parse_object(jwks_json.as_bytes()).map_err(|e| match e {
            StrictJsonError::Syntax | StrictJsonError::NotObject => ConfigError::JwksMalformed,
            StrictJsonError::DuplicateKey => ConfigError::JwksMalformed,
        })?;
        let Some(Value::Array(entries)) = doc.get("keys") else {
            return Err(ConfigError::JwksMalformed);
        };
        if entries.is_empty() {
            return Err(ConfigError::JwksEmpty);
        }
        if entries.len() > MAX_KEYS {
            return Err(ConfigError::TooManyKeys);
        }

        let mut keys = BTreeMap::new();
        for entry in entries {
            let Value::Object(jwk) = entry else {
                return Err(ConfigError::JwksMalformed);
            };
            let kid = match jwk.get("kid") {
                Some(Value::String(kid)) if kid_is_well_formed(kid) => kid.clone(),
                _ => return Err(ConfigError::KeyId),
            };
            let material = parse_key(jwk, dev)?;
            if keys.insert(kid, material).is_some() {
                return Err(ConfigError::DuplicateKeyId);
            }
        }
        Ok(Self { keys })
    }

    /// How many keys the ring holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the ring is empty (never true for a ring built by [`KeyRing::from_jwks`]).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key ids and their algorithms, for start-up logs.
    pub fn entries(&self) -> impl Iterator<Item = (&str, KeyAlg)> {
        self.keys.iter().map(|(kid, key)| (kid.as_str(), key.alg()))
    }

    /// The key for `kid`: an in-memory map lookup and nothing else.
    pub(crate) fn get(&self, kid: &str) -> Option<&KeyMaterial> {
        self.keys.get(kid)
    }
}

/// Whether `kid` has an accepted length and alphabet (`A-Z a-z 0-9 . _ - : + / =`).
pub fn kid_is_well_formed(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= MAX_KID_BYTES
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-:+/=".contains(&b))
}

fn str_member<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<&'a str, ConfigError> {
    match jwk.get(name) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(ConfigError::KeyMaterial),
    }
}

fn bytes_member(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, ConfigError> {
    let text = str_member(jwk, name)?;
    decode_b64url(text).ok_or(ConfigError::KeyMaterial)
}

fn parse_key(jwk: &Map<String, Value>, dev: bool) -> Result<KeyMaterial, ConfigError> {
    let kty = match jwk.get("kty") {
        Some(Value::String(kty)) => kty.as_str(),
        _ => return Err(ConfigError::UnsupportedKey),
    };
    let curve = jwk.get("crv").and_then(Value::as_str);
    let alg = match (kty, curve) {
        ("OKP", Some("Ed25519")) => KeyAlg::EdDsa,
        ("EC", Some("P-256")) => KeyAlg::Es256,
        ("oct", None) => KeyAlg::Hs256,
        _ => return Err(ConfigError::UnsupportedKey),
    };
    match jwk.get("alg") {
        None => {}
        Some(Value::String(a)) if a == alg.as_str() => {}
        Some(_) => return Err(ConfigError::KeyAlgorithm),
    }
    match jwk.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(_) => return Err(ConfigError::KeyAlgorithm),
    }

    match alg {
        KeyAlg::EdDsa | KeyAlg::Es256 if jwk.contains_key("d") => {
            Err(ConfigError::PrivateKeyMaterial)
        }
        KeyAlg::EdDsa => {
            let x = bytes_member(jwk, "x")?;
            if x.len() != 32 {
                return Err(ConfigError::KeyMaterial);
            }
            <Ed25519 as Algorithm>::VerifyingKey::from_slice(&x)
                .map(KeyMaterial::Ed25519)
                .map_err(|_| ConfigError::KeyMaterial)
        }
        KeyAlg::Es256 => {
            let x = bytes_member(jwk, "x")?;
            let y = bytes_member(jwk, "y")?;
            if x.len() != 32 || y.len() != 32 {
                return Err(ConfigError::KeyMaterial);
            }
            let mut sec1 = Vec::with_capacity(65);
            sec1.push(4);
            sec1.extend_from_slice(&x);
            sec1.extend_from_slice(&y);
            <Es256 as Algorithm>::VerifyingKey::from_slice(&sec1)
                .map(KeyMaterial::Es256)
                .map_err(|_| ConfigError::KeyMaterial)
        }
        KeyAlg::Hs256 => {
            if !dev {
                return Err(ConfigError::HmacOutsideDev);
            }
            let secret = Zeroizing::new(bytes_member(jwk, "k")?);
            StrongKey::try_from(Hs256Key::new(secret.as_slice()))
                .map(KeyMaterial::Hs256)
                .map_err(|_| ConfigError::WeakHmacKey)
        }
    }
}

/// The signing input and signature of a token, checked against `key` with jwt-compact's
/// algorithm implementations. Signature lengths are checked before any conversion.
pub(crate) fn verify_signature(key: &KeyMaterial, signing_input: &[u8], signature: &[u8]) -> bool {
    use jwt_compact::AlgorithmSignature as _;
    fn check<A: Algorithm>(alg: &A, key: &A::VerifyingKey, input: &[u8], sig: &[u8]) -> bool {
        let expected = <A::Signature as jwt_compact::AlgorithmSignature>::LENGTH;
        if expected.map(|n| n.get()) != Some(sig.len()) {
            return false;
        }
        match A::Signature::try_from_slice(sig) {
            Ok(sig) => alg.verify_signature(&sig, key, input),
            Err(_) => false,
        }
    }
    match key {
        KeyMaterial::Ed25519(k) => check(&Ed25519, k, signing_input, signature),
        KeyMaterial::Es256(k) => check(&Es256, k, signing_input, signature),
        KeyMaterial::Hs256(k) => check(&Hs256, k.as_ref(), signing_input, signature),
    }
}

/// Whether every byte is in the URL-safe base64 alphabet (RFC 4648 section 5): no padding,
/// no `+` or `/`, no whitespace.
pub(crate) fn is_b64url(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Decodes unpadded URL-safe base64, refusing any other alphabet, padding, and non-canonical
/// trailing bits. The one decoder shared by the ring and the verifier.
pub(crate) fn decode_b64url(text: &str) -> Option<Vec<u8>> {
    if !is_b64url(text) {
        return None;
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}
