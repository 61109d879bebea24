//! The real `cdc-mask-lambda` binary over the Lambda runtime API, both views,
//! with a local keyring and with KMS on the moto server.

mod support;

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::Value;
use support::{cargo_bin, workspace_root, MotoServer, RuntimeApi};

const WAIT: Duration = Duration::from_secs(60);

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

struct Lambda {
    child: Child,
    api: RuntimeApi,
    /// Where the function logs (a file, not a pipe nobody drains: at
    /// RUST_LOG=trace a full pipe would block the function).
    log: tempfile::NamedTempFile,
}

impl Lambda {
    fn start(env: &[(&str, String)]) -> Lambda {
        let api = RuntimeApi::start();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new(cargo_bin("cdc-mask-lambda"))
            .env_clear()
            .envs(api.lambda_env())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("RUST_LOG", "trace")
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        Lambda { child, api, log }
    }

    fn invoke(&self, event: &str) -> support::Invocation {
        let id = self.api.invoke(event.as_bytes().to_vec());
        self.api.wait(&id, WAIT)
    }

    /// Stops the function and returns everything it logged.
    fn logs(mut self) -> String {
        let _ = self.child.kill();
        self.child.wait().unwrap();
        String::from_utf8_lossy(&std::fs::read(self.log.path()).unwrap()).into_owned()
    }
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

fn decrypt(lines: &[String], args: &[&str], env: &[(&'static str, String)]) -> String {
    let mut child = Command::new(cargo_bin("cdc-mask"))
        .arg("decrypt")
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.concat().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "decrypt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn both_views_over_the_runtime_api_with_a_local_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("keyring").display().to_string();
    let lambda = Lambda::start(&[
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
        for line in lines(answers) {
            for pii in PII {
                assert!(!line.contains(pii), "{view} leaked {pii}: {line}");
            }
        }
    }
    let plain = decrypt(&lines(&encrypted), &["--keyring", &keyring], &[]);
    assert!(
        plain.contains(r#""mail":"zoe.ruiz@example.org""#),
        "{plain}"
    );
    assert!(plain.contains(r#""name":"John O'Doe""#), "{plain}");

    // A broken event fails that invocation only; the function carries on.
    let error = lambda.invoke(r#"{"records": "nope"}"#).expect_error();
    assert!(String::from_utf8_lossy(&error).contains("not a Firehose transformation event"));
    let again = answers(&lambda.invoke(&masked_event).expect_response());
    assert_eq!(again.len(), 5);

    let logs = lambda.logs();
    assert!(logs.contains("batch done"), "{logs}");
    for pii in PII {
        assert!(
            !logs.contains(pii),
            "logs leaked {pii} even at RUST_LOG=trace:\n{logs}"
        );
    }
    // Not even base64: the runtime's TRACE log of whole events stays off.
    for record in input["records"].as_array().unwrap() {
        assert!(
            !logs.contains(record["data"].as_str().unwrap()),
            "an event was logged"
        );
    }
}

#[test]
fn a_stream_name_without_a_view_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let lambda = Lambda::start(&[
        ("CDCMASK_POLICY", policy()),
        ("CDCMASK_KEYRING", dir.path().display().to_string()),
    ]);
    let event = fixture_event().replace("deliverystream/cdc-masked", "deliverystream/cdc-raw");
    let error = String::from_utf8(lambda.invoke(&event).expect_error()).unwrap();
    assert!(error.contains("cdc-raw"), "{error}");
}

#[test]
fn bad_configuration_stops_the_init_with_one_line() {
    for (env, needle) in [
        (
            vec![("CDCMASK_KEYRING", "/tmp/x".to_owned())],
            "CDCMASK_POLICY",
        ),
        (vec![("CDCMASK_POLICY", policy())], "CDCMASK_KMS_KEY_ID"),
        (
            vec![
                ("CDCMASK_POLICY", "/nonexistent/policy.json".to_owned()),
                ("CDCMASK_KEYRING", "/tmp/x".to_owned()),
            ],
            "cannot read policy",
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
        let mut lambda = Lambda::start(&env);
        let status = wait_exit(&mut lambda.child);
        assert!(!status.success(), "{needle}: the init must fail");
        let logs = lambda.logs();
        assert!(logs.contains(needle), "{needle} not in {logs}");
        assert!(logs.trim().lines().count() <= 2, "one line: {logs}");
    }
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the function did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn both_views_with_kms_on_the_moto_server() {
    let moto = MotoServer::start();
    let kms = aws_sdk_kms::Client::new(&moto.sdk_config().await);
    let data_key = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let quarantine_key = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let token = kms
        .encrypt()
        .key_id(&data_key)
        .plaintext(aws_sdk_kms::primitives::Blob::new(vec![7u8; 32]))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let mut env = moto.aws_env();
    env.extend([
        ("CDCMASK_POLICY", policy()),
        ("CDCMASK_KMS_KEY_ID", data_key.clone()),
        ("CDCMASK_QUARANTINE_KMS_KEY_ID", quarantine_key),
        (
            "CDCMASK_TOKEN_KEY_CIPHERTEXT",
            BASE64.encode(token.as_ref()),
        ),
    ]);
    let lambda = Lambda::start(&env);
    let masked_event = fixture_event();
    let encrypted_event = masked_event.replace("cdc-masked", "cdc-encrypted");
    let generated_before = moto.count_kms_calls("GenerateDataKey");
    let masked = answers(&lambda.invoke(&masked_event).expect_response());
    let encrypted = answers(&lambda.invoke(&encrypted_event).expect_response());
    let encrypted_again = answers(&lambda.invoke(&encrypted_event).expect_response());
    assert_eq!(
        moto.count_kms_calls("GenerateDataKey") - generated_before,
        1,
        "one data key for both encrypted batches, none for the masked one"
    );
    assert!(lines(&masked)[0].contains("tok1_"));
    let all = [lines(&encrypted), lines(&encrypted_again)].concat();
    assert!(all
        .iter()
        .all(|l| !l.contains("_key") || l.contains("\"_key\":\"kms:")));
    let plain = decrypt(&all, &["--kms"], &moto.aws_env());
    assert_eq!(
        plain.matches(r#""mail":"jdoe@example.com""#).count(),
        2,
        "{plain}"
    );
    // Decrypting needs nothing but KMS: without it, nothing is readable.
    let logs = lambda.logs();
    for pii in PII {
        assert!(!logs.contains(pii), "logs leaked {pii}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_kms_no_output() {
    let moto = MotoServer::start();
    let kms = aws_sdk_kms::Client::new(&moto.sdk_config().await);
    let key = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let mut env = moto.aws_env();
    env.extend([
        (
            "CDCMASK_POLICY",
            workspace_root()
                .join("transformer/tests/fixtures/no-token-policy.json")
                .display()
                .to_string(),
        ),
        ("CDCMASK_KMS_KEY_ID", key),
    ]);
    let lambda = Lambda::start(&env);
    drop(moto); // the key service goes away
    let event = fixture_event().replace("cdc-masked", "cdc-encrypted");
    let error = String::from_utf8(lambda.invoke(&event).expect_error()).unwrap();
    assert!(error.contains("key service"), "{error}");
    assert!(!error.contains("jdoe"), "{error}");
}

/// The token key from a Secrets Manager secret (as `infra/template.yaml`
/// deploys it), read at cold start: tokens are HMACs under the secret's bytes.
#[tokio::test(flavor = "multi_thread")]
async fn token_key_from_a_secrets_manager_secret() {
    let moto = MotoServer::start();
    let config = moto.sdk_config().await;
    let kms = aws_sdk_kms::Client::new(&config);
    let data_key = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let secret_value = "Zq3b9XkP0wR7tLm2Vn8Yc4Hd6Js1Ga5Fe0Ku9Qo3Ti7Wr2Ex8Pz4Bl6Nv1Mh5Cy";
    let secret_arn = aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name("dcp/cdc-mask/token-key")
        .kms_key_id(&data_key)
        .secret_string(secret_value)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let mut env = moto.aws_env();
    env.extend([
        ("CDCMASK_POLICY", policy()),
        ("CDCMASK_KMS_KEY_ID", data_key.clone()),
        ("CDCMASK_TOKEN_KEY_SECRET", secret_arn),
    ]);
    let lambda = Lambda::start(&env);
    let masked = lines(&answers(&lambda.invoke(&fixture_event()).expect_response()));
    let key = cdc_mask_core::keys::TokenKey::new(secret_value.as_bytes(), 1).unwrap();
    let mut token = Vec::new();
    key.write_token(b"jdoe@example.com", &mut token);
    let token = String::from_utf8(token).unwrap();
    assert!(
        masked[0].contains(&format!(r#""mail_masked":"{token}""#)),
        "{}",
        masked[0]
    );
    let logs = lambda.logs();
    assert!(!logs.contains(secret_value), "logs leaked the token key");

    // A secret that cannot be read stops the init, naming the variable and why
    // (the SDK's own TRACE lines, on in these tests, precede it).
    env.retain(|(name, _)| *name != "CDCMASK_TOKEN_KEY_SECRET");
    env.push(("CDCMASK_TOKEN_KEY_SECRET", "dcp/no-such-secret".to_owned()));
    let mut lambda = Lambda::start(&env);
    assert!(!wait_exit(&mut lambda.child).success());
    let logs = lambda.logs();
    let error = logs
        .lines()
        .find(|line| line.starts_with("Error: "))
        .unwrap_or_else(|| panic!("no init error in {logs}"));
    assert!(error.contains("CDCMASK_TOKEN_KEY_SECRET"), "{error}");
    assert!(error.contains("ResourceNotFoundException"), "{error}");
}
