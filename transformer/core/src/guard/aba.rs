//! ABA routing transit numbers: nine digits, hinted columns only.
//!
//! Nine-digit ids are everywhere and one in ten passes the checksum, so this
//! detector runs only where the column name says routing (`routing_number`,
//! `aba`, `rtn`). The first two digits must be a Federal Reserve routing
//! symbol (01–12, 21–32, 61–72, 80; 00, the US government's, is left out
//! so that `000000000` does not pass) and the 3-7-1 weighted sum a multiple
//! of ten. A JSON number of eight digits is read with its leading zero back
//! (`021000021` kept in an integer column arrives as `21000021`).

use super::scan::{Chain, MAX_WINDOW_DIGITS};

/// Whether some lone nine-digit group of `chain` is a routing number.
pub(super) fn in_chain(chain: &Chain<'_>, is_number: bool) -> bool {
    let mut buf = [0; MAX_WINDOW_DIGITS];
    if is_number && chain.zero_padded(9, &mut buf).is_some_and(is_routing) {
        return true;
    }
    chain.groups().iter().enumerate().any(|(k, group)| {
        group.len() == 9
            && chain.clean_window(k, k)
            && chain.digits(k, k, &mut buf).is_some_and(is_routing)
    })
}

/// Whether nine digit values form a valid routing number.
pub(super) fn is_routing(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let prefix = d[0] * 10 + d[1];
    let symbol = matches!(prefix, 1..=12 | 21..=32 | 61..=72 | 80);
    let sum: u32 = d
        .iter()
        .zip([3, 7, 1].iter().cycle())
        .map(|(&digit, &weight)| u32::from(digit) * weight)
        .sum();
    symbol && sum % 10 == 0
}
