//! The AWS edge of cdc-mask around the pure core (`cdc-mask-core`): where
//! keys and the policy come from, the Lambda binaries, and their settings.
//!
//! # Layout
//! - [`aws`]: the one place AWS clients are made (shared config, read
//!   timeout, retry counting, errors as one line).
//! - [`cpu`]: the CPU instructions the build requires, checked at start.
//! - [`keys`]: data-key providers (KMS, local keyring), their caches, the
//!   token key from Secrets Manager.
//! - [`policy_source`]: where the policy is read from (file, S3), conditionally.
//! - [`policy_cache`]: the current policy, re-checked per TTL, stale after a max age.
//! - [`findings_store`]: Macie findings in and the policy out, in S3.
//! - [`policy_compiler`]: the policy Lambda's recompile of findings in S3.
//! - [`settings`]: settings from the environment or the command line, built
//!   into a processor.
//! - [`processor`]: a Firehose event answered with the current policy and keys.
//! - [`lambda`]: what the Lambda binaries share (logging, handler, metrics).

pub mod aws;
pub mod cpu;
pub mod findings_store;
pub mod keys;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod policy_cache;
pub mod policy_compiler;
pub mod policy_source;
pub mod processor;
pub mod settings;

pub use processor::Processor;
