//! Phone numbers: E.164 and national formats, NANP at least.
//!
//! Strong forms, anywhere:
//! - E.164: `+`, an assigned country code, 8–15 digits in all (the whole
//!   chain, or the first eleven digits of a `+1` number), in groups
//!   joined by spaces, dashes, dots, slashes or parentheses
//!   (`+44 20 7946 0958`, `+1 (415) 555-2671`); country code 1 must be
//!   followed by a valid NANP number, 7 by ten digits.
//! - NANP with separators: `(415) 555-2671`, `415-555-2671`, `415.555.2671`,
//!   `415 555 2671`, optionally after `1 `/`1-`; area code `[2-9][0-8]X` not
//!   `N11`, exchange `[2-9]XX` not `N11`.
//!
//! In a phone-hinted column, also the weak forms: a whole chain of 7–15
//! digits (`4155552671`, `020 7946 0958`, `06 12 34 56 78`) that is not
//! shaped like a date.

use super::scan::{Chain, Sep, MAX_WINDOW_DIGITS};

/// The fewest digits of a number that fires in a phone-hinted column.
const MIN_DIGITS_HINTED: usize = 7;
const MAX_DIGITS: usize = 15;
const MIN_E164_DIGITS: usize = 8;

/// Whether `chain` holds a phone number.
pub(super) fn in_chain(chain: &Chain<'_>, hinted: bool) -> bool {
    international(chain) || national(chain) || (hinted && hinted_whole(chain))
}

/// `+` and an E.164 number, starting at the chain's first group.
fn international(chain: &Chain<'_>) -> bool {
    let groups = chain.groups();
    // Only the real first group of a chain can follow a `+`.
    if groups[0].before != Sep::Plus {
        return false;
    }
    let mut buf = [0; MAX_WINDOW_DIGITS];
    let last = groups.len() - 1;
    let mut total = 0;
    for (k, group) in groups.iter().enumerate() {
        total += group.len();
        if total > MAX_DIGITS {
            return false;
        }
        if total < MIN_E164_DIGITS || !chain.clean_window(0, k) {
            continue;
        }
        let Some(digits) = chain.digits(0, k, &mut buf) else {
            return false;
        };
        // The number is the whole chain, except that a +1 number is exactly
        // eleven digits and may be followed by more (`+1 415 555 2671 5 times`).
        let complete = k == last && chain.is_whole();
        let nanp = digits.len() == 11 && digits[0] == 1;
        if (complete || nanp) && is_e164(digits) {
            return true;
        }
    }
    false
}

/// A NANP number written with separators, optionally after a `1`.
fn national(chain: &Chain<'_>) -> bool {
    let groups = chain.groups();
    let mut buf = [0; MAX_WINDOW_DIGITS];
    for c in 2..groups.len() {
        let (a, b) = (c - 2, c - 1);
        if (groups[a].len(), groups[b].len(), groups[c].len()) != (3, 3, 4) {
            continue;
        }
        let plain = |sep: Sep| matches!(sep, Sep::Space | Sep::Dash | Sep::Dot);
        let form = plain(groups[c].before)
            && (plain(groups[b].before)
                || (groups[b].before == Sep::Close && groups[a].before == Sep::Open));
        if !form || !chain.digits(a, c, &mut buf).is_some_and(is_nanp) {
            continue;
        }
        if chain.clean_window(a, c) {
            return true;
        }
        // `1-415-555-2671`, `1 (415) 555-2671`: the trunk prefix joins.
        let trunk = a >= 1
            && chain.digits(a - 1, a - 1, &mut buf) == Some(&[1][..])
            && (plain(groups[a].before) || groups[a].before == Sep::Open);
        if trunk && chain.clean_window(a - 1, c) {
            return true;
        }
    }
    false
}

/// In a hinted column: the whole chain is a plausible number of any country.
fn hinted_whole(chain: &Chain<'_>) -> bool {
    let groups = chain.groups();
    let last = groups.len() - 1;
    if !chain.is_whole() || !chain.clean_window(0, last) || looks_like_date(chain) {
        return false;
    }
    let total: usize = groups.iter().map(|g| g.len()).sum();
    (MIN_DIGITS_HINTED..=MAX_DIGITS).contains(&total)
}

/// `2026-11-28`, `28.11.2026`, `11/28/2026`: dates, not phone numbers.
fn looks_like_date(chain: &Chain<'_>) -> bool {
    let groups = chain.groups();
    if groups.len() < 3 {
        return false;
    }
    let sep = groups[1].before;
    let lens = (groups[0].len(), groups[1].len(), groups[2].len());
    matches!(sep, Sep::Dash | Sep::Dot | Sep::Slash)
        && groups[2].before == sep
        && matches!(
            lens,
            (4, 2, 2) | (2, 2, 4) | (1 | 2, 1 | 2, 4) | (4, 1 | 2, 1 | 2)
        )
}

/// Whether ten digit values are a NANP number (area code, exchange, line).
pub(super) fn is_nanp(d: &[u8]) -> bool {
    let [a1, a2, a3, e1, e2, e3, _, _, _, _] = *d else {
        return false;
    };
    // Area codes with a middle 9 are reserved; N11 codes are service codes.
    let area = a1 >= 2 && a2 != 9 && (a2, a3) != (1, 1);
    let exchange = e1 >= 2 && (e2, e3) != (1, 1);
    area && exchange
}

/// Whether digit values (country code first) are a plausible E.164 number.
pub(super) fn is_e164(d: &[u8]) -> bool {
    if !(MIN_E164_DIGITS..=MAX_DIGITS).contains(&d.len()) {
        return false;
    }
    match country_code_len(d) {
        Some(1) if d[0] == 1 => d.len() == 11 && is_nanp(&d[1..]),
        Some(1) => d.len() == 11,
        Some(len) => d.len() - len >= 4,
        None => false,
    }
}

/// Two-digit ITU-T E.164 country codes.
const CC2: &[u8] = &[
    20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56,
    57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
];

/// Three-digit ITU-T E.164 country codes (and international networks).
const CC3: &[u16] = &[
    211, 212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233,
    234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252,
    253, 254, 255, 256, 257, 258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297,
    298, 299, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376,
    377, 378, 379, 380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502, 503, 504,
    505, 506, 507, 508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674,
    675, 676, 677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 800, 808,
    850, 852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888, 960, 961, 962, 963, 964, 965,
    966, 967, 968, 970, 971, 972, 973, 974, 975, 976, 977, 979, 992, 993, 994, 995, 996, 998,
];

/// Length of the country code that `d` starts with, if it is assigned.
/// E.164 country codes are prefix-free, so at most one length fits.
fn country_code_len(d: &[u8]) -> Option<usize> {
    let two = d[0] * 10 + d[1];
    let three = u16::from(two) * 10 + u16::from(d[2]);
    if d[0] == 1 || d[0] == 7 {
        Some(1)
    } else if CC2.contains(&two) {
        Some(2)
    } else if CC3.contains(&three) {
        Some(3)
    } else {
        None
    }
}
