//! KMS against the moto server: data keys are generated once per many
//! records, never per record, and unwrapped once per distinct key.

mod support;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use cdc_mask_core::{View, ViewMode};
use cdc_mask_router::source::generate::{Generator, GeneratorConfig};
use cdc_mask_transformer::config::{KeySource, Settings};
use cdc_mask_transformer::keys::{KeyProvider, KmsKeys, UnwrapCache};
use cdc_mask_transformer::policy_source::PolicyLocation;
use serde_json::{json, Value};
use support::{workspace_root, MotoServer};

const RECORDS: usize = 100_000;
const PER_EVENT: usize = 5_000;

#[tokio::test(flavor = "multi_thread")]
async fn one_generate_data_key_per_100k_records_with_default_cache_settings() {
    let moto = MotoServer::start();
    let config = moto.sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&config);
    let key_id = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let mut settings = Settings::new(
        ViewMode::Fixed(View::Encrypted),
        PolicyLocation::File(
            workspace_root().join("transformer/tests/fixtures/no-token-policy.json"),
        ),
        KeySource::Kms {
            key_id: key_id.clone(),
            quarantine_key_id: key_id,
            token_key: None,
        },
    );
    settings.endpoint_url = Some(moto.endpoint.clone());
    // The SDK reads region and credentials from the environment.
    for (name, value) in moto.aws_env() {
        std::env::set_var(name, value);
    }
    let processor = settings.build().await.unwrap();
    let before = moto.count_kms_calls("GenerateDataKey");
    let mut generator = Generator::new(GeneratorConfig::default());
    let mut rows = 0;
    let mut sample = Vec::new();
    for batch in 0..RECORDS / PER_EVENT {
        let records: Vec<Value> = (0..PER_EVENT)
            .map(|i| json!({"recordId": format!("{batch}-{i}"), "data": BASE64.encode(generator.next().unwrap())}))
            .collect();
        let event = serde_json::to_vec(&json!({"records": records})).unwrap();
        let result = processor.process(&event).await.unwrap();
        rows += result.stats.rows;
        if batch % 7 == 0 {
            let response: Value = serde_json::from_slice(&result.response).unwrap();
            let line = BASE64
                .decode(response["records"][100]["data"].as_str().unwrap())
                .unwrap();
            sample.push(line);
        }
    }
    assert!(rows >= (RECORDS - 3) as u64);
    let generated = moto.count_kms_calls("GenerateDataKey") - before;
    assert_eq!(
        generated, 1,
        "{RECORDS} records took {generated} GenerateDataKey calls"
    );

    // Decrypting many rows of one data key costs one KMS Decrypt.
    let provider: Arc<dyn KeyProvider> = Arc::new(KmsKeys::new(kms, None));
    let mut keys = UnwrapCache::new(provider);
    let decrypts = moto.count_kms_calls("Decrypt");
    for line in &sample {
        let mut out = Vec::new();
        keys.decrypt_row(line, &mut out).await.unwrap();
        let row: Value = serde_json::from_slice(&out).unwrap();
        assert!(row.get("_key").is_none());
        assert!(
            row.as_object()
                .unwrap()
                .keys()
                .all(|k| !k.ends_with("_encrypted")),
            "{row}"
        );
    }
    assert_eq!(moto.count_kms_calls("Decrypt") - decrypts, 1);
}
