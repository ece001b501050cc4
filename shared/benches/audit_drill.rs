//! Audit drill (placeholder while the core builds).
fn main() {}
