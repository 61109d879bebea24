//! Reading the sealed lines of a lake's `quarantine/` prefix, from a local
//! directory or S3, whichever wrote them: the router (plain JSON lines) or
//! Firehose (gzip or not).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use flate2::read::MultiGzDecoder;

use crate::aws::LazyAws;
use crate::sink::{LakeSpec, REASONS_PREFIX};

/// The quarantine's top-level prefix in a lake.
const QUARANTINE_PREFIX: &str = "quarantine";

/// Where quarantine objects are read from.
pub enum Store {
    /// A local lake.
    Dir(PathBuf),
    /// An S3 lake.
    S3 {
        /// The client.
        client: aws_sdk_s3::Client,
        /// The bucket.
        bucket: String,
        /// The lake's key prefix (may be empty).
        prefix: String,
        /// Keys per listing page; `None`: S3's 1,000 (tests ask for less,
        /// to see every page read without uploading a thousand objects).
        page_size: Option<i32>,
    },
}

/// One object of the quarantine, read whole.
pub struct SealedObject {
    /// Its name relative to the lake root (`quarantine/…`).
    pub name: String,
    /// Its lines, decompressed.
    pub bytes: Vec<u8>,
}

impl Store {
    /// Opens the lake at `spec` for reading.
    pub async fn open(spec: &LakeSpec, aws: &LazyAws) -> Self {
        match spec {
            LakeSpec::Dir(root) => Store::Dir(root.clone()),
            LakeSpec::S3 { bucket, prefix } => Store::S3 {
                client: aws.get().await.s3(),
                bucket: bucket.clone(),
                prefix: prefix.clone(),
                page_size: None,
            },
        }
    }

    /// The names of the quarantine's objects (the reason side files left
    /// out), sorted, so that every pass sees them in the same order.
    ///
    /// # Errors
    /// One line: the directory or bucket cannot be listed.
    pub async fn list(&self) -> anyhow::Result<Vec<String>> {
        let mut names = match self {
            Store::Dir(root) => list_dir(root)?,
            Store::S3 {
                client,
                bucket,
                prefix,
                page_size,
            } => {
                let root = key_of(prefix, "");
                let mut pages = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(format!("{root}{QUARANTINE_PREFIX}/"))
                    .set_max_keys(*page_size)
                    .into_paginator()
                    .send();
                let mut names = Vec::new();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| {
                        anyhow::anyhow!(
                            "cannot list s3://{bucket}/{root}{QUARANTINE_PREFIX}/: {}",
                            cdc_mask_transformer::aws::error_line(&e)
                        )
                    })?;
                    for object in page.contents() {
                        if let Some(key) = object.key() {
                            names.push(key[root.len()..].to_owned());
                        }
                    }
                }
                names
            }
        };
        names.retain(|name| !name.starts_with(&format!("{REASONS_PREFIX}/")));
        names.sort();
        Ok(names)
    }

    /// Reads one object whole, gunzipped when it is gzip.
    ///
    /// # Errors
    /// One line naming the object.
    pub async fn read(&self, name: &str) -> anyhow::Result<SealedObject> {
        let raw = match self {
            Store::Dir(root) => {
                let path = root.join(name);
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?
            }
            Store::S3 {
                client,
                bucket,
                prefix,
                ..
            } => {
                let key = key_of(prefix, name);
                let object = client
                    .get_object()
                    .bucket(bucket)
                    .key(&key)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "cannot read s3://{bucket}/{key}: {}",
                            cdc_mask_transformer::aws::error_line(&e)
                        )
                    })?;
                object
                    .body
                    .collect()
                    .await
                    .with_context(|| format!("cannot read s3://{bucket}/{key}"))?
                    .to_vec()
            }
        };
        let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut plain = Vec::with_capacity(raw.len() * 4);
            MultiGzDecoder::new(raw.as_slice())
                .read_to_end(&mut plain)
                .with_context(|| format!("{name}: not valid gzip"))?;
            plain
        } else {
            raw
        };
        Ok(SealedObject {
            name: name.to_owned(),
            bytes,
        })
    }
}

/// `prefix/name`, or `name` at the bucket's root.
fn key_of(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// Every file under `root/quarantine`, as `quarantine/…` names (none when
/// the lake has no quarantine).
fn list_dir(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    let mut dirs = vec![root.join(QUARANTINE_PREFIX)];
    if !dirs[0].exists() {
        anyhow::ensure!(root.is_dir(), "{} is not a directory", root.display());
        return Ok(names);
    }
    while let Some(dir) = dirs.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
            let path = entry
                .with_context(|| format!("cannot list {}", dir.display()))?
                .path();
            let hidden = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if path.is_dir() {
                dirs.push(path);
            } else if !hidden {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                names.push(
                    relative
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/"),
                );
            }
        }
    }
    Ok(names)
}
