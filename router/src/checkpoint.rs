//! The replay checkpoint: per shard, the last sequence number whose batch was
//! delivered, and whether the shard was read to its end. Written after each
//! delivered batch by writing a temporary file and renaming it over the old
//! one, so a killed replay finds either the old or the new checkpoint.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};

/// Format version written into checkpoints.
const VERSION: u32 = 1;

/// Where a replay is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version.
    pub version: u32,
    /// The stream (name or ARN, as given).
    pub stream: String,
    /// Per shard id.
    pub shards: BTreeMap<String, ShardCheckpoint>,
}

/// Where one shard is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardCheckpoint {
    /// Last sequence number delivered (in both views).
    pub sequence: Option<String>,
    /// Closed and read to its end: its children may be read.
    #[serde(default)]
    pub finished: bool,
    /// Last sequence number of the batch being delivered when this was
    /// written. A replay that resumes cuts its first batch exactly there, so
    /// the objects a killed delivery left are overwritten under the same
    /// names instead of being duplicated under new ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<String>,
}

impl Checkpoint {
    /// An empty checkpoint for `stream`.
    pub fn new(stream: &str) -> Self {
        Checkpoint {
            version: VERSION,
            stream: stream.to_owned(),
            shards: BTreeMap::new(),
        }
    }

    /// Reads a checkpoint; `None` if the file does not exist.
    ///
    /// # Errors
    /// One line: unreadable, not a checkpoint, an unknown version.
    pub fn load(path: &Path) -> anyhow::Result<Option<Self>> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => bail!("cannot read checkpoint {}: {e}", path.display()),
        };
        // Position only: serde messages can quote the content.
        let checkpoint: Checkpoint = serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!(
                "checkpoint {} is not a cdc-mask checkpoint (line {}, column {})",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        if checkpoint.version != VERSION {
            bail!(
                "checkpoint {} has version {}, this cdc-mask reads version {VERSION}",
                path.display(),
                checkpoint.version
            );
        }
        Ok(Some(checkpoint))
    }

    /// Writes the checkpoint atomically (temporary file, fsync, rename).
    ///
    /// # Errors
    /// Any I/O error, naming the path.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        let mut json = serde_json::to_vec_pretty(self).context("checkpoint")?;
        json.push(b'\n');
        let mut file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write checkpoint {}", tmp.display()))?;
        file.write_all(&json)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write checkpoint {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot write checkpoint {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        assert_eq!(Checkpoint::load(&path).unwrap(), None);
        let mut cp = Checkpoint::new("cdc");
        cp.shards.insert(
            "shardId-000000000000".into(),
            ShardCheckpoint {
                sequence: Some("42".into()),
                finished: true,
                in_flight: Some("43".into()),
            },
        );
        cp.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), Some(cp));
        std::fs::write(&path, b"{\"secret\": ").unwrap();
        let e = Checkpoint::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("not a cdc-mask checkpoint") && !e.contains("secret"),
            "{e}"
        );
    }
}
