//! The output of one source range, held per partition until it is delivered
//! as one object per partition (see [`super::Lake`]).

use std::collections::HashMap;
use std::fmt::Write as _;

use cdc_mask_core::json;

use super::{Partition, Sink};

/// Where the quarantine reason side file goes, relative to the lake root:
/// one JSON line (`record_id`, `reason`) per quarantined record, never its
/// content.
pub const REASONS_PREFIX: &str = "quarantine/reasons";

/// Output lines of one batch, grouped by partition prefix
/// (`<view>/<schema>/<table>/dt=<date>`).
#[derive(Debug, Default)]
pub struct Batch {
    parts: HashMap<String, Vec<u8>>,
    reasons: Vec<u8>,
    key: String,
    bytes: usize,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Batch::default()
    }

    /// True when nothing has been written since the last [`Batch::take`].
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty() && self.reasons.is_empty()
    }

    /// Output bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Empties the batch: every (prefix, JSON lines) it holds, sorted by
    /// prefix, the reason side file under [`REASONS_PREFIX`].
    pub fn take(&mut self) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = self.parts.drain().collect();
        if !self.reasons.is_empty() {
            out.push((REASONS_PREFIX.to_owned(), std::mem::take(&mut self.reasons)));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        self.bytes = 0;
        out
    }
}

impl Sink for Batch {
    fn write(&mut self, p: Partition<'_>, line: &[u8]) -> std::io::Result<()> {
        self.key.clear();
        // Writing to a String cannot fail.
        let _ = write!(
            self.key,
            "{}/{}/{}/dt={}",
            p.view, p.schema, p.table, p.date
        );
        self.bytes += line.len();
        match self.parts.get_mut(self.key.as_str()) {
            Some(buffer) => buffer.extend_from_slice(line),
            None => {
                self.parts.insert(self.key.clone(), line.to_vec());
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    fn quarantined(&mut self, position: &str, reason: &str) -> std::io::Result<()> {
        self.reasons.extend_from_slice(br#"{"record_id":"#);
        json::write_string(&mut self.reasons, position);
        self.reasons.extend_from_slice(br#","reason":"#);
        json::write_string(&mut self.reasons, reason);
        self.reasons.extend_from_slice(b"}\n");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_lines_by_partition_and_keeps_reasons_apart() {
        let mut batch = Batch::new();
        let p = |view| Partition {
            view,
            schema: "s",
            table: "t",
            date: "2026-11-29",
        };
        batch.write(p("masked"), b"1\n").unwrap();
        batch.write(p("encrypted"), b"2\n").unwrap();
        batch.write(p("masked"), b"3\n").unwrap();
        batch.quarantined("f:7", "not_json").unwrap();
        assert_eq!(batch.bytes(), 6);
        let parts = batch.take();
        assert_eq!(
            parts,
            vec![
                ("encrypted/s/t/dt=2026-11-29".to_owned(), b"2\n".to_vec()),
                ("masked/s/t/dt=2026-11-29".to_owned(), b"1\n3\n".to_vec()),
                (
                    REASONS_PREFIX.to_owned(),
                    br#"{"record_id":"f:7","reason":"not_json"}"#
                        .iter()
                        .chain(b"\n")
                        .copied()
                        .collect()
                ),
            ]
        );
        assert!(batch.is_empty());
        assert_eq!(batch.bytes(), 0);
    }
}
