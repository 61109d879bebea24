//! The generated records in the JSON DMS writes to a Kinesis target: one
//! compact object per record, keys in DMS's order (`data`, `before-image`,
//! `metadata`, or `control`, `metadata`), timestamps with microseconds.

use super::{Cell, Table, SCHEMA};

pub(super) const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Writes `{"id":…,"column":value,…}`; a column listed in `overrides` is written with the
/// value given there instead of its value in `cells`.
pub(super) fn write_row(
    out: &mut Vec<u8>,
    table: Table,
    id: u64,
    cells: &[Cell],
    overrides: &[(usize, Cell)],
) {
    out.extend_from_slice(b"{\"id\":");
    push_u64(out, id);
    for (index, (column, cell)) in table.columns().iter().zip(cells).enumerate() {
        out.push(b',');
        push_key(out, column.name);
        let cell = overrides
            .iter()
            .find(|(overridden, _)| *overridden == index)
            .map_or(cell, |(_, old)| old);
        match cell {
            Cell::Text(text) => push_json_str(out, text),
            Cell::Static(text) => push_json_str(out, text),
            Cell::Date(days) => {
                out.push(b'"');
                push_date(out, *days);
                out.push(b'"');
            }
            Cell::Int(value) => push_u64(out, *value),
        }
    }
    out.push(b'}');
}

/// Writes `,"metadata":{…}}`, closing the record object.
pub(super) fn write_metadata(
    out: &mut Vec<u8>,
    micros: i64,
    table: Table,
    operation: &str,
    transaction_id: Option<u64>,
) {
    out.extend_from_slice(b",\"metadata\":{\"timestamp\":\"");
    push_timestamp(out, micros);
    out.extend_from_slice(b"\",\"record-type\":\"data\",\"operation\":\"");
    out.extend_from_slice(operation.as_bytes());
    out.extend_from_slice(b"\",\"partition-key-type\":\"schema-table\"");
    push_location(out, table);
    if let Some(transaction_id) = transaction_id {
        out.extend_from_slice(b",\"transaction-id\":");
        push_u64(out, transaction_id);
    }
    out.extend_from_slice(b"}}");
}

/// Writes the `create-table` control record of `table`.
pub(super) fn write_control(out: &mut Vec<u8>, micros: i64, table: Table) {
    out.extend_from_slice(
        b"{\"control\":{\"table-def\":{\"columns\":{\"id\":{\"type\":\"INT32\",\"nullable\":false}",
    );
    for column in table.columns() {
        out.push(b',');
        push_key(out, column.name);
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(column.dms_type.as_bytes());
        out.push(b'"');
        if let Some(length) = column.length {
            out.extend_from_slice(b",\"length\":");
            push_u64(out, length.into());
        }
        out.extend_from_slice(b",\"nullable\":true}");
    }
    out.extend_from_slice(b"},\"primary-key\":[\"id\"]}},\"metadata\":{\"timestamp\":\"");
    push_timestamp(out, micros);
    out.extend_from_slice(
        b"\",\"record-type\":\"control\",\"operation\":\"create-table\",\"partition-key-type\":\"task-id\"",
    );
    push_location(out, table);
    out.extend_from_slice(b"}}");
}

/// Writes `,"schema-name":"dataset","table-name":"<table>"`.
fn push_location(out: &mut Vec<u8>, table: Table) {
    out.extend_from_slice(b",\"schema-name\":\"");
    out.extend_from_slice(SCHEMA.as_bytes());
    out.extend_from_slice(b"\",\"table-name\":\"");
    out.extend_from_slice(table.name().as_bytes());
    out.push(b'"');
}

/// Writes `"name":` for one of this module's column names (plain ASCII, no escaping needed).
pub(super) fn push_key(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Writes `text` as a JSON string literal, escaped by serde_json.
fn push_json_str(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(&mut *out, text).expect("serialising a str into a Vec cannot fail");
}

pub(super) fn push_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Writes `value` as exactly `width` decimal digits (zero-padded; `value < 10^width`).
fn push_padded(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for digit in out[start..].iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
    debug_assert_eq!(value, 0, "value does not fit in {width} digits");
}

/// Writes `YYYY-MM-DD` for `days` since 1970-01-01 (years 0..=9999).
fn push_date(out: &mut Vec<u8>, days: i64) {
    let (year, month, day) = cdc_mask_core::partition::civil_from_days(days);
    push_padded(out, year as u64, 4);
    out.push(b'-');
    push_padded(out, month.into(), 2);
    out.push(b'-');
    push_padded(out, day.into(), 2);
}

/// Writes `YYYY-MM-DDTHH:MM:SS.ffffffZ` for `micros` since the Unix epoch.
pub(super) fn push_timestamp(out: &mut Vec<u8>, micros: i64) {
    push_date(out, micros.div_euclid(MICROS_PER_DAY));
    let of_day = micros.rem_euclid(MICROS_PER_DAY) as u64;
    let seconds = of_day / 1_000_000;
    out.push(b'T');
    push_padded(out, seconds / 3600, 2);
    out.push(b':');
    push_padded(out, seconds / 60 % 60, 2);
    out.push(b':');
    push_padded(out, seconds % 60, 2);
    out.push(b'.');
    push_padded(out, of_day % 1_000_000, 6);
    out.push(b'Z');
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub(super) const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = (month + 9) % 12; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
