//! The real `cdc-mask-lambda` binary over the Lambda runtime API, both views,
//! with a local keyring, with public keys given as PEM, and with KMS
//! `KEY_AGREEMENT` keys (moto behind the harness's ECDH proxy). Every failure
//! path that is not the configuration's is forced here: each answers every
//! record `Ok` or `Dropped`, never `ProcessingFailed`, and no planted PII
//! value appears in any answer or in the logs, with every logger at TRACE.
//!
//! Rows are decrypted with the crate's own key providers, as `cdc-mask
//! decrypt` reads them (that command is tested with the router).

use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use cdc_mask_transformer::keys::{KmsKeys, LocalKeyring, UnwrapCache, Unwrapper};
use serde_json::Value;

use crate::support::{workspace_root, KmsEcdhProxy, MotoServer};
use crate::{Lambda, TRANSFORMER_LAMBDA};

/// Every logger at its most talkative: none may print an event or a body.
const TRACE_EVERYTHING: &str =
    "trace,lambda_runtime::layers=trace,hyper=trace,aws_smithy_runtime=trace";

fn fixture_event() -> String {
    std::fs::read_to_string(
        workspace_root().join("transformer/tests/fixtures/example-firehose-event.json"),
    )
    .unwrap()
}

fn policy() -> String {
    workspace_root()
        .join("schemas/examples/policy.json")
        .display()
        .to_string()
}

/// The PII values of the fixture records.
const PII: [&str; 7] = [
    "jdoe@example.com",
    "John O'Doe",
    "zoe@example.org",
    "Martín",
    "zoe.ruiz",
    "1984-05-02",
    "jdoe",
];

/// `cdc-mask-lambda` with `env` and every logger at TRACE.
fn start(env: &[(&str, String)]) -> Lambda {
    let mut env = env.to_vec();
    env.push(("RUST_LOG", TRACE_EVERYTHING.to_owned()));
    Lambda::start(TRANSFORMER_LAMBDA, &env)
}

fn answers(body: &[u8]) -> Vec<Value> {
    let response: Value = serde_json::from_slice(body).unwrap();
    response["records"].as_array().unwrap().clone()
}

fn lines(answers: &[Value]) -> Vec<String> {
    answers
        .iter()
        .filter(|a| a["result"] == "Ok")
        .map(|a| String::from_utf8(BASE64.decode(a["data"].as_str().unwrap()).unwrap()).unwrap())
        .collect()
}

/// The rows of `lines` decrypted with the keys of `unwrapper`, one a line.
async fn decrypt(lines: &[String], unwrapper: Arc<dyn Unwrapper>) -> String {
    let mut keys = UnwrapCache::new(unwrapper);
    let mut plain = Vec::new();
    for line in lines {
        keys.decrypt_row(line.as_bytes(), &mut plain)
            .await
            .unwrap_or_else(|e| panic!("decrypt failed: {e}"));
    }
    String::from_utf8(plain).unwrap()
}

/// As [`decrypt`], with the local keyring in `dir`, outside a runtime.
fn decrypt_with_keyring(lines: &[String], dir: &Path) -> String {
    let ring = LocalKeyring::open_existing(dir).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(decrypt(lines, Arc::new(ring)))
}

/// No answer is `ProcessingFailed`, and no PII value appears in any
/// answer (decoded) or in the logs, raw or base64.
fn assert_nothing_in_clear(answers: &[Value], logs: &str, event: &str) {
    assert!(
        answers.iter().all(|a| a["result"] != "ProcessingFailed"),
        "{answers:?}"
    );
    for line in lines(answers) {
        for pii in PII {
            assert!(!line.contains(pii), "leaked {pii}: {line}");
        }
    }
    for pii in PII {
        assert!(!logs.contains(pii), "logs leaked {pii}:\n{logs}");
    }
    let input: Value = serde_json::from_str(event).unwrap();
    for record in input["records"].as_array().unwrap() {
        assert!(
            !logs.contains(record["data"].as_str().unwrap()),
            "an event was logged"
        );
    }
}

/// The views of the answers, in order.
fn views(answers: &[Value]) -> Vec<String> {
    answers
        .iter()
        .map(|a| {
            a["metadata"]["partitionKeys"]["view"]
                .as_str()
                .unwrap_or(a["result"].as_str().unwrap())
                .to_owned()
        })
        .collect()
}

#[test]
fn both_views_over_the_runtime_api_with_a_local_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("keyring").display().to_string();
    let lambda = start(&[
        ("CDCMASK_POLICY", policy()),
        ("CDCMASK_KEYRING", keyring.clone()),
    ]);
    let masked_event = fixture_event();
    let encrypted_event =
        masked_event.replace("deliverystream/cdc-masked", "deliverystream/cdc-encrypted");

    let masked = answers(&lambda.invoke(&masked_event).expect_response());
    let encrypted = answers(&lambda.invoke(&encrypted_event).expect_response());
    let input: Value = serde_json::from_str(&masked_event).unwrap();
    let ids: Vec<&Value> = input["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["recordId"])
        .collect();
    for (view, answers) in [("masked", &masked), ("encrypted", &encrypted)] {
        assert_eq!(
            answers.iter().map(|a| &a["recordId"]).collect::<Vec<_>>(),
            ids,
            "{view}: every recordId once"
        );
        assert_eq!(answers[0]["metadata"]["partitionKeys"]["view"], view);
        assert_eq!(answers[4]["result"], "Dropped", "control record");
    }
    let plain = decrypt_with_keyring(&lines(&encrypted), Path::new(&keyring));
    assert!(
        plain.contains(r#""mail":"zoe.ruiz@example.org""#),
        "{plain}"
    );
    assert!(plain.contains(r#""name":"John O'Doe""#), "{plain}");

    // An event that is not a Firehose event fails that invocation only,
    // without quoting it; the function carries on.
    let error = lambda
        .invoke(r#"{"records": "jdoe@example.com"}"#)
        .expect_error();
    let error = String::from_utf8_lossy(&error).into_owned();
    assert!(error.contains("not records, an array"), "{error}");
    assert!(!error.contains("jdoe"), "{error}");
    // `null` is also the body the binary's layer hands the runtime in
    // place of an event it read: one sent as is fails all the same.
    let error = lambda.invoke("null").expect_error();
    let error = String::from_utf8_lossy(&error).into_owned();
    assert!(
        error.contains("not a Firehose transformation event"),
        "{error}"
    );
    let again = answers(&lambda.invoke(&masked_event).expect_response());
    assert_eq!(again.len(), 5);

    let logs = lambda.logs();
    assert!(logs.contains("batch done"), "{logs}");
    assert!(
        logs.contains(r#""Namespace":"cdc-mask""#),
        "one EMF line per batch: {logs}"
    );
    assert_nothing_in_clear(&[masked, encrypted].concat(), &logs, &masked_event);
}

#[test]
fn a_stream_name_without_a_view_is_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let lambda = start(&[
        ("CDCMASK_POLICY", policy()),
        ("CDCMASK_KEYRING", dir.path().display().to_string()),
    ]);
    let event = fixture_event().replace("deliverystream/cdc-masked", "deliverystream/cdc-raw");
    let answers = answers(&lambda.invoke(&event).expect_response());
    assert_eq!(views(&answers), vec!["quarantine"; 5]);
    let logs = lambda.logs();
    assert!(logs.contains("cdc-raw"), "{logs}");
    assert!(logs.contains(r#""Quarantined_unknown_view":5"#), "{logs}");
    assert_nothing_in_clear(&answers, &logs, &event);
}

#[test]
fn a_policy_missing_at_cold_start_seals_until_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let policy_path = dir.path().join("policy.json");
    let lambda = start(&[
        ("CDCMASK_POLICY", policy_path.display().to_string()),
        (
            "CDCMASK_KEYRING",
            dir.path().join("k").display().to_string(),
        ),
    ]);
    let event = fixture_event();
    let sealed = answers(&lambda.invoke(&event).expect_response());
    assert_eq!(views(&sealed), vec!["quarantine"; 5]);
    // The policy appears: the next batch goes through.
    std::fs::copy(policy(), &policy_path).unwrap();
    let rows = answers(&lambda.invoke(&event).expect_response());
    assert_eq!(views(&rows)[..4], ["masked"; 4]);
    let logs = lambda.logs();
    assert!(logs.contains("no usable policy"), "{logs}");
    assert!(
        logs.contains(r#""Quarantined_policy_unavailable":5"#),
        "{logs}"
    );
    assert_nothing_in_clear(&[sealed, rows].concat(), &logs, &event);
}

#[test]
fn a_configuration_that_cannot_work_stops_the_init_with_one_line() {
    for (env, needle) in [
        (
            vec![("CDCMASK_KEYRING", "/tmp/x".to_owned())],
            "CDCMASK_POLICY is not set",
        ),
        (
            vec![("CDCMASK_POLICY", policy())],
            "no keys: set CDCMASK_KMS_KEY_ID",
        ),
        (
            vec![
                ("CDCMASK_POLICY", policy()),
                (
                    "CDCMASK_DATA_PUBLIC_KEY",
                    "-----BEGIN PUBLIC KEY-----".to_owned(),
                ),
            ],
            "CDCMASK_QUARANTINE_KMS_KEY_ID is not set",
        ),
        (
            vec![
                ("CDCMASK_POLICY", policy()),
                ("CDCMASK_DATA_PUBLIC_KEY", "not a key".to_owned()),
                ("CDCMASK_QUARANTINE_PUBLIC_KEY", "not a key".to_owned()),
            ],
            "CDCMASK_DATA_PUBLIC_KEY",
        ),
        (
            vec![
                ("CDCMASK_POLICY", policy()),
                ("CDCMASK_KEYRING", "/tmp/x".to_owned()),
                ("CDCMASK_VIEW", "clear".to_owned()),
            ],
            "CDCMASK_VIEW",
        ),
    ] {
        let mut lambda = start(&env);
        let status = lambda.wait_exit();
        assert!(!status.success(), "{needle}: the init must fail");
        let logs = lambda.logs();
        let errors: Vec<&str> = logs
            .lines()
            .filter(|l| l.starts_with("init failed: "))
            .collect();
        assert_eq!(errors.len(), 1, "one line: {logs}");
        assert!(errors[0].contains(needle), "{needle} not in {logs}");
    }
}

/// A token-key secret in moto's Secrets Manager; its value.
async fn token_secret(moto: &MotoServer) -> (String, &'static str) {
    let value = "Zq3b9XkP0wR7tLm2Vn8Yc4Hd6Js1Ga5Fe0Ku9Qo3Ti7Wr2Ex8Pz4Bl6Nv1Mh5Cy";
    let arn = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await)
        .create_secret()
        .name("dcp/cdc-mask/token-key")
        .secret_string(value)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    (arn, value)
}

/// KMS `KEY_AGREEMENT` keys: the function reads the public keys once at
/// start, then needs KMS no more — with KMS gone, answers stay normal.
/// Readers decrypt with `DeriveSharedSecret`, naming the key.
#[tokio::test(flavor = "multi_thread")]
async fn kms_keys_are_read_once_and_a_kms_outage_changes_nothing() {
    let moto = MotoServer::start();
    let proxy = KmsEcdhProxy::start(&moto, 2);
    let (secret, _) = token_secret(&moto).await;
    let mut env = moto.aws_env();
    env.retain(|(name, _)| *name != "AWS_ENDPOINT_URL");
    env.extend([
        ("AWS_ENDPOINT_URL", proxy.endpoint.clone()),
        ("CDCMASK_POLICY", policy()),
        ("CDCMASK_KMS_KEY_ID", proxy.keys[0].0.clone()),
        ("CDCMASK_QUARANTINE_KMS_KEY_ID", proxy.keys[1].0.clone()),
        ("CDCMASK_TOKEN_KEY_SECRET", secret),
    ]);
    let lambda = start(&env);
    let masked_event = fixture_event();
    let encrypted_event = masked_event.replace("cdc-masked", "cdc-encrypted");
    let masked = answers(&lambda.invoke(&masked_event).expect_response());
    let encrypted = answers(&lambda.invoke(&encrypted_event).expect_response());
    assert!(lines(&masked)[0].contains("tok1_"));
    let rows = lines(&encrypted);
    assert!(rows
        .iter()
        .all(|l| !l.contains("_key") || l.contains("\"_key\":\"ecdh1:")));
    let kms = KmsKeys::new(
        aws_sdk_kms::Client::new(&proxy.sdk_config().await),
        Some(proxy.keys[0].0.clone()),
        None,
    );
    let plain = decrypt(&rows, Arc::new(kms)).await;
    assert!(plain.contains(r#""mail":"jdoe@example.com""#), "{plain}");

    // KMS (and every AWS service) goes away: nothing changes.
    drop(proxy);
    drop(moto);
    let during = answers(&lambda.invoke(&encrypted_event).expect_response());
    assert_eq!(views(&during)[..4], ["encrypted"; 4]);
    let logs = lambda.logs();
    assert_nothing_in_clear(&[masked, encrypted, during].concat(), &logs, &masked_event);
}

/// Public keys given as PEM: no KMS call at all. The token key from a
/// Secrets Manager secret (as `infra/template.yaml` deploys it), read at
/// cold start: tokens are HMACs under the secret's bytes.
#[tokio::test(flavor = "multi_thread")]
async fn pem_public_keys_and_a_token_key_from_secrets_manager() {
    let moto = MotoServer::start();
    let (secret_arn, secret_value) = token_secret(&moto).await;
    let recipients = tempfile::tempdir().unwrap();
    // Two key pairs of a keyring, given to the function by their public
    // halves only.
    let ring = cdc_mask_transformer::keys::LocalKeyring::open(recipients.path()).unwrap();
    let pem = |purpose| {
        let der = ring.recipient(purpose).unwrap().spki_der();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            BASE64.encode(der)
        )
    };
    let mut env = moto.aws_env();
    env.extend([
        ("CDCMASK_POLICY", policy()),
        (
            "CDCMASK_DATA_PUBLIC_KEY",
            pem(cdc_mask_core::keys::Purpose::Data),
        ),
        (
            "CDCMASK_QUARANTINE_PUBLIC_KEY",
            pem(cdc_mask_core::keys::Purpose::Quarantine),
        ),
        ("CDCMASK_TOKEN_KEY_SECRET", secret_arn),
    ]);
    let lambda = start(&env);
    let event = fixture_event();
    let masked = lines(&answers(&lambda.invoke(&event).expect_response()));
    let key = cdc_mask_core::keys::TokenKey::new(secret_value.as_bytes(), 1).unwrap();
    let mut token = Vec::new();
    key.write_token("", b"jdoe@example.com", &mut token);
    let token = String::from_utf8(token).unwrap();
    assert!(
        masked[0].contains(&format!(r#""mail_masked":"{token}""#)),
        "{}",
        masked[0]
    );
    let encrypted = answers(
        &lambda
            .invoke(event.replace("cdc-masked", "cdc-encrypted"))
            .expect_response(),
    );
    let plain = decrypt(&lines(&encrypted), Arc::new(ring)).await;
    assert!(plain.contains(r#""mail":"jdoe@example.com""#), "{plain}");
    let logs = lambda.logs();
    assert!(!logs.contains(secret_value), "logs leaked the token key");

    // A secret that cannot be read stops the init, naming the variable and
    // why.
    env.retain(|(name, _)| *name != "CDCMASK_TOKEN_KEY_SECRET");
    env.push(("CDCMASK_TOKEN_KEY_SECRET", "dcp/no-such-secret".to_owned()));
    let mut lambda = start(&env);
    assert!(!lambda.wait_exit().success());
    let logs = lambda.logs();
    let error = logs
        .lines()
        .find(|line| line.starts_with("init failed: "))
        .unwrap_or_else(|| panic!("no init error in {logs}"));
    assert!(error.contains("CDCMASK_TOKEN_KEY_SECRET"), "{error}");
    assert!(error.contains("ResourceNotFoundException"), "{error}");
}
