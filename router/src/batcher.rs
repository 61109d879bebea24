//! The one delivery loop of `run` and `replay`: records read from a source
//! go through the pipeline into a batch; the batch is cut once
//! `--flush-bytes` of input is in it or when the caller says (its
//! `--flush-interval` is up, a recorded cut is reached), named after the
//! source range it holds (`<label>-<first>-<last>`), and delivered while the
//! next one fills, so writing overlaps the transformer instead of pausing
//! it. Batches land in order: a cut first waits for the batch before it. A
//! [`Ledger`] (a replay's checkpoint) is told before each batch is
//! delivered and after it landed.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::pipeline::{Pipeline, PipelineStats, SourceRecord};
use crate::progress::Progress;
use crate::sink::{Batch, Output};

/// When a batch is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flush {
    /// Once this much input (record bytes) is in it: `--flush-bytes`.
    pub bytes: u64,
    /// This long after its first record, where the source applies it:
    /// `--flush-interval`.
    pub interval: Duration,
}

/// Where a source is, told about each batch's delivery.
pub trait Ledger: Send + Sync {
    /// Before the batch ending at position `last` is delivered.
    ///
    /// # Errors
    /// If it cannot be recorded; the batch is then not delivered.
    fn intend(&self, last: &str) -> anyhow::Result<()>;

    /// After the batch ending at `last` landed (`None`: no batch);
    /// `finished`: the source is read to its end.
    ///
    /// # Errors
    /// If it cannot be recorded.
    fn commit(&self, last: Option<&str>, finished: bool) -> anyhow::Result<()>;
}

/// Batches of one source (a file, the generator, one Kinesis shard).
///
/// A batch being delivered runs on a task of its own: after an error, call
/// [`Batcher::settle`] before giving up, so that it lands (or fails) before
/// the process ends.
pub struct Batcher {
    pipeline: Pipeline,
    output: Arc<Output>,
    progress: Arc<Progress>,
    ledger: Option<Arc<dyn Ledger>>,
    /// First part of every object name.
    label: String,
    flush: Flush,
    /// Records taken but not yet run through the pipeline.
    unprocessed: Vec<SourceRecord>,
    batch: Batch,
    /// Source positions of the first and the last record of the batch.
    range: Option<(String, String)>,
    /// Input bytes in the batch.
    input: u64,
    /// When the batch got its first record.
    opened: Option<Instant>,
    /// The batch being delivered: the objects it wrote, or its failure.
    delivering: Option<JoinHandle<anyhow::Result<u64>>>,
    /// Objects written by the batches that landed.
    objects: u64,
}

impl Batcher {
    /// Batches of records run through `pipeline`, delivered to `output` as
    /// objects named `<label>-<first>-<last>`.
    pub fn new(
        pipeline: Pipeline,
        output: Arc<Output>,
        progress: Arc<Progress>,
        label: String,
        flush: Flush,
    ) -> Self {
        Batcher {
            pipeline,
            output,
            progress,
            ledger: None,
            label,
            flush,
            unprocessed: Vec::new(),
            batch: Batch::new(),
            range: None,
            input: 0,
            opened: None,
            delivering: None,
            objects: 0,
        }
    }

    /// Tells `ledger` about every delivery.
    pub fn with_ledger(mut self, ledger: Arc<dyn Ledger>) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// Takes records read from the source, spanning source positions
    /// `first` (used if they open the batch) to `last`; they go through the
    /// pipeline at the next [`Batcher::process`] or cut.
    pub fn add(
        &mut self,
        records: impl IntoIterator<Item = SourceRecord>,
        first: &str,
        last: &str,
    ) {
        let (mut count, mut bytes) = (0u64, 0u64);
        self.unprocessed
            .extend(records.into_iter().inspect(|record| {
                count += 1;
                bytes += record.bytes.len() as u64;
            }));
        self.progress.add(count, bytes);
        self.input += bytes;
        match &mut self.range {
            Some((_, end)) => last.clone_into(end),
            None => self.range = Some((first.to_owned(), last.to_owned())),
        }
        self.opened.get_or_insert_with(Instant::now);
    }

    /// Runs the records taken so far through the pipeline into the batch.
    ///
    /// # Errors
    /// As [`Pipeline::process`].
    pub async fn process(&mut self) -> anyhow::Result<()> {
        if !self.unprocessed.is_empty() {
            self.pipeline
                .process(&self.unprocessed, &mut self.batch)
                .await?;
            self.unprocessed.clear();
        }
        Ok(())
    }

    /// Whether `--flush-bytes` of input is in the batch.
    pub fn is_full(&self) -> bool {
        self.input >= self.flush.bytes
    }

    /// When the batch is due by `--flush-interval` (`None`: it is empty).
    pub fn due_at(&self) -> Option<Instant> {
        self.opened.map(|opened| opened + self.flush.interval)
    }

    /// Whether the batch is due by `--flush-interval`.
    pub fn is_due(&self) -> bool {
        self.due_at().is_some_and(|at| Instant::now() >= at)
    }

    /// Cuts the batch: runs what is left of it through the pipeline and,
    /// once the batch before it landed, starts delivering it.
    ///
    /// # Errors
    /// A pipeline failure, the failure of the batch before, or the ledger's.
    pub async fn cut(&mut self) -> anyhow::Result<()> {
        self.cut_as(false).await
    }

    /// Delivers what is left and waits until everything landed; `finished`
    /// (the source is read to its end) is told to the ledger with the last
    /// batch.
    ///
    /// # Errors
    /// As [`Batcher::cut`], or the failure of the last delivery.
    pub async fn close(&mut self, finished: bool) -> anyhow::Result<()> {
        self.cut_as(finished).await?;
        self.settle().await
    }

    /// Waits for the batch being delivered and leaves the records taken
    /// since, unprocessed and undelivered; returns how many they are.
    ///
    /// # Errors
    /// The failure of the batch being delivered.
    pub async fn abandon(&mut self) -> anyhow::Result<u64> {
        self.settle().await?;
        Ok(self.unprocessed.len() as u64)
    }

    /// Waits for the batch being delivered, if any.
    ///
    /// # Errors
    /// Its failure.
    pub async fn settle(&mut self) -> anyhow::Result<()> {
        if let Some(delivery) = self.delivering.take() {
            self.objects += delivery.await.context("a delivery panicked")??;
        }
        Ok(())
    }

    /// The pipeline's counts so far.
    pub fn stats(&self) -> &PipelineStats {
        self.pipeline.stats()
    }

    /// Objects written by the batches that landed.
    pub fn objects(&self) -> u64 {
        self.objects
    }

    async fn cut_as(&mut self, finished: bool) -> anyhow::Result<()> {
        self.process().await?;
        self.input = 0;
        self.opened = None;
        let Some((first, last)) = self.range.take() else {
            if finished {
                self.settle().await?;
                if let Some(ledger) = &self.ledger {
                    ledger.commit(None, true)?;
                }
            }
            return Ok(());
        };
        let name = format!("{}-{first}-{last}", self.label);
        // Batches land in order, and the ledger hears of them in order.
        self.settle().await?;
        if let Some(ledger) = &self.ledger {
            ledger.intend(&last)?;
        }
        let mut batch = std::mem::take(&mut self.batch);
        let output = Arc::clone(&self.output);
        let ledger = self.ledger.clone();
        self.delivering = Some(tokio::spawn(async move {
            let objects = output.deliver(&mut batch, &name).await?;
            if let Some(ledger) = ledger {
                ledger.commit(Some(&last), finished)?;
            }
            Ok(objects as u64)
        }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Mutex;

    use super::*;
    use crate::sink::Lake;
    use crate::test_support::{object_names, pipeline, records};

    /// Writes down what it is told.
    #[derive(Default)]
    struct Notes(Mutex<Vec<String>>);

    impl Ledger for Notes {
        fn intend(&self, last: &str) -> anyhow::Result<()> {
            self.0.lock().unwrap().push(format!("intend {last}"));
            Ok(())
        }
        fn commit(&self, last: Option<&str>, finished: bool) -> anyhow::Result<()> {
            let last = last.unwrap_or("-");
            self.0
                .lock()
                .unwrap()
                .push(format!("commit {last} finished={finished}"));
            Ok(())
        }
    }

    async fn batcher(lake: &Path, keyring: &Path, flush: Flush) -> Batcher {
        std::fs::create_dir_all(lake).unwrap();
        Batcher::new(
            pipeline(keyring).await,
            Arc::new(Output::Lake(Lake::Dir(lake.to_path_buf()))),
            Progress::new(None),
            "src".to_owned(),
            flush,
        )
    }
    #[tokio::test]
    async fn batches_are_named_after_their_range_and_the_ledger_hears_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path().join("lake");
        let flush = Flush {
            bytes: 1,
            interval: Duration::from_secs(3600),
        };
        let notes = Arc::new(Notes::default());
        let mut batcher = batcher(&lake, &dir.path().join("keyring"), flush)
            .await
            .with_ledger(Arc::clone(&notes) as Arc<dyn Ledger>);
        let mut records = records(4).into_iter();
        assert!(!batcher.is_full() && batcher.due_at().is_none());
        batcher.add(records.next(), "1", "1");
        batcher.add(records.next(), "2", "2");
        assert!(batcher.is_full() && batcher.due_at().is_some() && !batcher.is_due());
        batcher.cut().await.unwrap();
        assert!(!batcher.is_full() && batcher.due_at().is_none());
        batcher.add(records, "3", "4");
        batcher.close(true).await.unwrap();
        batcher.close(true).await.unwrap();
        assert_eq!(
            *notes.0.lock().unwrap(),
            [
                "intend 2",
                "commit 2 finished=false",
                "intend 4",
                "commit 4 finished=true",
                "commit - finished=true",
            ]
        );
        assert_eq!(batcher.stats().records, 4);
        assert_eq!(object_names(&lake), ["src-1-2.jsonl", "src-3-4.jsonl"]);
        // Control records of two tables; the third's, then a row in both
        // views.
        assert_eq!(batcher.objects(), 2 + 3);
    }

    #[tokio::test]
    async fn abandoning_leaves_the_records_taken_undelivered() {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path().join("lake");
        let flush = Flush {
            bytes: 1 << 20,
            interval: Duration::from_secs(3600),
        };
        let mut batcher = batcher(&lake, &dir.path().join("keyring"), flush).await;
        batcher.add(records(3), "1", "3");
        assert_eq!(batcher.abandon().await.unwrap(), 3);
        assert_eq!(batcher.stats().records, 0);
        assert!(object_names(&lake).is_empty());
    }
}
