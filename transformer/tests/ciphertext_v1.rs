//! The test vectors of `schemas/ciphertext.md`, made by an independent
//! implementation, must open with ours.

use cdc_mask_core::cipher::{cell_aad_v1 as cell_aad, QUARANTINE_AAD_V1 as QUARANTINE_AAD};
use cdc_mask_core::keys::{DataKey, Purpose};
use cdc_mask_transformer::keys::{LocalKeyring, Unwrapper as _};
use serde_json::Value;
use zeroize::Zeroizing;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn key32(s: &str) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(hex(s).try_into().unwrap())
}

fn vectors() -> Vec<Value> {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schemas/ciphertext.md"
    ))
    .unwrap();
    let section = doc
        .split("## Test vectors")
        .nth(1)
        .expect("a test-vectors section");
    let json = section
        .split("```json")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    serde_json::from_str(json).unwrap()
}

#[test]
fn cell_vectors_open_with_the_documented_aad() {
    let cells: Vec<_> = vectors()
        .into_iter()
        .filter(|v| v["kind"] == "cell")
        .collect();
    assert!(cells.len() >= 4);
    for v in cells {
        let s = |k: &str| v[k].as_str().unwrap().to_owned();
        let mut aad = Vec::new();
        cell_aad(&s("schema"), &s("table"), &s("column"), &mut aad);
        assert_eq!(aad, hex(&s("aad_hex")), "AAD of {}", s("column"));
        let key = DataKey::new(&key32(&s("data_key_hex")), String::new());
        let value = s("value");
        let sealed = value.strip_prefix("enc1:").unwrap();
        assert_eq!(
            key.open_base64(&aad, sealed).unwrap().as_slice(),
            s("plaintext").as_bytes()
        );
        // Bound to its place: another column does not open it.
        cell_aad(&s("schema"), &s("table"), "other", &mut aad);
        assert!(key.open_base64(&aad, sealed).is_err());
        // Our own sealing opens too, and carries a fresh nonce.
        cell_aad(&s("schema"), &s("table"), &s("column"), &mut aad);
        let (mut scratch, mut ours) = (Vec::new(), Vec::new());
        key.seal_base64(&aad, s("plaintext").as_bytes(), &mut scratch, &mut ours);
        let ours = String::from_utf8(ours).unwrap();
        assert_ne!(ours, sealed);
        assert_eq!(
            key.open_base64(&aad, &ours).unwrap().as_slice(),
            s("plaintext").as_bytes()
        );
    }
}

#[test]
fn quarantine_vector_opens() {
    let v = vectors()
        .into_iter()
        .find(|v| v["kind"] == "quarantine")
        .unwrap();
    assert_eq!(v["aad"].as_str().unwrap().as_bytes(), QUARANTINE_AAD);
    let key = DataKey::new(&key32(v["data_key_hex"].as_str().unwrap()), String::new());
    let original = base64_decode(v["original_base64"].as_str().unwrap());
    let opened = key
        .open_base64(QUARANTINE_AAD, v["sealed"].as_str().unwrap())
        .unwrap();
    assert_eq!(opened.as_slice(), original.as_slice());
}

#[tokio::test]
async fn local_wrap_vector_unwraps_with_a_keyring_holding_that_master_key() {
    let v = vectors()
        .into_iter()
        .find(|v| v["kind"] == "local-wrap")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("master.key"),
        hex(v["master_key_hex"].as_str().unwrap()),
    )
    .unwrap();
    let ring = LocalKeyring::open(dir.path()).unwrap();
    let wrapped = v["wrapped"].as_str().unwrap().to_owned();
    assert!(wrapped.contains(v["keyring_id"].as_str().unwrap()));
    let key = ring.unwrap(Purpose::Data, wrapped.clone()).await.unwrap();
    // The unwrapped key is the vectors' data key: it opens the first cell.
    let cell = vectors().into_iter().find(|v| v["kind"] == "cell").unwrap();
    let mut aad = Vec::new();
    cell_aad("dataset", "customer", "mail", &mut aad);
    let value = cell["value"]
        .as_str()
        .unwrap()
        .strip_prefix("enc1:")
        .unwrap()
        .to_owned();
    assert_eq!(
        key.open_base64(&aad, &value).unwrap().as_slice(),
        br#""alice@example.com""#
    );
    assert!(
        ring.unwrap(Purpose::Quarantine, wrapped).await.is_err(),
        "bound to its purpose"
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
