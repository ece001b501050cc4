//! Test fixtures for the room tests: a small pattern scanner, an object-bound toy sealer, and
//! principals for one order. Test code only; the real redactor and envelope plug in the same way.
#![allow(dead_code)] // each test binary uses a different part of the fixture

use rxroom_core::claims::{Principal, Scope};
use rxroom_core::ids::{DeviceId, OrderId, Region, Role, TenantId, UserId};
use rxroom_core::labels::{Finding, Label, NamePart, OrderRecord};
use rxroom_core::policy::{self, Visibility};
use rxroom_core::room::{
    Caller, CreateRoom, MemoryStore, Participant, PhiScanner, Room, RoomConfig, ScanError,
    SealError, SealKind, Sealer,
};
use sha2::{Digest, Sha256};

pub const T0: u64 = 1_800_000_000_000;
pub const HOUR: u64 = 3_600_000;

/// Flags `SSN-<digits>`, `CARD-<digits>`, the record's medications and the patient's name.
#[derive(Debug, Default)]
pub struct TestScanner;

fn digit_tokens(text: &str, prefix: &str, label: Label, out: &mut Vec<Finding>) {
    let mut from = 0;
    while let Some(pos) = text.get(from..).and_then(|t| t.find(prefix)) {
        let start = from + pos;
        let digits_from = start + prefix.len();
        let len = text
            .get(digits_from..)
            .map_or(0, |t| t.bytes().take_while(u8::is_ascii_digit).count());
        if len > 0 {
            out.push(Finding {
                label,
                range: start..digits_from + len,
                first_name: None,
                name_part: NamePart::Whole,
                detector: "test",
            });
        }
        from = digits_from + len;
    }
}

fn literal(text: &str, needle: &str, label: Label, out: &mut Vec<Finding>) {
    if needle.is_empty() {
        return;
    }
    for (start, _) in text.match_indices(needle) {
        let range = start..start + needle.len();
        let first_name = (label == Label::Name)
            .then(|| needle.find(' ').map(|sp| start..start + sp))
            .flatten();
        out.push(Finding {
            label,
            range,
            first_name,
            name_part: NamePart::Whole,
            detector: "test",
        });
    }
}

impl PhiScanner for TestScanner {
    fn scan(&self, text: &str, record: &OrderRecord) -> Result<Vec<Finding>, ScanError> {
        let mut out = Vec::new();
        digit_tokens(text, "SSN-", Label::Ssn, &mut out);
        digit_tokens(text, "CARD-", Label::CreditCard, &mut out);
        for m in &record.medications {
            literal(text, m, Label::Medication, &mut out);
        }
        if let Some(name) = &record.patient_name {
            literal(text, name, Label::Name, &mut out);
        }
        out.sort_by_key(|f| f.range.start);
        Ok(out)
    }

    fn render(&self, text: &str, findings: &[Finding], role: Role) -> String {
        let mut out = String::new();
        let mut at = 0;
        for f in findings {
            let (Some(before), Some(value)) =
                (text.get(at..f.range.start), text.get(f.range.clone()))
            else {
                continue;
            };
            out.push_str(before);
            match policy::visibility(role, f.label) {
                Visibility::Visible => out.push_str(value),
                Visibility::FirstNameOnly => {
                    if let Some(first) = f.first_name.clone().and_then(|r| text.get(r)) {
                        out.push_str(first);
                        out.push(' ');
                    }
                    out.push_str(f.label.placeholder());
                }
                Visibility::Redacted => out.push_str(f.label.placeholder()),
            }
            at = f.range.end;
        }
        out.push_str(text.get(at..).unwrap_or(""));
        out
    }

    fn prepare_ingest(
        &self,
        sender: Role,
        text: &str,
        findings: Vec<Finding>,
    ) -> Result<(String, Vec<Finding>), Vec<Label>> {
        if matches!(sender, Role::Driver) && findings.iter().any(|f| f.label == Label::Ssn) {
            return Err(vec![Label::Ssn]);
        }
        // Mask cards to their last four digits, shifting later ranges.
        let mut out = String::new();
        let mut kept = Vec::new();
        let mut at = 0;
        for mut f in findings {
            let Some(before) = text.get(at..f.range.start) else {
                continue;
            };
            out.push_str(before);
            let value = text.get(f.range.clone()).unwrap_or("");
            let new_start = out.len();
            if f.label == Label::CreditCard {
                let last4 = value.get(value.len().saturating_sub(4)..).unwrap_or("");
                out.push_str("CARD-****");
                out.push_str(last4);
            } else {
                out.push_str(value);
            }
            let new_end = out.len();
            let delta = new_start as isize - f.range.start as isize;
            if let Some(first) = f.first_name.take() {
                f.first_name = Some(
                    (first.start as isize + delta) as usize..(first.end as isize + delta) as usize,
                );
            }
            at = f.range.end;
            f.range = new_start..new_end;
            kept.push(f);
        }
        out.push_str(text.get(at..).unwrap_or(""));
        Ok((out, kept))
    }
}

/// A toy sealer: a SHA-256 keystream and tag, both bound to kind and object id, so a blob
/// opened as another object fails. Not cryptography; it only models the binding.
#[derive(Debug, Default)]
pub struct TestSealer;

fn keystream(kind: SealKind, id: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut counter: u64 = 0;
    while out.len() < len {
        let block = Sha256::new()
            .chain_update(kind.as_str())
            .chain_update([0])
            .chain_update(id)
            .chain_update(counter.to_be_bytes())
            .finalize();
        out.extend_from_slice(&block);
        counter += 1;
    }
    out.truncate(len);
    out
}

fn tag(kind: SealKind, id: &str, plain: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"tag")
        .chain_update(kind.as_str())
        .chain_update([0])
        .chain_update(id)
        .chain_update([0])
        .chain_update(plain)
        .finalize()
        .into()
}

impl Sealer for TestSealer {
    fn seal(&self, kind: SealKind, id: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut out = tag(kind, id, plaintext).to_vec();
        out.extend(
            plaintext
                .iter()
                .zip(keystream(kind, id, plaintext.len()))
                .map(|(p, k)| p ^ k),
        );
        Ok(out)
    }

    fn open(&self, kind: SealKind, id: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let (t, body) = sealed.split_at_checked(32).ok_or(SealError::Open)?;
        let plain: Vec<u8> = body
            .iter()
            .zip(keystream(kind, id, body.len()))
            .map(|(c, k)| c ^ k)
            .collect();
        if t == tag(kind, id, &plain) {
            Ok(plain)
        } else {
            Err(SealError::Open)
        }
    }
}

pub fn uid(s: &str) -> UserId {
    s.parse().expect("test user ids are valid")
}

pub fn oid(s: &str) -> OrderId {
    s.parse().expect("test order ids are valid")
}

pub fn tid(s: &str) -> TenantId {
    s.parse().expect("test tenant ids are valid")
}

pub fn principal(user: &str, role: Role, scope: Scope, region: Region) -> Principal {
    let device: DeviceId = "dev-1".parse().expect("test device id is valid");
    Principal::new_unchecked(uid(user), role, scope, region, device, u64::MAX)
}

/// The cast of one order `ord-1` of tenant `pharm-a` in region us.
pub struct Cast {
    pub order: OrderId,
    pub pharmacist: Principal,
    pub driver: Principal,
    pub patient: Principal,
    pub dispatcher: Principal,
    pub auditor: Principal,
}

impl Cast {
    pub fn new() -> Self {
        let order = oid("ord-1");
        let tenant = Scope::Tenant(tid("pharm-a"));
        let mine = Scope::Orders(vec![order.clone()]);
        Self {
            pharmacist: principal("ph-1", Role::Pharmacist, tenant.clone(), Region::Us),
            driver: principal("dr-1", Role::Driver, mine.clone(), Region::Us),
            patient: principal("pt-1", Role::Patient, mine, Region::Us),
            dispatcher: principal("ds-1", Role::Dispatcher, tenant.clone(), Region::Us),
            auditor: principal("au-1", Role::Auditor, tenant, Region::Us),
            order,
        }
    }

    pub fn record() -> OrderRecord {
        OrderRecord {
            patient_name: Some("Jane Roe".into()),
            medications: vec!["Metformin".into()],
            ..OrderRecord::default()
        }
    }

    pub fn create_body(&self) -> CreateRoom {
        CreateRoom {
            participants: vec![
                Participant {
                    user: uid("dr-1"),
                    role: Role::Driver,
                },
                Participant {
                    user: uid("pt-1"),
                    role: Role::Patient,
                },
            ],
            record: Self::record(),
        }
    }
}

pub fn caller<'a>(p: &'a Principal, order: &'a OrderId, now_ms: u64) -> Caller<'a> {
    Caller {
        principal: p,
        order,
        now_ms,
        ip: Some("192.0.2.1"),
        emergency: false,
    }
}

/// One room's storage plus its collaborators. `room()` builds a fresh `Room` per call, as the
/// Durable Object does, so nothing survives in memory between calls.
pub struct World {
    pub store: MemoryStore,
    pub scanner: TestScanner,
    pub sealer: TestSealer,
    pub config: RoomConfig,
}

impl World {
    pub fn new() -> Self {
        let mut config = RoomConfig::new(Region::Us);
        config.driver_ttl_ms = 30_000;
        config.close_ttl_ms = 120_000;
        Self {
            store: MemoryStore::new(),
            scanner: TestScanner,
            sealer: TestSealer,
            config,
        }
    }

    pub fn room(&mut self) -> Room<'_, MemoryStore> {
        Room::new(&mut self.store, &self.scanner, &self.sealer, &self.config)
    }

    /// A world with the cast's room created at `T0`.
    pub fn with_room(cast: &Cast) -> Self {
        let mut w = Self::new();
        let c = caller(&cast.pharmacist, &cast.order, T0);
        w.room()
            .create(&c, cast.create_body())
            .expect("room is created");
        w
    }

    /// Every draft in the outbox, oldest first.
    pub fn drafts(&self) -> Vec<rxroom_core::audit::EventDraft> {
        use rxroom_core::room::RoomStore;
        self.store
            .audit_outbox(usize::MAX)
            .expect("memory store reads")
            .into_iter()
            .map(|e| e.draft)
            .collect()
    }
}
