//! The version 2 test vectors of `schemas/ciphertext.md`, checked against
//! the staged core modules (`wrap`, `det`, `formats`).
//!
//! Where the vectors come from (each carries a `source`):
//! - published ones (RFC 5869 A.1, NIST CAVS ECC CDH, RFC 5297 A.1/A.2,
//!   Wycheproof AES-SIV with 64-byte keys) check the primitives' plumbing;
//! - `python-cryptography` ones were made by an independent implementation
//!   (`clients/python/tests/support/gen_vectors_v2.py`) and are checked here;
//! - `rust` ones were made by `rust_vectors::print_rust_vectors` (run it
//!   with `--ignored --nocapture`) and are checked by the Python tests;
//!   `rust_vectors_are_reproducible` only guards against drift.
//!
//! # Layout
//! - `published`: the published vectors, the plumbing of each primitive.
//! - `formats`: our formats (wraps, cells, rows, deterministic values,
//!   tokens, shapes, quarantine records) on their vectors.
//! - `negative`: the negative vectors fail as documented.
//! - `rust_vectors`: the vectors this implementation makes, for Python.
//!
//! Here, reading the vectors out of `schemas/ciphertext.md` and the helpers
//! the modules share.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use cdc_mask_core::cipher::{self, Place};
use cdc_mask_core::keys::{self, det, wrap, Purpose, TokenKey};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

mod formats;
mod negative;
mod published;
mod rust_vectors;

const DOC: &str = include_str!("../../../../schemas/ciphertext.md");
const RUST_SOURCE: &str = "rust (transformer/core-staging/vectors_test.rs print_rust_vectors)";

fn vectors() -> Vec<Value> {
    let section = DOC
        .split("\n## Version 2 test vectors")
        .nth(1)
        .expect("a 'Version 2 test vectors' section in schemas/ciphertext.md");
    let block = section
        .split("```json\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a json block in the version 2 test vectors section");
    serde_json::from_str(block).expect("the version 2 test vectors are JSON")
}

fn of_kind(kind: &str) -> Vec<Value> {
    let found: Vec<_> = vectors()
        .into_iter()
        .filter(|v| v["kind"] == kind)
        .collect();
    assert!(!found.is_empty(), "no {kind} vectors");
    found
}

fn by_id(id: &str) -> Value {
    vectors()
        .into_iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no vector {id}"))
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} of {}", v["id"]))
}

fn hex(text: &str) -> Vec<u8> {
    assert_eq!(text.len() % 2, 0, "odd hex");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The bytes of each hex string in the array `v[key]`.
fn hex_list(v: &Value, key: &str) -> Vec<Vec<u8>> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} of {} is not an array", v["id"]))
        .iter()
        .map(|a| hex(a.as_str().unwrap()))
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn array32(text: &str) -> [u8; 32] {
    hex(text).try_into().expect("32 bytes")
}

fn purpose(name: &str) -> Purpose {
    match name {
        "data" => Purpose::Data,
        "quarantine" => Purpose::Quarantine,
        other => panic!("purpose {other}"),
    }
}

fn place(name: &str) -> Place {
    match name {
        "row" => Place::Row,
        "before" => Place::Before,
        other => panic!("place {other}"),
    }
}

fn recipient(id: &str) -> wrap::RecipientPrivateKey {
    let v = by_id(id);
    wrap::RecipientPrivateKey::from_scalar_bytes(&hex(s(&v, "private_scalar_hex"))).unwrap()
}

/// AES-256-GCM open of `nonce(12) ‖ ct ‖ tag(16)`, as a reader does.
fn gcm_open(key: &[u8], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, aes_gcm::Error> {
    let cipher = Aes256Gcm::new_from_slice(key).unwrap();
    if sealed.len() < 28 {
        return Err(aes_gcm::Error);
    }
    let (nonce, body) = sealed.split_at(12);
    cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
}

fn gcm_seal(key: &[u8], aad: &[u8], nonce: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new_from_slice(key).unwrap();
    let mut out = nonce.to_vec();
    out.extend(
        cipher
            .encrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .unwrap(),
    );
    out
}

fn token(key: &[u8], version: u64, input: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(input);
    format!(
        "tok{version}_{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[test]
fn every_vector_names_its_source_and_ids_are_unique() {
    let all = vectors();
    let mut ids = std::collections::HashSet::new();
    for v in &all {
        assert!(v["source"].is_string(), "{v}");
        assert!(
            ids.insert(s(v, "id").to_owned()),
            "duplicate id {}",
            v["id"]
        );
    }
    for source in [
        "RFC 5869",
        "NIST CAVS",
        "RFC 5297",
        "Wycheproof",
        "python-cryptography",
        "rust",
    ] {
        assert!(
            all.iter().any(|v| s(v, "source").starts_with(source)),
            "no vector from {source}"
        );
    }
}

/// The original records of a version 2 quarantine line, opened with
/// `private`; the error names the step that failed.
fn unseal(
    line: &str,
    private: &wrap::RecipientPrivateKey,
) -> Result<Vec<(String, Vec<u8>)>, &'static str> {
    let record: Value = serde_json::from_str(line).map_err(|_| "malformed")?;
    let q = &record["_quarantine"];
    let reason = q["reason"].as_str().unwrap_or("");
    let record_id = q["record_id"].as_str().unwrap_or("");
    let encoding = q["encoding"].as_str();
    let aad = match q["v"].as_u64() {
        Some(2) => cipher::quarantine_aad(reason, record_id, encoding),
        Some(1) => b"cdc-mask/quarantine1".to_vec(),
        _ => return Err("unsupported"),
    };
    let wrapped =
        wrap::WrappedKey::parse(q["key"].as_str().ok_or("malformed")?).map_err(|_| "malformed")?;
    let key = private
        .unwrap(&wrapped, Purpose::Quarantine)
        .map_err(|_| "unauthentic")?;
    let sealed = STANDARD
        .decode(q["sealed"].as_str().ok_or("malformed")?)
        .map_err(|_| "malformed")?;
    let plaintext = gcm_open(&key[..], &aad, &sealed).map_err(|_| "unauthentic")?;
    match encoding {
        None => Ok(vec![(record_id.to_owned(), plaintext)]),
        Some(cipher::BUNDLE_ENCODING) => {
            let entries = cipher::decode_bundle(&plaintext, 64 << 20).map_err(|_| "malformed")?;
            if q["records"].as_u64() != Some(entries.len() as u64) {
                return Err("malformed");
            }
            Ok(entries
                .into_iter()
                .map(|e| (e.record_id, e.original.to_vec()))
                .collect())
        }
        Some(_) => Err("unsupported"),
    }
}

/// The associated data of an `enc2:` value, as the product writes it.
fn cell_aad_v2(schema: &str, table: &str, column: &str, place: Place) -> Vec<u8> {
    let mut aad = Vec::new();
    cipher::cell_aad(schema, table, column, place, &mut aad);
    aad
}

/// A quarantine line, as the product writes it.
fn quarantine_line_v2(
    reason: &str,
    record_id: &str,
    key: &str,
    sealed: &str,
    bundle: Option<usize>,
) -> String {
    String::from_utf8(cipher::quarantine_line(
        reason, record_id, key, bundle, sealed,
    ))
    .unwrap()
}
