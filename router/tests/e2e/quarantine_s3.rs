//! `cdc-mask quarantine list|reprocess` on an S3 lake (moto): the objects
//! the router seals into (gzip) and the objects Firehose writes from the
//! Lambda's answers (plain, and gzip with compression on), beside reason
//! side files that the listing leaves out; and the store's listing read
//! page by page with pages of two keys.

use std::io::Write as _;

use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use serde_json::Value;

use crate::support::{workspace_root, MotoServer};
use crate::{change, moto_with_lake, ok, policy, BUCKET, MALFORMED};

/// The lake's prefix in the bucket.
const PREFIX: &str = "lake";

/// Reason side files put beside the seals (`quarantine/reasons/` sorts
/// before `quarantine/unknown/`): the listing leaves them out.
const SIDE_FILES: usize = 3;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

async fn put(moto: &MotoServer, key: &str, body: Vec<u8>) {
    moto.s3()
        .await
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .unwrap();
}

/// Every object under `PREFIX/<under>`: key and lines (gunzipped when gzip).
async fn objects(moto: &MotoServer, under: &str) -> Vec<(String, Vec<String>)> {
    let s3 = moto.s3().await;
    let mut out = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(format!("{PREFIX}/{under}"))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for object in page.unwrap().contents() {
            let key = object.key().unwrap().to_owned();
            let body = s3.get_object().bucket(BUCKET).key(&key).send().await;
            let bytes = body.unwrap().body.collect().await.unwrap().to_vec();
            let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
                gunzip(&bytes)
            } else {
                bytes
            };
            let text = String::from_utf8(bytes).unwrap();
            out.push((key, text.lines().map(str::to_owned).collect()));
        }
    }
    out
}

/// `transform-event` of `event` (a file) for `view`: the decoded `data` of
/// every answer, and the answers.
fn transform_event(
    event: &std::path::Path,
    view: &str,
    keyring: &str,
) -> (Vec<String>, Vec<Value>) {
    let out = ok(
        &[
            "transform-event",
            "--view",
            view,
            "--policy",
            &policy(),
            "--keyring",
            keyring,
            event.to_str().unwrap(),
        ],
        &[],
    );
    let response: Value = serde_json::from_str(&out).unwrap();
    let answers = response["records"].as_array().unwrap().clone();
    let lines = answers
        .iter()
        .filter(|a| a["result"] == "Ok")
        .map(|a| {
            let data = base64::engine::general_purpose::STANDARD
                .decode(a["data"].as_str().unwrap())
                .unwrap();
            String::from_utf8(data).unwrap().trim_end().to_owned()
        })
        .collect();
    (lines, answers)
}

/// The number after `label` on its line of a summary.
fn count(summary: &str, label: &str) -> u64 {
    let line = summary
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} in {summary}"));
    line.trim_start()[label.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn list_and_reprocess_a_quarantine_in_s3() {
    let moto = moto_with_lake().await;
    let env = moto.aws_env();
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("keyring").display().to_string();
    let lake = format!("s3://{BUCKET}/{PREFIX}");

    // The router's seals: a run into the S3 lake with two records that are
    // not JSON (sealed for their own bytes, gzip objects).
    let input = dir.path().join("changes.jsonl");
    let torn = MALFORMED.replace("truncated", "torn");
    let text = [change(1, 0), MALFORMED.to_owned(), change(2, 0), torn].join("\n") + "\n";
    std::fs::write(&input, text).unwrap();
    ok(
        &[
            "run",
            "--source",
            &format!("file:{}", input.display()),
            "--sink",
            &lake,
            "--policy",
            &policy(),
            "--keyring",
            &keyring,
        ],
        &env,
    );

    // Firehose's seals: the sample event from a delivery stream whose name
    // names no view is answered Ok with view=quarantine, every record
    // sealed as unknown_view (a transient cause); Firehose writes the
    // answers' data under quarantine/, plain or gzip.
    let fixture = workspace_root().join("transformer/tests/fixtures/example-firehose-event.json");
    let fixture_text = std::fs::read_to_string(&fixture).unwrap();
    let raw = dir.path().join("raw-event.json");
    std::fs::write(
        &raw,
        fixture_text.replace("deliverystream/cdc-masked", "deliverystream/cdc-raw"),
    )
    .unwrap();
    let (sealed, answers) = transform_event(&raw, "auto", &keyring);
    assert_eq!(sealed.len(), 5);
    assert!(answers
        .iter()
        .all(|a| a["metadata"]["partitionKeys"]["view"] == "quarantine"));
    let firehose = format!("{PREFIX}/quarantine/unknown/unknown/dt=unknown");
    let plain = format!("{firehose}/cdc-raw-1-2026-11-28-09-15-03-plain");
    let compressed = format!("{firehose}/cdc-raw-1-2026-11-28-09-15-04-gzip.gz");
    put(&moto, &plain, (sealed[..2].join("\n") + "\n").into_bytes()).await;
    put(
        &moto,
        &compressed,
        gzip((sealed[2..].join("\n") + "\n").as_bytes()),
    )
    .await;
    for i in 0..SIDE_FILES {
        put(
            &moto,
            &format!("{PREFIX}/quarantine/reasons/pad-{i:04}.jsonl"),
            b"{\"record_id\":\"x\",\"reason\":\"invalid_json\"}\n".to_vec(),
        )
        .await;
    }
    let in_quarantine = objects(&moto, "quarantine/").await;
    let seal_objects: Vec<&String> = in_quarantine
        .iter()
        .map(|(key, _)| key)
        .filter(|key| !key.contains("/quarantine/reasons/"))
        .collect();
    assert_eq!(seal_objects.len(), 3, "{seal_objects:?}");
    // Ours and the router's own reason side files.
    assert!(in_quarantine.len() > SIDE_FILES + 3, "{in_quarantine:?}");

    // The store reads every page: 7 keys in pages of 2, the side files
    // left out, the same 3 objects as one listing of S3's.
    let store = cdc_mask_router::quarantine::Store::S3 {
        client: moto.s3().await,
        bucket: BUCKET.to_owned(),
        prefix: PREFIX.to_owned(),
        page_size: Some(2),
    };
    let listed = store.list().await.unwrap();
    let expected: Vec<String> = seal_objects
        .iter()
        .map(|key| key[PREFIX.len() + 1..].to_owned())
        .collect();
    assert_eq!(listed, expected);

    // list: counts by reason from the clear fields, every object found.
    let listing = ok(&["quarantine", "list", &lake, "--objects"], &env);
    assert!(
        listing.starts_with(&format!(
            "quarantine of {lake}: 7 records in 7 sealed lines, 3 objects"
        )),
        "{listing}"
    );
    let reason = |name: &str| {
        listing
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {listing}"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(reason("unknown_view"), "5 5 yes");
    assert_eq!(reason("invalid_json"), "2 2 no: its own bytes");
    for key in [&plain, &compressed] {
        let name = &key[PREFIX.len() + 1..];
        assert!(
            listing.contains(&format!("  {name}: unknown_view ")),
            "{listing}"
        );
    }
    assert!(!listing.contains("example."), "no content: {listing}");

    // reprocess: the transient seals through both views into the lake.
    let reprocess = [
        "quarantine",
        "reprocess",
        &lake,
        "--policy",
        &policy(),
        "--keyring",
        &keyring,
    ];
    let summary = ok(&reprocess, &env);
    assert_eq!(count(&summary, "taken back:"), 5, "{summary}");
    assert_eq!(count(&summary, "left sealed:"), 2, "{summary}");
    let requeued = |objects: &[(String, Vec<String>)]| {
        let mut lines: Vec<String> = objects
            .iter()
            .filter(|(key, _)| key.contains("/requeue-"))
            .flat_map(|(_, lines)| lines.clone())
            .collect();
        lines.sort();
        lines
    };
    let masked = requeued(&objects(&moto, "masked/").await);
    let encrypted = requeued(&objects(&moto, "encrypted/").await);
    let control = requeued(&objects(&moto, "control/").await);
    // The rows of a direct run: the same event through the masked view.
    let (mut direct, answers) = transform_event(&fixture, "masked", &keyring);
    let rows = answers.iter().filter(|a| a["result"] == "Ok").count();
    assert_eq!((rows, masked.len(), encrypted.len()), (4, 4, 4));
    assert_eq!(control.len(), 1, "the control record, logged");
    direct.sort();
    assert_eq!(masked, direct, "reprocessed rows differ from a direct run");
    assert!(!masked.iter().any(|l| l.contains("jdoe@example.com")));

    // A second pass writes the same objects again, nothing twice.
    let keys = |objects: Vec<(String, Vec<String>)>| {
        objects
            .into_iter()
            .map(|(key, _)| key)
            .filter(|key| !key.contains("/quarantine/"))
            .collect::<Vec<_>>()
    };
    let before = keys(objects(&moto, "").await);
    let again = ok(&reprocess, &env);
    assert_eq!(count(&again, "taken back:"), 5, "{again}");
    assert_eq!(keys(objects(&moto, "").await), before);
    assert_eq!(requeued(&objects(&moto, "masked/").await), masked);
}
