//! The floor of wave 1 (issue 11 measures against it): base64 decode,
//! simd-json parse into a DOM and base64 encode of each record, the event
//! read through serde_json maps. Looser than the strict floor of issue 15
//! (no tape, scalar base64, one map per record), kept so that the figures
//! of both issues come from the same run.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hint::black_box;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::value::RawValue;

/// The loose floor's reusable buffers.
#[derive(Default)]
pub struct LooseFloor {
    decoded: Vec<u8>,
    parse: Vec<u8>,
    buffers: Option<simd_json::Buffers>,
    response: Vec<u8>,
}

impl LooseFloor {
    /// Decodes, parses and re-encodes every record of `event`; returns the
    /// response length.
    pub fn run(&mut self, event: &[u8]) -> usize {
        let top: BTreeMap<&str, &RawValue> =
            serde_json::from_slice(event).expect("the event is a JSON object");
        let records: Vec<BTreeMap<&str, &RawValue>> =
            serde_json::from_str(top["records"].get()).expect("records is an array of objects");
        let buffers = self
            .buffers
            .get_or_insert_with(|| simd_json::Buffers::new(4096));
        let out = &mut self.response;
        out.clear();
        out.extend_from_slice(b"{\"records\":[");
        for (i, record) in records.iter().enumerate() {
            let id: Cow<'_, str> =
                serde_json::from_str(record["recordId"].get()).expect("recordId is a string");
            let data: Cow<'_, str> =
                serde_json::from_str(record["data"].get()).expect("data is a string");
            self.decoded.clear();
            STANDARD
                .decode_vec(data.as_bytes(), &mut self.decoded)
                .expect("data is base64");
            self.parse.clear();
            self.parse.extend_from_slice(&self.decoded);
            {
                let value = simd_json::to_borrowed_value_with_buffers(&mut self.parse, buffers)
                    .expect("the DMS record is JSON");
                black_box(&value);
            }
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"recordId\":");
            serde_json::to_writer(&mut *out, &*id).expect("writing to a Vec");
            out.extend_from_slice(b",\"result\":\"Ok\",\"data\":\"");
            let start = out.len();
            out.resize(start + self.decoded.len().div_ceil(3) * 4, 0);
            let written = STANDARD
                .encode_slice(&self.decoded, &mut out[start..])
                .expect("sized for the padded encoding");
            out.truncate(start + written);
            out.extend_from_slice(b"\"}");
        }
        out.extend_from_slice(b"]}");
        out.len()
    }
}
