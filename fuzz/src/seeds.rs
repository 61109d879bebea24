//! Seed inputs: the DMS fixture records, a small generator of the three
//! sample tables, hand-written edge cases, and events and JSON documents
//! made of them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::mutate::Rng;
use crate::{files, fixtures_dir};

/// DMS records: the fixture files, generated ones (control, full-load,
/// insert, update, delete of the three sample tables) and hand-written edge
/// cases.
pub fn dms_records() -> Vec<Vec<u8>> {
    let mut records: Vec<Vec<u8>> = files(&fixtures_dir())
        .into_iter()
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("example-dms-"))
        })
        .map(|path| std::fs::read(&path).expect("reading a fixture"))
        .collect();
    assert_eq!(records.len(), 5, "the five example-dms-*.json fixtures");
    records.extend(generated(7, 3));
    let meta = r#""metadata":{"timestamp":"2026-11-28T00:00:00.000000Z","record-type":"data","operation":"insert","partition-key-type":"schema-table","schema-name":"dataset","table-name":"customer","transaction-id":1}"#;
    for extra in [
        // Upper-case, escaped and reserved column names; nested values.
        format!(r#"{{"data":{{"ID":1,"USERNAME":"a\"b","n\u0061me":"x","mail":null,"_op":"x","birthdate":"1990-02-03","extra":{{"k":[1,2.5e-3,true]}}}},{meta}}}"#),
        // A lone surrogate and a non-BMP character in protected values.
        format!(r#"{{"data":{{"id":2,"username":"\ud800","name":"\ud83d\ude00","mail":"é@x","birthdate":"\u0031990-01-01"}},{meta}}}"#),
        // before-image null and numbers in protected columns.
        format!(r#"{{"data":{{"id":3,"username":12345678901234567890,"name":1e999,"mail":-0.0,"birthdate":19900101}},"before-image":null,{meta}}}"#),
        // Pretty-printed, with whitespace everywhere.
        format!("{{\n  \"data\" : {{ \"id\" : 4 ,\n \"name\" : [ 1 ,\r\n 2 ] }} ,\n {meta} \n}}\n"),
        // Duplicate fields.
        format!(r#"{{"data":{{"id":5}},"data":{{"id":6}},{meta}}}"#),
        r#"{"data":{"id":7,"name":"x"},"metadata":{"record-type":"data","schema-name":"dataset","table-name":"customer","schema-name":"other"}}"#.to_owned(),
        // Control and unknown record types; not DMS at all.
        r#"{"control":{"table-def":{}},"metadata":{"timestamp":"2026-11-28T00:00:00Z","record-type":"control","operation":"drop-table","schema-name":"dataset","table-name":"card"}}"#.to_owned(),
        r#"{"metadata":{"record-type":"heartbeat"}}"#.to_owned(),
        r#"{"hello":"world"}"#.to_owned(),
        // Bank and card rows with every protected column.
        r#"{"data":{"id":8,"account_number":"XYZ-1","iban":"DE89370400440532013000","bban":"370400440532013000"},"metadata":{"timestamp":"bad","record-type":"data","operation":"update","schema-name":"dataset","table-name":"bank"},"before-image":{"id":8,"iban":"x"}}"#.to_owned(),
        r#"{"data":{"id":9,"cred_card_provider":"VISA 16 digit","card_number":"4111111111111111","card_expiration":"12/30","card_security_code":123},"metadata":{"timestamp":"2026-11-28T00:00:00Z","record-type":"data","operation":"load","schema-name":"DATASET","table-name":"Card"}}"#.to_owned(),
    ] {
        records.push(extra.into_bytes());
    }
    records
}

/// A small DMS record generator for seeds: for each sample table its
/// `create-table` control record, two full-load rows, then `rounds` rounds
/// of an insert, an update (with its before-image) and a delete, values
/// drawn by `seed` from hand-picked pools (quotes, escapes, non-ASCII).
pub fn generated(seed: u64, rounds: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let mut records = Vec::new();
    let mut id = 0u64;
    let mut txn = 1u64;
    for table in SAMPLE_TABLES {
        let mut ts = 0u32;
        let mut timestamp = || {
            ts += 1;
            format!(
                "2026-11-28T09:{:02}:{:02}.{:06}Z",
                ts / 60 % 60,
                ts % 60,
                ts * 7
            )
        };
        records.push(
            format!(
                r#"{{"control":{{"table-def":{{"columns":{{"id":{{"type":"INT32","nullable":false}}}},"primary-key":["id"]}}}},"metadata":{{"timestamp":"{}","record-type":"control","operation":"create-table","partition-key-type":"task-id","schema-name":"dataset","table-name":"{}"}}}}"#,
                timestamp(),
                table.name
            )
            .into_bytes(),
        );
        let metadata = |timestamp: String, operation: &str, txn: Option<u64>| {
            let txn = txn.map_or(String::new(), |t| format!(r#","transaction-id":{t}"#));
            format!(
                r#""metadata":{{"timestamp":"{timestamp}","record-type":"data","operation":"{operation}","partition-key-type":"schema-table","schema-name":"dataset","table-name":"{}"{txn}}}"#,
                table.name
            )
        };
        for _ in 0..2 {
            id += 1;
            let row = table.row(id, &mut rng);
            records.push(
                format!(
                    r#"{{"data":{row},{}}}"#,
                    metadata(timestamp(), "load", None)
                )
                .into_bytes(),
            );
        }
        for _ in 0..rounds {
            id += 1;
            txn += 1;
            let row = table.row(id, &mut rng);
            records.push(
                format!(
                    r#"{{"data":{row},{}}}"#,
                    metadata(timestamp(), "insert", Some(txn))
                )
                .into_bytes(),
            );
            txn += 1;
            let changed = table.row(id, &mut rng);
            records.push(
                format!(
                    r#"{{"data":{changed},"before-image":{row},{}}}"#,
                    metadata(timestamp(), "update", Some(txn))
                )
                .into_bytes(),
            );
            txn += 1;
            records.push(
                format!(
                    r#"{{"data":{changed},{}}}"#,
                    metadata(timestamp(), "delete", Some(txn))
                )
                .into_bytes(),
            );
        }
    }
    records
}

/// A sample table: its name and, per column, the values to draw from.
struct SampleTable {
    name: &'static str,
    columns: &'static [(&'static str, &'static [&'static str])],
}

impl SampleTable {
    /// `{"id":<id>,"<column>":<value>,…}`, one value drawn per column.
    fn row(&self, id: u64, rng: &mut Rng) -> String {
        let mut row = format!(r#"{{"id":{id}"#);
        for (column, values) in self.columns {
            let value = values[rng.below(values.len())];
            row.push_str(&format!(r#","{column}":{value}"#));
        }
        row.push('}');
        row
    }
}

/// The tables of `schemas/examples/policy.json` with their protected and
/// unprotected columns; values are JSON text.
const SAMPLE_TABLES: [SampleTable; 3] = [
    SampleTable {
        name: "customer",
        columns: &[
            (
                "username",
                &[r#""jdoe""#, r#""zo\u00eb_m""#, r#""a\"b""#, "null"],
            ),
            (
                "name",
                &[
                    r#""John O'Doe""#,
                    r#""Zoë \"Zo\" Martín""#,
                    r#""李小龍""#,
                    r#""""#,
                ],
            ),
            ("gender", &[r#""F""#, r#""M""#, "null"]),
            (
                "mail",
                &[
                    r#""jdoe@example.com""#,
                    r#""zoe.ruiz@example.org""#,
                    r#""x\/y@z""#,
                ],
            ),
            (
                "birthdate",
                &[
                    r#""1984-05-02""#,
                    r#""1991-12-31""#,
                    r#""2000-02-29""#,
                    "null",
                ],
            ),
        ],
    },
    SampleTable {
        name: "bank",
        columns: &[
            (
                "account_number",
                &[r#""XYZ-42""#, r#""XYZ-7""#, r#""ABC-1""#],
            ),
            (
                "iban",
                &[r#""DE89370400440532013000""#, r#""GB82WEST12345698765432""#],
            ),
            (
                "bban",
                &[r#""370400440532013000""#, r#""WEST12345698765432""#, "null"],
            ),
        ],
    },
    SampleTable {
        name: "card",
        columns: &[
            (
                "cred_card_provider",
                &[r#""VISA 16 digit""#, r#""Mastercard""#],
            ),
            (
                "card_number",
                &[
                    r#""4111111111111111""#,
                    r#""5500005555555559""#,
                    "4111111111111111",
                ],
            ),
            ("card_expiration", &[r#""12/30""#, r#""01/27""#]),
            ("card_security_code", &[r#""123""#, "987", r#""0042""#]),
        ],
    },
];

/// A Firehose transformation event of `records` (raw DMS bytes, base64-encoded
/// into `data`), with ids `id-0`, `id-1`, ….
pub fn event_of(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = br#"{"invocationId":"fuzz","deliveryStreamArn":"arn:aws:firehose:us-east-1:123456789012:deliverystream/cdc-masked","region":"us-east-1","records":["#.to_vec();
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(
            format!(
                r#"{{"recordId":"id-{i}","approximateArrivalTimestamp":1764288000000,"data":"{}"}}"#,
                STANDARD.encode(record)
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(b"]}");
    out
}

/// Events of one, two and three generated records, and hand-written ones.
pub fn events() -> Vec<Vec<u8>> {
    let records = dms_records();
    let mut events: Vec<Vec<u8>> = Vec::new();
    for (i, record) in records.iter().enumerate() {
        events.push(event_of(std::slice::from_ref(record)));
        if i % 3 == 0 && i + 3 <= records.len() {
            events.push(event_of(&records[i..i + 3]));
        }
    }
    for extra in [
        r#"{"records":[]}"#,
        r#"{"records":[{"recordId":"a"}]}"#,
        r#"{"records":[{"recordId":"a","data":null},{"recordId":"b","data":42},{"recordId":"c","data":"!!!"}]}"#,
        // Unpadded base64 of `{}`, an escaped id, odd timestamps.
        r#"{"records":[{"recordId":"q\"\u00e9\\","approximateArrivalTimestamp":1e300,"data":"e30"},{"recordId":"r","approximateArrivalTimestamp":-1,"data":"e30="}]}"#,
        r#"{"deliveryStreamArn":"x","records":[{"recordId":"","approximateArrivalTimestamp":"soon","data":""}],"extra":[1,{"a":null}]}"#,
        r#"{"records":[{"recordId":"a","data":"e30="},{"recordId":"a","data":"e30="}]}"#,
    ] {
        events.push(extra.as_bytes().to_vec());
    }
    events
}

/// Generated DMS records and JSON edge cases around the scanner's limits.
pub fn json_documents() -> Vec<Vec<u8>> {
    let mut docs = dms_records();
    let deep = |open: &str, close: &str, n: usize| {
        format!("{{\"a\":{}1{}}}", open.repeat(n), close.repeat(n)).into_bytes()
    };
    for n in [62, 63, 64, 65, 126, 127, 128, 129] {
        docs.push(deep("[", "]", n));
        docs.push(deep("{\"b\":", "}", n));
    }
    for extra in [
        "{}",
        " {\"a\":1} ",
        "{\"\":\"\"}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\\ud800\"}",
        "{\"a\":\"\\ud83d\\ude00\"}",
        "{\"a\":1e999}",
        "{\"a\":-1e-999}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":\"\u{7f}\"}",
        "{\"a\":[]}",
        "[]",
        "\"a\"",
        "{\"a\":1}\u{feff}",
    ] {
        docs.push(extra.as_bytes().to_vec());
    }
    docs
}
