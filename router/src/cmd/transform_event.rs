//! `cdc-mask transform-event`: the Lambda's code path on a local event.

use std::io::Write as _;
use std::time::Instant;

use anyhow::Context as _;
use cdc_mask_transformer::settings::Setting;
use cdc_mask_transformer::Processor;

use super::shared;
use crate::cli::TransformEventArgs;

pub(super) async fn run(args: TransformEventArgs) -> anyhow::Result<()> {
    let settings = shared::settings_with(
        &args.view,
        &args.transform.policy,
        &args.transform.shape,
        &args.transform.keys,
        &[
            (Setting::Destination, args.destination.as_deref()),
            (
                Setting::IcebergDatabaseMasked,
                args.iceberg_database_masked.as_deref(),
            ),
            (
                Setting::IcebergDatabaseEncrypted,
                args.iceberg_database_encrypted.as_deref(),
            ),
        ],
    )?;
    let processor = Processor::new(
        crate::settings::load(&settings).await?,
        settings.view,
        settings.destination.clone(),
    );
    let event = shared::read_input(args.event.as_deref())?;
    let started = Instant::now();
    let result = processor.process(&event).await?;
    let seconds = started.elapsed().as_secs_f64();
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&result.response)
        .context("writing the response")?;
    stdout.write_all(b"\n").context("writing the response")?;
    stdout.flush().context("writing the response")?;
    if let Some(path) = &args.guard_report {
        let mut lines = Vec::new();
        result.stats.guard.write_json_lines(&mut lines);
        std::fs::write(path, lines).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.stats {
        let records = result.stats.records;
        // Precision loss is irrelevant for a rate.
        #[allow(clippy::cast_precision_loss)]
        let rate = if seconds > 0.0 {
            records as f64 / seconds
        } else {
            0.0
        };
        // The write path calls no key service: data keys are wrapped to a
        // public key loaded at start.
        eprintln!("records={records} seconds={seconds:.6} records_per_s={rate:.0} kms_calls=0");
    }
    Ok(())
}
