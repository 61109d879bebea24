//! Tables as analysts expect them (issue 16): rows routed to Iceberg tables
//! with `otfMetadata`, the quarantine stream of an Iceberg deployment,
//! `encrypt-deterministic` and token join domains end to end, table keys,
//! and the current state folded from the emitted operations.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use cdc_mask_core::decrypt::DetReader;
use cdc_mask_core::keys::DeterministicKey;
use cdc_mask_core::{Policy, Shape};
use cdc_mask_transformer::keys::{LocalKeyring, UnwrapCache, Unwrapper};
use cdc_mask_transformer::settings::Setting;
use cdc_mask_transformer::Processor;
use serde_json::{json, Value};

mod local;
use local::Local;

const POLICY: &str = r#"{
  "version": 1,
  "tables": [
    {"schema": "dataset", "table": "customer", "key": ["id"], "columns": {
      "name": {},
      "mail": {"masked": {"action": "token"}, "encrypted": "encrypt-deterministic", "domain": "customer_email"},
      "contact": {"masked": "token", "encrypted": "encrypt-deterministic"},
      "city": {"masked": "keep", "encrypted": "encrypt-deterministic", "domain": "city"}
    }},
    {"schema": "dataset", "table": "orders", "key": ["id"], "columns": {
      "buyer_mail": {"masked": "token", "encrypted": "encrypt-deterministic", "domain": "customer_email"}
    }}
  ]
}"#;

struct Env {
    local: Local,
}

impl Env {
    fn new() -> Self {
        Env {
            local: Local::new(POLICY),
        }
    }

    /// A processor for `view` (`masked`, `encrypted`, `quarantine`) with
    /// these extra settings.
    async fn processor(&self, view: &str, extra: &[(Setting, &str)]) -> Processor {
        self.local
            .settings(view, Shape::Flat, extra)
            .processor()
            .await
            .unwrap()
    }

    fn ring(&self) -> LocalKeyring {
        LocalKeyring::open(&self.local.keyring()).unwrap()
    }

    /// A reader of the encrypted view, `det` values with the policy's
    /// domains.
    fn reader(&self) -> UnwrapCache {
        let ring = self.ring();
        let key = DeterministicKey::new(&ring.deterministic_key().unwrap(), 1).unwrap();
        let domains = [
            ("mail", "customer_email"),
            ("buyer_mail", "customer_email"),
            ("city", "city"),
        ]
        .map(|(c, d)| (c.to_owned(), d.to_owned()));
        let ring: Arc<dyn Unwrapper> = Arc::new(ring);
        UnwrapCache::new(ring).with_deterministic(DetReader::new(key, domains).unwrap())
    }
}

const ICEBERG: &[(Setting, &str)] = &[(Setting::Destination, "iceberg")];

fn change(table: &str, op: &str, data: &Value, ts: u32) -> Vec<u8> {
    json!({"data": data, "metadata": {
        "timestamp": format!("2026-11-28T09:15:03.{ts:06}Z"), "record-type": "data", "operation": op,
        "partition-key-type": "schema-table", "schema-name": "dataset", "table-name": table,
        "transaction-id": ts}})
    .to_string()
    .into_bytes()
}

fn control() -> Vec<u8> {
    br#"{"control":{"table-def":{"columns":{"id":{"type":"INT32","nullable":false}},"primary-key":["id"]}},"metadata":{"timestamp":"2026-11-28T09:15:03.000000Z","record-type":"control","operation":"create-table","partition-key-type":"task-id","schema-name":"dataset","table-name":"customer"}}"#.to_vec()
}

fn event(records: &[Vec<u8>]) -> Vec<u8> {
    let records: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| json!({"recordId": format!("r{i}"), "approximateArrivalTimestamp": 1_764_288_000_000u64, "data": BASE64.encode(r)}))
        .collect();
    serde_json::to_vec(&json!({"invocationId": "i", "deliveryStreamArn": "arn:aws:firehose:us-east-1:1:deliverystream/cdc-masked", "records": records})).unwrap()
}

async fn answers(processor: &Processor, records: &[Vec<u8>]) -> Vec<Value> {
    let result = processor.process(&event(records)).await.unwrap();
    let response: Value = serde_json::from_slice(&result.response).unwrap();
    let stats = &result.stats;
    assert_eq!(
        stats.records,
        stats.rows
            + stats.dropped_control
            + stats.routed_elsewhere
            + stats.quarantined_total()
            + stats.lost,
        "every record counted once: {stats:?}"
    );
    response["records"].as_array().unwrap().clone()
}

fn data(answer: &Value) -> Value {
    let bytes = BASE64.decode(answer["data"].as_str().unwrap()).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn iceberg_rows_carry_their_table_and_operation_and_nothing_else_reaches_a_table() {
    let env = Env::new();
    let row = json!({"id": 1, "name": "Jane", "mail": "jane@example.com"});
    let records = [
        change("Customer", "load", &row, 1),
        change("customer", "insert", &row, 2),
        change("customer", "update", &row, 3),
        change("customer", "delete", &row, 4),
        control(),
        b"not json".to_vec(),
        change("customer", "truncate", &row, 5),
    ];
    for (view, configured) in [("masked", None), ("encrypted", Some("lake_encrypted"))] {
        let mut extra = ICEBERG.to_vec();
        if let Some(name) = configured {
            extra.push((Setting::IcebergDatabaseEncrypted, name));
        }
        let answers = answers(&env.processor(view, &extra).await, &records).await;
        let database = configured.map_or(format!("dataset_{view}"), str::to_owned);
        for (answer, operation) in answers.iter().zip(["insert", "insert", "update", "delete"]) {
            assert_eq!(answer["result"], "Ok", "{answer}");
            assert_eq!(
                answer["metadata"],
                json!({"otfMetadata": {"destinationDatabaseName": database,
                    "destinationTableName": "customer", "operation": operation}}),
                "{view}"
            );
            let row = data(answer);
            assert_eq!(row["id"], 1, "first-level columns, as the table's");
            assert!(row.get(format!("mail_{view}")).is_some(), "{row}");
        }
        // Control, malformed and unknown operations: Dropped, no metadata.
        for answer in &answers[4..] {
            assert_eq!(answer["result"], "Dropped", "{answer}");
            assert!(answer.get("metadata").is_none() || answers[4] == *answer);
        }
    }
}

#[tokio::test]
async fn the_quarantine_stream_seals_and_logs_what_the_tables_leave() {
    let env = Env::new();
    let row = json!({"id": 1, "name": "Jane", "mail": "jane@example.com"});
    let records = [
        change("customer", "insert", &row, 1),
        control(),
        b"not json".to_vec(),
        change("customer", "truncate", &row, 2),
        change(
            "customer",
            "insert",
            &json!({"id": 2, "city": {"nested": "x"}}),
            3,
        ),
    ];
    let processor = env.processor("quarantine", ICEBERG).await;
    let answers = answers(&processor, &records).await;
    assert_eq!(answers[0]["result"], "Dropped");
    assert!(answers[0].get("metadata").is_none());
    assert_eq!(answers[1]["result"], "Ok");
    assert_eq!(answers[1]["metadata"]["partitionKeys"]["view"], "control");
    assert_eq!(
        data(&answers[1])["control"]["table-def"]["primary-key"],
        json!(["id"])
    );
    for (answer, reason) in
        answers[2..]
            .iter()
            .zip(["invalid_json", "not_dms_record", "unsupported_value"])
    {
        assert_eq!(answer["result"], "Ok");
        assert_eq!(answer["metadata"]["partitionKeys"]["view"], "quarantine");
        let sealed = data(answer);
        assert_eq!(sealed["_quarantine"]["reason"], reason);
        assert!(!answer.to_string().contains("Jane"));
    }
    // The view streams leave exactly those to it.
    let view = answers_of(&env, "encrypted", &records).await;
    let left: Vec<bool> = view.iter().map(|a| a["result"] == "Dropped").collect();
    assert_eq!(left, [false, true, true, true, true]);
}

async fn answers_of(env: &Env, view: &str, records: &[Vec<u8>]) -> Vec<Value> {
    answers(&env.processor(view, ICEBERG).await, records).await
}

#[tokio::test]
async fn deterministic_values_join_within_a_domain_and_decrypt() {
    let env = Env::new();
    let records = [
        change(
            "customer",
            "insert",
            &json!({"id": 1, "mail": "jane@example.com", "contact": "jane@example.com", "city": "Köln", "name": "Jane"}),
            1,
        ),
        change(
            "orders",
            "insert",
            &json!({"id": 9, "buyer_mail": "jane@example.com"}),
            2,
        ),
        change(
            "customer",
            "update",
            &json!({"id": 1, "mail": "jane@example.com", "contact": null, "city": "Köln", "name": "Jane"}),
            3,
        ),
    ];
    let processor = env.processor("encrypted", &[]).await;
    let rows: Vec<Value> = answers(&processor, &records)
        .await
        .iter()
        .map(data)
        .collect();
    let mail = rows[0]["mail_encrypted"].as_str().unwrap();
    assert!(mail.starts_with("det1_"), "{mail}");
    // Same value, same domain: one ciphertext (a join across tables works).
    assert_eq!(rows[1]["buyer_mail_encrypted"], mail);
    assert_eq!(rows[2]["mail_encrypted"], mail);
    // Same value, another domain: another ciphertext.
    assert_ne!(rows[0]["contact_encrypted"], mail);
    assert_eq!(rows[2]["contact_encrypted"], Value::Null);
    assert_eq!(rows[0]["city_encrypted"], rows[2]["city_encrypted"]);
    // Random encryption still randomises.
    assert!(rows[0]["name_encrypted"]
        .as_str()
        .unwrap()
        .starts_with("enc2:"));
    let mut reader = env.reader();
    for (row, source) in rows.iter().zip(&records) {
        let mut out = Vec::new();
        let line = serde_json::to_vec(row).unwrap();
        reader.decrypt_row(&line, &mut out).await.unwrap();
        let back: Value = serde_json::from_slice(&out).unwrap();
        let source: Value = serde_json::from_slice(source).unwrap();
        for (column, value) in source["data"].as_object().unwrap() {
            assert_eq!(&back[column], value, "{column}");
        }
    }
    // Without the deterministic key, a reader stops on the column.
    let ring: Arc<dyn Unwrapper> = Arc::new(env.ring());
    let err = UnwrapCache::new(ring)
        .decrypt_row(&serde_json::to_vec(&rows[1]).unwrap(), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("buyer_mail"), "{err}");
    // A wrong domain does not authenticate.
    let ring = env.ring();
    let key = DeterministicKey::new(&ring.deterministic_key().unwrap(), 1).unwrap();
    let ring: Arc<dyn Unwrapper> = Arc::new(ring);
    let mut wrong = UnwrapCache::new(ring).with_deterministic(DetReader::new(key, []).unwrap());
    assert!(wrong
        .decrypt_row(&serde_json::to_vec(&rows[1]).unwrap(), &mut Vec::new())
        .await
        .is_err());
}

#[tokio::test]
async fn tokens_are_separated_by_domain() {
    let env = Env::new();
    let records = [
        change(
            "customer",
            "insert",
            &json!({"id": 1, "mail": "jane@example.com", "contact": "jane@example.com"}),
            1,
        ),
        change(
            "orders",
            "insert",
            &json!({"id": 9, "buyer_mail": "jane@example.com"}),
            2,
        ),
    ];
    let processor = env.processor("masked", &[]).await;
    let rows: Vec<Value> = answers(&processor, &records)
        .await
        .iter()
        .map(data)
        .collect();
    let mail = &rows[0]["mail_masked"];
    assert!(mail.as_str().unwrap().starts_with("tok1_"));
    assert_eq!(&rows[1]["buyer_mail_masked"], mail);
    assert_ne!(&rows[0]["contact_masked"], mail);
}

#[test]
fn protected_key_columns_must_be_deterministic() {
    for (encrypted, ok) in [
        (r#""encrypt""#, false),
        (r#""keep""#, true),
        (r#""encrypt-deterministic""#, true),
        (r#""token""#, true),
    ] {
        let policy = format!(
            r#"{{"version":1,"tables":[{{"schema":"dataset","table":"customer","key":["mail"],
            "columns":{{"mail":{{"masked":"token","encrypted":{encrypted}}}}}}}]}}"#
        );
        match Policy::from_slice(policy.as_bytes()) {
            Ok(_) => assert!(ok, "{encrypted} accepted"),
            Err(e) => {
                let e = e.to_string();
                assert!(!ok, "{encrypted}: {e}");
                assert!(
                    e.contains("dataset.customer.mail") && e.contains("encrypted view"),
                    "{e}"
                );
                assert!(!e.contains('\n'));
            }
        }
    }
    let redacted =
        r#"{"version":1,"tables":[{"schema":"s","table":"t","key":["id"],"columns":{"id":{}}}]}"#;
    let e = Policy::from_slice(redacted.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.contains("s.t.id") && e.contains("masked view"), "{e}");
}

#[test]
fn low_entropy_columns_protected_deterministically_are_named() {
    let policy = Policy::from_slice(
        br#"{"version":1,"tables":[{"schema":"dataset","table":"customer","columns":{
        "gender":{"masked":"token"},"birthdate":{"encrypted":"encrypt-deterministic"},
        "is_vip":{"masked":"token"},"mail":{"masked":"token"},"sex":{}}}]}"#,
    )
    .unwrap();
    let warnings = policy.warnings().join("\n");
    for column in ["gender", "birthdate", "is_vip"] {
        assert!(
            warnings.contains(&format!("dataset.customer.{column}:")),
            "{warnings}"
        );
    }
    assert!(
        !warnings.contains(".mail:") && !warnings.contains(".sex:"),
        "{warnings}"
    );
}

/// One change of the generated source history.
struct Change {
    op: &'static str,
    row: Value,
}

/// Inserts, updates of protected and unprotected columns, deletes and
/// re-inserts of deleted keys; and the source table's final state.
fn history() -> (Vec<Change>, BTreeMap<i64, Value>) {
    let mut changes = Vec::new();
    let mut state = BTreeMap::new();
    let mut apply = |op: &'static str, id: i64, row: Value| {
        if op == "delete" {
            state.remove(&id);
        } else {
            state.insert(id, row.clone());
        }
        changes.push(Change { op, row });
    };
    let customer = |id: i64, v: i64| {
        let city = ["Köln", "Bonn", "Aachen"][usize::try_from(v % 3).unwrap()];
        json!({"id": id, "name": format!("Person {v}"), "mail": format!("p{v}@example.com"),
               "contact": format!("+49 {v}"), "city": city})
    };
    for id in 0..12 {
        apply(if id < 4 { "load" } else { "insert" }, id, customer(id, id));
    }
    for round in 1..4 {
        for id in 0..12 {
            match (id + round) % 5 {
                0 => apply("update", id, customer(id, id * 10 + round)),
                1 => {
                    let mut row = customer(id, id);
                    row["city"] = json!("Berlin");
                    apply("update", id, row);
                }
                2 if round == 2 => apply("delete", id, customer(id, id)),
                3 if round == 3 && id % 2 == 0 => apply("insert", id, customer(id, id + 100)),
                _ => {}
            }
        }
    }
    (changes, state)
}

/// Folds the emitted rows by key in order: insert and update put the row,
/// delete removes the key.
fn fold(answers: &[Value]) -> BTreeMap<i64, Value> {
    let mut table = BTreeMap::new();
    for answer in answers {
        let row = data(answer);
        let id = row["id"].as_i64().unwrap();
        match answer["metadata"]["otfMetadata"]["operation"]
            .as_str()
            .unwrap()
        {
            "delete" => table.remove(&id),
            _ => table.insert(id, row),
        };
    }
    table
}

/// The columns of an encrypted-view row, decrypted.
async fn decrypted(reader: &mut UnwrapCache, row: &Value) -> Value {
    let mut out = Vec::new();
    reader
        .decrypt_row(&serde_json::to_vec(row).unwrap(), &mut out)
        .await
        .unwrap();
    columns(&serde_json::from_slice(&out).unwrap())
}

/// The columns of a row, without the change's own fields.
fn columns(row: &Value) -> Value {
    let mut row = row.clone();
    let object = row.as_object_mut().unwrap();
    object.retain(|name, _| !name.starts_with('_'));
    row
}

#[tokio::test]
async fn the_folded_operations_are_the_protected_final_state_in_both_views() {
    let env = Env::new();
    let (changes, state) = history();
    let records: Vec<Vec<u8>> = changes
        .iter()
        .zip(1..)
        .map(|(c, ts)| change("customer", c.op, &c.row, ts))
        .collect();
    let snapshot: Vec<Vec<u8>> = state
        .values()
        .zip(1..)
        .map(|(row, ts)| change("customer", "load", row, ts))
        .collect();
    assert!(state.len() < 12, "the history deletes keys");
    for view in ["masked", "encrypted"] {
        let processor = env.processor(view, ICEBERG).await;
        let folded = fold(&answers(&processor, &records).await);
        let expected = fold(&answers(&processor, &snapshot).await);
        assert_eq!(
            folded.keys().collect::<Vec<_>>(),
            state.keys().collect::<Vec<_>>()
        );
        let mut reader = env.reader();
        for (id, row) in &folded {
            let (mut got, mut want) = (columns(row), columns(&expected[id]));
            if view == "encrypted" {
                // Random encryption differs per run: compare what it holds.
                got = decrypted(&mut reader, row).await;
                want = decrypted(&mut reader, &expected[id]).await;
                assert_eq!(got, columns(&state[id]), "{view} {id}");
            }
            assert_eq!(got, want, "{view} {id}");
        }
    }
}
