//! E-mail addresses, alone or inside free text.
//!
//! Around each `@`: the local part is the run of dot-atom characters before
//! it (at most 64 bytes, leading dots dropped as sentence punctuation; no
//! empty atom inside or at its end), the domain the run of label characters
//! after it (trailing dots dropped). The domain needs two or more labels of
//! 1–63 characters that neither start nor end with `-`, and a top-level
//! label of two or more letters (or an IDN: `xn--…` or non-ASCII). Non-ASCII
//! bytes count as atom and label characters (internationalised addresses).

use memchr::memchr_iter;

const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;
const MAX_LABEL: usize = 63;

/// Whether `text` contains an e-mail address.
pub(super) fn contains(text: &[u8]) -> bool {
    memchr_iter(b'@', text).any(|at| is_address_at(text, at))
}

/// Whether the `@` at `at` joins a valid local part and domain.
fn is_address_at(text: &[u8], at: usize) -> bool {
    let mut start = at;
    while start > 0 && at - start < MAX_LOCAL && is_atext(text[start - 1]) {
        start -= 1;
    }
    let mut end = at + 1;
    while end < text.len() && end - at <= MAX_DOMAIN && is_label_char(text[end]) {
        end += 1;
    }
    local_part_ok(&text[start..at]) && domain_ok(&text[at + 1..end])
}

/// RFC 5322 `atext` plus `.`, and any non-ASCII byte.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80 || b"!#$%&'*+-/=?^_`{|}~.".contains(&b)
}

fn is_label_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b >= 0x80
}

fn local_part_ok(local: &[u8]) -> bool {
    let first = local.iter().position(|&b| b != b'.').unwrap_or(local.len());
    let local = &local[first..];
    !local.is_empty() && local.split(|&b| b == b'.').all(|atom| !atom.is_empty())
}

fn domain_ok(domain: &[u8]) -> bool {
    let last = domain.iter().rposition(|&b| b != b'.').map_or(0, |p| p + 1);
    let domain = &domain[..last];
    let mut labels = 0;
    let mut tld: &[u8] = &[];
    for label in domain.split(|&b| b == b'.') {
        let edge_ok = |b: Option<&u8>| b.is_some_and(|&b| b != b'-');
        if label.len() > MAX_LABEL || !edge_ok(label.first()) || !edge_ok(label.last()) {
            return false;
        }
        labels += 1;
        tld = label;
    }
    let tld_ok = tld.len() >= 2
        && (tld.iter().all(|b| b.is_ascii_alphabetic())
            || tld.starts_with(b"xn--")
            || tld.iter().any(|&b| b >= 0x80) && !tld.iter().any(u8::is_ascii_digit));
    labels >= 2 && tld_ok
}
