//! Reader for `aes256gcm_cavp.rsp`: NIST CAVP GCMVS vectors (see the header of that file).
//!
//! Shared by the native and the wasm known-answer tests through `#[path]`.

/// The vector file, compiled in so the wasm build needs no file system.
pub const RSP: &str = include_str!("aes256gcm_cavp.rsp");

/// One known-answer vector.
#[derive(Debug, Clone, Default)]
pub struct Vector {
    /// The NIST response file the vector comes from.
    pub file: String,
    pub key: Vec<u8>,
    pub iv: Vec<u8>,
    pub aad: Vec<u8>,
    /// Plaintext; `None` for a decrypt vector whose tag must be rejected (`FAIL`).
    pub pt: Option<Vec<u8>>,
    pub ct: Vec<u8>,
    pub tag: Vec<u8>,
}

impl Vector {
    /// True for vectors from `gcmEncryptExtIV256.rsp`.
    pub fn is_encrypt(&self) -> bool {
        self.file == "gcmEncryptExtIV256.rsp"
    }
}

fn hex(s: &str) -> Result<Vec<u8>, String> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd hex length {}", s.len()));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(|| format!("bad hex at {i}"))
        })
        .collect()
}

/// Parses every block of [`RSP`].
pub fn vectors() -> Result<Vec<Vector>, String> {
    let mut out = Vec::new();
    for block in RSP.split("\n\n") {
        let mut v = Vector::default();
        let mut has_key = false;
        let mut pt = None;
        let mut fail = false;
        for line in block.lines().map(str::trim) {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            if line == "FAIL" {
                fail = true;
                continue;
            }
            let (name, value) = line
                .split_once('=')
                .ok_or_else(|| format!("bad line {line}"))?;
            let value = value.trim();
            match name.trim() {
                "File" => v.file = value.to_owned(),
                "Key" => {
                    v.key = hex(value)?;
                    has_key = true;
                }
                "IV" => v.iv = hex(value)?,
                "AAD" => v.aad = hex(value)?,
                "PT" => pt = Some(hex(value)?),
                "CT" => v.ct = hex(value)?,
                "Tag" => v.tag = hex(value)?,
                other => return Err(format!("unknown field {other}")),
            }
        }
        if !has_key {
            continue;
        }
        if fail == pt.is_some() {
            return Err("a vector needs exactly one of PT and FAIL".to_owned());
        }
        if v.key.len() != 32 || v.iv.len() != 12 || v.tag.len() != 16 {
            return Err("vector is not AES-256, 96-bit IV, 128-bit tag".to_owned());
        }
        v.pt = pt;
        out.push(v);
    }
    Ok(out)
}

/// How many vectors of each kind ran.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// `gcmEncryptExtIV256` vectors: encrypt matched CT and Tag, and decrypt gave PT back.
    pub encrypt: usize,
    /// `gcmDecrypt256` vectors that decrypt to PT.
    pub decrypt_pass: usize,
    /// `gcmDecrypt256` vectors whose tag was rejected (`FAIL`).
    pub decrypt_fail: usize,
}

/// Runs every vector against `aes-gcm`'s `Aes256Gcm` directly.
pub fn run_all() -> Result<Tally, String> {
    use aes_gcm::aead::{Aead, KeyInit, Nonce, Payload};
    use aes_gcm::Aes256Gcm;

    let mut tally = Tally::default();
    for (i, v) in vectors()?.iter().enumerate() {
        let cipher = Aes256Gcm::new_from_slice(&v.key).map_err(|_| format!("#{i}: key"))?;
        let nonce = Nonce::<Aes256Gcm>::try_from(&v.iv[..]).map_err(|_| format!("#{i}: iv"))?;
        let mut sealed = v.ct.clone();
        sealed.extend_from_slice(&v.tag);
        let opened = cipher.decrypt(
            &nonce,
            Payload {
                msg: &sealed,
                aad: &v.aad,
            },
        );

        match (&v.pt, v.is_encrypt()) {
            (Some(pt), true) => {
                let got = cipher
                    .encrypt(
                        &nonce,
                        Payload {
                            msg: pt,
                            aad: &v.aad,
                        },
                    )
                    .map_err(|_| format!("#{i}: encrypt failed"))?;
                if got != sealed {
                    return Err(format!("#{i}: ciphertext or tag differs from {}", v.file));
                }
                if opened.as_ref() != Ok(pt) {
                    return Err(format!("#{i}: decrypt did not give PT back"));
                }
                tally.encrypt += 1;
            }
            (Some(pt), false) => {
                if opened.as_ref() != Ok(pt) {
                    return Err(format!("#{i}: decrypt differs from {}", v.file));
                }
                tally.decrypt_pass += 1;
            }
            (None, _) => {
                if opened.is_ok() {
                    return Err(format!("#{i}: FAIL vector from {} was accepted", v.file));
                }
                tally.decrypt_fail += 1;
            }
        }
    }
    Ok(tally)
}

/// The tally the vector file must produce: every vector ran, none skipped.
pub const EXPECTED: Tally = Tally {
    encrypt: 7,
    decrypt_pass: 4,
    decrypt_fail: 5,
};
