//! Tests of the shared test support (`tests/support`): the Lambda Runtime API
//! stand-in, driven by a plain std TCP client, and the moto server with KMS.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::{Invocation, MotoServer, RuntimeApi, FUNCTION_ARN};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const TIMEOUT: Duration = Duration::from_secs(10);

/// A keep-alive HTTP/1.1 client connection.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Conn {
    fn open(api: &RuntimeApi) -> Conn {
        let stream = TcpStream::connect(api.endpoint()).expect("connect to RuntimeApi");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        Conn {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    fn send(&mut self, raw: &[u8]) -> Reply {
        self.writer.write_all(raw).unwrap();
        self.read_reply()
    }

    fn get(&mut self, path: &str) -> Reply {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
    }

    fn post(&mut self, path: &str, body: &[u8]) -> Reply {
        let mut raw = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(body);
        self.send(&raw)
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read reply line");
        line.trim_end_matches(['\r', '\n']).to_owned()
    }

    fn read_reply(&mut self) -> Reply {
        let status_line = self.read_line();
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let line = self.read_line();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("header line");
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        let mut reply = Reply {
            status,
            headers,
            body: Vec::new(),
        };
        let len: usize = reply
            .header("content-length")
            .expect("replies carry Content-Length")
            .parse()
            .unwrap();
        reply.body.resize(len, 0);
        self.reader.read_exact(&mut reply.body).unwrap();
        reply
    }
}

#[test]
fn next_then_chunked_response_on_one_keep_alive_connection() {
    let api = RuntimeApi::start();
    let event = br#"{"records":[{"recordId":"1","data":"e30="}]}"#.to_vec();
    let id = api.invoke(event.clone());
    assert_eq!(api.pending(), 1);

    let mut conn = Conn::open(&api);
    let next = conn.get(NEXT);
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

    // Same connection, chunked body with a chunk extension and a trailer, as
    // lambda_runtime's streaming responses send them.
    let raw = format!(
        "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: localhost\r\n\
         Transfer-Encoding: chunked\r\nLambda-Runtime-Function-Response-Mode: streaming\r\n\
         Trailer: Lambda-Runtime-Function-Error-Type\r\n\r\n\
         6\r\n{{\"ok\":\r\na;ext=1\r\n true, \"n\"\r\n3\r\n:1}}\r\n0\r\n\
         Lambda-Runtime-Function-Error-Type: none\r\n\r\n"
    );
    let reply = conn.send(raw.as_bytes());
    assert_eq!(reply.status, 202);
    assert_eq!(
        api.wait(&id, TIMEOUT),
        Invocation::Response(br#"{"ok": true, "n":1}"#.to_vec())
    );

    let recorded = api.recorded();
    let post = recorded.last().unwrap();
    assert_eq!(post.method, "POST");
    assert_eq!(
        post.trailers,
        vec![(
            "lambda-runtime-function-error-type".to_owned(),
            "none".to_owned()
        )]
    );
    assert_eq!(
        post.header("Lambda-Runtime-Function-Response-Mode"),
        Some("streaming")
    );

    // Still the same connection: a second event, answered with Content-Length.
    let id2 = api.invoke("[2]");
    assert_ne!(id, id2);
    let next = conn.get(NEXT);
    assert_eq!(next.body, b"[2]");
    assert_eq!(
        next.header("Lambda-Runtime-Aws-Request-Id"),
        Some(id2.as_str())
    );
    let reply = conn.post(
        &format!("/2018-06-01/runtime/invocation/{id2}/response"),
        b"\"two\"",
    );
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

#[test]
fn error_post_and_init_error_are_recorded() {
    let api = RuntimeApi::start();
    assert_eq!(api.init_error(Duration::from_millis(50)), None);

    let id = api.invoke(b"{}".to_vec());
    let mut conn = Conn::open(&api);
    assert_eq!(conn.get(NEXT).status, 200);
    let diagnostic = br#"{"errorType":"cdc_mask::Error","errorMessage":"boom"}"#;
    let reply = conn.post(
        &format!("/2018-06-01/runtime/invocation/{id}/error"),
        diagnostic,
    );
    assert_eq!(reply.status, 202);
    assert_eq!(api.wait(&id, TIMEOUT).expect_error(), diagnostic);

    let init = br#"{"errorType":"Runtime.InitError","errorMessage":"no key"}"#;
    let reply = conn.post("/2018-06-01/runtime/init/error", init);
    assert_eq!(reply.status, 202);
    assert_eq!(api.init_error(TIMEOUT).as_deref(), Some(&init[..]));
}

#[test]
fn unknown_requests_get_404_and_keep_the_connection() {
    let api = RuntimeApi::start();
    let mut conn = Conn::open(&api);
    assert_eq!(conn.get("/nope").status, 404);
    assert_eq!(conn.get("/2018-06-01/runtime/restore/next").status, 404);
    assert_eq!(conn.post(NEXT, b"").status, 404);
    assert_eq!(
        conn.post("/2018-06-01/runtime/invocation//response", b"x")
            .status,
        404
    );
    // The connection is still usable.
    let id = api.invoke("1");
    let next = conn.get(NEXT);
    assert_eq!(next.status, 200);
    assert_eq!(
        next.header("Lambda-Runtime-Aws-Request-Id"),
        Some(id.as_str())
    );
}

#[test]
fn next_blocks_until_an_event_is_queued_while_other_connections_work() {
    let api = RuntimeApi::start();
    let endpoint = api.endpoint();
    let poller = thread::spawn(move || {
        let stream = TcpStream::connect(endpoint).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut conn = Conn {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        let next = conn.get(NEXT);
        (
            next.header("Lambda-Runtime-Aws-Request-Id")
                .unwrap()
                .to_owned(),
            next.body,
        )
    });
    // Wait until the poller's request is in and blocked.
    let t0 = std::time::Instant::now();
    while api.requests().is_empty() {
        assert!(t0.elapsed() < TIMEOUT, "the poller never reached the API");
        thread::sleep(Duration::from_millis(10));
    }
    // Another connection is served while the first one blocks.
    let mut other = Conn::open(&api);
    assert_eq!(other.get("/elsewhere").status, 404);
    assert!(!poller.is_finished());

    let id = api.invoke("late");
    let (got_id, body) = poller.join().unwrap();
    assert_eq!(got_id, id);
    assert_eq!(body, b"late");

    let reply = other.post(
        &format!("/2018-06-01/runtime/invocation/{id}/response"),
        b"1",
    );
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

#[test]
fn cargo_bin_builds_the_workspace_binaries() {
    for name in ["cdc-mask", "cdc-mask-lambda"] {
        let path = support::cargo_bin(name);
        assert!(path.is_file(), "{} missing", path.display());
        // Once per process: the second call does not rebuild.
        assert_eq!(support::cargo_bin(name), path);
    }
    // Same profile directory as this test binary.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    assert_eq!(
        support::cargo_bin("cdc-mask").parent().unwrap(),
        profile_dir
    );
}
