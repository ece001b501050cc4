//! Detection copy of a message (SECURITY.md C6, C7): compatibility folding, format characters
//! dropped, dashes and spaces unified, spelled-out digit runs turned into digits. Every byte of
//! the copy remembers the byte range of the original character it came from, so findings map
//! back to the exact original bytes.

use std::ops::Range;

/// A normalized copy of a text and the map back to the original.
#[derive(Debug)]
pub(crate) struct Normalized {
    /// The detection copy.
    pub text: String,
    /// For each byte of `text`: the original byte range of the character it came from. `None`
    /// when the copy is byte-identical to the original.
    map: Option<Vec<(u32, u32)>>,
}

impl Normalized {
    /// Maps a range of the detection copy back to a range of the original text.
    pub fn to_original(&self, r: &Range<usize>) -> Option<Range<usize>> {
        match &self.map {
            None => Some(r.clone()),
            Some(map) => {
                if r.start >= r.end {
                    return None;
                }
                let (s, _) = *map.get(r.start)?;
                let (_, e) = *map.get(r.end - 1)?;
                Some(s as usize..e as usize)
            }
        }
    }
}

/// What one original character becomes in the detection copy.
enum Fold {
    Keep,
    Drop,
    To(char),
}

fn fold(c: char) -> Fold {
    let u = c as u32;
    match u {
        // Zero-width, soft hyphen, word joiner, BOM, bidi controls, variation selectors.
        0x200B..=0x200F | 0x00AD | 0x2060..=0x2064 | 0xFEFF | 0x202A..=0x202E => Fold::Drop,
        0x2066..=0x2069 | 0xFE00..=0xFE0F | 0x034F | 0x180E => Fold::Drop,
        // Combining marks after a base character carry no detection meaning.
        0x0300..=0x036F | 0x20D0..=0x20FF => Fold::Drop,
        // Fullwidth ASCII.
        0xFF01..=0xFF5E => char::from_u32(u - 0xFEE0).map_or(Fold::Keep, Fold::To),
        // Space variants.
        0x00A0 | 0x2000..=0x200A | 0x202F | 0x205F | 0x3000 | 0x1680 => Fold::To(' '),
        // Dash variants (incl. non-breaking hyphen, figure dash, en/em dash, minus).
        0x2010..=0x2015 | 0x2212 | 0xFE58 | 0xFE63 | 0x2043 => Fold::To('-'),
        // Quotes.
        0x2018 | 0x2019 | 0x02BC | 0x2032 => Fold::To('\''),
        0x201C | 0x201D => Fold::To('"'),
        // Other digit systems.
        0x0660..=0x0669 => char::from_u32(u - 0x0660 + 0x30).map_or(Fold::Keep, Fold::To),
        0x06F0..=0x06F9 => char::from_u32(u - 0x06F0 + 0x30).map_or(Fold::Keep, Fold::To),
        0x0966..=0x096F => char::from_u32(u - 0x0966 + 0x30).map_or(Fold::Keep, Fold::To),
        // Small/fullwidth forms of punctuation used in values.
        0xFE6B => Fold::To('@'),
        0xFE52 => Fold::To('.'),
        0x2024 => Fold::To('.'),
        // Math alphanumeric digits (𝟎..𝟿 in five styles).
        0x1D7CE..=0x1D7FF => char::from_u32((u - 0x1D7CE) % 10 + 0x30).map_or(Fold::Keep, Fold::To),
        // Circled digits ①..⑨.
        0x2460..=0x2468 => char::from_u32(u - 0x2460 + 0x31).map_or(Fold::Keep, Fold::To),
        // Tabs and carriage returns behave like spaces; line feeds stay.
        0x09 | 0x0D => Fold::To(' '),
        _ => Fold::Keep,
    }
}

/// Builds the detection copy of `text`.
pub(crate) fn normalize(text: &str) -> Normalized {
    let needs_work = !text.is_ascii() || text.bytes().any(|b| b == b'\t' || b == b'\r');
    let folded = if needs_work {
        let mut out = String::with_capacity(text.len());
        let mut map = Vec::with_capacity(text.len());
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            // Plain ASCII runs are copied whole, each byte mapping to itself.
            let run = bytes
                .get(i..)
                .unwrap_or(&[])
                .iter()
                .take_while(|b| b.is_ascii() && **b != b'\t' && **b != b'\r')
                .count();
            if run > 0 {
                out.push_str(text.get(i..i + run).unwrap_or(""));
                map.extend((i..i + run).map(|k| (k as u32, k as u32 + 1)));
                i += run;
                continue;
            }
            let Some(c) = text.get(i..).and_then(|r| r.chars().next()) else {
                break;
            };
            let span = (i as u32, (i + c.len_utf8()) as u32);
            i += c.len_utf8();
            let emit = match fold(c) {
                Fold::Keep => c,
                Fold::Drop => continue,
                Fold::To(d) => d,
            };
            out.push(emit);
            for _ in 0..emit.len_utf8() {
                map.push(span);
            }
        }
        Normalized {
            text: out,
            map: Some(map),
        }
    } else {
        Normalized {
            text: text.to_owned(),
            map: None,
        }
    };
    spell_digits(folded)
}

/// The digit a spelled-out digit word stands for (English and Spanish, any case).
fn digit_word(w: &str) -> Option<char> {
    let b = w.as_bytes();
    if b.len() < 2 || b.len() > 6 {
        return None;
    }
    let mut buf = [0u8; 6];
    for (d, c) in buf.iter_mut().zip(b) {
        *d = c.to_ascii_lowercase();
    }
    let d = match buf.get(..b.len())? {
        b"zero" | b"oh" | b"cero" => '0',
        b"one" | b"uno" => '1',
        b"two" | b"dos" => '2',
        b"three" | b"tres" => '3',
        b"four" | b"cuatro" => '4',
        b"five" | b"cinco" => '5',
        b"six" | b"seis" => '6',
        b"seven" | b"siete" => '7',
        b"eight" | b"ocho" => '8',
        b"nine" | b"nueve" => '9',
        _ => return None,
    };
    Some(d)
}

/// Appends `r` of the detection copy `n` to `out`, with its bytes' original spans to `map`.
fn copy_span(n: &Normalized, r: Range<usize>, out: &mut String, map: &mut Vec<(u32, u32)>) {
    let Some(piece) = n.text.get(r.clone()) else {
        return;
    };
    out.push_str(piece);
    match &n.map {
        None => map.extend(r.map(|k| (k as u32, k as u32 + 1))),
        Some(m) => map.extend_from_slice(m.get(r).unwrap_or(&[])),
    }
}

/// Turns runs of four or more spelled-out digits ("nine three four oh ...") into digits, keeping
/// single separators, so that the number detectors see them. Shorter runs ("one of three") stay.
fn spell_digits(n: Normalized) -> Normalized {
    let bytes = n.text.as_bytes();
    // Collect words with their positions (ASCII letters only).
    let mut words: Vec<(usize, usize, char)> = Vec::new();
    let mut runs: Vec<(usize, usize)> = Vec::new(); // indices into words
    let mut i = 0;
    let mut run_start: Option<usize> = None;
    let mut last_end = 0usize;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or(b' ');
        if b.is_ascii_alphabetic() {
            let s = i;
            while bytes.get(i).is_some_and(|b| b.is_ascii_alphabetic()) {
                i += 1;
            }
            let w = n.text.get(s..i).unwrap_or("");
            match digit_word(w) {
                Some(d) => {
                    let gap_ok = run_start.is_some()
                        && n.text.get(last_end..s).is_some_and(|g| {
                            g.len() <= 3 && g.bytes().all(|c| matches!(c, b' ' | b'-' | b','))
                        });
                    if !gap_ok {
                        if let Some(rs) = run_start {
                            runs.push((rs, words.len()));
                        }
                        run_start = Some(words.len());
                    }
                    words.push((s, i, d));
                    last_end = i;
                }
                None => {
                    if let Some(rs) = run_start.take() {
                        runs.push((rs, words.len()));
                    }
                }
            }
        } else {
            i += 1;
        }
    }
    if let Some(rs) = run_start {
        runs.push((rs, words.len()));
    }
    let runs: Vec<(usize, usize)> = runs.into_iter().filter(|(a, b)| b - a >= 4).collect();
    if runs.is_empty() {
        return n;
    }
    let orig_span = |pos: usize| -> (u32, u32) {
        match &n.map {
            None => (pos as u32, pos as u32 + 1),
            Some(m) => m.get(pos).copied().unwrap_or((0, 0)),
        }
    };
    let mut out = String::with_capacity(n.text.len());
    let mut map: Vec<(u32, u32)> = Vec::with_capacity(n.text.len());
    let mut pos = 0;
    for (a, b) in runs {
        for w in words.get(a..b).unwrap_or(&[]) {
            let (s, e, d) = *w;
            // Copy everything before this word unchanged (separators included).
            copy_span(&n, pos..s, &mut out, &mut map);
            let (os, _) = orig_span(s);
            let (_, oe) = orig_span(e.saturating_sub(1));
            out.push(d);
            map.push((os, oe));
            pos = e;
        }
    }
    copy_span(&n, pos..n.text.len(), &mut out, &mut map);
    Normalized {
        text: out,
        map: Some(map),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fullwidth_and_zero_width_fold_with_exact_map() {
        let t = "ssn ９\u{200b}3４-80";
        let n = normalize(t);
        assert_eq!(n.text, "ssn 934-80");
        let r = n.to_original(&(4..10)).expect("mapped");
        assert_eq!(&t[r], "９\u{200b}3４-80");
    }

    #[test]
    fn spelled_digits_become_digits_only_in_long_runs() {
        let n = normalize("one of three; nine three four five");
        assert_eq!(n.text, "one of three; 9 3 4 5");
        let n = normalize("it is nine-three-four-five");
        assert_eq!(n.text, "it is 9-3-4-5");
    }
}
