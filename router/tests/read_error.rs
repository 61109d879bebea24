//! `cdc-mask run`: an input that cannot be read stops the run with exit 1
//! and one line, instead of ending the input silently as if it were empty.
//! (The same error in the middle of an input, after what was read before it
//! is delivered, is a unit test in `src/plan.rs`.)

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_cdc-mask");

#[test]
#[cfg(unix)]
fn a_directory_given_as_the_input_file_is_exit_1_and_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("changes.jsonl");
    std::fs::create_dir(&input).unwrap();
    let lake = dir.path().join("lake");
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/examples/policy.json");
    let out = Command::new(BIN)
        .args(["run", "--source"])
        .arg(format!("file:{}", input.display()))
        .arg("--sink")
        .arg(format!("dir:{}", lake.display()))
        .arg("--policy")
        .arg(&policy)
        .arg("--keyring")
        .arg(dir.path().join("keyring"))
        .env_remove("RUST_LOG")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "cdc-mask: reading {}: Is a directory (os error 21)\n",
            input.display()
        )
    );
    // What was read (nothing) is accounted for before the error.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("cdc-mask run: 0 records"), "{stdout}");
}
