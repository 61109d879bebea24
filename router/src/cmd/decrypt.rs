//! `cdc-mask decrypt`: encrypted-view rows back to plaintext, or quarantined
//! records back to their original bytes.

use std::io::{BufRead as _, BufReader, Write as _};
use std::sync::Arc;

use anyhow::Context as _;
use cdc_mask_transformer::decrypt::{decrypt_row, unseal_quarantine};
use cdc_mask_transformer::keys::{KeyProvider, KmsKeys, LocalKeyring, UnwrapCache};

use crate::cli::DecryptArgs;

pub(super) async fn run(args: DecryptArgs) -> anyhow::Result<()> {
    let provider: Arc<dyn KeyProvider> =
        match (&args.keyring, args.kms || args.kms_key_id.is_some()) {
            (Some(dir), false) => Arc::new(LocalKeyring::open_existing(dir)?),
            (None, true) => Arc::new(
                KmsKeys::from_env(args.kms_key_id.clone(), args.endpoint_url.as_deref()).await,
            ),
            _ => anyhow::bail!("give --keyring DIR (local keys) or --kms (AWS KMS)"),
        };
    let mut keys = UnwrapCache::new(provider);
    let reader: Box<dyn std::io::Read> = match args.input.as_deref() {
        None => Box::new(std::io::stdin()),
        Some(p) if p == std::path::Path::new("-") => Box::new(std::io::stdin()),
        Some(p) => Box::new(
            std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
    };
    let mut reader = BufReader::new(reader);
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut line = Vec::new();
    let mut out = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        if reader
            .read_until(b'\n', &mut line)
            .context("reading input")?
            == 0
        {
            break;
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        out.clear();
        if args.quarantine {
            let unsealed = unseal_quarantine(&line, &mut keys)
                .await
                .with_context(|| format!("line {number}"))?;
            out.extend_from_slice(&unsealed.original);
            out.push(b'\n');
        } else {
            decrypt_row(&line, &mut keys, &mut out)
                .await
                .with_context(|| format!("line {number}"))?;
        }
        stdout.write_all(&out).context("writing output")?;
        zeroize::Zeroize::zeroize(&mut out);
    }
    stdout.flush().context("writing output")?;
    Ok(())
}
