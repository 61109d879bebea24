//! KMS with public-key wrapping, against moto behind the test harness's
//! ECDH proxy (moto has no `DeriveSharedSecret`; see `support::kms_proxy`):
//! the write path reads each public key once at start and then never calls
//! KMS, so it keeps answering normally when KMS is gone; readers unwrap
//! each data key once with `DeriveSharedSecret`, and only with the key they
//! name.

mod support;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use cdc_mask_router::source::generate::{Generator, GeneratorConfig};
use cdc_mask_transformer::aws::Aws;
use cdc_mask_transformer::keys::{KmsKeys, UnwrapCache};
use cdc_mask_transformer::settings::{Setting, SettingsBuilder};
use cdc_mask_transformer::Processor;
use serde_json::{json, Value};
use support::{workspace_root, KmsEcdhProxy, MotoServer};

const PER_EVENT: usize = 500;

fn event(generator: &mut Generator, records: usize, malformed: bool) -> Vec<u8> {
    let mut data: Vec<Vec<u8>> = generator.by_ref().take(records).collect();
    if malformed {
        data.push(br#"{"data":{"mail":"cut@example.com""#.to_vec());
    }
    let records: Vec<Value> = data
        .iter()
        .enumerate()
        .map(|(i, r)| json!({"recordId": i.to_string(), "data": BASE64.encode(r)}))
        .collect();
    serde_json::to_vec(&json!({"records": records})).unwrap()
}

/// The answers' decoded lines, asserting none is `ProcessingFailed`.
async fn lines(processor: &Processor, event: &[u8]) -> Vec<(String, Vec<u8>)> {
    let result = processor.process(event).await.unwrap();
    let response: Value = serde_json::from_slice(&result.response).unwrap();
    response["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_ne!(a["result"], "ProcessingFailed");
            let view = a["metadata"]["partitionKeys"]["view"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            (view, BASE64.decode(a["data"].as_str().unwrap()).unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_write_path_needs_kms_only_at_start_and_readers_name_their_key() {
    let moto = MotoServer::start();
    let proxy = KmsEcdhProxy::start(&moto, 3);
    let (data_key, quarantine_key, other_key) = (
        proxy.keys[0].0.clone(),
        proxy.keys[1].0.clone(),
        proxy.keys[2].0.clone(),
    );
    let token_secret = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await)
        .create_secret()
        .name("token")
        .secret_string("k".repeat(32))
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let mut builder = SettingsBuilder::from_flags();
    builder
        .set(Setting::View, "encrypted")
        .set(
            Setting::Policy,
            workspace_root()
                .join("schemas/examples/policy.json")
                .display()
                .to_string(),
        )
        .set(Setting::KmsKeyId, &data_key)
        .set(Setting::QuarantineKmsKeyId, &quarantine_key)
        .set(Setting::TokenKeySecret, token_secret);
    let mut settings = builder.build().unwrap();
    let aws = Aws::from_config(&proxy.sdk_config().await);
    settings.aws = Some(aws.clone());
    let processor = settings.processor().await.unwrap();

    let mut generator = Generator::new(GeneratorConfig::default());
    let first = lines(&processor, &event(&mut generator, PER_EVENT, true)).await;
    let rows: Vec<&Vec<u8>> = first
        .iter()
        .filter(|(view, _)| view == "encrypted")
        .map(|(_, line)| line)
        .collect();
    assert!(rows.len() > 100);
    let sealed: Vec<&Vec<u8>> = first
        .iter()
        .filter(|(view, _)| view == "quarantine")
        .map(|(_, line)| line)
        .collect();
    assert_eq!(sealed.len(), 1);

    // A reader naming the data key: one DeriveSharedSecret per data key.
    let reader = Arc::new(KmsKeys::new(
        aws.kms(),
        Some(data_key.clone()),
        Some(quarantine_key),
    ));
    let mut keys = UnwrapCache::new(reader);
    let mut out = Vec::new();
    for row in &rows {
        keys.decrypt_row(row, &mut out).await.unwrap();
    }
    assert!(String::from_utf8_lossy(&out).contains("\"mail\":\""));
    assert_eq!(
        keys.remote_calls(),
        2,
        "GetPublicKey and DeriveSharedSecret, once"
    );
    let unsealed = keys.unseal(sealed[0]).await.unwrap();
    assert_eq!(
        unsealed[0].original.as_slice(),
        br#"{"data":{"mail":"cut@example.com""#
    );

    // A reader naming another key is refused before any secret is derived:
    // a row never picks the key.
    let wrong = Arc::new(KmsKeys::new(aws.kms(), Some(other_key), None));
    let err = UnwrapCache::new(wrong)
        .decrypt_row(rows[0], &mut Vec::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("wrapped for recipient key"), "{err}");

    // KMS gone: the write path keeps answering, rows and sealed records
    // alike, for many more events.
    drop(proxy);
    drop(moto);
    for _ in 0..20 {
        let answers = lines(&processor, &event(&mut generator, PER_EVENT, true)).await;
        assert_eq!(answers.iter().filter(|(v, _)| v == "quarantine").count(), 1);
        assert!(answers.iter().filter(|(v, _)| v == "encrypted").count() > 100);
    }
}
