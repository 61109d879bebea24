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
//!
//! # Layout
//! - `recipient`: the recipient's public key (wraps) and private key
//!   (unwraps locally).
//! - `wrapped`: a parsed descriptor, and its unwrapping from a shared
//!   secret (KMS `DeriveSharedSecret`).
//!
//! Here, the format's constants, its error, and the KDF and encoding
//! helpers both sides share.

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

mod recipient;
#[cfg(test)]
mod tests;
mod wrapped;

pub use recipient::{RecipientKey, RecipientPrivateKey};
pub use wrapped::WrappedKey;

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
