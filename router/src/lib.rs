//! The `cdc-mask` command line and the router around the transformer.
//!
//! # Layout
//! - [`cli`]: the command-line arguments.
//! - [`cmd`]: one module per subcommand, mapping its arguments to the work.
//! - `plan`: what `run` and `replay` carry out: a source through both views
//!   into a sink in batches, then the accounting summary.
//! - `batcher`: the one delivery loop: batches cut by size and interval,
//!   named after their source range, delivered while the next one fills.
//! - [`pipeline`]: records through both views into a sink.
//! - [`source`]: where DMS records come from (file, stdin, generator,
//!   Kinesis shards).
//! - [`sink`]: where output goes (a local directory or S3, same layout, or
//!   Firehose).
//! - [`quarantine`]: the quarantine read back: counted, and reprocessed
//!   through both views once a transient cause is gone.
//! - `summary`: the accounting summary of `run` and `replay`.
//! - `progress`: progress on a terminal or as plain lines.
//! - `signal`: SIGINT/SIGTERM as a stop that delivers what was read first.
//! - `aws`: the AWS configuration of a command, loaded once on first use.
//! - `atomic_file`: files written whole or not at all.
//! - `settings`: the transformer's settings from command-line arguments.
//! - `backoff`: waits between retries.
//! - `test_support` (unit tests only): a pipeline over the sample policy.

mod atomic_file;
mod aws;
mod backoff;
mod batcher;
pub mod cli;
pub mod cmd;
pub mod pipeline;
mod plan;
mod progress;
pub mod quarantine;
mod settings;
mod signal;
pub mod sink;
pub mod source;
mod summary;
#[cfg(test)]
mod test_support;
