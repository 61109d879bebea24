//! A row of the encrypted view: which wrapped key it needs, and its
//! `enc`/`det` values opened where they sit (renamed columns back to their
//! names).

use super::*;

/// One encrypted-view row (flat or envelope shape), parsed.
pub struct EncryptedRow<'a> {
    top: Vec<Member<'a>>,
    schema: Cow<'a, str>,
    table: Cow<'a, str>,
    /// Members whose values are objects of columns (`_before`, or `data`
    /// and `before-image`), with the place of their columns.
    nested: &'static [(&'static str, Place)],
}

impl<'a> EncryptedRow<'a> {
    /// Parses one row.
    ///
    /// # Errors
    /// [`DecryptError`] if the line is not a JSON object, or is a quarantine
    /// record.
    pub fn parse(line: &'a [u8]) -> Result<Self, DecryptError> {
        let top = json::parse_object(line).map_err(|_| DecryptError::NotJson)?;
        if top.iter().any(|m| m.name() == "_quarantine") {
            return Err(DecryptError::WrongKind(
                "a quarantine record: use --quarantine",
            ));
        }
        // Flat rows always carry `_schema`; anything else is the envelope
        // shape. (A source column called `metadata` or `data` in a flat row
        // is data.)
        let flat = top.iter().any(|m| m.name() == "_schema");
        let (schema, table, nested): (_, _, &'static [(&'static str, Place)]) = if flat {
            (
                string_field(&top, "_schema"),
                string_field(&top, "_table"),
                &[("_before", Place::Before)],
            )
        } else {
            let metadata = top
                .iter()
                .find(|m| m.name() == "metadata" && m.kind == Kind::Object)
                .map(|m| json::members(m).map_err(|_| DecryptError::NotJson))
                .transpose()?
                .unwrap_or_default();
            (
                string_field(&metadata, "schema-name"),
                string_field(&metadata, "table-name"),
                &[("data", Place::Row), ("before-image", Place::Before)],
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
        self.decrypt_with(key, None, out)
    }

    /// As [`EncryptedRow::decrypt`], reading `det` values with `det`.
    ///
    /// # Errors
    /// As [`EncryptedRow::decrypt`]; a `det` value without `det` is
    /// [`DecryptError::NoDeterministicKey`].
    pub fn decrypt_with(
        &self,
        key: Option<&DataKey>,
        det: Option<&DetReader>,
        out: &mut Vec<u8>,
    ) -> Result<(), DecryptError> {
        let context = Context {
            schema: &self.schema,
            table: &self.table,
            key,
            det,
        };
        let mut scratch = Scratch::default();
        out.push(b'{');
        let mut first = true;
        for member in &self.top {
            if member.name() == "_key" {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            let nested = self
                .nested
                .iter()
                .find(|(name, _)| *name == member.name().as_ref())
                .map(|(_, place)| *place);
            if let (Kind::Object, Some(place)) = (member.kind, nested) {
                out.extend_from_slice(member.raw_name.as_bytes());
                out.push(b':');
                let inner = json::members(member).map_err(|_| DecryptError::NotJson)?;
                out.push(b'{');
                for (i, column) in inner.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    decrypt_member(column, place, &context, &mut scratch, out)?;
                }
                out.push(b'}');
            } else {
                decrypt_member(member, Place::Row, &context, &mut scratch, out)?;
            }
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }
}

/// What the values of one row are bound to, and the key that opens them.
struct Context<'p> {
    schema: &'p str,
    table: &'p str,
    key: Option<&'p DataKey>,
    det: Option<&'p DetReader>,
}

/// The decoded text of the first string member called `name`.
fn string_field<'a>(members: &[Member<'a>], name: &str) -> Option<Cow<'a, str>> {
    members
        .iter()
        .find(|m| m.name() == name && m.kind == Kind::String)
        .map(Member::text)
}

#[derive(Default)]
struct Scratch {
    aad: Vec<u8>,
}

/// A string value shaped like a cdc-mask value (`schemas/ciphertext.md`,
/// "Reading a row", rule 3).
enum Shaped<'t> {
    /// `enc<version>:<sealed>`.
    Enc { version: &'t str, sealed: &'t str },
    /// `det<version>_…`.
    Det,
}

impl<'t> Shaped<'t> {
    fn of(text: &'t str) -> Option<Self> {
        if let Some((version, sealed)) = cipher::parse_enc(text) {
            return Some(Shaped::Enc { version, sealed });
        }
        det::parse_shape(text).map(|_| Shaped::Det)
    }
}

fn decrypt_member(
    member: &Member<'_>,
    place: Place,
    context: &Context<'_>,
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
) -> Result<(), DecryptError> {
    let decoded = member.name();
    let name = decoded.as_ref();
    let renamed = name.strip_suffix(View::Encrypted.suffix());
    let text = (member.kind == Kind::String).then(|| member.text());
    let pass_through = |out: &mut Vec<u8>| {
        // A renamed protected null comes back under its original name.
        match (renamed, member.kind) {
            (Some(column), Kind::Null) => json::write_string(out, column),
            _ => out.extend_from_slice(member.raw_name.as_bytes()),
        }
        out.push(b':');
        json::write_raw_one_line(out, member.raw.as_bytes());
    };
    let Some(shaped) = text.as_deref().and_then(Shaped::of) else {
        pass_through(out);
        return Ok(());
    };
    // A protected column, or a value that is a whole ciphertext by its
    // syntax, must decrypt: never pass a failed one through as clear text.
    let complete = text
        .as_deref()
        .is_some_and(|t| cipher::is_complete_enc(t) || det::is_well_formed(t));
    if renamed.is_none() && !complete {
        pass_through(out);
        return Ok(());
    }
    let (version, sealed) = match shaped {
        Shaped::Enc { version, sealed } if version == "1" || version == "2" => (version, sealed),
        Shaped::Enc { .. } => {
            return Err(DecryptError::UnsupportedVersion {
                column: name.to_owned(),
            })
        }
        Shaped::Det => {
            let text = text.as_deref().unwrap_or_default();
            return open_det(text, name, renamed, context, out);
        }
    };
    let key = context.key.ok_or(DecryptError::NoKey)?;
    // The column bound in the AAD: without the rename suffix, without the
    // collision suffix, or the name itself (see schemas/ciphertext.md).
    let candidates = [renamed, name.strip_suffix(COLLISION_SUFFIX), Some(name)];
    let mut last_error = OpenError::Tampered;
    for column in candidates.into_iter().flatten() {
        if version == "1" {
            cipher::cell_aad_v1(context.schema, context.table, column, &mut scratch.aad);
        } else {
            cipher::cell_aad(
                context.schema,
                context.table,
                column,
                place,
                &mut scratch.aad,
            );
        }
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
    Err(DecryptError::Open {
        column: renamed.unwrap_or(name).to_owned(),
        error: last_error,
    })
}

/// Writes `"name":<value>` of a `det` value, its domain that of the first
/// name candidate configured with one (default `""`).
fn open_det(
    text: &str,
    name: &str,
    renamed: Option<&str>,
    context: &Context<'_>,
    out: &mut Vec<u8>,
) -> Result<(), DecryptError> {
    let column = renamed.unwrap_or(name).to_owned();
    let Some(reader) = context.det else {
        return Err(DecryptError::NoDeterministicKey { column });
    };
    let candidates = [renamed, name.strip_suffix(COLLISION_SUFFIX), Some(name)];
    let (chosen, domain) = candidates
        .into_iter()
        .flatten()
        .find_map(|c| {
            reader
                .domain(context.schema, context.table, c)
                .map(|d| (c, d))
        })
        .unwrap_or((renamed.unwrap_or(name), ""));
    let plain = reader.key.decrypt(domain, text).map_err(|e| match e {
        det::DetError::WrongVersion { .. } => DecryptError::UnsupportedVersion {
            column: column.clone(),
        },
        det::DetError::Unauthentic => DecryptError::Open {
            column: column.clone(),
            error: OpenError::Tampered,
        },
        _ => DecryptError::Open {
            column: column.clone(),
            error: OpenError::Malformed,
        },
    })?;
    let output = if Some(chosen) == renamed {
        chosen
    } else {
        name
    };
    json::write_string(out, output);
    out.push(b':');
    out.extend_from_slice(&plain.to_json());
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
