//! Vectors made by this implementation, for the Python tests to check.

use super::*;

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
