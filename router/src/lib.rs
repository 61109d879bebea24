//! The `cdc-mask` command line and the router around the transformer.
//!
//! # Layout
//! - [`cli`]: the command-line arguments.
//! - [`cmd`]: one module per subcommand.
//! - [`source`]: where DMS records come from (the generator).
//! - [`sink`]: where output lines go (a local directory laid out like S3).
//! - [`pipeline`]: records through both views into a sink.
//! - [`keys`]: key settings from command-line arguments.

pub mod cli;
pub mod cmd;
pub mod keys;
pub mod pipeline;
pub mod sink;
pub mod source;
