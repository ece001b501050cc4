//! JSON objects with duplicate member names refused, at every depth.
//!
//! RFC 7515 section 5.2 lets a JWS parser either reject duplicate header names or keep the last
//! one; serde_json keeps the last. `{"alg":"EdDSA","alg":"none"}` would then read differently
//! here and in any other parser that keeps the first, so we refuse duplicates outright, in the
//! header, in the claims and in a JWKS.

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::Cell;
use std::fmt;

/// Why a byte string was not accepted as a strict JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrictJsonError {
    /// Not UTF-8, not JSON, or trailing bytes after the document.
    Syntax,
    /// An object (at any depth) names the same member twice.
    DuplicateKey,
    /// Valid JSON, but the top level is not an object.
    NotObject,
}

/// Parses `bytes` as one JSON object, refusing duplicate member names at any depth.
///
/// serde_json's recursion limit (128) bounds the depth, so hostile nesting cannot exhaust the
/// stack.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, StrictJsonError> {
    let duplicate = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = match StrictSeed(&duplicate).deserialize(&mut de) {
        Ok(v) => v,
        Err(_) if duplicate.get() => return Err(StrictJsonError::DuplicateKey),
        Err(_) => return Err(StrictJsonError::Syntax),
    };
    de.end().map_err(|_| StrictJsonError::Syntax)?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(StrictJsonError::NotObject),
    }
}

/// A seed that builds a `serde_json::Value` and flags the first duplicate member name it meets.
#[derive(Clone, Copy)]
struct StrictSeed<'a>(&'a Cell<bool>);

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value without duplicate object keys")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                self.0.set(true);
                return Err(A::Error::custom("duplicate object key"));
            }
            let value = map.next_value_seed(self)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a13_duplicate_keys_are_refused_at_top_level_and_nested() {
        assert_eq!(
            parse_object(br#"{"alg":"EdDSA","alg":"none"}"#),
            Err(StrictJsonError::DuplicateKey)
        );
        assert_eq!(
            parse_object(br#"{"a":{"b":1,"b":2}}"#),
            Err(StrictJsonError::DuplicateKey)
        );
        assert_eq!(
            parse_object(br#"{"a":[{"b":1,"b":2}]}"#),
            Err(StrictJsonError::DuplicateKey)
        );
    }

    #[test]
    fn well_formed_objects_parse_and_other_documents_do_not() {
        let map = parse_object(br#"{"a":1,"b":[true,null,"x",1.5]}"#);
        assert_eq!(map.as_ref().map(|m| m.len()), Ok(2));
        assert_eq!(parse_object(b"[1]"), Err(StrictJsonError::NotObject));
        assert_eq!(parse_object(br#"{"a":1} x"#), Err(StrictJsonError::Syntax));
        assert_eq!(
            parse_object(b"{\"a\":\"\xff\"}"),
            Err(StrictJsonError::Syntax)
        );
        assert_eq!(
            parse_object(br#"{"a":"\ud800"}"#),
            Err(StrictJsonError::Syntax)
        );
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(parse_object(deep.as_bytes()), Err(StrictJsonError::Syntax));
    }
}
