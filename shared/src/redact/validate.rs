//! Check-digit validators: Luhn (ISO/IEC 7812-1) for cards, NPI (Luhn over `80840` + the ten
//! digits, 45 CFR 162.406), DEA registration checksum, and the CMS MBI character classes.

/// Luhn check over ASCII digits. Non-digits make it fail.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    for (i, b) in digits.iter().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// NPI: ten digits starting with 1 or 2, Luhn-valid once prefixed with `80840`.
pub(crate) fn npi(digits: &[u8]) -> bool {
    if digits.len() != 10 || !matches!(digits.first(), Some(b'1' | b'2')) {
        return false;
    }
    let mut buf = [0u8; 15];
    buf[..5].copy_from_slice(b"80840");
    buf[5..].copy_from_slice(digits);
    luhn(&buf)
}

/// DEA number: two letters and seven digits; (d1+d3+d5) + 2·(d2+d4+d6) ends in d7.
pub(crate) fn dea(s: &[u8]) -> bool {
    if s.len() != 9 {
        return false;
    }
    let (letters, digits) = s.split_at(2);
    if !letters.iter().all(u8::is_ascii_alphabetic) || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let d: Vec<u32> = digits.iter().map(|b| u32::from(b - b'0')).collect();
    match d.as_slice() {
        [d1, d2, d3, d4, d5, d6, d7] => (d1 + d3 + d5 + 2 * (d2 + d4 + d6)) % 10 == *d7,
        _ => false,
    }
}

fn mbi_letter(b: u8) -> bool {
    let u = b.to_ascii_uppercase();
    u.is_ascii_uppercase() && !matches!(u, b'S' | b'L' | b'O' | b'I' | b'B' | b'Z')
}

/// MBI: 11 characters, CMS classes C A AN N A AN N A A N N (no S, L, O, I, B, Z), any case.
pub(crate) fn mbi(s: &[u8]) -> bool {
    if s.len() != 11 {
        return false;
    }
    let num = |b: &u8| b.is_ascii_digit();
    let alpha = |b: &u8| mbi_letter(*b);
    let an = |b: &u8| b.is_ascii_digit() || mbi_letter(*b);
    match s {
        [c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11] => {
            (b'1'..=b'9').contains(c1)
                && alpha(c2)
                && an(c3)
                && num(c4)
                && alpha(c5)
                && an(c6)
                && num(c7)
                && alpha(c8)
                && alpha(c9)
                && num(c10)
                && num(c11)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_public_test_pans_and_rejects_a_changed_digit() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"378282246310005"));
        assert!(!luhn(b"4111111111111112"));
    }

    #[test]
    fn npi_uses_the_80840_prefix() {
        assert!(npi(b"1234567893"));
        assert!(!npi(b"1234567890"));
    }

    #[test]
    fn dea_checksum_and_mbi_classes() {
        assert!(dea(b"BM4721862"));
        assert!(dea(b"MH9679602"));
        assert!(!dea(b"MH9679603"));
        assert!(mbi(b"1EG4TE5MK73"));
        assert!(mbi(b"9dh1e91cy65"));
        assert!(!mbi(b"1SG4TE5MK73"));
    }
}
