//! SECURITY.md A15 and the start-up checks: an unsafe configuration or key set refuses to
//! build a verifier (`ConfigError`), so the service does not run with it.

mod auth_support;

use auth_support::*;
use rxroom_core::claims::config::ConfigError;
use rxroom_core::claims::{AuthConfig, Verifier};
use serde_json::{json, Value};

fn s(v: &str) -> Value {
    Value::String(v.into())
}

#[test]
fn a15_weak_or_dev_only_keys_and_unsafe_settings_refuse_to_start() {
    let hs = json!({"keys": [hs_jwk(HS, &HS_SECRET)]}).to_string();
    assert_eq!(
        Verifier::new(prod_config(), &hs).err(),
        Some(ConfigError::HmacOutsideDev)
    );
    assert_eq!(
        Verifier::new(prod_config(), &dev_jwks()).err(),
        Some(ConfigError::HmacOutsideDev)
    );
    assert!(Verifier::new(dev_config(), &hs).is_ok());
    let weak = json!({"keys": [hs_jwk(HS, &[9; 63])]}).to_string();
    assert_eq!(
        Verifier::new(dev_config(), &weak).err(),
        Some(ConfigError::WeakHmacKey)
    );

    let leeway = AuthConfig {
        leeway_secs: 31,
        ..prod_config()
    };
    assert_eq!(
        Verifier::new(leeway, &prod_jwks()).err(),
        Some(ConfigError::LeewayTooLarge)
    );

    let private = json!({"keys": [with_member(ed_jwk(ED_A, SEED_A), "d", s(&b64(&SEED_A)))]});
    assert_eq!(cfg_err(&private), Some(ConfigError::PrivateKeyMaterial));
    let dup_kid = json!({"keys": [ed_jwk(ED_A, SEED_A), ed_jwk(ED_A, SEED_B)]});
    assert_eq!(cfg_err(&dup_kid), Some(ConfigError::DuplicateKeyId));
    assert_eq!(cfg_err(&json!({"keys": []})), Some(ConfigError::JwksEmpty));
    assert_eq!(
        cfg_err(&json!({"nokeys": 1})),
        Some(ConfigError::JwksMalformed)
    );
    let many: Vec<Value> = (0..17).map(|i| ed_jwk(&format!("k{i}"), SEED_A)).collect();
    assert_eq!(
        cfg_err(&json!({ "keys": many })),
        Some(ConfigError::TooManyKeys)
    );
    let rsa = json!({"keys": [{"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"}]});
    assert_eq!(cfg_err(&rsa), Some(ConfigError::UnsupportedKey));
    let x448 = json!({"keys": [with_member(ed_jwk(ED_A, SEED_A), "crv", s("Ed448"))]});
    assert_eq!(cfg_err(&x448), Some(ConfigError::UnsupportedKey));
    let wrong_alg = json!({"keys": [with_member(ed_jwk(ED_A, SEED_A), "alg", s("HS256"))]});
    assert_eq!(cfg_err(&wrong_alg), Some(ConfigError::KeyAlgorithm));
    let enc = json!({"keys": [with_member(ed_jwk(ED_A, SEED_A), "use", s("enc"))]});
    assert_eq!(cfg_err(&enc), Some(ConfigError::KeyAlgorithm));
    let short_x = json!({"keys": [with_member(ed_jwk(ED_A, SEED_A), "x", s("AAAA"))]});
    assert_eq!(cfg_err(&short_x), Some(ConfigError::KeyMaterial));
    let bad_kid = json!({"keys": [ed_jwk("a b", SEED_A)]});
    assert_eq!(cfg_err(&bad_kid), Some(ConfigError::KeyId));
    let dup_member = format!(
        r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"a","kid":"b","x":"{}"}}]}}"#,
        b64(&ed_public(SEED_A))
    );
    assert_eq!(
        Verifier::new(prod_config(), &dup_member).err(),
        Some(ConfigError::JwksMalformed)
    );
}

fn cfg_err(jwks: &Value) -> Option<ConfigError> {
    Verifier::new(prod_config(), &jwks.to_string()).err()
}

fn with_member(mut jwk: Value, name: &str, value: Value) -> Value {
    if let Some(obj) = jwk.as_object_mut() {
        obj.insert(name.into(), value);
    }
    jwk
}
