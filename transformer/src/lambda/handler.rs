//! The transformer Lambda's handler: the event as the layer in front of
//! the runtime read it (once, [`super::read_first`]), the response handed
//! back as the bytes the core wrote.

use cdc_mask_core::firehose::{BatchResult, Event};
use lambda_runtime::{Error, LambdaEvent};
use serde::{Serialize, Serializer};

use super::EventSlot;
use crate::Processor;

/// JSON text passed to the runtime as is. `lambda_runtime` serializes a
/// handler's answer with `serde_json`; this serializes as `serde_json`'s own
/// `RawValue` does (its private struct token), so the response is written
/// byte for byte without being parsed again. A test pins that behaviour.
/// The bytes are checked to be UTF-8 as they are written (SIMD: the core
/// writes ASCII, and `std`'s check of 6 MB costs more than the copy).
pub struct RawJson(pub Vec<u8>);

impl Drop for RawJson {
    /// Keeps the response's buffer for the next invocation
    /// ([`cdc_mask_core::firehose::spare`]), once the runtime has sent it.
    fn drop(&mut self) {
        cdc_mask_core::firehose::spare::give(std::mem::take(&mut self.0));
    }
}

/// `serde_json::value::RawValue`'s serialization token.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let text = simdutf8::basic::from_utf8(&self.0)
            .map_err(|_| serde::ser::Error::custom("the response is not UTF-8"))?;
        let mut s = serializer.serialize_struct(RAW_VALUE_TOKEN, 1)?;
        s.serialize_field(RAW_VALUE_TOKEN, text)?;
        s.end()
    }
}

/// Answers one invocation and writes its metrics line to stdout and a
/// summary (counts only) to the log. The payload is the event when the
/// runtime read one from the body, else `slot` holds it.
///
/// # Errors
/// Only an event that is not a Firehose event, or a failed system random
/// generator: nothing about a record, the policy or a key fails an
/// invocation.
pub async fn handle(
    processor: &Processor,
    slot: &EventSlot,
    event: LambdaEvent<Option<Event>>,
) -> Result<RawJson, Error> {
    let started = std::time::Instant::now();
    let payload = slot.event(&event.context.request_id, event.payload)?;
    let (response, metrics, result) = answer(processor, &payload).await?;
    println!("{metrics}");
    let stats = &result.stats;
    tracing::info!(
        request_id = %event.context.request_id,
        view = result.view.map_or("unknown", |v| v.as_str()),
        records = stats.records,
        rows = stats.rows,
        dropped_control = stats.dropped_control,
        quarantined = stats.quarantined_total(),
        lost = stats.lost,
        bytes_in = stats.bytes_in,
        bytes_out = stats.bytes_out,
        millis = started.elapsed().as_millis(),
        "batch done"
    );
    Ok(response)
}

/// What [`handle`] does short of its output: the response for the runtime
/// (the core's bytes, moved, not copied), the EMF line of the batch, and
/// the batch's result (its `response` taken).
///
/// # Errors
/// As [`handle`].
pub async fn answer(
    processor: &Processor,
    event: &Event,
) -> Result<(RawJson, String, BatchResult), Error> {
    let mut result = processor.process_event(event).await?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let metrics = super::emf_line(&result, processor.policy_age(), now_ms);
    let response = RawJson(std::mem::take(&mut result.response));
    Ok((response, metrics, result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_json_is_written_byte_for_byte() {
        let text = r#"{"records":[{"recordId":"a\"b","result":"Ok","data":"eyJ9","metadata":{"partitionKeys":{"view":"masked"}}}]}"#;
        let written = serde_json::to_vec(&RawJson(text.as_bytes().to_vec())).unwrap();
        assert_eq!(written, text.as_bytes());
        assert!(serde_json::to_vec(&RawJson(b"\"\xff\"".to_vec())).is_err());
    }
}
