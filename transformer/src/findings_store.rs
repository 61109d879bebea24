//! Findings, overrides and the policy in S3, for `findings compile
//! s3://bucket/prefix` and the policy Lambda: list every object under a
//! prefix (all pages, in key order), read them into a [`Compiler`] (gzip is
//! decompressed by the compiler, as for files), and write the policy only
//! when its bytes change.
//!
//! Errors name the bucket and key and what S3 answered, never content.

use std::collections::VecDeque;
use std::fmt;

use aws_sdk_s3::primitives::ByteStream;
use tokio::task::JoinHandle;

use cdc_mask_core::findings::Compiler;

use crate::aws::error_line;

/// Objects read at the same time while feeding a compiler (in key order).
const READ_AHEAD: usize = 8;

/// An `s3://bucket/key` URL; `key` is a prefix (maybe empty) where a prefix
/// is meant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct S3Url {
    /// Bucket name.
    pub bucket: String,
    /// Object key, or key prefix.
    pub key: String,
}

impl S3Url {
    /// Parses `s3://bucket/key` where the key names one object.
    ///
    /// # Errors
    /// A one-line message when it is not `s3://bucket/key`.
    pub fn object(text: &str) -> Result<Self, String> {
        match Self::split(text) {
            Some(url) if !url.key.is_empty() && !url.key.ends_with('/') => Ok(url),
            _ => Err(format!("{text:?} is not s3://bucket/key")),
        }
    }

    /// Parses `s3://bucket/prefix` (or `s3://bucket` for the whole bucket).
    ///
    /// # Errors
    /// A one-line message when it is not `s3://bucket[/prefix]`.
    pub fn prefix(text: &str) -> Result<Self, String> {
        Self::split(text).ok_or_else(|| format!("{text:?} is not s3://bucket/prefix"))
    }

    fn split(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        (!bucket.is_empty()).then(|| S3Url {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// An S3 call that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot {action} {url}: {message}")]
pub struct S3Error {
    /// `list`, `read` or `write`.
    pub action: &'static str,
    /// The object or prefix.
    pub url: String,
    /// What S3 (or the connection) said.
    pub message: String,
}

/// What [`S3Store::write_if_changed`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The object already held these bytes: nothing was written.
    Unchanged,
    /// The object was written; `previous` is what it held before, if any.
    Replaced {
        /// The object's bytes before the write (`None`: it did not exist).
        previous: Option<Vec<u8>>,
    },
}

/// Reads findings from and writes policies to S3.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    /// Keys asked for per `ListObjectsV2` page; `None` leaves it to S3
    /// (1,000, its maximum).
    page_size: Option<i32>,
}

impl S3Store {
    /// A store using `client` (see [`Aws::s3`](crate::aws::Aws::s3)).
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3Store {
            client,
            page_size: None,
        }
    }

    /// The same store, listing at most `keys` keys per page (`MaxKeys`)
    /// instead of S3's 1,000: tests prove that every page is read with a
    /// handful of objects rather than over a thousand.
    pub fn with_page_size(mut self, keys: i32) -> Self {
        self.page_size = Some(keys);
        self
    }

    /// Every object under `prefix`, over all pages, sorted by key; "folder"
    /// markers (keys ending in `/`) and keys with a hidden segment below the
    /// prefix (`.name`, as a folder walk skips) are left out.
    ///
    /// # Errors
    /// [`S3Error`] if a page cannot be listed.
    pub async fn list(&self, prefix: &S3Url) -> Result<Vec<S3Url>, S3Error> {
        let error = |message| S3Error {
            action: "list",
            url: prefix.to_string(),
            message,
        };
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&prefix.bucket)
            .prefix(&prefix.key)
            .set_max_keys(self.page_size)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| error(error_line(&e)))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key())
                    .filter(|key| listed(&prefix.key, key))
                    .map(str::to_owned),
            );
        }
        keys.sort();
        keys.dedup();
        Ok(keys
            .into_iter()
            .map(|key| S3Url {
                bucket: prefix.bucket.clone(),
                key,
            })
            .collect())
    }

    /// The bytes of one object.
    ///
    /// # Errors
    /// [`S3Error`] if it cannot be read (missing included).
    pub async fn read(&self, object: &S3Url) -> Result<Vec<u8>, S3Error> {
        self.read_if_exists(object).await?.ok_or_else(|| S3Error {
            action: "read",
            url: object.to_string(),
            message: "NoSuchKey: the object does not exist".into(),
        })
    }

    /// The bytes of one object, or `None` when there is no such object.
    ///
    /// # Errors
    /// [`S3Error`] if it exists but cannot be read.
    pub async fn read_if_exists(&self, object: &S3Url) -> Result<Option<Vec<u8>>, S3Error> {
        let error = |message| S3Error {
            action: "read",
            url: object.to_string(),
            message,
        };
        let output = match self
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(error(error_line(&e))),
        };
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| error(e.to_string()))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    /// Reads `objects` in the order given (a few at a time) into `compiler`,
    /// each named by its `s3://` URL.
    ///
    /// # Errors
    /// [`S3Error`] for the first object that cannot be read; what the
    /// objects hold is judged by the compiler, not here.
    pub async fn add_objects(
        &self,
        compiler: &mut Compiler,
        objects: &[S3Url],
    ) -> Result<(), S3Error> {
        let mut pending: VecDeque<(&S3Url, Reading)> = VecDeque::with_capacity(READ_AHEAD);
        let mut next = objects.iter();
        loop {
            while pending.len() < READ_AHEAD {
                let Some(object) = next.next() else { break };
                let store = self.clone();
                let owned = object.clone();
                let task = tokio::spawn(async move { store.read(&owned).await });
                pending.push_back((object, Reading(task)));
            }
            let Some((object, mut reading)) = pending.pop_front() else {
                return Ok(());
            };
            let bytes = (&mut reading.0).await.map_err(|e| S3Error {
                action: "read",
                url: object.to_string(),
                message: e.to_string(),
            })??;
            compiler.add_source(&object.to_string(), &bytes);
        }
    }

    /// Writes `bytes` to `object` unless it already holds exactly them. A
    /// `PutObject` replaces the whole object at once: readers get the old
    /// or the new bytes, never a part (and a versioned bucket keeps the old).
    ///
    /// # Errors
    /// [`S3Error`] if the current object cannot be read or the new one
    /// cannot be written.
    pub async fn write_if_changed(&self, object: &S3Url, bytes: &[u8]) -> Result<Written, S3Error> {
        let previous = self.read_if_exists(object).await?;
        if previous.as_deref() == Some(bytes) {
            return Ok(Written::Unchanged);
        }
        self.client
            .put_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .content_type("application/json")
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map_err(|e| S3Error {
                action: "write",
                url: object.to_string(),
                message: error_line(&e),
            })?;
        Ok(Written::Replaced { previous })
    }
}

/// A read in flight, cancelled if it is no longer wanted.
struct Reading(JoinHandle<Result<Vec<u8>, S3Error>>);

impl Drop for Reading {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Whether a listed key is a findings object: not a folder marker, and no
/// segment below the prefix is hidden.
fn listed(prefix: &str, key: &str) -> bool {
    if key.ends_with('/') {
        return false;
    }
    let below = key.strip_prefix(prefix).unwrap_or(key);
    // The segment the prefix ends inside (`findings/pa` of `…/part-1`) is
    // the user's choice, not hidden by us.
    let mut own = below
        .split('/')
        .skip(usize::from(!prefix.ends_with('/') && !prefix.is_empty()));
    !own.any(|segment| segment.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let url = S3Url::object("s3://b/findings/x.json").unwrap();
        assert_eq!(
            (url.bucket.as_str(), url.key.as_str()),
            ("b", "findings/x.json")
        );
        assert_eq!(url.to_string(), "s3://b/findings/x.json");
        for bad in [
            "s3://b",
            "s3://b/",
            "s3://b/dir/",
            "s3:///k",
            "/tmp/x",
            "b/k",
        ] {
            assert!(S3Url::object(bad).is_err(), "{bad}");
        }
        assert_eq!(S3Url::prefix("s3://b").unwrap().key, "");
        assert_eq!(S3Url::prefix("s3://b/f/").unwrap().key, "f/");
        assert!(S3Url::prefix("s3:///f").is_err());
        assert!(S3Url::prefix("./f").is_err());
    }

    #[test]
    fn listing_skips_folders_and_hidden_entries() {
        assert!(listed("findings/", "findings/2026/11/part-1.gz"));
        assert!(!listed("findings/", "findings/2026/"));
        assert!(!listed("findings/", "findings/.tmp/part"));
        assert!(!listed("findings/", "findings/2026/.part.swp"));
        assert!(listed("", "a/b"));
        assert!(!listed("", ".hidden/b"));
        // The prefix may end inside a segment; that segment is the user's.
        assert!(listed("findings/.x", "findings/.x-1"));
        assert!(listed(".f", ".findings/a"));
        assert!(!listed(".f", ".findings/.a"));
    }
}
