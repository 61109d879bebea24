//! The negative vectors: each fails the way `schemas/ciphertext.md` says.

use super::*;

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
