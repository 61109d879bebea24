//! What the transformer's integration tests share: settings for a processor
//! over a policy file and a local keyring, as the flags of `transform-event`
//! would give them.

use std::path::Path;

use cdc_mask_core::Shape;
use cdc_mask_transformer::settings::{Setting, Settings, SettingsBuilder};

/// Settings for `view` (`masked`, `encrypted`, `quarantine`, `auto`) and
/// `shape`, the policy at `policy` and the local keyring folder `keyring`
/// (made on first use), then each of `extra`.
///
/// # Panics
/// If the settings do not build.
pub fn local_settings(
    view: &str,
    shape: Shape,
    policy: &Path,
    keyring: &Path,
    extra: &[(Setting, &str)],
) -> Settings {
    let mut builder = SettingsBuilder::from_flags();
    builder
        .set(Setting::View, view)
        .set(Setting::Policy, policy.display().to_string())
        .set(Setting::Keyring, keyring.display().to_string())
        .set(
            Setting::Shape,
            match shape {
                Shape::Flat => "flat",
                Shape::Envelope => "envelope",
            },
        );
    for (setting, value) in extra {
        builder.set(*setting, *value);
    }
    builder.build().unwrap()
}
