//! Where DMS records come from. `SourceSpec` parses `--source`.
//!
//! - `feed`: what `run` reads on a thread of its own, in `Chunk`s: a file
//!   or stdin (`file`) or the generator at a pace (`paced`).
//! - [`generate`]: the sample generator (also used by benchmarks, tests and
//!   fuzzing for realistic records).
//! - `kinesis`: the shards of a Kinesis stream.

pub(crate) mod feed;
mod file;
pub mod generate;
pub(crate) mod kinesis;
mod paced;

use std::path::PathBuf;

use anyhow::bail;

use crate::pipeline::SourceRecord;

/// Records read in one go, and the source positions they span: byte offsets
/// for a file (`start` of the first record, `end` after the last), record
/// ordinals for the generator.
#[derive(Debug, Default)]
pub(crate) struct Chunk {
    /// The records, in source order.
    pub records: Vec<SourceRecord>,
    /// Position of the first record.
    pub start: u64,
    /// Position just after the last record.
    pub end: u64,
}

/// A parsed `--source` argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SourceSpec {
    /// `file:PATH`: DMS JSON lines.
    File(PathBuf),
    /// `-`: DMS JSON lines on stdin.
    Stdin,
    /// `generate[:RATE]`: the sample generator, `RATE` records per second
    /// (unbounded without it).
    Generate(Option<u64>),
    /// `kinesis:STREAM` (a name or an ARN).
    Kinesis(String),
}

impl SourceSpec {
    /// Parses `file:PATH`, `-`, `generate[:RATE]` or `kinesis:STREAM`.
    ///
    /// # Errors
    /// A one-line message naming the accepted forms.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        if text == "-" {
            return Ok(SourceSpec::Stdin);
        }
        if text == "generate" {
            return Ok(SourceSpec::Generate(None));
        }
        if let Some(rate) = text.strip_prefix("generate:") {
            return match rate.parse::<u64>() {
                Ok(rate) if rate > 0 => Ok(SourceSpec::Generate(Some(rate))),
                _ => bail!("--source {text}: the rate must be a whole number of records per second above 0"),
            };
        }
        if let Some(path) = text.strip_prefix("file:") {
            if path.is_empty() {
                bail!("--source file: needs a path (file:changes.jsonl)");
            }
            return Ok(SourceSpec::File(PathBuf::from(path)));
        }
        if let Some(stream) = text.strip_prefix("kinesis:") {
            if stream.is_empty() {
                bail!("--source kinesis: needs a stream name or ARN");
            }
            return Ok(SourceSpec::Kinesis(stream.to_owned()));
        }
        bail!("--source {text}: unknown source; use file:PATH, - (stdin), generate[:RATE] or kinesis:STREAM")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sources_and_rejects_unknown_schemes() {
        assert_eq!(SourceSpec::parse("-").unwrap(), SourceSpec::Stdin);
        assert_eq!(
            SourceSpec::parse("file:a.jsonl").unwrap(),
            SourceSpec::File("a.jsonl".into())
        );
        assert_eq!(
            SourceSpec::parse("generate").unwrap(),
            SourceSpec::Generate(None)
        );
        assert_eq!(
            SourceSpec::parse("generate:500").unwrap(),
            SourceSpec::Generate(Some(500))
        );
        assert_eq!(
            SourceSpec::parse("kinesis:cdc").unwrap(),
            SourceSpec::Kinesis("cdc".into())
        );
        for bad in [
            "generate:0",
            "generate:fast",
            "file:",
            "kinesis:",
            "http://x",
            "a.jsonl",
        ] {
            let e = SourceSpec::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("--source") && !e.contains('\n'), "{e}");
        }
    }
}
