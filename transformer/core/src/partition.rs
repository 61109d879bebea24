//! Partition values: the `schema`, `table`, `view` and `dt` keys that Firehose
//! dynamic partitioning puts into S3 prefixes and the router into paths.
//! Schema and table names come from the input, so they are encoded to be safe
//! as a path segment whatever they hold.

use std::borrow::Cow;

/// Partition value used when a name or date is missing.
pub const UNKNOWN: &str = "unknown";

/// Percent-encodes every byte outside `[A-Za-z0-9_-]` (so `.`, `/`, spaces and
/// non-ASCII cannot form `..` or extra path levels); an empty name becomes
/// `unknown`. Common names pass unchanged and unallocated.
pub fn segment(name: &str) -> Cow<'_, str> {
    if name.is_empty() {
        return Cow::Borrowed(UNKNOWN);
    }
    let safe = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-';
    if name.as_bytes().iter().all(safe) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() * 3);
    for b in name.as_bytes() {
        if safe(b) {
            out.push(char::from(*b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Cow::Owned(out)
}

/// `YYYY-MM-DD` (UTC) of a Unix time in milliseconds.
pub fn date_from_millis(millis: i64) -> String {
    let days = millis.div_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Proleptic Gregorian `(year, month, day)` of `days` since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_path_safe() {
        assert_eq!(segment("customer"), "customer");
        assert_eq!(segment("Order Details"), "Order%20Details");
        assert_eq!(segment("../etc"), "%2E%2E%2Fetc");
        assert_eq!(segment("é"), "%C3%A9");
        assert_eq!(segment(""), UNKNOWN);
    }

    #[test]
    fn dates_from_millis() {
        assert_eq!(date_from_millis(0), "1970-01-01");
        assert_eq!(date_from_millis(1_764_288_000_000), "2025-11-28");
        assert_eq!(date_from_millis(951_782_400_000), "2000-02-29");
        assert_eq!(date_from_millis(-1), "1969-12-31");
    }
}
