//! The end-to-end test harness, shared by the test suites of every crate:
//! `mod support;` in the root package's `tests/`, and
//! `#[path = "…/tests/support/mod.rs"] mod support;` from `router/tests/e2e/`
//! and `transformer/tests/` (one module, not copies).
//!
//! - [`MotoServer`] (`moto.rs`): `moto_server` on a free port of 127.0.0.1,
//!   with KMS call counting from its request recorder;
//! - [`RuntimeApi`] (`runtime_api.rs`): the Lambda Runtime API, to run the
//!   real Lambda binaries against;
//! - [`FaultProxy`] (`fault_proxy.rs`): moto behind a proxy that injects
//!   partial Firehose failures and 500s;
//! - [`http`]: the one HTTP server and client all of them use (hyper);
//! - [`KmsEcdhProxy`] (`kms_proxy.rs`): moto behind the Python proxy that
//!   answers KMS `DeriveSharedSecret`;
//! - [`findings`]: the sample Macie findings in S3 on moto;
//! - [`validate_json_schema`], [`venv_python`], [`workspace_root`].
//!
//! The binaries under test come from cargo (`env!("CARGO_BIN_EXE_<name>")`
//! in the crate that owns them), never from a build started here.

// Every test binary compiles this whole module but uses only a part of it
// (one needs moto only, another the Runtime API only), so unused items and
// re-exports are expected here and must not fail `clippy -D warnings`.
#![allow(dead_code, unused_imports)]

pub mod fault_proxy;
pub mod findings;
pub mod http;
mod kms_proxy;
pub mod moto;
pub mod runtime_api;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use fault_proxy::FaultProxy;
pub use kms_proxy::KmsEcdhProxy;
pub use moto::MotoServer;
pub use runtime_api::{Invocation, RuntimeApi, FUNCTION_ARN};

/// The repository root: the nearest directory above the including crate
/// that holds `Cargo.lock` (the workspace root).
pub fn workspace_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or_else(|| panic!("no Cargo.lock above {}", crate_dir.display()))
        .to_path_buf()
}

/// The test venv that `./scripts/test` creates: `$CDCMASK_VENV`, else
/// `<workspace>/.venv`.
pub fn venv() -> PathBuf {
    match std::env::var_os("CDCMASK_VENV") {
        Some(venv) if !venv.is_empty() => PathBuf::from(venv),
        _ => workspace_root().join(".venv"),
    }
}

/// The venv's Python; panics (never skips) when it is missing.
pub fn venv_python() -> PathBuf {
    let python = venv().join("bin").join("python");
    assert!(
        python.is_file(),
        "{} not found: run the README test command `./scripts/test` (it installs the pinned \
         test tools into .venv), or set CDCMASK_VENV",
        python.display()
    );
    python
}

/// Validates JSON `documents` against the JSON Schema file `schema` with
/// Python's `jsonschema` from the test venv; one verdict per document.
/// Panics (never skips) when the venv is missing.
pub fn validate_json_schema<D: AsRef<str>>(schema: &Path, documents: &[D]) -> Vec<bool> {
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
for doc in json.load(sys.stdin):
    print("valid" if validator.is_valid(json.loads(doc)) else "invalid")
"#;
    let mut child = Command::new(venv_python())
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
