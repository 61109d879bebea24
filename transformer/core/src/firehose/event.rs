//! The Firehose transformation event. The Lambda runtime deserializes the
//! body once, into an [`Event`], and reports a failure in the invocation's
//! error (and its log): so deserialization errors never quote input, which
//! serde's type errors do (`invalid type: string "…"`). Record `data` stays
//! its raw JSON text until a record is decoded.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::BatchError;

/// A Firehose transformation event: what the contract needs of it.
pub struct Event {
    pub(super) delivery_stream_arn: Option<String>,
    pub(super) records: Vec<EventRecord>,
}

/// One record of an event.
pub(super) struct EventRecord {
    pub(super) record_id: String,
    pub(super) data: Option<Box<RawValue>>,
    pub(super) approximate_arrival_timestamp: Option<Box<RawValue>>,
}

impl Event {
    /// Parses an event.
    ///
    /// # Errors
    /// [`BatchError::BadEvent`] if it is not a Firehose transformation event
    /// (the message says where and what kind, never quotes input).
    pub fn parse(bytes: &[u8]) -> Result<Self, BatchError> {
        serde_json::from_slice(bytes).map_err(|e| {
            BatchError::BadEvent(format!(
                "{:?} error at line {} column {}: {}",
                e.classify(),
                e.line(),
                e.column(),
                // Our visitors' messages name fields only; serde_json's own
                // (syntax, EOF) quote nothing.
                e.to_string().split(" at line ").next().unwrap_or_default()
            ))
        })
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the records' data: it is raw PII.
        f.debug_struct("Event")
            .field("delivery_stream_arn", &self.delivery_stream_arn)
            .field("records", &self.records.len())
            .finish()
    }
}

/// A visitor whose type errors name what was expected, never the value.
macro_rules! refuse_scalars {
    ($what:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(E::custom(concat!("not ", $what)))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(E::custom(concat!("not ", $what)))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(E::custom(concat!("not ", $what)))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(E::custom(concat!("not ", $what)))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(E::custom(concat!("not ", $what)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(E::custom(concat!("not ", $what)))
        }
    };
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Firehose transformation event")
    }

    refuse_scalars!("a Firehose transformation event (an object)");

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Event, A::Error> {
        Err(de::Error::custom(
            "not a Firehose transformation event (an object)",
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut delivery_stream_arn = None;
        let mut records = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key.0.as_str() {
                "deliveryStreamArn" => delivery_stream_arn = map.next_value::<Text>()?.0,
                "records" => records = Some(map.next_value::<Records>()?.0),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Event {
            delivery_stream_arn,
            records: records.ok_or_else(|| de::Error::custom("no records"))?,
        })
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EventVisitor)
    }
}

/// A member name (names are the contract's own, safe to compare).
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Key)
    }
}

/// An optional string member; anything else is refused without its value.
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        match raw.get() {
            "null" => Ok(Text(None)),
            text => serde_json::from_str::<String>(text)
                .map(|s| Text(Some(s)))
                .map_err(|_| de::Error::custom("a string member is not a string")),
        }
    }
}

/// The `records` array.
struct Records(Vec<EventRecord>);

impl<'de> Deserialize<'de> for Records {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RecordsVisitor;
        impl<'de> Visitor<'de> for RecordsVisitor {
            type Value = Records;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("records, an array")
            }
            refuse_scalars!("records, an array");
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Records, A::Error> {
                Err(de::Error::custom("not records, an array"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Records, A::Error> {
                let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(record) = seq.next_element::<EventRecord>()? {
                    records.push(record);
                }
                Ok(Records(records))
            }
        }
        deserializer.deserialize_any(RecordsVisitor)
    }
}

impl<'de> Deserialize<'de> for EventRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RecordVisitor;
        impl<'de> Visitor<'de> for RecordVisitor {
            type Value = EventRecord;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a record, an object")
            }
            refuse_scalars!("a record, an object");
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<EventRecord, A::Error> {
                Err(de::Error::custom("not a record, an object"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventRecord, A::Error> {
                let mut record_id = None;
                let mut data = None;
                let mut arrival = None;
                while let Some(key) = map.next_key::<Key>()? {
                    match key.0.as_str() {
                        "recordId" => record_id = map.next_value::<Text>()?.0,
                        "data" => data = Some(map.next_value::<Box<RawValue>>()?),
                        "approximateArrivalTimestamp" => {
                            arrival = Some(map.next_value::<Box<RawValue>>()?);
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(EventRecord {
                    record_id: record_id
                        .ok_or_else(|| de::Error::custom("a record without a recordId"))?,
                    data,
                    approximate_arrival_timestamp: arrival,
                })
            }
        }
        deserializer.deserialize_any(RecordVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_contract_and_ignores_the_rest() {
        let event = Event::parse(
            br#"{"invocationId":"i","deliveryStreamArn":"arn:x/cdc-masked","records":[{"recordId":"1","approximateArrivalTimestamp":1764321303000,"data":"eyJ9","kinesisRecordMetadata":{"shardId":"s"}},{"recordId":"2","data":42}]}"#,
        )
        .unwrap();
        assert_eq!(
            event.delivery_stream_arn.as_deref(),
            Some("arn:x/cdc-masked")
        );
        assert_eq!(event.records.len(), 2);
        assert_eq!(event.records[0].data.as_deref().unwrap().get(), r#""eyJ9""#);
        assert_eq!(event.records[1].data.as_deref().unwrap().get(), "42");
    }

    #[test]
    fn errors_never_quote_input() {
        for bad in [
            r#""jdoe@example.com""#,
            r#"["jdoe@example.com"]"#,
            r#"{"records":"jdoe@example.com"}"#,
            r#"{"records":["jdoe@example.com"]}"#,
            r#"{"records":[{"recordId":"jdoe@example.com"}],"deliveryStreamArn":["jdoe@example.com"]}"#,
            r#"{"records":[{"recordId":{"mail":"jdoe@example.com"}}]}"#,
            r#"{"records":[{"data":"jdoe@example.com"}]}"#,
            r#"{"deliveryStreamArn":"jdoe@example.com"}"#,
            r#"{"records":[{"recordId":"1","data":"jdoe@example.com"#,
        ] {
            let e = Event::parse(bad.as_bytes()).unwrap_err().to_string();
            assert!(!e.contains("jdoe"), "{e}");
            assert!(e.starts_with("not a Firehose transformation event"), "{e}");
        }
    }
}
