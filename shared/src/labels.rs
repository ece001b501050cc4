//! The PHI vocabulary shared by the redactor, the policy and the room: labels, findings and the
//! order's own PHI record. Definitions follow `shared/phi/LABELS.md` section 3.

use serde::{Deserialize, Serialize};
use std::ops::Range;

/// A kind of PHI or PII that the redactor finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Label {
    /// A person's name (patient, relative, neighbour, prescriber); not staff.
    Name,
    /// A street address, with unit and city/state/ZIP when they follow.
    Address,
    /// A standalone ZIP or ZIP+4.
    Zip,
    /// A date of birth.
    Dob,
    /// Another date tied to the patient's care.
    Date,
    /// An age of 90 or over.
    Age,
    /// A personal phone number.
    Phone,
    /// An email address, including spelled-out forms.
    Email,
    /// A Social Security number, or its last four digits.
    Ssn,
    /// A medical record number.
    Mrn,
    /// A health plan member, subscriber or policy id.
    InsuranceId,
    /// A Medicare Beneficiary Identifier.
    Mbi,
    /// A prescription number.
    RxNumber,
    /// A National Provider Identifier.
    Npi,
    /// A DEA registration number.
    Dea,
    /// A payment card number.
    CreditCard,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// A URL.
    Url,
    /// A drug name.
    Medication,
    /// A condition or diagnosis.
    Diagnosis,
}

impl Label {
    /// Every label, in a fixed order.
    pub const ALL: [Label; 20] = [
        Self::Name,
        Self::Address,
        Self::Zip,
        Self::Dob,
        Self::Date,
        Self::Age,
        Self::Phone,
        Self::Email,
        Self::Ssn,
        Self::Mrn,
        Self::InsuranceId,
        Self::Mbi,
        Self::RxNumber,
        Self::Npi,
        Self::Dea,
        Self::CreditCard,
        Self::IpAddress,
        Self::Url,
        Self::Medication,
        Self::Diagnosis,
    ];

    /// The label's wire name, as in LABELS.md (`IP_ADDRESS`, `RX_NUMBER`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "NAME",
            Self::Address => "ADDRESS",
            Self::Zip => "ZIP",
            Self::Dob => "DOB",
            Self::Date => "DATE",
            Self::Age => "AGE",
            Self::Phone => "PHONE",
            Self::Email => "EMAIL",
            Self::Ssn => "SSN",
            Self::Mrn => "MRN",
            Self::InsuranceId => "INSURANCE_ID",
            Self::Mbi => "MBI",
            Self::RxNumber => "RX_NUMBER",
            Self::Npi => "NPI",
            Self::Dea => "DEA",
            Self::CreditCard => "CREDIT_CARD",
            Self::IpAddress => "IP_ADDRESS",
            Self::Url => "URL",
            Self::Medication => "MEDICATION",
            Self::Diagnosis => "DIAGNOSIS",
        }
    }

    /// Parses a wire name.
    pub fn from_wire(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The typed, stable placeholder that replaces a hidden span: `[SSN]`, `[MEDICATION]`, ….
    pub fn placeholder(self) -> &'static str {
        match self {
            Self::Name => "[NAME]",
            Self::Address => "[ADDRESS]",
            Self::Zip => "[ZIP]",
            Self::Dob => "[DOB]",
            Self::Date => "[DATE]",
            Self::Age => "[AGE]",
            Self::Phone => "[PHONE]",
            Self::Email => "[EMAIL]",
            Self::Ssn => "[SSN]",
            Self::Mrn => "[MRN]",
            Self::InsuranceId => "[INSURANCE_ID]",
            Self::Mbi => "[MBI]",
            Self::RxNumber => "[RX_NUMBER]",
            Self::Npi => "[NPI]",
            Self::Dea => "[DEA]",
            Self::CreditCard => "[CREDIT_CARD]",
            Self::IpAddress => "[IP_ADDRESS]",
            Self::Url => "[URL]",
            Self::Medication => "[MEDICATION]",
            Self::Diagnosis => "[DIAGNOSIS]",
        }
    }
}

/// Which part of a name a `NAME` finding covers. A driver may see a first name only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NamePart {
    /// Not a name, or a name whose parts are unknown (treated as a full name).
    #[default]
    Whole,
    /// A first name alone.
    First,
    /// A last name alone.
    Last,
}

/// One piece of PHI found in a text: its label and the exact byte range in the original text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What was found.
    pub label: Label,
    /// Byte range in the original (not normalized) text.
    pub range: Range<usize>,
    /// For a full `NAME`, the byte range of the first name inside `range`, which a driver may see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<Range<usize>>,
    /// For `NAME`: which part of a name this is.
    #[serde(default)]
    pub name_part: NamePart,
    /// Which detector found it (a fixed name such as `"ssn"` or `"order_record"`).
    pub detector: &'static str,
}

/// The order's own PHI record, given by the pharmacy when the room is created. The redactor
/// looks for every value here with certainty. Never shown to a driver.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// The patient's full name as the pharmacy has it.
    #[serde(default)]
    pub patient_name: Option<String>,
    /// Date of birth, ISO 8601 (`YYYY-MM-DD`).
    #[serde(default)]
    pub dob: Option<String>,
    /// Medical record number.
    #[serde(default)]
    pub mrn: Option<String>,
    /// Health plan member id.
    #[serde(default)]
    pub member_id: Option<String>,
    /// The order's medications (names only).
    #[serde(default)]
    pub medications: Vec<String>,
    /// The patient's phone number.
    #[serde(default)]
    pub phone: Option<String>,
}

impl std::fmt::Debug for OrderRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OrderRecord(..)")
    }
}
