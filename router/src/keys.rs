//! Key settings from command-line arguments.

use anyhow::{bail, Context as _};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use cdc_mask_transformer::config::{KeySource, TokenKeySource};

use crate::cli::KeyArgs;

/// The key source the arguments name.
///
/// # Errors
/// If neither or both of `--keyring` and `--kms-key-id` are given, or the
/// token key ciphertext is not base64.
pub fn key_source(args: &KeyArgs) -> anyhow::Result<KeySource> {
    match (&args.keyring, &args.kms_key_id) {
        (Some(dir), None) => Ok(KeySource::Local(dir.clone())),
        (None, Some(key_id)) => Ok(KeySource::Kms {
            key_id: key_id.clone(),
            quarantine_key_id: args
                .quarantine_kms_key_id
                .clone()
                .unwrap_or_else(|| key_id.clone()),
            token_key: match (&args.token_key_ciphertext, &args.token_key_secret) {
                (Some(b64), _) => Some(TokenKeySource::Ciphertext(
                    BASE64
                        .decode(b64.trim())
                        .context("--token-key-ciphertext is not base64")?,
                )),
                (None, Some(id)) => Some(TokenKeySource::Secret(id.trim().to_owned())),
                (None, None) => None,
            },
        }),
        (Some(_), Some(_)) => bail!("give only one of --keyring and --kms-key-id"),
        (None, None) => bail!("give --keyring DIR (local keys) or --kms-key-id ID (AWS KMS)"),
    }
}
