//! E-mail (including `at`/`dot` spellings), URL (with or without scheme), IPv4/IPv6 and opaque
//! blobs (base64, tokens) inside which no other detector looks (issue 4: "licence-like patterns
//! inside base64 strings or URLs").

use super::scan::{prio, Ctx, Kind};
use crate::labels::Label;
use std::net::Ipv6Addr;

const TLDS: &[&str] = &[
    "com", "org", "net", "edu", "gov", "io", "co", "us", "uk", "info", "biz", "me", "mx", "es",
    "ca", "de", "fr", "health", "app", "dev", "mil", "int", "eu", "ie", "se", "au", "in", "br",
];

fn email_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-') || b >= 0x80
}

fn email_domain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-') || b >= 0x80
}

/// `local@domain.tld`, also with homoglyph letters.
fn detect_at_emails(ctx: &mut Ctx<'_>) {
    let bytes = ctx.text.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(off) = bytes
        .get(from..)
        .and_then(|r| r.iter().position(|b| *b == b'@'))
    {
        let at = from + off;
        from = at + 1;
        let mut s = at;
        while s > 0 && bytes.get(s - 1).is_some_and(|b| email_local(*b)) {
            s -= 1;
        }
        while s < at && !ctx.text.is_char_boundary(s) {
            s += 1;
        }
        let mut e = at + 1;
        while bytes.get(e).is_some_and(|b| email_domain(*b)) {
            e += 1;
        }
        while e > at + 1 && matches!(bytes.get(e - 1), Some(b'.' | b'-')) {
            e -= 1;
        }
        while e > at + 1 && !ctx.text.is_char_boundary(e) {
            e -= 1;
        }
        let domain = ctx.text.get(at + 1..e).unwrap_or("");
        let local_ok = s < at;
        let domain_ok = domain.contains('.')
            && domain
                .rsplit('.')
                .next()
                .is_some_and(|t| t.chars().count() >= 2 && t.chars().all(char::is_alphabetic));
        if local_ok && domain_ok {
            found.push(s..e);
            from = e;
        }
    }
    for r in found {
        ctx.opaque.push(r.clone());
        ctx.push(Label::Email, r, prio::WEB, "email");
    }
}

/// Whether token `i` is an `at`/`dot` word, bare or in brackets; returns the token span.
fn spelled(ctx: &Ctx<'_>, i: usize, word: &str) -> Option<(usize, usize)> {
    let alt = match word {
        "at" => "arroba",
        _ => "punto",
    };
    let is_word = |k: usize| ctx.low(k) == word || ctx.low(k) == alt;
    let opens = |k: usize| ctx.is_sym(k, b'[') || ctx.is_sym(k, b'(') || ctx.is_sym(k, b'{');
    let closes = |k: usize| ctx.is_sym(k, b']') || ctx.is_sym(k, b')') || ctx.is_sym(k, b'}');
    if opens(i) && is_word(i + 1) && closes(i + 2) {
        return Some((i, i + 2));
    }
    if is_word(i) {
        let (s, e) = (i, i);
        if let (Some(p), Some(n)) = (ctx.prev(i), ctx.next(i)) {
            let open = ctx.is_sym(p, b'[') || ctx.is_sym(p, b'(') || ctx.is_sym(p, b'{');
            let close = ctx.is_sym(n, b']') || ctx.is_sym(n, b')') || ctx.is_sym(n, b'}');
            if open && close && p + 1 == i && n == i + 1 {
                return Some((p, n));
            }
        }
        return Some((s, e));
    }
    None
}

fn is_part(ctx: &Ctx<'_>, i: usize) -> bool {
    ctx.tok(i)
        .is_some_and(|t| matches!(t.kind, Kind::Word | Kind::Mixed | Kind::Num))
}

/// `name [at] mail [dot] com`, `name at mail dot example dot org`.
fn detect_spelled_emails(ctx: &mut Ctx<'_>) {
    let mut found = Vec::new();
    for i in 0..ctx.toks.len() {
        let quick = matches!(ctx.low(i), "at" | "arroba" | "[" | "(" | "{");
        if !quick {
            continue;
        }
        let Some((at_s, at_e)) = spelled(ctx, i, "at") else {
            continue;
        };
        // Right side: part ((dot|.) part)+, ending in a TLD.
        let Some(mut j) = ctx.next(at_e) else {
            continue;
        };
        if !is_part(ctx, j) || ctx.tok(j).is_some_and(|t| t.kind == Kind::Num) {
            continue;
        }
        let mut dots = 0;
        let mut end_tok = j;
        while let Some(n) = ctx.next(j) {
            let adjacent_dot = ctx.is_sym(n, b'.') && n == j + 1;
            let next_part = if adjacent_dot {
                ctx.next(n).filter(|m| *m == n + 1)
            } else if let Some((_, de)) = spelled(ctx, n, "dot") {
                ctx.next(de)
            } else {
                None
            };
            match next_part {
                Some(m) if is_part(ctx, m) => {
                    dots += 1;
                    j = m;
                    end_tok = m;
                }
                _ => break,
            }
        }
        if dots == 0 || !TLDS.contains(&ctx.low(end_tok)) {
            continue;
        }
        // Left side: part ((dot|.|_|-) part)*.
        let Some(mut k) = ctx.prev(at_s) else {
            continue;
        };
        if !is_part(ctx, k) || ctx.lex.cue(ctx.low(k)).is_some() && ctx.low(k) != "number" {
            continue;
        }
        let mut start_tok = k;
        while let Some(p) = ctx.prev(k) {
            let glue =
                (ctx.is_sym(p, b'.') || ctx.is_sym(p, b'_') || ctx.is_sym(p, b'-')) && p + 1 == k;
            let prev_part = if glue {
                p.checked_sub(1).filter(|m| is_part(ctx, *m))
            } else if let Some((ds, _)) = spelled(ctx, p, "dot") {
                ctx.prev(ds).filter(|m| is_part(ctx, *m))
            } else {
                None
            };
            match prev_part {
                Some(m) => {
                    k = m;
                    start_tok = m;
                }
                None => break,
            }
        }
        if let (Some(s), Some(e)) = (ctx.tok(start_tok), ctx.tok(end_tok)) {
            found.push(s.s..e.e);
        }
    }
    for r in found {
        ctx.opaque.push(r.clone());
        ctx.push(Label::Email, r, prio::WEB, "email_spelled");
    }
}

fn url_char(b: u8) -> bool {
    b > 0x20
        && !matches!(
            b,
            b'<' | b'>' | b'"' | b'`' | b'{' | b'}' | b'|' | b'\\' | b'^'
        )
        && b < 0x80
}

/// URLs with a scheme or `www.`, and bare `host.tld/path` forms.
fn detect_urls(ctx: &mut Ctx<'_>) {
    let low = ctx.lower.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < low.len() {
        let rest = low.get(i..).unwrap_or(&[]);
        let at_boundary = i == 0 || low.get(i - 1).is_some_and(|b| !b.is_ascii_alphanumeric());
        let starts = at_boundary
            && (rest.starts_with(b"http://")
                || rest.starts_with(b"https://")
                || rest.starts_with(b"www."));
        let host_len = if at_boundary && !starts {
            host_run(rest)
        } else {
            0
        };
        let bare = host_len > 0 && bare_host_path(rest, host_len);
        if host_len > 0 && !bare {
            // No later start inside this host run can end differently: skip it whole.
            i += host_len + 1;
            continue;
        }
        if starts || bare {
            let mut e = i;
            while low.get(e).is_some_and(|b| url_char(*b)) {
                e += 1;
            }
            while e > i
                && matches!(
                    low.get(e - 1),
                    Some(b'.' | b',' | b';' | b':' | b'!' | b'?' | b')' | b']' | b'\'')
                )
            {
                e -= 1;
            }
            if e > i + 4 {
                found.push(i..e);
            }
            i = e.max(i + 1);
        } else {
            i += 1;
        }
    }
    for r in found {
        ctx.opaque.push(r.clone());
        ctx.push(Label::Url, r, prio::WEB, "url");
    }
}

/// `portal.example.com/rx/1` without a scheme: a host with a known TLD followed by `/`.
fn host_run(s: &[u8]) -> usize {
    s.iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        .count()
}

fn bare_host_path(s: &[u8], host_len: usize) -> bool {
    if s.get(host_len) != Some(&b'/') {
        return false;
    }
    let host = s.get(..host_len).unwrap_or(&[]);
    let Some(dot) = host.iter().rposition(|b| *b == b'.') else {
        return false;
    };
    let tld = std::str::from_utf8(host.get(dot + 1..).unwrap_or(&[])).unwrap_or("");
    dot > 0 && TLDS.contains(&tld)
}

/// IPv4 dotted quads and IPv6 addresses.
fn detect_ips(ctx: &mut Ctx<'_>) {
    let b = ctx.text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b.get(i).copied().unwrap_or(0);
        let prev = if i > 0 {
            b.get(i - 1).copied().unwrap_or(0)
        } else {
            0
        };
        if !c.is_ascii_hexdigit() || prev.is_ascii_alphanumeric() || prev == b'.' || prev == b':' {
            // No address starts inside an alphanumeric run: skip the rest of it.
            let in_run = c.is_ascii_alphanumeric();
            i += 1;
            while in_run && b.get(i).is_some_and(u8::is_ascii_alphanumeric) {
                i += 1;
            }
            continue;
        }
        let mut e = i;
        let (mut dots, mut colons) = (0, 0);
        while let Some(&x) = b.get(e) {
            if x.is_ascii_hexdigit() {
                e += 1;
            } else if x == b'.' && b.get(e + 1).is_some_and(u8::is_ascii_digit) {
                dots += 1;
                e += 1;
            } else if x == b':'
                && b.get(e + 1)
                    .is_some_and(|y| y.is_ascii_hexdigit() || *y == b':')
            {
                colons += 1;
                e += 1;
            } else if x == b':' && colons > 0 && b.get(e - 1) == Some(&b':') {
                e += 1;
            } else {
                break;
            }
            if e - i > 45 {
                break;
            }
        }
        let after_ok = !b.get(e).is_some_and(|x| x.is_ascii_alphanumeric());
        let s = ctx.text.get(i..e).unwrap_or("");
        let v4 = colons == 0 && dots == 3 && ipv4(s);
        let v6 = colons >= 2 && s.parse::<Ipv6Addr>().is_ok();
        if after_ok && (v4 || v6) {
            found.push(i..e);
            i = e;
        } else {
            // Skip the rest of this alphanumeric run.
            let mut k = i + 1;
            while b.get(k).is_some_and(u8::is_ascii_alphanumeric) {
                k += 1;
            }
            i = k;
        }
    }
    for r in found {
        ctx.opaque.push(r.clone());
        ctx.push(Label::IpAddress, r, prio::WEB, "ip");
    }
}

fn ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|v| v <= 255)
        })
}

/// Long base64-like runs (tokens, hashes): opaque, so no id detector fires inside them.
fn mark_blobs(ctx: &mut Ctx<'_>) {
    let b = ctx.text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
            continue;
        }
        let s = i;
        let run = b
            .get(s..)
            .unwrap_or(&[])
            .iter()
            .take_while(|c| !c.is_ascii_whitespace())
            .count();
        if run < 24 {
            // Too short for a blob: no need to classify its bytes.
            i = s + run;
            continue;
        }
        let (mut letters, mut digits, mut others) = (0, 0, 0);
        while let Some(&c) = b.get(i) {
            if c.is_ascii_whitespace() {
                break;
            }
            if c.is_ascii_alphabetic() {
                letters += 1;
            } else if c.is_ascii_digit() {
                digits += 1;
            } else if !matches!(c, b'+' | b'/' | b'=' | b'_' | b'-') {
                others += 1;
            }
            i += 1;
        }
        if i - s >= 24 && others == 0 && letters > 0 && digits > 0 {
            ctx.opaque.push(s..i);
        }
    }
}

/// Runs the web detectors (first, so that later detectors skip these regions).
pub(crate) fn detect(ctx: &mut Ctx<'_>) {
    // One pass for cheap gates, so that most messages skip most detectors.
    let bytes = ctx.text.as_bytes();
    let (mut at_sign, mut alpha_slash, mut digit_dot_digit, mut colons) = (false, false, false, 0);
    let mut prev = (0u8, 0u8);
    for &b in bytes {
        match b {
            b'@' => at_sign = true,
            b'/' if prev.1.is_ascii_alphabetic() => alpha_slash = true,
            b':' => colons += 1,
            d if d.is_ascii_digit() && prev.1 == b'.' && prev.0.is_ascii_digit() => {
                digit_dot_digit = true
            }
            _ => {}
        }
        prev = (prev.1, b);
    }
    let low = ctx.lower.as_str();
    let urlish = alpha_slash || low.contains("www.");
    let spelled = (low.contains(" at ")
        || low.contains("[at]")
        || low.contains("(at)")
        || low.contains("arroba"))
        && (low.contains("dot")
            || low.contains("punto")
            || low.contains(".com")
            || low.contains(".org")
            || low.contains(".net"));

    if at_sign {
        detect_at_emails(ctx);
    }
    if urlish {
        detect_urls(ctx);
    }
    if spelled {
        detect_spelled_emails(ctx);
    }
    if digit_dot_digit || colons >= 2 {
        detect_ips(ctx);
    }
    mark_blobs(ctx);
}
