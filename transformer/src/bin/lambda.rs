//! `cdc-mask-lambda`: the Firehose data-transformation Lambda.
//!
//! Configured by environment (see `cdc_mask_transformer::config::env`). Bad
//! configuration fails the init with one line; each invocation answers every
//! record or fails as a whole so that Firehose retries it.

use std::sync::Arc;

use cdc_mask_transformer::config::Settings;
use cdc_mask_transformer::Processor;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::value::RawValue;

#[tokio::main]
async fn main() -> Result<(), Error> {
    cdc_mask_transformer::lambda_logging::init();
    let settings = Settings::from_env(|name| std::env::var(name).ok())?;
    let processor = Arc::new(settings.build().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let processor = Arc::clone(&processor);
        async move { handle(&processor, event).await }
    }))
    .await
}

async fn handle(
    processor: &Processor,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Box<RawValue>, Error> {
    let started = std::time::Instant::now();
    let result = processor.process(event.payload.get().as_bytes()).await?;
    let stats = &result.stats;
    tracing::info!(
        request_id = %event.context.request_id,
        view = result.view.as_str(),
        records = stats.records,
        rows = stats.rows,
        dropped_control = stats.dropped_control,
        quarantined = stats.quarantined_total(),
        failed_response_full = stats.failed_response_full,
        failed_policy_stale = stats.failed_policy_stale,
        bytes_in = stats.bytes_in,
        bytes_out = stats.bytes_out,
        millis = started.elapsed().as_millis(),
        "batch done"
    );
    // The response is JSON we wrote; handing it over raw avoids a re-parse.
    let response = String::from_utf8(result.response)?;
    Ok(RawValue::from_string(response)?)
}
