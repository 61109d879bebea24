//! The transformer crate's AWS edge as it runs in AWS: the real Lambda
//! binaries (`CARGO_BIN_EXE_*`) over the Lambda Runtime API, and S3, KMS and
//! Secrets Manager on the moto server, both from the shared harness
//! (`tests/support` at the workspace root).
//!
//! # Layout
//! - `transformer_lambda`: `cdc-mask-lambda`, both views, a local keyring,
//!   KMS, the token key from Secrets Manager, bad configuration.
//! - `policy_lambda`: `cdc-mask-policy-lambda` compiling findings in S3, and
//!   `cdc-mask-lambda` taking the policy it writes.
//!
//! Here, what they share: a Lambda binary started against its own Runtime
//! API.

#[path = "../../../tests/support/mod.rs"]
mod support;

mod policy_lambda;
mod transformer_lambda;

use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use support::{Invocation, RuntimeApi};

/// The Firehose transformation Lambda.
pub const TRANSFORMER_LAMBDA: &str = env!("CARGO_BIN_EXE_cdc-mask-lambda");
/// The policy Lambda.
pub const POLICY_LAMBDA: &str = env!("CARGO_BIN_EXE_cdc-mask-policy-lambda");

/// The command that starts `binary`: itself, or the file of the same name
/// in `CDCMASK_E2E_LAMBDA_DIR` when that is set (the zips' aarch64 builds,
/// `scripts/e2e-arm64`), run through the program and arguments of
/// `CDCMASK_E2E_RUNNER` when that is set (`qemu-aarch64 -L …`).
fn command(binary: &str) -> Command {
    let Some(dir) = std::env::var_os("CDCMASK_E2E_LAMBDA_DIR") else {
        return Command::new(binary);
    };
    let name = Path::new(binary)
        .file_name()
        .expect("a binary has a file name");
    let path = Path::new(&dir).join(name);
    let runner = std::env::var("CDCMASK_E2E_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut command = Command::new(program);
            command.args(words).arg(path);
            command
        }
        None => Command::new(path),
    }
}

/// How long an invocation, or an init that must fail, may take.
pub const WAIT: Duration = Duration::from_secs(60);

/// A Lambda binary running against its own Runtime API, with only the
/// environment given (and the Runtime API's), logging to a file (not a pipe
/// nobody drains: at `RUST_LOG=trace` a full pipe would block the
/// function). Killed when dropped.
pub struct Lambda {
    pub child: Child,
    pub api: RuntimeApi,
    log: tempfile::NamedTempFile,
}

impl Lambda {
    pub fn start(binary: &str, env: &[(&str, String)]) -> Lambda {
        let api = RuntimeApi::start();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = command(binary)
            .env_clear()
            .envs(api.lambda_env())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            // Both appending, so that neither overwrites the other.
            .stdout(append(log.path()))
            .stderr(append(log.path()))
            .spawn()
            .unwrap();
        Lambda { child, api, log }
    }

    /// Invokes the function with `event` and waits for what it posts.
    pub fn invoke(&self, event: impl AsRef<[u8]>) -> Invocation {
        let id = self.api.invoke(event.as_ref().to_vec());
        self.api.wait(&id, WAIT)
    }

    /// Waits for the process to exit by itself (an init that fails).
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the function did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the function and returns everything it logged.
    pub fn logs(mut self) -> String {
        self.stop();
        String::from_utf8_lossy(&std::fs::read(self.log.path()).unwrap()).into_owned()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        self.stop();
    }
}

fn append(path: &std::path::Path) -> std::fs::File {
    std::fs::OpenOptions::new().append(true).open(path).unwrap()
}
