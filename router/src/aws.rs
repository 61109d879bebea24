//! Helpers for AWS calls: errors as one line for people, retry waits.

use std::error::Error;
use std::time::Duration;

/// The error and its causes on one line (their messages only: no debug
/// dump of requests or responses); a missing-credentials failure as a short
/// hint instead of the SDK's list of every provider it tried.
pub fn error_line<E: Error>(err: &E) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    if text.contains("no credentials found") || text.contains("CredentialsNotLoaded") {
        return "no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                AWS_PROFILE, or run with a role)"
            .to_owned();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A random wait in `[0, ceiling]` (full jitter), for retries.
pub fn jitter(ceiling: Duration) -> Duration {
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::random_range(0..=millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line() {
        let e = std::io::Error::other("first\n  second");
        assert_eq!(error_line(&e), "first second");
    }

    #[test]
    fn jitter_stays_under_the_ceiling() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_millis(50)) <= Duration::from_millis(50));
        }
    }
}
