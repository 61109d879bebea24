//! The replay checkpoint: per shard, the last sequence number whose batch was
//! delivered, and whether the shard was read to its end. Written after each
//! delivered batch (and before, with the end of the batch in flight) by
//! writing a temporary file and renaming it over the old one, so a killed
//! replay finds either the old or the new checkpoint.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};

use crate::batcher::Ledger;

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
        let mut json = serde_json::to_vec_pretty(self).context("checkpoint")?;
        json.push(b'\n');
        crate::atomic_file::write(path, &json).context("cannot save the checkpoint")
    }
}

/// The checkpoint of a running replay: shared by the shard consumers, and
/// written after every change when the replay has a `--checkpoint` file.
#[derive(Debug)]
pub struct CheckpointFile {
    path: Option<PathBuf>,
    state: Mutex<Checkpoint>,
}

impl CheckpointFile {
    /// The checkpoint at `path` (an empty one if there is no file yet, or
    /// no path), which must be one for `stream`.
    ///
    /// # Errors
    /// As [`Checkpoint::load`], or a checkpoint of another stream.
    pub fn open(path: Option<PathBuf>, stream: &str) -> anyhow::Result<Self> {
        let checkpoint = match &path {
            Some(path) => match Checkpoint::load(path)? {
                Some(cp) if cp.stream != stream => bail!(
                    "checkpoint {} is for stream {}, not {stream}",
                    path.display(),
                    cp.stream,
                ),
                Some(cp) => cp,
                None => Checkpoint::new(stream),
            },
            None => Checkpoint::new(stream),
        };
        Ok(CheckpointFile {
            path,
            state: Mutex::new(checkpoint),
        })
    }

    /// The `--checkpoint` file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Where `shard` is.
    pub fn position(&self, shard: &str) -> ShardCheckpoint {
        self.lock().shards.get(shard).cloned().unwrap_or_default()
    }

    /// The shards read to their end.
    pub fn finished(&self) -> HashSet<String> {
        self.lock()
            .shards
            .iter()
            .filter(|(_, s)| s.finished)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The ledger of `shard`, for its batcher.
    pub fn ledger(self: &Arc<Self>, shard: &str) -> Arc<dyn Ledger> {
        Arc::new(ShardLedger {
            file: Arc::clone(self),
            shard: shard.to_owned(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Checkpoint> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One shard's part of a [`CheckpointFile`].
struct ShardLedger {
    file: Arc<CheckpointFile>,
    shard: String,
}

impl Ledger for ShardLedger {
    /// Records that the batch ending at `last` is in flight (see
    /// [`ShardCheckpoint::in_flight`]).
    fn intend(&self, last: &str) -> anyhow::Result<()> {
        let Some(path) = &self.file.path else {
            return Ok(());
        };
        let mut cp = self.file.lock();
        cp.shards.entry(self.shard.clone()).or_default().in_flight = Some(last.to_owned());
        cp.save(path)
    }

    /// Records the shard's position and writes the checkpoint file.
    fn commit(&self, last: Option<&str>, finished: bool) -> anyhow::Result<()> {
        let mut cp = self.file.lock();
        let entry = cp.shards.entry(self.shard.clone()).or_default();
        if let Some(seq) = last {
            entry.sequence = Some(seq.to_owned());
            entry.in_flight = None;
        }
        entry.finished |= finished;
        match &self.file.path {
            Some(path) => cp.save(path),
            None => Ok(()),
        }
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

    #[test]
    fn a_shard_ledger_records_the_batch_in_flight_until_it_lands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        let file = Arc::new(CheckpointFile::open(Some(path.clone()), "cdc").unwrap());
        let ledger = file.ledger("shardId-000000000000");
        let saved = || Checkpoint::load(&path).unwrap().unwrap().shards;
        ledger.intend("7").unwrap();
        let shard = &saved()["shardId-000000000000"];
        assert_eq!(
            (shard.sequence.as_deref(), shard.in_flight.as_deref()),
            (None, Some("7"))
        );
        ledger.commit(Some("7"), false).unwrap();
        ledger.commit(None, true).unwrap();
        let shard = &saved()["shardId-000000000000"];
        assert_eq!(
            (shard.sequence.as_deref(), shard.in_flight.as_deref()),
            (Some("7"), None)
        );
        assert!(shard.finished);
        assert_eq!(file.finished().len(), 1);
        let e = CheckpointFile::open(Some(path), "other")
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("is for stream cdc, not other"), "{e}");
    }
}
