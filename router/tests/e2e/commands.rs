//! `cdc-mask demo`, `transform-event`, `decrypt` and `--help` as a user
//! runs them, and bad input.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::workspace_root;

fn run_cdc_mask(args: &[&str]) -> Output {
    crate::output_of(args, &[])
}

fn ok(args: &[&str]) -> String {
    let out = run_cdc_mask(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every file under `dir/<view>/`, concatenated.
fn view_files(root: &Path, view: &str) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.join(view)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every JSON string (member names and values, at any depth) of the JSON
/// lines in `files`, decoded: a protected value leaks if it is one of them.
fn json_strings(files: &[std::path::PathBuf]) -> std::collections::HashSet<String> {
    fn walk(value: &Value, out: &mut std::collections::HashSet<String>) {
        match value {
            Value::String(s) => {
                out.insert(s.clone());
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Object(members) => {
                for (name, v) in members {
                    out.insert(name.clone());
                    walk(v, out);
                }
            }
            _ => {}
        }
    }
    let mut out = std::collections::HashSet::new();
    for file in files {
        for line in std::fs::read_to_string(file).unwrap().lines() {
            walk(&serde_json::from_str(line).unwrap(), &mut out);
        }
    }
    out
}

#[test]
fn demo_writes_both_views_and_leaks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_arg = lake.to_str().unwrap();
    let summary = ok(&["demo", "--out", lake_arg, "--records", "3000"]);
    assert!(summary.contains("3000 records"), "{summary}");
    assert!(summary.contains("quarantined"), "{summary}");

    // Decrypt the encrypted view: that is the plaintext truth.
    let policy: Value =
        serde_json::from_slice(&std::fs::read(lake.join("policy.json")).unwrap()).unwrap();
    let mut protected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for table in policy["tables"].as_array().unwrap() {
        let columns = table["columns"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        protected.insert(table["table"].as_str().unwrap().to_owned(), columns);
    }
    let keyring = lake.join("keyring");
    let mut secrets = Vec::new();
    let mut rows = 0;
    for file in view_files(&lake, "encrypted") {
        let table = file
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let plain = ok(&[
            "decrypt",
            "--keyring",
            keyring.to_str().unwrap(),
            file.to_str().unwrap(),
        ]);
        for line in plain.lines() {
            rows += 1;
            let row: Value = serde_json::from_str(line).unwrap();
            for column in &protected[&table] {
                for image in [&row, &row["_before"]] {
                    if let Some(Value::String(s)) = image.get(column) {
                        secrets.push(s.clone());
                    }
                }
            }
        }
    }
    assert!(rows > 2500, "{rows}");
    assert!(secrets.len() > 5000);
    // No protected value, whole, in any masked row (short values like "123"
    // can occur by chance in ids or timestamps, so they are left out).
    let masked = view_files(&lake, "masked");
    let masked_strings = json_strings(&masked);
    let masked_rows: usize = masked
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap().lines().count())
        .sum();
    assert_eq!(masked_rows, rows);
    for secret in secrets.iter().filter(|s| s.chars().count() >= 6) {
        assert!(
            !masked_strings.contains(secret),
            "masked view leaked {secret:?}"
        );
    }
    // The encrypted view holds no protected value in clear either.
    let encrypted_strings = json_strings(&view_files(&lake, "encrypted"));
    for secret in secrets.iter().filter(|s| s.chars().count() >= 6) {
        assert!(
            !encrypted_strings.contains(secret),
            "encrypted view leaked {secret:?}"
        );
    }

    // Quarantined demo records unseal to their exact bytes.
    let quarantine = view_files(&lake, "quarantine");
    let unsealed = ok(&[
        "decrypt",
        "--quarantine",
        "--keyring",
        keyring.to_str().unwrap(),
        quarantine[0].to_str().unwrap(),
    ]);
    assert!(
        unsealed.starts_with("{\"data\":{\"id\":1,\"mail\":\"truncated@example.com\""),
        "{unsealed}"
    );

    // A second run reuses the keyring: same tokens, same files, no duplicates.
    let first =
        std::fs::read(lake.join("masked/dataset/customer/dt=2026-11-28/demo.jsonl")).unwrap();
    ok(&["demo", "--out", lake_arg, "--records", "3000"]);
    let second =
        std::fs::read(lake.join("masked/dataset/customer/dt=2026-11-28/demo.jsonl")).unwrap();
    assert_eq!(first, second);
}

#[test]
fn transform_event_prints_the_response_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let event = workspace_root().join("transformer/tests/fixtures/example-firehose-event.json");
    let policy = workspace_root().join("schemas/examples/policy.json");
    let out = run_cdc_mask(&[
        "transform-event",
        "--view",
        "encrypted",
        "--policy",
        policy.to_str().unwrap(),
        "--keyring",
        dir.path().to_str().unwrap(),
        "--stats",
        event.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let response: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(response["records"].as_array().unwrap().len(), 5);
    let stderr = String::from_utf8(out.stderr).unwrap();
    // The stats line, next to what the run logged (a DDL warning here).
    let stats = stderr
        .lines()
        .find(|l| l.starts_with("records="))
        .unwrap_or_else(|| panic!("no stats line: {stderr}"));
    let fields: Vec<&str> = stats
        .trim()
        .split(' ')
        .map(|kv| kv.split('=').next().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["records", "seconds", "records_per_s", "kms_calls"],
        "{stats}"
    );
    assert!(stats.starts_with("records=5 "), "{stats}");
    assert!(
        stats.trim().ends_with("kms_calls=0"),
        "a local keyring makes no KMS calls: {stats}"
    );
}

#[test]
fn bad_input_gets_one_line_and_a_failing_exit_code() {
    let policy = workspace_root().join("schemas/examples/policy.json");
    let policy = policy.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bad_policy = dir.path().join("bad.json");
    std::fs::write(
        &bad_policy,
        r#"{"version":1,"tables":[{"schema":"a","table":"b","columns":{"c":{"masked":"shred"}}}]}"#,
    )
    .unwrap();
    let keyring = dir.path().join("k");
    let keyring = keyring.to_str().unwrap();
    for (args, needle) in [
        (
            vec![
                "transform-event",
                "--view",
                "clear",
                "--policy",
                policy,
                "--keyring",
                keyring,
            ],
            "--view",
        ),
        (
            vec![
                "transform-event",
                "--view",
                "masked",
                "--policy",
                "/nope.json",
                "--keyring",
                keyring,
            ],
            "does not exist",
        ),
        (
            vec![
                "transform-event",
                "--view",
                "masked",
                "--policy",
                bad_policy.to_str().unwrap(),
                "--keyring",
                keyring,
            ],
            "shred",
        ),
        (
            vec!["transform-event", "--view", "masked", "--policy", policy],
            "--keyring",
        ),
        (
            vec![
                "transform-event",
                "--view",
                "masked",
                "--policy",
                policy,
                "--keyring",
                keyring,
                "/nope/event.json",
            ],
            "cannot read",
        ),
        (
            vec!["decrypt", "--keyring", "/nonexistent-keyring"],
            "no keyring",
        ),
        (vec!["decrypt"], "--keyring"),
        (vec!["demo", "--records", "0"], "--records"),
    ] {
        let out = run_cdc_mask(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{args:?}: one line: {stderr}"
        );
    }
}

#[test]
fn every_command_has_help() {
    for command in ["demo", "transform-event", "decrypt"] {
        let help = ok(&[command, "--help"]);
        assert!(help.contains("Usage: cdc-mask"), "{help}");
    }
    assert!(ok(&["--help"]).contains("demo"));
}
