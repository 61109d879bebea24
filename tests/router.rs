//! `cdc-mask run` and `cdc-mask replay` as a user runs them: the real binary,
//! a followed file into a local lake, and Kinesis replays into S3 on the
//! moto server (two shards, a split in the middle, a SIGKILL and a resume).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{cargo_bin, workspace_root, MotoServer};

/// Customers in the test data, and change rounds per customer.
const CUSTOMERS: i64 = 30;
const ROUNDS: i64 = 10;
/// A record that is not JSON: it must end in the quarantine.
const MALFORMED: &str = r#"{"data":{"id":1,"mail":"truncated@example.com""#;

fn policy() -> String {
    workspace_root()
        .join("schemas/examples/policy.json")
        .display()
        .to_string()
}

/// A DMS insert/update of customer `id`, change number `n`.
fn change(id: i64, n: i64) -> String {
    let op = if n == 0 { "insert" } else { "update" };
    format!(
        r#"{{"data":{{"id":{id},"n":{n},"name":"Person Name{id}","mail":"person{id}@example.com"}},"metadata":{{"timestamp":"2026-11-29T01:02:03.000000Z","record-type":"data","operation":"{op}","partition-key-type":"primary-key","schema-name":"dataset","table-name":"customer","transaction-id":{n}}}}}"#
    )
}

/// A DMS control record (DDL).
fn control() -> String {
    r#"{"data":{},"metadata":{"timestamp":"2026-11-29T01:02:03.000000Z","record-type":"control","operation":"create-table","partition-key-type":"task-id","schema-name":"dataset","table-name":"customer"}}"#.to_owned()
}

/// The `cdc-mask` binary with nothing from the caller's environment that
/// could point it at real keys or endpoints, plus `env`.
fn cdc_mask(args: &[&str], env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(cargo_bin("cdc-mask"));
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

fn output_of(args: &[&str], env: &[(&str, String)]) -> Output {
    cdc_mask(args, env).output().unwrap()
}

fn ok(args: &[&str], env: &[(&str, String)]) -> String {
    let out = output_of(args, env);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts a failure with one line on stderr containing `needle`.
fn fails_with(out: &Output, needle: &str) {
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
fn dir_lines(root: &Path, view: &str) -> Vec<String> {
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
fn changes_of(lines: &[String], id: i64) -> Vec<i64> {
    lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|row| row["id"] == id)
        .map(|row| row["n"].as_i64().unwrap())
        .collect()
}

fn send_signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Duration {
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

fn finish(mut child: Child) -> (std::process::ExitStatus, String, String) {
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

// ---------------------------------------------------------------------------
// Kinesis and S3 on moto
// ---------------------------------------------------------------------------

const BUCKET: &str = "lake";

/// A moto server with the lake bucket.
async fn moto_with_lake() -> MotoServer {
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

async fn kinesis(moto: &MotoServer) -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::new(&moto.sdk_config().await)
}

async fn put(client: &aws_sdk_kinesis::Client, stream: &str, records: &[(String, String)]) {
    for chunk in records.chunks(500) {
        let entries = chunk
            .iter()
            .map(|(key, data)| {
                aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                    .partition_key(key)
                    .data(aws_sdk_kinesis::primitives::Blob::new(data.as_bytes()))
                    .build()
                    .unwrap()
            })
            .collect::<Vec<_>>();
        let out = client
            .put_records()
            .stream_name(stream)
            .set_records(Some(entries))
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_record_count(), Some(0));
    }
}

/// Changes of rounds `rounds`, customers in key order within a round.
fn rounds(rounds: std::ops::Range<i64>) -> Vec<(String, String)> {
    rounds
        .flat_map(|n| (0..CUSTOMERS).map(move |id| (format!("customer-{id}"), change(id, n))))
        .collect()
}

/// A stream of two shards: half the rounds, a control and a malformed
/// record, a split of shard 0, the other half and another control record.
async fn stream_with_a_split(moto: &MotoServer, stream: &str) {
    let client = kinesis(moto).await;
    client
        .create_stream()
        .stream_name(stream)
        .shard_count(2)
        .send()
        .await
        .unwrap();
    let mut first = rounds(0..ROUNDS / 2);
    first.push(("control".into(), control()));
    first.push(("bad".into(), MALFORMED.into()));
    put(&client, stream, &first).await;
    client
        .split_shard()
        .stream_name(stream)
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key((1u128 << 126).to_string())
        .send()
        .await
        .unwrap();
    let mut second = rounds(ROUNDS / 2..ROUNDS);
    second.push(("control".into(), control()));
    put(&client, stream, &second).await;
    let shards = client
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .unwrap();
    assert_eq!(shards.shards().len(), 4, "two shards, one split into two");
}

/// Every object under `prefix/view/` in the bucket: key and lines.
async fn s3_view(moto: &MotoServer, prefix: &str, view: &str) -> Vec<(String, Vec<String>)> {
    let s3 = moto.s3().await;
    let mut objects = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(format!("{prefix}/{view}/"))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for object in page.unwrap().contents() {
            let key = object.key().unwrap().to_owned();
            let body = s3
                .get_object()
                .bucket(BUCKET)
                .key(&key)
                .send()
                .await
                .unwrap();
            let gz = body.body.collect().await.unwrap().into_bytes();
            let mut text = String::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_string(&mut text)
                .unwrap();
            objects.push((key, text.lines().map(str::to_owned).collect()));
        }
    }
    objects
}

/// Orders objects as a reader must: by shard (parents have lower ids), then
/// by first sequence number.
fn in_stream_order(mut objects: Vec<(String, Vec<String>)>) -> Vec<String> {
    let position = |key: &str| {
        let name = key
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".jsonl.gz");
        let mut parts = name.rsplitn(3, '-');
        let _last = parts.next().unwrap();
        let first: u128 = parts.next().unwrap().parse().unwrap();
        (parts.next().unwrap().to_owned(), first)
    };
    objects.sort_by_key(|(key, _)| position(key));
    objects.into_iter().flat_map(|(_, lines)| lines).collect()
}

/// Each view holds every change exactly once, in per-customer order; the
/// control log both control records; the quarantine the malformed record.
async fn assert_exactly_once(moto: &MotoServer, prefix: &str) {
    for view in ["masked", "encrypted"] {
        let lines = in_stream_order(s3_view(moto, prefix, view).await);
        assert_eq!(lines.len() as i64, CUSTOMERS * ROUNDS, "{view}");
        for id in 0..CUSTOMERS {
            assert_eq!(
                changes_of(&lines, id),
                (0..ROUNDS).collect::<Vec<_>>(),
                "{view}: customer {id}"
            );
        }
        let all = lines.join("\n");
        assert!(!all.contains("Person Name") && !all.contains("@example.com"));
    }
    let control: usize = s3_view(moto, prefix, "control")
        .await
        .iter()
        .map(|(_, l)| l.len())
        .sum();
    assert_eq!(control, 2);
    let quarantine = s3_view(moto, prefix, "quarantine").await;
    let sealed: Vec<&String> = quarantine
        .iter()
        .filter(|(k, _)| !k.contains("/reasons/"))
        .flat_map(|(_, l)| l)
        .collect();
    assert_eq!(sealed.len(), 1);
    let reasons: Vec<&String> = quarantine
        .iter()
        .filter(|(k, _)| k.contains("/quarantine/reasons/"))
        .flat_map(|(_, l)| l)
        .collect();
    assert_eq!(reasons.len(), 1);
    assert!(
        reasons[0].contains("\"reason\":\"invalid_json\"") && !reasons[0].contains("truncated@")
    );
}

async fn keys_under(moto: &MotoServer, prefix: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for view in ["masked", "encrypted", "control", "quarantine"] {
        keys.extend(
            s3_view(moto, prefix, view)
                .await
                .into_iter()
                .map(|(k, _)| k),
        );
    }
    keys
}

fn replay_args<'a>(
    stream: &'a str,
    sink: &'a str,
    keyring: &'a str,
    policy: &'a str,
) -> Vec<&'a str> {
    vec![
        "replay",
        "--stream",
        stream,
        "--from",
        "trim-horizon",
        "--until-caught-up",
        "--sink",
        sink,
        "--policy",
        policy,
        "--keyring",
        keyring,
        // Many small batches: several objects per shard.
        "--flush-bytes",
        "8KiB",
        "--flush-interval",
        "10m",
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_across_a_split_is_exactly_once_and_idempotent() {
    let moto = moto_with_lake().await;
    stream_with_a_split(&moto, "cdc").await;
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("keyring");
    let policy = policy();
    let sink = format!("s3://{BUCKET}/replay");
    let args = replay_args("cdc", &sink, keyring.to_str().unwrap(), &policy);
    let env = moto.aws_env();

    let summary = ok(&args, &env);
    let total = CUSTOMERS * ROUNDS + 3;
    assert!(
        summary.contains(&format!("cdc-mask replay: {total} records")),
        "{summary}"
    );
    assert!(summary.contains("shards read: 4"), "{summary}");
    assert_exactly_once(&moto, "replay").await;
    let first = keys_under(&moto, "replay").await;
    assert!(first.len() > 8, "expected several batches: {first:?}");

    // The same range again: the same object names, nothing added.
    ok(&args, &env);
    assert_eq!(keys_under(&moto, "replay").await, first);
    assert_exactly_once(&moto, "replay").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_killed_and_resumed_from_its_checkpoint_is_exactly_once() {
    let moto = moto_with_lake().await;
    stream_with_a_split(&moto, "cdc").await;
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("keyring");
    let checkpoint = dir.path().join("replay.checkpoint");
    let policy = policy();
    let sink = format!("s3://{BUCKET}/resumed");
    let mut args = replay_args("cdc", &sink, keyring.to_str().unwrap(), &policy);
    // Slow enough to be killed in the middle: 10 records per call.
    args.extend([
        "--records-per-call",
        "10",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
    ]);
    let env = moto.aws_env();

    let mut child = cdc_mask(&args, &env).spawn().unwrap();
    wait_until("a first checkpoint", Duration::from_secs(60), || {
        checkpoint.exists()
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "finished before the kill"
    );
    send_signal(&child, "-KILL");
    let (status, _, _) = finish(child);
    assert!(!status.success());
    let saved: Value = serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    let finished = saved["shards"]
        .as_object()
        .unwrap()
        .values()
        .filter(|s| s["finished"] == true)
        .count();
    assert!(finished < 4, "killed after the end: {saved}");
    let before: usize = s3_view(&moto, "resumed", "masked")
        .await
        .iter()
        .map(|(_, l)| l.len())
        .sum();
    assert!((before as i64) < CUSTOMERS * ROUNDS, "killed after the end");

    let summary = ok(&args, &env);
    assert!(summary.contains("checkpoint: "), "{summary}");
    assert_exactly_once(&moto, "resumed").await;
    let resumed: Value = serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    let shards: BTreeMap<String, Value> =
        serde_json::from_value(resumed["shards"].clone()).unwrap();
    // The parent was split: read to its end.
    assert_eq!(
        shards["shardId-000000000000"]["finished"], true,
        "{resumed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_retries_5xx_answers_counts_them_and_stays_exactly_once() {
    let moto = moto_with_lake().await;
    stream_with_a_split(&moto, "cdc").await;
    let proxy = FaultProxy::start(&moto.endpoint, 0);
    let injected = 8;
    proxy.state.lock().unwrap().failing_first_attempts = injected;
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("keyring");
    let policy = policy();
    let sink = format!("s3://{BUCKET}/retried");
    let args = replay_args("cdc", &sink, keyring.to_str().unwrap(), &policy);
    let env = proxy.aws_env(&moto);

    let summary = ok(&args, &env);
    assert_eq!(proxy.state.lock().unwrap().answered_500, injected);
    assert!(
        summary.contains(&format!(
            "AWS calls retried (throttling, 5xx, timeouts): {injected}"
        )),
        "{summary}"
    );
    assert_exactly_once(&moto, "retried").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_stopped_before_a_killed_runs_cut_writes_no_shorter_batch() {
    let moto = moto_with_lake().await;
    let client = kinesis(&moto).await;
    client
        .create_stream()
        .stream_name("one")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    put(&client, "one", &rounds(0..ROUNDS)).await;
    let shard = "shardId-000000000000";
    let iterator = client
        .get_shard_iterator()
        .stream_name("one")
        .shard_id(shard)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap();
    let read = client
        .get_records()
        .shard_iterator(iterator.shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    let sequences: Vec<&str> = read.records().iter().map(|r| r.sequence_number()).collect();
    assert_eq!(sequences.len() as i64, CUSTOMERS * ROUNDS);
    // What a killed run leaves: records 0..50 delivered, 50..=249 in flight
    // (their objects possibly written, the checkpoint not yet moved).
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("replay.checkpoint");
    let saved = serde_json::json!({
        "version": 1,
        "stream": "one",
        "shards": {shard: {"sequence": sequences[49], "finished": false, "in_flight": sequences[249]}},
    });
    std::fs::write(&checkpoint, serde_json::to_vec(&saved).unwrap()).unwrap();
    let keyring = dir.path().join("keyring");
    let policy = policy();
    let sink = format!("s3://{BUCKET}/cut");
    let mut args = replay_args("one", &sink, keyring.to_str().unwrap(), &policy);
    args.extend(["--checkpoint", checkpoint.to_str().unwrap()]);
    let proxy = FaultProxy::start(&moto.endpoint, 0);
    let env = proxy.aws_env(&moto);

    // Resumed one record per call, and stopped long before the cut.
    let mut slow = args.clone();
    slow.extend(["--records-per-call", "1"]);
    let child = cdc_mask(&slow, &env).spawn().unwrap();
    wait_until("five GetRecords calls", Duration::from_secs(60), || {
        proxy.state.lock().unwrap().get_records >= 5
    });
    send_signal(&child, "-INT");
    let (status, stdout, stderr) = finish(child);
    assert!(status.success(), "{stdout}{stderr}");
    let left = stdout
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("records left for the next resume (read again from the checkpoint): ")
        })
        .unwrap_or_else(|| panic!("no deferred records: {stdout}"));
    assert!(left.parse::<u64>().unwrap() > 0, "{stdout}");
    assert!(
        keys_under(&moto, "cut").await.is_empty(),
        "nothing delivered"
    );
    let after: Value = serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    assert_eq!(
        after, saved,
        "the checkpoint stays where the killed run left it"
    );

    // Resumed to the end: the in-flight batch under its recorded name, then
    // the rest, each record once.
    ok(&args, &env);
    let masked = s3_view(&moto, "cut", "masked").await;
    let cut_object = format!("{shard}-{}-{}.jsonl.gz", sequences[50], sequences[249]);
    assert!(
        masked
            .iter()
            .any(|(key, lines)| key.ends_with(&cut_object) && lines.len() == 200),
        "{:?}",
        masked.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    let lines = in_stream_order(masked);
    assert_eq!(lines.len(), 250);
    let mut seen = BTreeSet::new();
    for line in &lines {
        let row: Value = serde_json::from_str(line).unwrap();
        assert!(
            seen.insert((row["id"].as_i64().unwrap(), row["n"].as_i64().unwrap())),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_stream_bucket_or_credentials_is_one_line() {
    let moto = moto_with_lake().await;
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("keyring");
    let policy = policy();
    let env = moto.aws_env();
    let sink = format!("s3://{BUCKET}/x");
    let args = replay_args("nope", &sink, keyring.to_str().unwrap(), &policy);
    fails_with(
        &output_of(&args, &env),
        "Kinesis stream nope does not exist",
    );

    let gen = |sink: &str, env: &[(&str, String)]| {
        output_of(
            &[
                "run",
                "--source",
                "generate",
                "--sink",
                sink,
                "--policy",
                &policy,
                "--keyring",
                keyring.to_str().unwrap(),
            ],
            env,
        )
    };
    fails_with(
        &gen("s3://no-such-bucket/x", &env),
        "bucket no-such-bucket does not exist",
    );

    let mut no_credentials: Vec<(&str, String)> = env
        .iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY") && !k.starts_with("AWS_SECRET"))
        .cloned()
        .collect();
    // Empty profile files: no credentials there either.
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.display().to_string();
    no_credentials.push(("AWS_SHARED_CREDENTIALS_FILE", empty.clone()));
    no_credentials.push(("AWS_CONFIG_FILE", empty));
    no_credentials.push(("AWS_PROFILE", "default".to_owned()));
    let out = gen(&sink, &no_credentials);
    fails_with(&out, "no AWS credentials found");
    assert!(s3_view(&moto, "x", "masked").await.is_empty());
}

// ---------------------------------------------------------------------------
// Firehose sink, with failures injected in front of moto
// ---------------------------------------------------------------------------

/// What the fault proxy saw and did.
#[derive(Debug, Default)]
struct ProxyState {
    /// PutRecordBatch calls still to answer with injected failures.
    faulty_calls: usize,
    /// Entries answered `ServiceUnavailableException` without reaching moto.
    injected: usize,
    /// Records in all PutRecordBatch requests received.
    records_received: usize,
    /// Largest PutRecordBatch request: (records, bytes of data).
    largest: (usize, usize),
    /// Kinesis `GetRecords` and S3 `PUT` requests still to answer `500`
    /// without reaching moto, on their first attempt only (so the SDK's
    /// retry succeeds).
    failing_first_attempts: usize,
    /// Requests answered `500` so far.
    answered_500: usize,
    /// Kinesis `GetRecords` requests seen.
    get_records: usize,
}

/// A pass-through HTTP proxy in front of the real moto server that injects
/// partial failures, since moto's Firehose never reports any: on the first
/// `faulty_calls` `PutRecordBatch` requests it withholds every third record
/// from moto and answers that entry `ServiceUnavailableException` (as
/// Firehose does under load), merging moto's answers for the rest in order.
/// Every other request and response passes unchanged, except the first
/// attempts of `failing_first_attempts` `GetRecords` / S3 `PUT` requests,
/// which it answers `500 Internal Server Error` itself. moto does not check
/// SigV4 signatures, so the shortened body is accepted.
struct FaultProxy {
    endpoint: String,
    state: std::sync::Arc<std::sync::Mutex<ProxyState>>,
}

impl FaultProxy {
    fn start(upstream: &str, faulty_calls: usize) -> FaultProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let state = std::sync::Arc::new(std::sync::Mutex::new(ProxyState {
            faulty_calls,
            ..ProxyState::default()
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let upstream = upstream.clone();
                let state = shared.clone();
                std::thread::spawn(move || {
                    let _ = proxy_connection(client, &upstream, &state);
                });
            }
        });
        FaultProxy { endpoint, state }
    }

    /// moto's AWS environment with every call going through this proxy.
    fn aws_env(&self, moto: &MotoServer) -> Vec<(&'static str, String)> {
        let mut env = moto.aws_env();
        env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
        env.push(("AWS_ENDPOINT_URL", self.endpoint.clone()));
        env
    }
}

type Head = (String, Vec<(String, String)>);

fn read_head(reader: &mut impl std::io::BufRead) -> std::io::Result<Option<Head>> {
    let mut first = String::new();
    if reader.read_line(&mut first)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(Some((first.trim_end().to_owned(), headers)))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn body_of(reader: &mut impl std::io::BufRead, headers: &[(String, String)]) -> Vec<u8> {
    assert!(
        header(headers, "transfer-encoding").is_none(),
        "the fault proxy handles Content-Length bodies only"
    );
    let len: usize = header(headers, "content-length").map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    body
}

fn write_message(
    out: &mut impl std::io::Write,
    first: &str,
    headers: &[(String, String)],
    body: &[u8],
    close: bool,
) {
    let mut head = format!("{first}\r\n");
    for (name, value) in headers {
        let skip = ["content-length", "connection", "transfer-encoding"];
        if !skip.iter().any(|s| name.eq_ignore_ascii_case(s)) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    let connection = if close { "close" } else { "keep-alive" };
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: {connection}\r\n\r\n",
        body.len()
    ));
    out.write_all(head.as_bytes()).unwrap();
    out.write_all(body).unwrap();
    out.flush().unwrap();
}

fn proxy_connection(
    client: std::net::TcpStream,
    upstream: &str,
    state: &std::sync::Mutex<ProxyState>,
) -> std::io::Result<()> {
    use base64::Engine as _;
    let mut out = client.try_clone()?;
    let mut reader = std::io::BufReader::new(client);
    while let Some((first, headers)) = read_head(&mut reader)? {
        let mut body = body_of(&mut reader, &headers);
        if fails_with_500(&first, &headers, state) {
            let error =
                br#"{"__type":"InternalFailure","message":"injected by the test's fault proxy"}"#;
            write_message(
                &mut out,
                "HTTP/1.1 500 Internal Server Error",
                &[],
                error,
                false,
            );
            continue;
        }
        let put_batch =
            header(&headers, "x-amz-target") == Some("Firehose_20150804.PutRecordBatch");
        let mut withheld: Vec<bool> = Vec::new();
        if put_batch {
            let mut request: Value = serde_json::from_slice(&body).unwrap();
            let records = request["Records"].as_array().unwrap().clone();
            let mut st = state.lock().unwrap();
            st.records_received += records.len();
            let bytes: usize = records
                .iter()
                .map(|r| {
                    base64::engine::general_purpose::STANDARD
                        .decode(r["Data"].as_str().unwrap())
                        .unwrap()
                        .len()
                })
                .sum();
            st.largest = st.largest.max((records.len(), bytes));
            if st.faulty_calls > 0 {
                st.faulty_calls -= 1;
                withheld = (0..records.len()).map(|i| i % 3 == 0).collect();
                st.injected += withheld.iter().filter(|w| **w).count();
                let kept: Vec<Value> = records
                    .into_iter()
                    .zip(&withheld)
                    .filter(|(_, w)| !**w)
                    .map(|(r, _)| r)
                    .collect();
                request["Records"] = Value::Array(kept);
                body = serde_json::to_vec(&request).unwrap();
            }
        }
        let mut moto = std::net::TcpStream::connect(upstream)?;
        write_message(&mut moto, &first, &headers, &body, true);
        let mut moto_reader = std::io::BufReader::new(moto);
        let (status, response_headers) = read_head(&mut moto_reader)?.unwrap();
        let mut response = body_of(&mut moto_reader, &response_headers);
        if !withheld.is_empty() {
            let answer: Value = serde_json::from_slice(&response).unwrap();
            let mut accepted = answer["RequestResponses"].as_array().unwrap().iter();
            let merged: Vec<Value> = withheld
                .iter()
                .map(|w| {
                    if *w {
                        serde_json::json!({
                            "ErrorCode": "ServiceUnavailableException",
                            "ErrorMessage": "injected by the test's fault proxy"
                        })
                    } else {
                        accepted.next().unwrap().clone()
                    }
                })
                .collect();
            let failed = withheld.iter().filter(|w| **w).count();
            response = serde_json::to_vec(&serde_json::json!({
                "FailedPutCount": failed,
                "Encrypted": false,
                "RequestResponses": merged,
            }))
            .unwrap();
        }
        write_message(&mut out, &status, &response_headers, &response, false);
    }
    Ok(())
}

/// Whether the proxy answers this request `500` itself (and counts it).
fn fails_with_500(
    first: &str,
    headers: &[(String, String)],
    state: &std::sync::Mutex<ProxyState>,
) -> bool {
    let first_attempt =
        header(headers, "amz-sdk-request").is_some_and(|v| v.starts_with("attempt=1;"));
    let get_records = header(headers, "x-amz-target") == Some("Kinesis_20131202.GetRecords");
    let s3_put = first.starts_with("PUT ") && header(headers, "x-amz-target").is_none();
    let mut st = state.lock().unwrap();
    st.get_records += usize::from(get_records);
    if first_attempt && (get_records || s3_put) && st.failing_first_attempts > 0 {
        st.failing_first_attempts -= 1;
        st.answered_500 += 1;
        return true;
    }
    false
}

/// Every line of every object under `prefix/` in the bucket (moto's Firehose
/// writes the records of each call, concatenated, as one object).
async fn s3_lines(moto: &MotoServer, prefix: &str) -> Vec<String> {
    let s3 = moto.s3().await;
    let listed = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(format!("{prefix}/"))
        .send()
        .await
        .unwrap();
    let mut lines = Vec::new();
    for object in listed.contents() {
        let body = s3
            .get_object()
            .bucket(BUCKET)
            .key(object.key().unwrap())
            .send()
            .await
            .unwrap();
        let bytes = body.body.collect().await.unwrap().into_bytes();
        lines.extend(
            String::from_utf8(bytes.to_vec())
                .unwrap()
                .lines()
                .map(str::to_owned),
        );
    }
    lines
}

#[tokio::test(flavor = "multi_thread")]
async fn firehose_sink_retries_only_the_failed_entries_until_all_are_delivered() {
    let moto = moto_with_lake().await;
    let firehose = aws_sdk_firehose::Client::new(&moto.sdk_config().await);
    for view in ["masked", "encrypted"] {
        firehose
            .create_delivery_stream()
            .delivery_stream_name(format!("cdc-{view}"))
            .extended_s3_destination_configuration(
                aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
                    .bucket_arn(format!("arn:aws:s3:::{BUCKET}"))
                    .role_arn("arn:aws:iam::123456789012:role/firehose")
                    .prefix(format!("fh-{view}/"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let proxy = FaultProxy::start(&moto.endpoint, 2);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("changes.jsonl");
    let rounds = 40;
    let mut text = String::new();
    for n in 0..rounds {
        for id in 0..CUSTOMERS {
            text.push_str(&change(id, n));
            text.push('\n');
        }
    }
    text.push_str(&format!("{}\n{MALFORMED}\n", control()));
    std::fs::write(&input, text).unwrap();
    let side = dir.path().join("side");
    let env = proxy.aws_env(&moto);
    let summary = ok(
        &[
            "run",
            "--source",
            &format!("file:{}", input.display()),
            "--sink",
            "firehose:cdc-masked,cdc-encrypted",
            "--side-sink",
            &format!("dir:{}", side.display()),
            "--policy",
            &policy(),
            "--keyring",
            dir.path().join("keyring").to_str().unwrap(),
        ],
        &env,
    );
    let rows = (CUSTOMERS * rounds) as usize;
    {
        let state = proxy.state.lock().unwrap();
        // A third of the first call, then a third of its retry.
        assert!(state.injected >= 167, "{state:?}");
        // Only the failed entries were sent again.
        assert_eq!(
            state.records_received,
            2 * rows + state.injected,
            "{state:?}"
        );
        assert!(
            state.largest.0 <= 500 && state.largest.1 <= 4 * 1024 * 1024,
            "{state:?}"
        );
        assert!(
            summary.contains(&format!("Firehose entries retried: {}", state.injected)),
            "{summary}"
        );
    }
    for view in ["masked", "encrypted"] {
        let lines = s3_lines(&moto, &format!("fh-{view}")).await;
        assert_eq!(lines.len(), rows, "{view}");
        for id in 0..CUSTOMERS {
            let mut seen = changes_of(&lines, id);
            seen.sort_unstable();
            assert_eq!(
                seen,
                (0..rounds).collect::<Vec<_>>(),
                "{view}: customer {id}"
            );
        }
    }
    assert_eq!(dir_lines(&side, "control").len(), 1);
    assert_eq!(dir_lines(&side, "quarantine/unknown").len(), 1);
}
