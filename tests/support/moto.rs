//! The moto server (a local AWS mock, KMS included) on a free port of
//! 127.0.0.1, from the `.venv` that `./scripts/test` creates. Never skipped:
//! a test that needs moto fails when it is missing.

use std::fs::File;
use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{http, venv};

/// A free TCP port on 127.0.0.1 (bind port 0, read it, drop the listener).
/// Someone else may take it before it is used: callers retry on failure.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

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
    /// The `moto_server` executable of the test [`venv`].
    pub fn executable() -> PathBuf {
        venv().join("bin").join("moto_server")
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
            if http::get_status(&format!("127.0.0.1:{port}"), "/moto-api/") == Some(200) {
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

    /// An SDK config for in-process clients (`aws_sdk_s3::Client::new(&cfg)`)
    /// pointing at this moto with static test credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config(&self.endpoint).await
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

/// An SDK config for in-process clients pointing at `endpoint` (moto, or a
/// proxy in front of it) with moto's static test credentials.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    cdc_mask_transformer::aws::defaults()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "cdc-mask-tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}
