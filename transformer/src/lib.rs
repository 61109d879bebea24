//! Masks and encrypts PII in AWS DMS change records, inline in a Firehose
//! data-transformation Lambda or in the `cdc-mask` router.
//!
//! # Layout
//! - [`json`]: strict, byte-preserving JSON scanning and writing.
//! - [`envelope`]: the DMS Kinesis-target record (`data`, `metadata`, `before-image`).
//! - [`policy`]: which columns are protected and how; compiled lookups.
//! - [`findings`]: a policy compiled from Amazon Macie findings (`findings compile`).
//! - [`policy_compiler`]: the policy Lambda's recompile of findings in S3.
//! - [`policy_source`]: where the policy is read from (file, S3), conditionally.
//! - [`policy_cache`]: the current policy, re-checked per TTL, stale after a max age.
//! - [`mask`]: the masked view's actions (`redact`, `partial`, `token`, …).
//! - [`cipher`]: the encrypted-value and quarantine formats.
//! - [`keys`]: data keys, the KMS and local-keyring providers, caches, the token key.
//! - [`transform`]: the pure core, one record in, one output line out.
//! - [`decrypt`]: the inverse of the encrypted view and of the quarantine.
//! - [`firehose`]: the Firehose transformation contract over a batch.
//! - [`partition`]: partition values (`view`, `schema`, `table`, `dt`).
//! - [`reason`]: why a record is quarantined.
//! - [`config`]: the Lambda's environment.
//! - [`lambda_logging`]: how the Lambda binaries log.

pub mod cipher;
pub mod config;
pub mod decrypt;
pub mod envelope;
pub mod findings;
pub mod firehose;
pub mod json;
pub mod keys;
pub mod lambda_logging;
pub mod mask;
pub mod partition;
pub mod policy;
pub mod policy_cache;
pub mod policy_compiler;
pub mod policy_source;
pub mod reason;
pub mod transform;

pub use firehose::{BatchResult, BatchStats, Processor, ViewMode};
pub use policy::{Policy, View};
pub use reason::Reason;
pub use transform::{Outcome, Scratch, Shape, Transformer};
