//! What a row becomes, value by value: non-PII bytes kept in order, one
//! line, before-images, case-insensitive columns, escaped names, tokens
//! across tables, reserved and odd names.

use super::*;

#[tokio::test]
async fn non_pii_values_leave_byte_for_byte_in_order() {
    let env = Env::new();
    let line = one(
        &env,
        View::Masked,
        Shape::Flat,
        &fixture("example-dms-insert.json"),
    )
    .await;
    assert!(
        line.starts_with(r#"{"id":2,"username_masked":"tok1_"#),
        "{line}"
    );
    for exact in [
        r#""gender":"F""#,
        r#""balance":12345678901234567890"#,
        r#""ratio":0.1000000000000000055511151231257827"#,
        r#""note":"caf\u00e9 \/ tab\t""#,
        "\"name_masked\":\"##################\"",
        r#""birthdate_masked":"1991""#,
        r#""_op":"insert","_ts":"2026-11-28T09:15:03.000001Z","_txn":8589934594,"_schema":"dataset","_table":"customer"}"#,
    ] {
        assert!(line.contains(exact), "{exact} not in {line}");
    }
    let order = [
        "\"id\"",
        "username_masked",
        "name_masked",
        "gender",
        "mail_masked",
        "birthdate_masked",
        "balance",
        "ratio",
        "note",
        "_op",
    ];
    let positions: Vec<usize> = order.iter().map(|k| line.find(k).unwrap()).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "key order kept: {line}"
    );
    for pii in ["zoë_m", "Zoë", "Martín", "zoe@example.org", "12-31"] {
        assert!(!line.contains(pii), "{pii} leaked: {line}");
    }
}

#[tokio::test]
async fn pretty_printed_dms_json_becomes_one_line() {
    let env = Env::new();
    let line = one(
        &env,
        View::Masked,
        Shape::Flat,
        &fixture("example-dms-load.json"),
    )
    .await;
    assert!(!line.contains("jdoe") && !line.contains("O'Doe"));
    assert!(line.contains(r#""gender":"M""#));
    let enveloped = one(
        &env,
        View::Masked,
        Shape::Envelope,
        &fixture("example-dms-load.json"),
    )
    .await;
    let v: Value = serde_json::from_str(&enveloped).unwrap();
    assert_eq!(v["metadata"]["operation"], "load");
    assert!(
        v["metadata"].get("partition-key-value").is_none(),
        "the PK value may be PII"
    );
    assert_eq!(v["data"]["name_masked"], "##################");
}

#[tokio::test]
async fn before_image_is_protected_and_round_trips() {
    let env = Env::new();
    let update = fixture("example-dms-update.json");
    let masked = one(&env, View::Masked, Shape::Flat, &update).await;
    let v: Value = serde_json::from_str(&masked).unwrap();
    assert_eq!(v["_before"]["name_masked"], "##################");
    // Same mail, same token, in data and before-image alike when unchanged.
    assert_eq!(v["username_masked"], v["_before"]["username_masked"]);
    assert_ne!(v["mail_masked"], v["_before"]["mail_masked"]);

    for shape in [Shape::Flat, Shape::Envelope] {
        let encrypted = one(&env, View::Encrypted, shape, &update).await;
        for pii in ["Zoë", "zoe@example.org", "zoe.ruiz", "1991-12-31"] {
            assert!(!encrypted.contains(pii), "{pii} leaked: {encrypted}");
        }
        let mut out = Vec::new();
        env.unwrap_cache()
            .decrypt_row(encrypted.as_bytes(), &mut out)
            .await
            .unwrap();
        let back: Value = serde_json::from_slice(&out).unwrap();
        let original: Value = serde_json::from_slice(&update).unwrap();
        let (data, before) = match shape {
            Shape::Flat => (&back, &back["_before"]),
            Shape::Envelope => (&back["data"], &back["before-image"]),
        };
        for column in ["username", "name", "mail", "birthdate", "gender", "id"] {
            assert_eq!(data[column], original["data"][column], "{column}");
            assert_eq!(
                before[column], original["before-image"][column],
                "before {column}"
            );
        }
        assert!(back.get("_key").is_none());
    }
}

#[tokio::test]
async fn deletes_keep_nulls_and_tables_outside_the_policy_pass_unchanged() {
    let env = Env::new();
    let line = one(
        &env,
        View::Encrypted,
        Shape::Flat,
        &fixture("example-dms-delete.json"),
    )
    .await;
    assert!(
        line.contains(r#""name_encrypted":null"#) && !line.contains("_key"),
        "{line}"
    );
    let other = insert("unlisted", r#"{"id":1,"mail":"x@y.z","n":1.50}"#);
    let line = one(&env, View::Encrypted, Shape::Flat, &other).await;
    assert!(
        line.starts_with(r#"{"id":1,"mail":"x@y.z","n":1.50,"_op""#),
        "{line}"
    );
}

#[tokio::test]
async fn columns_match_case_insensitively_and_numbers_are_protected() {
    let env = Env::new();
    let rec = insert(
        "customer",
        r#"{"ID":1,"Name":"Ann","MAIL":"ann@example.com","card":4111111111111234,"username":true}"#,
    );
    let line = one(&env, View::Masked, Shape::Flat, &rec).await;
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["Name_masked"], "##################");
    assert!(v["MAIL_masked"].as_str().unwrap().starts_with("tok1_"));
    assert_eq!(
        v["card"], "************1234",
        "rename: false keeps the name"
    );
    assert!(v["username_masked"].as_str().unwrap().starts_with("tok1_"));
    assert!(!line.contains("Ann") && !line.contains("4111"));
    // Case of the schema and table does not matter either.
    let upper = String::from_utf8(rec)
        .unwrap()
        .replace("\"dataset\"", "\"DATASET\"")
        .replace("\"customer\"", "\"Customer\"");
    let line = one(&env, View::Masked, Shape::Flat, upper.as_bytes()).await;
    assert!(!line.contains("Ann"), "{line}");
}

#[tokio::test]
async fn escaped_column_names_cannot_dodge_the_policy() {
    let env = Env::new();
    let rec = insert(
        "customer",
        r#"{"m\u0061il":"eve@example.com","n\u0041me":"Eve"}"#,
    );
    for view in [View::Masked, View::Encrypted] {
        let line = one(&env, view, Shape::Flat, &rec).await;
        assert!(
            !line.contains("eve@example.com") && !line.contains("Eve\""),
            "{line}"
        );
    }
}

#[tokio::test]
async fn tokens_join_across_tables() {
    let env = Env::new();
    let a = one(
        &env,
        View::Masked,
        Shape::Flat,
        &insert("customer", r#"{"mail":"joe@example.com"}"#),
    )
    .await;
    let b = one(
        &env,
        View::Masked,
        Shape::Flat,
        &insert("orders", r#"{"buyer_mail":"joe@example.com","flag":"x"}"#),
    )
    .await;
    let a: Value = serde_json::from_str(&a).unwrap();
    let b: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(a["mail_masked"], b["buyer_mail_masked"]);
    assert_eq!(b["flag_masked"], Value::Null);
}

#[tokio::test]
async fn reserved_and_generated_names_never_collide() {
    let env = Env::new();
    let rec = insert(
        "customer",
        r#"{"_op":"secret-op","mail":"a@b.c","mail_masked":"source value","_ts":1}"#,
    );
    let line = one(&env, View::Masked, Shape::Flat, &rec).await;
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["_op"], "insert");
    assert_eq!(
        v["_op_src"], "##################",
        "a protected _op column is renamed, and protected"
    );
    assert_eq!(v["mail_masked_src"], "source value");
    assert_eq!(v["_ts_src"], 1);
    assert!(v["mail_masked"].as_str().unwrap().starts_with("tok1_"));
    let keys = line.matches("\"mail_masked\"").count();
    assert_eq!(keys, 1, "{line}");
}

#[tokio::test]
async fn odd_column_names_still_decrypt() {
    let env = Env::new();
    let rec = insert(
        "odd",
        r#"{"metadata":{"schema-name":"x"},"data":{"a":1},"mail":"m@example.com","_op":"op-secret","secret_encrypted":"s3cret","clear":"enc1:not-a-ciphertext","later":"enc2: hi","nothing":null}"#,
    );
    let line = one(&env, View::Encrypted, Shape::Flat, &rec).await;
    for pii in ["m@example.com", "op-secret", "s3cret"] {
        assert!(!line.contains(pii), "{pii} leaked: {line}");
    }
    let mut out = Vec::new();
    env.unwrap_cache()
        .decrypt_row(line.as_bytes(), &mut out)
        .await
        .unwrap();
    let back: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(back["mail"], "m@example.com");
    assert_eq!(back["_op"], "insert");
    assert_eq!(
        back["_op_src"], "op-secret",
        "the protected _op column stays apart from _op: {back}"
    );
    assert_eq!(
        String::from_utf8(out.clone())
            .unwrap()
            .matches("\"_op\"")
            .count(),
        1
    );
    assert_eq!(back["secret_encrypted"], "s3cret");
    assert_eq!(
        back["clear"], "enc1:not-a-ciphertext",
        "clear text that looks encrypted passes"
    );
    assert_eq!(back["later"], "enc2: hi");
    assert_eq!(back["metadata"], json!({"schema-name": "x"}));

    // Tampering with a renamed column is an error, not a pass-through.
    let v: Value = serde_json::from_str(&line).unwrap();
    let sealed = v["mail_encrypted"].as_str().unwrap();
    let flipped = format!(
        "{}{}",
        &sealed[..sealed.len() - 3],
        if sealed.ends_with("A==") {
            "B=="
        } else {
            "A=="
        }
    );
    let tampered = line.replace(sealed, &flipped);
    let err = env
        .unwrap_cache()
        .decrypt_row(tampered.as_bytes(), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("mail"), "{err}");
    let moved = line.replace("\"_table\":\"odd\"", "\"_table\":\"customer\"");
    assert!(env
        .unwrap_cache()
        .decrypt_row(moved.as_bytes(), &mut Vec::new())
        .await
        .is_err());
    let future = line.replace(sealed, "enc3:AAAA");
    let err = env
        .unwrap_cache()
        .decrypt_row(future.as_bytes(), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("unsupported ciphertext version"),
        "{err}"
    );
}
