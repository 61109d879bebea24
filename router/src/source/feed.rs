//! The sources `run` reads on a thread of its own: a file (followed as it
//! grows, with `--follow`), stdin, or the generator. Their chunks arrive in
//! order, then their end.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
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
                Feed::from_reader(Box::new(file), label_of(&path), follow)
            }
            FeedSpec::Stdin => {
                Feed::from_reader(Box::new(std::io::stdin()), "stdin".to_owned(), false)
            }
            FeedSpec::Generate { seed, rate } => Feed {
                input: Input::Generator {
                    config: GeneratorConfig {
                        seed,
                        ..GeneratorConfig::default()
                    },
                    rate,
                },
                label: "generate".to_owned(),
            },
        })
    }
}

/// An opened source, not yet read.
pub struct Feed {
    input: Input,
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
    /// DMS JSON lines from `reader`, named `label` in object names.
    pub fn from_reader(reader: Box<dyn Read + Send>, label: String, follow: bool) -> Self {
        Feed {
            input: Input::Reader { reader, follow },
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
        match self.input {
            Input::Reader { reader, follow } => drop(file::spawn(reader, self.label, follow, tx)),
            Input::Generator { config, rate } => drop(paced::spawn(config, rate, tx)),
        }
        Chunks { chunks: rx }
    }
}

/// What a started [`Feed`] reads.
pub struct Chunks {
    chunks: mpsc::Receiver<Chunk>,
}

impl Chunks {
    /// The next chunk; `None` at the end of the input. Cancel-safe.
    ///
    /// # Errors
    /// None yet: the reader's result is not looked at.
    pub async fn next(&mut self) -> anyhow::Result<Option<Chunk>> {
        Ok(self.chunks.recv().await)
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
}
