//! Tests of the shared test harness (`tests/support`): the Lambda Runtime
//! API, driven by a plain HTTP/1.1 client, the moto server with KMS call
//! counting, and the fault proxy in front of moto.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::header::{HeaderMap, HeaderValue};
use hyper::Method;
use support::http::{Connection, Frames, Outgoing};
use support::{FaultProxy, Invocation, MotoServer, RuntimeApi, FUNCTION_ARN};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const TIMEOUT: Duration = Duration::from_secs(10);

async fn connect(api: &RuntimeApi) -> Connection {
    Connection::open(&api.endpoint())
        .await
        .expect("connect to the RuntimeApi")
}

#[tokio::test]
async fn next_then_chunked_response_on_one_keep_alive_connection() {
    let api = RuntimeApi::start();
    let event = br#"{"records":[{"recordId":"1","data":"e30="}]}"#.to_vec();
    let id = api.invoke(event.clone());
    assert_eq!(api.pending(), 1);

    let mut conn = connect(&api).await;
    let next = conn.get(NEXT).await;
    assert_eq!(next.status, 200);
    assert_eq!(next.body, event);
    assert_eq!(
        next.header("Lambda-Runtime-Aws-Request-Id"),
        Some(id.as_str())
    );
    assert_eq!(
        next.header("Lambda-Runtime-Invoked-Function-Arn"),
        Some(FUNCTION_ARN)
    );
    assert_eq!(next.header("Content-Type"), Some("application/json"));
    assert!(next
        .header("Lambda-Runtime-Trace-Id")
        .is_some_and(|t| t.starts_with("Root=1-")));
    let deadline: u128 = next
        .header("Lambda-Runtime-Deadline-Ms")
        .expect("deadline header")
        .parse()
        .expect("deadline is epoch ms");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(deadline > now + 250_000 && deadline <= now + 300_000);
    assert_eq!(api.pending(), 0);

    // Same connection, a chunked body with a trailer, as lambda_runtime's
    // streaming responses send them.
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-function-response-mode",
        HeaderValue::from_static("streaming"),
    );
    headers.insert(
        "trailer",
        HeaderValue::from_static("Lambda-Runtime-Function-Error-Type"),
    );
    let mut trailers = HeaderMap::new();
    trailers.insert(
        "lambda-runtime-function-error-type",
        HeaderValue::from_static("none"),
    );
    let chunks: [&[u8]; 3] = [b"{\"ok\":", b" true, \"n\"", b":1}"];
    let reply = conn
        .send(
            Method::POST,
            &format!("/2018-06-01/runtime/invocation/{id}/response"),
            headers,
            Outgoing::Chunked(Frames::new(&chunks, Some(trailers))),
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 202);
    assert_eq!(
        api.wait(&id, TIMEOUT),
        Invocation::Response(br#"{"ok": true, "n":1}"#.to_vec())
    );

    let recorded = api.recorded();
    let post = recorded.last().unwrap();
    assert_eq!(post.method, Method::POST);
    assert_eq!(post.header("transfer-encoding"), Some("chunked"));
    assert_eq!(post.trailers.len(), 1, "{:?}", post.trailers);
    assert_eq!(
        post.trailers
            .get("lambda-runtime-function-error-type")
            .map(HeaderValue::as_bytes),
        Some(&b"none"[..])
    );
    assert_eq!(
        post.header("Lambda-Runtime-Function-Response-Mode"),
        Some("streaming")
    );

    // Still the same connection: a second event, answered with Content-Length.
    let id2 = api.invoke("[2]");
    assert_ne!(id, id2);
    let next = conn.get(NEXT).await;
    assert_eq!(next.body, &b"[2]"[..]);
    assert_eq!(
        next.header("Lambda-Runtime-Aws-Request-Id"),
        Some(id2.as_str())
    );
    let reply = conn
        .post(
            &format!("/2018-06-01/runtime/invocation/{id2}/response"),
            b"\"two\"",
        )
        .await;
    assert_eq!(reply.status, 202);
    assert_eq!(api.wait(&id2, TIMEOUT).expect_response(), b"\"two\"");

    assert_eq!(
        api.requests(),
        vec![
            NEXT.to_owned(),
            format!("/2018-06-01/runtime/invocation/{id}/response"),
            NEXT.to_owned(),
            format!("/2018-06-01/runtime/invocation/{id2}/response"),
        ]
    );
}

#[tokio::test]
async fn error_post_and_init_error_are_recorded() {
    let api = RuntimeApi::start();
    assert_eq!(api.init_error(Duration::from_millis(50)), None);

    let id = api.invoke(b"{}".to_vec());
    let mut conn = connect(&api).await;
    assert_eq!(conn.get(NEXT).await.status, 200);
    let diagnostic = br#"{"errorType":"cdc_mask::Error","errorMessage":"boom"}"#;
    let reply = conn
        .post(
            &format!("/2018-06-01/runtime/invocation/{id}/error"),
            diagnostic,
        )
        .await;
    assert_eq!(reply.status, 202);
    assert_eq!(api.wait(&id, TIMEOUT).expect_error(), diagnostic);

    let init = br#"{"errorType":"Runtime.InitError","errorMessage":"no key"}"#;
    let reply = conn.post("/2018-06-01/runtime/init/error", init).await;
    assert_eq!(reply.status, 202);
    assert_eq!(api.init_error(TIMEOUT).as_deref(), Some(&init[..]));
}

#[tokio::test]
async fn unknown_requests_get_404_and_keep_the_connection() {
    let api = RuntimeApi::start();
    let mut conn = connect(&api).await;
    assert_eq!(conn.get("/nope").await.status, 404);
    assert_eq!(
        conn.get("/2018-06-01/runtime/restore/next").await.status,
        404
    );
    assert_eq!(conn.post(NEXT, b"").await.status, 404);
    assert_eq!(
        conn.post("/2018-06-01/runtime/invocation//response", b"x")
            .await
            .status,
        404
    );
    // The connection is still usable.
    let id = api.invoke("1");
    let next = conn.get(NEXT).await;
    assert_eq!(next.status, 200);
    assert_eq!(
        next.header("Lambda-Runtime-Aws-Request-Id"),
        Some(id.as_str())
    );
}

#[tokio::test]
async fn next_waits_until_an_event_is_queued_while_other_connections_work() {
    let api = RuntimeApi::start();
    let endpoint = api.endpoint();
    let poller = tokio::spawn(async move {
        let mut conn = Connection::open(&endpoint).await.unwrap();
        let next = conn.get(NEXT).await;
        (
            next.header("Lambda-Runtime-Aws-Request-Id")
                .unwrap()
                .to_owned(),
            next.body,
        )
    });
    // Wait until the poller's request is in and waiting.
    let t0 = std::time::Instant::now();
    while api.requests().is_empty() {
        assert!(t0.elapsed() < TIMEOUT, "the poller never reached the API");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Another connection is served while the first one waits.
    let mut other = connect(&api).await;
    assert_eq!(other.get("/elsewhere").await.status, 404);
    assert!(!poller.is_finished());

    let id = api.invoke("late");
    let (got_id, body) = tokio::time::timeout(TIMEOUT, poller)
        .await
        .expect("the poller got the event")
        .unwrap();
    assert_eq!(got_id, id);
    assert_eq!(body, &b"late"[..]);

    let reply = other
        .post(
            &format!("/2018-06-01/runtime/invocation/{id}/response"),
            b"1",
        )
        .await;
    assert_eq!(reply.status, 202);
    assert_eq!(api.wait(&id, TIMEOUT), Invocation::Response(b"1".to_vec()));
}

#[test]
#[should_panic(expected = "no response or error for request")]
fn wait_panics_on_timeout() {
    let api = RuntimeApi::start();
    let id = api.invoke("{}");
    api.wait(&id, Duration::from_millis(100));
}

#[test]
fn lambda_env_points_at_the_api() {
    let api = RuntimeApi::start();
    let env = api.lambda_env();
    assert!(env.contains(&("AWS_LAMBDA_RUNTIME_API", api.endpoint())));
    for name in [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
    ] {
        assert!(env.iter().any(|(n, _)| *n == name), "{name} missing");
    }
}

#[tokio::test]
async fn moto_serves_kms_and_counts_calls() {
    let moto = MotoServer::start();
    assert!(moto.endpoint.starts_with("http://127.0.0.1:"));
    let env = moto.aws_env();
    assert!(env.contains(&("AWS_ENDPOINT_URL", moto.endpoint.clone())));

    let kms = aws_sdk_kms::Client::new(&moto.sdk_config().await);
    let key = kms
        .create_key()
        .description("cdc-mask harness selftest")
        .send()
        .await
        .expect("CreateKey against moto");
    let key_id = key
        .key_metadata()
        .expect("key metadata")
        .key_id()
        .to_owned();

    let dk = kms
        .generate_data_key()
        .key_id(&key_id)
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .send()
        .await
        .expect("GenerateDataKey against moto");
    let plaintext = dk.plaintext().expect("plaintext").as_ref().to_vec();
    let blob = dk.ciphertext_blob().expect("ciphertext").clone();
    assert_eq!(plaintext.len(), 32);

    let decrypted = kms
        .decrypt()
        .ciphertext_blob(blob)
        .send()
        .await
        .expect("Decrypt against moto");
    assert_eq!(decrypted.plaintext().unwrap().as_ref(), &plaintext[..]);

    assert_eq!(moto.count_kms_calls("CreateKey"), 1);
    assert_eq!(moto.count_kms_calls("GenerateDataKey"), 1);
    assert_eq!(moto.count_kms_calls("TrentService.Decrypt"), 1);
    assert_eq!(moto.count_kms_calls("GenerateDataKeyWithoutPlaintext"), 0);

    kms.generate_data_key()
        .key_id(&key_id)
        .number_of_bytes(32)
        .send()
        .await
        .unwrap();
    assert_eq!(moto.count_kms_calls("GenerateDataKey"), 2);
}

/// The fault proxy passes S3 calls through to moto unchanged (path-style
/// addressing survives) and answers the first attempt of a PUT `500`
/// itself, which the SDK retries.
#[tokio::test]
async fn the_fault_proxy_passes_through_and_fails_first_attempts() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(&moto, 0);
    proxy.state().failing_first_attempts = 1;
    let config = cdc_mask_transformer::aws::defaults()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "selftest",
        ))
        .endpoint_url(&proxy.endpoint)
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket("proxied").send().await.unwrap();
    assert_eq!(proxy.state().answered_500, 1, "CreateBucket is a PUT");
    s3.put_object()
        .bucket("proxied")
        .key("k")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"through the proxy",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        proxy.state().answered_500,
        1,
        "only the first attempt fails"
    );
    // Read back from moto directly.
    let object = moto
        .s3()
        .await
        .get_object()
        .bucket("proxied")
        .key("k")
        .send()
        .await
        .unwrap();
    let body = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], b"through the proxy");
}
