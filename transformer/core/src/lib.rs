//! The pure core of cdc-mask: AWS DMS change records in, masked or
//! encrypted rows out. No I/O, no async, no AWS SDK: everything here is a
//! function of its inputs (and of fresh randomness for nonces and keys), so
//! it builds and tests in seconds and runs the same in the Lambda, the
//! router and the fuzzers.
//!
//! # Layout
//! - `json`: strict, byte-preserving JSON scanning and writing.
//! - `envelope`: the DMS Kinesis-target record (`data`, `metadata`, `before-image`).
//! - `policy`: which columns are protected and how; compiled lookups.
//! - `mask`: the masked view's actions (`redact`, `partial`, `token`, …).
//! - `keys`: data keys (AES-256-GCM) and the token (HMAC) key.
//! - `cipher`: the encrypted-value and quarantine formats.
//! - `transform`: one record in, one output line of one view out.
//! - `firehose`: the Firehose transformation contract over a batch.
//! - `decrypt`: the inverse of the encrypted view and of the quarantine.
//! - `partition`: partition values (`view`, `schema`, `table`, `dt`).
//! - `reason`: why a record is quarantined.
//! - `ddl`: control records announcing columns the policy does not list.
//! - `findings`: a policy compiled from Amazon Macie findings.
//! - `guard`: validated PII detectors for the columns the policy does not list.

pub mod cipher;
pub mod ddl;
pub mod decrypt;
pub mod envelope;
pub mod findings;
pub mod firehose;
pub mod guard;
pub mod json;
pub mod keys;
mod mask;
pub mod partition;
pub mod policy;
mod reason;
mod transform;

pub use firehose::{BatchResult, BatchStats, ViewMode};
pub use policy::{Policy, View};
pub use reason::Reason;
pub use transform::{Outcome, Route, Scratch, SetupError, Shape, Transformer};
