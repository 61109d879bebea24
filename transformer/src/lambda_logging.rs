//! Logging of the Lambda binaries: plain lines at INFO, no timestamps
//! (CloudWatch adds them).

/// Logs at INFO (`RUST_LOG` for more). `lambda_runtime` would log whole
/// events (PII) at TRACE, so its targets are capped at INFO whatever
/// `RUST_LOG` says.
pub fn init() {
    use tracing_subscriber::filter::{EnvFilter, LevelFilter};
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env_lossy()
        .add_directive("lambda_runtime=info".parse().expect("static directive"))
        .add_directive(
            "lambda_runtime_api_client=info"
                .parse()
                .expect("static directive"),
        );
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .init();
}
