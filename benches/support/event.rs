//! Builds the benchmark's Firehose transformation event from generated DMS
//! records of the sample tables, and writes it to a file.

use std::io::Write as _;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use cdc_mask_router::source::generate::{Generator, GeneratorConfig};

/// Delivery stream named in the event (its name selects the masked view when
/// the processor runs in `auto` mode).
pub const DELIVERY_STREAM_ARN: &str =
    "arn:aws:firehose:us-east-1:123456789012:deliverystream/cdc-masked";

/// `approximateArrivalTimestamp` of every record: 2025-11-28T00:00:00Z.
pub const ARRIVAL_MILLIS: u64 = 1_764_288_000_000;

/// Control records the generator emits first (one `create-table` per table).
const LEADING_CONTROL_RECORDS: usize = 3;

/// A built event.
pub struct Event {
    /// The event JSON.
    pub json: Vec<u8>,
    /// Records in it.
    pub records: usize,
    /// Total bytes of the decoded DMS records.
    pub dms_bytes: usize,
}

/// Builds an event of at most `max_len` bytes (and as close to it as whole
/// records allow) from the generator's stream with `seed` and 100 full-load
/// rows per table, so it holds full-load rows followed by inserts, updates and
/// deletes of the sample tables. The three leading `create-table` control
/// records are skipped: every record in the event is a row change.
pub fn build(max_len: usize, seed: u64) -> Event {
    let generator = Generator::new(GeneratorConfig {
        seed,
        load_rows_per_table: 100,
    });
    let mut json = Vec::with_capacity(max_len);
    json.extend_from_slice(
        b"{\"invocationId\":\"7f0c5e0a-3d4b-4c1e-9a52-bench0000001\",\"deliveryStreamArn\":\"",
    );
    json.extend_from_slice(DELIVERY_STREAM_ARN.as_bytes());
    json.extend_from_slice(b"\",\"region\":\"us-east-1\",\"records\":[");
    const CLOSE: &[u8] = b"]}";
    let mut records = 0;
    let mut dms_bytes = 0;
    let mut item = Vec::new();
    for dms in generator.skip(LEADING_CONTROL_RECORDS) {
        item.clear();
        if records > 0 {
            item.push(b',');
        }
        // Shaped like Firehose record ids (a long decimal sequence number).
        write!(
            item,
            "{{\"recordId\":\"4954698668313554428650745793632162567570019247115{records:07}\",\"approximateArrivalTimestamp\":{ARRIVAL_MILLIS},\"data\":\""
        )
        .expect("writing to a Vec");
        let start = item.len();
        item.resize(start + dms.len().div_ceil(3) * 4, 0);
        let written = STANDARD
            .encode_slice(&dms, &mut item[start..])
            .expect("sized for the padded encoding");
        item.truncate(start + written);
        item.extend_from_slice(b"\"}");
        if json.len() + item.len() + CLOSE.len() > max_len {
            break;
        }
        json.extend_from_slice(&item);
        records += 1;
        dms_bytes += dms.len();
    }
    json.extend_from_slice(CLOSE);
    Event {
        json,
        records,
        dms_bytes,
    }
}

/// Writes the event JSON to `path`.
///
/// # Errors
/// Any I/O error.
pub fn write_to(event: &Event, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, &event.json)
}
