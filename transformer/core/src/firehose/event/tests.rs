//! The reader against the contract and against `serde_json`'s reading.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use proptest::prelude::*;

use super::read::{arrival_millis, decode_base64};
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
    assert_eq!(event.original(&event.records[0]), (true, &b"{\"}"[..]));
    assert_eq!(event.records[0].arrival_millis, Some(1764321303000.0));
    assert_eq!(event.original(&event.records[1]), (false, &b"42"[..]));
    assert_eq!(event.records[1].arrival_millis, None);
    let huge =
        Event::parse(br#"{"records":[{"recordId":"a","approximateArrivalTimestamp":1e999}]}"#)
            .unwrap();
    assert_eq!(huge.records[0].arrival_millis, None, "not a finite number");
    let ids: Vec<&str> = event.records.iter().map(|r| event.record_id(r)).collect();
    assert_eq!(ids, ["1", "2"]);
    let repeated =
        Event::parse(br#"{"records":[{"recordId":"a","recordId":"b\u00e9"},{"recordId":"c"}]}"#)
            .unwrap();
    let ids: Vec<&str> = repeated
        .records
        .iter()
        .map(|r| repeated.record_id(r))
        .collect();
    assert_eq!(ids, ["b\u{e9}", "c"], "the last id counts");
    assert!(Event::parse(br#"{"records":[{"recordId":"a","recordId":null}]}"#).is_err());
}

#[test]
fn data_is_decoded_strictly_or_leniently_else_kept_as_sent() {
    let event = Event::parse(
        br#"{"records":[{"recordId":"a","data":"eyJhIjoxfQ=="},{"recordId":"b","data":"eyJhIjoxfQ"},{"recordId":"c","data":"eyJh\/w=="},{"recordId":"d","data":"eyJhIjoxfR=="},{"recordId":"e","data":"not base64!"},{"recordId":"f"},{"recordId":"g","data":null}]}"#,
    )
    .unwrap();
    let originals: Vec<(bool, &[u8])> = event.records.iter().map(|r| event.original(r)).collect();
    assert_eq!(
        originals,
        [
            // Padded, unpadded and with an escaped `/`: the same decoder's bytes.
            (true, &br#"{"a":1}"#[..]),
            (true, &br#"{"a":1}"#[..]),
            (true, &b"{\"a\xff"[..]),
            // Non-canonical trailing bits are not base64, as before.
            (false, &br#""eyJhIjoxfR==""#[..]),
            (false, &br#""not base64!""#[..]),
            (false, &b""[..]),
            (false, &b"null"[..]),
        ]
    );
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
        assert_eq!(e.matches(" at byte ").count(), 1, "{e}");
        assert!(e.starts_with("not a Firehose transformation event"), "{e}");
    }
    let deep = format!(
        r#"{{"records":[],"x":{}{}}}"#,
        "[".repeat(99),
        "]".repeat(99)
    );
    let bad_utf8 = b"{\"records\":[],\"x\":\"\xff\"}";
    for (bad, why) in [
        (deep.as_bytes(), "JSON nested too deep"),
        (&bad_utf8[..], "not UTF-8"),
    ] {
        let e = Event::parse(bad).unwrap_err().to_string();
        assert_eq!(e, format!("not a Firehose transformation event ({why})"));
    }
}

/// An object's members in order, repeated names included.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> de::Visitor<'de> for Ordered {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Ordered)
    }
}

/// What `serde_json` reads in an event, by the contract's rules (a
/// repeated member: the last counts, but each must have the right
/// type): the reference the scanner's reader must agree with.
type Expected = Option<(Option<String>, Vec<(String, (bool, Vec<u8>), Option<f64>)>)>;

/// A string member's text, `None` for `null`; `None` outside if it is
/// neither.
fn optional_text(value: serde_json::Value) -> Option<Option<String>> {
    match value {
        serde_json::Value::Null => Some(None),
        serde_json::Value::String(text) => Some(Some(text)),
        _ => None,
    }
}

fn expected(text: &str) -> Expected {
    use serde_json::Value;
    // A number `serde_json` cannot hold (`1e999`) is kept as written by
    // `RawValue` but is no `Value`: neither a string nor null nor an f64,
    // as `false` is.
    let value =
        |raw: &RawValue| serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Bool(false));
    let Members(event) = serde_json::from_str(text).ok()?;
    let mut arn = None;
    let mut records = None;
    for (name, raw) in &event {
        match (name.as_str(), value(raw)) {
            ("deliveryStreamArn", value) => arn = optional_text(value)?,
            ("records", Value::Array(_)) => {
                records = Some(serde_json::from_str::<Vec<Members>>(raw.get()).ok()?);
            }
            ("records", _) => return None,
            _ => {}
        }
    }
    let mut read = Vec::new();
    for Members(record) in records? {
        let (mut id, mut data, mut arrival) = (None, (false, Vec::new()), None);
        for (name, raw) in &record {
            match (name.as_str(), value(raw)) {
                ("recordId", value) => id = optional_text(value)?,
                ("data", Value::String(text)) => {
                    let mut bytes = Vec::new();
                    data = if decode_base64(text.as_bytes(), &mut bytes) {
                        (true, bytes)
                    } else {
                        (false, raw.get().as_bytes().to_vec())
                    };
                }
                ("data", _) => data = (false, raw.get().as_bytes().to_vec()),
                ("approximateArrivalTimestamp", value) => arrival = value.as_f64(),
                _ => {}
            }
        }
        read.push((id?, data, arrival));
    }
    Some((arn, read))
}

fn read(text: &str) -> Expected {
    let event = Event::parse(text.as_bytes()).ok()?;
    let records = event
        .records
        .iter()
        .map(|r| {
            let (decoded, bytes) = event.original(r);
            let id = event.record_id(r).to_owned();
            // Written back as a JSON string: the bytes of an escaping
            // writer, whether the id came with escapes or without.
            let mut written = Vec::new();
            event.write_record_id(r, &mut written);
            let mut escaped = Vec::new();
            crate::json::write_string(&mut escaped, &id);
            assert_eq!(written, escaped, "{id:?}");
            (id, (decoded, bytes.to_vec()), r.arrival_millis)
        })
        .collect();
    Some((event.delivery_stream_arn.clone(), records))
}

/// One record's members, as JSON text.
fn record_strategy() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        "[a-zA-Z0-9]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just(r#""\u00e9\"\\""#.to_owned()),
        Just(r#""a\/b\u0041\t""#.to_owned()),
        Just("null".to_owned()),
        Just("7".to_owned()),
    ];
    let bytes = prop::collection::vec(any::<u8>(), 0..40);
    let data = prop_oneof![
        bytes
            .clone()
            .prop_map(|b| format!("\"{}\"", STANDARD.encode(b))),
        bytes
            .clone()
            .prop_map(|b| format!("\"{}\"", STANDARD_NO_PAD.encode(b))),
        bytes.prop_map(|b| format!("\"{}\"", STANDARD.encode(b).replace('/', r"\/"))),
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just(r#""eyJhIjoxfR==""#.to_owned()),
        Just(r#""ey\"J9""#.to_owned()),
        Just("null".to_owned()),
        Just("-12.5e3".to_owned()),
        Just(r#"{"a":[1,{"b":"c"}]}"#.to_owned()),
    ];
    let arrival = prop_oneof![
        (0u64..1 << 50).prop_map(|n| n.to_string()),
        Just(r#""1764321303000""#.to_owned()),
        Just("1.5e12".to_owned()),
    ];
    let member = prop_oneof![
        id.prop_map(|v| format!(r#""recordId":{v}"#)),
        data.prop_map(|v| format!(r#""data":{v}"#)),
        arrival.prop_map(|v| format!(r#""approximateArrivalTimestamp":{v}"#)),
        Just(r#""kinesisRecordMetadata":{"shardId":"s","x":[true,false,null]}"#.to_owned()),
        Just(r#""rec\u006frdId":"escaped name""#.to_owned()),
    ];
    prop::collection::vec(member, 0..5).prop_map(|m| format!("{{{}}}", m.join(",")))
}

/// Hand-made damage to an event's text: a byte replaced, or the text cut.
fn damaged(text: &str, at: usize, byte: u8, cut: bool) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let at = at % (bytes.len() + 1);
    if cut {
        bytes.truncate(at);
    } else if at < bytes.len() {
        bytes[at] = byte;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The reader agrees with `serde_json` on every event: whether it
    /// is one, and then its stream, ids, data and arrival times; also
    /// once a byte of it is damaged.
    #[test]
    fn reads_what_serde_json_reads(
        records in prop::collection::vec(record_strategy(), 0..6),
        arn in prop_oneof![
            Just(String::new()),
            Just(r#""deliveryStreamArn":"arn:x/cdc-masked","#.to_owned()),
            Just(r#""deliveryStreamArn":null,"#.to_owned()),
            Just(r#""deliveryStreamArn":1,"#.to_owned()),
        ],
        spaced in any::<bool>(),
        at in 0..4096usize,
        byte in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let (space, end) = if spaced { (" \n\t", "\r\n ") } else { ("", "") };
        let text = format!(
            r#"{space}{{{space}"invocationId":"i",{arn}"records"{space}:{space}[{}]{space}}}{end}"#,
            records.join(",")
        );
        prop_assert_eq!(read(&text), expected(&text), "{}", text);
        let damaged = damaged(&text, at, byte, cut);
        prop_assert_eq!(read(&damaged), expected(&damaged), "{}", damaged);
    }
}

#[test]
fn arrival_times_read_as_the_float_parser_reads_them() {
    let mut raws: Vec<String> = [
        "0",
        "1",
        "1764288000000",
        "999999999999999",
        "1000000000000000",
        "9007199254740993",
        "18446744073709551616",
        "1764288000000.5",
        "1.7e12",
        "-1764288000000",
        "-0",
        "1e999",
        "",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut n = 7u64;
    for _ in 0..10_000 {
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        raws.push((n >> (n % 40)).to_string());
    }
    for raw in &raws {
        let want = raw.parse::<f64>().ok().filter(|m| m.is_finite());
        assert_eq!(
            arrival_millis(raw).map(f64::to_bits),
            want.map(f64::to_bits),
            "{raw}"
        );
    }
}
