//! The version 2 test vectors of `schemas/ciphertext.md`, checked against
//! the staged core modules (`wrap`, `det`, `formats`).
//!
//! Where the vectors come from (each carries a `source`):
//! - published ones (RFC 5869 A.1, NIST CAVS ECC CDH, RFC 5297 A.1/A.2,
//!   Wycheproof AES-SIV with 64-byte keys) check the primitives' plumbing;
//! - `python-cryptography` ones were made by an independent implementation
//!   (`clients/python/tests/support/gen_vectors_v2.py`) and are checked here;
//! - `rust` ones were made by this file's `print_rust_vectors` (run it with
//!   `--ignored --nocapture`) and are checked by the Python tests;
//!   `rust_vectors_are_reproducible` only guards against drift.
//!
//! Integration: the lead turns this into an integration test of the core
//! crate; adjust the `use` line below to the crate's name and the
//! `include_str!` path to where the file lands (it is relative to this file).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use cdc_mask_core::cipher::{self, Place};
use cdc_mask_core::keys::{self, det, wrap, Purpose, TokenKey};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const DOC: &str = include_str!("../../../schemas/ciphertext.md");
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

// ---------------------------------------------------------------------------
// Published vectors: the plumbing of each primitive.
// ---------------------------------------------------------------------------

#[test]
fn rfc5869_hkdf_sha256() {
    for v in of_kind("hkdf-sha256") {
        let (prk, hk) =
            hkdf::Hkdf::<Sha256>::extract(Some(&hex(s(&v, "salt_hex"))), &hex(s(&v, "ikm_hex")));
        assert_eq!(to_hex(&prk), s(&v, "prk_hex"));
        let mut okm = vec![0u8; v["length"].as_u64().unwrap() as usize];
        hk.expand(&hex(s(&v, "info_hex")), &mut okm).unwrap();
        assert_eq!(to_hex(&okm), s(&v, "okm_hex"));
    }
}

#[test]
fn nist_p256_ecdh_primitive() {
    use p256::elliptic_curve::sec1::ToSec1Point as _;
    for v in of_kind("ecdh-p256") {
        let secret = p256::SecretKey::from_slice(&hex(s(&v, "private_hex"))).unwrap();
        let public = secret.public_key().to_sec1_point(false);
        assert_eq!(
            to_hex(public.as_bytes()),
            format!("04{}{}", s(&v, "public_x_hex"), s(&v, "public_y_hex"))
        );
        let peer = hex(&format!("04{}{}", s(&v, "peer_x_hex"), s(&v, "peer_y_hex")));
        let peer = p256::PublicKey::from_sec1_bytes(&peer).unwrap();
        let shared = secret.diffie_hellman(&peer);
        assert_eq!(to_hex(shared.raw_secret_bytes().as_slice()), s(&v, "z_hex"));
    }
}

#[test]
fn rfc5297_and_wycheproof_aes_siv() {
    use aes_siv::siv::{Aes128Siv, Aes256Siv};
    use aes_siv::KeyInit as _;
    let vs = of_kind("aes-siv");
    assert!(
        vs.iter().any(|v| hex(s(v, "key_hex")).len() == 64),
        "a 64-byte-key vector"
    );
    for v in vs {
        let key = hex(s(&v, "key_hex"));
        let ad: Vec<Vec<u8>> = v["ad_hex"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| hex(a.as_str().unwrap()))
            .collect();
        let plaintext = hex(s(&v, "plaintext_hex"));
        let (out, back) = match key.len() {
            32 => {
                let out = Aes128Siv::new_from_slice(&key)
                    .unwrap()
                    .encrypt(&ad, &plaintext)
                    .unwrap();
                let back = Aes128Siv::new_from_slice(&key)
                    .unwrap()
                    .decrypt(&ad, &out)
                    .unwrap();
                (out, back)
            }
            64 => {
                let out = Aes256Siv::new_from_slice(&key)
                    .unwrap()
                    .encrypt(&ad, &plaintext)
                    .unwrap();
                let back = Aes256Siv::new_from_slice(&key)
                    .unwrap()
                    .decrypt(&ad, &out)
                    .unwrap();
                (out, back)
            }
            n => panic!("AES-SIV key of {n} bytes"),
        };
        assert_eq!(to_hex(&out), s(&v, "output_hex"), "{}", v["id"]);
        assert_eq!(back, plaintext);
    }
}

// ---------------------------------------------------------------------------
// Our formats.
// ---------------------------------------------------------------------------

#[test]
fn recipient_keys_and_kids() {
    for v in of_kind("recipient") {
        let private =
            wrap::RecipientPrivateKey::from_scalar_bytes(&hex(s(&v, "private_scalar_hex")))
                .unwrap();
        let public = private.recipient();
        assert_eq!(to_hex(&public.spki_der()), s(&v, "spki_der_hex"));
        assert_eq!(to_hex(&public.sec1_compressed()), s(&v, "compressed_hex"));
        assert_eq!(public.kid(), s(&v, "kid"));
        assert_eq!(
            wrap::RecipientKey::from_pem(s(&v, "pem")).unwrap().kid(),
            s(&v, "kid")
        );
        assert_eq!(
            wrap::kid_of_spki_der(&hex(s(&v, "spki_der_hex"))).unwrap(),
            s(&v, "kid")
        );
        let compressed_spki = hex(s(&v, "spki_der_compressed_point_hex"));
        assert_eq!(
            wrap::kid_of_spki_der(&compressed_spki).unwrap(),
            s(&v, "kid")
        );
        assert_eq!(
            to_hex(&*private.scalar_bytes()),
            s(&v, "private_scalar_hex")
        );
    }
}

#[test]
fn ecdh_wraps_unwrap_and_rewrap_exactly() {
    for v in of_kind("ecdh-wrap") {
        let private = recipient(s(&v, "recipient"));
        let purpose = purpose(s(&v, "purpose"));
        let data_key = array32(s(&v, "data_key_hex"));
        let wrapped = wrap::WrappedKey::parse(s(&v, "wrapped")).unwrap();
        assert_eq!(wrapped.kid(), private.recipient().kid());
        assert_eq!(
            to_hex(&wrapped.ephemeral_sec1_compressed()),
            s(&v, "ephemeral_compressed_hex")
        );
        assert_eq!(
            to_hex(&wrapped.ephemeral_spki_der()),
            s(&v, "ephemeral_spki_der_hex")
        );
        let z = private.shared_secret(&wrapped).unwrap();
        assert_eq!(to_hex(&*z), s(&v, "z_hex"));
        let info = wrap::kdf_info(
            purpose,
            wrapped.kid(),
            &wrapped.ephemeral_sec1_compressed(),
            &private.recipient().sec1_compressed(),
        );
        assert_eq!(to_hex(&info), s(&v, "info_hex"));
        assert_eq!(to_hex(&*wrap::derive_kek(&*z, &info)), s(&v, "kek_hex"));
        assert_eq!(*private.unwrap(&wrapped, purpose).unwrap(), data_key);
        // The KMS path: Z from DeriveSharedSecret, the recipient from GetPublicKey.
        let from_kms = wrap::RecipientKey::from_spki_der(&private.recipient().spki_der()).unwrap();
        assert_eq!(
            *wrapped
                .unwrap_with_shared_secret(&from_kms, purpose, &*z)
                .unwrap(),
            data_key
        );
        assert_eq!(
            wrapped.unwrap_with_shared_secret(&from_kms, purpose, &z[..31]),
            Err(wrap::WrapError::SharedSecretLength)
        );
        let again = private
            .recipient()
            .wrap_with_ephemeral_scalar(purpose, &data_key, &array32(s(&v, "ephemeral_scalar_hex")))
            .unwrap();
        assert_eq!(again, s(&v, "wrapped"));
        assert_eq!(again.len(), wrap::DESCRIPTOR_LEN);
    }
}

#[test]
fn enc2_cells_open_under_the_documented_aad() {
    for v in of_kind("cell-v2") {
        let aad = cell_aad_v2(
            s(&v, "schema"),
            s(&v, "table"),
            s(&v, "column"),
            place(s(&v, "place")),
        );
        assert_eq!(to_hex(&aad), s(&v, "aad_hex"), "{}", v["id"]);
        let key = hex(s(&v, "data_key_hex"));
        let sealed = STANDARD
            .decode(s(&v, "value").strip_prefix(cipher::CELL_PREFIX).unwrap())
            .unwrap();
        assert_eq!(
            gcm_open(&key, &aad, &sealed).unwrap(),
            s(&v, "plaintext").as_bytes()
        );
        let again = gcm_seal(
            &key,
            &aad,
            &hex(s(&v, "nonce_hex")),
            s(&v, "plaintext").as_bytes(),
        );
        assert_eq!(format!("enc2:{}", STANDARD.encode(again)), s(&v, "value"));
        // The data key is the one the row's _key wraps.
        let w = by_id(s(&v, "wrapped_by"));
        assert_eq!(s(&w, "data_key_hex"), s(&v, "data_key_hex"));
    }
}

#[test]
fn row_values_open_where_they_sit() {
    for v in of_kind("row-v2") {
        let row = &v["row"];
        let flat = row.get("_schema").is_some();
        let (schema, table, nested): (&str, &str, &[(&str, Place)]) = if flat {
            (
                s(row, "_schema"),
                s(row, "_table"),
                &[("_before", Place::Before)],
            )
        } else {
            (
                s(&row["metadata"], "schema-name"),
                s(&row["metadata"], "table-name"),
                &[("data", Place::Row), ("before-image", Place::Before)],
            )
        };
        let data_key = row.get("_key").map(|k| {
            let wrapped = wrap::WrappedKey::parse(k.as_str().unwrap()).unwrap();
            recipient("recipient-data")
                .unwrap(&wrapped, Purpose::Data)
                .unwrap()
        });
        let det_key =
            det::DeterministicKey::new(&hex(s(&by_id("det-cafe-default"), "key_hex")), 1).unwrap();
        let mut members: Vec<(&str, &Value, Place)> = Vec::new();
        for (name, value) in row.as_object().unwrap() {
            if let Some((_, p)) = nested.iter().find(|(n, _)| n == name) {
                for (inner, cell) in value.as_object().unwrap() {
                    members.push((inner, cell, *p));
                }
            } else {
                members.push((name, value, Place::Row));
            }
        }
        let mut opened = 0;
        for (name, value, p) in members {
            let Some(text) = value.as_str() else { continue };
            let Some(column) = name.strip_suffix("_encrypted") else {
                continue;
            };
            let expected = if flat {
                if p == Place::Before {
                    &v["decrypted"]["_before"][column]
                } else {
                    &v["decrypted"][column]
                }
            } else if p == Place::Before {
                &v["decrypted"]["before-image"][column]
            } else {
                &v["decrypted"]["data"][column]
            };
            let plain: Value = if let Some(sealed) = text.strip_prefix("enc2:") {
                let aad = cell_aad_v2(schema, table, column, p);
                let key = data_key.as_ref().expect("a _key");
                let opened = gcm_open(&key[..], &aad, &STANDARD.decode(sealed).unwrap()).unwrap();
                serde_json::from_slice(&opened).unwrap()
            } else {
                let domain = v["domains"][column].as_str().unwrap_or("");
                let plain = det_key.decrypt(domain, text).unwrap();
                serde_json::from_slice(&plain.to_json()).unwrap()
            };
            assert_eq!(&plain, expected, "{} {name}", v["id"]);
            opened += 1;
        }
        assert!(opened >= 1, "{}", v["id"]);
    }
}

#[test]
fn deterministic_values() {
    for v in of_kind("det") {
        let key = det::DeterministicKey::new(
            &hex(s(&v, "key_hex")),
            v["version"].as_u64().unwrap() as u32,
        )
        .unwrap();
        let domain = s(&v, "domain");
        let ad: Vec<Vec<u8>> = v["ad_hex"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| hex(a.as_str().unwrap()))
            .collect();
        assert_eq!(ad, vec![det::LABEL.to_vec(), domain.as_bytes().to_vec()]);
        for raw in v["json"].as_array().unwrap() {
            let raw = raw.as_str().unwrap();
            assert_eq!(
                key.encrypt_json(domain, raw.as_bytes()).unwrap().as_deref(),
                Some(s(&v, "value")),
                "{raw}"
            );
        }
        let plain = key.decrypt(domain, s(&v, "value")).unwrap();
        let first: Value = serde_json::from_str(v["json"][0].as_str().unwrap()).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&plain.to_json()).unwrap(),
            first
        );
        let expected_plaintext = hex(s(&v, "plaintext_hex"));
        let value = match &plain {
            det::DetPlain::String(t) => det::DetValue::String(t),
            det::DetPlain::Number(n) => det::DetValue::Number(n),
            det::DetPlain::Bool(b) => det::DetValue::Bool(*b),
        };
        assert_eq!(det::plaintext(value).as_slice(), &expected_plaintext[..]);
        assert!(det::is_well_formed(s(&v, "value")));
    }
    // Domain separation and types, as issue 16 asks.
    let value = |id: &str| s(&by_id(id), "value").to_owned();
    assert_ne!(value("det-cafe-default"), value("det-cafe-customer-email"));
    assert_ne!(value("det-number-42"), value("det-string-42"));
}

#[test]
fn tokens_and_domains() {
    for v in of_kind("token") {
        // The vector is consistent: the token is the HMAC of its input.
        let key = hex(s(&v, "key_hex"));
        let version = v["version"].as_u64().unwrap();
        assert_eq!(
            token(&key, version, &hex(s(&v, "input_hex"))),
            s(&v, "token")
        );
        // The product writes that token from the domain and the value.
        let product = TokenKey::new(&key, u32::try_from(version).unwrap()).unwrap();
        let mut written = Vec::new();
        product.write_token(s(&v, "domain"), s(&v, "value").as_bytes(), &mut written);
        assert_eq!(String::from_utf8(written).unwrap(), s(&v, "token"));
    }
    let t = |id: &str| s(&by_id(id), "token").to_owned();
    assert_ne!(t("token-default"), t("token-customer-email"));
    assert_ne!(t("token-customer-email"), t("token-billing-email"));
    // The default domain is exactly the token of before: HMAC of the value.
    let d = by_id("token-default");
    assert_eq!(hex(s(&d, "input_hex")), s(&d, "value").as_bytes());
    for domain in ["", "a", "customer_email", "x_9", "A", "a-b", "a\0", "é"] {
        assert_eq!(
            keys::check_domain(domain).is_ok(),
            det::check_domain(domain).is_ok(),
            "{domain:?}"
        );
    }
}

#[test]
fn shapes_and_complete_ciphertexts() {
    let cases = &of_kind("shapes")[0]["cases"];
    assert!(cases.as_array().unwrap().len() >= 10);
    for case in cases.as_array().unwrap() {
        let text = s(case, "text");
        let shaped = cipher::parse_enc(text).is_some() || det::parse_shape(text).is_some();
        let complete = cipher::is_complete_enc(text) || det::is_well_formed(text);
        assert_eq!(shaped, case["shaped"].as_bool().unwrap(), "{text}");
        assert_eq!(complete, case["complete"].as_bool().unwrap(), "{text}");
    }
}

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

#[test]
fn quarantine_v2_records() {
    let private = recipient("recipient-quarantine");
    for v in of_kind("quarantine-v2") {
        let line = s(&v, "line");
        let record: Value = serde_json::from_str(line).unwrap();
        let q = &record["_quarantine"];
        let encoding = s(&v, "encoding");
        let aad = cipher::quarantine_aad(s(&v, "reason"), s(&v, "record_id"), Some(encoding));
        assert_eq!(to_hex(&aad), s(&v, "aad_hex"));
        let bundle =
            (encoding == cipher::BUNDLE_ENCODING).then(|| v["entries"].as_array().unwrap().len());
        // The exact line, member order included.
        assert_eq!(
            quarantine_line_v2(
                s(&v, "reason"),
                s(&v, "record_id"),
                q["key"].as_str().unwrap(),
                q["sealed"].as_str().unwrap(),
                bundle
            ),
            line
        );
        let wrapped = wrap::WrappedKey::parse(q["key"].as_str().unwrap()).unwrap();
        assert_eq!(
            to_hex(&*private.unwrap(&wrapped, Purpose::Quarantine).unwrap()),
            s(&v, "data_key_hex")
        );
        let opened = unseal(line, &private).unwrap();
        let expected: Vec<(String, Vec<u8>)> = match bundle {
            None => vec![(
                s(&v, "record_id").to_owned(),
                STANDARD.decode(s(&v, "original_base64")).unwrap(),
            )],
            Some(_) => v["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        s(e, "record_id").to_owned(),
                        STANDARD.decode(s(e, "original_base64")).unwrap(),
                    )
                })
                .collect(),
        };
        assert_eq!(opened, expected, "{}", v["id"]);
        // Sealing again with the same nonce gives the same line.
        let nonce = hex(s(&v, "nonce_hex"));
        let plaintext = match bundle {
            None => expected[0].1.clone(),
            Some(_) => hex(s(&v, "deflated_hex")),
        };
        let key = hex(s(&v, "data_key_hex"));
        assert_eq!(
            STANDARD.encode(gcm_seal(&key, &aad, &nonce, &plaintext)),
            q["sealed"].as_str().unwrap()
        );
    }
}

#[test]
fn negative_vectors_fail_as_documented() {
    let negatives = of_kind("negative");
    assert!(negatives.len() >= 10);
    let data_key = hex(s(&by_id("cell-mail-row"), "data_key_hex"));
    let det_key =
        det::DeterministicKey::new(&hex(s(&by_id("det-cafe-default"), "key_hex")), 1).unwrap();
    for v in negatives {
        let expect = s(&v, "expect");
        let outcome: &str = match s(&v, "op") {
            "unwrap" => {
                let private = recipient(s(&v, "recipient"));
                match wrap::WrappedKey::parse(s(&v, "wrapped")) {
                    Err(_) => "malformed",
                    Ok(w) => match private.unwrap(&w, purpose(s(&v, "purpose"))) {
                        Ok(_) => "ok",
                        Err(wrap::WrapError::WrongRecipient { .. }) => "wrong_recipient",
                        Err(wrap::WrapError::Unauthentic) => "unauthentic",
                        Err(_) => "other",
                    },
                }
            }
            "open-cell" => {
                let aad = cell_aad_v2(
                    s(&v, "schema"),
                    s(&v, "table"),
                    s(&v, "column"),
                    place(s(&v, "place")),
                );
                let sealed = STANDARD
                    .decode(s(&v, "value").strip_prefix("enc2:").unwrap())
                    .unwrap();
                match gcm_open(&data_key, &aad, &sealed) {
                    Ok(_) => "ok",
                    Err(_) => "unauthentic",
                }
            }
            "det-decrypt" => match det_key.decrypt(s(&v, "domain"), s(&v, "value")) {
                Ok(_) => "ok",
                Err(det::DetError::Unauthentic) => "unauthentic",
                Err(_) => "other",
            },
            "unseal" => match unseal(s(&v, "line"), &recipient("recipient-quarantine")) {
                Ok(_) => "ok",
                Err(e) => e,
            },
            op => panic!("op {op}"),
        };
        assert_eq!(outcome, expect, "{}: {}", v["id"], s(&v, "case"));
    }
}

// ---------------------------------------------------------------------------
// Vectors made by this implementation, for the Python tests to check.
// ---------------------------------------------------------------------------

fn rust_vectors() -> Vec<Value> {
    let data = recipient("recipient-data");
    let quarantine = recipient("recipient-quarantine");
    let data_key: [u8; 32] = std::array::from_fn(|i| 0xa0 + i as u8);
    let ephemeral = [0x44u8; 32];
    let wrapped = data
        .recipient()
        .wrap_with_ephemeral_scalar(Purpose::Data, &data_key, &ephemeral)
        .unwrap();
    let parsed = wrap::WrappedKey::parse(&wrapped).unwrap();
    let z = data.shared_secret(&parsed).unwrap();
    let info = wrap::kdf_info(
        Purpose::Data,
        parsed.kid(),
        &parsed.ephemeral_sec1_compressed(),
        &data.recipient().sec1_compressed(),
    );
    let wrap_vector = json!({
        "kind": "ecdh-wrap",
        "id": "wrap-data-rust",
        "source": RUST_SOURCE,
        "purpose": "data",
        "recipient": "recipient-data",
        "ephemeral_scalar_hex": to_hex(&ephemeral),
        "data_key_hex": to_hex(&data_key),
        "ephemeral_compressed_hex": to_hex(&parsed.ephemeral_sec1_compressed()),
        "ephemeral_spki_der_hex": to_hex(&parsed.ephemeral_spki_der()),
        "z_hex": to_hex(&*z),
        "info_hex": to_hex(&info),
        "kek_hex": to_hex(&*wrap::derive_kek(&*z, &info)),
        "wrapped": wrapped,
    });

    let aad = cell_aad_v2("dataset", "bank", "iban", Place::Before);
    let nonce = [0x0bu8; 12];
    let plaintext = br#""DE89 3704 0044 0532 0130 00""#;
    let cell_vector = json!({
        "kind": "cell-v2",
        "id": "cell-iban-before-rust",
        "source": RUST_SOURCE,
        "data_key_hex": to_hex(&data_key),
        "wrapped_by": "wrap-data-rust",
        "schema": "dataset",
        "table": "bank",
        "column": "iban",
        "place": "before",
        "aad_hex": to_hex(&aad),
        "plaintext": std::str::from_utf8(plaintext).unwrap(),
        "nonce_hex": to_hex(&nonce),
        "value": format!("enc2:{}", STANDARD.encode(gcm_seal(&data_key, &aad, &nonce, plaintext))),
    });

    let det_key_bytes = hex(s(&by_id("det-cafe-default"), "key_hex"));
    let det_key = det::DeterministicKey::new(&det_key_bytes, 1).unwrap();
    let raw = "-12.50e3";
    let det_vector = json!({
        "kind": "det",
        "id": "det-number-amounts-rust",
        "source": RUST_SOURCE,
        "key_hex": to_hex(&det_key_bytes),
        "version": 1,
        "domain": "amounts",
        "ad_hex": [to_hex(det::LABEL), to_hex(b"amounts")],
        "json": [raw],
        "plaintext_hex": to_hex(&det::plaintext(det::DetValue::Number(raw))),
        "value": det_key.encrypt_json("amounts", raw.as_bytes()).unwrap().unwrap(),
    });

    let wq = by_id("wrap-quarantine");
    let quarantine_key = hex(s(&wq, "data_key_hex"));
    assert_eq!(
        hex(s(&wq, "data_key_hex")),
        quarantine
            .unwrap(
                &wrap::WrappedKey::parse(s(&wq, "wrapped")).unwrap(),
                Purpose::Quarantine
            )
            .unwrap()
            .to_vec()
    );
    let entries: [(&str, &[u8]); 2] = [
        (
            "shardId-000000000000:49546986683135544286507457936321625675700192471156785155",
            b"{\"data\":{\"card_number\":\"4111111111111111\"}}",
        ),
        (
            "shardId-000000000000:49546986683135544286507457936321625675700192471156785156",
            b"\x00\x01 binary",
        ),
    ];
    let deflated = cipher::encode_bundle(&entries);
    let aad = cipher::quarantine_aad("overflow", "batch-8", Some(cipher::BUNDLE_ENCODING));
    let nonce = [0x57u8; 12];
    let sealed = STANDARD.encode(gcm_seal(&quarantine_key, &aad, &nonce, &deflated));
    let bundle_vector = json!({
        "kind": "quarantine-v2",
        "id": "quarantine-bundle-rust",
        "source": RUST_SOURCE,
        "data_key_hex": to_hex(&quarantine_key),
        "wrapped_by": "wrap-quarantine",
        "reason": "overflow",
        "record_id": "batch-8",
        "encoding": "bundle",
        "aad_hex": to_hex(&aad),
        "nonce_hex": to_hex(&nonce),
        "entries": entries.iter().map(|(id, raw)| json!({"record_id": id, "original_base64": STANDARD.encode(raw)})).collect::<Vec<_>>(),
        "deflated_hex": to_hex(&deflated),
        "line": quarantine_line_v2("overflow", "batch-8", s(&wq, "wrapped"), &sealed, Some(entries.len())),
    });
    vec![wrap_vector, cell_vector, det_vector, bundle_vector]
}

#[test]
#[ignore = "prints the Rust-made vectors to paste into schemas/ciphertext.md"]
fn print_rust_vectors() {
    println!("{}", serde_json::to_string_pretty(&rust_vectors()).unwrap());
}

#[test]
fn rust_vectors_are_reproducible() {
    let documented: Vec<Value> = vectors()
        .into_iter()
        .filter(|v| v["source"] == RUST_SOURCE)
        .collect();
    assert_eq!(documented, rust_vectors());
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
