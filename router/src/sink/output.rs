//! The `--sink` of `run` and `replay`: a lake (directory or S3) or the two
//! Firehose delivery streams with a side lake.

use anyhow::bail;

use super::firehose::Firehose;
use super::{Batch, Lake, LakeSpec};
use crate::aws::LazyAws;

/// A parsed `--sink` (and `--side-sink`), before anything is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpec {
    /// `dir:PATH` or `s3://bucket/prefix`.
    Lake(LakeSpec),
    /// `firehose:MASKED_STREAM,ENCRYPTED_STREAM`.
    Firehose {
        /// Delivery stream of the masked view.
        masked: String,
        /// Delivery stream of the encrypted view.
        encrypted: String,
        /// Where control and quarantine lines go.
        side: LakeSpec,
    },
}

impl OutputSpec {
    /// Parses `--sink` and `--side-sink` (required with `firehose:`, refused
    /// otherwise).
    ///
    /// # Errors
    /// A one-line message naming the accepted forms.
    pub fn parse(sink: &str, side: Option<&str>) -> anyhow::Result<Self> {
        if let Some(streams) = sink.strip_prefix("firehose:") {
            let Some((masked, encrypted)) = streams
                .split_once(',')
                .filter(|(m, e)| !m.is_empty() && !e.is_empty() && !e.contains(','))
            else {
                bail!("--sink {sink}: use firehose:MASKED_STREAM,ENCRYPTED_STREAM");
            };
            let Some(side) = side else {
                bail!(
                    "--sink firehose: needs --side-sink dir:PATH or s3://bucket/prefix \
                     for control and quarantine records"
                );
            };
            return Ok(OutputSpec::Firehose {
                masked: masked.to_owned(),
                encrypted: encrypted.to_owned(),
                side: LakeSpec::parse(side)?,
            });
        }
        if side.is_some() {
            bail!("--side-sink applies to a firehose: sink only");
        }
        let lake = LakeSpec::parse(sink)
            .map_err(|e| anyhow::anyhow!("{e}, or firehose:MASKED_STREAM,ENCRYPTED_STREAM"))?;
        Ok(OutputSpec::Lake(lake))
    }
}

/// An opened `--sink`.
#[derive(Debug)]
pub enum Output {
    /// A directory or S3 prefix.
    Lake(Lake),
    /// Two delivery streams and a side lake.
    Firehose(Firehose),
}

impl Output {
    /// Opens the sink, checking that its directory, bucket or streams are
    /// there.
    ///
    /// # Errors
    /// One line naming what is missing or unreachable.
    pub async fn open(spec: &OutputSpec, aws: &LazyAws) -> anyhow::Result<Self> {
        match spec {
            OutputSpec::Lake(lake) => Ok(Output::Lake(Lake::open(lake, aws).await?)),
            OutputSpec::Firehose {
                masked,
                encrypted,
                side,
            } => {
                let side = Lake::open(side, aws).await?;
                Ok(Output::Firehose(
                    Firehose::open(masked, encrypted, side, aws.get().await).await?,
                ))
            }
        }
    }

    /// Delivers a batch under `name` and empties it; returns the objects
    /// written and calls made.
    ///
    /// # Errors
    /// The first failure, once retries are spent.
    pub async fn deliver(&self, batch: &mut Batch, name: &str) -> anyhow::Result<usize> {
        match self {
            Output::Lake(lake) => lake.deliver(batch, name).await,
            Output::Firehose(firehose) => firehose.deliver(batch.take(), name).await,
        }
    }

    /// Whether delivering calls AWS (S3 or Firehose).
    pub fn uses_aws(&self) -> bool {
        !matches!(self, Output::Lake(Lake::Dir(_)))
    }

    /// Summary lines particular to the sink.
    pub fn report(&self) -> Vec<(&'static str, String)> {
        match self {
            Output::Lake(_) => Vec::new(),
            Output::Firehose(firehose) => {
                vec![("Firehose entries retried", firehose.retried().to_string())]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firehose_needs_two_streams_and_a_side_sink() {
        assert_eq!(
            OutputSpec::parse("firehose:m,e", Some("dir:side")).unwrap(),
            OutputSpec::Firehose {
                masked: "m".into(),
                encrypted: "e".into(),
                side: LakeSpec::Dir("side".into())
            }
        );
        for (sink, side) in [
            ("firehose:m", Some("dir:x")),
            ("firehose:m,e", None),
            ("dir:x", Some("dir:y")),
            ("gcs://b", None),
        ] {
            let e = OutputSpec::parse(sink, side).unwrap_err().to_string();
            assert!(e.starts_with("--") && !e.contains('\n'), "{e}");
        }
    }
}
