//! `cdc-mask transform-event`: the Lambda's code path on a local event.

use std::io::Write as _;
use std::time::Instant;

use anyhow::Context as _;
use cdc_mask_core::ViewMode;

use super::shared;
use crate::cli::TransformEventArgs;

pub(super) async fn run(args: TransformEventArgs) -> anyhow::Result<()> {
    let view = match args.view.as_str() {
        "auto" => ViewMode::Auto,
        other => ViewMode::Fixed(
            other
                .parse()
                .map_err(anyhow::Error::msg)
                .context("--view")?,
        ),
    };
    let settings = shared::settings(view, &args.policy, &args.shape, &args.keys)?;
    let processor = settings.build().await?;
    let event = shared::read_input(args.event.as_deref())?;
    let calls_before = processor.key_service_calls();
    let started = Instant::now();
    let result = processor.process(&event).await?;
    let seconds = started.elapsed().as_secs_f64();
    let kms_calls = processor.key_service_calls() - calls_before;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&result.response)
        .context("writing the response")?;
    stdout.write_all(b"\n").context("writing the response")?;
    stdout.flush().context("writing the response")?;
    if args.stats {
        let records = result.stats.records;
        // Precision loss is irrelevant for a rate.
        #[allow(clippy::cast_precision_loss)]
        let rate = if seconds > 0.0 {
            records as f64 / seconds
        } else {
            0.0
        };
        eprintln!(
            "records={records} seconds={seconds:.6} records_per_s={rate:.0} kms_calls={kms_calls}"
        );
    }
    Ok(())
}
