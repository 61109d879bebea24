//! The event read once, by the core's parser, before `lambda_runtime`
//! would read it with `serde_json`.
//!
//! The runtime deserializes the body into the handler's payload type with
//! `serde_json`, whose scan of a 6 MB event costs as much as the core's
//! whole parse of it. [`ReadFirstLayer`] sits in front of the runtime's
//! own services: it reads the invocation's body into an [`Event`], keeps
//! it in an [`EventSlot`] under the request's id, and hands the runtime a
//! body of `null` instead, which the handler's payload type
//! ([`Option<Event>`]) reads as "take it from the slot".
//!
//! A body the parser refuses goes down as it came, so the runtime's
//! `serde_json` pass reports the failure exactly as without the layer (in
//! the invocation's error, never quoting input: [`Event`]'s own
//! `Deserialize` gives its message).

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use cdc_mask_core::firehose::{BatchError, Event};
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::LambdaInvocation;

/// Events the layer read, until their handler takes them: one at a time,
/// as the runtime invokes the handler one event at a time.
#[derive(Clone, Default)]
pub struct EventSlot(Arc<Mutex<Option<(String, Event)>>>);

impl EventSlot {
    /// The body the runtime gets in place of an event the slot keeps.
    pub const KEPT: &'static [u8] = b"null";

    /// Reads `body` into the slot for request `request_id`; whether it did
    /// (then the body to hand the runtime is [`EventSlot::KEPT`]), or the
    /// parser refused it.
    pub fn keep(&self, request_id: &str, body: &[u8]) -> bool {
        match Event::parse(body) {
            Ok(event) => {
                *self.lock() = Some((request_id.to_owned(), event));
                true
            }
            Err(_) => false,
        }
    }

    /// The event of request `request_id`: `payload` when the runtime read
    /// one from the body, else the one the layer kept for it.
    ///
    /// # Errors
    /// [`BatchError::BadEvent`] when the body was `null` as sent (the
    /// layer kept no event for this request).
    pub fn event(&self, request_id: &str, payload: Option<Event>) -> Result<Event, BatchError> {
        if let Some(event) = payload {
            return Ok(event);
        }
        match self.lock().take() {
            Some((id, event)) if id == request_id => Ok(event),
            _ => Err(BatchError::BadEvent(
                "not an object: the body is null".to_owned(),
            )),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(String, Event)>> {
        // A panic while holding the lock leaves at worst a stale event,
        // which the request id check refuses.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The layer that reads events first (see the module's documentation).
pub struct ReadFirstLayer(pub EventSlot);

impl<S> Layer<S> for ReadFirstLayer {
    type Service = ReadFirst<S>;

    fn layer(&self, inner: S) -> ReadFirst<S> {
        ReadFirst {
            inner,
            slot: self.0.clone(),
        }
    }
}

/// The service [`ReadFirstLayer`] puts in front of the runtime's.
pub struct ReadFirst<S> {
    inner: S,
    slot: EventSlot,
}

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for ReadFirst<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> Self::Future {
        if self
            .slot
            .keep(&invocation.context.request_id, &invocation.body)
        {
            invocation.body = EventSlot::KEPT.into();
        }
        self.inner.call(invocation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &[u8] = br#"{"records":[{"recordId":"r1","data":"eyJ9"}]}"#;

    #[test]
    fn a_kept_event_goes_to_its_request_only_once() {
        let slot = EventSlot::default();
        assert!(slot.keep("a", EVENT));
        assert!(slot.event("b", None).is_err(), "another request's event");
        assert!(slot.keep("a", EVENT));
        assert_eq!(slot.event("a", None).unwrap().len(), 1);
        assert!(slot.event("a", None).is_err(), "taken already");
    }

    #[test]
    fn a_refused_body_is_left_to_the_runtime_and_null_fails() {
        let slot = EventSlot::default();
        for refused in [&br#"{"records":"jdoe@example.com"}"#[..], b"null", b"\xff"] {
            assert!(!slot.keep("a", refused));
        }
        let error = slot.event("a", None).unwrap_err().to_string();
        assert!(
            error.starts_with("not a Firehose transformation event"),
            "{error}"
        );
        let sent = Event::parse(br#"{"records":[]}"#).unwrap();
        assert!(
            slot.event("a", Some(sent)).unwrap().is_empty(),
            "the payload itself"
        );
        let read: Option<Event> = serde_json::from_slice(EventSlot::KEPT).unwrap();
        assert!(
            read.is_none(),
            "the runtime reads the kept body as no payload"
        );
    }
}
