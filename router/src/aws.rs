//! Helpers for AWS calls: one SDK configuration for every client (standard
//! environment, endpoint, read timeout), a count of the calls the SDK
//! retried, errors as one line for people, retry waits.

use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use aws_sdk_kinesis::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_kinesis::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::retries::RequestAttempts;

/// How long an AWS call may go without its answer (headers) before the
/// attempt counts as timed out and is retried.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Attempts the SDK made again after a transient failure, process-wide.
static RETRIED_ATTEMPTS: AtomicU64 = AtomicU64::new(0);

/// The SDK configuration every client of a run shares: the standard AWS
/// environment (credentials, region, `AWS_ENDPOINT_URL`), `endpoint_url` if
/// given, and [`READ_TIMEOUT`]. The SDK's standard retry mode retries
/// throttling, 5xx answers, timeouts and lost connections with exponential
/// backoff and jitter (3 attempts); every client built with
/// [`CountRetries`] counts those retries in [`retried_attempts`].
pub async fn sdk_config(endpoint_url: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let defaults = loader.load().await;
    let mut timeouts = defaults
        .timeout_config()
        .cloned()
        .map_or_else(TimeoutConfig::builder, TimeoutConfig::into_builder);
    timeouts.set_read_timeout(Some(READ_TIMEOUT));
    defaults
        .into_builder()
        .timeout_config(timeouts.build())
        .build()
}

/// Attempts the SDK retried so far (all clients, all calls).
pub fn retried_attempts() -> u64 {
    RETRIED_ATTEMPTS.load(Ordering::Relaxed)
}

/// The summary line of [`retried_attempts`].
pub fn retry_report() -> (&'static str, String) {
    (
        "AWS calls retried (throttling, 5xx, timeouts)",
        retried_attempts().to_string(),
    )
}

/// An interceptor that counts every attempt after a call's first: the
/// retries the SDK made on its own after a transient failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountRetries;

impl Intercept for CountRetries {
    fn name(&self) -> &'static str {
        "CountRetries"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg
            .load::<RequestAttempts>()
            .is_some_and(|attempts| attempts.attempts() > 1)
        {
            RETRIED_ATTEMPTS.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

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
