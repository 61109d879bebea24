//! AWS SDK errors as one line for people.

use std::error::Error;

use aws_sdk_s3::error::DisplayErrorContext;

/// The error and its causes on one line; a missing-credentials failure as a
/// short hint instead of the SDK's list of every provider it tried.
pub fn error_line<E: Error>(err: &E) -> String {
    let text = DisplayErrorContext(err).to_string();
    if text.contains("no credentials found") || text.contains("CredentialsNotLoaded") {
        return "no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                AWS_PROFILE, or run with a role)"
            .to_owned();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line() {
        let e = std::io::Error::other("first\n  second");
        assert_eq!(error_line(&e), "first second");
    }
}
