//! Deterministic encryption (`encrypt-deterministic`): `det<version>_…`,
//! format version 2 of `schemas/ciphertext.md`.
//!
//! AES-SIV (RFC 5297) with a 64-byte key (AES-256-SIV: a 256-bit CMAC key and
//! a 256-bit CTR key, Tink's choice). Equal values in one join *domain* give
//! equal ciphertexts, so joins, `GROUP BY` and upserts work on them; readers
//! with the key get the value and its JSON type back.
//!
//! ```text
//! associated data = ["cdc-mask/det1", domain]      (two S2V components; default domain = "")
//! plaintext       = type tag ‖ canonical text      ("s" + decoded string | "n" + number literal | "b" + true/false)
//! value           = "det" ‖ version ‖ "_" ‖ base64url-no-padding(SIV(16) ‖ ciphertext)
//! ```
//!
//! A JSON string is encrypted by its *decoded* content, so `"café"` and
//! `"caf\u00e9"` give one ciphertext; a number by its literal as written;
//! `null` is never encrypted (it stays `null`); objects and arrays are
//! refused. The RustCrypto `aes-siv` crate has no published audit.
//!
//! Pure: no I/O, no async. The key is zeroized on drop; `Debug` shows the
//! version only; errors never hold values.
//!
//! # Layout
//! - `shape`: what a `det<N>_…` text looks like, parsed by its syntax.
//! - `encoding`: a JSON value's plaintext (type tag and canonical text) and
//!   back.
//!
//! Here, the key, its errors and the values it takes and gives.

use std::fmt;

use aes_siv::siv::Aes256Siv;
use aes_siv::KeyInit as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use zeroize::Zeroizing;

mod encoding;
mod shape;
#[cfg(test)]
mod tests;

use encoding::{decode_json_string, parse_plaintext, write_json_string};
pub use encoding::{is_json_number, plaintext};
use shape::decode_body;
pub use shape::{check_domain, is_well_formed, parse, parse_shape};

/// First associated-data component of every deterministic value.
pub const LABEL: &[u8] = b"cdc-mask/det1";
/// Length of a deterministic key (AES-256-SIV).
pub const KEY_LEN: usize = 64;
/// Length of the synthetic IV that opens the ciphertext.
pub const SIV_LEN: usize = 16;

/// Type tag of a JSON string.
pub const TAG_STRING: u8 = b's';
/// Type tag of a JSON number.
pub const TAG_NUMBER: u8 = b'n';
/// Type tag of a JSON boolean.
pub const TAG_BOOL: u8 = b'b';

/// Why a value could not be encrypted or decrypted. Never holds a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetError {
    /// The key is not 64 bytes.
    KeyLength,
    /// The domain is neither empty (the default) nor `[a-z0-9_]{1,64}`.
    InvalidDomain,
    /// The value is an object or array: only strings, numbers and booleans
    /// are encrypted deterministically.
    UnsupportedType,
    /// The JSON text is not one valid string, number or boolean, or a
    /// string holds a lone surrogate escape (no UTF-8 form).
    InvalidJson,
    /// Not `det<version>_<base64url>` of at least 17 bytes.
    Malformed,
    /// The value's version is not this key's version.
    WrongVersion {
        /// The version written in the value.
        found: u32,
        /// This key's version.
        expected: u32,
    },
    /// Does not authenticate: another key or domain, or tampered.
    Unauthentic,
    /// Authenticated, but the plaintext is not a type tag and its text.
    BadPlaintext,
}

impl fmt::Display for DetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DetError::KeyLength => write!(f, "deterministic key must be exactly {KEY_LEN} bytes"),
            DetError::InvalidDomain => f.write_str("join domain must match [a-z0-9_]{1,64}"),
            DetError::UnsupportedType => {
                f.write_str("only strings, numbers and booleans can be encrypted deterministically")
            }
            DetError::InvalidJson => f.write_str("value is not valid JSON text of its type"),
            DetError::Malformed => f.write_str("malformed deterministic ciphertext"),
            DetError::WrongVersion { found, expected } => write!(
                f,
                "deterministic ciphertext of key version {found}, this key is version {expected}"
            ),
            DetError::Unauthentic => f.write_str(
                "deterministic ciphertext does not authenticate (wrong key or domain, or tampered)",
            ),
            DetError::BadPlaintext => {
                f.write_str("decrypted deterministic value is not well-formed")
            }
        }
    }
}

impl std::error::Error for DetError {}

/// A value to encrypt, already decoded from its JSON text.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum DetValue<'a> {
    /// A JSON string's decoded content.
    String(&'a str),
    /// A JSON number's literal, exactly as written (`42`, `1.50`, `-3e2`).
    Number(&'a str),
    /// A JSON boolean.
    Bool(bool),
}

impl fmt::Debug for DetValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DetValue::String(_) => "DetValue::String(..)",
            DetValue::Number(_) => "DetValue::Number(..)",
            DetValue::Bool(_) => "DetValue::Bool(..)",
        })
    }
}

/// A decrypted value, with its JSON type.
#[derive(Clone, PartialEq, Eq)]
pub enum DetPlain {
    /// A string (decoded content).
    String(Zeroizing<String>),
    /// A number literal.
    Number(Zeroizing<String>),
    /// A boolean.
    Bool(bool),
}

impl DetPlain {
    /// The value as JSON text: a string re-encoded (`"` `\` and control
    /// characters escaped, everything else as UTF-8), a number's literal,
    /// `true` / `false`.
    pub fn to_json(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::new());
        match self {
            DetPlain::String(s) => write_json_string(s, &mut out),
            DetPlain::Number(n) => out.extend_from_slice(n.as_bytes()),
            DetPlain::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        }
        out
    }
}

impl fmt::Debug for DetPlain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DetPlain::String(_) => "DetPlain::String(..)",
            DetPlain::Number(_) => "DetPlain::Number(..)",
            DetPlain::Bool(_) => "DetPlain::Bool(..)",
        })
    }
}

/// A deterministic key of one version. Same in every instance (it comes
/// from a secret, like the token key), so equal values stay equal across
/// Lambda instances and days; rotating it changes every ciphertext.
pub struct DeterministicKey {
    key: Zeroizing<[u8; KEY_LEN]>,
    version: u32,
    prefix: String,
}

impl DeterministicKey {
    /// A key of version `version` (written as `det<version>_`).
    ///
    /// # Errors
    /// [`DetError::KeyLength`] if `key` is not 64 bytes.
    pub fn new(key: &[u8], version: u32) -> Result<Self, DetError> {
        let key: [u8; KEY_LEN] = key.try_into().map_err(|_| DetError::KeyLength)?;
        Ok(DeterministicKey {
            key: Zeroizing::new(key),
            version,
            prefix: format!("det{version}_"),
        })
    }

    /// The key version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// `det<version>_`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn siv(&self) -> Aes256Siv {
        // Aes256Siv needs `&mut self`; one per call keeps the key shareable
        // between threads. Costs one AES key expansion.
        Aes256Siv::new((&*self.key).into())
    }

    /// Appends `det<version>_<base64url>` (no quotes) for `value` in
    /// `domain` (`""` is the default domain).
    ///
    /// # Errors
    /// [`DetError::InvalidDomain`].
    pub fn write_encrypted(
        &self,
        domain: &str,
        value: DetValue<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), DetError> {
        check_domain(domain)?;
        let mut buffer = plaintext(value);
        let tag = self
            .siv()
            .encrypt_in_place_detached([LABEL, domain.as_bytes()], &mut buffer[..])
            // Fails only with more than 126 headers.
            .map_err(|_| DetError::Unauthentic)?;
        let mut sealed = Vec::with_capacity(SIV_LEN + buffer.len());
        sealed.extend_from_slice(&tag);
        sealed.extend_from_slice(&buffer);
        out.extend_from_slice(self.prefix.as_bytes());
        let start = out.len();
        out.resize(
            start + base64::encoded_len(sealed.len(), false).unwrap_or(0),
            0,
        );
        let written = URL_SAFE_NO_PAD
            .encode_slice(&sealed, &mut out[start..])
            .unwrap_or(0);
        out.truncate(start + written);
        Ok(())
    }

    /// `det<version>_<base64url>` of `value` in `domain`.
    ///
    /// # Errors
    /// [`DetError::InvalidDomain`].
    pub fn encrypt(&self, domain: &str, value: DetValue<'_>) -> Result<String, DetError> {
        let mut out = Vec::new();
        self.write_encrypted(domain, value, &mut out)?;
        // Prefix and base64url are ASCII.
        Ok(String::from_utf8(out).unwrap_or_default())
    }

    /// Encrypts a value given as its raw JSON text (a string with its
    /// quotes and escapes, a number, `true`/`false`). `null` gives `None`:
    /// it stays `null`.
    ///
    /// # Errors
    /// [`DetError::UnsupportedType`] for an object or array,
    /// [`DetError::InvalidJson`] for anything else that is not one valid
    /// JSON value (or a string with a lone surrogate escape),
    /// [`DetError::InvalidDomain`].
    pub fn encrypt_json(&self, domain: &str, raw: &[u8]) -> Result<Option<String>, DetError> {
        let decoded;
        let value = match raw {
            b"null" => return Ok(None),
            b"true" => DetValue::Bool(true),
            b"false" => DetValue::Bool(false),
            [b'"', ..] => {
                decoded = decode_json_string(raw)?;
                DetValue::String(&decoded)
            }
            [b'{' | b'[', ..] => return Err(DetError::UnsupportedType),
            _ if is_json_number(raw) => {
                // ASCII: checked by is_json_number.
                DetValue::Number(std::str::from_utf8(raw).map_err(|_| DetError::InvalidJson)?)
            }
            _ => return Err(DetError::InvalidJson),
        };
        self.encrypt(domain, value).map(Some)
    }

    /// Decrypts `det<version>_<base64url>` made in `domain`.
    ///
    /// # Errors
    /// [`DetError::Malformed`], [`DetError::WrongVersion`],
    /// [`DetError::Unauthentic`], [`DetError::BadPlaintext`],
    /// [`DetError::InvalidDomain`].
    pub fn decrypt(&self, domain: &str, text: &str) -> Result<DetPlain, DetError> {
        check_domain(domain)?;
        let (version, body) = parse(text).ok_or(DetError::Malformed)?;
        if version != self.version {
            return Err(DetError::WrongVersion {
                found: version,
                expected: self.version,
            });
        }
        let sealed = decode_body(body).ok_or(DetError::Malformed)?;
        let (siv, ciphertext) = sealed.split_at(SIV_LEN);
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        self.siv()
            .decrypt_in_place_detached(
                [LABEL, domain.as_bytes()],
                &mut buffer[..],
                aes_siv::Tag::from_slice(siv),
            )
            .map_err(|_| DetError::Unauthentic)?;
        parse_plaintext(&buffer)
    }
}

impl fmt::Debug for DeterministicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeterministicKey")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}
