//! One CloudWatch Embedded Metric Format line per batch (namespace
//! `cdc-mask`, dimension `View`): records by result, quarantined by reason,
//! sealed because something was down, the policy's age and the wrap mode;
//! what the detection guard found in unlisted columns (`GuardDetected`, one
//! `Guard_<detector>` count each, and the property `GuardFindings`: one
//! `{schema, table, column, detector, count}` per column, the suggested
//! findings of `schemas/suggested-findings.md`), and `UnlistedColumnAdded`
//! (columns DDL records announced that the policy does not list). Counts
//! and names only,
//! never values. The specification:
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use std::time::Duration;

use cdc_mask_core::firehose::BatchResult;
use serde_json::{json, Map, Value};

/// The metrics namespace (the dashboard and alarms of `infra/` read it).
pub const NAMESPACE: &str = "cdc-mask";

/// How data keys are wrapped (a property, not a metric).
const WRAP_MODE: &str = "ecdh-p256";

/// The EMF line of one batch (no newline). `policy_age` is the time since
/// the policy in use was confirmed; `now_ms` the Unix time in milliseconds.
pub fn emf_line(result: &BatchResult, policy_age: Option<Duration>, now_ms: u64) -> String {
    let stats = &result.stats;
    let mut counts: Vec<(String, u64)> = vec![
        ("Records".into(), stats.records),
        ("Rows".into(), stats.rows),
        ("ControlDropped".into(), stats.dropped_control),
        ("Quarantined".into(), stats.quarantined_total()),
        ("QuarantinedTransient".into(), stats.quarantined_transient()),
        ("Lost".into(), stats.lost),
    ];
    let findings = stats.guard.findings();
    counts.push(("GuardDetected".into(), stats.guard.total()));
    counts.push((
        "UnlistedColumnAdded".into(),
        stats.guard.unlisted_column_added(),
    ));
    let mut per_detector: std::collections::BTreeMap<&str, u64> = Default::default();
    for finding in &findings {
        *per_detector.entry(&finding.detector).or_default() += finding.count;
    }
    for (detector, n) in per_detector {
        counts.push((format!("Guard_{detector}"), n));
    }
    for (reason, n) in &stats.quarantined {
        counts.push((format!("Quarantined_{}", reason.as_str()), *n));
        if *reason == cdc_mask_core::Reason::ResponseOverflow {
            counts.push(("Overflowed".into(), *n));
        }
    }
    let mut metrics: Vec<Value> = counts
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    let mut root = Map::new();
    for (name, n) in counts {
        root.insert(name, json!(n));
    }
    if let Some(age) = policy_age {
        metrics.push(json!({"Name": "PolicyAgeSeconds", "Unit": "Seconds"}));
        root.insert("PolicyAgeSeconds".into(), json!(age.as_secs()));
    }
    root.insert("View".into(), json!(result.view_label()));
    root.insert("WrapMode".into(), json!(WRAP_MODE));
    if !findings.is_empty() {
        root.insert("GuardFindings".into(), json!(findings));
    }
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["View"]],
                "Metrics": metrics,
            }],
        }),
    );
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdc_mask_core::firehose::BatchStats;
    use cdc_mask_core::guard::Detector;
    use cdc_mask_core::{Reason, View};

    #[test]
    fn one_line_of_counts_per_batch() {
        let mut guard = cdc_mask_core::guard::Tally::default();
        guard.add("hr", "employee", "ssn", Detector::UsSsn, 2);
        guard.add("hr", "employee", "notes", Detector::Email, 1);
        guard.add_unlisted_columns(4);
        let result = BatchResult {
            response: b"{\"records\":[]}".to_vec(),
            view: Some(View::Encrypted),
            quarantine_stream: false,
            stats: BatchStats {
                records: 5,
                rows: 2,
                dropped_control: 1,
                quarantined: vec![(Reason::InvalidJson, 1), (Reason::PolicyUnavailable, 1)],
                guard,
                ..BatchStats::default()
            },
        };
        let line = emf_line(&result, Some(Duration::from_secs(42)), 1_764_321_303_000);
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["View"], "encrypted");
        assert_eq!(v["Records"], 5);
        assert_eq!(v["Quarantined"], 2);
        assert_eq!(v["QuarantinedTransient"], 1);
        assert_eq!(v["Quarantined_invalid_json"], 1);
        assert_eq!(v["PolicyAgeSeconds"], 42);
        assert_eq!(v["WrapMode"], WRAP_MODE);
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        let declared: Vec<&str> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for name in &declared {
            assert!(v.get(*name).is_some(), "{name} declared but missing");
        }
        assert!(declared.contains(&"Quarantined_policy_unavailable"));
        assert_eq!(v["GuardDetected"], 3);
        assert_eq!(v["Guard_us_ssn"], 2);
        assert_eq!(v["UnlistedColumnAdded"], 4);
        assert_eq!(
            v["GuardFindings"][1],
            json!({"schema": "hr", "table": "employee", "column": "ssn", "detector": "us_ssn", "count": 2})
        );
    }
}
