//! For unit tests: a pipeline over the sample policy and a fresh keyring,
//! records from the generator, an input that fails half-way.

use std::io::{Cursor, Read};
use std::path::Path;

use crate::pipeline::{Pipeline, SourceRecord};
use crate::source::generate::{Generator, GeneratorConfig};

/// A pipeline with `schemas/examples/policy.json` and a keyring in
/// `keyring` (created on first use).
pub async fn pipeline(keyring: &Path) -> Pipeline {
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/examples/policy.json");
    let settings = crate::settings::local(&policy, keyring).unwrap();
    Pipeline::new(crate::settings::load(&settings).await.unwrap())
}

/// The generator's first `count` records (three control records, then
/// full-load rows).
pub fn records(count: usize) -> Vec<SourceRecord> {
    Generator::new(GeneratorConfig::default())
        .take(count)
        .enumerate()
        .map(|(i, bytes)| SourceRecord {
            id: format!("test:{i}"),
            bytes,
        })
        .collect()
}

/// The object names under `root`, sorted, each once.
pub fn object_names(root: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                names.push(path.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// `bytes`, then a read error (`the disk went away`) where they end.
pub struct FailingInput(pub Cursor<Vec<u8>>);

impl Read for FailingInput {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(buf)? {
            0 => Err(std::io::Error::other("the disk went away")),
            n => Ok(n),
        }
    }
}
