//! `cdc-mask run`: a followed file into a local lake within the flush
//! interval, generated records stopped by a signal, bad input.

use std::io::Write as _;
use std::time::Duration;

use serde_json::Value;

use crate::{
    cdc_mask, change, changes_of, control, dir_lines, fails_with, finish, output_of, policy,
    send_signal, wait_until, MALFORMED,
};

#[test]
fn run_follows_a_file_into_both_views_within_the_flush_interval() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("changes.jsonl");
    let lake = dir.path().join("lake");
    let keyring = dir.path().join("keyring");
    let mut initial = String::new();
    for id in 0..3 {
        initial.push_str(&change(id, 0));
        initial.push('\n');
    }
    initial.push_str(&control());
    initial.push('\n');
    initial.push_str(MALFORMED);
    initial.push('\n');
    std::fs::write(&input, &initial).unwrap();
    let interval = Duration::from_secs(1);
    let child = cdc_mask(
        &[
            "run",
            "--source",
            &format!("file:{}", input.display()),
            "--follow",
            "--sink",
            &format!("dir:{}", lake.display()),
            "--policy",
            &policy(),
            "--keyring",
            keyring.to_str().unwrap(),
            "--flush-interval",
            "1s",
        ],
        &[],
    )
    .spawn()
    .unwrap();
    // Start-up (keyring, policy) may take a while on a busy machine.
    wait_until("the first records", Duration::from_secs(30), || {
        dir_lines(&lake, "masked").len() == 3
    });

    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap();
    writeln!(file, "{}", change(7, 1)).unwrap();
    file.flush().unwrap();
    // Flushed by time only: the default --flush-bytes (8 MiB) is far away.
    let took = wait_until("the appended record", interval * 4, || {
        changes_of(&dir_lines(&lake, "masked"), 7) == [1]
            && changes_of(&dir_lines(&lake, "encrypted"), 7) == [1]
    });
    assert!(
        took < interval + Duration::from_secs(2),
        "appeared after {took:?}, flush interval {interval:?}"
    );

    send_signal(&child, "-TERM");
    let (status, stdout, stderr) = finish(child);
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("cdc-mask run: 6 records"), "{stdout}");
    assert!(stdout.contains("stopped by signal"), "{stdout}");
    assert!(
        stdout.contains("both views:           4  (dataset.customer 4)"),
        "{stdout}"
    );
    assert!(stdout.contains("control log:          1"), "{stdout}");
    assert!(
        stdout.contains("quarantine:           1  (invalid_json 1"),
        "{stdout}"
    );

    let masked = dir_lines(&lake, "masked").join("\n");
    let encrypted = dir_lines(&lake, "encrypted").join("\n");
    for clear in ["Person Name", "@example.com"] {
        assert!(
            !masked.contains(clear) && !encrypted.contains(clear),
            "{clear} leaked"
        );
    }
    assert_eq!(dir_lines(&lake, "control").len(), 1);
    let sealed = dir_lines(&lake, "quarantine/unknown");
    assert_eq!(sealed.len(), 1);
    assert!(
        !sealed[0].contains("truncated@"),
        "quarantine holds the record in clear"
    );
    let reasons = dir_lines(&lake, "quarantine/reasons");
    assert_eq!(reasons.len(), 1);
    let reason: Value = serde_json::from_str(&reasons[0]).unwrap();
    assert_eq!(reason["reason"], "invalid_json");
    let offset = initial.find(MALFORMED).unwrap();
    assert_eq!(reason["record_id"], format!("changes.jsonl:{offset}"));
}

#[test]
fn run_generate_stops_on_sigint_with_everything_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let child = cdc_mask(
        &[
            "run",
            "--source",
            "generate:500",
            "--sink",
            &format!("dir:{}", lake.display()),
            "--policy",
            &policy(),
            "--keyring",
            dir.path().join("keyring").to_str().unwrap(),
            "--flush-interval",
            "300ms",
        ],
        &[],
    )
    .spawn()
    .unwrap();
    wait_until("generated rows", Duration::from_secs(30), || {
        dir_lines(&lake, "masked").len() > 50
    });
    send_signal(&child, "-INT");
    let (status, stdout, stderr) = finish(child);
    assert!(status.success(), "{stderr}");
    let records: u64 = stdout
        .strip_prefix("cdc-mask run: ")
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    // Everything read was delivered: rows in the lake equal rows counted.
    let rows = dir_lines(&lake, "masked").len() as u64;
    let control = dir_lines(&lake, "control").len() as u64;
    assert_eq!(rows + control, records, "{stdout}");
    assert_eq!(dir_lines(&lake, "encrypted").len() as u64, rows);
}

#[test]
fn bad_input_is_one_line_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let sink = format!("dir:{}", lake.display());
    let keyring = dir.path().join("keyring");
    let keys = [
        "--policy",
        &policy(),
        "--keyring",
        keyring.to_str().unwrap(),
    ];
    let run = |source: &str, sink: &str, extra: &[&str]| {
        let mut args = vec!["run", "--source", source, "--sink", sink];
        args.extend_from_slice(&keys);
        args.extend_from_slice(extra);
        output_of(&args, &[])
    };
    fails_with(&run("ftp://x", &sink, &[]), "unknown source");
    fails_with(&run("generate", "gcs://bucket", &[]), "unknown sink");
    fails_with(
        &run("generate", &sink, &["--follow"]),
        "--follow applies to a file",
    );
    fails_with(
        &run("file:/nonexistent/x.jsonl", &sink, &[]),
        "cannot read /nonexistent/x.jsonl",
    );
    let garbage = dir.path().join("checkpoint.json");
    std::fs::write(&garbage, "{not json").unwrap();
    let mut args = vec![
        "replay",
        "--stream",
        "cdc",
        "--from",
        "trim-horizon",
        "--sink",
        &sink,
        "--checkpoint",
        garbage.to_str().unwrap(),
    ];
    args.extend_from_slice(&keys);
    fails_with(&output_of(&args, &[]), "is not a cdc-mask checkpoint");
    assert!(!lake.exists(), "work started before the checks");
}
