//! Golden test: what users see, pinned byte for byte.
//!
//! The demo's lake and the Firehose responses to a set of fixture events
//! (both views, both shapes, the quarantine, hostile records) are compared
//! with the files under `tests/golden/`. Keys are fixed (a keyring written
//! by the test), so tokens are stable; ciphertexts and wrapped keys use
//! random nonces and data keys, so they are replaced by placeholders and
//! checked instead by decrypting them: the decrypted rows and the unsealed
//! quarantine records are part of the golden text.
//!
//! A change that alters output on purpose regenerates the files with
//! `CDCMASK_BLESS=1 cargo test -p cdc-mask-router --test golden` and the diff
//! goes into the same commit.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;

const BIN: &str = env!("CARGO_BIN_EXE_cdc-mask");

/// Fixed keyring keys (32 bytes each), so that tokens are reproducible.
const KEYS: [(&str, u8); 3] = [("master.key", 1), ("quarantine.key", 2), ("token.key", 3)];

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Writes a keyring of fixed keys (0700 directory, 0600 files).
fn fixed_keyring(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    for (file, byte) in KEYS {
        let path = dir.join(file);
        std::fs::write(&path, [byte; 32]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}

fn cdc_mask(args: &[&str]) -> Vec<u8> {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cdc-mask {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `cdc-mask decrypt` over `lines` (one JSON line each) and returns one
/// output line per input line.
fn decrypt(keyring: &Path, lines: &[Vec<u8>], quarantine: bool) -> Vec<String> {
    if lines.is_empty() {
        return Vec::new();
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, lines.concat()).unwrap();
    let keyring = keyring.to_str().unwrap();
    let input = input.to_str().unwrap();
    let mut args = vec!["decrypt", "--keyring", keyring];
    if quarantine {
        args.push("--quarantine");
    }
    args.push(input);
    let out = cdc_mask(&args);
    let text = String::from_utf8_lossy(&out).into_owned();
    let lines: Vec<String> = text.lines().map(escape_controls).collect();
    lines
}

/// Control bytes (other than the line's own newline) made visible, so that
/// each original record stays on one golden line.
fn escape_controls(line: &str) -> String {
    line.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Replaces what is random in a line (ciphertexts, wrapped keys, sealed
/// payloads) by placeholders; everything else is kept byte for byte.
fn normalize(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    while let Some(at) = rest.find('"') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        let end = string_end(tail);
        let body = &tail[..end];
        let placeholder = if is_ciphertext(body) {
            Some("<ciphertext>")
        } else if ["_key", "key", "sealed"]
            .iter()
            .any(|name| out.ends_with(&format!("\"{name}\":")))
        {
            Some("<random>")
        } else {
            None
        };
        out.push('"');
        out.push_str(placeholder.unwrap_or(body));
        out.push('"');
        rest = tail.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out.trim_end_matches('\n').to_owned()
}

/// Index of the closing quote of a JSON string body.
fn string_end(tail: &str) -> usize {
    let bytes = tail.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// `enc<digits>:…`, the encrypted-value format.
fn is_ciphertext(body: &str) -> bool {
    body.strip_prefix("enc")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(version, _)| {
            !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit())
        })
}

fn compare_or_bless(name: &str, actual: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("CDCMASK_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (CDCMASK_BLESS=1 writes it)", path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from the golden file at line {}:\n expected: {}\n actual:   {}\n\
             (CDCMASK_BLESS=1 regenerates it if the change is intended)",
            first + 1,
            expected.lines().nth(first).unwrap_or("<end>"),
            actual.lines().nth(first).unwrap_or("<end>")
        );
    }
}

/// Every file under `root` except the keyring, sorted by relative path.
fn lake_files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == "keyring" {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn the_demo_lake_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let keyring = lake.join("keyring");
    fixed_keyring(&keyring);
    cdc_mask(&[
        "demo",
        "--out",
        lake.to_str().unwrap(),
        "--records",
        "300",
        "--seed",
        "7",
    ]);
    let mut text = String::new();
    for (path, bytes) in lake_files(&lake) {
        text.push_str(&format!("== {path}\n"));
        let lines = lines_of(&bytes);
        for line in &lines {
            text.push_str(&normalize(line));
            text.push('\n');
        }
        let opened = if path.starts_with("encrypted/") {
            decrypt(&keyring, &lines, false)
        } else if path.starts_with("quarantine/") && !path.starts_with("quarantine/reasons") {
            decrypt(&keyring, &lines, true)
        } else {
            Vec::new()
        };
        if !opened.is_empty() {
            text.push_str(&format!("== {path} (decrypted)\n"));
            for line in opened {
                text.push_str(&line);
                text.push('\n');
            }
        }
    }
    compare_or_bless("demo.golden", &text);
}

#[derive(Deserialize)]
struct Response {
    records: Vec<Answer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Answer {
    record_id: String,
    result: String,
    data: String,
    metadata: Option<Box<RawValue>>,
}

/// The response to `event` in one view and shape, as golden text: one line
/// per answer, its decoded data normalized, then the decrypted rows and the
/// unsealed quarantine records.
fn respond(keyring: &Path, event: &Path, view: &str, shape: &str) -> String {
    let response = cdc_mask(&[
        "transform-event",
        "--view",
        view,
        "--shape",
        shape,
        "--policy",
        repo_root()
            .join("schemas/examples/policy.json")
            .to_str()
            .unwrap(),
        "--keyring",
        keyring.to_str().unwrap(),
        event.to_str().unwrap(),
    ]);
    let parsed: Response = serde_json::from_slice(&response).unwrap();
    let mut text = String::new();
    let mut rows = Vec::new();
    let mut sealed = Vec::new();
    for answer in &parsed.records {
        let data = BASE64.decode(&answer.data).unwrap();
        text.push_str(&format!(
            "{} {} {}\n  {}\n",
            answer.record_id,
            answer.result,
            answer.metadata.as_ref().map_or("-", |m| m.get()),
            normalize(&data)
        ));
        if data.starts_with(b"{\"_quarantine\"") {
            sealed.push(data);
        } else if view != "masked" && !data.is_empty() {
            rows.push(data);
        }
    }
    for (label, lines, quarantine) in [("decrypted", rows, false), ("unsealed", sealed, true)] {
        for line in decrypt(keyring, &lines, quarantine) {
            text.push_str(&format!("{label}: {line}\n"));
        }
    }
    text
}

#[test]
fn firehose_responses_are_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let keyring = dir.path().join("keyring");
    fixed_keyring(&keyring);
    let events = [
        (
            "example",
            repo_root().join("transformer/tests/fixtures/example-firehose-event.json"),
        ),
        ("hostile", golden_dir().join("hostile-event.json")),
    ];
    let mut text = String::new();
    for (name, event) in &events {
        for (view, shape) in [
            ("masked", "flat"),
            ("encrypted", "flat"),
            ("masked", "envelope"),
            ("encrypted", "envelope"),
            ("auto", "flat"),
        ] {
            text.push_str(&format!("=== {name} view={view} shape={shape}\n"));
            text.push_str(&respond(&keyring, event, view, shape));
        }
    }
    compare_or_bless("firehose.golden", &text);
}
