//! US social security numbers: `AAA-GG-SSSS`.
//!
//! The area is not 000, 666 or 900–999, the group not 00, the serial not
//! 0000. The dashed form fires anywhere; an SSN-hinted column also accepts
//! spaces or dots as separators, the bare nine digits, and a JSON number of
//! seven or eight digits (an SSN whose leading zeros an integer column lost).

use super::scan::{Chain, Sep, MAX_WINDOW_DIGITS};

/// Whether some window of `chain` is an SSN.
pub(super) fn in_chain(chain: &Chain<'_>, hinted: bool, is_number: bool) -> bool {
    let groups = chain.groups();
    let mut buf = [0; MAX_WINDOW_DIGITS];
    if hinted && is_number && chain.zero_padded(9, &mut buf).is_some_and(is_ssn) {
        return true;
    }
    for k in 0..groups.len() {
        let shaped =
            k >= 2 && groups[k - 2].len() == 3 && groups[k - 1].len() == 2 && groups[k].len() == 4;
        if shaped {
            let sep = groups[k - 1].before;
            let allowed = sep == Sep::Dash || (hinted && matches!(sep, Sep::Space | Sep::Dot));
            if allowed
                && groups[k].before == sep
                && chain.clean_window(k - 2, k)
                && chain.digits(k - 2, k, &mut buf).is_some_and(is_ssn)
            {
                return true;
            }
        }
        if hinted
            && groups[k].len() == 9
            && chain.clean_window(k, k)
            && chain.digits(k, k, &mut buf).is_some_and(is_ssn)
        {
            return true;
        }
    }
    false
}

/// Whether nine digit values follow the area, group and serial rules.
pub(super) fn is_ssn(d: &[u8]) -> bool {
    let [a, b, c, g1, g2, s1, s2, s3, s4] = *d else {
        return false;
    };
    let area = u16::from(a) * 100 + u16::from(b) * 10 + u16::from(c);
    area != 0 && area != 666 && area < 900 && (g1, g2) != (0, 0) && (s1, s2, s3, s4) != (0, 0, 0, 0)
}
