//! Transmission security (45 CFR 164.312(e)(1)): outside dev, only requests that reached the
//! edge over TLS 1.2 or 1.3 are served; the others get 426 TLS_REQUIRED.
//!
//! The platform reports the version per request (Cloudflare: `request.cf.tlsVersion`, e.g.
//! `"TLSv1.3"`). The zone's "Minimum TLS Version" setting enforces the same at the edge; this
//! check is the second line, and the one a test can see.

/// Whether a request that arrived over `tls_version` may be served.
///
/// Outside dev: exactly `TLSv1.2` or `TLSv1.3`. In dev, additionally no TLS at all (`None` or an
/// empty string: plain HTTP on loopback). TLS 1.0/1.1 is refused even in dev.
pub fn tls_acceptable(tls_version: Option<&str>, dev: bool) -> bool {
    match tls_version {
        Some("TLSv1.2" | "TLSv1.3") => true,
        None | Some("") => dev,
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tls_1_2_and_1_3_outside_dev() {
        assert!(tls_acceptable(Some("TLSv1.3"), false));
        assert!(tls_acceptable(Some("TLSv1.2"), false));
        for old in [
            "TLSv1.1", "TLSv1", "TLSv1.0", "SSLv3", "tlsv1.3", "TLSv1.3 ", "",
        ] {
            assert!(!tls_acceptable(Some(old), false), "{old}");
        }
        assert!(!tls_acceptable(None, false));
    }

    #[test]
    fn plain_http_only_in_dev_and_old_tls_never() {
        assert!(tls_acceptable(None, true));
        assert!(tls_acceptable(Some(""), true));
        assert!(tls_acceptable(Some("TLSv1.3"), true));
        assert!(!tls_acceptable(Some("TLSv1.1"), true));
        assert!(!tls_acceptable(Some("TLSv1"), true));
    }
}
