//! `cdc-mask run` into the Firehose sink on the moto server, behind the
//! fault proxy: only the failed entries are sent again, until all are
//! delivered, within the PutRecordBatch limits.

use crate::support::{FaultProxy, MotoServer};
use crate::{
    change, changes_of, control, dir_lines, moto_with_lake, ok, policy, BUCKET, CUSTOMERS,
    MALFORMED,
};

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
    let proxy = FaultProxy::start(&moto, 2);
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
        let state = proxy.state();
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
