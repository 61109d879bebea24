//! Wrapping and unwrapping round trips, descriptor parsing, and refusals.

use super::*;

fn recipient() -> RecipientPrivateKey {
    RecipientPrivateKey::from_scalar_bytes(&[0x11; 32]).unwrap()
}

#[test]
fn wraps_and_unwraps_with_fresh_ephemeral_keys() {
    let private = recipient();
    let key = [7u8; 32];
    let a = private.recipient().wrap(Purpose::Data, &key).unwrap();
    let b = private.recipient().wrap(Purpose::Data, &key).unwrap();
    assert_ne!(a, b, "a fresh ephemeral key per wrap");
    assert_eq!(a.len(), DESCRIPTOR_LEN);
    for text in [&a, &b] {
        let wrapped = WrappedKey::parse(text).unwrap();
        assert_eq!(*private.unwrap(&wrapped, Purpose::Data).unwrap(), key);
        assert_eq!(
            private.unwrap(&wrapped, Purpose::Quarantine).unwrap_err(),
            WrapError::Unauthentic
        );
    }
}

#[test]
fn another_recipient_is_refused_before_any_secret_is_computed() {
    let private = recipient();
    let other = RecipientPrivateKey::from_scalar_bytes(&[0x22; 32]).unwrap();
    let text = other.recipient().wrap(Purpose::Data, &[1u8; 32]).unwrap();
    let wrapped = WrappedKey::parse(&text).unwrap();
    assert!(matches!(
        private.shared_secret(&wrapped),
        Err(WrapError::WrongRecipient { .. })
    ));
    assert!(matches!(
        wrapped.unwrap_with_shared_secret(private.recipient(), Purpose::Data, &[0u8; 32]),
        Err(WrapError::WrongRecipient { .. })
    ));
}

#[test]
fn parse_is_strict() {
    let text = recipient()
        .recipient()
        .wrap(Purpose::Data, &[1u8; 32])
        .unwrap();
    assert!(WrappedKey::parse(&text).is_ok());
    let (head, body) = text.split_at(PREFIX.len() + KID_LEN + 1);
    for bad in [
        text.replacen("ecdh1:", "ecdh2:", 1),
        text.to_uppercase(),
        format!("{head}{}", &body[1..]),
        format!("{head}{body}="),
        format!("{head}{body}AAAA"),
        format!("{}:{body}", &head[..head.len() - 2]),
        format!("{head}{}", body.replace('A', "-")),
    ] {
        if bad != text {
            assert!(WrappedKey::parse(&bad).is_err(), "{bad}");
        }
    }
    // A point byte that is not 02/03.
    let mut blob = BASE64.decode(body).unwrap();
    blob[0] = 0x04;
    assert!(WrappedKey::parse(&format!("{head}{}", BASE64.encode(&blob))).is_err());
}

#[test]
fn nothing_secret_in_debug_or_errors() {
    let private = recipient();
    let shown = format!("{private:?} {:?}", private.recipient());
    assert!(shown.contains(private.recipient().kid()));
    let scalar = private.scalar_bytes();
    let hex: String = scalar.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!shown.contains(&hex));
    assert_eq!(*scalar, [0x11; 32]);
}

#[test]
fn pem_and_der_give_one_kid() {
    let private = recipient();
    let der = private.recipient().spki_der();
    assert_eq!(der.len(), 91);
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n",
        &BASE64.encode(&der)[..64],
        &BASE64.encode(&der)[64..]
    );
    let from_pem = RecipientKey::from_pem(&pem).unwrap();
    assert_eq!(from_pem.kid(), private.recipient().kid());
    let from_sec1 = RecipientKey::from_sec1(&private.recipient().sec1_compressed()).unwrap();
    assert_eq!(from_sec1, from_pem);
    assert_eq!(kid_of_spki_der(&der).unwrap(), from_pem.kid());
    assert!(RecipientKey::from_pem("-----BEGIN PRIVATE KEY-----").is_err());
    assert!(RecipientPrivateKey::from_scalar_bytes(&[0u8; 32]).is_err());
    assert!(RecipientPrivateKey::from_scalar_bytes(&[0xff; 32]).is_err());
    assert!(RecipientPrivateKey::from_scalar_bytes(&[1u8; 31]).is_err());
    assert!(RecipientPrivateKey::generate().is_ok());
}
