//! `cdc-mask replay` from Kinesis into S3 on the moto server: two shards, a
//! split in the middle, a SIGKILL and a resume, 5xx answers, a killed run's
//! cut, missing resources.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::time::Duration;

use serde_json::Value;

use crate::support::{FaultProxy, MotoServer};
use crate::{
    cdc_mask, change, changes_of, control, fails_with, finish, moto_with_lake, ok, output_of,
    policy, send_signal, wait_until, BUCKET, CUSTOMERS, MALFORMED, ROUNDS,
};

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
    let proxy = FaultProxy::start(&moto, 0);
    let injected = 8;
    proxy.state().failing_first_attempts = injected;
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("keyring");
    let policy = policy();
    let sink = format!("s3://{BUCKET}/retried");
    let args = replay_args("cdc", &sink, keyring.to_str().unwrap(), &policy);
    let env = proxy.aws_env(&moto);

    let summary = ok(&args, &env);
    assert_eq!(proxy.state().answered_500, injected);
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
    let proxy = FaultProxy::start(&moto, 0);
    let env = proxy.aws_env(&moto);

    // Resumed one record per call, and stopped long before the cut.
    let mut slow = args.clone();
    slow.extend(["--records-per-call", "1"]);
    let child = cdc_mask(&slow, &env).spawn().unwrap();
    wait_until("five GetRecords calls", Duration::from_secs(60), || {
        proxy.state().get_records >= 5
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
