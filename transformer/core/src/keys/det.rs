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

use std::fmt;

use aes_siv::siv::Aes256Siv;
use aes_siv::KeyInit as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use zeroize::Zeroizing;

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

/// The version digits and body of a text shaped `det<N>_<body>` (N one or
/// more ASCII digits, leading zeros included), or `None`. Readers treat such
/// a text as a cdc-mask value (`schemas/ciphertext.md`, "Reading a row").
pub fn parse_shape(text: &str) -> Option<(&str, &str)> {
    let (digits, body) = text.strip_prefix("det")?.split_once('_')?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some((digits, body))
}

/// The key version and base64url body of a deterministic value: the shape
/// of [`parse_shape`] with a version without leading zero that fits in u32,
/// and a non-empty body. `None` for anything else.
pub fn parse(text: &str) -> Option<(u32, &str)> {
    let (digits, body) = parse_shape(text)?;
    if digits.starts_with('0') || body.is_empty() {
        return None;
    }
    Some((digits.parse().ok()?, body))
}

/// Whether `text` is a complete deterministic value by its syntax: the
/// shape of [`parse`] and a body that is canonical base64url without
/// padding of at least 17 bytes. Such a value must decrypt or be an error.
pub fn is_well_formed(text: &str) -> bool {
    parse(text)
        .and_then(|(_, body)| decode_body(body))
        .is_some()
}

fn decode_body(body: &str) -> Option<Vec<u8>> {
    let sealed = URL_SAFE_NO_PAD.decode(body).ok()?;
    (sealed.len() > SIV_LEN).then_some(sealed)
}

/// A join domain: `""` (the default) or `[a-z0-9_]{1,64}`, so it can never
/// contain the 0x00 that separates it from the value in token input.
///
/// # Errors
/// [`DetError::InvalidDomain`].
pub fn check_domain(domain: &str) -> Result<(), DetError> {
    super::check_domain(domain).map_err(|_| DetError::InvalidDomain)
}

/// The plaintext of a value: its type tag then its canonical text.
pub fn plaintext(value: DetValue<'_>) -> Zeroizing<Vec<u8>> {
    let (tag, text): (u8, &[u8]) = match value {
        DetValue::String(s) => (TAG_STRING, s.as_bytes()),
        DetValue::Number(n) => (TAG_NUMBER, n.as_bytes()),
        DetValue::Bool(true) => (TAG_BOOL, b"true"),
        DetValue::Bool(false) => (TAG_BOOL, b"false"),
    };
    let mut out = Zeroizing::new(Vec::with_capacity(1 + text.len()));
    out.push(tag);
    out.extend_from_slice(text);
    out
}

fn parse_plaintext(plain: &[u8]) -> Result<DetPlain, DetError> {
    let (&tag, text) = plain.split_first().ok_or(DetError::BadPlaintext)?;
    let text = std::str::from_utf8(text).map_err(|_| DetError::BadPlaintext)?;
    match tag {
        TAG_STRING => Ok(DetPlain::String(Zeroizing::new(text.to_owned()))),
        TAG_NUMBER if is_json_number(text.as_bytes()) => {
            Ok(DetPlain::Number(Zeroizing::new(text.to_owned())))
        }
        TAG_BOOL if text == "true" => Ok(DetPlain::Bool(true)),
        TAG_BOOL if text == "false" => Ok(DetPlain::Bool(false)),
        _ => Err(DetError::BadPlaintext),
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` (RFC 8259 §6).
pub fn is_json_number(text: &[u8]) -> bool {
    let mut i = 0;
    let at = |i: usize| text.get(i).copied();
    let digits = |mut i: usize| {
        let start = i;
        while at(i).is_some_and(|b| b.is_ascii_digit()) {
            i += 1;
        }
        (i > start).then_some(i)
    };
    if at(i) == Some(b'-') {
        i += 1;
    }
    match at(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => match digits(i) {
            Some(next) => i = next,
            None => return false,
        },
        _ => return false,
    }
    if at(i) == Some(b'.') {
        match digits(i + 1) {
            Some(next) => i = next,
            None => return false,
        }
    }
    if matches!(at(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(at(i), Some(b'+' | b'-')) {
            i += 1;
        }
        match digits(i) {
            Some(next) => i = next,
            None => return false,
        }
    }
    i == text.len()
}

/// Decodes one JSON string (with its quotes) strictly: valid UTF-8, no raw
/// control characters, only the RFC 8259 escapes, surrogate escapes in
/// pairs.
fn decode_json_string(raw: &[u8]) -> Result<Zeroizing<String>, DetError> {
    let inner = raw
        .strip_prefix(b"\"")
        .and_then(|r| r.strip_suffix(b"\""))
        .ok_or(DetError::InvalidJson)?;
    let text = std::str::from_utf8(inner).map_err(|_| DetError::InvalidJson)?;
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\u{0}'..='\u{1f}' => return Err(DetError::InvalidJson),
            '\\' => {
                let decoded = match chars.next() {
                    Some('"') => '"',
                    Some('\\') => '\\',
                    Some('/') => '/',
                    Some('b') => '\u{8}',
                    Some('f') => '\u{c}',
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('t') => '\t',
                    Some('u') => {
                        let unit = hex4(&mut chars)?;
                        match unit {
                            0xD800..=0xDBFF => {
                                if chars.next() != Some('\\') || chars.next() != Some('u') {
                                    return Err(DetError::InvalidJson);
                                }
                                let low = hex4(&mut chars)?;
                                if !(0xDC00..=0xDFFF).contains(&low) {
                                    return Err(DetError::InvalidJson);
                                }
                                let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                                char::from_u32(code).ok_or(DetError::InvalidJson)?
                            }
                            0xDC00..=0xDFFF => return Err(DetError::InvalidJson),
                            _ => char::from_u32(unit).ok_or(DetError::InvalidJson)?,
                        }
                    }
                    _ => return Err(DetError::InvalidJson),
                };
                out.push(decoded);
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Result<u32, DetError> {
    let mut unit = 0;
    for _ in 0..4 {
        let digit = chars
            .next()
            .and_then(|c| c.to_digit(16))
            .ok_or(DetError::InvalidJson)?;
        unit = unit * 16 + digit;
    }
    Ok(unit)
}

fn write_json_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DeterministicKey {
        DeterministicKey::new(&[9u8; 64], 1).unwrap()
    }

    #[test]
    fn equal_values_in_one_domain_are_equal() {
        let k = key();
        let a = k.encrypt_json("", br#""caf\u00e9""#).unwrap().unwrap();
        let b = k.encrypt_json("", "\"café\"".as_bytes()).unwrap().unwrap();
        assert_eq!(a, b);
        assert!(a.starts_with("det1_"));
        assert_ne!(
            a,
            k.encrypt_json("customer_email", "\"café\"".as_bytes())
                .unwrap()
                .unwrap()
        );
        assert_ne!(
            k.encrypt_json("", b"42").unwrap(),
            k.encrypt_json("", br#""42""#).unwrap(),
            "the type is part of the plaintext"
        );
        assert_eq!(k.encrypt_json("", b"null").unwrap(), None);
    }

    #[test]
    fn round_trips_restore_the_type() {
        let k = key();
        for (raw, json) in [
            (
                &br#""caf\u00e9 \"x\"\n\ud83d\ude00""#[..],
                "\"café \\\"x\\\"\\n😀\"",
            ),
            (b"-12.5e3", "-12.5e3"),
            (b"0", "0"),
            (b"true", "true"),
            (b"false", "false"),
            (br#""""#, r#""""#),
            (b"\"\\u0001\"", "\"\\u0001\""),
        ] {
            for domain in ["", "d", "customer_email"] {
                let text = k.encrypt_json(domain, raw).unwrap().unwrap();
                assert!(is_well_formed(&text));
                let plain = k.decrypt(domain, &text).unwrap();
                assert_eq!(String::from_utf8(plain.to_json().to_vec()).unwrap(), json);
                let other = if domain.is_empty() { "x" } else { "" };
                assert_eq!(k.decrypt(other, &text), Err(DetError::Unauthentic));
            }
        }
    }

    #[test]
    fn refuses_what_it_cannot_encrypt() {
        let k = key();
        for bad in [
            &br#""\ud800""#[..],
            br#""\udc00\ud800""#,
            br#""\x""#,
            b"\"a",
            b"\"\x01\"",
            b"01",
            b"1.",
            b"-",
            b"1e",
            b"+1",
            b"NaN",
            b"",
            b" 1",
        ] {
            assert_eq!(
                k.encrypt_json("", bad),
                Err(DetError::InvalidJson),
                "{bad:?}"
            );
        }
        assert_eq!(k.encrypt_json("", b"{}"), Err(DetError::UnsupportedType));
        assert_eq!(k.encrypt_json("", b"[1]"), Err(DetError::UnsupportedType));
        for domain in ["A", "a-b", "a b", "é", &"a".repeat(65), "a\0"] {
            assert_eq!(check_domain(domain), Err(DetError::InvalidDomain));
            assert_eq!(k.encrypt_json(domain, b"1"), Err(DetError::InvalidDomain));
        }
        assert!(check_domain(&"a".repeat(64)).is_ok());
        assert!(DeterministicKey::new(&[0u8; 32], 1).is_err());
    }

    #[test]
    fn parsing_and_versions() {
        assert_eq!(parse("det1_abc"), Some((1, "abc")));
        assert_eq!(parse("det12_a_b"), Some((12, "a_b")));
        assert_eq!(parse_shape("det01_x"), Some(("01", "x")));
        assert_eq!(parse_shape("det_x"), None);
        for bad in [
            "det_abc",
            "det01_abc",
            "det1_",
            "det1abc",
            "dét1_a",
            "det-1_a",
            "det99999999999_a",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        let k = key();
        let text = k.encrypt("", DetValue::Bool(true)).unwrap();
        let v2 = DeterministicKey::new(&[9u8; 64], 2).unwrap();
        assert_eq!(
            v2.decrypt("", &text),
            Err(DetError::WrongVersion {
                found: 1,
                expected: 2
            })
        );
        assert!(!is_well_formed("det1_AAAA"));
        assert_eq!(k.decrypt("", "det1_AAAA"), Err(DetError::Malformed));
        assert_eq!(k.decrypt("", &format!("{text}=")), Err(DetError::Malformed));
        let mut flipped = text.clone().into_bytes();
        let last = flipped.len() - 3;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            k.decrypt("", std::str::from_utf8(&flipped).unwrap()),
            Err(DetError::Unauthentic)
        );
        assert!(!format!("{:?}", k.decrypt("", &text)).contains("true"));
    }
}
