//! SECURITY.md F7 (and F2): the retention rules never let an audit object younger than six
//! years be deleted, and every audit prefix sits under a bucket lock.

use rxroom_core::audit::{AuditError, RetentionPolicy};

const SIX_YEARS_SECS: u64 = (6 * 365 + 2) * 86_400;

#[test]
fn f7_default_rules_keep_audit_objects_six_years() {
    let p = RetentionPolicy::default();
    assert_eq!(p.years, 6);
    let lock = p.bucket_lock_json();
    let lifecycle = p.lifecycle_json();
    assert_eq!(p.check_config(&lifecycle, &lock), Ok(()));

    let lock: serde_json::Value = serde_json::from_str(&lock).expect("json");
    let rules = lock["rules"].as_array().expect("rules");
    for prefix in ["audit/", "audit-checkpoints/"] {
        assert!(rules.iter().any(|r| r["prefix"] == prefix
            && r["enabled"] == true
            && r["condition"]["type"] == "Age"
            && r["condition"]["maxAgeSeconds"]
                .as_u64()
                .is_some_and(|s| s >= SIX_YEARS_SECS)));
    }
    let lifecycle: serde_json::Value = serde_json::from_str(&lifecycle).expect("json");
    for r in lifecycle["rules"].as_array().expect("rules") {
        let age = r["deleteObjectsTransition"]["condition"]["maxAge"]
            .as_u64()
            .expect("age");
        assert!(age >= SIX_YEARS_SECS);
    }
}

#[test]
fn f7_retention_below_six_years_is_refused() {
    assert_eq!(RetentionPolicy::new(5), Err(AuditError::RetentionTooShort));
    assert!(RetentionPolicy::new(10).is_ok());
}

#[test]
fn f7_a_deployed_rule_that_deletes_young_audit_objects_fails_the_check() {
    let p = RetentionPolicy::default();
    let lock = p.bucket_lock_json();
    let five_years = 5 * 366 * 86_400;
    for prefix in ["", "a", "audit/", "audit/us/", "audit-checkpoints/"] {
        let lifecycle = format!(
            r#"{{"rules":[{{"id":"x","enabled":true,"conditions":{{"prefix":"{prefix}"}},
               "deleteObjectsTransition":{{"condition":{{"type":"Age","maxAge":{five_years}}}}}}}]}}"#
        );
        assert_eq!(
            p.check_config(&lifecycle, &lock),
            Err(AuditError::RetentionTooShort),
            "{prefix}"
        );
    }
    let media_only = r#"{"rules":[{"id":"m","enabled":true,"conditions":{"prefix":"media/"},
        "deleteObjectsTransition":{"condition":{"type":"Age","maxAge":86400}}}]}"#;
    assert_eq!(p.check_config(media_only, &lock), Ok(()));
    let by_date = r#"{"rules":[{"id":"d","enabled":true,"conditions":{"prefix":""},
        "deleteObjectsTransition":{"condition":{"type":"Date","date":"2027-01-01T00:00:00Z"}}}]}"#;
    assert_eq!(
        p.check_config(by_date, &lock),
        Err(AuditError::RetentionTooShort)
    );
}

#[test]
fn f7_a_missing_or_short_lock_fails_the_check() {
    let p = RetentionPolicy::default();
    let lifecycle = p.lifecycle_json();
    let partial = r#"{"rules":[{"id":"a","enabled":true,"prefix":"audit/",
        "condition":{"type":"Age","maxAgeSeconds":999999999}}]}"#;
    assert_eq!(
        p.check_config(&lifecycle, partial),
        Err(AuditError::RetentionTooShort)
    );
    let short = RetentionPolicy { years: 1 }.bucket_lock_json();
    assert_eq!(
        p.check_config(&lifecycle, &short),
        Err(AuditError::RetentionTooShort)
    );
    let disabled = p.bucket_lock_json().replace("true", "false");
    assert_eq!(
        p.check_config(&lifecycle, &disabled),
        Err(AuditError::RetentionTooShort)
    );
    let forever =
        r#"{"rules":[{"id":"all","enabled":true,"prefix":"","condition":{"type":"Indefinite"}}]}"#;
    assert_eq!(p.check_config(&lifecycle, forever), Ok(()));
}
