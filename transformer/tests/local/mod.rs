//! What the transformer's integration tests share: a policy file and a
//! local keyring in a temporary directory, and settings for a processor over
//! them, as the flags of `transform-event` would give them.

use std::path::PathBuf;

use cdc_mask_core::Shape;
use cdc_mask_transformer::settings::{Setting, Settings, SettingsBuilder};

/// A temporary directory holding `policy.json` and the local keyring
/// folder `keyring` (made on first use); both go when it is dropped.
pub struct Local {
    dir: tempfile::TempDir,
}

impl Local {
    /// A directory whose `policy.json` holds `policy`.
    ///
    /// # Panics
    /// If the directory or the file cannot be made.
    pub fn new(policy: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("policy.json"), policy).unwrap();
        Local { dir }
    }

    /// The keyring folder.
    pub fn keyring(&self) -> PathBuf {
        self.dir.path().join("keyring")
    }

    /// Settings for `view` (`masked`, `encrypted`, `quarantine`, `auto`)
    /// and `shape` over this policy and keyring, then each of `extra`.
    ///
    /// # Panics
    /// If the settings do not build.
    pub fn settings(&self, view: &str, shape: Shape, extra: &[(Setting, &str)]) -> Settings {
        let mut builder = SettingsBuilder::from_flags();
        builder
            .set(Setting::View, view)
            .set(
                Setting::Policy,
                self.dir.path().join("policy.json").display().to_string(),
            )
            .set(Setting::Keyring, self.keyring().display().to_string())
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
}
