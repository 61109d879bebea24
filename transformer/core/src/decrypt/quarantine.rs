//! A quarantine line (`{"_quarantine":{…}}`, format version 1 or 2):
//! parsed for the key it needs, then unsealed to the original bytes (one
//! record, or every record of an overflow bundle).

use super::*;

/// A sealed quarantine record, opened.
#[derive(Debug)]
pub struct Unsealed {
    /// Why it was quarantined.
    pub reason: String,
    /// Its record id (Firehose `recordId` or the router's source position).
    pub record_id: String,
    /// The original bytes, exactly as received.
    pub original: Zeroizing<Vec<u8>>,
}

/// Most bytes an overflow bundle may inflate to (a Lambda request is at
/// most 6 MB; this leaves room for the router's batches).
const MAX_BUNDLE_BYTES: usize = 64 << 20;

/// One quarantine line (`{"_quarantine":{…}}`), parsed.
#[derive(Debug)]
pub struct QuarantineRecord {
    version: u64,
    reason: String,
    record_id: String,
    encoding: Option<String>,
    records: Option<u64>,
    key: String,
    sealed: String,
}

impl QuarantineRecord {
    /// Parses one quarantine line (format version 1 or 2).
    ///
    /// # Errors
    /// [`DecryptError`] if the line is not a quarantine record.
    pub fn parse(line: &[u8]) -> Result<Self, DecryptError> {
        let top = json::parse_object(line).map_err(|_| DecryptError::NotJson)?;
        let body = top
            .iter()
            .find(|m| m.name() == "_quarantine" && m.kind == Kind::Object)
            .ok_or(DecryptError::WrongKind("not a quarantine record"))?;
        let fields = json::members(body).map_err(|_| DecryptError::NotJson)?;
        let member = |name: &str| fields.iter().find(|m| m.name() == name);
        let text = |name: &str| {
            member(name)
                .filter(|m| m.kind == Kind::String)
                .map(|m| m.text().into_owned())
        };
        let number = |name: &str| {
            member(name)
                .filter(|m| m.kind == Kind::Number)
                .and_then(|m| m.raw.parse::<u64>().ok())
        };
        let version = number("v").ok_or(DecryptError::WrongKind(
            "quarantine record without a version",
        ))?;
        if version != 1 && version != 2 {
            return Err(DecryptError::UnsupportedVersion {
                column: "_quarantine".into(),
            });
        }
        Ok(QuarantineRecord {
            version,
            key: text("key").ok_or(DecryptError::NoKey)?,
            sealed: text("sealed").ok_or(DecryptError::WrongKind(
                "quarantine record without sealed data",
            ))?,
            reason: text("reason").unwrap_or_default(),
            record_id: text("record_id").unwrap_or_default(),
            encoding: text("encoding"),
            records: number("records"),
        })
    }

    /// Why the record was quarantined (in clear, bound into the seal).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The record id (for a bundle: the record that carries it).
    pub fn record_id(&self) -> &str {
        &self.record_id
    }

    /// How many records it seals (more than one for an overflow bundle).
    pub fn records(&self) -> u64 {
        self.records.unwrap_or(1)
    }

    /// The wrapped quarantine key that sealed the record.
    pub fn wrapped_key(&self) -> &str {
        &self.key
    }

    /// Opens the record with its unwrapped quarantine key: one original
    /// record, or every record of an overflow bundle, in order.
    ///
    /// # Errors
    /// [`DecryptError::Open`] if it does not authenticate or a bundle is
    /// malformed.
    pub fn unseal(self, key: &DataKey) -> Result<Vec<Unsealed>, DecryptError> {
        let open_error = |error| DecryptError::Open {
            column: "_quarantine".into(),
            error,
        };
        let aad = if self.version == 1 {
            cipher::QUARANTINE_AAD_V1.to_vec()
        } else {
            cipher::quarantine_aad(&self.reason, &self.record_id, self.encoding.as_deref())
        };
        let plaintext = key.open_base64(&aad, &self.sealed).map_err(open_error)?;
        match self.encoding.as_deref() {
            None if self.version == 1 || self.records.is_none() => Ok(vec![Unsealed {
                reason: self.reason,
                record_id: self.record_id,
                original: plaintext,
            }]),
            Some(cipher::BUNDLE_ENCODING) => {
                let entries = cipher::decode_bundle(&plaintext, MAX_BUNDLE_BYTES)
                    .map_err(|_| open_error(OpenError::Malformed))?;
                if u64::try_from(entries.len()).ok() != self.records {
                    return Err(open_error(OpenError::Malformed));
                }
                Ok(entries
                    .into_iter()
                    .map(|entry| Unsealed {
                        reason: self.reason.clone(),
                        record_id: entry.record_id,
                        original: entry.original,
                    })
                    .collect())
            }
            _ => Err(DecryptError::UnsupportedVersion {
                column: "_quarantine".into(),
            }),
        }
    }
}
