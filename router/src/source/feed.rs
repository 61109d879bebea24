//! The sources `run` reads on a thread of its own: a file (followed as it
//! grows, with `--follow`), stdin, or the generator. Their chunks arrive in
//! order, then their end, or the read error that ended them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use anyhow::{bail, Context as _};
use tokio::sync::mpsc;

use super::generate::GeneratorConfig;
use super::{file, paced, Chunk};

/// Chunks in flight between a reader thread and the pipeline (bounds memory).
const CHANNEL_CHUNKS: usize = 4;

/// A source read on a thread of its own, before it is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSpec {
    /// DMS JSON lines in a file.
    File {
        /// The file.
        path: PathBuf,
        /// Keep reading as it grows (until a stop).
        follow: bool,
    },
    /// DMS JSON lines on stdin.
    Stdin,
    /// The sample generator.
    Generate {
        /// Its seed.
        seed: u64,
        /// Records per second (unbounded without).
        rate: Option<u64>,
    },
}

impl FeedSpec {
    /// Opens the input, so that a missing file stops the command before any
    /// work; nothing is read until [`Feed::start`].
    ///
    /// # Errors
    /// `cannot read PATH` with the reason.
    pub fn open(self) -> anyhow::Result<Feed> {
        Ok(match self {
            FeedSpec::File { path, follow } => {
                let file = std::fs::File::open(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                Feed::from_reader(
                    Box::new(file),
                    path.display().to_string(),
                    label_of(&path),
                    follow,
                )
            }
            FeedSpec::Stdin => Feed::from_reader(
                Box::new(std::io::stdin()),
                "stdin".to_owned(),
                "stdin".to_owned(),
                false,
            ),
            FeedSpec::Generate { seed, rate } => Feed {
                input: Input::Generator {
                    config: GeneratorConfig {
                        seed,
                        ..GeneratorConfig::default()
                    },
                    rate,
                },
                name: "the generator".to_owned(),
                label: "generate".to_owned(),
            },
        })
    }
}

/// An opened source, not yet read.
pub struct Feed {
    input: Input,
    /// For messages: the path, `stdin`.
    name: String,
    /// First part of object names: path- and key-safe.
    label: String,
}

enum Input {
    Reader {
        reader: Box<dyn Read + Send>,
        follow: bool,
    },
    Generator {
        config: GeneratorConfig,
        rate: Option<u64>,
    },
}

impl Feed {
    /// DMS JSON lines from `reader`, named `name` in messages and `label`
    /// in object names.
    pub fn from_reader(
        reader: Box<dyn Read + Send>,
        name: String,
        label: String,
        follow: bool,
    ) -> Self {
        Feed {
            input: Input::Reader { reader, follow },
            name,
            label,
        }
    }

    /// The first part of object names (`<label>-<first>-<end>`).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Starts reading on a thread of its own.
    pub fn start(self) -> Chunks {
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        let reader = match self.input {
            Input::Reader { reader, follow } => file::spawn(reader, self.label, follow, tx),
            Input::Generator { config, rate } => paced::spawn(config, rate, tx),
        };
        Chunks {
            chunks: rx,
            reader: Some(reader),
            name: self.name,
        }
    }
}

/// What a started [`Feed`] reads.
pub struct Chunks {
    chunks: mpsc::Receiver<Chunk>,
    reader: Option<JoinHandle<std::io::Result<()>>>,
    name: String,
}

impl Chunks {
    /// The next chunk; `None` at the end of the input. Cancel-safe.
    ///
    /// # Errors
    /// The read error that ended the input (after every chunk read before
    /// it), as `reading NAME: …`.
    pub async fn next(&mut self) -> anyhow::Result<Option<Chunk>> {
        if let Some(chunk) = self.chunks.recv().await {
            return Ok(Some(chunk));
        }
        // The channel closes when the reader thread has returned (or
        // panicked): joining it does not wait, and says why it ended.
        match self.reader.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(None),
            Some(Ok(Err(e))) => Err(e).with_context(|| format!("reading {}", self.name)),
            Some(Err(_)) => bail!("reading {}: the reader stopped unexpectedly", self.name),
        }
    }
}

/// A file name made path- and key-safe, for object names.
fn label_of(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".to_owned());
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_key_safe() {
        assert_eq!(
            label_of(Path::new("/x/cdc changes.jsonl")),
            "cdc_changes.jsonl"
        );
    }

    #[tokio::test]
    async fn a_directory_given_as_a_file_is_a_read_error() {
        let dir = tempfile::tempdir().unwrap();
        let spec = FeedSpec::File {
            path: dir.path().to_path_buf(),
            follow: false,
        };
        let mut chunks = spec.open().unwrap().start();
        let e = chunks.next().await.unwrap_err();
        let text = format!("{e:#}");
        assert!(
            text.starts_with(&format!("reading {}: ", dir.path().display())),
            "{text}"
        );
        assert!(chunks.next().await.unwrap().is_none());
    }
}
