//! Signed checkpoints (45 CFR 164.312(c)(2)): a chain's head hash and count, signed with the
//! audit key (Ed25519, RFC 8032) and stored apart from the segments, so truncation and a
//! rewritten, self-consistent chain are detected by anyone holding the public key.
//!
//! Key layout: `audit-checkpoints/{region}/{chain}/{seq:012}.json`. Signed bytes: the ASCII tag
//! `rxroom.audit.checkpoint.v1`, then `chain_id` (string), `seq` (u64), `head_hash` (string),
//! `count` (u64), `ts_ms` (u64), `key_id` (string), each encoded as in the event's canonical
//! form (string: `0x01`, u32 big-endian length, bytes; u64: 8 bytes big-endian).

use super::event::{hex, AuditEvent, ChainHead, ChainId};
use super::{AuditError, MAX_LINE_BYTES};
use crate::ids::Region;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_compact::{KeyPair, PublicKey, Seed, Signature};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

/// The object key of a checkpoint: `audit-checkpoints/{region}/{chain}/{seq:012}.json`.
pub fn checkpoint_key(region: Region, chain: &ChainId, seq: u64) -> String {
    format!(
        "audit-checkpoints/{}/{}/{seq:012}.json",
        region.as_str(),
        chain.as_str()
    )
}

/// A signed statement that chain `chain_id` had `count` events ending in `head_hash` at `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The chain.
    pub chain_id: ChainId,
    /// The head's sequence number.
    pub seq: u64,
    /// The head event's hash.
    pub head_hash: String,
    /// How many events the chain holds up to the head (equals `seq`: chains start at 1).
    pub count: u64,
    /// When it was signed (server time, ms).
    pub ts_ms: u64,
    /// Which audit key signed it ([`AuditPublicKey::key_id`]).
    pub key_id: String,
    /// Standard base64 of the 64-byte Ed25519 signature over [`Checkpoint::signed_bytes`].
    pub signature: String,
}

impl Checkpoint {
    /// The bytes the signature covers (layout in the module docs).
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"rxroom.audit.checkpoint.v1");
        let put = |out: &mut Vec<u8>, s: &str| {
            out.push(1);
            out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        put(&mut out, self.chain_id.as_str());
        out.extend_from_slice(&self.seq.to_be_bytes());
        put(&mut out, &self.head_hash);
        out.extend_from_slice(&self.count.to_be_bytes());
        out.extend_from_slice(&self.ts_ms.to_be_bytes());
        put(&mut out, &self.key_id);
        out
    }

    /// Parses checkpoints stored one JSON object per line.
    ///
    /// # Errors
    ///
    /// [`AuditError::LineTooLong`] or [`AuditError::InvalidLine`].
    pub fn decode_lines(text: &str) -> Result<Vec<Checkpoint>, AuditError> {
        let mut out = Vec::new();
        for line in text.lines() {
            if line.len() > MAX_LINE_BYTES {
                return Err(AuditError::LineTooLong);
            }
            if !line.trim().is_empty() {
                out.push(serde_json::from_str(line).map_err(|_| AuditError::InvalidLine)?);
            }
        }
        Ok(out)
    }
}

/// The audit signing key (an Ed25519 seed). A secret: no `Display`, placeholder `Debug`,
/// zeroized on drop.
pub struct AuditSigningKey {
    seed: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for AuditSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditSigningKey(..)")
    }
}

impl AuditSigningKey {
    /// A new random key.
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidKeyMaterial`] if the system random source fails.
    pub fn generate() -> Result<Self, AuditError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|_| AuditError::InvalidKeyMaterial)?;
        Ok(Self { seed })
    }

    /// The key from its secret form: standard base64 of the 32-byte seed.
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidKeyMaterial`] unless it decodes to exactly 32 bytes.
    pub fn from_base64(secret: &str) -> Result<Self, AuditError> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(secret.trim())
                .map_err(|_| AuditError::InvalidKeyMaterial)?,
        );
        let mut seed = Zeroizing::new([0u8; 32]);
        if bytes.len() != seed.len() {
            return Err(AuditError::InvalidKeyMaterial);
        }
        seed.copy_from_slice(&bytes);
        Ok(Self { seed })
    }

    /// The secret form (standard base64 of the seed), to store as a deployment secret.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.seed.as_ref()))
    }

    /// The matching public key.
    pub fn public_key(&self) -> AuditPublicKey {
        AuditPublicKey(*KeyPair::from_seed(Seed::new(*self.seed)).pk)
    }

    /// Signs the chain head that `event` forms, stamped with the event's own server time. A
    /// pure function of the event (Ed25519 signatures are deterministic), so a retried flush
    /// writes the same checkpoint bytes under the same key and never overwrites one.
    pub fn sign_head(&self, event: &AuditEvent) -> Checkpoint {
        self.sign(event.chain(), &ChainHead::of(event), event.ts_ms())
    }

    /// Signs the head of `chain` at server time `ts_ms`.
    pub fn sign(&self, chain: &ChainId, head: &ChainHead, ts_ms: u64) -> Checkpoint {
        let pair = KeyPair::from_seed(Seed::new(*self.seed));
        let mut cp = Checkpoint {
            chain_id: chain.clone(),
            seq: head.seq,
            head_hash: head.hash.clone(),
            count: head.seq,
            ts_ms,
            key_id: AuditPublicKey(*pair.pk).key_id(),
            signature: String::new(),
        };
        cp.signature = STANDARD.encode(*pair.sk.sign(cp.signed_bytes(), None));
        cp
    }
}

/// An audit public key: what auditors use to check checkpoints.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AuditPublicKey([u8; 32]);

impl fmt::Debug for AuditPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditPublicKey({})", self.key_id())
    }
}

impl AuditPublicKey {
    /// The key from standard base64 of its 32 bytes.
    ///
    /// # Errors
    ///
    /// [`AuditError::InvalidKeyMaterial`] unless it decodes to exactly 32 bytes.
    pub fn from_base64(s: &str) -> Result<Self, AuditError> {
        let bytes = STANDARD
            .decode(s.trim())
            .map_err(|_| AuditError::InvalidKeyMaterial)?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map(Self)
            .map_err(|_| AuditError::InvalidKeyMaterial)
    }

    /// Standard base64 of the key.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// A short id: the first 16 hex digits of SHA-256 of the key.
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.0);
        hex(digest.get(..8).unwrap_or(&[]))
    }

    /// True when `cp` names this key and its signature verifies.
    pub fn verify(&self, cp: &Checkpoint) -> bool {
        let Ok(sig) = STANDARD.decode(&cp.signature) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&sig) else {
            return false;
        };
        cp.key_id == self.key_id()
            && PublicKey::new(self.0)
                .verify(cp.signed_bytes(), &sig)
                .is_ok()
    }
}
