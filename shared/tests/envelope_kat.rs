//! SECURITY H6 (native half): NIST CAVP AES-256-GCM known-answer vectors, 96-bit IV, 128-bit
//! tag, run against `aes-gcm` directly.
//!
//! Source: NIST CAVP GCMVS (CAVS 14.0), `gcmEncryptExtIV256.rsp` and `gcmDecrypt256.rsp` from
//! <https://csrc.nist.gov/Projects/Cryptographic-Algorithm-Validation-Program/CAVP-TESTING-BLOCK-CIPHER-MODES>.
//! The selection lives in `vectors/aes256gcm_cavp.rsp`; `envelope_kat_wasm.rs` runs the same
//! code inside the wasm32 build.

#[path = "vectors/cavp.rs"]
mod cavp;

#[test]
fn h6_nist_cavp_aes256gcm_vectors_pass_natively() {
    assert_eq!(cavp::run_all(), Ok(cavp::EXPECTED));
}

#[test]
fn h6_cavp_vectors_cover_aad_plaintext_and_fail_cases() {
    let vectors = cavp::vectors().expect("vector file parses");
    assert!(vectors
        .iter()
        .any(|v| !v.aad.is_empty() && v.pt.as_ref().is_some_and(|p| !p.is_empty())));
    assert!(vectors.iter().any(|v| v.pt.is_none() && !v.aad.is_empty()));
    assert!(vectors.iter().any(|v| v.pt.is_none() && !v.ct.is_empty()));
    assert!(vectors.iter().all(|v| v.file.starts_with("gcm")));
}

#[test]
fn h6_a_flipped_tag_bit_fails_every_passing_vector() {
    use aes_gcm::aead::{Aead, KeyInit, Nonce, Payload};
    use aes_gcm::Aes256Gcm;

    for v in cavp::vectors()
        .expect("vector file parses")
        .iter()
        .filter(|v| v.pt.is_some())
    {
        let cipher = Aes256Gcm::new_from_slice(&v.key).expect("32-byte key");
        let nonce = Nonce::<Aes256Gcm>::try_from(&v.iv[..]).expect("12-byte iv");
        let mut sealed = v.ct.clone();
        sealed.extend_from_slice(&v.tag);
        if let Some(last) = sealed.last_mut() {
            *last ^= 0x01;
        }
        assert!(cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &sealed,
                    aad: &v.aad
                }
            )
            .is_err());
    }
}
