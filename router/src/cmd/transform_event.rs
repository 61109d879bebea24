//! `cdc-mask transform-event`: the Lambda's code path on a local event.

use std::io::Write as _;
use std::time::Instant;

use anyhow::Context as _;
use cdc_mask_core::ViewMode;
use cdc_mask_transformer::config::Settings;
use cdc_mask_transformer::policy_source::PolicyLocation;

use crate::cli::TransformEventArgs;
use crate::keys::key_source;

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
    let policy = PolicyLocation::parse(&args.policy)
        .map_err(anyhow::Error::msg)
        .context("--policy")?;
    if let PolicyLocation::File(path) = &policy {
        super::ensure_file(path, "policy")?;
    }
    let mut settings = Settings::new(view, policy, key_source(&args.keys)?);
    settings.shape = args
        .shape
        .parse()
        .map_err(anyhow::Error::msg)
        .context("--shape")?;
    settings.token_key_version = args.keys.token_key_version;
    settings.endpoint_url.clone_from(&args.keys.endpoint_url);
    let processor = settings.build().await?;
    let event = super::read_input(args.event.as_deref())?;
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
