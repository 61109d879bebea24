//! The largest buffer the template lets Firehose hand the Lambda stays
//! within the Lambda's 6 MB response limit: on the sample tables' worst case
//! for growth every record is answered `Ok` with no overflow; on the worst
//! case of all (tiny records, every one sealed, as many as a 6 MB request
//! holds) what does not fit is sealed in an overflow bundle, counted, and
//! the response still fits. Nothing is failed back, nothing lost.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use cdc_mask_core::firehose::MAX_RESPONSE_BYTES;
use cdc_mask_transformer::settings::{Setting, SettingsBuilder};
use serde_json::{json, Value};

/// `ProcessorBufferSizeMBs`'s `MaxValue` in the template, in bytes
/// (Firehose counts MB as 2^20 bytes of record data).
fn template_max_buffer_bytes() -> usize {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/template.yaml"
    ))
    .unwrap();
    let parameter = template
        .split("\n  ProcessorBufferSizeMBs:\n")
        .nth(1)
        .expect("the template has ProcessorBufferSizeMBs");
    let max: f64 = parameter
        .lines()
        .take_while(|l| l.starts_with("    ") || l.is_empty())
        .find_map(|l| l.trim().strip_prefix("MaxValue:"))
        .expect("ProcessorBufferSizeMBs has a MaxValue")
        .trim()
        .parse()
        .unwrap();
    (max * f64::from(1u32 << 20)) as usize
}

/// An update of `dataset.card` with every protected column short in both
/// images: the most growth per input byte the sample tables allow (each
/// short value becomes a whole ciphertext, twice).
fn card_update(i: usize) -> Vec<u8> {
    let image = |n: usize| {
        format!(
            r#"{{"id":{n},"customer_id":{n},"card_number":"4{n:015}","card_expiration":"12/{:02}","card_security_code":"{:03}","provider":"VISA"}}"#,
            n % 30,
            n % 1000
        )
    };
    format!(
        r#"{{"data":{},"before-image":{},"metadata":{{"timestamp":"2026-11-28T09:16:00.500000Z","record-type":"data","operation":"update","partition-key-type":"schema-table","schema-name":"dataset","table-name":"card","transaction-id":{i}}}}}"#,
        image(i),
        image(i + 1)
    )
    .into_bytes()
}

/// A record that is not DMS JSON, so that it is sealed: the quarantine's
/// growth.
fn not_dms(i: usize) -> Vec<u8> {
    format!(r#"{{"x":{i}}}"#).into_bytes()
}

/// Most bytes a synchronous Lambda request holds: Firehose never sends more.
const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;

/// Makes the `i`th record of an event.
type MakeRecord = fn(usize) -> Vec<u8>;

/// A Firehose event holding `make(i)` records up to `budget` bytes of data,
/// and no larger than a Lambda request can be.
fn event(budget: usize, make: MakeRecord) -> (Vec<u8>, usize, usize) {
    let (mut records, mut bytes, mut request) = (Vec::new(), 0, 200);
    for i in 0.. {
        let record = make(i);
        let entry = json!({
            "recordId": format!("49546986683135544286507457936321625675700192471156785154{i:08}"),
            "approximateArrivalTimestamp": 1_764_288_000_000u64,
            "data": BASE64.encode(&record),
        });
        let entry_bytes = entry.to_string().len() + 1;
        if bytes + record.len() > budget || request + entry_bytes > MAX_REQUEST_BYTES {
            break;
        }
        bytes += record.len();
        request += entry_bytes;
        records.push(entry);
    }
    let count = records.len();
    let event = json!({
        "invocationId": "00540a87-5050-496a-84e4-e7d92bbaf5e2",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/cdc-encrypted",
        "region": "us-east-1",
        "records": records,
    });
    (serde_json::to_vec(&event).unwrap(), count, bytes)
}

#[tokio::test]
async fn the_largest_buffer_the_template_allows_fits_one_response() {
    let budget = template_max_buffer_bytes();
    assert!(budget <= 1 << 20, "derived from the measured growth: 1 MB");
    let dir = tempfile::tempdir().unwrap();
    let policy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schemas/examples/policy.json"
    );
    for (view, shape) in [
        ("masked", "flat"),
        ("encrypted", "flat"),
        ("encrypted", "envelope"),
    ] {
        let mut builder = SettingsBuilder::from_flags();
        builder
            .set(Setting::View, view)
            .set(Setting::Policy, policy)
            .set(Setting::Shape, shape)
            .set(
                Setting::Keyring,
                dir.path().join("keyring").display().to_string(),
            );
        let processor = builder.build().unwrap().processor().await.unwrap();
        let mut cases: Vec<(&str, MakeRecord)> = vec![("card updates", card_update)];
        if (view, shape) == ("encrypted", "flat") {
            // Sealing does not depend on the view: once is enough.
            cases.push(("sealed", not_dms));
        }
        for (kind, make) in cases {
            let (event, count, data) = event(budget, make);
            let result = processor.process(&event).await.unwrap();
            let growth = result.response.len() as f64 / data as f64;
            println!("{view}/{shape}, {kind}: {count} records, {data} bytes of data, response {} bytes ({growth:.2}x)", result.response.len());
            assert!(
                result.response.len() <= MAX_RESPONSE_BYTES,
                "{view}/{shape} {kind}: {} bytes",
                result.response.len()
            );
            let response: Value = serde_json::from_slice(&result.response).unwrap();
            let answers = response["records"].as_array().unwrap();
            assert_eq!(answers.len(), count);
            assert_eq!(result.stats.lost, 0);
            let overflowed = result
                .stats
                .quarantined
                .iter()
                .find(|(r, _)| *r == cdc_mask_core::Reason::ResponseOverflow)
                .map_or(0, |(_, n)| *n);
            let dropped = answers.iter().filter(|a| a["result"] == "Dropped").count() as u64;
            if kind == "card updates" {
                assert!(answers.iter().all(|a| a["result"] == "Ok"), "{view} {kind}");
                assert_eq!(overflowed, 0, "{view}/{shape} {kind}");
                // Headroom: half as much again would still fit.
                assert!(
                    growth * 1.5 * (budget as f64) < MAX_RESPONSE_BYTES as f64,
                    "{growth}"
                );
            } else {
                // Overflowed records travel in one sealed bundle carried by
                // the first of them; the rest are Dropped, none failed.
                assert!(answers.iter().all(|a| a["result"] != "ProcessingFailed"));
                assert_eq!(dropped + u64::from(overflowed > 0), overflowed);
                println!("  {overflowed} records sealed in an overflow bundle");
            }
        }
    }
}
