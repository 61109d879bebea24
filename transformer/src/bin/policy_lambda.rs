//! `cdc-mask-policy-lambda`: recompiles the policy from every Macie finding
//! in S3 and writes it only when it changed.
//!
//! Configured by environment (see
//! `cdc_mask_transformer::policy_compiler::env`). Any event triggers a full
//! recompile — an S3 notification, an EventBridge "Object Created" event, a
//! schedule — and the event itself is never read or logged. The answer is
//! the counts of what was read and changed; a finding that cannot be used
//! fails the invocation with its object key and line, and the policy stays
//! as it was.

use cdc_mask_transformer::aws::Aws;
use cdc_mask_transformer::findings_store::S3Store;
use cdc_mask_transformer::policy_compiler::{recompile, CompilerConfig, Recompiled};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::value::RawValue;

#[tokio::main]
async fn main() -> Result<(), Error> {
    cdc_mask_transformer::lambda::init_logging();
    let config = CompilerConfig::from_env(|name| std::env::var(name).ok())
        .unwrap_or_else(|e| cdc_mask_transformer::lambda::exit_at_init(&e));
    let store = S3Store::new(Aws::load(None).await.s3());
    let (config, store) = (&config, &store);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        handle(store, config, event.context.request_id)
    }))
    .await
}

async fn handle(
    store: &S3Store,
    config: &CompilerConfig,
    request_id: String,
) -> Result<Recompiled, Error> {
    let started = std::time::Instant::now();
    match recompile(store, config).await {
        Ok(done) => {
            tracing::info!(
                request_id = %request_id,
                objects = done.objects,
                findings = done.findings,
                warnings = done.warnings,
                tables = done.tables,
                columns = done.columns,
                written = done.written,
                added = done.added,
                removed = done.removed,
                changed = done.changed,
                millis = started.elapsed().as_millis(),
                "{}",
                if done.written {
                    "policy written"
                } else {
                    "policy unchanged"
                }
            );
            Ok(done)
        }
        Err(e) => {
            tracing::error!(request_id = %request_id, error = %e, "policy not compiled");
            Err(e.into())
        }
    }
}
