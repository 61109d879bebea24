//! The local lake: a directory laid out exactly like the S3 prefixes.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use super::{Partition, Sink};

/// Writes JSON lines under a root directory, one object file per partition.
pub struct DirSink {
    root: PathBuf,
    object: String,
    open: HashMap<PathBuf, BufWriter<File>>,
}

impl DirSink {
    /// A sink writing `<root>/<view>/<schema>/<table>/dt=<date>/<object>`.
    /// Objects are created (truncated) on first write, so re-running the same
    /// input with the same object name replaces instead of duplicating.
    pub fn new(root: &Path, object: &str) -> Self {
        DirSink {
            root: root.to_path_buf(),
            object: object.to_owned(),
            open: HashMap::new(),
        }
    }

    /// The file a partition is written to.
    pub fn path_of(&self, p: Partition<'_>) -> PathBuf {
        self.root
            .join(p.view.as_str())
            .join(p.schema)
            .join(p.table)
            .join(format!("dt={}", p.date))
            .join(&self.object)
    }
}

impl Sink for DirSink {
    fn write(&mut self, partition: Partition<'_>, line: &[u8]) -> std::io::Result<()> {
        let path = self.path_of(partition);
        if let Some(writer) = self.open.get_mut(&path) {
            return writer.write_all(line);
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut writer = BufWriter::with_capacity(256 * 1024, File::create(&path)?);
        writer.write_all(line)?;
        self.open.insert(path, writer);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        for writer in self.open.values_mut() {
            writer.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_like_s3_and_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let p = Partition {
            view: crate::sink::OutputView::Masked,
            schema: "dataset",
            table: "customer",
            date: "2026-11-28",
        };
        for _ in 0..2 {
            let mut sink = DirSink::new(dir.path(), "part.jsonl");
            sink.write(p, b"{\"a\":1}\n").unwrap();
            sink.write(p, b"{\"a\":2}\n").unwrap();
            sink.flush().unwrap();
        }
        let path = dir
            .path()
            .join("masked/dataset/customer/dt=2026-11-28/part.jsonl");
        assert_eq!(std::fs::read(path).unwrap(), b"{\"a\":1}\n{\"a\":2}\n");
    }
}
