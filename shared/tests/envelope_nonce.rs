//! SECURITY H1: nonces never repeat. A million draws from the nonce source, concurrent seals,
//! and seals from separately built keyrings (as after a Durable Object restart) are all unique.
//!
//! Random 96-bit nonces: by SP 800-38D section 8.3 one key is good for at most 2^32 seals; the
//! chance of any repeat among 10^6 draws is about 2^-57, so a repeat here means a broken source.

use rxroom_core::envelope::{fresh_nonce, nonce_of, Aad, KeyId, Keyring, ObjectKind, SecretKey};
use rxroom_core::ids::{OrderId, Region};
use std::collections::HashSet;

fn keyring() -> Keyring {
    let kid = KeyId::new("k1").expect("valid kid");
    Keyring::new(
        vec![(kid.clone(), SecretKey::from_bytes([0x5a; 32]))],
        &kid,
        vec![],
        true,
    )
    .expect("valid keyring")
}

#[test]
fn h1_a_million_nonces_are_unique() {
    const N: usize = 1_000_000;
    let mut seen: HashSet<[u8; 12]> = HashSet::with_capacity(N);
    for _ in 0..N {
        assert!(
            seen.insert(fresh_nonce().expect("csprng")),
            "repeated nonce"
        );
    }
    assert_eq!(seen.len(), N);
}

#[test]
fn h1_concurrent_seals_and_restarted_keyrings_never_share_a_nonce() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 10_000;
    let order: OrderId = "ord-n".parse().expect("valid order id");

    let nonces: Vec<Vec<[u8; 12]>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let order = &order;
                s.spawn(move || {
                    // Each thread builds its own keyring from the same key: a fresh instance
                    // with no shared state, like a Durable Object after a restart.
                    let ring = keyring();
                    let aad = Aad::new(Region::Us, order, ObjectKind::Message, "m");
                    (0..PER_THREAD)
                        .map(|_| nonce_of(&ring.seal(&aad, b"").expect("seal")).expect("nonce"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread finished"))
            .collect()
    });

    let mut seen = HashSet::new();
    for n in nonces.iter().flatten() {
        assert!(seen.insert(*n), "repeated nonce across seals");
    }
    assert_eq!(seen.len(), THREADS * PER_THREAD);
}
