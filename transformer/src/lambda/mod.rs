//! What the Lambda binaries share: logging that no `RUST_LOG` can turn into
//! a leak, the transformer's handler and its metrics.
//!
//! # Layout
//! - `logging`: plain lines, and a cap no directive overrides.
//! - `read_first`: the event read by the core's parser before the runtime
//!   would read it with `serde_json`.
//! - `handler`: one Firehose event in, the response bytes out, as is.
//! - `metrics`: one CloudWatch Embedded Metric Format line per batch.

mod handler;
mod logging;
mod metrics;
mod read_first;

pub use handler::{answer, handle, RawJson};
pub use logging::init as init_logging;
pub use metrics::emf_line;
pub use read_first::{EventSlot, ReadFirst, ReadFirstLayer};

/// Ends a Lambda's init that cannot work: one line on stderr naming what
/// is wrong (the init fails; Lambda logs it and reports the function
/// unhealthy), exit code 1.
pub fn exit_at_init(error: &dyn std::fmt::Display) -> ! {
    eprintln!("init failed: {error}");
    std::process::exit(1)
}
