//! A pass-through HTTP proxy in front of the moto server that injects the
//! failures moto never produces. HTTP is hyper's ([`super::http`]).
//!
//! - On the first `faulty_calls` Firehose `PutRecordBatch` requests it
//!   withholds every third record from moto and answers that entry
//!   `ServiceUnavailableException` (as Firehose does under load), merging
//!   moto's answers for the rest in order. moto does not check SigV4
//!   signatures, so the shortened body is accepted.
//! - The first attempts (`amz-sdk-request: attempt=1`) of the next
//!   `failing_first_attempts` Kinesis `GetRecords` and S3 `PUT` requests it
//!   answers `500 Internal Server Error` itself, so the SDK's retry succeeds.
//! - Everything else passes unchanged.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine as _;
use hyper::StatusCode;
use serde_json::{json, Value};

use super::http::{self, Handler, Request, Response, Server};
use super::MotoServer;

/// What the fault proxy saw and did.
#[derive(Debug, Default)]
pub struct ProxyState {
    /// PutRecordBatch calls still to answer with injected failures.
    pub faulty_calls: usize,
    /// Entries answered `ServiceUnavailableException` without reaching moto.
    pub injected: usize,
    /// Records in all PutRecordBatch requests received.
    pub records_received: usize,
    /// Largest PutRecordBatch request: (records, bytes of data).
    pub largest: (usize, usize),
    /// Kinesis `GetRecords` and S3 `PUT` requests still to answer `500`
    /// without reaching moto, on their first attempt only.
    pub failing_first_attempts: usize,
    /// Requests answered `500` so far.
    pub answered_500: usize,
    /// Kinesis `GetRecords` requests seen.
    pub get_records: usize,
}

/// The proxy; see the module doc. Stops when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    state: Arc<Mutex<ProxyState>>,
    _server: Server,
}

impl FaultProxy {
    /// A proxy to `moto` that fails the first `faulty_calls` PutRecordBatch
    /// calls in part.
    pub fn start(moto: &MotoServer, faulty_calls: usize) -> FaultProxy {
        let upstream = moto.endpoint.trim_start_matches("http://").to_owned();
        let state = Arc::new(Mutex::new(ProxyState {
            faulty_calls,
            ..ProxyState::default()
        }));
        let handler: Handler = {
            let state = Arc::clone(&state);
            Arc::new(move |request| {
                let (state, upstream) = (Arc::clone(&state), upstream.clone());
                Box::pin(async move { proxy(&upstream, &state, request).await })
            })
        };
        let server = Server::start("fault-proxy", handler);
        FaultProxy {
            endpoint: server.url(),
            state,
            _server: server,
        }
    }

    /// What the proxy saw and did so far (and the knobs it still follows).
    pub fn state(&self) -> MutexGuard<'_, ProxyState> {
        lock(&self.state)
    }

    /// moto's AWS environment with every call going through this proxy.
    pub fn aws_env(&self, moto: &MotoServer) -> Vec<(&'static str, String)> {
        let mut env = moto.aws_env();
        env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
        env.push(("AWS_ENDPOINT_URL", self.endpoint.clone()));
        env
    }
}

fn lock(state: &Mutex<ProxyState>) -> MutexGuard<'_, ProxyState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn proxy(upstream: &str, state: &Mutex<ProxyState>, mut request: Request) -> Response {
    if fails_with_500(&request, state) {
        return Response::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "application/x-amz-json-1.1",
            &br#"{"__type":"InternalFailure","message":"injected by the test's fault proxy"}"#[..],
        );
    }
    let withheld = if request.header("x-amz-target") == Some("Firehose_20150804.PutRecordBatch") {
        withhold_some(&mut request, state)
    } else {
        Vec::new()
    };
    let mut response = match http::forward(upstream, &request).await {
        Ok(response) => response,
        Err(e) => {
            return Response::new(StatusCode::BAD_GATEWAY, "text/plain", e.into_bytes());
        }
    };
    if !withheld.is_empty() {
        response.body = merge_answers(&response.body, &withheld).into();
    }
    response
}

/// Counts a PutRecordBatch request and, while faulty calls remain, takes
/// every third record out of it; returns which records were withheld.
fn withhold_some(request: &mut Request, state: &Mutex<ProxyState>) -> Vec<bool> {
    let mut batch: Value = serde_json::from_slice(&request.body).expect("PutRecordBatch is JSON");
    let records = batch["Records"].as_array().expect("Records").clone();
    let mut st = lock(state);
    st.records_received += records.len();
    let bytes: usize = records
        .iter()
        .map(|r| {
            base64::engine::general_purpose::STANDARD
                .decode(r["Data"].as_str().expect("Data"))
                .expect("Data is base64")
                .len()
        })
        .sum();
    st.largest = st.largest.max((records.len(), bytes));
    if st.faulty_calls == 0 {
        return Vec::new();
    }
    st.faulty_calls -= 1;
    let withheld: Vec<bool> = (0..records.len()).map(|i| i % 3 == 0).collect();
    st.injected += withheld.iter().filter(|w| **w).count();
    let kept: Vec<Value> = records
        .into_iter()
        .zip(&withheld)
        .filter(|(_, w)| !**w)
        .map(|(r, _)| r)
        .collect();
    batch["Records"] = Value::Array(kept);
    request.body = serde_json::to_vec(&batch).expect("JSON").into();
    withheld
}

/// moto's answers to the records it got, with a failure in the place of
/// each withheld record.
fn merge_answers(moto_answer: &[u8], withheld: &[bool]) -> Vec<u8> {
    let answer: Value = serde_json::from_slice(moto_answer).expect("moto answers JSON");
    let mut accepted = answer["RequestResponses"]
        .as_array()
        .expect("RequestResponses")
        .iter();
    let merged: Vec<Value> = withheld
        .iter()
        .map(|w| {
            if *w {
                json!({
                    "ErrorCode": "ServiceUnavailableException",
                    "ErrorMessage": "injected by the test's fault proxy"
                })
            } else {
                accepted.next().expect("an answer per record").clone()
            }
        })
        .collect();
    serde_json::to_vec(&json!({
        "FailedPutCount": withheld.iter().filter(|w| **w).count(),
        "Encrypted": false,
        "RequestResponses": merged,
    }))
    .expect("JSON")
}

/// Whether the proxy answers this request `500` itself (and counts it).
fn fails_with_500(request: &Request, state: &Mutex<ProxyState>) -> bool {
    let first_attempt = request
        .header("amz-sdk-request")
        .is_some_and(|v| v.starts_with("attempt=1;"));
    let target = request.header("x-amz-target");
    let get_records = target == Some("Kinesis_20131202.GetRecords");
    let s3_put = request.method == hyper::Method::PUT && target.is_none();
    let mut st = lock(state);
    st.get_records += usize::from(get_records);
    if first_attempt && (get_records || s3_put) && st.failing_first_attempts > 0 {
        st.failing_first_attempts -= 1;
        st.answered_500 += 1;
        return true;
    }
    false
}
