//! Data keys and their ids: the secret half of the envelope (NIST SP 800-38D, AES-256 keys).
//!
//! A [`SecretKey`] is wrapped the moment it arrives from a secret: it has no `Display`, its
//! `Debug` is a placeholder, it compares in constant time and its bytes are zeroized on drop.

use super::keyring::ConfigError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of a data key in bytes (AES-256).
pub const KEY_LEN: usize = 32;

/// Length of a data key in its text form: standard base64 with padding.
pub const KEY_B64_LEN: usize = 44;

/// A 256-bit data key.
///
/// # Security
/// Built only from exactly 32 bytes of standard, padded base64 (what `openssl rand -base64 32`
/// and `rxroom keys gen` print) or from the CSPRNG. No `Display`; `Debug` prints
/// `SecretKey(..)`; `==` is constant time; the bytes are zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    /// Decodes a key from standard, padded base64 (RFC 4648 section 4), 44 characters.
    ///
    /// Surrounding ASCII whitespace is ignored (secrets pasted with a trailing newline).
    ///
    /// # Errors
    /// [`ConfigError::KeyEncoding`] when the text is not canonical base64,
    /// [`ConfigError::KeyLength`] when it does not decode to exactly 32 bytes. Neither error
    /// carries the input.
    pub fn from_base64(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim_ascii();
        // Checked before decoding so a long or short value never reaches the decoder's buffer.
        if text.len() != KEY_B64_LEN {
            return Err(ConfigError::KeyLength);
        }
        let mut buf = Zeroizing::new([0u8; KEY_LEN + 2]);
        let n = STANDARD
            .decode_slice(text.as_bytes(), &mut buf[..])
            .map_err(|_| ConfigError::KeyEncoding)?;
        if n != KEY_LEN {
            return Err(ConfigError::KeyLength);
        }
        let mut key = Self([0u8; KEY_LEN]);
        key.0.copy_from_slice(&buf[..KEY_LEN]);
        Ok(key)
    }

    /// Builds a key from raw bytes (tests and tools; configuration uses [`Self::from_base64`]).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// A fresh key from the platform CSPRNG (`getrandom`).
    ///
    /// # Errors
    /// [`ConfigError::Random`] when the CSPRNG is unavailable.
    pub fn generate() -> Result<Self, ConfigError> {
        let mut key = Self([0u8; KEY_LEN]);
        getrandom::fill(&mut key.0).map_err(|_| ConfigError::Random)?;
        Ok(key)
    }

    /// The key as standard, padded base64, in a buffer that is zeroized on drop.
    ///
    /// # Security
    /// This is key material: only `rxroom keys gen` prints it, once, for the operator to store
    /// as a secret. Never log it.
    pub fn expose_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0))
    }

    /// The raw key bytes, for building the cipher.
    pub(crate) fn expose_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// True when every byte is the same (all zero, all `0xff`, ...): a placeholder, not a key.
    pub fn is_placeholder(&self) -> bool {
        let first = self.0[0];
        self.0.iter().all(|&b| b == first)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl ConstantTimeEq for SecretKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for SecretKey {}

/// A key id (`kid`): 1 to 32 characters from `[A-Za-z0-9_-]`.
///
/// Not secret: it is written in clear into every envelope and may be logged.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// The longest accepted key id, in bytes.
    pub const MAX_LEN: usize = 32;

    /// Parses a key id.
    ///
    /// # Errors
    /// [`ConfigError::KeyIdInvalid`] when empty, too long or outside the alphabet (the error
    /// does not carry the input).
    pub fn new(s: &str) -> Result<Self, ConfigError> {
        if is_valid_kid(s.as_bytes()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ConfigError::KeyIdInvalid)
        }
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// True when `b` is a well-formed key id (length and alphabet).
pub(crate) fn is_valid_kid(b: &[u8]) -> bool {
    !b.is_empty()
        && b.len() <= KeyId::MAX_LEN
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 32 bytes 0x00..=0x1f in standard base64.
    const SEQ_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn standard_padded_base64_of_32_bytes_is_accepted() {
        let k = SecretKey::from_base64(SEQ_B64).expect("valid key");
        let mut want = [0u8; 32];
        for (i, b) in want.iter_mut().enumerate() {
            *b = u8::try_from(i).expect("i < 32");
        }
        assert!(k == SecretKey::from_bytes(want));
        assert_eq!(k.expose_base64().as_str(), SEQ_B64);
        assert!(SecretKey::from_base64(&format!(" {SEQ_B64}\n")).is_ok());
    }

    #[test]
    fn short_long_unpadded_or_urlsafe_keys_are_refused_without_echo() {
        let short = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==";
        assert_eq!(
            SecretKey::from_base64(short).err(),
            Some(ConfigError::KeyLength)
        );
        let unpadded = SEQ_B64.trim_end_matches('=');
        assert_eq!(
            SecretKey::from_base64(unpadded).err(),
            Some(ConfigError::KeyLength)
        );
        let long = format!("{SEQ_B64}AAAA");
        assert_eq!(
            SecretKey::from_base64(&long).err(),
            Some(ConfigError::KeyLength)
        );
        let urlsafe = "_-_-AwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        assert_eq!(
            SecretKey::from_base64(urlsafe).err(),
            Some(ConfigError::KeyEncoding)
        );
        // Non-zero trailing bits make a second spelling of the same key: refused.
        let noncanonical = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=";
        assert_eq!(
            SecretKey::from_base64(noncanonical).err(),
            Some(ConfigError::KeyEncoding)
        );
        for e in [ConfigError::KeyLength, ConfigError::KeyEncoding] {
            assert!(!e.to_string().contains("AAEC"));
        }
    }

    #[test]
    fn h7_secret_key_debug_prints_no_key_bytes() {
        let k = SecretKey::from_base64(SEQ_B64).expect("valid key");
        let dbg = format!("{k:?} {:#?}", k);
        assert_eq!(format!("{k:?}"), "SecretKey(..)");
        assert!(!dbg.contains("AAEC") && !dbg.contains("31") && !dbg.contains('['));
    }

    #[test]
    fn generated_keys_differ_and_are_not_placeholders() {
        let a = SecretKey::generate().expect("csprng");
        let b = SecretKey::generate().expect("csprng");
        assert!(a != b);
        assert!(!a.is_placeholder());
        assert!(SecretKey::from_bytes([0u8; 32]).is_placeholder());
    }

    #[test]
    fn key_ids_follow_length_and_alphabet() {
        assert!(KeyId::new("k1").is_ok());
        assert!(KeyId::new("2026-12_a").is_ok());
        assert!(KeyId::new(&"a".repeat(32)).is_ok());
        assert_eq!(KeyId::new("").err(), Some(ConfigError::KeyIdInvalid));
        assert_eq!(
            KeyId::new(&"a".repeat(33)).err(),
            Some(ConfigError::KeyIdInvalid)
        );
        assert_eq!(KeyId::new("k:1").err(), Some(ConfigError::KeyIdInvalid));
        assert_eq!(KeyId::new("k 1").err(), Some(ConfigError::KeyIdInvalid));
    }
}
