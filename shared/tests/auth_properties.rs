//! Property tests for the token parser (SECURITY.md A8, A13): arbitrary input never panics and
//! never verifies, and no single-byte change to a valid token survives verification.

mod auth_support;

use auth_support::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_is_refused_without_panicking(input in ".{0,400}") {
        prop_assert!(verify_prod(&input).is_err());
        prop_assert!(dev().verify(&input, NOW_MS).is_err());
    }

    #[test]
    fn three_arbitrary_base64url_segments_are_refused(
        h in "[A-Za-z0-9_-]{0,200}",
        c in "[A-Za-z0-9_-]{0,200}",
        sig in "[A-Za-z0-9_-]{0,120}",
    ) {
        let token = [h, c, sig].join(".");
        prop_assert!(verify_prod(&token).is_err());
    }

    #[test]
    fn any_single_byte_change_to_a_valid_token_is_refused(pos in 0usize..10_000, byte in 0u8..128) {
        let good = good_driver();
        let pos = pos % good.len();
        let mut bytes = good.clone().into_bytes();
        prop_assume!(bytes[pos] != byte);
        bytes[pos] = byte;
        let tampered = String::from_utf8(bytes).expect("ASCII in, ASCII out");
        prop_assert!(verify_prod(&tampered).is_err());
    }
}
