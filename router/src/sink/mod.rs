//! Where transformed lines go. Every sink lays records out like the S3 lake:
//! `<view>/<schema>/<table>/dt=<YYYY-MM-DD>/<object>`, with `view` one of
//! `masked`, `encrypted`, `control`, `quarantine`.

mod batch;
mod dir;
pub mod firehose;
mod lake;
mod output;

pub use batch::Batch;
pub use dir::DirSink;
pub use lake::{Lake, LakeSpec};
pub use output::{Output, OutputSpec};

/// The partition of one output line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partition<'a> {
    /// `masked`, `encrypted`, `control` or `quarantine`.
    pub view: &'a str,
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

    /// Makes everything written so far durable.
    ///
    /// # Errors
    /// Any I/O error of the destination.
    fn flush(&mut self) -> std::io::Result<()>;

    /// Notes that the record at `position` was quarantined for `reason` (the
    /// sealed record itself arrives through [`Sink::write`]). Sinks that keep
    /// a reason side file override this; the default keeps nothing.
    ///
    /// # Errors
    /// Any I/O error of the destination.
    fn quarantined(&mut self, _position: &str, _reason: &str) -> std::io::Result<()> {
        Ok(())
    }
}
