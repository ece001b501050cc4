//! Encryption at rest: versioned AES-256-GCM envelopes with key ids, bound to where they belong
//! (NIST SP 800-38D; 45 CFR 164.312(a)(2)(iv) and (e)(2)(ii); SECURITY H1–H7).
//!
//! # Envelope layout (version 1)
//!
//! ```text
//! offset      size   field
//! 0           1      version = 0x01
//! 1           1      k = key id length, 1..=32
//! 2           k      key id, ASCII [A-Za-z0-9_-]
//! 2+k         12     nonce: fresh from the platform CSPRNG for every seal
//! 14+k        n      ciphertext (n = plaintext length, at most MAX_PLAINTEXT_LEN)
//! 14+k+n      16     GCM tag
//! ```
//!
//! The AAD (see [`Aad`]) covers the version, the key id, region, order, object kind and object
//! id, so an edited header, a pasted ciphertext or a swapped key id fails the tag. A key id is
//! looked up once; there is no fallback to other keys. A retired key id fails closed with
//! [`EnvelopeError::KeyRetired`].
//!
//! # Nonce limit
//!
//! Random 96-bit nonces: SP 800-38D section 8.3 caps one key at 2^32 seals. The count is not
//! tracked durably here; the deployment rotates keys well before that (see the README).

mod aad;
mod key;
mod keyring;

pub use aad::{Aad, ObjectKind, MAX_AAD_FIELD_LEN, REGION_WIDE_SCOPE};
pub use key::{KeyId, SecretKey, KEY_B64_LEN, KEY_LEN};
pub use keyring::{
    ConfigError, KeyConfig, Keyring, ENV_DATA_KEYS, ENV_DATA_KEYS_RETIRED, ENV_DATA_KEY_ACTIVE,
    MAX_CONFIG_LEN, MAX_KEYS,
};

use crate::api::ErrorCode;
use aes_gcm::aead::{AeadInOut, Nonce, Tag};
use aes_gcm::Aes256Gcm;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// The envelope format version this code writes and reads.
pub const VERSION: u8 = 1;

/// Nonce length in bytes (96 bits).
pub const NONCE_LEN: usize = 12;

/// Tag length in bytes (128 bits).
pub const TAG_LEN: usize = 16;

/// Largest plaintext one envelope holds (16 MiB); larger objects are refused before allocation.
pub const MAX_PLAINTEXT_LEN: usize = 16 * 1024 * 1024;

/// Largest envelope accepted by [`Keyring::open`]: header with the longest key id, nonce,
/// [`MAX_PLAINTEXT_LEN`] of ciphertext and the tag.
pub const MAX_SEALED_LEN: usize = 2 + KeyId::MAX_LEN + NONCE_LEN + MAX_PLAINTEXT_LEN + TAG_LEN;

/// Smallest well-formed envelope: one-byte key id, nonce, empty ciphertext, tag.
pub const MIN_SEALED_LEN: usize = 2 + 1 + NONCE_LEN + TAG_LEN;

/// Largest envelope in text form (standard padded base64 of [`MAX_SEALED_LEN`] bytes).
pub const MAX_SEALED_TEXT_LEN: usize = MAX_SEALED_LEN.div_ceil(3) * 4;

/// Why sealing or opening failed. Never carries plaintext, key bytes or the envelope.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeError {
    /// The plaintext or envelope is over its size limit.
    TooLarge,
    /// The envelope is shorter than its header says, or shorter than the smallest envelope.
    Truncated,
    /// The header is malformed (key id length or alphabet).
    Malformed,
    /// The version byte is not one this code reads.
    UnsupportedVersion,
    /// `KEY_RETIRED`: the envelope's key id is retired; it will not be opened.
    KeyRetired,
    /// The envelope's key id is not in the keyring.
    UnknownKey,
    /// The tag did not verify: wrong key, edited bytes, or a different AAD.
    Authentication,
    /// An AAD field is empty or over [`MAX_AAD_FIELD_LEN`].
    BadAad,
    /// The text form is not standard base64.
    Encoding,
    /// The platform CSPRNG failed.
    Random,
    /// The cipher refused the input.
    Cipher,
}

impl EnvelopeError {
    /// The API code this failure maps to: `KEY_RETIRED` for retired keys, `INTERNAL` otherwise.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::KeyRetired => ErrorCode::KeyRetired,
            _ => ErrorCode::Internal,
        }
    }
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLarge => "envelope or plaintext too large",
            Self::Truncated => "envelope truncated",
            Self::Malformed => "envelope header malformed",
            Self::UnsupportedVersion => "envelope version unsupported",
            Self::KeyRetired => "envelope key retired",
            Self::UnknownKey => "envelope key unknown",
            Self::Authentication => "envelope authentication failed",
            Self::BadAad => "envelope binding invalid",
            Self::Encoding => "envelope text encoding invalid",
            Self::Random => "random source failed",
            Self::Cipher => "cipher refused input",
        })
    }
}

impl std::error::Error for EnvelopeError {}

/// The parts of a sealed envelope, borrowed from it.
struct Parts<'a> {
    version: u8,
    kid: &'a [u8],
    nonce: &'a [u8],
    ciphertext: &'a [u8],
    tag: &'a [u8],
}

/// Splits an envelope into its fields, checking lengths and the key id alphabet.
fn parse(sealed: &[u8]) -> Result<Parts<'_>, EnvelopeError> {
    if sealed.len() > MAX_SEALED_LEN {
        return Err(EnvelopeError::TooLarge);
    }
    let (&version, rest) = sealed.split_first().ok_or(EnvelopeError::Truncated)?;
    if version != VERSION {
        return Err(EnvelopeError::UnsupportedVersion);
    }
    let (&kid_len, rest) = rest.split_first().ok_or(EnvelopeError::Truncated)?;
    let (kid, rest) = rest
        .split_at_checked(usize::from(kid_len))
        .ok_or(EnvelopeError::Truncated)?;
    if !key::is_valid_kid(kid) {
        return Err(EnvelopeError::Malformed);
    }
    let (nonce, rest) = rest
        .split_at_checked(NONCE_LEN)
        .ok_or(EnvelopeError::Truncated)?;
    let body_len = rest
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(EnvelopeError::Truncated)?;
    let (ciphertext, tag) = rest.split_at(body_len);
    Ok(Parts {
        version,
        kid,
        nonce,
        ciphertext,
        tag,
    })
}

/// The key id an envelope was sealed under (for the rotation command and metrics).
///
/// # Errors
/// [`EnvelopeError::Truncated`], [`EnvelopeError::UnsupportedVersion`],
/// [`EnvelopeError::Malformed`] or [`EnvelopeError::TooLarge`] for a bad header. The key id is
/// not authenticated until the envelope is opened.
pub fn key_id_of(sealed: &[u8]) -> Result<&str, EnvelopeError> {
    let parts = parse(sealed)?;
    std::str::from_utf8(parts.kid).map_err(|_| EnvelopeError::Malformed)
}

/// The nonce an envelope carries (diagnostics and the nonce-uniqueness tests).
///
/// # Errors
/// As [`key_id_of`].
pub fn nonce_of(sealed: &[u8]) -> Result<[u8; NONCE_LEN], EnvelopeError> {
    let parts = parse(sealed)?;
    parts.nonce.try_into().map_err(|_| EnvelopeError::Truncated)
}

/// A fresh 96-bit nonce from the platform CSPRNG (`getrandom`; `crypto.getRandomValues` on
/// wasm32). Every [`Keyring::seal`] draws one.
///
/// # Errors
/// [`EnvelopeError::Random`] when the CSPRNG is unavailable: sealing then fails rather than
/// reuse a nonce.
pub fn fresh_nonce() -> Result<[u8; NONCE_LEN], EnvelopeError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|_| EnvelopeError::Random)?;
    Ok(nonce)
}

/// Decodes an envelope's text form, checking its length before decoding.
fn decode_text(text: &str) -> Result<Vec<u8>, EnvelopeError> {
    if text.len() > MAX_SEALED_TEXT_LEN {
        return Err(EnvelopeError::TooLarge);
    }
    STANDARD
        .decode(text.as_bytes())
        .map_err(|_| EnvelopeError::Encoding)
}

impl Keyring {
    /// Seals `plaintext` under the active key, bound to `aad`.
    ///
    /// # Errors
    /// [`EnvelopeError::TooLarge`] over [`MAX_PLAINTEXT_LEN`], [`EnvelopeError::BadAad`],
    /// [`EnvelopeError::Random`], [`EnvelopeError::Cipher`].
    pub fn seal(&self, aad: &Aad<'_>, plaintext: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(EnvelopeError::TooLarge);
        }
        let entry = &self.active;
        let kid = entry.kid.as_str().as_bytes();
        let kid_len = u8::try_from(kid.len()).map_err(|_| EnvelopeError::Malformed)?;
        let aad_bytes = aad.encode(VERSION, kid)?;
        let nonce = fresh_nonce()?;

        let mut out = Vec::with_capacity(2 + kid.len() + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(VERSION);
        out.push(kid_len);
        out.extend_from_slice(kid);
        out.extend_from_slice(&nonce);
        let body = out.len();
        out.extend_from_slice(plaintext);

        let encrypted = match out.get_mut(body..) {
            Some(buf) => entry.cipher.encrypt_inout_detached(
                &Nonce::<Aes256Gcm>::from(nonce),
                &aad_bytes,
                buf.into(),
            ),
            None => Err(aes_gcm::Error),
        };
        match encrypted {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(out)
            }
            Err(_) => {
                // The buffer may still hold plaintext.
                out.zeroize();
                Err(EnvelopeError::Cipher)
            }
        }
    }

    /// Opens an envelope sealed for `aad`, returning the plaintext in a buffer zeroized on drop.
    ///
    /// # Errors
    /// [`EnvelopeError::KeyRetired`] for a retired key id, [`EnvelopeError::UnknownKey`] for an
    /// unknown one, [`EnvelopeError::Authentication`] when the tag fails (edited bytes, another
    /// key, another AAD), and the header errors of [`key_id_of`]. No plaintext is returned or
    /// left behind on failure: the tag is checked before decryption.
    pub fn open(&self, aad: &Aad<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let parts = parse(sealed)?;
        let entry = self.entry(parts.kid)?;
        let aad_bytes = aad.encode(parts.version, parts.kid)?;
        let nonce =
            Nonce::<Aes256Gcm>::try_from(parts.nonce).map_err(|_| EnvelopeError::Truncated)?;
        let tag = Tag::<Aes256Gcm>::try_from(parts.tag).map_err(|_| EnvelopeError::Truncated)?;

        let mut buf = Zeroizing::new(parts.ciphertext.to_vec());
        entry
            .cipher
            .decrypt_inout_detached(&nonce, &aad_bytes, buf.as_mut_slice().into(), &tag)
            .map_err(|_| EnvelopeError::Authentication)?;
        Ok(buf)
    }

    /// Re-seals an envelope under the active key: `None` when it already is (after verifying
    /// it still opens), `Some(new envelope)` otherwise. Used by the rotation command.
    ///
    /// # Errors
    /// As [`Keyring::open`] and [`Keyring::seal`]; a retired key gives
    /// [`EnvelopeError::KeyRetired`], so records must be re-sealed before their key is retired.
    pub fn reseal(&self, aad: &Aad<'_>, sealed: &[u8]) -> Result<Option<Vec<u8>>, EnvelopeError> {
        let plaintext = self.open(aad, sealed)?;
        if key_id_of(sealed)? == self.active_kid().as_str() {
            return Ok(None);
        }
        self.seal(aad, &plaintext).map(Some)
    }

    /// [`Keyring::seal`], returning the envelope as standard padded base64 for JSON or SQL text.
    ///
    /// # Errors
    /// As [`Keyring::seal`].
    pub fn seal_text(&self, aad: &Aad<'_>, plaintext: &[u8]) -> Result<String, EnvelopeError> {
        self.seal(aad, plaintext)
            .map(|sealed| STANDARD.encode(sealed))
    }

    /// [`Keyring::open`] for an envelope in text form.
    ///
    /// # Errors
    /// [`EnvelopeError::TooLarge`] before decoding when the text is over
    /// [`MAX_SEALED_TEXT_LEN`], [`EnvelopeError::Encoding`], then as [`Keyring::open`].
    pub fn open_text(
        &self,
        aad: &Aad<'_>,
        text: &str,
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        self.open(aad, &decode_text(text)?)
    }

    /// [`Keyring::reseal`] for an envelope in text form.
    ///
    /// # Errors
    /// As [`Keyring::open_text`] and [`Keyring::reseal`].
    pub fn reseal_text(&self, aad: &Aad<'_>, text: &str) -> Result<Option<String>, EnvelopeError> {
        let resealed = self.reseal(aad, &decode_text(text)?)?;
        Ok(resealed.map(|sealed| STANDARD.encode(sealed)))
    }
}

/// The key id of an envelope in text form.
///
/// # Errors
/// As [`key_id_of`], plus [`EnvelopeError::Encoding`] and [`EnvelopeError::TooLarge`].
pub fn key_id_of_text(text: &str) -> Result<String, EnvelopeError> {
    key_id_of(&decode_text(text)?).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrderId, Region};

    fn ring() -> Keyring {
        let kid = KeyId::new("k1").expect("valid kid");
        Keyring::new(
            vec![(kid.clone(), SecretKey::from_bytes([7; 32]))],
            &kid,
            vec![],
            true,
        )
        .expect("valid keyring")
    }

    #[test]
    fn sealed_layout_matches_the_documented_offsets() {
        let order: OrderId = "o1".parse().expect("valid order id");
        let aad = Aad::new(Region::Us, &order, ObjectKind::Message, "m1");
        let sealed = ring().seal(&aad, b"hello").expect("seal");
        assert_eq!(sealed.len(), 2 + 2 + NONCE_LEN + 5 + TAG_LEN);
        assert_eq!(sealed.first(), Some(&VERSION));
        assert_eq!(sealed.get(1), Some(&2));
        assert_eq!(sealed.get(2..4), Some(&b"k1"[..]));
        assert_eq!(key_id_of(&sealed), Ok("k1"));
        assert_eq!(
            nonce_of(&sealed).ok().as_ref().map(|n| &n[..]),
            sealed.get(4..16)
        );
        assert_ne!(sealed.get(16..21), Some(&b"hello"[..]));
    }

    #[test]
    fn oversized_inputs_are_refused_before_work() {
        let order: OrderId = "o1".parse().expect("valid order id");
        let aad = Aad::new(Region::Us, &order, ObjectKind::Media, "p1");
        let big = vec![0u8; MAX_PLAINTEXT_LEN + 1];
        assert_eq!(ring().seal(&aad, &big).err(), Some(EnvelopeError::TooLarge));
        let text = "A".repeat(MAX_SEALED_TEXT_LEN + 4);
        assert_eq!(
            ring().open_text(&aad, &text).err(),
            Some(EnvelopeError::TooLarge)
        );
    }

    #[test]
    fn only_a_retired_key_maps_to_key_retired() {
        assert_eq!(EnvelopeError::KeyRetired.code(), ErrorCode::KeyRetired);
        assert_eq!(EnvelopeError::Authentication.code(), ErrorCode::Internal);
        assert_eq!(ConfigError::MissingKeys.code(), ErrorCode::ConfigInvalid);
    }
}
