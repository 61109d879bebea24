//! The Firehose Lambda's processor: the current policy and the data keys
//! around the pure [`firehose`](cdc_mask_core::firehose) batch. Whatever is
//! missing — a policy, the view, a key — the records are sealed into the
//! quarantine, never failed back to Firehose (which would write them raw to
//! its error prefix).

use std::time::Duration;

use cdc_mask_core::firehose::{
    BatchError, BatchResult, Destination, Event, Plan, Routing, ViewMode,
};
use cdc_mask_core::{Reason, View};

use crate::settings::Components;

/// Processes Firehose transformation events.
pub struct Processor {
    parts: Components,
    mode: ViewMode,
    destination: Destination,
}

impl Processor {
    /// A processor over loaded settings, for a delivery stream in `mode`
    /// delivering to `destination`.
    pub fn new(parts: Components, mode: ViewMode, destination: Destination) -> Self {
        Processor {
            parts,
            mode,
            destination,
        }
    }

    /// Time since the policy in use was last confirmed, if there is one.
    pub fn policy_age(&self) -> Option<Duration> {
        self.parts.policies.age()
    }

    /// Answers one Firehose transformation event: every record once, in
    /// order; records that cannot be protected now are sealed, with the
    /// reason, under view `quarantine`.
    ///
    /// # Errors
    /// [`BatchError::BadEvent`] when the event is not a Firehose event (it
    /// has no record ids to answer), and [`BatchError::Seal`] when the
    /// system random generator fails. Nothing about a record, the policy or
    /// a key is ever an error.
    pub async fn process(&self, event: &[u8]) -> Result<BatchResult, BatchError> {
        self.process_event(&Event::parse(event)?).await
    }

    /// As [`Processor::process`], for an event already parsed (the Lambda
    /// runtime deserializes the body once, into an [`Event`]).
    ///
    /// # Errors
    /// [`BatchError::Seal`] when the system random generator fails.
    pub async fn process_event(&self, event: &Event) -> Result<BatchResult, BatchError> {
        let quarantine = &self.parts.quarantine_keys;
        let routing = Routing::of(self.mode, &self.destination);
        let view = match event.view(self.mode) {
            Ok(view) => view,
            Err(e) => {
                tracing::error!(error = %e, records = event.len(), "view unknown: records sealed");
                let plan = Plan::Seal {
                    reason: Reason::UnknownView,
                    view: None,
                };
                return event.answer(plan, routing, quarantine);
            }
        };
        // One policy version for the whole batch, even if a newer one lands.
        let views = match self.parts.policies.current().await {
            Ok(views) => views,
            Err(e) => {
                tracing::error!(error = %e, records = event.len(), "no usable policy: records sealed");
                let plan = Plan::Seal {
                    reason: Reason::PolicyUnavailable,
                    view: Some(view),
                };
                return event.answer(plan, routing, quarantine);
            }
        };
        let transformer = match view {
            View::Masked => &views.masked,
            View::Encrypted => &views.encrypted,
        };
        let data_key = match view {
            View::Masked => None,
            View::Encrypted => {
                let records = u64::try_from(event.len()).unwrap_or(u64::MAX);
                match self.parts.data_keys.key_for(records) {
                    Ok(key) => Some(key),
                    Err(e) => {
                        tracing::error!(error = %e, records = event.len(), "no data key: records sealed");
                        let plan = Plan::Seal {
                            reason: Reason::KeyUnavailable,
                            view: Some(view),
                        };
                        return event.answer(plan, routing, quarantine);
                    }
                }
            }
        };
        let plan = Plan::Transform {
            transformer,
            data_key: data_key.as_deref(),
        };
        event.answer(plan, routing, quarantine)
    }
}
