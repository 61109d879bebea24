//! Why a record went to the quarantine instead of a view: its own bytes
//! (it can never be transformed as it is), or a transient cause outside
//! the record (it can be reprocessed once the cause is gone).

use crate::json::JsonError;

/// The reason a record could not be transformed. Names only the class of
/// problem, never the content, so it is safe to log and to store in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The Firehose `data` field is not base64 (or not a string).
    InvalidBase64,
    /// Not valid UTF-8.
    InvalidUtf8,
    /// Not well-formed JSON, or not a JSON object.
    InvalidJson,
    /// Nested deeper than the parser allows.
    TooDeep,
    /// Larger than a DMS record can be (1 MiB).
    TooLarge,
    /// JSON, but not shaped like a DMS record (missing or mistyped
    /// `metadata`, `data`, `schema-name`, `table-name`, `before-image`).
    NotDms,
    /// `record-type` is neither `data` nor `control`.
    UnknownRecordType,
    /// `data`, `metadata` or `before-image` appears twice.
    DuplicateField,
    /// A value must be encrypted but no data key was available.
    NoDataKey,
    /// A value its column's action cannot protect: an object or array, or
    /// a string with a lone surrogate escape, to encrypt deterministically.
    UnsupportedValue,
    /// No usable policy: missing, unreadable, invalid, or not confirmed
    /// within its max age.
    PolicyUnavailable,
    /// The view could not be told (the delivery stream's name names none).
    UnknownView,
    /// A data or quarantine key could not be made.
    KeyUnavailable,
    /// The answer did not fit the Lambda response limit; sealed in an
    /// overflow bundle.
    ResponseOverflow,
}

impl Reason {
    /// Every reason, for counters and documentation.
    pub const ALL: [Reason; 14] = [
        Reason::InvalidBase64,
        Reason::InvalidUtf8,
        Reason::InvalidJson,
        Reason::TooDeep,
        Reason::TooLarge,
        Reason::NotDms,
        Reason::UnknownRecordType,
        Reason::DuplicateField,
        Reason::NoDataKey,
        Reason::UnsupportedValue,
        Reason::PolicyUnavailable,
        Reason::UnknownView,
        Reason::KeyUnavailable,
        Reason::ResponseOverflow,
    ];

    /// The stable snake_case code written to logs and quarantine records.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InvalidBase64 => "invalid_base64",
            Reason::InvalidUtf8 => "invalid_utf8",
            Reason::InvalidJson => "invalid_json",
            Reason::TooDeep => "too_deep",
            Reason::TooLarge => "too_large",
            Reason::NotDms => "not_dms_record",
            Reason::UnknownRecordType => "unknown_record_type",
            Reason::DuplicateField => "duplicate_field",
            Reason::NoDataKey => "no_data_key",
            Reason::UnsupportedValue => "unsupported_value",
            Reason::PolicyUnavailable => "policy_unavailable",
            Reason::UnknownView => "unknown_view",
            Reason::KeyUnavailable => "key_unavailable",
            Reason::ResponseOverflow => "response_overflow",
        }
    }

    /// The reason of a stable code, as written by [`Reason::as_str`].
    pub fn parse(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == code)
    }

    /// Whether the cause lies outside the record (policy, key, view,
    /// response size): such a record goes through once the cause is gone,
    /// so `cdc-mask quarantine reprocess` takes it back into the views.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Reason::NoDataKey
                | Reason::PolicyUnavailable
                | Reason::UnknownView
                | Reason::KeyUnavailable
                | Reason::ResponseOverflow
        )
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<JsonError> for Reason {
    fn from(err: JsonError) -> Self {
        match err {
            JsonError::Syntax(_) => Reason::InvalidJson,
            JsonError::TooDeep => Reason::TooDeep,
            JsonError::Utf8 => Reason::InvalidUtf8,
        }
    }
}
