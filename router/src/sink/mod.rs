//! Where transformed lines go. Every sink lays records out like the S3 lake:
//! `<view>/<schema>/<table>/dt=<YYYY-MM-DD>/<object>`, with `view` one of
//! `masked`, `encrypted`, `control`, `quarantine` ([`OutputView`]).
//!
//! - `batch`: the lines of one batch, per partition.
//! - `lake`: a local directory or an S3 prefix, one object per partition
//!   and batch.
//! - `firehose`: the two Direct-PUT delivery streams, with a side lake.
//! - `output`: `--sink` parsed and opened: a lake or Firehose.

mod batch;
mod firehose;
mod lake;
mod output;

pub(crate) use batch::{Batch, Part, REASONS_PREFIX};
pub(crate) use lake::{Lake, LakeSpec};
pub(crate) use output::{Output, OutputSpec};

use cdc_mask_core::firehose::{CONTROL_VIEW, QUARANTINE_VIEW};
use cdc_mask_core::View;

/// The top-level prefix an output line goes under: one of the two views of
/// the data, the control log or the quarantine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputView {
    /// Rows with protected values masked or tokenised, for analysts.
    Masked,
    /// Rows with protected values encrypted, for ML training.
    Encrypted,
    /// Control records (DDL): their `control` and `metadata` members only.
    Control,
    /// Records that could not be protected, sealed.
    Quarantine,
}

impl OutputView {
    /// `masked`, `encrypted`, `control` or `quarantine`: the prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputView::Masked => View::Masked.as_str(),
            OutputView::Encrypted => View::Encrypted.as_str(),
            OutputView::Control => CONTROL_VIEW,
            OutputView::Quarantine => QUARANTINE_VIEW,
        }
    }
}

impl From<View> for OutputView {
    fn from(view: View) -> Self {
        match view {
            View::Masked => OutputView::Masked,
            View::Encrypted => OutputView::Encrypted,
        }
    }
}

/// Writes the partition prefix `<view>/<schema>/<table>/dt=<date>`: the one
/// place the lake's layout is spelled (the Firehose console guide's S3
/// prefix is checked against it, with placeholders for the segments).
pub fn write_prefix(out: &mut String, view: &str, schema: &str, table: &str, date: &str) {
    out.push_str(view);
    out.push('/');
    out.push_str(schema);
    out.push('/');
    out.push_str(table);
    out.push_str("/dt=");
    out.push_str(date);
}

/// The partition of one output line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partition<'a> {
    /// The top-level prefix.
    pub view: OutputView,
    /// Path-safe schema segment.
    pub schema: &'a str,
    /// Path-safe table segment.
    pub table: &'a str,
    /// `YYYY-MM-DD` or `unknown`.
    pub date: &'a str,
}

/// A destination for output lines.
pub trait Sink {
    /// Appends one line (ending in `\n`) to `partition`.
    ///
    /// # Errors
    /// Any I/O error of the destination.
    fn write(&mut self, partition: Partition<'_>, line: &[u8]) -> std::io::Result<()>;

    /// Notes that the record at `position` was quarantined for `reason` (the
    /// sealed record itself arrives through [`Sink::write`]). Sinks that keep
    /// a reason side file override this; the default keeps nothing.
    ///
    /// # Errors
    /// Any I/O error of the destination.
    fn quarantined(&mut self, _position: &str, _reason: &str) -> std::io::Result<()> {
        Ok(())
    }

    /// Takes suggested-findings JSON lines (what the guard found in
    /// unlisted columns: names and counts). Sinks that keep them (under
    /// `findings/suggested/`) override this; the default keeps nothing.
    ///
    /// # Errors
    /// Any I/O error of the destination.
    fn suggested(&mut self, _lines: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
}
