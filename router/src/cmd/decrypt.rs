//! `cdc-mask decrypt`: encrypted-view rows back to plaintext, or quarantined
//! records back to their original bytes.

use std::io::{BufRead as _, BufReader, Write as _};
use std::sync::Arc;

use anyhow::Context as _;
use cdc_mask_core::decrypt::DetReader;
use cdc_mask_core::keys::DeterministicKey;
use cdc_mask_transformer::aws::Aws;
use cdc_mask_transformer::keys::{
    deterministic_key_bytes, KmsKeys, LocalKeyring, UnwrapCache, Unwrapper,
};

use crate::cli::DecryptArgs;

/// The reader of `det` values: the key from --deterministic-key or the
/// keyring, the domains from --domain.
fn det_reader(
    args: &DecryptArgs,
    ring: Option<&LocalKeyring>,
) -> anyhow::Result<Option<DetReader>> {
    let domains = args
        .domains
        .iter()
        .map(|item| match item.split_once('=') {
            Some((column, domain)) if !column.is_empty() => {
                Ok((column.to_owned(), domain.to_owned()))
            }
            _ => anyhow::bail!("--domain takes COLUMN=DOMAIN"),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let bytes = match (&args.deterministic_key, ring) {
        (Some(path), _) => {
            let raw = zeroize::Zeroizing::new(
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            );
            Some(deterministic_key_bytes(&raw).context("--deterministic-key")?)
        }
        (None, Some(ring)) if ring.has_deterministic_key() => Some(ring.deterministic_key()?),
        (None, _) => None,
    };
    let Some(bytes) = bytes else {
        anyhow::ensure!(
            domains.is_empty(),
            "--domain needs a deterministic key (--deterministic-key FILE)"
        );
        return Ok(None);
    };
    let key = DeterministicKey::new(&bytes, args.deterministic_key_version)
        .map_err(|e| anyhow::anyhow!("--deterministic-key: {e}"))?;
    let reader = DetReader::new(key, domains).map_err(|e| anyhow::anyhow!("--domain: {e}"))?;
    Ok(Some(reader))
}

pub(super) async fn run(args: DecryptArgs) -> anyhow::Result<()> {
    let kms = args.kms_key_id.is_some() || args.quarantine_kms_key_id.is_some();
    let mut det = None;
    let unwrapper: Arc<dyn Unwrapper> = match (&args.keyring, kms) {
        (Some(dir), false) => {
            let ring = LocalKeyring::open_existing(dir)?;
            det = det_reader(&args, Some(&ring))?;
            Arc::new(ring)
        }
        (None, true) => Arc::new(KmsKeys::new(
            Aws::load(args.endpoint_url.as_deref()).await.kms(),
            args.kms_key_id.clone(),
            args.quarantine_kms_key_id.clone(),
        )),
        _ => anyhow::bail!(
            "give --keyring DIR (local keys) or the KMS key: --kms-key-id ID (rows), --quarantine-kms-key-id ID (--quarantine)"
        ),
    };
    if args.keyring.is_none() {
        det = det_reader(&args, None)?;
    }
    let mut keys = UnwrapCache::new(unwrapper);
    if let Some(reader) = det {
        keys = keys.with_deterministic(reader);
    }
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
