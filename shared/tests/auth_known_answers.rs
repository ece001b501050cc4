//! Known-answer tests from the specifications, through the same jwt-compact primitives the
//! verifier uses.
//!
//! - RFC 8037, appendix A.1/A.2 (the Ed25519 private and public key) and appendix A.4 (the
//!   JWS over "Example of Ed25519 signing"): https://www.rfc-editor.org/rfc/rfc8037#appendix-A
//! - RFC 7515, appendix A.1 (the HS256 JWS with the 64-byte oct key):
//!   https://www.rfc-editor.org/rfc/rfc7515#appendix-A.1

mod auth_support;

use auth_support::{b64, NOW_MS};
use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use jwt_compact::alg::{Ed25519, Hs256, Hs256Key};
use jwt_compact::{Algorithm, AlgorithmSignature as _};
use rxroom_core::claims::mint::DevSigningKey;
use rxroom_core::claims::{AuthConfig, AuthError, Verifier};
use serde_json::json;

/// RFC 8037 A.1: the private key `d`.
const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
/// RFC 8037 A.2: the public key `x`.
const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
/// RFC 8037 A.4: the compact JWS.
const RFC8037_JWS: &str =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0J\
                           zlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

/// RFC 7515 A.1: the HMAC key.
const RFC7515_K: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
/// RFC 7515 A.1: the compact JWS.
const RFC7515_JWS: &str =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEz\
                           MDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJe\
                           Z4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .expect("RFC values are base64url")
}

fn split(jws: &str) -> (&str, Vec<u8>) {
    let (input, sig) = jws.rsplit_once('.').expect("a compact JWS has a signature");
    (input, unb64(sig))
}

#[test]
fn rfc8037_a4_ed25519_jws_verifies_with_the_rfc_public_key() {
    let (input, sig) = split(RFC8037_JWS);
    let key =
        <Ed25519 as Algorithm>::VerifyingKey::from_slice(&unb64(RFC8037_X)).expect("32 bytes");
    let sig = <Ed25519 as Algorithm>::Signature::try_from_slice(&sig).expect("64 bytes");
    assert!(Ed25519.verify_signature(&sig, &key, input.as_bytes()));
    assert!(!Ed25519.verify_signature(&sig, &key, b"Example of Ed25519 signinG"));
}

#[test]
fn rfc8037_a4_signing_with_the_rfc_private_key_gives_the_rfc_signature() {
    // Ed25519 without noise is deterministic (RFC 8032), so the signature must match exactly.
    let seed: [u8; 32] = unb64(RFC8037_D).try_into().expect("32-byte seed");
    let kp = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(seed));
    assert_eq!(b64(kp.pk.as_ref()), RFC8037_X, "A.2: x is derived from d");
    let (input, expected) = split(RFC8037_JWS);
    assert_eq!(
        kp.sk.sign(input.as_bytes(), None).as_ref(),
        expected.as_slice()
    );
    // The dev key type derives the same public key from the same seed.
    let dev = DevSigningKey::from_seed("rfc8037", seed).expect("valid kid");
    assert_eq!(dev.public_jwk()["x"], json!(RFC8037_X));
}

#[test]
fn rfc8037_example_is_not_an_rxroom_token() {
    // A valid signature alone is not enough: the RFC example has no typ, kid or claims.
    let jwks =
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "rfc8037", "x": RFC8037_X}]});
    let v = Verifier::new(AuthConfig::new("joe", "rxroom"), &jwks.to_string()).expect("valid");
    assert_eq!(
        v.verify(RFC8037_JWS, NOW_MS).err(),
        Some(AuthError::TypMismatch)
    );
}

#[test]
fn rfc7515_a1_hmac_sha256_over_the_signing_input_gives_the_rfc_signature() {
    let (input, expected) = split(RFC7515_JWS);
    let key = unb64(RFC7515_K);
    assert_eq!(key.len(), 64);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(input.as_bytes());
    assert_eq!(mac.finalize().into_bytes().to_vec(), expected);
    // The same through jwt-compact's HS256, which the dev verifier uses.
    let sig = Hs256.sign(&Hs256Key::new(&key), input.as_bytes());
    assert_eq!(sig.as_bytes().as_ref(), expected.as_slice());
    let parsed = <Hs256 as Algorithm>::Signature::try_from_slice(&expected).expect("32 bytes");
    assert!(Hs256.verify_signature(&parsed, &Hs256Key::new(&key), input.as_bytes()));
    assert!(!Hs256.verify_signature(&parsed, &Hs256Key::new(&key), b"tampered"));
}

#[test]
fn rfc7515_a1_token_is_refused_in_production_and_lacks_a_kid_in_dev() {
    let jwks = json!({"keys": [{"kty": "oct", "kid": "rfc7515", "k": RFC7515_K}]}).to_string();
    let dev = Verifier::new(
        AuthConfig {
            dev: true,
            ..AuthConfig::new("joe", "rxroom")
        },
        &jwks,
    )
    .expect("64-byte oct key is strong enough for dev");
    assert_eq!(
        dev.verify(RFC7515_JWS, NOW_MS).err(),
        Some(AuthError::MissingKid)
    );
    let prod = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": RFC8037_X}]});
    let prod = Verifier::new(AuthConfig::new("joe", "rxroom"), &prod.to_string()).expect("valid");
    assert_eq!(
        prod.verify(RFC7515_JWS, NOW_MS).err(),
        Some(AuthError::AlgNotAllowed)
    );
}
