//! The transformer and the Firehose contract on real-shaped DMS records.
//!
//! # Layout
//! - `rows`: what a row becomes value by value: bytes kept, one line,
//!   before-images, case, escapes, tokens, reserved and odd names.
//! - `firehose`: whole events: every record answered once, the view from
//!   the delivery stream, the quarantine, the response size limit.
//!
//! Here, the policy, the environment (a policy file and a keyring) and the
//! helpers both use.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use cdc_mask_core::{Shape, View};
use cdc_mask_transformer::keys::{LocalKeyring, UnwrapCache, Unwrapper};
use cdc_mask_transformer::Processor;
use serde_json::{json, Value};
use std::sync::Arc;

#[path = "../local/mod.rs"]
mod local;

mod firehose;
mod rows;
use local::Local;

const POLICY: &str = r#"{
  "version": 1,
  "tables": [
    {"schema": "dataset", "table": "customer", "columns": {
      "username": {"masked": "token"},
      "NAME": {},
      "mail": {"masked": "token"},
      "birthdate": {"masked": {"action": "generalize", "to": "year"}},
      "card": {"masked": {"action": "partial", "keep_last": 4}, "rename": false},
      "_op": {"rename": false}
    }},
    {"schema": "dataset", "table": "odd", "columns": {
      "mail": {},
      "_op": {"rename": false},
      "secret_encrypted": {"rename": false}
    }},
    {"schema": "dataset", "table": "orders", "columns": {
      "buyer_mail": {"masked": "token"},
      "flag": {"masked": "null"}
    }}
  ]
}"#;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

struct Env {
    local: Local,
}

impl Env {
    fn new() -> Self {
        Env {
            local: Local::new(POLICY),
        }
    }

    async fn processor(&self, view: View, shape: Shape) -> Processor {
        self.local
            .settings(view.as_str(), shape, &[])
            .processor()
            .await
            .unwrap()
    }

    fn unwrap_cache(&self) -> UnwrapCache {
        let ring: Arc<dyn Unwrapper> = Arc::new(LocalKeyring::open(&self.local.keyring()).unwrap());
        UnwrapCache::new(ring)
    }
}

fn event(records: &[&[u8]]) -> Vec<u8> {
    let records: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| json!({"recordId": format!("r{i}"), "approximateArrivalTimestamp": 1_764_288_000_000u64, "data": BASE64.encode(r)}))
        .collect();
    serde_json::to_vec(&json!({"invocationId": "i", "deliveryStreamArn": "arn:aws:firehose:us-east-1:1:deliverystream/cdc-masked", "records": records})).unwrap()
}

/// Runs one record through a view and returns its output line.
async fn one(env: &Env, view: View, shape: Shape, record: &[u8]) -> String {
    let answers = answers(&env.processor(view, shape).await, &event(&[record])).await;
    assert_eq!(answers[0]["result"], "Ok", "{answers:?}");
    let line =
        String::from_utf8(BASE64.decode(answers[0]["data"].as_str().unwrap()).unwrap()).unwrap();
    assert!(
        line.ends_with('\n') && !line[..line.len() - 1].contains('\n'),
        "one line: {line}"
    );
    line
}

async fn answers(processor: &Processor, event: &[u8]) -> Vec<Value> {
    let result = processor.process(event).await.unwrap();
    let response: Value = serde_json::from_slice(&result.response).unwrap();
    response["records"].as_array().unwrap().clone()
}

fn insert(table: &str, data: &str) -> Vec<u8> {
    format!(r#"{{"data":{data},"metadata":{{"timestamp":"2026-11-28T09:15:03.000001Z","record-type":"data","operation":"insert","partition-key-type":"schema-table","schema-name":"dataset","table-name":"{table}","transaction-id":7}}}}"#).into_bytes()
}
