//! `cdc-mask-lambda`: the Firehose data-transformation Lambda.
//!
//! Configured by environment (see `cdc_mask_transformer::settings`). A
//! configuration that cannot work fails the init with one line naming the
//! setting; after that every event is answered record by record, and what
//! cannot be protected is sealed into the quarantine.

use cdc_mask_transformer::lambda::{self, EventSlot, ReadFirstLayer};
use cdc_mask_transformer::settings::SettingsBuilder;
use lambda_runtime::layers::TracingLayer;
use lambda_runtime::{service_fn, Error, LambdaEvent, Runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init_logging();
    if let Err(e) = cdc_mask_transformer::cpu::check() {
        lambda::exit_at_init(&e);
    }
    let settings = SettingsBuilder::from_env(|name| std::env::var(name).ok()).build();
    let processor = match settings {
        Ok(settings) => settings.processor().await,
        Err(e) => Err(e),
    };
    let processor = match processor {
        Ok(processor) => processor,
        Err(e) => lambda::exit_at_init(&e),
    };
    let processor = &processor;
    let slot = EventSlot::default();
    let handler = service_fn(|event: LambdaEvent<_>| lambda::handle(processor, &slot, event));
    // What `lambda_runtime::run` builds, with the event read first.
    Runtime::new(handler)
        .layer(ReadFirstLayer(slot.clone()))
        .layer(TracingLayer::new())
        .run()
        .await
}
