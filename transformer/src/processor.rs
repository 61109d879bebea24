//! The Firehose Lambda's processor: the current policy and the data keys
//! around the pure [`firehose`](cdc_mask_core::firehose) batch.

use std::sync::Arc;

use cdc_mask_core::firehose::{BatchError, BatchResult, Event, ViewMode};
use cdc_mask_core::View;

use crate::keys::{DataKeyCache, KeyError};
use crate::policy_cache::PolicyCache;

/// An invocation that cannot be answered record by record; Firehose retries
/// the whole batch.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The event is malformed or names no view.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// A data or quarantine key was needed and could not be had.
    #[error("{0}")]
    Key(#[from] KeyError),
}

/// Processes Firehose transformation events.
pub struct Processor {
    policies: Arc<PolicyCache>,
    mode: ViewMode,
    data_keys: Arc<DataKeyCache>,
    quarantine_keys: Arc<DataKeyCache>,
}

impl Processor {
    /// A processor over a policy cache and two key caches.
    pub fn new(
        policies: Arc<PolicyCache>,
        mode: ViewMode,
        data_keys: Arc<DataKeyCache>,
        quarantine_keys: Arc<DataKeyCache>,
    ) -> Self {
        Processor {
            policies,
            mode,
            data_keys,
            quarantine_keys,
        }
    }

    /// Total remote key-service calls made so far.
    pub fn key_service_calls(&self) -> u64 {
        let data = self.data_keys.provider().remote_calls();
        let quarantine = self.quarantine_keys.provider().remote_calls();
        if Arc::ptr_eq(self.data_keys.provider(), self.quarantine_keys.provider()) {
            data
        } else {
            data + quarantine
        }
    }

    /// Answers one Firehose transformation event.
    ///
    /// # Errors
    /// [`ProcessError`] when the event is malformed, the view cannot be told,
    /// or a needed key cannot be had: the invocation must fail so Firehose
    /// retries it. Nothing about a single record is ever an error.
    pub async fn process(&self, event: &[u8]) -> Result<BatchResult, ProcessError> {
        let event = Event::parse(event)?;
        let view = event.view(self.mode)?;
        // One policy version for the whole batch, even if a newer one lands.
        let views = match self.policies.current() {
            Ok(views) => views,
            Err(stale) => {
                tracing::error!(error = %stale, count = event.len(), "policy stale: whole batch answered ProcessingFailed");
                return Ok(event.fail_all(view));
            }
        };
        let (transformer, key) = match view {
            View::Masked => (&views.masked, None),
            View::Encrypted => {
                let records = u64::try_from(event.len()).unwrap_or(u64::MAX);
                (
                    &views.encrypted,
                    Some(self.data_keys.key_for(records).await?),
                )
            }
        };
        let mut batch = event.transform(transformer, key.as_deref());
        if batch.rejected() > 0 {
            let q_key = self.quarantine_keys.key_for(batch.rejected()).await?;
            batch.seal_rejected(&q_key, &event);
        }
        Ok(batch.respond(view, &event))
    }
}
