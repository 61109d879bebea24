//! The masked view's actions on one protected value: `redact`, `partial`,
//! `token`, `null`, `generalize`. Each appends a JSON value to the output.

use crate::json::{self, Kind, Member};
use crate::keys::TokenKey;
use crate::policy::DatePrecision;

/// Appends the redaction string.
pub fn redact(with: &str, out: &mut Vec<u8>) {
    json::write_string(out, with);
}

/// Appends the value with all but its last `keep_last` characters replaced by
/// `*`. If the value is shorter than twice `keep_last`, nothing is kept:
/// showing most of a short value would give it away.
pub fn partial(member: &Member<'_>, keep_last: usize, out: &mut Vec<u8>) {
    let text = member.text();
    let count = text.chars().count();
    let keep = if count >= keep_last.saturating_mul(2) {
        keep_last
    } else {
        0
    };
    out.push(b'"');
    out.resize(out.len() + (count - keep), b'*');
    if keep > 0 {
        let start = text
            .char_indices()
            .nth(count - keep)
            .map_or(text.len(), |(i, _)| i);
        json::write_string_body(out, &text[start..]);
    }
    out.push(b'"');
}

/// Appends the keyed token of the value's text (a string's decoded content,
/// or a number's or boolean's literal), so `"42"` and `42` share a token, in
/// join domain `domain`.
pub fn token(member: &Member<'_>, key: &TokenKey, domain: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    key.write_token(domain, member.text().as_bytes(), out);
    out.push(b'"');
}

/// Appends only the year (`YYYY`) or year and month (`YYYY-MM`) of a value
/// that starts like an ISO date; anything else is redacted with `fallback`.
pub fn generalize(member: &Member<'_>, to: DatePrecision, fallback: &str, out: &mut Vec<u8>) {
    let text = member.text();
    let b = text.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let is_date =
        member.kind == Kind::String && digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7);
    if !is_date {
        redact(fallback, out);
        return;
    }
    let keep = match to {
        DatePrecision::Year => 4,
        DatePrecision::Month => 7,
    };
    json::write_string(out, &text[..keep]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(raw: &'static str) -> Member<'static> {
        let doc: &'static str = Box::leak(format!("{{\"v\":{raw}}}").into_boxed_str());
        json::parse_object(doc.as_bytes()).unwrap().remove(0)
    }

    fn run(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn partial_keeps_the_tail_of_long_values_only() {
        assert_eq!(
            run(|o| partial(&member(r#""4111111111111234""#), 4, o)),
            r#""************1234""#
        );
        assert_eq!(
            run(|o| partial(&member(r#""1234567""#), 4, o)),
            r#""*******""#
        );
        assert_eq!(
            run(|o| partial(&member(r#""ñandú-€€€€""#), 4, o)),
            r#""******€€€€""#
        );
        assert_eq!(run(|o| partial(&member("12345678"), 4, o)), r#""****5678""#);
    }

    #[test]
    fn generalize_keeps_year_or_month_of_dates() {
        let m = member(r#""1984-05-02""#);
        assert_eq!(
            run(|o| generalize(&m, DatePrecision::Year, "#", o)),
            r#""1984""#
        );
        assert_eq!(
            run(|o| generalize(&m, DatePrecision::Month, "#", o)),
            r#""1984-05""#
        );
        assert_eq!(
            run(|o| generalize(&member(r#""May 2""#), DatePrecision::Year, "#", o)),
            r##""#""##
        );
        assert_eq!(
            run(|o| generalize(&member("19840502"), DatePrecision::Year, "#", o)),
            r##""#""##
        );
    }

    #[test]
    fn tokens_ignore_json_escaping_and_type() {
        let key = TokenKey::new(&[1u8; 32], 1).unwrap();
        let a = run(|o| token(&member(r#""caf\u00e9""#), &key, "", o));
        let b = run(|o| token(&member(r#""café""#), &key, "", o));
        assert_eq!(a, b);
        assert_eq!(
            run(|o| token(&member("42"), &key, "", o)),
            run(|o| token(&member(r#""42""#), &key, "", o))
        );
    }
}
