//! Data keys wrapped to a recipient's P-256 public key (`ecdh1:`), format
//! version 2 of `schemas/ciphertext.md`.
//!
//! The write side holds only the recipient's *public* key: it needs no
//! network and cannot unwrap what it wrapped. Each data key gets a fresh
//! ephemeral key pair ("ephemeral private key to static public key", as the
//! AWS Encryption SDK's raw ECDH keyring):
//!
//! ```text
//! Z    = x-coordinate of ECDH(ephemeral private, recipient public)   (32 bytes)
//! info = "cdc-mask/ecdh-wrap/v1" ‖ lp(purpose) ‖ lp(kid) ‖ lp(ephemeral pub) ‖ lp(recipient pub)
//! KEK  = HKDF-SHA-256(salt = 32 zero bytes, ikm = Z, info, L = 32)
//! blob = ephemeral pub (SEC1 compressed, 33) ‖ AES-256-GCM(KEK, nonce = 12 zero bytes, aad = info, data key) (48)
//! text = "ecdh1:" ‖ kid ‖ ":" ‖ base64(blob)
//! ```
//!
//! where `lp(x) = u32be(len(x)) ‖ x` and public keys are SEC1 compressed.
//!
//! The read side gets `Z` either from a local private key
//! ([`RecipientPrivateKey::unwrap`]) or from AWS KMS `DeriveSharedSecret`
//! with the ephemeral public key as DER SubjectPublicKeyInfo
//! ([`WrappedKey::ephemeral_spki_der`]), then calls
//! [`WrappedKey::unwrap_with_shared_secret`]. Either way the recipient is the
//! one the caller configured: a descriptor whose key id names another key is
//! refused before any key is used.
//!
//! Pure: no I/O (other than the system random generator for ephemeral
//! keys), no async. Secrets live in zeroize-on-drop types; `Debug` shows key
//! ids only; errors name the problem, never bytes.

use std::fmt;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToSec1Point as _;
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use p256::{NonZeroScalar, PublicKey, SecretKey};
use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize as _, Zeroizing};

use super::Purpose;

/// Prefix of a data key wrapped to a P-256 public key.
pub const PREFIX: &str = "ecdh1:";
/// First part of the HKDF `info`; names the format version of the wrap.
pub const KDF_LABEL: &[u8] = b"cdc-mask/ecdh-wrap/v1";
/// Length of a data key.
pub const DATA_KEY_LEN: usize = 32;
/// Length of the ECDH shared secret `Z` (the x-coordinate) on P-256.
pub const SHARED_SECRET_LEN: usize = 32;
/// Length of a key id: lowercase hex of 8 bytes.
pub const KID_LEN: usize = 16;
/// Length of a SEC1 compressed P-256 point.
pub const COMPRESSED_POINT_LEN: usize = 33;
/// Length of the decoded blob: ephemeral key, wrapped data key, tag.
pub const BLOB_LEN: usize = COMPRESSED_POINT_LEN + DATA_KEY_LEN + TAG_LEN;
/// Length of a whole descriptor: `ecdh1:` + kid + `:` + base64 of the blob.
pub const DESCRIPTOR_LEN: usize = PREFIX.len() + KID_LEN + 1 + BLOB_LEN.div_ceil(3) * 4;

const TAG_LEN: usize = 16;
const SALT: [u8; 32] = [0u8; 32];
/// Each KEK encrypts exactly one message, so a fixed nonce never repeats
/// under a key (see `schemas/ciphertext.md`).
const ZERO_NONCE: [u8; 12] = [0u8; 12];

/// Why a key could not be wrapped or unwrapped. Never carries key bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WrapError {
    /// The descriptor is not `ecdh1:<kid>:<base64 of 81 bytes>` with a valid
    /// compressed P-256 point.
    Malformed(&'static str),
    /// The descriptor was wrapped for another recipient key than the one
    /// configured. Key ids are public (hashes of public keys).
    WrongRecipient {
        /// The key id written in the descriptor.
        wrapped_for: String,
        /// The key id of the configured recipient.
        configured: String,
    },
    /// The wrapped key does not authenticate: another purpose, a shared
    /// secret from another key, or tampered.
    Unauthentic,
    /// A public or private key given by the caller is not a valid P-256 key.
    InvalidKey(&'static str),
    /// The shared secret is not 32 bytes.
    SharedSecretLength,
    /// The system random generator failed.
    Random,
}

impl fmt::Display for WrapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WrapError::Malformed(what) => write!(f, "malformed ecdh1 wrapped key: {what}"),
            WrapError::WrongRecipient {
                wrapped_for,
                configured,
            } => write!(
                f,
                "data key wrapped for recipient key {wrapped_for}, the configured key is {configured}"
            ),
            WrapError::Unauthentic => f.write_str(
                "wrapped data key does not authenticate (wrong purpose or key, or tampered)",
            ),
            WrapError::InvalidKey(what) => write!(f, "invalid P-256 key: {what}"),
            WrapError::SharedSecretLength => f.write_str("ECDH shared secret is not 32 bytes"),
            WrapError::Random => f.write_str("system random generator failed"),
        }
    }
}

impl std::error::Error for WrapError {}

/// A recipient's public key, with its key id. What the write path holds.
#[derive(Clone)]
pub struct RecipientKey {
    public: PublicKey,
    compressed: [u8; COMPRESSED_POINT_LEN],
    kid: String,
}

impl RecipientKey {
    /// From a DER SubjectPublicKeyInfo (what KMS `GetPublicKey` returns),
    /// with the point compressed or not.
    ///
    /// # Errors
    /// [`WrapError::InvalidKey`] if it is not a P-256 public key.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, WrapError> {
        let public = PublicKey::from_public_key_der(der)
            .map_err(|_| WrapError::InvalidKey("not a P-256 SubjectPublicKeyInfo"))?;
        Ok(Self::from_public(public))
    }

    /// From a PEM `-----BEGIN PUBLIC KEY-----` block (SubjectPublicKeyInfo),
    /// as `openssl ec -pubout` or `aws kms get-public-key` (base64 of the DER
    /// between the lines) give it. Text outside the block is ignored.
    ///
    /// # Errors
    /// [`WrapError::InvalidKey`] if there is no such block or it does not
    /// hold a P-256 public key.
    pub fn from_pem(pem: &str) -> Result<Self, WrapError> {
        const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
        const END: &str = "-----END PUBLIC KEY-----";
        let body = pem
            .split_once(BEGIN)
            .and_then(|(_, rest)| rest.split_once(END))
            .map(|(body, _)| body)
            .ok_or(WrapError::InvalidKey("no PEM PUBLIC KEY block"))?;
        let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = BASE64
            .decode(compact)
            .map_err(|_| WrapError::InvalidKey("PEM body is not base64"))?;
        Self::from_spki_der(&der)
    }

    /// From a SEC1 encoded point (compressed or uncompressed).
    ///
    /// # Errors
    /// [`WrapError::InvalidKey`] if it is not a point of P-256.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, WrapError> {
        let public = PublicKey::from_sec1_bytes(bytes)
            .map_err(|_| WrapError::InvalidKey("not a P-256 point"))?;
        Ok(Self::from_public(public))
    }

    fn from_public(public: PublicKey) -> Self {
        let compressed = compress(&public);
        let kid = kid_of(&public);
        RecipientKey {
            public,
            compressed,
            kid,
        }
    }

    /// The key id: lowercase hex of the first 8 bytes of SHA-256 of the
    /// DER SubjectPublicKeyInfo with the point uncompressed (the form KMS
    /// `GetPublicKey` returns), so a PEM and KMS give the same id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The canonical DER SubjectPublicKeyInfo (uncompressed point).
    pub fn spki_der(&self) -> Vec<u8> {
        spki_der(&self.public)
    }

    /// The SEC1 compressed point (33 bytes), as bound into the KDF.
    pub fn sec1_compressed(&self) -> [u8; COMPRESSED_POINT_LEN] {
        self.compressed
    }

    /// Wraps `data_key` for `purpose` under a fresh ephemeral key pair.
    ///
    /// # Errors
    /// [`WrapError::Random`] if the system random generator fails.
    pub fn wrap(
        &self,
        purpose: Purpose,
        data_key: &[u8; DATA_KEY_LEN],
    ) -> Result<String, WrapError> {
        let mut scalar = NonZeroScalar::try_generate().map_err(|_| WrapError::Random)?;
        let ephemeral = SecretKey::from(&scalar);
        scalar.zeroize();
        Ok(self.wrap_with(purpose, data_key, &ephemeral))
    }

    /// Wraps with a given ephemeral private scalar (32 bytes, big-endian).
    /// **For test vectors only**: an ephemeral scalar must never be used
    /// twice; [`RecipientKey::wrap`] draws a fresh one.
    ///
    /// # Errors
    /// [`WrapError::InvalidKey`] if the scalar is zero or not below the
    /// group order.
    pub fn wrap_with_ephemeral_scalar(
        &self,
        purpose: Purpose,
        data_key: &[u8; DATA_KEY_LEN],
        ephemeral_scalar: &[u8; 32],
    ) -> Result<String, WrapError> {
        let ephemeral = SecretKey::from_slice(ephemeral_scalar)
            .map_err(|_| WrapError::InvalidKey("ephemeral scalar out of range"))?;
        Ok(self.wrap_with(purpose, data_key, &ephemeral))
    }

    fn wrap_with(
        &self,
        purpose: Purpose,
        data_key: &[u8; DATA_KEY_LEN],
        ephemeral: &SecretKey,
    ) -> String {
        let ephemeral_pub = compress(&ephemeral.public_key());
        let shared = ephemeral.diffie_hellman(&self.public);
        let info = kdf_info(purpose, &self.kid, &ephemeral_pub, &self.compressed);
        let cipher = kek_cipher(shared.raw_secret_bytes().as_slice(), &info);
        let mut blob = Zeroizing::new([0u8; BLOB_LEN]);
        blob[..COMPRESSED_POINT_LEN].copy_from_slice(&ephemeral_pub);
        let (_, rest) = blob.split_at_mut(COMPRESSED_POINT_LEN);
        let (body, tag_out) = rest.split_at_mut(DATA_KEY_LEN);
        body.copy_from_slice(data_key);
        let tag = cipher
            .encrypt_in_place_detached(Nonce::from_slice(&ZERO_NONCE), &info, body)
            // Only fails for messages over 64 GiB.
            .unwrap_or_default();
        tag_out.copy_from_slice(&tag);
        let mut text = String::with_capacity(DESCRIPTOR_LEN);
        text.push_str(PREFIX);
        text.push_str(&self.kid);
        text.push(':');
        BASE64.encode_string(&blob[..], &mut text);
        text
    }
}

impl fmt::Debug for RecipientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientKey")
            .field("kid", &self.kid)
            .finish()
    }
}

impl PartialEq for RecipientKey {
    fn eq(&self, other: &Self) -> bool {
        self.compressed == other.compressed
    }
}

impl Eq for RecipientKey {}

/// A recipient's private key (the local keyring's `data-ecdh.key` or
/// `quarantine-ecdh.key`): the read side without KMS. Zeroized on drop.
pub struct RecipientPrivateKey {
    secret: SecretKey,
    recipient: RecipientKey,
}

impl RecipientPrivateKey {
    /// From the 32-byte big-endian private scalar (the key file's content).
    ///
    /// # Errors
    /// [`WrapError::InvalidKey`] if it is not 32 bytes, zero, or not below
    /// the group order.
    pub fn from_scalar_bytes(bytes: &[u8]) -> Result<Self, WrapError> {
        if bytes.len() != 32 {
            return Err(WrapError::InvalidKey(
                "a private key file holds exactly 32 bytes",
            ));
        }
        let secret = SecretKey::from_slice(bytes)
            .map_err(|_| WrapError::InvalidKey("private scalar out of range"))?;
        Ok(Self::from_secret(secret))
    }

    /// A fresh private key from the system random generator (to create a
    /// keyring).
    ///
    /// # Errors
    /// [`WrapError::Random`] if the system random generator fails.
    pub fn generate() -> Result<Self, WrapError> {
        let mut scalar = NonZeroScalar::try_generate().map_err(|_| WrapError::Random)?;
        let secret = SecretKey::from(&scalar);
        scalar.zeroize();
        Ok(Self::from_secret(secret))
    }

    fn from_secret(secret: SecretKey) -> Self {
        let recipient = RecipientKey::from_public(secret.public_key());
        RecipientPrivateKey { secret, recipient }
    }

    /// The 32-byte big-endian private scalar, to write into a key file.
    pub fn scalar_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut bytes = self.secret.to_bytes();
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(bytes.as_slice());
        bytes.as_mut_slice().zeroize();
        out
    }

    /// The matching public key (what the write path is given).
    pub fn recipient(&self) -> &RecipientKey {
        &self.recipient
    }

    /// `Z` for a descriptor (the x-coordinate of ECDH with its ephemeral
    /// key), as KMS `DeriveSharedSecret` would return it.
    ///
    /// # Errors
    /// [`WrapError::WrongRecipient`] if the descriptor was wrapped for
    /// another key: no secret is computed then.
    pub fn shared_secret(&self, wrapped: &WrappedKey) -> Result<Zeroizing<[u8; 32]>, WrapError> {
        wrapped.check_recipient(&self.recipient)?;
        let shared = self.secret.diffie_hellman(&wrapped.ephemeral);
        let mut z = Zeroizing::new([0u8; 32]);
        z.copy_from_slice(shared.raw_secret_bytes().as_slice());
        Ok(z)
    }

    /// Unwraps the data key of `wrapped` for `purpose`.
    ///
    /// # Errors
    /// [`WrapError::WrongRecipient`] if wrapped for another key,
    /// [`WrapError::Unauthentic`] if wrapped for another purpose or tampered.
    pub fn unwrap(
        &self,
        wrapped: &WrappedKey,
        purpose: Purpose,
    ) -> Result<Zeroizing<[u8; DATA_KEY_LEN]>, WrapError> {
        let z = self.shared_secret(wrapped)?;
        wrapped.unwrap_with_shared_secret(&self.recipient, purpose, z.as_ref())
    }
}

impl fmt::Debug for RecipientPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientPrivateKey")
            .field("kid", &self.recipient.kid)
            .finish_non_exhaustive()
    }
}

/// A parsed `ecdh1:` descriptor: public parts only.
#[derive(Clone)]
pub struct WrappedKey {
    kid: String,
    ephemeral: PublicKey,
    ephemeral_compressed: [u8; COMPRESSED_POINT_LEN],
    sealed: [u8; DATA_KEY_LEN + TAG_LEN],
}

impl WrappedKey {
    /// Parses `ecdh1:<kid>:<base64>`: a 16-character lowercase hex key id,
    /// and canonical padded standard base64 of exactly 81 bytes whose first
    /// 33 are a compressed point of P-256.
    ///
    /// # Errors
    /// [`WrapError::Malformed`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Self, WrapError> {
        let rest = text
            .strip_prefix(PREFIX)
            .ok_or(WrapError::Malformed("not an ecdh1: key"))?;
        let (kid, encoded) = rest
            .split_once(':')
            .ok_or(WrapError::Malformed("no key id"))?;
        if kid.len() != KID_LEN || !kid.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(WrapError::Malformed(
                "key id is not 16 lowercase hex digits",
            ));
        }
        let mut blob = [0u8; BLOB_LEN];
        match BASE64.decode_slice(encoded, &mut blob) {
            Ok(BLOB_LEN) if encoded.len() == DESCRIPTOR_LEN - PREFIX.len() - KID_LEN - 1 => {}
            _ => return Err(WrapError::Malformed("not base64 of 81 bytes")),
        }
        let mut ephemeral_compressed = [0u8; COMPRESSED_POINT_LEN];
        ephemeral_compressed.copy_from_slice(&blob[..COMPRESSED_POINT_LEN]);
        if !matches!(ephemeral_compressed[0], 0x02 | 0x03) {
            return Err(WrapError::Malformed(
                "ephemeral key is not a compressed point",
            ));
        }
        let ephemeral = PublicKey::from_sec1_bytes(&ephemeral_compressed)
            .map_err(|_| WrapError::Malformed("ephemeral key is not a point of P-256"))?;
        let mut sealed = [0u8; DATA_KEY_LEN + TAG_LEN];
        sealed.copy_from_slice(&blob[COMPRESSED_POINT_LEN..]);
        Ok(WrappedKey {
            kid: kid.to_owned(),
            ephemeral,
            ephemeral_compressed,
            sealed,
        })
    }

    /// The recipient key id written in the descriptor.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The ephemeral public key as DER SubjectPublicKeyInfo (uncompressed
    /// point): the `PublicKey` of KMS `DeriveSharedSecret`.
    pub fn ephemeral_spki_der(&self) -> Vec<u8> {
        spki_der(&self.ephemeral)
    }

    /// The ephemeral public key, SEC1 compressed (as in the descriptor).
    pub fn ephemeral_sec1_compressed(&self) -> [u8; COMPRESSED_POINT_LEN] {
        self.ephemeral_compressed
    }

    /// Refuses a descriptor wrapped for another key than `recipient`. Call it
    /// before asking KMS for the shared secret.
    ///
    /// # Errors
    /// [`WrapError::WrongRecipient`].
    pub fn check_recipient(&self, recipient: &RecipientKey) -> Result<(), WrapError> {
        if self.kid == recipient.kid {
            Ok(())
        } else {
            Err(WrapError::WrongRecipient {
                wrapped_for: self.kid.clone(),
                configured: recipient.kid.clone(),
            })
        }
    }

    /// Unwraps the data key given `Z` (from KMS `DeriveSharedSecret`, or
    /// [`RecipientPrivateKey::shared_secret`]) for the configured
    /// `recipient`.
    ///
    /// # Errors
    /// [`WrapError::WrongRecipient`] if the key ids differ,
    /// [`WrapError::SharedSecretLength`] if `z` is not 32 bytes,
    /// [`WrapError::Unauthentic`] if it does not authenticate.
    pub fn unwrap_with_shared_secret(
        &self,
        recipient: &RecipientKey,
        purpose: Purpose,
        z: &[u8],
    ) -> Result<Zeroizing<[u8; DATA_KEY_LEN]>, WrapError> {
        self.check_recipient(recipient)?;
        if z.len() != SHARED_SECRET_LEN {
            return Err(WrapError::SharedSecretLength);
        }
        let info = kdf_info(
            purpose,
            &self.kid,
            &self.ephemeral_compressed,
            &recipient.compressed,
        );
        let cipher = kek_cipher(z, &info);
        let mut key = Zeroizing::new([0u8; DATA_KEY_LEN]);
        key.copy_from_slice(&self.sealed[..DATA_KEY_LEN]);
        cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&ZERO_NONCE),
                &info,
                &mut key[..],
                Tag::from_slice(&self.sealed[DATA_KEY_LEN..]),
            )
            .map_err(|_| WrapError::Unauthentic)?;
        Ok(key)
    }
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Whether `text` is (claims to be) an `ecdh1:` descriptor.
pub fn is_ecdh_wrapped(text: &str) -> bool {
    text.starts_with(PREFIX)
}

/// The key id of a DER SubjectPublicKeyInfo (see [`RecipientKey::kid`]).
///
/// # Errors
/// [`WrapError::InvalidKey`] if it is not a P-256 public key.
pub fn kid_of_spki_der(der: &[u8]) -> Result<String, WrapError> {
    Ok(RecipientKey::from_spki_der(der)?.kid)
}

/// The HKDF `info`: label, purpose, key id, ephemeral and recipient public
/// keys, each length-prefixed. Public so tests can compare it with vectors.
pub fn kdf_info(
    purpose: Purpose,
    kid: &str,
    ephemeral_compressed: &[u8; COMPRESSED_POINT_LEN],
    recipient_compressed: &[u8; COMPRESSED_POINT_LEN],
) -> Vec<u8> {
    let mut info = Vec::with_capacity(KDF_LABEL.len() + 4 * 4 + 10 + KID_LEN + 2 * 33);
    info.extend_from_slice(KDF_LABEL);
    for part in [
        purpose.as_str().as_bytes(),
        kid.as_bytes(),
        &ephemeral_compressed[..],
        &recipient_compressed[..],
    ] {
        lp(part, &mut info);
    }
    info
}

/// The key-encryption key: HKDF-SHA-256(salt = 32 zero bytes, ikm = `z`,
/// `info`, 32 bytes). Public so tests can compare it with vectors.
pub fn derive_kek(z: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut kek = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&SALT), z)
        .expand(info, kek.as_mut())
        // 32 bytes is far below HKDF-SHA-256's 8160-byte limit.
        .unwrap_or_default();
    kek
}

fn kek_cipher(z: &[u8], info: &[u8]) -> Aes256Gcm {
    let kek = derive_kek(z, info);
    Aes256Gcm::new(kek.as_ref().into())
}

fn lp(part: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(part);
}

fn compress(public: &PublicKey) -> [u8; COMPRESSED_POINT_LEN] {
    let point = public.to_sec1_point(true);
    let mut out = [0u8; COMPRESSED_POINT_LEN];
    out.copy_from_slice(point.as_bytes());
    out
}

fn spki_der(public: &PublicKey) -> Vec<u8> {
    public
        .to_public_key_der()
        .map(|doc| doc.as_bytes().to_vec())
        // Encoding a valid P-256 key cannot fail.
        .unwrap_or_default()
}

fn kid_of(public: &PublicKey) -> String {
    let digest = Sha256::digest(spki_der(public));
    digest[..KID_LEN / 2]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
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
}
