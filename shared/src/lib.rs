//! rxroom core: the platform-free logic behind every rxroom adapter.
//!
//! Nothing here touches a platform crate. Time comes in through [`clock::Clock`] and randomness
//! through `getrandom`, so every rule (token expiry, access deadlines, nonces) runs the same
//! natively, in unit tests, and inside the Worker's wasm build.
#![forbid(unsafe_code)]

pub mod api;
pub mod audit;
pub mod claims;
pub mod clock;
pub mod envelope;
pub mod ids;
pub mod labels;
pub mod policy;
pub mod redact;
pub mod room;
