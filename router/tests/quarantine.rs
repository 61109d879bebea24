//! `cdc-mask quarantine` as an operator runs it, on the demo's lake.

use std::path::Path;
use std::process::{Command, Output};

fn cdc_mask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cdc-mask"))
        .args(args)
        .env_remove("CDCMASK_KEYRING")
        .env_remove("CDCMASK_POLICY")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = cdc_mask(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn list_and_reprocess_the_demo_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_arg = format!("dir:{}", lake.display());
    ok(&["demo", "--out", lake.to_str().unwrap(), "--records", "2000"]);

    let listing = ok(&["quarantine", "list", &lake_arg, "--objects"]);
    assert!(
        listing.starts_with(&format!("quarantine of {lake_arg}: 2 records")),
        "{listing}"
    );
    assert!(listing.contains("invalid_json"), "{listing}");
    assert!(listing.contains("no: its own bytes"), "{listing}");
    // Counts and positions only: no content of the sealed records.
    assert!(!listing.contains("example.com"), "{listing}");

    let keyring = lake.join("keyring");
    let policy = lake.join("policy.json");
    let export = dir.path().join("export.jsonl");
    let args = [
        "quarantine",
        "reprocess",
        &lake_arg,
        "--policy",
        policy.to_str().unwrap(),
        "--keyring",
        keyring.to_str().unwrap(),
        "--export-unsealed",
        export.to_str().unwrap(),
    ];
    let summary = ok(&args);
    assert!(
        summary.contains("taken back:                 0"),
        "{summary}"
    );
    assert!(
        summary.contains("left sealed:                2"),
        "{summary}"
    );
    let exported = std::fs::read_to_string(&export).unwrap();
    assert_eq!(exported.lines().count(), 2);
    assert!(exported.contains("truncated@example.com"), "{exported}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&export).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }

    // The export is never overwritten, and never remote.
    let again = cdc_mask(&args);
    assert!(!again.status.success());
    let error = String::from_utf8_lossy(&again.stderr);
    assert!(error.contains("--export-unsealed"), "{error}");
    let remote = cdc_mask(&[
        "quarantine",
        "reprocess",
        &lake_arg,
        "--policy",
        policy.to_str().unwrap(),
        "--keyring",
        keyring.to_str().unwrap(),
        "--export-unsealed",
        "s3://bucket/export.jsonl",
    ]);
    assert!(!remote.status.success());
    assert!(String::from_utf8_lossy(&remote.stderr).contains("local file only"));
}

#[test]
fn unsealing_needs_the_admin_keys_and_a_lake() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/examples/policy.json");
    let out = cdc_mask(&[
        "quarantine",
        "reprocess",
        &format!("dir:{}", dir.path().display()),
        "--policy",
        policy.to_str().unwrap(),
        "--data-public-key",
        "not a pem",
    ]);
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert_eq!(error.lines().count(), 1, "{error}");
    let out = cdc_mask(&["quarantine", "list", "ftp://x"]);
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(error.contains("not a lake"), "{error}");
}
