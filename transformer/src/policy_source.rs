//! Where the policy is read from: a local file or an S3 object. Both answer
//! "has it changed since the version I have?", so an unchanged policy costs
//! no download (S3: a conditional `GetObject` with `If-None-Match`).

use std::path::PathBuf;

use crate::keys::BoxFuture;

/// Where a policy lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyLocation {
    /// A local file.
    File(PathBuf),
    /// An S3 object.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Object key.
        key: String,
    },
}

impl PolicyLocation {
    /// Parses `s3://bucket/key` or a file path.
    ///
    /// # Errors
    /// A one-line message for an `s3://` URL without bucket or key.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.strip_prefix("s3://") {
            None => Ok(PolicyLocation::File(PathBuf::from(text))),
            Some(rest) => match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
                    Ok(PolicyLocation::S3 {
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                    })
                }
                _ => Err(format!("{text:?} is not s3://bucket/key")),
            },
        }
    }
}

impl std::fmt::Display for PolicyLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicyLocation::File(path) => write!(f, "{}", path.display()),
            PolicyLocation::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

/// The answer to a (conditional) fetch.
#[derive(Debug)]
pub enum Fetched {
    /// The version given is still current.
    Unchanged,
    /// A new version.
    Changed {
        /// The policy JSON.
        bytes: Vec<u8>,
        /// Its version tag (S3 ETag, or size and modification time of a file).
        version: String,
    },
}

/// A policy that could not be fetched.
#[derive(Debug, thiserror::Error)]
#[error("cannot read policy {location}: {message}")]
pub struct FetchError {
    /// Where.
    pub location: String,
    /// What went wrong (never policy content).
    pub message: String,
}

/// Reads a policy, conditionally.
pub trait PolicySource: Send + Sync {
    /// The policy if its version differs from `known`.
    fn fetch(&self, known: Option<String>) -> BoxFuture<'_, Result<Fetched, FetchError>>;
    /// Where it reads from.
    fn location(&self) -> String;
}

/// A policy file on local disk.
pub struct FilePolicy {
    path: PathBuf,
}

impl FilePolicy {
    /// A source reading `path`.
    pub fn new(path: PathBuf) -> Self {
        FilePolicy { path }
    }

    fn fetch_now(&self, known: Option<&str>) -> Result<Fetched, FetchError> {
        let error = |e: std::io::Error| FetchError {
            location: self.location(),
            message: e.to_string(),
        };
        let meta = std::fs::metadata(&self.path).map_err(error)?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let version = format!("{}-{modified}", meta.len());
        if known == Some(version.as_str()) {
            return Ok(Fetched::Unchanged);
        }
        let bytes = std::fs::read(&self.path).map_err(error)?;
        Ok(Fetched::Changed { bytes, version })
    }
}

impl PolicySource for FilePolicy {
    fn fetch(&self, known: Option<String>) -> BoxFuture<'_, Result<Fetched, FetchError>> {
        Box::pin(async move { self.fetch_now(known.as_deref()) })
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

/// A policy object in S3.
pub struct S3Policy {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
}

impl S3Policy {
    /// A source reading `s3://bucket/key` with `client`.
    pub fn new(client: aws_sdk_s3::Client, bucket: String, key: String) -> Self {
        S3Policy {
            client,
            bucket,
            key,
        }
    }

    async fn fetch_now(&self, known: Option<String>) -> Result<Fetched, FetchError> {
        let mut request = self.client.get_object().bucket(&self.bucket).key(&self.key);
        if let Some(etag) = &known {
            request = request.if_none_match(etag);
        }
        let output = match request.send().await {
            Ok(output) => output,
            Err(err) => {
                let status = err.raw_response().map(|r| r.status().as_u16());
                if status == Some(304) {
                    return Ok(Fetched::Unchanged);
                }
                return Err(FetchError {
                    location: self.location(),
                    message: crate::aws::error_line(&err),
                });
            }
        };
        let version = output.e_tag().unwrap_or_default().to_owned();
        let bytes = output.body.collect().await.map_err(|e| FetchError {
            location: self.location(),
            message: e.to_string(),
        })?;
        Ok(Fetched::Changed {
            bytes: bytes.into_bytes().to_vec(),
            version,
        })
    }
}

impl PolicySource for S3Policy {
    fn fetch(&self, known: Option<String>) -> BoxFuture<'_, Result<Fetched, FetchError>> {
        Box::pin(self.fetch_now(known))
    }

    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(
            PolicyLocation::parse("s3://b/p/policy.json").unwrap(),
            PolicyLocation::S3 {
                bucket: "b".into(),
                key: "p/policy.json".into()
            }
        );
        assert_eq!(
            PolicyLocation::parse("/etc/p.json").unwrap(),
            PolicyLocation::File("/etc/p.json".into())
        );
        assert!(PolicyLocation::parse("s3://bucket").is_err());
        assert!(PolicyLocation::parse("s3:///key").is_err());
    }

    #[tokio::test]
    async fn a_file_is_read_again_only_when_it_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, "one").unwrap();
        let source = FilePolicy::new(path.clone());
        let Fetched::Changed { version, .. } = source.fetch(None).await.unwrap() else {
            panic!("first read")
        };
        assert!(matches!(
            source.fetch(Some(version.clone())).await.unwrap(),
            Fetched::Unchanged
        ));
        std::fs::write(&path, "three").unwrap();
        assert!(matches!(
            source.fetch(Some(version)).await.unwrap(),
            Fetched::Changed { .. }
        ));
        std::fs::remove_file(&path).unwrap();
        assert!(source.fetch(None).await.is_err());
    }
}
