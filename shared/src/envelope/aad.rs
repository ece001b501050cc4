//! The associated data that binds an envelope to where it belongs (NIST SP 800-38D section 5.2.1:
//! the AAD is authenticated, not encrypted).
//!
//! Moving a sealed object to another region, order, kind or object id changes the AAD, so the tag
//! no longer verifies (SECURITY H4). Every variable-length field is length-prefixed, so no two
//! different bindings encode to the same bytes.

use super::EnvelopeError;
use crate::ids::{OrderId, Region};

/// Longest accepted object id or scope, in bytes.
pub const MAX_AAD_FIELD_LEN: usize = 1024;

/// The scope written in place of an order for region-wide objects (audit fields that belong to
/// no single order). `*` is outside the [`OrderId`] alphabet, so it never equals a real order.
pub const REGION_WIDE_SCOPE: &str = "*";

/// Domain separation: the first bytes of every envelope's AAD.
const DOMAIN: &[u8] = b"rxroom/envelope";

/// What kind of object an envelope holds. Part of the AAD: a message body never opens as an
/// archive. The byte codes are written into the AAD and never change.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// A message body in room storage; object id: the message id.
    Message,
    /// The order record in room storage; object id: the order id (or a record name).
    OrderRecord,
    /// A room archive in the bucket; object id: the archive's object name.
    Archive,
    /// A media object (proof-of-delivery photo); object id: the media key.
    Media,
    /// A push device token; object id: the device id.
    PushToken,
    /// An identifying audit field (IP address, device id); object id: event id and field name.
    AuditField,
    /// Room metadata that is not the order record; object id: the field name.
    RoomMeta,
    /// A participant record (who is in the room and their device); object id: the user id.
    Participant,
}

impl ObjectKind {
    /// Every kind, in code order.
    pub const ALL: [ObjectKind; 8] = [
        Self::Message,
        Self::OrderRecord,
        Self::Archive,
        Self::Media,
        Self::PushToken,
        Self::AuditField,
        Self::RoomMeta,
        Self::Participant,
    ];

    /// The kind's stable byte code in the AAD.
    pub fn code(self) -> u8 {
        match self {
            Self::Message => 1,
            Self::OrderRecord => 2,
            Self::Archive => 3,
            Self::Media => 4,
            Self::PushToken => 5,
            Self::AuditField => 6,
            Self::RoomMeta => 7,
            Self::Participant => 8,
        }
    }
}

/// Where a sealed object belongs: region, order (or a region-wide scope), kind and object id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aad<'a> {
    /// The data region the object lives in.
    pub region: Region,
    /// The order id, or [`REGION_WIDE_SCOPE`] for objects that belong to no order.
    pub order: &'a str,
    /// The kind of object.
    pub kind: ObjectKind,
    /// The object's id within the order: message id, media key, archive name, field name.
    pub object_id: &'a str,
}

impl<'a> Aad<'a> {
    /// The binding for an object that belongs to an order.
    pub fn new(region: Region, order: &'a OrderId, kind: ObjectKind, object_id: &'a str) -> Self {
        Self {
            region,
            order: order.as_str(),
            kind,
            object_id,
        }
    }

    /// The binding for a region-wide object (no order), e.g. a region's audit fields.
    pub fn region_wide(region: Region, kind: ObjectKind, object_id: &'a str) -> Self {
        Self {
            region,
            order: REGION_WIDE_SCOPE,
            kind,
            object_id,
        }
    }

    /// Checks the variable fields: non-empty and at most [`MAX_AAD_FIELD_LEN`] bytes.
    pub(super) fn check(&self) -> Result<(), EnvelopeError> {
        for f in [self.order, self.object_id] {
            if f.is_empty() || f.len() > MAX_AAD_FIELD_LEN {
                return Err(EnvelopeError::BadAad);
            }
        }
        Ok(())
    }

    /// The AAD bytes for an envelope with this version and key id:
    /// `lp(DOMAIN) ‖ version ‖ lp(kid) ‖ lp(region) ‖ lp(order) ‖ kind ‖ lp(object_id)`,
    /// where `lp(x)` is `x`'s length as a big-endian u32 followed by `x`.
    pub(super) fn encode(&self, version: u8, kid: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        self.check()?;
        let region = self.region.as_str().as_bytes();
        let fields: [&[u8]; 5] = [
            DOMAIN,
            kid,
            region,
            self.order.as_bytes(),
            self.object_id.as_bytes(),
        ];
        let len = fields.iter().map(|f| 4 + f.len()).sum::<usize>() + 2;
        let mut out = Vec::with_capacity(len);
        push_lp(&mut out, DOMAIN)?;
        out.push(version);
        push_lp(&mut out, kid)?;
        push_lp(&mut out, region)?;
        push_lp(&mut out, self.order.as_bytes())?;
        out.push(self.kind.code());
        push_lp(&mut out, self.object_id.as_bytes())?;
        Ok(out)
    }
}

fn push_lp(out: &mut Vec<u8>, field: &[u8]) -> Result<(), EnvelopeError> {
    let len = u32::try_from(field.len()).map_err(|_| EnvelopeError::BadAad)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(s: &str) -> OrderId {
        s.parse()
            .unwrap_or_else(|_| "fallback".parse().expect("valid literal id"))
    }

    #[test]
    fn aad_fields_are_length_prefixed_so_shifted_boundaries_differ() {
        let (a, b) = (order("ab"), order("a"));
        let x = Aad::new(Region::Us, &a, ObjectKind::Message, "c").encode(1, b"k1");
        let y = Aad::new(Region::Us, &b, ObjectKind::Message, "bc").encode(1, b"k1");
        assert!(x.is_ok() && y.is_ok());
        assert_ne!(x, y);
    }

    #[test]
    fn every_aad_field_changes_the_encoding() {
        let (o1, o2) = (order("o1"), order("o2"));
        let base = Aad::new(Region::Us, &o1, ObjectKind::Message, "m1");
        let enc = |a: Aad<'_>, v: u8, k: &[u8]| a.encode(v, k).expect("valid aad");
        let reference = enc(base, 1, b"k1");
        assert_ne!(reference, enc(base, 2, b"k1"));
        assert_ne!(reference, enc(base, 1, b"k2"));
        assert_ne!(
            reference,
            enc(
                Aad {
                    region: Region::Eu,
                    ..base
                },
                1,
                b"k1"
            )
        );
        assert_ne!(
            reference,
            enc(
                Aad {
                    order: o2.as_str(),
                    ..base
                },
                1,
                b"k1"
            )
        );
        assert_ne!(
            reference,
            enc(
                Aad {
                    kind: ObjectKind::Archive,
                    ..base
                },
                1,
                b"k1"
            )
        );
        assert_ne!(
            reference,
            enc(
                Aad {
                    object_id: "m2",
                    ..base
                },
                1,
                b"k1"
            )
        );
        assert_ne!(
            reference,
            enc(
                Aad::region_wide(Region::Us, ObjectKind::Message, "m1"),
                1,
                b"k1"
            )
        );
    }

    #[test]
    fn kind_codes_are_distinct_and_stable() {
        let codes: Vec<u8> = ObjectKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn empty_or_oversized_object_ids_are_refused() {
        let o = order("o1");
        assert_eq!(
            Aad::new(Region::Us, &o, ObjectKind::Media, "").check(),
            Err(EnvelopeError::BadAad)
        );
        let long = "x".repeat(MAX_AAD_FIELD_LEN + 1);
        assert_eq!(
            Aad::new(Region::Us, &o, ObjectKind::Media, &long).check(),
            Err(EnvelopeError::BadAad)
        );
        assert!(REGION_WIDE_SCOPE.parse::<OrderId>().is_err());
    }
}
