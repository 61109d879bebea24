//! Payment card numbers (PANs): 13–19 digits, Luhn, issuer ranges.
//!
//! Accepted layouts: one run of digits (`4111111111111111`, also as a JSON
//! number) or groups of 3–6 digits joined by one kind of separator, a space
//! or a dash (`4111 1111 1111 1111`, `3782-822463-10005`). Outside a
//! card-hinted column the number must also fall in a known issuer range with
//! one of that issuer's lengths; inside one, Luhn alone suffices (private
//! label and test cards).

use super::scan::{Chain, Sep, MAX_WINDOW_DIGITS};

const MIN_LEN: usize = 13;
const MAX_LEN: usize = 19;

/// Whether some window of `chain` is a card number.
pub(super) fn in_chain(chain: &Chain<'_>, hinted: bool) -> bool {
    let groups = chain.groups();
    let mut buf = [0; MAX_WINDOW_DIGITS];
    for k in 0..groups.len() {
        let mut total = 0;
        let mut joint = None;
        for i in (0..=k).rev() {
            total += groups[i].len();
            if total > MAX_LEN {
                break;
            }
            if i < k {
                // A grouped number: groups of 3–6 digits, one kind of separator.
                let sep = groups[i + 1].before;
                let grouped = |len: usize| (3..=6).contains(&len);
                if !matches!(sep, Sep::Space | Sep::Dash)
                    || joint.is_some_and(|j| j != sep)
                    || !grouped(groups[i].len())
                    || !grouped(groups[k].len())
                {
                    break;
                }
                joint = Some(sep);
            }
            if total >= MIN_LEN && chain.clean_window(i, k) {
                if let Some(digits) = chain.digits(i, k, &mut buf) {
                    if is_card(digits, hinted) {
                        return true;
                    }
                }
            }
        }
    }
    false
}

/// Whether `digits` (values 0–9) pass Luhn and, unless `hinted`, an issuer
/// range and length.
pub(super) fn is_card(digits: &[u8], hinted: bool) -> bool {
    (MIN_LEN..=MAX_LEN).contains(&digits.len()) && luhn(digits) && (hinted || issuer(digits))
}

/// The Luhn (mod 10) check over digit values.
pub(super) fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(position, &d)| {
            let d = u32::from(d);
            if position % 2 == 1 {
                let doubled = d * 2;
                doubled - if doubled > 9 { 9 } else { 0 }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// A set of card lengths, one bit per length.
const fn lengths(from: u32, to: u32) -> u32 {
    let mut bits = 0;
    let mut len = from;
    while len <= to {
        bits |= 1 << len;
        len += 1;
    }
    bits
}

const L13_16_19: u32 = lengths(13, 13) | lengths(16, 16) | lengths(19, 19);
const L14_19: u32 = lengths(14, 19);
const L13_19: u32 = lengths(13, 19);
const L15: u32 = lengths(15, 15);
const L16: u32 = lengths(16, 16);
const L16_19: u32 = lengths(16, 19);

/// Issuer identification ranges (first six digits, inclusive) and the card
/// lengths each issuer uses.
const ISSUERS: [(u32, u32, u32); 22] = [
    (400_000, 499_999, L13_16_19), // Visa (incl. Electron)
    (510_000, 559_999, L16),       // Mastercard
    (222_100, 272_099, L16),       // Mastercard 2-series
    (340_000, 349_999, L15),       // American Express
    (370_000, 379_999, L15),       // American Express
    (601_100, 601_199, L16_19),    // Discover
    (644_000, 659_999, L16_19),    // Discover, RuPay 6521–6522, Verve 6500
    (620_000, 629_999, L16_19),    // UnionPay (incl. Discover co-brand 622126–622925)
    (810_000, 829_999, L16_19),    // UnionPay 81, RuPay 81–82
    (352_800, 358_999, L16_19),    // JCB
    (300_000, 305_999, L14_19),    // Diners Club
    (309_500, 309_599, L14_19),    // Diners Club
    (360_000, 369_999, L14_19),    // Diners Club International
    (380_000, 399_999, L16_19),    // Diners Club
    (500_000, 509_999, L13_19),    // Maestro, Verve 5060–5061
    (560_000, 589_999, L13_19),    // Maestro
    (630_400, 630_499, L13_19),    // Maestro (Laser)
    (675_900, 675_999, L13_19),    // Maestro UK
    (676_100, 676_399, L13_19),    // Maestro
    (220_000, 220_499, L16_19),    // Mir
    (600_000, 609_999, L16),       // RuPay
    (979_200, 979_299, L16),       // Troy
];

/// Whether the number's first six digits and length match an issuer.
fn issuer(digits: &[u8]) -> bool {
    let iin = digits[..6].iter().fold(0u32, |n, &d| n * 10 + u32::from(d));
    let len_bit = 1u32 << digits.len();
    ISSUERS
        .iter()
        .any(|&(low, high, lens)| (low..=high).contains(&iin) && lens & len_bit != 0)
}
