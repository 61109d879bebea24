//! The one place AWS clients are made: one SDK configuration for every
//! client (standard environment, endpoint, read timeout), a count of the
//! calls the SDK retried, and AWS errors as one line for people.

use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::retries::RequestAttempts;

/// How long an AWS call may go without its answer (headers) before the
/// attempt counts as timed out and is retried.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Attempts the SDK made again after a transient failure, process-wide.
static RETRIED_ATTEMPTS: AtomicU64 = AtomicU64::new(0);

/// The SDK configuration every client of a process shares, and the clients
/// made from it.
#[derive(Debug, Clone)]
pub struct Aws {
    config: SdkConfig,
    /// A custom endpoint is set: S3 is addressed path-style, as local
    /// S3-compatible services need.
    custom_endpoint: bool,
}

impl Aws {
    /// The standard AWS environment (credentials, region,
    /// `AWS_ENDPOINT_URL`), `endpoint_url` if given, and [`READ_TIMEOUT`].
    /// The SDK's standard retry mode retries throttling, 5xx answers,
    /// timeouts and lost connections with exponential backoff and jitter (3
    /// attempts); every client made here counts those retries in
    /// [`retried_attempts`].
    pub async fn load(endpoint_url: Option<&str>) -> Self {
        let mut loader = defaults();
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let defaults = loader.load().await;
        let mut timeouts = defaults
            .timeout_config()
            .cloned()
            .map_or_else(TimeoutConfig::builder, TimeoutConfig::into_builder);
        timeouts.set_read_timeout(Some(READ_TIMEOUT));
        let custom_endpoint = defaults.endpoint_url().is_some();
        Aws {
            config: defaults
                .into_builder()
                .timeout_config(timeouts.build())
                .build(),
            custom_endpoint,
        }
    }

    /// A given SDK configuration (a test's, say), with the same read
    /// timeout, and [`https_client`] if it has no HTTP client; S3 is
    /// addressed path-style when it sets an endpoint.
    pub fn from_config(config: &SdkConfig) -> Self {
        let mut timeouts = config
            .timeout_config()
            .cloned()
            .map_or_else(TimeoutConfig::builder, TimeoutConfig::into_builder);
        timeouts.set_read_timeout(Some(READ_TIMEOUT));
        let mut builder = config.clone().into_builder();
        if config.http_client().is_none() {
            builder.set_http_client(Some(https_client()));
        }
        Aws {
            custom_endpoint: config.endpoint_url().is_some(),
            config: builder.timeout_config(timeouts.build()).build(),
        }
    }

    /// The shared configuration, for clients of other services; add
    /// [`CountRetries`] to them.
    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    /// An S3 client (path-style with a custom endpoint).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(self.custom_endpoint)
            .interceptor(CountRetries)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// A KMS client.
    pub fn kms(&self) -> aws_sdk_kms::Client {
        let config = aws_sdk_kms::config::Builder::from(&self.config)
            .interceptor(CountRetries)
            .build();
        aws_sdk_kms::Client::from_conf(config)
    }

    /// A Secrets Manager client.
    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        let config = aws_sdk_secretsmanager::config::Builder::from(&self.config)
            .interceptor(CountRetries)
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }
}

/// The SDK's configuration loader (`aws_config::defaults`, latest
/// behaviour) with [`https_client`]: the SDK crates are built without a
/// default HTTP client, so every configuration starts here.
pub fn defaults() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https_client())
}

/// The HTTPS client of every AWS call: the SDK's hyper client with rustls,
/// ring as its crypto provider (instead of aws-lc-rs: smaller binaries and
/// a much shorter cross build) and the system's root certificates, as the
/// SDK's default client loads them.
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
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

/// An AWS SDK error in one line: the service's error code and message, or
/// the error and its causes (connection errors, timeouts); a missing
/// credentials failure as a short hint instead of the SDK's list of every
/// provider it tried. Never a debug dump of requests or responses.
pub fn error_line(err: &(impl ProvideErrorMetadata + Error + 'static)) -> String {
    if let Some(code) = err.code() {
        return format!("{code} {}", err.message().unwrap_or_default());
    }
    let text = DisplayErrorContext(err).to_string();
    if text.contains("no credentials found") || text.contains("CredentialsNotLoaded") {
        return "no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                AWS_PROFILE, or run with a role)"
            .to_owned();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
