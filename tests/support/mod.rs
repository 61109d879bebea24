//! Shared support for the end-to-end tests of the `cdc-mask-suite` package.
//!
//! Included by each test file with `mod support;`. It provides:
//! - [`MotoServer`]: a `moto_server` (local AWS mock, KMS included) on a free
//!   loopback port, from the `.venv` that `./scripts/test` creates;
//! - [`RuntimeApi`]: a minimal AWS Lambda Runtime API endpoint, to run the real
//!   `cdc-mask-lambda` binary (built on `lambda_runtime`) against;
//! - [`cargo_bin`]: the path of a workspace binary, built once per test process;
//! - [`workspace_root`].

// Every test binary compiles this whole module but uses only a subset of it
// (one needs moto only, another the Runtime API only), so unused items are
// expected here and must not fail `clippy -D warnings`.
#![allow(dead_code)]

mod kms_proxy;

#[allow(unused_imports)]
pub use kms_proxy::KmsEcdhProxy;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The repository root (the root package is the workspace root).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A free TCP port on 127.0.0.1 (bind port 0, read it, drop the listener).
/// Someone else may take it before it is used: callers retry on failure.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panics while holding a guard must not take the server
    // threads down with it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970")
        .as_millis()
}

// ---------------------------------------------------------------------------
// moto
// ---------------------------------------------------------------------------

/// How long `MotoServer::start` waits for moto to answer HTTP.
const MOTO_START_TIMEOUT: Duration = Duration::from_secs(30);

/// A `moto_server` process on a free port of 127.0.0.1, killed on drop.
///
/// It runs with moto's request recorder on (`MOTO_ENABLE_RECORDING`), writing
/// one JSON line per request it serves to `recording.jsonl` in its temp dir;
/// [`MotoServer::count_kms_calls`] counts KMS calls from that file.
pub struct MotoServer {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    child: Child,
    dir: tempfile::TempDir,
    recording: PathBuf,
}

impl MotoServer {
    /// The `moto_server` executable: `$CDCMASK_VENV/bin/moto_server`, else
    /// `<workspace>/.venv/bin/moto_server`.
    pub fn executable() -> PathBuf {
        let venv = match std::env::var_os("CDCMASK_VENV") {
            Some(venv) if !venv.is_empty() => PathBuf::from(venv),
            _ => workspace_root().join(".venv"),
        };
        venv.join("bin").join("moto_server")
    }

    /// Starts moto and waits until it answers HTTP. Panics (never skips) when
    /// moto is not installed or does not come up.
    pub fn start() -> MotoServer {
        let exe = Self::executable();
        if !exe.is_file() {
            panic!(
                "moto_server not found at {}: run the README test command `./scripts/test` \
                 (it installs the pinned test tools into .venv), or set CDCMASK_VENV",
                exe.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("cdcmask-moto-")
            .tempdir()
            .expect("create temp dir for moto");
        let mut attempt = 1;
        loop {
            match Self::try_start(&exe, dir.path(), attempt) {
                Ok((child, endpoint, recording)) => {
                    return MotoServer {
                        endpoint,
                        child,
                        dir,
                        recording,
                    }
                }
                // The process exited early: most likely another process took
                // the port between our probe and moto's bind. Try once more.
                Err(err) if err.exited && attempt == 1 => attempt += 1,
                Err(err) => {
                    let _kept = dir.keep();
                    panic!(
                        "moto_server did not start: {}; its log: {}",
                        err.msg,
                        err.log.display()
                    );
                }
            }
        }
    }

    fn try_start(
        exe: &Path,
        dir: &Path,
        attempt: u32,
    ) -> Result<(Child, String, PathBuf), StartError> {
        let port = free_port();
        let log_path = dir.join(format!("moto-{attempt}.log"));
        let log = File::create(&log_path).expect("create moto log file");
        let log_err = log.try_clone().expect("clone moto log file");
        let recording = dir.join("recording.jsonl");
        let mut child = Command::new(exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ENABLE_RECORDING", "True")
            .env("MOTO_RECORDER_FILEPATH", &recording)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", exe.display()));
        let deadline = Instant::now() + MOTO_START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(StartError {
                    exited: true,
                    msg: format!("moto_server exited early ({status}) on port {port}"),
                    log: log_path,
                });
            }
            if http_get_status(port, "/moto-api/") == Some(200) {
                return Ok((child, format!("http://127.0.0.1:{port}"), recording));
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StartError {
                    exited: false,
                    msg: format!(
                        "moto_server on port {port} did not answer GET /moto-api/ \
                         within {MOTO_START_TIMEOUT:?}"
                    ),
                    log: log_path,
                });
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The environment a child process (the CLI, the Lambda binary) needs to
    /// talk to this moto instead of AWS.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    /// An SDK config for in-process clients (`aws_sdk_kms::Client::new(&cfg)`)
    /// pointing at this moto with static test credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_kms::config::Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "cdc-mask-tests",
            ))
            .endpoint_url(&self.endpoint)
            .load()
            .await
    }

    /// How many KMS calls of `action` (`"GenerateDataKey"`, `"Decrypt"`, … or
    /// `"TrentService.GenerateDataKey"`) this moto has served so far, from any
    /// client (this process or a child).
    ///
    /// How it works: moto's request recorder (moto >= 4, `moto_api` recorder,
    /// on from the start via `MOTO_ENABLE_RECORDING`) appends one JSON line per
    /// request, headers included, to a file in this server's temp dir before
    /// the request is handled, so a call is counted once its response has been
    /// received. KMS speaks awsJson1.1 and names the operation in the
    /// `X-Amz-Target: TrentService.<Action>` header; this counts the lines
    /// holding that exact, quoted header value (so `GenerateDataKey` does not
    /// count `GenerateDataKeyWithoutPlaintext`). Bodies are recorded base64, so
    /// they cannot produce false matches. Take differences between two counts
    /// to measure one step.
    pub fn count_kms_calls(&self, action: &str) -> usize {
        let action = action.strip_prefix("TrentService.").unwrap_or(action);
        let needle = format!("\"TrentService.{action}\"");
        let text = match std::fs::read_to_string(&self.recording) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return 0,
            Err(e) => panic!("read moto recording {}: {e}", self.recording.display()),
        };
        text.lines().filter(|line| line.contains(&needle)).count()
    }

    /// Every request moto has recorded so far (`method`, `url`, `headers`,
    /// `body`), in order.
    pub fn recorded_requests(&self) -> Vec<serde_json::Value> {
        match std::fs::read_to_string(&self.recording) {
            Ok(text) => text
                .lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => panic!("read moto recording {}: {e}", self.recording.display()),
        }
    }

    /// An S3 client for this moto (path-style addressing).
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = self.sdk_config().await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        )
    }

    /// The temp dir holding moto's log(s) and recording.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct StartError {
    /// The process exited by itself (as when it lost the port race).
    exited: bool,
    msg: String,
    log: PathBuf,
}

/// The status code of `GET path` on 127.0.0.1:port, or None if it does not answer.
fn http_get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------
// Lambda Runtime API
// ---------------------------------------------------------------------------

/// The function ARN the Runtime API hands out with each event.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:cdc-mask";
/// The function name in [`RuntimeApi::lambda_env`].
pub const FUNCTION_NAME: &str = "cdc-mask";

const API_PREFIX: &str = "/2018-06-01/runtime";

/// What the function posted for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Body of `POST /invocation/{id}/response`.
    Response(Vec<u8>),
    /// Body of `POST /invocation/{id}/error` (the runtime's `Diagnostic` JSON:
    /// `{"errorType": …, "errorMessage": …}`).
    Error(Vec<u8>),
}

impl Invocation {
    /// The response body; panics (showing the error) if it was an error.
    pub fn expect_response(self) -> Vec<u8> {
        match self {
            Invocation::Response(body) => body,
            Invocation::Error(body) => panic!(
                "the function reported an error instead of a response: {}",
                String::from_utf8_lossy(&body)
            ),
        }
    }

    /// The error body; panics (showing the response) if it was a response.
    pub fn expect_error(self) -> Vec<u8> {
        match self {
            Invocation::Error(body) => body,
            Invocation::Response(body) => panic!(
                "the function responded instead of reporting an error: {}",
                String::from_utf8_lossy(&body)
            ),
        }
    }
}

/// One HTTP request the Runtime API received, in arrival order.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Trailer fields of a chunked body (names lower-cased).
    pub trailers: Vec<(String, String)>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct ApiState {
    queue: VecDeque<(String, Vec<u8>)>,
    results: HashMap<String, Invocation>,
    init_error: Option<Vec<u8>>,
    requests: Vec<RecordedRequest>,
    connections: Vec<TcpStream>,
    shutdown: bool,
}

#[derive(Default)]
struct ApiShared {
    state: Mutex<ApiState>,
    changed: Condvar,
}

/// A minimal AWS Lambda Runtime API on a free port of 127.0.0.1, for running
/// a real `lambda_runtime` binary: start the binary with
/// [`RuntimeApi::lambda_env`] in its environment, queue events with
/// [`RuntimeApi::invoke`] and collect what it posts with [`RuntimeApi::wait`].
///
/// HTTP/1.1 with keep-alive, `Content-Length` and chunked bodies (trailers
/// accepted), one thread per connection. Endpoints:
/// - `GET  /2018-06-01/runtime/invocation/next`: blocks until an event is
///   queued, then 200 with the event and the `Lambda-Runtime-*` headers;
/// - `POST /2018-06-01/runtime/invocation/{id}/response` and `…/{id}/error`: 202;
/// - `POST /2018-06-01/runtime/init/error`: 202;
/// - anything else: 404 (SnapStart's `/restore/*` included).
pub struct RuntimeApi {
    addr: std::net::SocketAddr,
    shared: Arc<ApiShared>,
    acceptor: Option<JoinHandle<()>>,
}

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(1);

impl RuntimeApi {
    pub fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind Runtime API listener");
        let addr = listener.local_addr().expect("local_addr");
        let shared = Arc::new(ApiShared::default());
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("runtime-api-accept".into())
                .spawn(move || accept_loop(listener, shared))
                .expect("spawn Runtime API acceptor")
        };
        RuntimeApi {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `127.0.0.1:PORT`, the form `AWS_LAMBDA_RUNTIME_API` takes.
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// The environment a `lambda_runtime` binary needs to run against this
    /// API: `AWS_LAMBDA_RUNTIME_API`, and the `AWS_LAMBDA_FUNCTION_*` variables
    /// that `lambda_runtime::Config::from_env` panics without.
    pub fn lambda_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_LAMBDA_RUNTIME_API", self.endpoint()),
            ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME.to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{FUNCTION_NAME}"),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "cdc-mask-tests".to_owned()),
        ]
    }

    /// Queues an event; returns its request id.
    pub fn invoke(&self, body: impl Into<Vec<u8>>) -> String {
        let n = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
        let id = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            std::process::id(),
            n & 0xffff_ffff_ffff
        );
        let mut state = lock(&self.shared.state);
        state.queue.push_back((id.clone(), body.into()));
        drop(state);
        self.shared.changed.notify_all();
        id
    }

    /// Waits for the function's response or error to `request_id` (and
    /// forgets it). Panics if neither arrives within `timeout`.
    pub fn wait(&self, request_id: &str, timeout: Duration) -> Invocation {
        let deadline = Instant::now() + timeout;
        let mut state = lock(&self.shared.state);
        loop {
            if let Some(result) = state.results.remove(request_id) {
                return result;
            }
            let now = Instant::now();
            if now >= deadline {
                let seen: Vec<String> = state
                    .requests
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect();
                let init_error = state
                    .init_error
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).into_owned());
                drop(state);
                panic!(
                    "RuntimeApi: no response or error for request {request_id} within {timeout:?} \
                     (did the function start, with lambda_env()?); requests seen: {seen:?}; \
                     init error: {init_error:?}"
                );
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The body posted to `/init/error`, if one arrives within `timeout`.
    pub fn init_error(&self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut state = lock(&self.shared.state);
        loop {
            if let Some(body) = &state.init_error {
                return Some(body.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The path of every request received so far, in order.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.shared.state)
            .requests
            .iter()
            .map(|r| r.path.clone())
            .collect()
    }

    /// Every request received so far, with method, headers and body.
    pub fn recorded(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.state).requests.clone()
    }

    /// Events queued but not yet handed out by `/next`.
    pub fn pending(&self) -> usize {
        lock(&self.shared.state).queue.len()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        let connections = {
            let mut state = lock(&self.shared.state);
            state.shutdown = true;
            std::mem::take(&mut state.connections)
        };
        self.shared.changed.notify_all();
        for conn in connections {
            let _ = conn.shutdown(Shutdown::Both);
        }
        // Wake the acceptor so it sees the shutdown flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<ApiShared>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        {
            let mut state = lock(&shared.state);
            if state.shutdown {
                return;
            }
            if let Ok(clone) = stream.try_clone() {
                state.connections.push(clone);
            }
        }
        let shared = Arc::clone(&shared);
        let _ = thread::Builder::new()
            .name("runtime-api-conn".into())
            .spawn(move || {
                let _ = serve_connection(stream, &shared);
            });
    }
}

struct HttpRequest {
    method: String,
    path: String,
    http10: bool,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    trailers: Vec<(String, String)>,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn wants_close(&self) -> bool {
        match self.header("connection") {
            Some(v) if v.eq_ignore_ascii_case("close") => true,
            Some(v) if v.eq_ignore_ascii_case("keep-alive") => false,
            _ => self.http10,
        }
    }
}

fn serve_connection(stream: TcpStream, shared: &ApiShared) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader, &mut writer)? {
        let close = req.wants_close();
        lock(&shared.state).requests.push(RecordedRequest {
            method: req.method.clone(),
            path: req.path.clone(),
            headers: req.headers.clone(),
            body: req.body.clone(),
            trailers: req.trailers.clone(),
        });
        shared.changed.notify_all();
        let keep_going = route(req, shared, &mut writer)?;
        if close || !keep_going {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
    Ok(())
}

/// Answers one request; false when the connection must close (shutdown).
fn route(req: HttpRequest, shared: &ApiShared, out: &mut TcpStream) -> io::Result<bool> {
    let rest = req.path.strip_prefix(API_PREFIX).unwrap_or("");
    match (req.method.as_str(), rest) {
        ("GET", "/invocation/next") => {
            let (id, body) = {
                let state = lock(&shared.state);
                let mut state = shared
                    .changed
                    .wait_while(state, |s| s.queue.is_empty() && !s.shutdown)
                    .unwrap_or_else(PoisonError::into_inner);
                if state.shutdown {
                    return Ok(false);
                }
                state.queue.pop_front().expect("queue is not empty")
            };
            let deadline = (epoch_ms() + 300_000).to_string();
            let n = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
            let trace = format!(
                "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
                epoch_ms() / 1000,
                n,
                n
            );
            write_response(
                out,
                "200 OK",
                &[
                    ("Content-Type", "application/json"),
                    ("Lambda-Runtime-Aws-Request-Id", &id),
                    ("Lambda-Runtime-Deadline-Ms", &deadline),
                    ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN),
                    ("Lambda-Runtime-Trace-Id", &trace),
                ],
                &body,
            )?;
            Ok(true)
        }
        ("POST", "/init/error") => {
            lock(&shared.state).init_error = Some(req.body);
            shared.changed.notify_all();
            accepted(out)
        }
        ("POST", rest) => {
            let invocation = rest.strip_prefix("/invocation/").and_then(|r| {
                if let Some(id) = r.strip_suffix("/response") {
                    Some((id, true))
                } else {
                    r.strip_suffix("/error").map(|id| (id, false))
                }
            });
            match invocation {
                Some((id, is_response)) if !id.is_empty() && !id.contains('/') => {
                    let result = if is_response {
                        Invocation::Response(req.body)
                    } else {
                        Invocation::Error(req.body)
                    };
                    lock(&shared.state).results.insert(id.to_owned(), result);
                    shared.changed.notify_all();
                    accepted(out)
                }
                _ => not_found(out),
            }
        }
        _ => not_found(out),
    }
}

fn accepted(out: &mut TcpStream) -> io::Result<bool> {
    write_response(
        out,
        "202 Accepted",
        &[("Content-Type", "application/json")],
        br#"{"status":"OK"}"#,
    )?;
    Ok(true)
}

fn not_found(out: &mut TcpStream) -> io::Result<bool> {
    write_response(
        out,
        "404 Not Found",
        &[("Content-Type", "application/json")],
        br#"{"errorMessage":"not found","errorType":"NotFound"}"#,
    )?;
    Ok(true)
}

fn write_response(
    out: &mut TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut msg = head.into_bytes();
    msg.extend_from_slice(body);
    out.write_all(&msg)?;
    out.flush()
}

const MAX_LINE: usize = 64 * 1024;

/// One CRLF- (or LF-) terminated line without its terminator; None at EOF.
fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = reader.take(MAX_LINE as u64).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "line too long or truncated",
        ));
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

/// Header fields up to the empty line; names lower-cased.
fn read_fields(reader: &mut impl BufRead) -> io::Result<Vec<(String, String)>> {
    let mut fields = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| bad("EOF in header"))?;
        if line.is_empty() {
            return Ok(fields);
        }
        let (name, value) = line.split_once(':').ok_or_else(|| bad("bad header line"))?;
        fields.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
}

/// Reads one request; None when the peer closed the connection between requests.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> io::Result<Option<HttpRequest>> {
    let request_line = loop {
        match read_line(reader)? {
            None => return Ok(None),
            Some(line) if line.is_empty() => continue, // stray CRLF between requests
            Some(line) => break line,
        }
    };
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("bad request line"));
    };
    let path = target.split('?').next().unwrap_or(target).to_owned();
    let mut req = HttpRequest {
        method: method.to_owned(),
        path,
        http10: version == "HTTP/1.0",
        headers: read_fields(reader)?,
        body: Vec::new(),
        trailers: Vec::new(),
    };
    if req
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let size_line = read_line(reader)?.ok_or_else(|| bad("EOF in chunk size"))?;
            let size_hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                req.trailers = read_fields(reader)?;
                break;
            }
            let start = req.body.len();
            req.body.resize(start + size, 0);
            reader.read_exact(&mut req.body[start..])?;
            let crlf = read_line(reader)?.ok_or_else(|| bad("EOF after chunk"))?;
            if !crlf.is_empty() {
                return Err(bad("missing CRLF after chunk"));
            }
        }
    } else if let Some(len) = req.header("content-length") {
        let len: usize = len.parse().map_err(|_| bad("bad content-length"))?;
        req.body.resize(len, 0);
        reader.read_exact(&mut req.body)?;
    }
    Ok(Some(req))
}

// ---------------------------------------------------------------------------
// Workspace binaries
// ---------------------------------------------------------------------------

/// Where cargo puts this test binary's sibling binaries, and how to build them.
struct BuildLayout {
    /// `target[/<triple>]/<profile-dir>`
    out_dir: PathBuf,
    target_dir: PathBuf,
    triple: Option<String>,
    /// `debug`, `release` or a custom profile's directory name.
    profile_dir: String,
}

fn build_layout() -> BuildLayout {
    // The test binary is target[/<triple>]/<profile>/deps/<test>-<hash>.
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test binary has a parent dir");
    let out_dir = if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().expect("deps has a parent").to_path_buf()
    } else {
        deps.to_path_buf()
    };
    let profile_dir = out_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "debug".to_owned());
    let above = out_dir.parent().map(Path::to_path_buf);
    let env_target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            }
        })
        .unwrap_or_else(|| workspace_root().join("target"));
    let (target_dir, triple) = match above {
        // target/<profile>: cargo marks its target dir with CACHEDIR.TAG.
        Some(dir) if dir.join("CACHEDIR.TAG").is_file() => (dir, None),
        // target/<triple>/<profile> (a --target build).
        Some(dir)
            if dir
                .parent()
                .is_some_and(|t| t.join("CACHEDIR.TAG").is_file()) =>
        {
            let triple = dir.file_name().map(|n| n.to_string_lossy().into_owned());
            (dir.parent().expect("checked").to_path_buf(), triple)
        }
        _ => (env_target, None),
    };
    BuildLayout {
        out_dir,
        target_dir,
        triple,
        profile_dir,
    }
}

type BuildResults = Mutex<HashMap<String, Result<PathBuf, String>>>;

/// The path of the workspace binary `name` (`cdc-mask`, `cdc-mask-lambda`),
/// built by `cargo build --workspace --bin <name>` in the same profile (and
/// target dir and triple) as this test binary, once per test process;
/// concurrent callers wait for that one build. `--workspace` resolves features
/// across the whole workspace, as `cargo test --workspace` does, so the
/// dependencies already built for the tests are reused. Panics with cargo's
/// output if the build fails.
///
/// (`CARGO_BIN_EXE_*` is not available here: the binaries belong to member
/// crates, not to this root package.)
pub fn cargo_bin(name: &str) -> PathBuf {
    static BUILDS: OnceLock<BuildResults> = OnceLock::new();
    let builds = BUILDS.get_or_init(Default::default);
    // Held for the whole build: cargo would serialize on its lock anyway.
    let mut builds = lock(builds);
    let result = builds
        .entry(name.to_owned())
        .or_insert_with(|| build_bin(name))
        .clone();
    drop(builds);
    match result {
        Ok(path) => path,
        Err(msg) => panic!("{msg}"),
    }
}

fn build_bin(name: &str) -> Result<PathBuf, String> {
    let layout = build_layout();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "--workspace",
            "--bin",
            name,
            "--target-dir",
        ])
        .arg(&layout.target_dir);
    match layout.profile_dir.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    if let Some(triple) = &layout.triple {
        cmd.args(["--target", triple]);
    }
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cargo_bin({name}): could not run {cargo:?}: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(80).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "cargo_bin({name}): `{cmd:?}` failed ({}):\n{}",
            output.status,
            tail.join("\n")
        ));
    }
    let path = layout
        .out_dir
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        return Err(format!(
            "cargo_bin({name}): cargo built it but {} does not exist",
            path.display()
        ));
    }
    Ok(path)
}

/// Runs the `cdc-mask` binary with `args`, no stdin, and none of the
/// environment that could point it at real keys or endpoints.
pub fn run_cdc_mask(args: &[&str]) -> std::process::Output {
    Command::new(cargo_bin("cdc-mask"))
        .args(args)
        .env_remove("CDCMASK_KEYRING")
        .env_remove("CDCMASK_KMS_KEY_ID")
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Validates JSON `documents` against the JSON Schema file `schema` with
/// Python's `jsonschema` from the test venv; one verdict per document.
/// Panics (never skips) when the venv is missing.
pub fn validate_json_schema<D: AsRef<str>>(schema: &Path, documents: &[D]) -> Vec<bool> {
    let venv = std::env::var("CDCMASK_VENV")
        .unwrap_or_else(|_| workspace_root().join(".venv").display().to_string());
    let python = format!("{venv}/bin/python");
    assert!(
        Path::new(&python).exists(),
        "{python} missing: run the README test command (./scripts/test)"
    );
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
for doc in json.load(sys.stdin):
    print("valid" if validator.is_valid(json.loads(doc)) else "invalid")
"#;
    let mut child = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let documents: Vec<&str> = documents.iter().map(AsRef::as_ref).collect();
    serde_json::to_writer(child.stdin.take().unwrap(), &documents).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "jsonschema failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l == "valid")
        .collect()
}
