//! SECURITY H6 (wasm half): the NIST CAVP AES-256-GCM vectors of `envelope_kat.rs`, plus an
//! envelope round trip, inside the wasm32 build the Worker ships (same target and features, the
//! portable AES path, `getrandom` through `crypto.getRandomValues`).
//!
//! Run: `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test -p
//! rxroom-core --target wasm32-unknown-unknown --test envelope_kat_wasm` (Node).
//! Vector source: NIST CAVP GCMVS `gcmEncryptExtIV256.rsp`, `gcmDecrypt256.rsp`.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

#[path = "vectors/cavp.rs"]
mod cavp;

use rxroom_core::envelope::{Aad, KeyId, Keyring, ObjectKind, SecretKey};
use rxroom_core::ids::{OrderId, Region};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn h6_nist_cavp_aes256gcm_vectors_pass_in_wasm() {
    assert_eq!(cavp::run_all(), Ok(cavp::EXPECTED));
}

#[wasm_bindgen_test]
fn h1_h6_envelopes_seal_and_open_in_wasm_with_fresh_nonces() {
    let kid = KeyId::new("k1").expect("valid kid");
    let key = SecretKey::generate().expect("crypto.getRandomValues");
    let ring = Keyring::new(vec![(kid.clone(), key)], &kid, vec![], false).expect("keyring");
    let order: OrderId = "ord-1".parse().expect("valid order id");
    let aad = Aad::new(Region::Eu, &order, ObjectKind::Message, "m1");

    let a = ring.seal(&aad, b"wasm round trip").expect("seal");
    let b = ring.seal(&aad, b"wasm round trip").expect("seal");
    assert_ne!(a, b);
    assert_eq!(
        ring.open(&aad, &a).expect("open").as_slice(),
        b"wasm round trip"
    );
    let other = Aad::new(Region::Us, &order, ObjectKind::Message, "m1");
    assert!(ring.open(&other, &a).is_err());
}
