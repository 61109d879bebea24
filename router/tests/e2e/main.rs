//! `cdc-mask` as a user runs it: the real binary (`CARGO_BIN_EXE_cdc-mask`)
//! on files, a local lake, and Kinesis, S3 and Firehose on the moto server
//! started by the shared harness (`tests/support` at the workspace root).
//!
//! # Layout
//! - `commands`: `demo`, `transform-event`, `decrypt`, `--help`, bad input.
//! - `findings`: `findings compile` on files: every input shape, overrides,
//!   determinism, layouts, bad input.
//! - `findings_contract`: the schemas of findings and policies, seed parity.
//! - `findings_s3`: `findings compile` with findings, overrides and the
//!   policy in S3.
//! - `run`: `run` following a file and generating, signals, bad input.
//! - `replay`: `replay` from Kinesis into S3: a split, a SIGKILL and a
//!   resume, 5xx answers, a killed run's cut, missing resources.
//! - `firehose_sink`: the Firehose sink under partial failures.
//! - `quarantine_s3`: `quarantine list|reprocess` on an S3 lake: router and
//!   Firehose objects, plain and gzip, a listing of two pages.
//!
//! Here, the pieces they share: the binary, one change record of the test
//! data, and reading a lake.

#[path = "../../../tests/support/mod.rs"]
mod support;

mod commands;
mod findings;
mod findings_contract;
mod findings_s3;
mod firehose_sink;
mod quarantine_s3;
mod replay;
mod run;

use std::io::Read as _;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{workspace_root, MotoServer};

/// The binary under test, built by cargo for these tests.
pub const CDC_MASK: &str = env!("CARGO_BIN_EXE_cdc-mask");

/// Customers in the test data, and change rounds per customer.
pub const CUSTOMERS: i64 = 30;
pub const ROUNDS: i64 = 10;
/// A record that is not JSON: it must end in the quarantine.
pub const MALFORMED: &str = r#"{"data":{"id":1,"mail":"truncated@example.com""#;

/// The example policy (`schemas/examples/policy.json`).
pub fn policy() -> String {
    workspace_root()
        .join("schemas/examples/policy.json")
        .display()
        .to_string()
}

/// A DMS insert/update of customer `id`, change number `n`.
pub fn change(id: i64, n: i64) -> String {
    let op = if n == 0 { "insert" } else { "update" };
    format!(
        r#"{{"data":{{"id":{id},"n":{n},"name":"Person Name{id}","mail":"person{id}@example.com"}},"metadata":{{"timestamp":"2026-11-29T01:02:03.000000Z","record-type":"data","operation":"{op}","partition-key-type":"primary-key","schema-name":"dataset","table-name":"customer","transaction-id":{n}}}}}"#
    )
}

/// A DMS control record (DDL).
pub fn control() -> String {
    r#"{"data":{},"metadata":{"timestamp":"2026-11-29T01:02:03.000000Z","record-type":"control","operation":"create-table","partition-key-type":"task-id","schema-name":"dataset","table-name":"customer"}}"#.to_owned()
}

/// The `cdc-mask` binary with `args`, no stdin, nothing from the caller's
/// environment that could point it at real keys, a policy or endpoints,
/// plus `env`.
pub fn cdc_mask(args: &[&str], env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(CDC_MASK);
    cmd.args(args)
        .env_remove("CDCMASK_KEYRING")
        .env_remove("CDCMASK_KMS_KEY_ID")
        .env_remove("CDCMASK_POLICY")
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs [`cdc_mask`] to the end.
pub fn output_of(args: &[&str], env: &[(&str, String)]) -> Output {
    cdc_mask(args, env).output().unwrap()
}

/// Runs [`cdc_mask`], asserts success and returns stdout.
pub fn ok(args: &[&str], env: &[(&str, String)]) -> String {
    let out = output_of(args, env);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts a failure with one line on stderr containing `needle`.
pub fn fails_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded; stderr: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(
        stderr.starts_with("cdc-mask: ") && stderr.contains(needle),
        "wanted {needle:?} in: {stderr}"
    );
}

/// Every line of every (complete) file under `root/<view>`.
pub fn dir_lines(root: &Path, view: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut stack = vec![root.join(view)];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                stack.push(path);
            } else if name.ends_with(".jsonl") && !name.starts_with('.') {
                let text = std::fs::read_to_string(&path).unwrap();
                lines.extend(text.lines().map(str::to_owned));
            }
        }
    }
    lines
}

/// The `n` of every row of customer `id` in a view's lines.
pub fn changes_of(lines: &[String], id: i64) -> Vec<i64> {
    lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|row| row["id"] == id)
        .map(|row| row["n"].as_i64().unwrap())
        .collect()
}

/// Sends `signal` (`-TERM`, `-INT`, `-KILL`) to `child`.
pub fn send_signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Polls `done` until it holds (panics after `timeout`); returns how long it took.
pub fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < timeout,
            "{what}: not within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

/// Waits for `child`; its status, stdout and stderr.
pub fn finish(mut child: Child) -> (std::process::ExitStatus, String, String) {
    let status = child.wait().unwrap();
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stdout, stderr)
}

/// The bucket of the lake on moto.
pub const BUCKET: &str = "lake";

/// A moto server with the lake bucket.
pub async fn moto_with_lake() -> MotoServer {
    let moto = MotoServer::start();
    moto.s3()
        .await
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    moto
}
