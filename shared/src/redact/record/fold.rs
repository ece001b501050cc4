//! Matching keys for the order record (SECURITY.md C6, C7): Unicode lower case, Latin accents
//! removed (`García` and `Garcia` give one key, in either direction), and Latin-lookalike
//! Cyrillic, Greek and mathematical letters read as the Latin letter they imitate (`Hаddad`
//! with a Cyrillic `а`). Used on record values and on message tokens alike, so both sides of a
//! comparison are folded the same way.

/// Base letters of U+00C0..=U+017F (Latin-1 Supplement and Latin Extended-A), lower case;
/// `*` marks a character with no single base letter (handled by [`special`] or kept).
const LATIN_BASE: &[u8; 192] = b"aaaaaa*ceeeeiiii\
dnooooo*ouuuuy**\
aaaaaa*ceeeeiiii\
dnooooo*ouuuuy*y\
aaaaaaccccccccdd\
ddeeeeeeeeeegggg\
gggghhhhiiiiiiii\
ii**jjkkklllllll\
lllnnnnnnnnnoooo\
oo**rrrrrrssssss\
ssttttttuuuuuuuu\
uuuuwwyyyzzzzzzs";

/// Pinyin vowels with tone marks, U+01CD..=U+01DC.
const PINYIN_BASE: &[u8; 16] = b"aaiioouuuuuuuuuu";

/// Letters that fold to more than one Latin letter.
fn special(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' | 'ẞ' => "ss",
        'Æ' | 'æ' => "ae",
        'Œ' | 'œ' => "oe",
        'Þ' | 'þ' => "th",
        'Ĳ' | 'ĳ' => "ij",
        _ => return None,
    })
}

/// The Latin base letter of an accented Latin letter (either case).
fn latin_base(c: char) -> Option<char> {
    let u = c as u32;
    let b = match u {
        0xC0..=0x17F => *LATIN_BASE.get((u - 0xC0) as usize)?,
        0x1CD..=0x1DC => *PINYIN_BASE.get((u - 0x1CD) as usize)?,
        // Vietnamese: A, E, I, O, U and Y with two marks, in upper/lower pairs.
        0x1EA0..=0x1EB7 => b'a',
        0x1EB8..=0x1EC7 => b'e',
        0x1EC8..=0x1ECB => b'i',
        0x1ECC..=0x1EE3 => b'o',
        0x1EE4..=0x1EF1 => b'u',
        0x1EF2..=0x1EF9 => b'y',
        0x1A0 | 0x1A1 => b'o',
        0x1AF | 0x1B0 => b'u',
        // Romanian comma-below letters.
        0x218 | 0x219 => b's',
        0x21A | 0x21B => b't',
        _ => return None,
    };
    (b != b'*').then_some(char::from(b))
}

/// The Latin letter a non-Latin lookalike imitates (Cyrillic, Greek, IPA, math letters).
fn homoglyph(c: char) -> Option<char> {
    let u = c as u32;
    if (0x1D400..=0x1D6A3).contains(&u) {
        // Mathematical alphanumeric Latin letters: 52 per style, capitals first.
        let i = ((u - 0x1D400) % 52) as u8;
        return Some(char::from(b'a' + i % 26));
    }
    Some(match c {
        'А' | 'а' | 'Α' | 'α' | 'ɑ' => 'a',
        'В' | 'в' | 'Β' | 'β' | 'Ь' => 'b',
        'С' | 'с' | 'ϲ' | 'Ϲ' => 'c',
        'Ԁ' | 'ԁ' => 'd',
        'Е' | 'е' | 'Ё' | 'ё' | 'Ε' | 'ε' => 'e',
        'ɡ' => 'g',
        'Н' | 'н' | 'Һ' | 'һ' | 'Η' | 'ℎ' => 'h',
        'І' | 'і' | 'Ї' | 'ї' | 'Ι' | 'ι' | 'ɩ' => 'i',
        'Ј' | 'ј' | 'ϳ' => 'j',
        'К' | 'к' | 'Κ' | 'κ' => 'k',
        'Ӏ' | 'ӏ' => 'l',
        'М' | 'м' | 'Μ' => 'm',
        'Ν' => 'n',
        'О' | 'о' | 'Ο' | 'ο' => 'o',
        'Р' | 'р' | 'Ρ' | 'ρ' => 'p',
        'Ԛ' | 'ԛ' => 'q',
        'Ѕ' | 'ѕ' => 's',
        'Т' | 'т' | 'Τ' | 'τ' => 't',
        'υ' => 'u',
        'Ѵ' | 'ѵ' | 'ν' => 'v',
        'Ԝ' | 'ԝ' => 'w',
        'Х' | 'х' | 'Χ' | 'χ' => 'x',
        'У' | 'у' | 'Ү' | 'ү' | 'Υ' => 'y',
        'Ζ' => 'z',
        _ => return None,
    })
}

/// Appends the matching key of `c` to `out`.
pub(crate) fn push_folded(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else if let Some(l) = homoglyph(c) {
        out.push(l);
    } else if let Some(s) = special(c) {
        out.push_str(s);
    } else if let Some(b) = latin_base(c) {
        out.push(b);
    } else if c == '\u{2019}' || c == '\u{2bc}' {
        out.push('\'');
    } else {
        for l in c.to_lowercase() {
            // `İ` lowers to `i` and a combining dot, which carries no meaning here.
            if !matches!(l as u32, 0x300..=0x36F) {
                out.push(latin_base(l).unwrap_or(l));
            }
        }
    }
}

/// The matching key of a word.
pub(crate) fn key(w: &str) -> String {
    let mut out = String::with_capacity(w.len());
    for c in w.chars() {
        push_folded(c, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn accents_case_and_lookalikes_fold_to_one_key() {
        assert_eq!(key("Öztürk"), "ozturk");
        assert_eq!(key("ÖZTÜRK"), "ozturk");
        assert_eq!(key("Łukasz"), "lukasz");
        assert_eq!(key("ŻAK"), "zak");
        assert_eq!(key("NÚÑEZ"), "nunez");
        assert_eq!(key("Ácido"), "acido");
        assert_eq!(key("Nguyễn"), "nguyen");
        assert_eq!(key("Ștefan"), "stefan");
        assert_eq!(key("Straße"), "strasse");
        assert_eq!(key("İpek"), "ipek");
        assert_eq!(key("H\u{430}ddad"), "haddad");
        assert_eq!(key("\u{397}\u{391}DDAD"), "haddad");
        assert_eq!(key("\u{1D407}addad"), "haddad");
        assert_eq!(key("O\u{2019}Neill"), "o'neill");
    }

    #[test]
    fn the_base_table_lines_up_with_the_code_points() {
        for (c, b) in [
            ('À', 'a'),
            ('Ç', 'c'),
            ('Ñ', 'n'),
            ('Ø', 'o'),
            ('Ý', 'y'),
            ('ÿ', 'y'),
            ('Ā', 'a'),
            ('Đ', 'd'),
            ('ğ', 'g'),
            ('Ħ', 'h'),
            ('ı', 'i'),
            ('Ķ', 'k'),
            ('Ł', 'l'),
            ('ŋ', 'n'),
            ('Ő', 'o'),
            ('ř', 'r'),
            ('ş', 's'),
            ('Ţ', 't'),
            ('ů', 'u'),
            ('Ŵ', 'w'),
            ('Ÿ', 'y'),
            ('ž', 'z'),
            ('ǚ', 'u'),
            ('ậ', 'a'),
            ('ỹ', 'y'),
        ] {
            assert_eq!(key(&c.to_string()), b.to_string(), "{c}");
        }
        assert_eq!(key("×÷"), "×÷");
    }
}
