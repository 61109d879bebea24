//! Our formats on their vectors: recipient keys, ECDH wraps, `enc2:` cells
//! and row values, deterministic values, tokens and domains, shapes, and
//! version 2 quarantine records.

use super::*;

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
        let ad = hex_list(&v, "ad_hex");
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
