//! Where batches are delivered: a local directory or an S3 prefix, with the
//! same layout. Each batch becomes one object per partition, named after the
//! source range it holds, so delivering the same range again overwrites
//! instead of duplicating.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use aws_sdk_s3::primitives::ByteStream;
use flate2::write::GzEncoder;
use flate2::Compression;

use super::{Batch, Part};
use crate::aws::LazyAws;

/// A parsed `--sink` argument, before anything is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LakeSpec {
    /// `dir:PATH`: JSON-lines files under a local directory.
    Dir(PathBuf),
    /// `s3://bucket/prefix`: gzip JSON-lines objects.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix, without leading or trailing `/` (may be empty).
        prefix: String,
    },
}

impl LakeSpec {
    /// Parses `dir:PATH` or `s3://bucket[/prefix]`.
    ///
    /// # Errors
    /// A one-line message naming the accepted forms.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        if let Some(path) = text.strip_prefix("dir:") {
            if path.is_empty() {
                bail!("--sink dir: needs a path (dir:./lake)");
            }
            return Ok(LakeSpec::Dir(PathBuf::from(path)));
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                bail!("--sink {text}: no bucket name (s3://bucket/prefix)");
            }
            return Ok(LakeSpec::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        bail!("--sink {text}: unknown sink; use dir:PATH or s3://bucket/prefix")
    }
}

/// An opened destination.
#[derive(Debug, Clone)]
pub enum Lake {
    /// A local directory.
    Dir(PathBuf),
    /// An S3 bucket and prefix.
    S3 {
        /// The client.
        client: aws_sdk_s3::Client,
        /// The bucket.
        bucket: String,
        /// The key prefix (may be empty).
        prefix: String,
    },
}

impl Lake {
    /// Opens a destination: creates the directory, or checks that the bucket
    /// exists and is reachable with the credentials at hand (the standard AWS
    /// environment; path-style addressing with a custom endpoint).
    ///
    /// # Errors
    /// One line: the directory cannot be created, the bucket does not exist,
    /// access is denied, no credentials.
    pub async fn open(spec: &LakeSpec, aws: &LazyAws) -> anyhow::Result<Self> {
        match spec {
            LakeSpec::Dir(path) => {
                std::fs::create_dir_all(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                Ok(Lake::Dir(path.clone()))
            }
            LakeSpec::S3 { bucket, prefix } => {
                let client = aws.get().await.s3();
                if let Err(e) = client.head_bucket().bucket(bucket).send().await {
                    let not_found = e.as_service_error().is_some_and(
                        aws_sdk_s3::operation::head_bucket::HeadBucketError::is_not_found,
                    );
                    if not_found {
                        bail!("bucket {bucket} does not exist");
                    }
                    bail!(
                        "cannot reach bucket {bucket}: {}",
                        cdc_mask_transformer::aws::error_line(&e)
                    );
                }
                Ok(Lake::S3 {
                    client,
                    bucket: bucket.clone(),
                    prefix: prefix.clone(),
                })
            }
        }
    }

    /// Delivers a batch as one object per partition named `name` (made of
    /// path-safe characters), and empties it. Returns the number of objects.
    ///
    /// # Errors
    /// The first write that fails, after the SDK's own retries; objects
    /// written before it stay (a re-delivery overwrites them).
    pub async fn deliver(&self, batch: &mut Batch, name: &str) -> anyhow::Result<usize> {
        self.deliver_parts(batch.take(), name).await
    }

    /// Delivers (prefix, JSON lines) parts as objects named `name`.
    ///
    /// # Errors
    /// As [`Lake::deliver`].
    pub async fn deliver_parts(&self, parts: Vec<Part>, name: &str) -> anyhow::Result<usize> {
        let count = parts.len();
        for Part { prefix, lines, .. } in parts {
            match self {
                Lake::Dir(root) => write_file(&object_path(root, &prefix, name), &lines)?,
                Lake::S3 {
                    client,
                    bucket,
                    prefix: root,
                } => {
                    let key = object_key(root, &prefix, name);
                    let body = gzip(&lines)?;
                    client
                        .put_object()
                        .bucket(bucket)
                        .key(&key)
                        .content_type("application/x-ndjson")
                        .body(ByteStream::from(body))
                        .send()
                        .await
                        .map_err(|e| {
                            anyhow::anyhow!(
                                "writing s3://{bucket}/{key}: {}",
                                cdc_mask_transformer::aws::error_line(&e)
                            )
                        })?;
                }
            }
        }
        Ok(count)
    }
}

fn object_path(root: &Path, prefix: &str, name: &str) -> PathBuf {
    root.join(prefix).join(format!("{name}.jsonl"))
}

fn object_key(root: &str, prefix: &str, name: &str) -> String {
    if root.is_empty() {
        format!("{prefix}/{name}.jsonl.gz")
    } else {
        format!("{root}/{prefix}/{name}.jsonl.gz")
    }
}

/// Writes an object of the local lake whole or not at all, so a reader
/// never sees half an object.
fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    crate::atomic_file::write(path, bytes)
}

/// Gzip with a zero modification time, so equal lines give equal objects.
fn gzip(lines: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(lines.len() / 4), Compression::fast());
    encoder.write_all(lines).context("gzip")?;
    encoder.finish().context("gzip")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{OutputView, Partition, Sink as _};

    #[test]
    fn parses_sinks_and_rejects_unknown_schemes() {
        assert_eq!(
            LakeSpec::parse("dir:./lake").unwrap(),
            LakeSpec::Dir(PathBuf::from("./lake"))
        );
        assert_eq!(
            LakeSpec::parse("s3://b/a/b/").unwrap(),
            LakeSpec::S3 {
                bucket: "b".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            LakeSpec::parse("s3://b").unwrap(),
            LakeSpec::S3 {
                bucket: "b".into(),
                prefix: String::new()
            }
        );
        for bad in ["ftp://x", "dir:", "s3:///p", "./lake"] {
            let e = LakeSpec::parse(bad).unwrap_err().to_string();
            assert!(!e.contains('\n') && e.contains("--sink"), "{e}");
        }
    }

    #[tokio::test]
    async fn dir_objects_are_named_after_the_range_and_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::Dir(dir.path().to_path_buf());
        let p = Partition {
            view: OutputView::Masked,
            schema: "s",
            table: "t",
            date: "2026-11-29",
        };
        for line in [&b"old\n"[..], b"new\n"] {
            let mut batch = Batch::new();
            batch.write(p, line).unwrap();
            assert_eq!(lake.deliver(&mut batch, "f-0-4").await.unwrap(), 1);
        }
        let path = dir.path().join("masked/s/t/dt=2026-11-29/f-0-4.jsonl");
        assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
    }

    #[test]
    fn gzip_is_deterministic() {
        assert_eq!(gzip(b"a\nb\n").unwrap(), gzip(b"a\nb\n").unwrap());
    }
}
