//! `cdc-mask decrypt`: encrypted-view rows back to plaintext, or quarantined
//! records back to their original bytes.

use std::io::{BufRead as _, BufReader, Write as _};
use std::sync::Arc;

use anyhow::Context as _;
use cdc_mask_transformer::aws::Aws;
use cdc_mask_transformer::keys::{KmsKeys, LocalKeyring, UnwrapCache, Unwrapper};

use crate::cli::DecryptArgs;

pub(super) async fn run(args: DecryptArgs) -> anyhow::Result<()> {
    let kms = args.kms_key_id.is_some() || args.quarantine_kms_key_id.is_some();
    let unwrapper: Arc<dyn Unwrapper> = match (&args.keyring, kms) {
        (Some(dir), false) => Arc::new(LocalKeyring::open_existing(dir)?),
        (None, true) => Arc::new(KmsKeys::new(
            Aws::load(args.endpoint_url.as_deref()).await.kms(),
            args.kms_key_id.clone(),
            args.quarantine_kms_key_id.clone(),
        )),
        _ => anyhow::bail!(
            "give --keyring DIR (local keys) or the KMS key: --kms-key-id ID (rows), --quarantine-kms-key-id ID (--quarantine)"
        ),
    };
    let mut keys = UnwrapCache::new(unwrapper);
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
        let at = || format!("line {number}");
        if args.quarantine {
            for record in keys.unseal(&line).await.with_context(at)? {
                out.extend_from_slice(&record.original);
                out.push(b'\n');
            }
        } else {
            keys.decrypt_row(&line, &mut out).await.with_context(at)?;
        }
        stdout.write_all(&out).context("writing output")?;
        zeroize::Zeroize::zeroize(&mut out);
    }
    stdout.flush().context("writing output")?;
    Ok(())
}
