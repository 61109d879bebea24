//! Published vectors (RFC 5869, NIST CAVS, RFC 5297, Wycheproof): the
//! plumbing of each primitive.

use super::*;

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
        let ad = hex_list(&v, "ad_hex");
        let plaintext = hex(s(&v, "plaintext_hex"));
        // The two key sizes are two types with the same methods.
        macro_rules! seal_and_open {
            ($siv:ty) => {{
                let out = <$siv>::new_from_slice(&key)
                    .unwrap()
                    .encrypt(&ad, &plaintext)
                    .unwrap();
                let back = <$siv>::new_from_slice(&key)
                    .unwrap()
                    .decrypt(&ad, &out)
                    .unwrap();
                (out, back)
            }};
        }
        let (out, back) = match key.len() {
            32 => seal_and_open!(Aes128Siv),
            64 => seal_and_open!(Aes256Siv),
            n => panic!("AES-SIV key of {n} bytes"),
        };
        assert_eq!(to_hex(&out), s(&v, "output_hex"), "{}", v["id"]);
        assert_eq!(back, plaintext);
    }
}
