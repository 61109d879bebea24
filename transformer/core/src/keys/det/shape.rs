//! The syntax of a deterministic value (`det<N>_<base64url>`): what
//! readers treat as one, what is complete, and the join domain's.

use super::*;

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

pub(super) fn decode_body(body: &str) -> Option<Vec<u8>> {
    let sealed = URL_SAFE_NO_PAD.decode(body).ok()?;
    (sealed.len() > SIV_LEN).then_some(sealed)
}

/// A join domain: `""` (the default) or `[a-z0-9_]{1,64}`, so it can never
/// contain the 0x00 that separates it from the value in token input.
///
/// # Errors
/// [`DetError::InvalidDomain`].
pub fn check_domain(domain: &str) -> Result<(), DetError> {
    crate::keys::check_domain(domain).map_err(|_| DetError::InvalidDomain)
}
