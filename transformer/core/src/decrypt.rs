//! The inverse of the encrypted view and of the quarantine, for whoever
//! holds the data keys. Parsing a row or quarantine record tells which
//! wrapped key it needs; unwrapping that key is the caller's business (KMS
//! or a keyring), so that this stays pure.

use std::borrow::Cow;

use zeroize::Zeroizing;

use crate::cipher::{self, QUARANTINE_AAD};
use crate::json::{self, Kind, Member};
use crate::keys::{DataKey, OpenError};
use crate::policy::{View, COLLISION_SUFFIX};

/// The format version this reader opens (`enc1:`).
const CELL_VERSION: &str = "1";

/// Why a row could not be decrypted. Names columns, never values.
#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    /// The line is not a JSON object.
    #[error("not a JSON object")]
    NotJson,
    /// The row holds encrypted values but no `_key`.
    #[error("encrypted values but no _key field")]
    NoKey,
    /// A `_quarantine` record given to row decryption, or the reverse.
    #[error("{0}")]
    WrongKind(&'static str),
    /// A value written by a newer format version.
    #[error("column {column}: unsupported ciphertext version")]
    UnsupportedVersion {
        /// The column.
        column: String,
    },
    /// A value that does not decrypt: wrong key, moved to another column or
    /// table, or tampered with.
    #[error("column {column}: {error}")]
    Open {
        /// The column.
        column: String,
        /// What failed.
        error: OpenError,
    },
}

/// One encrypted-view row (flat or envelope shape), parsed.
pub struct EncryptedRow<'a> {
    top: Vec<Member<'a>>,
    schema: Cow<'a, str>,
    table: Cow<'a, str>,
    /// Members whose values are objects of columns (`_before`, or `data`
    /// and `before-image`).
    nested: &'static [&'static str],
}

impl<'a> EncryptedRow<'a> {
    /// Parses one row.
    ///
    /// # Errors
    /// [`DecryptError`] if the line is not a JSON object, or is a quarantine
    /// record.
    pub fn parse(line: &'a [u8]) -> Result<Self, DecryptError> {
        let top = json::parse_object(line).map_err(|_| DecryptError::NotJson)?;
        if top.iter().any(|m| m.name == "_quarantine") {
            return Err(DecryptError::WrongKind(
                "a quarantine record: use --quarantine",
            ));
        }
        // Flat rows always carry `_schema`; anything else is the envelope
        // shape. (A source column called `metadata` or `data` in a flat row
        // is data.)
        let flat = top.iter().any(|m| m.name == "_schema");
        let (schema, table, nested): (_, _, &'static [&'static str]) = if flat {
            (
                string_field(&top, "_schema"),
                string_field(&top, "_table"),
                &["_before"],
            )
        } else {
            let metadata = top
                .iter()
                .find(|m| m.name == "metadata" && m.kind == Kind::Object)
                .map(|m| json::members(m).map_err(|_| DecryptError::NotJson))
                .transpose()?
                .unwrap_or_default();
            (
                string_field(&metadata, "schema-name"),
                string_field(&metadata, "table-name"),
                &["data", "before-image"],
            )
        };
        Ok(EncryptedRow {
            schema: schema.unwrap_or_default(),
            table: table.unwrap_or_default(),
            top,
            nested,
        })
    }

    /// The wrapped data key of the row's values (`_key`), if it has one.
    pub fn wrapped_key(&self) -> Option<Cow<'a, str>> {
        string_field(&self.top, "_key")
    }

    /// Appends the row, decrypted with `key` (the unwrapped
    /// [`EncryptedRow::wrapped_key`]), to `out` as one JSON line with the
    /// original column names and plaintext values, without `_key`.
    ///
    /// # Errors
    /// [`DecryptError`] if a value does not authenticate or a protected value
    /// has no key.
    pub fn decrypt(&self, key: Option<&DataKey>, out: &mut Vec<u8>) -> Result<(), DecryptError> {
        let place = Place {
            schema: &self.schema,
            table: &self.table,
            key,
        };
        let mut scratch = Scratch::default();
        out.push(b'{');
        let mut first = true;
        for member in &self.top {
            if member.name == "_key" {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            if member.kind == Kind::Object && self.nested.contains(&member.name.as_ref()) {
                out.extend_from_slice(member.raw_name);
                out.push(b':');
                let inner = json::members(member).map_err(|_| DecryptError::NotJson)?;
                out.push(b'{');
                for (i, column) in inner.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    decrypt_member(column, &place, &mut scratch, out)?;
                }
                out.push(b'}');
            } else {
                decrypt_member(member, &place, &mut scratch, out)?;
            }
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }
}

/// Where a row's values were encrypted: the names bound into their AAD.
struct Place<'p> {
    schema: &'p str,
    table: &'p str,
    key: Option<&'p DataKey>,
}

/// The decoded text of the first string member called `name`.
fn string_field<'a>(members: &[Member<'a>], name: &str) -> Option<Cow<'a, str>> {
    members
        .iter()
        .find(|m| m.name == name && m.kind == Kind::String)
        .map(Member::text)
}

#[derive(Default)]
struct Scratch {
    aad: Vec<u8>,
}

fn decrypt_member(
    member: &Member<'_>,
    place: &Place<'_>,
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
) -> Result<(), DecryptError> {
    let name = member.name.as_ref();
    let renamed = name.strip_suffix(View::Encrypted.suffix());
    let text = (member.kind == Kind::String).then(|| member.text());
    let version = text.as_deref().and_then(ciphertext_version);
    let Some((version, sealed)) = version else {
        // Not encrypted: kept, under the original name if it was renamed
        // (a protected null stays null).
        match (renamed, member.kind) {
            (Some(column), Kind::Null) => json::write_string(out, column),
            _ => out.extend_from_slice(member.raw_name),
        }
        out.push(b':');
        json::write_raw_one_line(out, member.raw);
        return Ok(());
    };
    let must_decrypt = renamed.is_some();
    let pass_through = |out: &mut Vec<u8>| {
        out.extend_from_slice(member.raw_name);
        out.push(b':');
        json::write_raw_one_line(out, member.raw);
    };
    if version != CELL_VERSION {
        if must_decrypt {
            return Err(DecryptError::UnsupportedVersion {
                column: name.to_owned(),
            });
        }
        // Clear text that merely looks like a ciphertext.
        pass_through(out);
        return Ok(());
    }
    let Some(key) = place.key else {
        if must_decrypt {
            return Err(DecryptError::NoKey);
        }
        pass_through(out);
        return Ok(());
    };
    // The column bound in the AAD: without the rename suffix, without the
    // collision suffix, or the name itself (see schemas/ciphertext.md).
    let candidates = [renamed, name.strip_suffix(COLLISION_SUFFIX), Some(name)];
    let mut last_error = OpenError::Tampered;
    for column in candidates.into_iter().flatten() {
        cipher::cell_aad(place.schema, place.table, column, &mut scratch.aad);
        match key.open_base64(&scratch.aad, sealed) {
            // Output under the original name, except where a collision
            // suffix keeps it apart from a reserved one (`_op_src`).
            Ok(plaintext) => {
                let output = if Some(column) == renamed {
                    column
                } else {
                    name
                };
                return write_plaintext(output, &plaintext, out);
            }
            Err(error) => last_error = error,
        }
    }
    if must_decrypt {
        return Err(DecryptError::Open {
            column: renamed.unwrap_or(name).to_owned(),
            error: last_error,
        });
    }
    pass_through(out);
    Ok(())
}

/// Writes `"name":<plaintext>`, checking that the plaintext is one JSON
/// value (it is the value's original JSON text).
fn write_plaintext(name: &str, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), DecryptError> {
    let wrapped = Zeroizing::new([b"{\"v\":", plaintext, b"}"].concat());
    if json::parse_object(&wrapped).map(|m| m.len()) != Ok(1) {
        return Err(DecryptError::Open {
            column: name.to_owned(),
            error: OpenError::Malformed,
        });
    }
    json::write_string(out, name);
    out.push(b':');
    json::write_raw_one_line(out, plaintext);
    Ok(())
}

/// The version and sealed part of `enc<version>:<sealed>`.
fn ciphertext_version(text: &str) -> Option<(&str, &str)> {
    let (head, sealed) = text.strip_prefix("enc")?.split_once(':')?;
    (!head.is_empty() && head.bytes().all(|b| b.is_ascii_digit())).then_some((head, sealed))
}

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

/// One quarantine line (`{"_quarantine":{…}}`), parsed.
#[derive(Debug)]
pub struct QuarantineRecord {
    reason: String,
    record_id: String,
    key: String,
    sealed: String,
}

impl QuarantineRecord {
    /// Parses one quarantine line.
    ///
    /// # Errors
    /// [`DecryptError`] if the line is not a quarantine record.
    pub fn parse(line: &[u8]) -> Result<Self, DecryptError> {
        let top = json::parse_object(line).map_err(|_| DecryptError::NotJson)?;
        let body = top
            .iter()
            .find(|m| m.name == "_quarantine" && m.kind == Kind::Object)
            .ok_or(DecryptError::WrongKind("not a quarantine record"))?;
        let fields = json::members(body).map_err(|_| DecryptError::NotJson)?;
        let field = |name: &str| {
            fields
                .iter()
                .find(|m| m.name == name && m.kind == Kind::String)
                .map(|m| m.text().into_owned())
        };
        Ok(QuarantineRecord {
            key: field("key").ok_or(DecryptError::NoKey)?,
            sealed: field("sealed").ok_or(DecryptError::WrongKind(
                "quarantine record without sealed data",
            ))?,
            reason: field("reason").unwrap_or_default(),
            record_id: field("record_id").unwrap_or_default(),
        })
    }

    /// The wrapped quarantine key that sealed the record.
    pub fn wrapped_key(&self) -> &str {
        &self.key
    }

    /// Opens the record with its unwrapped quarantine key.
    ///
    /// # Errors
    /// [`DecryptError::Open`] if it does not authenticate.
    pub fn unseal(self, key: &DataKey) -> Result<Unsealed, DecryptError> {
        let original = key
            .open_base64(QUARANTINE_AAD, &self.sealed)
            .map_err(|error| DecryptError::Open {
                column: "_quarantine".into(),
                error,
            })?;
        Ok(Unsealed {
            reason: self.reason,
            record_id: self.record_id,
            original,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_ciphertext_versions() {
        assert_eq!(ciphertext_version("enc1:abc"), Some(("1", "abc")));
        assert_eq!(ciphertext_version("enc2:"), Some(("2", "")));
        assert_eq!(ciphertext_version("enc:abc"), None);
        assert_eq!(ciphertext_version("encore: une fois"), None);
    }
}
