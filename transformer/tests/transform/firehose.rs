//! Whole Firehose events: every record answered once, the view from the
//! delivery stream, malformed records quarantined one by one, and the
//! response under the Lambda's 6 MB.

use super::*;

#[tokio::test]
async fn firehose_fixture_answers_every_record_once() {
    let env = Env::new();
    let event = fixture("example-firehose-event.json");
    let input: Value = serde_json::from_slice(&event).unwrap();
    for view in [View::Masked, View::Encrypted] {
        let answers = answers(&env.processor(view, Shape::Flat).await, &event).await;
        let ids: Vec<&Value> = input["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["recordId"])
            .collect();
        let answered: Vec<&Value> = answers.iter().map(|a| &a["recordId"]).collect();
        assert_eq!(ids, answered);
        let results: Vec<&str> = answers
            .iter()
            .map(|a| a["result"].as_str().unwrap())
            .collect();
        assert_eq!(results, ["Ok", "Ok", "Ok", "Ok", "Dropped"]);
        for a in &answers[..4] {
            let keys = &a["metadata"]["partitionKeys"];
            assert_eq!(
                keys,
                &json!({"view": view.as_str(), "schema": "dataset", "table": "customer", "dt": "2026-11-28"})
            );
        }
        assert_eq!(answers[4]["metadata"]["partitionKeys"]["view"], "control");
    }
}

#[tokio::test]
async fn auto_view_follows_the_delivery_stream_and_fails_closed() {
    let env = Env::new();
    let processor = env
        .local
        .settings("auto", Shape::Flat, &[])
        .processor()
        .await
        .unwrap();
    let event = String::from_utf8(event(&[&fixture("example-dms-insert.json")])).unwrap();
    let encrypted = event.replace("cdc-masked", "cdc-encrypted");
    assert_eq!(
        processor.process(event.as_bytes()).await.unwrap().view,
        Some(View::Masked)
    );
    assert_eq!(
        processor.process(encrypted.as_bytes()).await.unwrap().view,
        Some(View::Encrypted)
    );
    // A stream naming no view: nothing can be protected, everything sealed.
    let neither = event.replace("cdc-masked", "cdc-raw");
    let result = processor.process(neither.as_bytes()).await.unwrap();
    assert_eq!(result.view, None);
    assert_eq!(
        result.stats.quarantined,
        vec![(cdc_mask_core::Reason::UnknownView, 1)]
    );
    let answers = answers(&processor, neither.as_bytes()).await;
    assert_eq!(answers[0]["result"], "Ok");
    assert_eq!(
        answers[0]["metadata"]["partitionKeys"]["view"],
        "quarantine"
    );
}

#[tokio::test]
async fn malformed_records_are_quarantined_one_by_one_and_unseal_exactly() {
    let env = Env::new();
    let good = fixture("example-dms-insert.json");
    let deep = format!(
        r#"{{"data":{{"a":{}1{}}}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let large = insert(
        "customer",
        &format!(r#"{{"mail":"{}"}}"#, "x".repeat(1024 * 1024)),
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "invalid_json",
            br#"{"data":{"mail":"truncated@example.com""#.to_vec(),
        ),
        (
            "invalid_utf8",
            b"{\"data\":{\"mail\":\"\xff\xfe\"}}".to_vec(),
        ),
        ("too_deep", deep.into_bytes()),
        ("too_large", large),
        (
            "not_dms_record",
            br#"{"mail":"no-envelope@example.com"}"#.to_vec(),
        ),
        ("invalid_json", br#"[1,2,3]"#.to_vec()),
        (
            "unknown_record_type",
            br#"{"data":{},"metadata":{"record-type":"weird"}}"#.to_vec(),
        ),
        (
            "duplicate_field",
            br#"{"data":{},"data":{},"metadata":{"record-type":"data"}}"#.to_vec(),
        ),
    ];
    let mut records: Vec<&[u8]> = vec![&good];
    records.extend(cases.iter().map(|(_, r)| r.as_slice()));
    records.push(&good);
    let mut event: Value = serde_json::from_slice(&event(&records)).unwrap();
    // Not base64 at all, and data that is not even a string.
    event["records"]
        .as_array_mut()
        .unwrap()
        .push(json!({"recordId": "b64", "data": "!!not base64!!"}));
    event["records"]
        .as_array_mut()
        .unwrap()
        .push(json!({"recordId": "num", "data": 12}));
    let event = serde_json::to_vec(&event).unwrap();

    for view in [View::Masked, View::Encrypted] {
        let processor = env.processor(view, Shape::Flat).await;
        let result = processor.process(&event).await.unwrap();
        assert_eq!(result.stats.quarantined_total(), cases.len() as u64 + 2);
        assert_eq!(result.stats.rows, 2);
        let response: Value = serde_json::from_slice(&result.response).unwrap();
        let answers = response["records"].as_array().unwrap();
        assert_eq!(answers.len(), records.len() + 2);
        assert!(
            answers.iter().all(|a| a["result"] == "Ok"),
            "never ProcessingFailed"
        );
        let raw = String::from_utf8_lossy(&result.response);
        for pii in ["truncated@example.com", "no-envelope@example.com"] {
            assert!(!raw.contains(&BASE64.encode(pii)) && !raw.contains(pii));
        }
        let mut expected: Vec<(&str, Vec<u8>)> = cases.clone();
        expected.push(("invalid_base64", br#""!!not base64!!""#.to_vec()));
        expected.push(("invalid_base64", b"12".to_vec()));
        let quarantined = answers
            .iter()
            .filter(|a| a["metadata"]["partitionKeys"]["view"] == "quarantine");
        let mut keys = env.unwrap_cache();
        for (answer, (reason, original)) in quarantined.zip(&expected) {
            let line = BASE64.decode(answer["data"].as_str().unwrap()).unwrap();
            let unsealed = keys.unseal(&line).await.unwrap().remove(0);
            assert_eq!(unsealed.reason, *reason);
            assert_eq!(unsealed.record_id, answer["recordId"].as_str().unwrap());
            assert_eq!(
                unsealed.original.as_slice(),
                original.as_slice(),
                "{reason}"
            );
        }
    }
}

/// A 3 KB insert whose protected name grows a lot when encrypted: 1,500 of
/// them cannot be answered within 6 MB.
fn wide_row() -> Vec<u8> {
    insert(
        "customer",
        &format!(
            r#"{{"name":"{}","mail":"m","username":"u"}}"#,
            "n".repeat(3000)
        ),
    )
}

#[tokio::test]
async fn the_response_stays_under_six_megabytes() {
    let env = Env::new();
    // ~4.5 MB of input whose protected values grow a lot when encrypted.
    let record = wide_row();
    let records: Vec<&[u8]> = std::iter::repeat_n(record.as_slice(), 1500).collect();
    let event = event(&records);
    let processor = env.processor(View::Encrypted, Shape::Flat).await;
    let result = processor.process(&event).await.unwrap();
    assert!(result.response.len() <= cdc_mask_core::firehose::MAX_RESPONSE_BYTES);
    let response: Value = serde_json::from_slice(&result.response).unwrap();
    let answers = response["records"].as_array().unwrap();
    assert_eq!(answers.len(), 1500, "every record answered");
    assert!(
        answers.iter().all(|a| a["result"] != "ProcessingFailed"),
        "no raw record is handed back"
    );
    let ok = answers.iter().filter(|a| a["result"] == "Ok").count() as u64;
    let dropped = answers.iter().filter(|a| a["result"] == "Dropped").count() as u64;
    assert!(dropped > 0, "this batch cannot fit");
    // The overflowed records are sealed in one bundle, carried by the first
    // of them; the others are Dropped.
    let bundled = result
        .stats
        .quarantined
        .iter()
        .find(|(r, _)| *r == cdc_mask_core::Reason::ResponseOverflow)
        .map_or(0, |(_, n)| *n);
    assert_eq!(bundled, dropped + 1);
    assert_eq!(ok, result.stats.rows + 1);
    assert_eq!(
        result.stats.rows + bundled,
        1500,
        "every record counted once"
    );
    assert_eq!(result.stats.lost, 0);
    let carrier = answers
        .iter()
        .position(|a| a["metadata"]["partitionKeys"]["view"] == "quarantine")
        .unwrap();
    assert!(answers[carrier + 1..]
        .iter()
        .all(|a| a["result"] == "Dropped"));
    let line = BASE64
        .decode(answers[carrier]["data"].as_str().unwrap())
        .unwrap();
    let unsealed = env.unwrap_cache().unseal(&line).await.unwrap();
    assert_eq!(unsealed.len() as u64, bundled);
    for (entry, answer) in unsealed.iter().zip(&answers[carrier..]) {
        assert_eq!(entry.record_id, answer["recordId"].as_str().unwrap());
        assert_eq!(entry.original.as_slice(), record.as_slice());
        assert_eq!(entry.reason, "response_overflow");
    }
}

/// Records past the point where the answers can no longer fit are bundled
/// as they came, without being transformed: rows, malformed records and
/// records that are not base64 alike, in order; control records are still
/// answered `Dropped` and counted as such, wherever they are.
#[tokio::test]
async fn records_past_the_limit_are_bundled_and_control_records_still_dropped() {
    let env = Env::new();
    let row = wide_row();
    let control = br#"{"control":{"table-def":{}},"metadata":{"timestamp":"2026-11-28T10:00:00.000000Z","record-type":"control","operation":"create-table","partition-key-type":"task-id","schema-name":"dataset","table-name":"customer"}}"#.to_vec();
    // The same without the word `control`: its record type spelled with
    // an escape, no `control` member.
    let escaped = String::from_utf8(control.clone())
        .unwrap()
        .replace(
            r#""record-type":"control""#,
            r#""record-type":"contro\u006c""#,
        )
        .replace(r#""control":{"table-def":{}},"#, "")
        .into_bytes();
    assert!(!String::from_utf8_lossy(&escaped).contains("control"));
    let malformed = br#"{"data":{"mail":"cut@example.com""#.to_vec();
    // Every 50th record a control record (every other one escaped), every
    // 50th (offset 25) a malformed one, and every 50th (offset 10) data
    // that is not base64.
    let records: Vec<&[u8]> = (0..1500)
        .map(|i| match i % 50 {
            0 if i % 100 == 0 => control.as_slice(),
            0 => escaped.as_slice(),
            25 => malformed.as_slice(),
            _ => row.as_slice(),
        })
        .collect();
    let mut event: Value = serde_json::from_slice(&event(&records)).unwrap();
    let mut originals: Vec<Vec<u8>> = records.iter().map(|r| r.to_vec()).collect();
    for (i, record) in event["records"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        if i % 50 == 10 {
            record["data"] = json!("!!not base64!!");
            originals[i] = br#""!!not base64!!""#.to_vec();
        }
    }
    let event = serde_json::to_vec(&event).unwrap();
    let controls = records.len() as u64 / 50;

    let processor = env.processor(View::Encrypted, Shape::Flat).await;
    let result = processor.process(&event).await.unwrap();
    assert!(result.response.len() <= cdc_mask_core::firehose::MAX_RESPONSE_BYTES);
    let stats = &result.stats;
    assert_eq!(stats.dropped_control, controls);
    assert_eq!(stats.lost, 0);
    assert_eq!(
        stats.rows + stats.dropped_control + stats.quarantined_total(),
        records.len() as u64,
        "every record counted once"
    );
    let response: Value = serde_json::from_slice(&result.response).unwrap();
    let answers = response["records"].as_array().unwrap();
    assert_eq!(answers.len(), records.len());
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer["recordId"], format!("r{i}"));
        if i % 50 == 0 {
            assert_eq!(answer["result"], "Dropped", "control record {i}");
        }
    }
    let carrier = answers
        .iter()
        .position(|a| {
            a["metadata"]["partitionKeys"]["view"] == "quarantine" && {
                let line = BASE64.decode(a["data"].as_str().unwrap()).unwrap();
                String::from_utf8_lossy(&line).contains("response_overflow")
            }
        })
        .expect("an overflow bundle");
    assert!(carrier < 1400, "the batch overflows well before its end");
    let line = BASE64
        .decode(answers[carrier]["data"].as_str().unwrap())
        .unwrap();
    let unsealed = env.unwrap_cache().unseal(&line).await.unwrap();
    let expected: Vec<usize> = (carrier..records.len()).filter(|i| i % 50 != 0).collect();
    assert_eq!(unsealed.len(), expected.len());
    for (entry, &i) in unsealed.iter().zip(&expected) {
        assert_eq!(entry.record_id, format!("r{i}"));
        assert_eq!(
            entry.original.as_slice(),
            originals[i].as_slice(),
            "record {i}"
        );
        assert_eq!(entry.reason, "response_overflow");
    }
    // Before the carrier, malformed records are sealed one by one.
    let singles = answers[..carrier]
        .iter()
        .filter(|a| a["metadata"]["partitionKeys"]["view"] == "quarantine")
        .count();
    assert_eq!(
        singles,
        (0..carrier)
            .filter(|i| i % 50 == 10 || i % 50 == 25)
            .count()
    );
}

/// A batch shares rendered partition keys between records of the same
/// view, table and day: each record still gets its own, across more
/// tables and days than a batch remembers, and records that alternate.
#[tokio::test]
async fn partition_keys_follow_each_records_table_and_day() {
    let env = Env::new();
    let record = |schema: &str, table: &str, day: u32, record_type: &str| {
        let timestamp = if day == 0 {
            // No date of its own: the arrival date (2025-11-28) counts.
            String::new()
        } else {
            format!(r#""timestamp":"2026-11-{day:02}T09:15:03.000001Z","#)
        };
        format!(r#"{{"data":{{"id":1}},"metadata":{{{timestamp}"record-type":"{record_type}","operation":"insert","partition-key-type":"schema-table","schema-name":"{schema}","table-name":"{table}"}}}}"#).into_bytes()
    };
    let mut records = Vec::new();
    let mut expected = Vec::new();
    for i in 0..60u32 {
        // Alternating tables and days, a control record among them, then
        // a run of eleven tables (two named as above, in another schema,
        // the first of them right after its namesake on the same day) that
        // cycles through more entries than are remembered.
        let (schema, table, day) = match i {
            0..20 => (
                "dataset",
                ["customer", "orders", "odd.name"][i as usize % 3],
                1 - i % 2,
            ),
            _ => (
                "other",
                [
                    "a", "b", "c", "d", "e", "orders", "g", "h", "i", "customer", "k",
                ][i as usize % 11],
                1 + i % 4,
            ),
        };
        let (view, record_type) = if i == 6 {
            ("control", "control")
        } else {
            ("masked", "data")
        };
        records.push(record(schema, table, day, record_type));
        let dt = if day == 0 {
            "2025-11-28".to_owned()
        } else {
            format!("2026-11-{day:02}")
        };
        let table = table.replace('.', "%2E");
        expected.push(json!({"view": view, "schema": schema, "table": table, "dt": dt}));
    }
    let records: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    let answers = answers(
        &env.processor(View::Masked, Shape::Flat).await,
        &event(&records),
    )
    .await;
    let keys: Vec<&Value> = answers
        .iter()
        .map(|a| &a["metadata"]["partitionKeys"])
        .collect();
    assert_eq!(keys, expected.iter().collect::<Vec<_>>());
}
