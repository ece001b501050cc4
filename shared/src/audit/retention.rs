//! Audit retention (45 CFR 164.316(b)(2)(i), SECURITY.md F2/F7): audit objects are kept at
//! least six years, made undeletable by an R2 bucket lock, and no lifecycle rule removes them
//! sooner.
//!
//! Periods are rounded up to 366-day years when generated, and checked against the shortest
//! span that is still `years` calendar years (365 days a year plus one leap day per started
//! four years).

use super::AuditError;
use serde_json::{json, Value};

/// The key prefixes that hold audit data.
pub const AUDIT_PREFIXES: [&str; 2] = ["audit/", "audit-checkpoints/"];

const DAY_SECS: u64 = 86_400;

/// How long audit data is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Whole years; never below [`RetentionPolicy::MIN_YEARS`].
    pub years: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            years: Self::MIN_YEARS,
        }
    }
}

impl RetentionPolicy {
    /// The floor: six years.
    pub const MIN_YEARS: u32 = 6;

    /// A policy of `years`.
    ///
    /// # Errors
    ///
    /// [`AuditError::RetentionTooShort`] below [`RetentionPolicy::MIN_YEARS`].
    pub fn new(years: u32) -> Result<Self, AuditError> {
        if years < Self::MIN_YEARS {
            return Err(AuditError::RetentionTooShort);
        }
        Ok(Self { years })
    }

    /// The period written into rules: `years` × 366 days, in seconds.
    pub fn period_secs(&self) -> u64 {
        u64::from(self.years) * 366 * DAY_SECS
    }

    /// The shortest period that still covers `years` calendar years, in seconds.
    pub fn floor_secs(&self) -> u64 {
        let y = u64::from(self.years.max(Self::MIN_YEARS));
        (y * 365 + y.div_ceil(4)) * DAY_SECS
    }

    /// The R2 bucket lock rules (body of `PUT .../r2/buckets/{bucket}/lock`, or the file for
    /// `wrangler r2 bucket lock set BUCKET --file FILE`): every audit prefix locked for the
    /// period, so neither the app's credentials nor an operator can delete or overwrite it.
    pub fn bucket_lock_json(&self) -> String {
        let rules: Vec<Value> = AUDIT_PREFIXES
            .iter()
            .map(|p| {
                json!({
                    "id": format!("rxroom-{}-retain-{}y", p.trim_end_matches('/'), self.years),
                    "enabled": true,
                    "prefix": p,
                    "condition": { "type": "Age", "maxAgeSeconds": self.period_secs() },
                })
            })
            .collect();
        pretty(&json!({ "rules": rules }))
    }

    /// The R2 object lifecycle rules: audit objects expire only after the period.
    pub fn lifecycle_json(&self) -> String {
        let rules: Vec<Value> = AUDIT_PREFIXES
            .iter()
            .map(|p| {
                json!({
                    "id": format!("rxroom-{}-expire-after-{}y", p.trim_end_matches('/'), self.years),
                    "enabled": true,
                    "conditions": { "prefix": p },
                    "deleteObjectsTransition": {
                        "condition": { "type": "Age", "maxAge": self.period_secs() },
                    },
                })
            })
            .collect();
        pretty(&json!({ "rules": rules }))
    }

    /// Checks a deployed configuration: no enabled lifecycle rule that can reach an audit key
    /// deletes it younger than [`RetentionPolicy::floor_secs`], and every audit prefix is under
    /// an enabled age lock at least that long (or an indefinite one).
    ///
    /// # Errors
    ///
    /// [`AuditError::RetentionTooShort`] on a violation, [`AuditError::InvalidLine`] if either
    /// document is not the JSON rule shape.
    pub fn check_config(&self, lifecycle_json: &str, lock_json: &str) -> Result<(), AuditError> {
        let floor = self.floor_secs();
        let lifecycle: Value =
            serde_json::from_str(lifecycle_json).map_err(|_| AuditError::InvalidLine)?;
        for rule in rules(&lifecycle)? {
            let prefix = rule
                .pointer("/conditions/prefix")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !enabled(rule) || !reaches_audit(prefix) {
                continue;
            }
            if let Some(cond) = rule.pointer("/deleteObjectsTransition/condition") {
                let ok = match cond.get("type").and_then(Value::as_str) {
                    Some("Age") => cond
                        .get("maxAge")
                        .and_then(Value::as_u64)
                        .is_some_and(|a| a >= floor),
                    _ => false,
                };
                if !ok {
                    return Err(AuditError::RetentionTooShort);
                }
            }
        }

        let lock: Value = serde_json::from_str(lock_json).map_err(|_| AuditError::InvalidLine)?;
        let locks = rules(&lock)?;
        for audit in AUDIT_PREFIXES {
            let covered = locks.iter().any(|r| {
                let prefix = r.get("prefix").and_then(Value::as_str).unwrap_or("");
                let long_enough = match r.pointer("/condition/type").and_then(Value::as_str) {
                    Some("Indefinite") => true,
                    Some("Age") => r
                        .pointer("/condition/maxAgeSeconds")
                        .and_then(Value::as_u64)
                        .is_some_and(|a| a >= floor),
                    _ => false,
                };
                enabled(r) && audit.starts_with(prefix) && long_enough
            });
            if !covered {
                return Err(AuditError::RetentionTooShort);
            }
        }
        Ok(())
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn rules(doc: &Value) -> Result<&Vec<Value>, AuditError> {
    doc.get("rules")
        .and_then(Value::as_array)
        .ok_or(AuditError::InvalidLine)
}

fn enabled(rule: &Value) -> bool {
    rule.get("enabled").and_then(Value::as_bool).unwrap_or(true)
}

/// True when a rule's prefix can match some audit key: either one is a prefix of the other.
fn reaches_audit(prefix: &str) -> bool {
    AUDIT_PREFIXES
        .iter()
        .any(|a| a.starts_with(prefix) || prefix.starts_with(a))
}
