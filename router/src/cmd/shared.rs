//! Arguments several subcommands share, mapped to what they mean: the
//! transformer's settings, the output half of a plan, input files.

use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;
use cdc_mask_transformer::policy_source::PolicyLocation;
use cdc_mask_transformer::settings::{Setting, Settings};

use crate::batcher::Flush;
use crate::cli::{KeyArgs, OutputArgs};
use crate::plan::OutputPlan;
use crate::sink::OutputSpec;

/// `--sink`, `--side-sink`, the transformer's settings and batching, as
/// `run` and `replay` take them.
///
/// # Errors
/// One line naming the argument that is wrong.
pub(super) fn output_plan(args: &OutputArgs) -> anyhow::Result<OutputPlan> {
    let spec = OutputSpec::parse(&args.sink, args.side_sink.as_deref())?;
    // Both views are always written; the fixed view only names the default.
    let settings = settings(
        "masked",
        &args.transform.policy,
        &args.transform.shape,
        &args.transform.keys,
    )?;
    Ok(OutputPlan {
        spec,
        sink: args.sink.clone(),
        settings,
        flush: Flush {
            bytes: args.flush_bytes,
            interval: args.flush_interval,
        },
        endpoint_url: args.transform.keys.endpoint_url.clone(),
    })
}

/// The transformer's settings from `--view`, `--policy`, `--shape` and the
/// key arguments.
///
/// # Errors
/// One line naming the argument that is wrong (a policy file that does not
/// exist, an unknown view or shape, keys given twice or not at all).
pub(super) fn settings(
    view: &str,
    policy: &str,
    shape: &str,
    keys: &KeyArgs,
) -> anyhow::Result<Settings> {
    settings_with(view, policy, shape, keys, &[])
}

/// As [`settings`], with more settings (`(setting, value)`, `None` unset).
///
/// # Errors
/// As [`settings`].
pub(super) fn settings_with(
    view: &str,
    policy: &str,
    shape: &str,
    keys: &KeyArgs,
    more: &[(Setting, Option<&str>)],
) -> anyhow::Result<Settings> {
    if let Ok(PolicyLocation::File(path)) = PolicyLocation::parse(policy) {
        ensure_file(&path, "policy")?;
    }
    let mut builder = crate::settings::builder(keys);
    builder
        .set(Setting::View, view)
        .set(Setting::Policy, policy)
        .set(Setting::Shape, shape);
    for (setting, value) in more {
        builder.set_opt(*setting, *value);
    }
    Ok(builder.build()?)
}

/// Reads a whole file, or stdin for `None` and `-`.
pub(super) fn read_input(path: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    match path {
        None => std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading stdin")?,
        Some(p) if p == Path::new("-") => std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading stdin")?,
        Some(p) => return std::fs::read(p).with_context(|| format!("cannot read {}", p.display())),
    };
    Ok(bytes)
}

/// Checks that a path is a file (a clearer message than a loader's when the
/// path is simply wrong).
fn ensure_file(path: &Path, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(path.is_file(), "{what} {} does not exist", path.display());
    Ok(())
}
