//! Key material the pure core works with. Nothing here does I/O (other
//! than the system random generator): where public and private keys come
//! from (KMS, a local keyring, configuration) is the edge's business.
//!
//! # Layout
//! - this module: AES-256-GCM data keys, which seal and open values, and
//!   the purposes keys are wrapped for.
//! - `wrap`: data keys wrapped to a recipient's P-256 public key (`ecdh1:`),
//!   so that the write path needs no key service and cannot decrypt.
//! - `cache`: the current data key of a purpose, rotated by age and use.
//! - `token`: the token (HMAC) key, with join domains.
//! - `det`: the deterministic (AES-SIV) key of `encrypt-deterministic`.

mod cache;
pub mod det;
mod token;
pub mod wrap;

use std::sync::atomic::{AtomicU64, Ordering};

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::rand_core::RngCore as _;
use aes_gcm::aead::{AeadInPlace, KeyInit, OsRng};
use aes_gcm::aes::Aes256Enc;
use aes_gcm::{AesGcm, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use zeroize::Zeroizing;

pub use cache::{CacheLimits, DataKeyCache};
pub use det::DeterministicKey;
pub use token::{check_domain, InvalidDomain, ShortTokenKey, TokenKey, MIN_TOKEN_KEY_LEN};
pub use wrap::{RecipientKey, RecipientPrivateKey, WrapError, WrappedKey};

/// Length of an AES-GCM nonce.
pub const NONCE_LEN: usize = 12;
/// Length of an AES-GCM tag.
pub const TAG_LEN: usize = 16;

/// What a data key protects; part of the wrapping context, so a key wrapped
/// for one purpose cannot be unwrapped as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Values of the encrypted view.
    Data,
    /// Sealed quarantine records: admins only.
    Quarantine,
}

impl Purpose {
    /// The name used in wrapping contexts (`data` or `quarantine`).
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Data => "data",
            Purpose::Quarantine => "quarantine",
        }
    }
}

/// AES-256-GCM over the encrypting half of AES alone: GCM never runs the
/// block cipher backwards, so the decryption key schedule is neither
/// computed nor held.
type CellCipher = AesGcm<Aes256Enc, U12>;

// On aarch64 (the Lambdas run on Graviton), `aes` and `polyval` use the
// ARMv8 AES and PMULL instructions only when built with these flags
// (.cargo/config.toml); without them every cell would be encrypted in
// software, several times slower. RUSTFLAGS in the environment replaces
// the configured flags, so a build that lost them stops here.
#[cfg(all(target_arch = "aarch64", not(all(aes_armv8, polyval_armv8))))]
compile_error!(
    "aarch64 builds need `--cfg aes_armv8 --cfg polyval_armv8` in RUSTFLAGS (see .cargo/config.toml)"
);

// The key schedule is wiped when a data key is dropped.
const _: () = {
    const fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    wiped_on_drop::<Aes256Enc>();
};

/// An AES-256-GCM data key in use, with its wrapped descriptor.
///
/// The plaintext key exists only inside the cipher's key schedule, which is
/// zeroized on drop.
pub struct DataKey {
    cipher: CellCipher,
    wrapped: String,
    nonces: Nonces,
}

/// How a key makes nonces.
enum Nonces {
    /// NIST SP 800-38D §8.2.1 deterministic construction, for a key that
    /// exists in this instance only (freshly generated): a random 4-byte
    /// field fixed per instance and a 64-bit invocation counter, so nonces
    /// never repeat under the key. Cheap: no system call per value.
    Counter { field: [u8; 4], counter: AtomicU64 },
    /// 96 random bits per nonce (§8.2.2), for a key that other instances
    /// also hold (a keyring master key, an unwrapped key), where counters
    /// could restart and collide.
    Random,
}

/// A ciphertext that failed authentication, or was not well-formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Not base64, or too short to hold a nonce and a tag.
    #[error("malformed ciphertext")]
    Malformed,
    /// Wrong key, wrong context (schema, table, column), or tampered.
    #[error("ciphertext does not authenticate (wrong key, moved or tampered)")]
    Tampered,
}

impl DataKey {
    /// A fresh data key for `purpose`, wrapped to `recipient`: no key
    /// service is called, and this process cannot unwrap it again.
    ///
    /// # Errors
    /// [`WrapError::Random`] if the system random generator fails.
    pub fn generate(recipient: &RecipientKey, purpose: Purpose) -> Result<Self, WrapError> {
        let mut plaintext = Zeroizing::new([0u8; 32]);
        OsRng
            .try_fill_bytes(plaintext.as_mut())
            .map_err(|_| WrapError::Random)?;
        let wrapped = recipient.wrap(purpose, &plaintext)?;
        Ok(DataKey::new(&plaintext, wrapped))
    }

    /// A freshly generated data key, used by this instance only, from its
    /// plaintext bytes and wrapped descriptor. The descriptor must be
    /// JSON-safe (base64 and `:`), as providers make it.
    pub fn new(plaintext: &Zeroizing<[u8; 32]>, wrapped: String) -> Self {
        let mut field = [0u8; 4];
        OsRng.fill_bytes(&mut field);
        Self::with_nonces(
            plaintext,
            wrapped,
            Nonces::Counter {
                field,
                counter: AtomicU64::new(0),
            },
        )
    }

    /// A key that other instances may hold too (a master key, an unwrapped
    /// data key): it encrypts with random nonces.
    pub fn shared(plaintext: &Zeroizing<[u8; 32]>, wrapped: String) -> Self {
        Self::with_nonces(plaintext, wrapped, Nonces::Random)
    }

    fn with_nonces(plaintext: &Zeroizing<[u8; 32]>, wrapped: String, nonces: Nonces) -> Self {
        DataKey {
            cipher: CellCipher::new(plaintext.as_ref().into()),
            wrapped,
            nonces,
        }
    }

    fn next_nonce(&self) -> [u8; NONCE_LEN] {
        let mut nonce = [0u8; NONCE_LEN];
        match &self.nonces {
            Nonces::Counter { field, counter } => {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                nonce[..4].copy_from_slice(field);
                nonce[4..].copy_from_slice(&n.to_be_bytes());
            }
            Nonces::Random => OsRng.fill_bytes(&mut nonce),
        }
        nonce
    }

    /// The wrapped key descriptor (`kms:…` or `local:…`).
    pub fn wrapped(&self) -> &str {
        &self.wrapped
    }

    /// Encrypts `plaintext` bound to `aad` and appends the base64 of
    /// `nonce ‖ ciphertext ‖ tag` to `out`. `scratch` is reused between calls
    /// and holds only ciphertext afterwards.
    pub fn seal_base64(
        &self,
        aad: &[u8],
        plaintext: &[u8],
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) {
        let nonce = self.next_nonce();
        scratch.clear();
        scratch.extend_from_slice(&nonce);
        scratch.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, &mut scratch[NONCE_LEN..])
            // Only fails for messages over 64 GiB, far above any record.
            .unwrap_or_default();
        scratch.extend_from_slice(&tag);
        // Standard, padded: the same text as the `base64` crate's, faster.
        base64_simd::STANDARD.encode_append(&scratch[..], out);
    }

    /// Decrypts the base64 of `nonce ‖ ciphertext ‖ tag` made by
    /// [`DataKey::seal_base64`] with the same `aad`.
    ///
    /// # Errors
    /// [`OpenError`] if it is malformed or does not authenticate.
    pub fn open_base64(&self, aad: &[u8], sealed: &str) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let mut buf = Zeroizing::new(BASE64.decode(sealed).map_err(|_| OpenError::Malformed)?);
        if buf.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        let (nonce, rest) = buf.split_at_mut(NONCE_LEN);
        let (body, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
        self.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(nonce),
                aad,
                body,
                aes_gcm::Tag::from_slice(tag),
            )
            .map_err(|_| OpenError::Tampered)?;
        let plaintext = Zeroizing::new(body.to_vec());
        Ok(plaintext)
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey").finish_non_exhaustive()
    }
}
