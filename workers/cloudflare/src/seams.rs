//! The room's seams, filled with the real core modules: the PHI redactor and the envelope
//! keyring bound to one room's region and order.

use rxroom_core::envelope::{Aad, EnvelopeError, Keyring, ObjectKind};
use rxroom_core::ids::{OrderId, Region, Role};
use rxroom_core::labels::{Finding, Label, OrderRecord};
use rxroom_core::redact::{self, IngestPolicy, RedactError, Redactor};
use rxroom_core::room::{PhiScanner, ScanError, SealError, SealKind, Sealer};

/// The redactor with the deployment's ingest policy.
#[derive(Debug)]
pub struct Scanner<'a> {
    /// The compiled detectors (built once per isolate).
    pub redactor: &'a Redactor,
    /// What ingest does per sender role.
    pub policy: &'a IngestPolicy,
}

impl PhiScanner for Scanner<'_> {
    fn scan(&self, text: &str, record: &OrderRecord) -> Result<Vec<Finding>, ScanError> {
        self.redactor.scan(text, record).map_err(|e| match e {
            RedactError::TooLarge => ScanError::TooLarge,
            _ => ScanError::Failed,
        })
    }

    fn render(&self, text: &str, findings: &[Finding], role: Role) -> String {
        redact::render(text, findings, role)
    }

    fn prepare_ingest(
        &self,
        sender: Role,
        text: &str,
        findings: Vec<Finding>,
    ) -> Result<(String, Vec<Finding>), Vec<Label>> {
        self.policy.check(sender, &findings)?;
        // Card numbers are masked to their last four digits for everyone, whatever the policy.
        let (masked, findings) = redact::mask_cards(text, &findings);
        Ok((masked, self.policy.findings_to_store(sender, findings)))
    }
}

/// The keyring, bound to one room: every envelope's AAD names this region and order.
#[derive(Debug)]
pub struct RoomSealer<'a> {
    /// The deployment's data keys.
    pub keyring: &'a Keyring,
    /// The room's region.
    pub region: Region,
    /// The room's order.
    pub order: &'a OrderId,
}

fn kind(k: SealKind) -> ObjectKind {
    match k {
        SealKind::Message => ObjectKind::Message,
        SealKind::OrderRecord => ObjectKind::OrderRecord,
        SealKind::Archive => ObjectKind::Archive,
    }
}

fn seal_error(e: EnvelopeError, fallback: SealError) -> SealError {
    match e {
        EnvelopeError::KeyRetired => SealError::KeyRetired,
        _ => fallback,
    }
}

impl Sealer for RoomSealer<'_> {
    fn seal(&self, k: SealKind, object_id: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let aad = Aad::new(self.region, self.order, kind(k), object_id);
        self.keyring
            .seal(&aad, plaintext)
            .map_err(|e| seal_error(e, SealError::Seal))
    }

    fn open(&self, k: SealKind, object_id: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let aad = Aad::new(self.region, self.order, kind(k), object_id);
        self.keyring
            .open(&aad, sealed)
            .map(|p| p.to_vec())
            .map_err(|e| seal_error(e, SealError::Open))
    }
}
