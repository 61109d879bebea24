//! The output of one source range, held per partition until it is delivered
//! as one object per partition (see [`super::Lake`]).

use std::collections::HashMap;

use cdc_mask_core::json;

use super::{write_prefix, OutputView, Partition, Sink};

/// Where the quarantine reason side file goes, relative to the lake root:
/// one JSON line (`record_id`, `reason`) per quarantined record, never its
/// content.
pub const REASONS_PREFIX: &str = "quarantine/reasons";

/// Where suggested findings go, relative to the lake root: one JSON line
/// `{schema, table, column, detector, count}` per column the guard caught
/// values in (schemas/suggested-findings.md), never a value.
pub const SUGGESTED_PREFIX: &str = "findings/suggested";

/// The lines of one partition (or the reason side file) in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The top-level prefix of `prefix` (the reason side file is
    /// [`OutputView::Quarantine`]).
    pub view: OutputView,
    /// `<view>/<schema>/<table>/dt=<date>`, [`REASONS_PREFIX`] or
    /// [`SUGGESTED_PREFIX`] (with view [`OutputView::Control`], so that it
    /// goes where the control log goes).
    pub prefix: String,
    /// JSON lines, each ending in `\n`.
    pub lines: Vec<u8>,
}

/// Output lines of one batch, grouped by partition prefix
/// (`<view>/<schema>/<table>/dt=<date>`).
#[derive(Debug, Default)]
pub struct Batch {
    parts: HashMap<String, (OutputView, Vec<u8>)>,
    reasons: Vec<u8>,
    suggested: Vec<u8>,
    /// The prefix being looked up, reused so that a line costs no allocation.
    key: String,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Batch::default()
    }

    /// Empties the batch: every part it holds, sorted by prefix, the reason
    /// side file under [`REASONS_PREFIX`].
    pub fn take(&mut self) -> Vec<Part> {
        let mut out: Vec<Part> = self
            .parts
            .drain()
            .map(|(prefix, (view, lines))| Part {
                view,
                prefix,
                lines,
            })
            .collect();
        if !self.reasons.is_empty() {
            out.push(Part {
                view: OutputView::Quarantine,
                prefix: REASONS_PREFIX.to_owned(),
                lines: std::mem::take(&mut self.reasons),
            });
        }
        if !self.suggested.is_empty() {
            out.push(Part {
                view: OutputView::Control,
                prefix: SUGGESTED_PREFIX.to_owned(),
                lines: std::mem::take(&mut self.suggested),
            });
        }
        out.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        out
    }
}

impl Sink for Batch {
    fn write(&mut self, p: Partition<'_>, line: &[u8]) -> std::io::Result<()> {
        self.key.clear();
        write_prefix(&mut self.key, p.view.as_str(), p.schema, p.table, p.date);
        match self.parts.get_mut(self.key.as_str()) {
            Some((_, buffer)) => buffer.extend_from_slice(line),
            None => {
                self.parts.insert(self.key.clone(), (p.view, line.to_vec()));
            }
        }
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

    fn suggested(&mut self, lines: &[u8]) -> std::io::Result<()> {
        self.suggested.extend_from_slice(lines);
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
        batch.write(p(OutputView::Masked), b"1\n").unwrap();
        batch.write(p(OutputView::Encrypted), b"2\n").unwrap();
        batch.write(p(OutputView::Masked), b"3\n").unwrap();
        batch.quarantined("f:7", "not_json").unwrap();
        batch.suggested(b"{\"count\":1}\n").unwrap();
        let part = |view, prefix: &str, lines: &[u8]| Part {
            view,
            prefix: prefix.to_owned(),
            lines: lines.to_vec(),
        };
        assert_eq!(
            batch.take(),
            vec![
                part(OutputView::Encrypted, "encrypted/s/t/dt=2026-11-29", b"2\n"),
                part(OutputView::Control, SUGGESTED_PREFIX, b"{\"count\":1}\n"),
                part(OutputView::Masked, "masked/s/t/dt=2026-11-29", b"1\n3\n"),
                part(
                    OutputView::Quarantine,
                    REASONS_PREFIX,
                    b"{\"record_id\":\"f:7\",\"reason\":\"not_json\"}\n"
                ),
            ]
        );
        assert!(batch.take().is_empty());
    }
}
