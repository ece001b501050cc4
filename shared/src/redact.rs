//! (being built: see the issue for this module)
