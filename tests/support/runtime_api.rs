//! The AWS Lambda Runtime API, for running a real `lambda_runtime` binary
//! (`cdc-mask-lambda`, `cdc-mask-policy-lambda`) as Lambda would: start the
//! binary with [`RuntimeApi::lambda_env`] in its environment, queue events
//! with [`RuntimeApi::invoke`] and collect what it posts with
//! [`RuntimeApi::wait`]. HTTP is hyper's ([`super::http::Server`]).
//!
//! Endpoints (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>):
//! - `GET  /2018-06-01/runtime/invocation/next`: waits until an event is
//!   queued, then 200 with the event and the `Lambda-Runtime-*` headers;
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `…/{id}/error`: 202;
//! - `POST /2018-06-01/runtime/init/error`: 202;
//! - anything else: 404 (SnapStart's `/restore/*` included).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::{Method, StatusCode};

use super::http::{Handler, Request, Response, Server};

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

#[derive(Default)]
struct ApiState {
    queue: VecDeque<(String, Vec<u8>)>,
    results: HashMap<String, Invocation>,
    init_error: Option<Vec<u8>>,
    requests: Vec<Request>,
}

#[derive(Default)]
struct ApiShared {
    state: Mutex<ApiState>,
    /// Wakes test threads waiting for a result.
    changed: Condvar,
    /// Wakes `/next` requests waiting for an event.
    queued: tokio::sync::Notify,
}

impl ApiShared {
    fn lock(&self) -> MutexGuard<'_, ApiState> {
        // A test that panics while holding the guard must not take the
        // server down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A Lambda Runtime API on a free port of 127.0.0.1; see the module doc.
pub struct RuntimeApi {
    shared: Arc<ApiShared>,
    // Dropped (stopped) with the API.
    server: Server,
}

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(1);

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970")
        .as_millis()
}

impl RuntimeApi {
    pub fn start() -> RuntimeApi {
        let shared = Arc::new(ApiShared::default());
        let handler: Handler = {
            let shared = Arc::clone(&shared);
            Arc::new(move |request| {
                let shared = Arc::clone(&shared);
                Box::pin(async move { route(&shared, request).await })
            })
        };
        RuntimeApi {
            shared,
            server: Server::start("runtime-api", handler),
        }
    }

    /// `127.0.0.1:PORT`, the form `AWS_LAMBDA_RUNTIME_API` takes.
    pub fn endpoint(&self) -> String {
        self.server.addr().to_string()
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
        self.shared
            .lock()
            .queue
            .push_back((id.clone(), body.into()));
        self.shared.queued.notify_waiters();
        id
    }

    /// Waits for the function's response or error to `request_id` (and
    /// forgets it). Panics if neither arrives within `timeout`.
    pub fn wait(&self, request_id: &str, timeout: Duration) -> Invocation {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
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
        let mut state = self.shared.lock();
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
        self.shared
            .lock()
            .requests
            .iter()
            .map(|r| r.path.clone())
            .collect()
    }

    /// Every request received so far (method, headers, body, trailers).
    pub fn recorded(&self) -> Vec<Request> {
        self.shared.lock().requests.clone()
    }

    /// Events queued but not yet handed out by `/next`.
    pub fn pending(&self) -> usize {
        self.shared.lock().queue.len()
    }
}

async fn route(shared: &ApiShared, request: Request) -> Response {
    shared.lock().requests.push(request.clone());
    shared.changed.notify_all();
    let rest = request.path.strip_prefix(API_PREFIX).unwrap_or("");
    match (&request.method, rest) {
        (&Method::GET, "/invocation/next") => {
            let (id, body) = next_event(shared).await;
            let deadline = (epoch_ms() + 300_000).to_string();
            let n = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
            let trace = format!(
                "Root=1-{:08x}-{n:024x};Parent={n:016x};Sampled=0",
                epoch_ms() / 1000
            );
            Response::new(StatusCode::OK, "application/json", body)
                .with_header("Lambda-Runtime-Aws-Request-Id", &id)
                .with_header("Lambda-Runtime-Deadline-Ms", &deadline)
                .with_header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
                .with_header("Lambda-Runtime-Trace-Id", &trace)
        }
        (&Method::POST, "/init/error") => {
            shared.lock().init_error = Some(request.body.to_vec());
            shared.changed.notify_all();
            accepted()
        }
        (&Method::POST, rest) => {
            let invocation = rest.strip_prefix("/invocation/").and_then(|r| {
                if let Some(id) = r.strip_suffix("/response") {
                    Some((id, true))
                } else {
                    r.strip_suffix("/error").map(|id| (id, false))
                }
            });
            match invocation {
                Some((id, is_response)) if !id.is_empty() && !id.contains('/') => {
                    let body = request.body.to_vec();
                    let result = if is_response {
                        Invocation::Response(body)
                    } else {
                        Invocation::Error(body)
                    };
                    shared.lock().results.insert(id.to_owned(), result);
                    shared.changed.notify_all();
                    accepted()
                }
                _ => not_found(),
            }
        }
        _ => not_found(),
    }
}

/// The next queued event, waiting for one if there is none.
async fn next_event(shared: &ApiShared) -> (String, Vec<u8>) {
    loop {
        // Registered before looking, so that an event queued in between
        // still wakes this request.
        let queued = shared.queued.notified();
        tokio::pin!(queued);
        queued.as_mut().enable();
        if let Some(event) = shared.lock().queue.pop_front() {
            return event;
        }
        queued.await;
    }
}

fn accepted() -> Response {
    Response::new(
        StatusCode::ACCEPTED,
        "application/json",
        &br#"{"status":"OK"}"#[..],
    )
}

fn not_found() -> Response {
    Response::new(
        StatusCode::NOT_FOUND,
        "application/json",
        &br#"{"errorMessage":"not found","errorType":"NotFound"}"#[..],
    )
}
