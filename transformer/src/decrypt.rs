//! The inverse of the encrypted view and of the quarantine: for whoever may
//! unwrap the data keys (KMS `Decrypt` rights, or the local keyring).

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::cipher::{self, CELL_PREFIX, QUARANTINE_AAD};
use crate::json::{self, Kind, Member};
use crate::keys::{DataKey, KeyError, OpenError, Purpose, UnwrapCache};

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
    /// The data key could not be unwrapped.
    #[error(transparent)]
    Key(#[from] KeyError),
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

/// Where a row's values were encrypted: the names bound into their AAD.
struct Place<'a> {
    schema: std::borrow::Cow<'a, str>,
    table: std::borrow::Cow<'a, str>,
    key: Option<Arc<DataKey>>,
}

/// Decrypts one encrypted-view row (flat or envelope shape), appending it to
/// `out` as one JSON line with the original column names and plaintext
/// values, without `_key`.
///
/// # Errors
/// [`DecryptError`] if the row is not JSON, its key cannot be unwrapped, or a
/// value does not authenticate.
pub async fn decrypt_row(
    line: &[u8],
    keys: &mut UnwrapCache,
    out: &mut Vec<u8>,
) -> Result<(), DecryptError> {
    let top = json::parse_object(line).map_err(|_| DecryptError::NotJson)?;
    if top.iter().any(|m| m.name == "_quarantine") {
        return Err(DecryptError::WrongKind(
            "a quarantine record: use --quarantine",
        ));
    }
    let metadata = top
        .iter()
        .find(|m| m.name == "metadata" && m.kind == Kind::Object)
        .map(|m| json::parse_object(m.raw).map_err(|_| DecryptError::NotJson))
        .transpose()?;
    let (schema, table) = match &metadata {
        Some(meta) => (
            string_field(meta, "schema-name"),
            string_field(meta, "table-name"),
        ),
        None => (string_field(&top, "_schema"), string_field(&top, "_table")),
    };
    let key = match string_field(&top, "_key") {
        Some(wrapped) => Some(keys.get(Purpose::Data, &wrapped).await?),
        None => None,
    };
    let place = Place {
        schema: schema.unwrap_or_default(),
        table: table.unwrap_or_default(),
        key,
    };
    let nested = ["data", "before-image", "_before"];
    let mut scratch = Scratch::default();
    out.push(b'{');
    let mut first = true;
    for member in &top {
        if member.name == "_key" {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        if member.kind == Kind::Object && nested.contains(&member.name.as_ref()) {
            out.extend_from_slice(member.raw_name);
            out.push(b':');
            let inner = json::parse_object(member.raw).map_err(|_| DecryptError::NotJson)?;
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

/// The decoded text of the first string member called `name`.
fn string_field<'a>(members: &[Member<'a>], name: &str) -> Option<std::borrow::Cow<'a, str>> {
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
    let text = (member.kind == Kind::String).then(|| member.text());
    let sealed = text.as_deref().and_then(|t| t.strip_prefix(CELL_PREFIX));
    let Some(sealed) = sealed else {
        let column = member.name.as_ref();
        if text.as_deref().is_some_and(looks_like_other_version) {
            return Err(DecryptError::UnsupportedVersion {
                column: column.to_owned(),
            });
        }
        out.extend_from_slice(member.raw_name);
        out.push(b':');
        json::write_raw_one_line(out, member.raw);
        return Ok(());
    };
    let column = member
        .name
        .strip_suffix("_encrypted")
        .unwrap_or(&member.name);
    let key = place.key.as_ref().ok_or(DecryptError::NoKey)?;
    cipher::cell_aad(&place.schema, &place.table, column, &mut scratch.aad);
    let plaintext = key
        .open_base64(&scratch.aad, sealed)
        .map_err(|error| DecryptError::Open {
            column: column.to_owned(),
            error,
        })?;
    // The plaintext is the value's original JSON text; make sure it is one
    // before writing it out as such.
    let wrapped = [b"{\"v\":", plaintext.as_slice(), b"}"].concat();
    let wrapped = Zeroizing::new(wrapped);
    if json::parse_object(&wrapped).map(|m| m.len()) != Ok(1) {
        return Err(DecryptError::Open {
            column: column.to_owned(),
            error: OpenError::Malformed,
        });
    }
    json::write_string(out, column);
    out.push(b':');
    json::write_raw_one_line(out, &plaintext);
    Ok(())
}

/// `enc2:…`, `enc17:…`: a format this version does not know.
fn looks_like_other_version(text: &str) -> bool {
    text.strip_prefix("enc")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(digits, _)| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
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

/// Opens one quarantine line (`{"_quarantine":{…}}`).
///
/// # Errors
/// [`DecryptError`] if the line is not a quarantine record, its key cannot be
/// unwrapped (quarantine keys are for admins only), or it was tampered with.
pub async fn unseal_quarantine(
    line: &[u8],
    keys: &mut UnwrapCache,
) -> Result<Unsealed, DecryptError> {
    let top = json::parse_object(line).map_err(|_| DecryptError::NotJson)?;
    let body = top
        .iter()
        .find(|m| m.name == "_quarantine" && m.kind == Kind::Object)
        .ok_or(DecryptError::WrongKind("not a quarantine record"))?;
    let fields = json::parse_object(body.raw).map_err(|_| DecryptError::NotJson)?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|m| m.name == name && m.kind == Kind::String)
            .map(|m| m.text().into_owned())
    };
    let wrapped = field("key").ok_or(DecryptError::NoKey)?;
    let sealed = field("sealed").ok_or(DecryptError::WrongKind(
        "quarantine record without sealed data",
    ))?;
    let key = keys.get(Purpose::Quarantine, &wrapped).await?;
    let original =
        key.open_base64(QUARANTINE_AAD, &sealed)
            .map_err(|error| DecryptError::Open {
                column: "_quarantine".into(),
                error,
            })?;
    Ok(Unsealed {
        reason: field("reason").unwrap_or_default(),
        record_id: field("record_id").unwrap_or_default(),
        original,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_future_versions() {
        assert!(looks_like_other_version("enc2:abc"));
        assert!(!looks_like_other_version("enc:abc"));
        assert!(!looks_like_other_version("encore: une fois"));
    }
}
