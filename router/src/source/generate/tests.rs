//! The generator's output: a pure function of its seed, in DMS's shape and order.

use std::collections::{HashMap, HashSet};

use serde_json::value::RawValue;
use serde_json::Value;

use super::dms_json::{days_from_civil, push_timestamp};
use super::values::{iban_check_digits, luhn_check_digit, CARD_PROVIDERS};
use super::*;
use cdc_mask_core::partition::civil_from_days;

fn records(config: GeneratorConfig, count: usize) -> Vec<Vec<u8>> {
    Generator::new(config).take(count).collect()
}

fn default_records(count: usize) -> Vec<Vec<u8>> {
    records(GeneratorConfig::default(), count)
}

/// Keys of the JSON object `text`, in document order.
fn object_keys(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut keys = Vec::new();
    let mut depth = 0usize;
    let mut expect_key = false;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'"' => {
                let start = index;
                index += 1;
                while bytes[index] != b'"' {
                    index += if bytes[index] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 && expect_key {
                    keys.push(serde_json::from_str(&text[start..=index]).unwrap());
                    expect_key = false;
                }
            }
            b'{' | b'[' => {
                depth += 1;
                expect_key = depth == 1 && bytes[index] == b'{';
            }
            b'}' | b']' => depth -= 1,
            b',' if depth == 1 => expect_key = true,
            _ => {}
        }
        index += 1;
    }
    keys
}

fn fields(record: &[u8]) -> HashMap<String, Box<RawValue>> {
    serde_json::from_slice(record).unwrap()
}

fn column_names(table: &str) -> Vec<&'static str> {
    let table = Table::ALL.iter().find(|t| t.name() == table).unwrap();
    std::iter::once("id")
        .chain(table.columns().iter().map(|c| c.name))
        .collect()
}

fn string_values(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Object(map) => map.values().for_each(|v| string_values(v, out)),
        Value::Array(items) => items.iter().for_each(|v| string_values(v, out)),
        _ => {}
    }
}

#[test]
fn same_seed_is_byte_identical_and_other_seed_differs() {
    let a = default_records(2_000);
    let b = default_records(2_000);
    assert_eq!(a, b);
    let c = records(
        GeneratorConfig {
            seed: 43,
            ..GeneratorConfig::default()
        },
        2_000,
    );
    assert_ne!(a, c);
    // The first control record does not depend on the seed.
    assert_eq!(a[0], c[0]);
}

#[test]
fn records_parse_with_dms_key_order() {
    for record in default_records(20_000) {
        let text = std::str::from_utf8(&record).unwrap();
        assert!(!text.ends_with('\n'));
        let value: Value = serde_json::from_str(text).unwrap();
        let table = value["metadata"]["table-name"].as_str().unwrap().to_owned();
        let fields = fields(&record);
        let top = object_keys(text);
        let metadata_keys = object_keys(fields["metadata"].get());
        if top[0] == "control" {
            assert_eq!(top, ["control", "metadata"]);
            let table_def = &value["control"]["table-def"];
            let raw: HashMap<String, Box<RawValue>> =
                serde_json::from_str(fields["control"].get()).unwrap();
            assert_eq!(
                object_keys(raw["table-def"].get()),
                ["columns", "primary-key"]
            );
            let raw: HashMap<String, Box<RawValue>> =
                serde_json::from_str(raw["table-def"].get()).unwrap();
            assert_eq!(object_keys(raw["columns"].get()), column_names(&table));
            assert_eq!(table_def["primary-key"], serde_json::json!(["id"]));
            assert_eq!(
                metadata_keys,
                [
                    "timestamp",
                    "record-type",
                    "operation",
                    "partition-key-type",
                    "schema-name",
                    "table-name"
                ]
            );
            continue;
        }
        let operation = value["metadata"]["operation"].as_str().unwrap();
        if operation == "update" {
            assert_eq!(top, ["data", "before-image", "metadata"]);
            assert_eq!(
                object_keys(fields["before-image"].get()),
                column_names(&table)
            );
        } else {
            assert_eq!(top, ["data", "metadata"]);
        }
        assert_eq!(object_keys(fields["data"].get()), column_names(&table));
        let mut expected = vec![
            "timestamp",
            "record-type",
            "operation",
            "partition-key-type",
            "schema-name",
            "table-name",
        ];
        if operation != "load" {
            expected.push("transaction-id");
        }
        assert_eq!(metadata_keys, expected);
        assert_eq!(value["metadata"]["record-type"], "data");
        assert_eq!(value["metadata"]["partition-key-type"], "schema-table");
        assert_eq!(value["metadata"]["schema-name"], SCHEMA);
    }
}

#[test]
fn first_three_records_are_control_records() {
    let all = default_records(4);
    for (record, table) in all.iter().zip(TABLES) {
        let value: Value = serde_json::from_slice(record).unwrap();
        assert_eq!(value["metadata"]["record-type"], "control");
        assert_eq!(value["metadata"]["operation"], "create-table");
        assert_eq!(value["metadata"]["partition-key-type"], "task-id");
        assert_eq!(value["metadata"]["table-name"], table);
        assert!(value["metadata"].get("transaction-id").is_none());
        let columns = &value["control"]["table-def"]["columns"];
        assert_eq!(columns["id"]["type"], "INT32");
        assert_eq!(columns["id"]["nullable"], false);
    }
    let first = String::from_utf8(all[0].clone()).unwrap();
    assert!(first.starts_with(
        "{\"control\":{\"table-def\":{\"columns\":{\"id\":{\"type\":\"INT32\",\"nullable\":false},\
         \"username\":{\"type\":\"STRING\",\"length\":64,\"nullable\":true},"
    ));
    let fourth: Value = serde_json::from_slice(&all[3]).unwrap();
    assert_eq!(fourth["metadata"]["operation"], "load");
    assert_eq!(fourth["data"]["id"], 1);
}

#[test]
fn load_then_cdc_with_consistent_ids() {
    let load = GeneratorConfig::default().load_rows_per_table;
    let mut live: HashMap<String, HashSet<u64>> = HashMap::new();
    let mut max_id: HashMap<String, u64> = HashMap::new();
    let mut next_transaction = FIRST_TRANSACTION_ID;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (index, record) in default_records(20_000).iter().enumerate().skip(3) {
        let value: Value = serde_json::from_slice(record).unwrap();
        let metadata = &value["metadata"];
        let table = metadata["table-name"].as_str().unwrap().to_owned();
        let operation = metadata["operation"].as_str().unwrap();
        let id = value["data"]["id"].as_u64().unwrap();
        let ids = live.entry(table.clone()).or_default();
        let in_load = index < 3 + 3 * load as usize;
        assert_eq!(operation == "load", in_load, "record {index}");
        if in_load {
            assert_eq!(table, TABLES[(index - 3) / load as usize]);
            assert_eq!(id, (index as u64 - 3) % load + 1);
            assert!(metadata.get("transaction-id").is_none());
        } else {
            assert_eq!(metadata["transaction-id"], next_transaction);
            next_transaction += 1;
        }
        *counts.entry(operation.to_owned()).or_default() += 1;
        match operation {
            "load" | "insert" => {
                let max = max_id.entry(table.clone()).or_default();
                assert_eq!(id, *max + 1, "ids are assigned in sequence");
                *max = id;
                assert!(ids.insert(id));
                assert!(value.get("before-image").is_none());
            }
            "update" => {
                assert!(ids.contains(&id), "update of unknown {table} id {id}");
                let before = &value["before-image"];
                assert_eq!(before["id"], id);
                let data = value["data"].as_object().unwrap();
                let before = before.as_object().unwrap();
                assert!(data.values().chain(before.values()).all(|v| !v.is_null()));
            }
            "delete" => {
                assert!(ids.remove(&id), "delete of unknown {table} id {id}");
                assert!(value.get("before-image").is_none());
                let data = value["data"].as_object().unwrap();
                assert_eq!(data.len(), column_names(&table).len());
                assert!(data
                    .iter()
                    .all(|(column, v)| (column == "id") != v.is_null()));
            }
            other => panic!("unexpected operation {other}"),
        }
    }
    // Roughly 50 / 35 / 15 % of the CDC records.
    let cdc = (counts["insert"] + counts["update"] + counts["delete"]) as f64;
    assert!((0.45..0.55).contains(&(counts["insert"] as f64 / cdc)));
    assert!((0.30..0.40).contains(&(counts["update"] as f64 / cdc)));
    assert!((0.11..0.19).contains(&(counts["delete"] as f64 / cdc)));
}

#[test]
fn updates_change_only_the_picked_and_coupled_columns() {
    let (mut updates, mut unchanged) = (0, 0);
    for record in default_records(5_000) {
        let value: Value = serde_json::from_slice(&record).unwrap();
        if value["metadata"]["operation"] != "update" {
            continue;
        }
        updates += 1;
        let data = value["data"].as_object().unwrap();
        let before = value["before-image"].as_object().unwrap();
        assert_eq!(
            data.keys().collect::<Vec<_>>(),
            before.keys().collect::<Vec<_>>()
        );
        let differing = data.iter().filter(|(k, v)| before[*k] != **v).count();
        // At most 3 picked columns, plus the column coupled to one of them (provider and
        // number, IBAN and BBAN); a new random value may equal the old one (gender, say).
        assert!(differing <= 4, "{value}");
        unchanged += usize::from(differing == 0);
    }
    assert!(updates > 1_000);
    assert!(
        unchanged * 20 < updates,
        "{unchanged} of {updates} updates changed nothing"
    );
}

#[test]
fn without_load_rows_cdc_follows_control_records() {
    let all = records(
        GeneratorConfig {
            seed: 7,
            load_rows_per_table: 0,
        },
        50,
    );
    let fourth: Value = serde_json::from_slice(&all[3]).unwrap();
    assert_eq!(fourth["metadata"]["operation"], "insert");
    assert_eq!(fourth["metadata"]["transaction-id"], FIRST_TRANSACTION_ID);
    assert_eq!(fourth["data"]["id"], 1);
}

#[test]
fn timestamps_are_well_formed_and_strictly_increasing() {
    let mut previous = String::new();
    for (index, record) in default_records(20_000).iter().enumerate() {
        let value: Value = serde_json::from_slice(record).unwrap();
        let ts = value["metadata"]["timestamp"].as_str().unwrap().to_owned();
        let b = ts.as_bytes();
        assert_eq!(b.len(), 27, "{ts}");
        for (position, &byte) in b.iter().enumerate() {
            match position {
                4 | 7 => assert_eq!(byte, b'-'),
                10 => assert_eq!(byte, b'T'),
                13 | 16 => assert_eq!(byte, b':'),
                19 => assert_eq!(byte, b'.'),
                26 => assert_eq!(byte, b'Z'),
                _ => assert!(byte.is_ascii_digit(), "{ts}"),
            }
        }
        let number = |range: std::ops::Range<usize>| ts[range].parse::<i64>().unwrap();
        let (year, month, day) = (number(0..4), number(5..7), number(8..10));
        assert!((1..=12).contains(&month), "{ts}");
        assert!(day >= 1 && day <= days_in_month(year, month), "{ts}");
        assert!(number(11..13) < 24 && number(14..16) < 60 && number(17..19) < 60);
        if index == 0 {
            assert_eq!(ts, "2026-11-28T00:00:00.000000Z");
        }
        assert!(ts > previous, "{ts} after {previous}");
        previous = ts;
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[test]
fn civil_conversion_matches_the_calendar() {
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(-1), (1969, 12, 31));
    assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    assert_eq!(civil_from_days(20_785), (2026, 11, 28));
    assert_eq!(days_from_civil(2026, 11, 28), 20_785);
    assert_eq!(days_from_civil(1940, 1, 1), -10_958);
    // Walk day by day from 0001-01-01 to 9999-12-31.
    let first = days_from_civil(1, 1, 1);
    let last = days_from_civil(9999, 12, 31);
    let mut expected = (1i64, 1i64, 1i64);
    for days in first..=last {
        let (year, month, day) = civil_from_days(days);
        assert_eq!((year, i64::from(month), i64::from(day)), expected);
        assert_eq!(days_from_civil(year, month.into(), day.into()), days);
        let (y, m, d) = expected;
        expected = if d < days_in_month(y, m) {
            (y, m, d + 1)
        } else if m < 12 {
            (y, m + 1, 1)
        } else {
            (y + 1, 1, 1)
        };
    }
    let mut out = Vec::new();
    push_timestamp(&mut out, -1);
    assert_eq!(out, b"1969-12-31T23:59:59.999999Z");
    out.clear();
    push_timestamp(&mut out, START_MICROS + 3_723_000_042);
    assert_eq!(out, b"2026-11-28T01:02:03.000042Z");
}

#[test]
fn values_exercise_unicode_apostrophes_and_escaping() {
    let (mut non_ascii, mut apostrophe, mut escaped, mut emoji) = (false, false, false, false);
    for record in default_records(20_000) {
        let value: Value = serde_json::from_slice(&record).unwrap();
        let mut strings = Vec::new();
        string_values(&value["data"], &mut strings);
        for s in strings {
            non_ascii |= !s.is_ascii();
            apostrophe |= s.contains('\'');
            escaped |= s.contains(['"', '\\']);
            emoji |= s.chars().any(|c| u32::from(c) >= 0x1_0000);
        }
    }
    assert!(non_ascii && apostrophe && escaped && emoji);
}

#[test]
fn bank_and_card_values_are_well_formed() {
    let mut numeric_codes = 0;
    let mut text_codes = 0;
    let mut providers = HashSet::new();
    for record in default_records(20_000) {
        let value: Value = serde_json::from_slice(&record).unwrap();
        let table = &value["metadata"]["table-name"];
        let operation = &value["metadata"]["operation"];
        if operation == "delete" || operation == "create-table" {
            continue;
        }
        let rows = [Some(&value["data"]), value.get("before-image")];
        for row in rows.into_iter().flatten() {
            if table == "bank" {
                let account = row["account_number"].as_str().unwrap();
                let digits = account.strip_prefix("XYZ-").expect(account);
                assert!((1..=2).contains(&digits.len()), "{account}");
                assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{account}");
                let iban = row["iban"].as_str().unwrap();
                let b = iban.as_bytes();
                assert_eq!(b.len(), 22, "{iban}");
                assert!(b[..2].iter().all(u8::is_ascii_uppercase), "{iban}");
                assert!(b[2..].iter().all(u8::is_ascii_digit), "{iban}");
                // ISO 13616: country and check digits moved to the end, mod 97 == 1.
                let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
                let remainder = rearranged.fold(0u32, |r, c| {
                    if c.is_ascii_digit() {
                        (r * 10 + u32::from(c - b'0')) % 97
                    } else {
                        (r * 100 + u32::from(c - b'A') + 10) % 97
                    }
                });
                assert_eq!(remainder, 1, "{iban}");
                assert_eq!(row["bban"].as_str().unwrap(), &iban[4..]);
            } else if table == "card" {
                let provider = row["cred_card_provider"].as_str().unwrap();
                providers.insert(provider.to_owned());
                let number = row["card_number"].as_str().unwrap();
                assert!(number.bytes().all(|b| b.is_ascii_digit()));
                let (prefixes, length): (&[&str], usize) = match provider {
                    "VISA 16 digit" => (&["4"], 16),
                    "Mastercard" => (&["5", "2"], 16),
                    "American Express" => (&["34", "37"], 15),
                    "Discover" => (&["6011", "65"], 16),
                    other => panic!("unknown provider {other}"),
                };
                assert_eq!(number.len(), length, "{number}");
                assert!(prefixes.iter().any(|p| number.starts_with(p)), "{number}");
                let (payload, check) = number.split_at(number.len() - 1);
                assert_eq!(
                    luhn_check_digit(payload.as_bytes()),
                    check.as_bytes()[0] - b'0'
                );
                let expiration = row["card_expiration"].as_str().unwrap().as_bytes();
                assert_eq!(expiration.len(), 5);
                assert_eq!(expiration[2], b'/');
                let month = std::str::from_utf8(&expiration[..2]).unwrap();
                assert!((1..=12).contains(&month.parse::<u32>().unwrap()));
                match &row["card_security_code"] {
                    Value::String(code) => {
                        assert_eq!(code.len(), 3);
                        assert!(code.bytes().all(|b| b.is_ascii_digit()));
                        text_codes += 1;
                    }
                    Value::Number(code) => {
                        assert!((100..1000).contains(&code.as_u64().unwrap()));
                        numeric_codes += 1;
                    }
                    other => panic!("unexpected security code {other}"),
                }
            }
        }
    }
    assert_eq!(providers.len(), CARD_PROVIDERS.len());
    let share = f64::from(numeric_codes) / f64::from(numeric_codes + text_codes);
    assert!((0.05..0.15).contains(&share), "{share}");
}

#[test]
fn check_digit_helpers_match_known_values() {
    assert_eq!(iban_check_digits(b"DE", b"370400440532013000"), 89);
    // 4111 1111 1111 1111 is the classic VISA test number.
    assert_eq!(luhn_check_digit(b"411111111111111"), 1);
    // 3782 822463 10005 is a published American Express test number.
    assert_eq!(luhn_check_digit(b"37828224631000"), 5);
}
