//! Keys, clock and token builders shared by the `auth_*` test binaries. Tokens are assembled
//! by hand from raw JSON so that tests can send what no honest issuer would.
#![allow(dead_code)] // each test binary uses a different subset of these helpers

use base64::Engine as _;
use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key, SigningKey as _};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm, AlgorithmSignature as _};
use rxroom_core::claims::{AuthConfig, AuthError, Principal, Verifier};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// A whole second, so that second-granular boundaries fall exactly on `NOW_MS`.
pub const NOW_MS: u64 = 1_800_000_000_000;
pub const NOW: u64 = NOW_MS / 1000;
pub const LEEWAY: u64 = 30;

pub const ED_A: &str = "k-ed-a";
pub const ED_B: &str = "k-ed-b";
pub const ES: &str = "k-es";
pub const HS: &str = "k-hs";
pub const SEED_A: [u8; 32] = [1; 32];
pub const SEED_B: [u8; 32] = [2; 32];
pub const ES_SCALAR: [u8; 32] = [3; 32];
pub const HS_SECRET: [u8; 64] = [9; 64];

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn ed_public(seed: [u8; 32]) -> Vec<u8> {
    ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(seed))
        .pk
        .to_vec()
}

pub fn ed_jwk(kid: &str, seed: [u8; 32]) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(&ed_public(seed))})
}

pub fn es_key() -> <Es256 as Algorithm>::SigningKey {
    <Es256 as Algorithm>::SigningKey::from_slice(&ES_SCALAR).expect("[3; 32] is a valid scalar")
}

pub fn es_jwk(kid: &str) -> Value {
    let public = es_key().to_verifying_key();
    let mut jwk = serde_json::to_value(JsonWebKey::from(&public)).expect("jwk serializes");
    if let Some(obj) = jwk.as_object_mut() {
        obj.insert("kid".into(), Value::String(kid.into()));
    }
    jwk
}

pub fn hs_jwk(kid: &str, secret: &[u8]) -> Value {
    json!({"kty": "oct", "kid": kid, "k": b64(secret)})
}

/// Ed25519 A and B plus ES256: the production ring.
pub fn prod_jwks() -> String {
    json!({"keys": [ed_jwk(ED_A, SEED_A), ed_jwk(ED_B, SEED_B), es_jwk(ES)]}).to_string()
}

/// The production ring plus a dev HMAC key.
pub fn dev_jwks() -> String {
    json!({"keys": [ed_jwk(ED_A, SEED_A), ed_jwk(ED_B, SEED_B), es_jwk(ES), hs_jwk(HS, &HS_SECRET)]})
        .to_string()
}

pub fn prod_config() -> AuthConfig {
    AuthConfig::new("rxroom-test", "rxroom")
}

pub fn dev_config() -> AuthConfig {
    AuthConfig {
        dev: true,
        ..prod_config()
    }
}

/// The production verifier, built once per test binary.
pub fn prod() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| Verifier::new(prod_config(), &prod_jwks()).expect("prod test config is valid"))
}

/// The dev verifier (HS256 allowed), built once per test binary.
pub fn dev() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| Verifier::new(dev_config(), &dev_jwks()).expect("dev test config is valid"))
}

pub fn header(alg: &str, kid: &str) -> Map<String, Value> {
    let mut h = Map::new();
    h.insert("alg".into(), Value::String(alg.into()));
    h.insert("typ".into(), Value::String("JWT".into()));
    h.insert("kid".into(), Value::String(kid.into()));
    h
}

/// Valid driver claims for order `ord-1`, issued 60 s ago, expiring in 840 s.
pub fn driver_claims() -> Map<String, Value> {
    let v = json!({
        "iss": "rxroom-test",
        "aud": "rxroom",
        "sub": "user-7",
        "role": "driver",
        "orders": ["ord-1"],
        "region": "us",
        "dev": "phone-7",
        "iat": NOW - 60,
        "exp": NOW + 840,
    });
    v.as_object().cloned().unwrap_or_default()
}

pub fn with(mut claims: Map<String, Value>, name: &str, value: Value) -> Map<String, Value> {
    claims.insert(name.into(), value);
    claims
}

pub fn without(mut claims: Map<String, Value>, name: &str) -> Map<String, Value> {
    claims.remove(name);
    claims
}

pub fn signing_input(header_json: &str, claims_json: &str) -> String {
    format!(
        "{}.{}",
        b64(header_json.as_bytes()),
        b64(claims_json.as_bytes())
    )
}

/// Signs raw header and claims JSON with Ed25519 key `seed`.
pub fn sign_ed_raw(seed: [u8; 32], header_json: &str, claims_json: &str) -> String {
    let input = signing_input(header_json, claims_json);
    let kp = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(seed));
    let sig = Ed25519.sign(&kp.sk, input.as_bytes());
    format!("{input}.{}", b64(&sig.as_bytes()))
}

pub fn sign_es_raw(header_json: &str, claims_json: &str) -> String {
    let input = signing_input(header_json, claims_json);
    let sig = Es256.sign(&es_key(), input.as_bytes());
    format!("{input}.{}", b64(&sig.as_bytes()))
}

pub fn sign_hs_raw(secret: &[u8], header_json: &str, claims_json: &str) -> String {
    let input = signing_input(header_json, claims_json);
    let sig = Hs256.sign(&Hs256Key::new(secret), input.as_bytes());
    format!("{input}.{}", b64(&sig.as_bytes()))
}

fn text(map: &Map<String, Value>) -> String {
    Value::Object(map.clone()).to_string()
}

/// An Ed25519 (key A) token from a header and claims map.
pub fn ed(header: &Map<String, Value>, claims: &Map<String, Value>) -> String {
    sign_ed_raw(SEED_A, &text(header), &text(claims))
}

/// A valid driver token signed with key A.
pub fn good_driver() -> String {
    ed(&header("EdDSA", ED_A), &driver_claims())
}

pub fn verify_prod(token: &str) -> Result<Principal, AuthError> {
    prod().verify(token, NOW_MS)
}

/// The production verifier's refusal, or `None` if it accepted the token.
pub fn refused(token: &str) -> Option<AuthError> {
    verify_prod(token).err()
}

/// The dev verifier's refusal, or `None` if it accepted the token.
pub fn refused_dev(token: &str) -> Option<AuthError> {
    dev().verify(token, NOW_MS).err()
}
