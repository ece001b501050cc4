//! Tokens minted by the CLI's code path (`claims::mint`) verify; key rotation, ES256 and dev
//! HS256 work; emergency grants and bearer parsing behave (SECURITY.md A9, B9).

mod auth_support;

use auth_support::*;
use rxroom_core::audit::AuditAction;
use rxroom_core::claims::emergency::{grant_emergency_access, MAX_GRANT_MS};
use rxroom_core::claims::mint::{mint_token, DevSigningKey, MintError, TokenSpec};
use rxroom_core::claims::{
    bearer_token, AuthConfig, AuthError, EmergencyError, EmergencyReason, EmergencyRequest,
    Principal, Scope, Verifier,
};
use rxroom_core::ids::{OrderId, Region, Role, TenantId};
use serde_json::{json, Value};

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("test ids are valid")
}

fn spec(role: Role, scope: Scope) -> TokenSpec {
    TokenSpec {
        issuer: "rxroom-dev".into(),
        audience: "rxroom".into(),
        subject: id("user-1"),
        role,
        scope,
        region: Region::Eu,
        device: id("device-1"),
        ttl_secs: 900,
    }
}

fn scope_for(role: Role) -> Scope {
    match role {
        Role::Driver | Role::Patient => Scope::Orders(vec![id("ord-1"), id("ord-2")]),
        _ => Scope::Tenant(id("pharm-1")),
    }
}

#[test]
fn cli_minted_tokens_for_every_role_verify_to_the_same_principal() {
    let key = DevSigningKey::generate().expect("os random works");
    assert!(
        key.kid().starts_with("dev-") && key.kid().len() == 12,
        "dev-<8 hex>"
    );
    for dev in [true, false] {
        let config = AuthConfig {
            dev,
            ..AuthConfig::dev()
        };
        let v = Verifier::new(config, &key.public_jwks()).expect("public jwks is valid");
        for role in Role::ALL {
            let s = spec(role, scope_for(role));
            let token = mint_token(&key, &s, NOW_MS).expect("mints");
            let p = v.verify(&token, NOW_MS).expect("verifies");
            assert_eq!(p.user(), &s.subject);
            assert_eq!(p.role(), role);
            assert_eq!(p.scope(), &s.scope);
            match role {
                Role::Driver | Role::Patient => {
                    assert_eq!(p.orders().len(), 2);
                    assert_eq!(p.tenant(), None);
                }
                _ => {
                    assert!(p.orders().is_empty());
                    assert_eq!(p.tenant().map(|t| t.as_str()), Some("pharm-1"));
                }
            }
            assert_eq!(p.region(), Region::Eu);
            assert_eq!(p.device(), &s.device);
            assert_eq!(p.expires_at_ms(), NOW_MS + 900_000);
            // Past exp plus leeway it is refused.
            let late = NOW_MS + 900_000 + 30_000 + 1;
            assert_eq!(v.verify(&token, late).err(), Some(AuthError::Expired));
            assert!(v.verify(&token, late - 1).is_ok());
        }
    }
}

#[test]
fn minted_token_has_the_documented_wire_format() {
    let key = DevSigningKey::from_seed("dev-00000001", SEED_A).expect("valid kid");
    let token =
        mint_token(&key, &spec(Role::Driver, scope_for(Role::Driver)), NOW_MS).expect("mints");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let decode = |s: &str| -> Value {
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s)
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("json")
    };
    assert_eq!(
        decode(parts[0]),
        json!({"alg": "EdDSA", "kid": "dev-00000001", "typ": "JWT"})
    );
    assert_eq!(
        decode(parts[1]),
        json!({
            "iss": "rxroom-dev", "aud": "rxroom", "sub": "user-1", "role": "driver",
            "orders": ["ord-1", "ord-2"], "region": "eu", "dev": "device-1",
            "iat": NOW, "exp": NOW + 900
        })
    );
}

#[test]
fn private_jwk_round_trips_and_a_mismatched_or_foreign_file_is_refused() {
    let key = DevSigningKey::generate().expect("os random works");
    let text = key.private_jwk();
    let again = DevSigningKey::from_private_jwk(&text).expect("reads back");
    assert_eq!(again.kid(), key.kid());
    assert_eq!(again.public_jwks(), key.public_jwks());
    assert!(
        !format!("{key:?}").contains(text.as_str()),
        "Debug shows no key material"
    );
    let mut wrong_x: Value = serde_json::from_str(&text).expect("json");
    wrong_x["x"] = json!(b64(&ed_public(SEED_B)));
    assert_eq!(
        DevSigningKey::from_private_jwk(&wrong_x.to_string()).err(),
        Some(MintError::KeyFile)
    );
    assert_eq!(
        DevSigningKey::from_private_jwk(&key.public_jwks()).err(),
        Some(MintError::KeyFile)
    );
    // The public set a deployment receives never carries `d`.
    assert!(!key.public_jwks().contains("\"d\""));
}

#[test]
fn two_keys_verify_at_once_so_issuers_can_rotate() {
    let old = DevSigningKey::generate().expect("random");
    let new = DevSigningKey::generate().expect("random");
    let stranger = DevSigningKey::generate().expect("random");
    let jwks = json!({"keys": [old.public_jwk(), new.public_jwk()]}).to_string();
    let v = Verifier::new(AuthConfig::dev(), &jwks).expect("valid");
    let s = spec(Role::Patient, scope_for(Role::Patient));
    for key in [&old, &new] {
        assert!(v
            .verify(&mint_token(key, &s, NOW_MS).expect("mints"), NOW_MS)
            .is_ok());
    }
    let foreign = mint_token(&stranger, &s, NOW_MS).expect("mints");
    assert_eq!(
        v.verify(&foreign, NOW_MS).err(),
        Some(AuthError::UnknownKid)
    );
}

#[test]
fn es256_tokens_verify_and_hs256_only_in_dev() {
    let claims = Value::Object(driver_claims()).to_string();
    let es = sign_es_raw(&Value::Object(header("ES256", ES)).to_string(), &claims);
    assert!(verify_prod(&es).is_ok());
    let hs = sign_hs_raw(
        &HS_SECRET,
        &Value::Object(header("HS256", HS)).to_string(),
        &claims,
    );
    assert!(dev().verify(&hs, NOW_MS).is_ok());
    assert_eq!(refused(&hs), Some(AuthError::AlgNotAllowed));
    let key_b = ed(&header("EdDSA", ED_B), &driver_claims());
    assert_eq!(
        refused(&key_b),
        Some(AuthError::BadSignature),
        "signed with A, names B"
    );
    let b = sign_ed_raw(
        SEED_B,
        &Value::Object(header("EdDSA", ED_B)).to_string(),
        &claims,
    );
    assert!(verify_prod(&b).is_ok());
}

#[test]
fn minting_refuses_specs_the_verifier_would_refuse() {
    let key = DevSigningKey::from_seed("k", SEED_A).expect("valid");
    let mut s = spec(Role::Driver, Scope::Tenant(id("pharm-1")));
    assert_eq!(mint_token(&key, &s, NOW_MS).err(), Some(MintError::Scope));
    s.scope = Scope::Orders(vec![]);
    assert_eq!(mint_token(&key, &s, NOW_MS).err(), Some(MintError::Scope));
    s = spec(Role::Auditor, Scope::Orders(vec![id("ord-1")]));
    assert_eq!(mint_token(&key, &s, NOW_MS).err(), Some(MintError::Scope));
    s = spec(Role::Driver, scope_for(Role::Driver));
    s.ttl_secs = 0;
    assert_eq!(mint_token(&key, &s, NOW_MS).err(), Some(MintError::Ttl));
    assert_eq!(
        DevSigningKey::from_seed("a b", SEED_A).err(),
        Some(MintError::KeyFile)
    );
}

fn pharmacist(tenant: &str, region: Region) -> Principal {
    Principal::new_unchecked(
        id("pharm-user"),
        Role::Pharmacist,
        Scope::Tenant(id(tenant)),
        region,
        id("desk-1"),
        NOW_MS + 900_000,
    )
}

const NOTE: &str = "patient called: chest pain after new medication";

#[test]
fn b9_pharmacist_of_the_tenant_gets_a_time_limited_grant_and_a_high_severity_event() {
    let p = pharmacist("pharm-1", Region::Us);
    let order: OrderId = id("ord-9");
    let tenant: TenantId = id("pharm-1");
    let req = EmergencyRequest::new(EmergencyReason::PatientSafety, NOTE.into(), 15 * 60_000);
    let (grant, event) =
        grant_emergency_access(&p, &order, &tenant, Region::Us, req, NOW_MS).expect("granted");
    assert_eq!(grant.expires_at_ms(), NOW_MS + 15 * 60_000);
    assert_eq!(grant.reason(), EmergencyReason::PatientSafety);
    assert_eq!(grant.note().expose(), NOTE);
    assert_eq!(event.action, AuditAction::EmergencyAccess);
    assert_eq!(event.actor.as_ref(), Some(p.user()));
    assert_eq!(event.order.as_ref(), Some(&order));
    assert_eq!(event.target.as_deref(), Some("reason:patient_safety"));
    let event_json = serde_json::to_string(&event).expect("serializes");
    assert!(
        !event_json.contains("chest"),
        "the note never reaches the audit event"
    );
    assert!(!format!("{grant:?}").contains("chest"), "nor Debug output");

    assert!(grant.permits(&p, &order, NOW_MS));
    assert!(grant.permits(&p, &order, grant.expires_at_ms() - 1));
    assert!(
        !grant.permits(&p, &order, grant.expires_at_ms()),
        "expired grant"
    );
    assert!(!grant.permits(&p, &id("ord-10"), NOW_MS), "another order");
    let other = Principal::new_unchecked(
        id("someone-else"),
        Role::Pharmacist,
        Scope::Tenant(id("pharm-1")),
        Region::Us,
        id("desk-2"),
        NOW_MS + 900_000,
    );
    assert!(
        !grant.permits(&other, &order, NOW_MS),
        "reuse by another user"
    );
}

#[test]
fn b9_emergency_access_without_reason_role_tenant_or_time_limit_is_refused() {
    let order: OrderId = id("ord-9");
    let tenant: TenantId = id("pharm-1");
    let ask = |p: &Principal, note: &str, ms: u64, region: Region| {
        let req = EmergencyRequest::new(EmergencyReason::DeliveryIncident, note.into(), ms);
        grant_emergency_access(p, &order, &tenant, region, req, NOW_MS).err()
    };
    let p = pharmacist("pharm-1", Region::Us);
    assert_eq!(
        ask(&p, "", 60_000, Region::Us),
        Some(EmergencyError::NoteMissing)
    );
    assert_eq!(
        ask(&p, "   \n", 60_000, Region::Us),
        Some(EmergencyError::NoteMissing)
    );
    assert_eq!(
        ask(&p, &"x".repeat(501), 60_000, Region::Us),
        Some(EmergencyError::NoteTooLong)
    );
    assert_eq!(ask(&p, &"x".repeat(500), 60_000, Region::Us), None);
    assert_eq!(ask(&p, NOTE, 0, Region::Us), Some(EmergencyError::Duration));
    assert_eq!(
        ask(&p, NOTE, MAX_GRANT_MS + 1, Region::Us),
        Some(EmergencyError::Duration)
    );
    assert_eq!(ask(&p, NOTE, MAX_GRANT_MS, Region::Us), None);
    assert_eq!(
        ask(&p, NOTE, 60_000, Region::Eu),
        Some(EmergencyError::OtherRegion)
    );
    let foreign = pharmacist("pharm-2", Region::Us);
    assert_eq!(
        ask(&foreign, NOTE, 60_000, Region::Us),
        Some(EmergencyError::OtherTenant)
    );
    for role in [Role::Driver, Role::Patient, Role::Auditor] {
        let p = Principal::new_unchecked(
            id("u"),
            role,
            scope_for(role),
            Region::Us,
            id("d"),
            NOW_MS + 1,
        );
        assert_eq!(
            ask(&p, NOTE, 60_000, Region::Us),
            Some(EmergencyError::RoleNotAllowed)
        );
    }
    let dispatcher = Principal::new_unchecked(
        id("disp"),
        Role::Dispatcher,
        Scope::Tenant(id("pharm-1")),
        Region::Us,
        id("d"),
        NOW_MS + 1,
    );
    assert_eq!(ask(&dispatcher, NOTE, 60_000, Region::Us), None);
    assert_eq!(
        EmergencyReason::from_name("patient_safety"),
        Some(EmergencyReason::PatientSafety)
    );
    assert_eq!(EmergencyReason::from_name("because"), None);
}

#[test]
fn bearer_token_takes_only_the_bearer_scheme() {
    assert_eq!(bearer_token("Bearer abc.def.ghi"), Some("abc.def.ghi"));
    assert_eq!(bearer_token("bearer  abc"), Some("abc"));
    assert_eq!(bearer_token("Basic dXNlcjpwYXNz"), None);
    assert_eq!(bearer_token("Bearer "), None);
    assert_eq!(bearer_token("Bearer"), None);
    assert_eq!(bearer_token("abc.def.ghi"), None);
}
