//! The `cdc-mask` command line and the router around the transformer.
//!
//! # Layout
//! - [`cli`]: the command-line arguments.
//! - [`cmd`]: one module per subcommand.
//! - [`source`]: where DMS records come from (file, stdin, generator, Kinesis).
//! - [`sink`]: where output lines go (a local directory or S3, same layout).
//! - [`pipeline`]: records through both views into a sink.
//! - [`keys`]: key settings from command-line arguments.
//! - `aws`: the AWS configuration of a command, loaded once on first use.
//! - [`backoff`]: waits between retries.
//! - [`checkpoint`]: where a replay is, for resuming.
//! - [`progress`]: progress on a terminal or as plain lines.

mod aws;
pub mod backoff;
pub mod checkpoint;
pub mod cli;
pub mod cmd;
pub mod keys;
pub mod pipeline;
pub mod progress;
pub mod sink;
pub mod source;
