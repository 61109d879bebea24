//! The transformer's settings from command-line arguments, through the same
//! builder the Lambda feeds from its environment.

use cdc_mask_transformer::settings::{Components, Setting, Settings, SettingsBuilder};

use crate::cli::KeyArgs;

/// A settings builder holding the key arguments (errors name the flags).
pub fn builder(keys: &KeyArgs) -> SettingsBuilder {
    let mut builder = SettingsBuilder::from_flags();
    builder
        .set_opt(
            Setting::Keyring,
            keys.keyring.as_ref().map(|d| d.display().to_string()),
        )
        .set_opt(Setting::KmsKeyId, keys.kms_key_id.clone())
        .set_opt(Setting::DataPublicKey, keys.data_public_key.clone())
        .set_opt(
            Setting::QuarantineKmsKeyId,
            keys.quarantine_kms_key_id.clone(),
        )
        .set_opt(
            Setting::QuarantinePublicKey,
            keys.quarantine_public_key.clone(),
        )
        .set_opt(
            Setting::TokenKeyCiphertext,
            keys.token_key_ciphertext.clone(),
        )
        .set_opt(Setting::TokenKeySecret, keys.token_key_secret.clone())
        .set_opt(Setting::TokenKeyVersion, keys.token_key_version.clone())
        .set_opt(Setting::Guard, keys.guard.clone())
        .endpoint_url(keys.endpoint_url.clone());
    builder
}

/// The settings of a local run of both views: a policy file and a keyring
/// (the demo's, and the unit tests').
///
/// # Errors
/// A path that is not valid settings (never, in practice).
pub fn local(policy: &std::path::Path, keyring: &std::path::Path) -> anyhow::Result<Settings> {
    let mut builder = SettingsBuilder::from_flags();
    builder
        .set(Setting::View, "masked")
        .set(Setting::Policy, policy.display().to_string())
        .set(Setting::Keyring, keyring.display().to_string());
    Ok(builder.build()?)
}

/// Loads the keys and the policy, and stops with one line when no usable
/// policy is in hand (a long run would only seal what it reads).
///
/// # Errors
/// A key that cannot be had, or no usable policy.
pub async fn load(settings: &Settings) -> anyhow::Result<Components> {
    let parts = settings.load().await?;
    parts.check_policy().await?;
    Ok(parts)
}
