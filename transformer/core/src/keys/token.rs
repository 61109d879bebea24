//! The token key: HMAC-SHA-256 keyed tokens, deterministic so that joins and
//! distinct counts work on the masked view, versioned so the key can rotate
//! without silently breaking them, and separated by join domain: the HMAC
//! input is the value itself in the default domain `""` (the tokens of
//! format version 1, so existing joins keep working) and
//! `domain ‖ 0x00 ‖ value` in a named one.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Shortest token key accepted (RFC 2104: not shorter than the hash output).
pub const MIN_TOKEN_KEY_LEN: usize = 32;

/// Longest join domain.
const MAX_DOMAIN_LEN: usize = 64;

/// A join domain that is neither empty (the default) nor `[a-z0-9_]{1,64}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("join domain must match [a-z0-9_]{{1,64}}")]
pub struct InvalidDomain;

/// Checks a join domain: `""` (the default domain) or `[a-z0-9_]{1,64}`,
/// which can hold no 0x00, so that `domain ‖ 0x00 ‖ value` is unambiguous.
///
/// # Errors
/// [`InvalidDomain`].
pub fn check_domain(domain: &str) -> Result<(), InvalidDomain> {
    let ok = domain.len() <= MAX_DOMAIN_LEN
        && domain
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(InvalidDomain)
    }
}

/// A keyed HMAC-SHA-256 ready to make tokens.
#[derive(Clone)]
pub struct TokenKey {
    /// Keyed once; each token clones the precomputed inner and outer states.
    mac: Hmac<Sha256>,
    prefix: String,
}

/// A token key that is too short.
#[derive(Debug, thiserror::Error)]
#[error("token key must be at least {MIN_TOKEN_KEY_LEN} bytes")]
pub struct ShortTokenKey;

impl TokenKey {
    /// A token key of version `version` (written into every token as
    /// `tok<version>_`).
    ///
    /// # Errors
    /// [`ShortTokenKey`] if `key` is shorter than 32 bytes.
    pub fn new(key: &[u8], version: u32) -> Result<Self, ShortTokenKey> {
        if key.len() < MIN_TOKEN_KEY_LEN {
            return Err(ShortTokenKey);
        }
        let mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| ShortTokenKey)?;
        Ok(TokenKey {
            mac,
            prefix: format!("tok{version}_"),
        })
    }

    /// Appends the token of `value` in join domain `domain` (checked by
    /// [`check_domain`] when the policy loads) to `out`, without quotes:
    /// `tok<version>_` + base64url (no padding) of HMAC-SHA-256(key, input).
    pub fn write_token(&self, domain: &str, value: &[u8], out: &mut Vec<u8>) {
        let mut mac = self.mac.clone();
        if !domain.is_empty() {
            mac.update(domain.as_bytes());
            mac.update(&[0]);
        }
        mac.update(value);
        let digest = mac.finalize().into_bytes();
        out.extend_from_slice(self.prefix.as_bytes());
        // URL-safe, unpadded: the same text as the `base64` crate's, faster.
        base64_simd::URL_SAFE_NO_PAD.encode_append(digest, out);
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKey")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    use super::*;

    #[test]
    fn tokens_are_keyed_deterministic_and_versioned() {
        let key = TokenKey::new(&[7u8; 32], 1).unwrap();
        let token = |k: &TokenKey, v: &[u8]| {
            let mut out = Vec::new();
            k.write_token("", v, &mut out);
            String::from_utf8(out).unwrap()
        };
        let a = token(&key, b"alice@example.com");
        assert_eq!(a, token(&key, b"alice@example.com"));
        assert!(a.starts_with("tok1_"));
        assert_eq!(a.len(), 5 + 43);
        assert_ne!(a, token(&key, b"bob@example.com"));
        let other = TokenKey::new(&[8u8; 32], 2).unwrap();
        assert!(token(&other, b"alice@example.com").starts_with("tok2_"));
        assert_ne!(a[5..], token(&other, b"alice@example.com")[5..]);
        assert!(TokenKey::new(&[0u8; 31], 1).is_err());
        // RFC 4231 test case 2 would need a short key; check against a direct HMAC instead.
        let mut mac = Hmac::<Sha256>::new_from_slice(&[7u8; 32]).unwrap();
        mac.update(b"alice@example.com");
        assert_eq!(a[5..], URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
        for n in 0u16..512 {
            let value = n.to_le_bytes().repeat(usize::from(n % 40));
            let mut mac = Hmac::<Sha256>::new_from_slice(&[7u8; 32]).unwrap();
            mac.update(&value);
            let expected = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
            assert_eq!(
                token(&key, &value)[5..],
                expected,
                "the base64 crate's text"
            );
        }
    }

    #[test]
    fn domains_separate_tokens() {
        let key = TokenKey::new(&[7u8; 32], 1).unwrap();
        let token = |domain: &str, v: &[u8]| {
            let mut out = Vec::new();
            key.write_token(domain, v, &mut out);
            String::from_utf8(out).unwrap()
        };
        let plain = token("", b"a@b.c");
        assert_ne!(plain, token("customer_email", b"a@b.c"));
        assert_ne!(token("x", b"a@b.c"), token("y", b"a@b.c"));
        assert_eq!(token("x", b"a@b.c"), token("x", b"a@b.c"));
        let mut mac = Hmac::<Sha256>::new_from_slice(&[7u8; 32]).unwrap();
        mac.update(b"customer_email\0a@b.c");
        assert_eq!(
            token("customer_email", b"a@b.c")[5..],
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        assert!(check_domain("").is_ok() && check_domain(&"a".repeat(64)).is_ok());
        for bad in ["D", "a-b", "a\0b", &"a".repeat(65)] {
            assert!(check_domain(bad).is_err(), "{bad}");
        }
    }
}
