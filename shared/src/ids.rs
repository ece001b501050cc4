//! Typed identifiers, validated once at the edge of the system.
//!
//! Each id has a private field and is built only through `FromStr`/`TryFrom<&str>`, which check
//! length and alphabet. Parse errors never echo the input. Ids that point at a person
//! ([`UserId`], [`DeviceId`]) print a placeholder in `Debug`, never the raw value.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Why a string was refused as an id. Never carries the input.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    /// Empty or longer than the id's limit.
    Length,
    /// A character outside the id's alphabet.
    Alphabet,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Length => "id has the wrong length",
            Self::Alphabet => "id has a character outside its alphabet",
        })
    }
}

impl std::error::Error for IdError {}

fn check(s: &str, max: usize, extra: &[u8]) -> Result<(), IdError> {
    if s.is_empty() || s.len() > max {
        return Err(IdError::Length);
    }
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    {
        Ok(())
    } else {
        Err(IdError::Alphabet)
    }
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, max = $max:expr, extra = $extra:expr, debug = $debug:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The longest accepted id, in bytes.
            pub const MAX_LEN: usize = $max;

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                check(s, $max, $extra)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                s.parse()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if $debug {
                    write!(f, concat!(stringify!($name), "({})"), self.0)
                } else {
                    f.write_str(concat!(stringify!($name), "(..)"))
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

typed_id!(
    /// A delivery order, issued by the platform. One order has one room.
    OrderId, max = 64, extra = b"-_", debug = true
);
typed_id!(
    /// A person (`sub`). Opaque and globally unique; printed as a placeholder in `Debug`.
    UserId, max = 128, extra = b"-_.:", debug = false
);
typed_id!(
    /// A device or app install that a token was issued to; printed as a placeholder in `Debug`.
    DeviceId, max = 128, extra = b"-_.:", debug = false
);
typed_id!(
    /// A pharmacy or platform tenant that pharmacists, dispatchers and auditors belong to.
    TenantId, max = 64, extra = b"-_", debug = true
);
typed_id!(
    /// A client-chosen message id: the idempotency key of a send.
    ClientMessageId, max = 64, extra = b"-_", debug = true
);

/// A participant's role. Decides what they may do and which PHI they may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Pharmacy staff on the order's tenant.
    Pharmacist,
    /// The courier assigned to the order.
    Driver,
    /// The person the order is for (or their caregiver).
    Patient,
    /// Delivery operations staff on the tenant.
    Dispatcher,
    /// Compliance staff: read-only access to audit exports.
    Auditor,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 5] = [
        Self::Pharmacist,
        Self::Driver,
        Self::Patient,
        Self::Dispatcher,
        Self::Auditor,
    ];

    /// The role's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pharmacist => "pharmacist",
            Self::Driver => "driver",
            Self::Patient => "patient",
            Self::Dispatcher => "dispatcher",
            Self::Auditor => "auditor",
        }
    }
}

impl FromStr for Role {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(IdError::Alphabet)
    }
}

/// A data region. Data for an order lives in its region and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// United States.
    Us,
    /// European Union.
    Eu,
    /// Asia-Pacific (location hint only; see the README's known limitations).
    Apac,
}

impl Region {
    /// The region's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Us => "us",
            Self::Eu => "eu",
            Self::Apac => "apac",
        }
    }
}

impl FromStr for Region {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        match s {
            "us" => Ok(Self::Us),
            "eu" => Ok(Self::Eu),
            "apac" => Ok(Self::Apac),
            _ => Err(IdError::Alphabet),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids_parse_and_round_trip() {
        let o: OrderId = "ord-123_A"
            .parse()
            .unwrap_or_else(|_| OrderId(String::new()));
        assert_eq!(o.as_str(), "ord-123_A");
        assert!("user:42.a-b_c".parse::<UserId>().is_ok());
    }

    #[test]
    fn invalid_ids_are_refused_without_echo() {
        assert_eq!("".parse::<OrderId>().err(), Some(IdError::Length));
        assert_eq!(
            "a".repeat(65).parse::<OrderId>().err(),
            Some(IdError::Length)
        );
        assert_eq!("../etc".parse::<OrderId>().err(), Some(IdError::Alphabet));
        assert_eq!("a b".parse::<UserId>().err(), Some(IdError::Alphabet));
        assert_eq!("ünï".parse::<TenantId>().err(), Some(IdError::Alphabet));
        assert!(!IdError::Alphabet.to_string().contains("etc"));
    }

    #[test]
    fn person_ids_do_not_print_in_debug() {
        let u: Result<UserId, _> = "patient-jane".parse();
        assert!(u.is_ok());
        if let Ok(u) = u {
            assert!(!format!("{u:?}").contains("jane"));
        }
    }

    #[test]
    fn roles_and_regions_parse_by_wire_name() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().ok(), Some(r));
        }
        assert!("Driver".parse::<Role>().is_err());
        assert_eq!("eu".parse::<Region>().ok(), Some(Region::Eu));
    }
}
