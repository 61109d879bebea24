//! One row of one view written value by value: the flat shape (columns,
//! then `_op`, `_ts`, … ) and the DMS envelope, each protected value
//! masked or encrypted where it sits and renamed as the policy says.

use super::plan::{ColumnPlan, Planned, TableSlot};
use super::*;

pub(super) struct RowWriter<'t, 'r, 'a> {
    pub(super) transformer: &'t Transformer,
    pub(super) record: &'r DataRecord<'a>,
    pub(super) rules: Option<&'t TableRules>,
    pub(super) table: TableSlot,
    pub(super) key: Option<&'t DataKey>,
    pub(super) scratch: &'t mut Scratch,
    pub(super) encrypted_any: bool,
}

impl RowWriter<'_, '_, '_> {
    pub(super) fn flat(&mut self, out: &mut Vec<u8>) -> Result<(), Reason> {
        out.push(b'{');
        let mut first = true;
        self.columns(&self.record.data, Place::Row, &mut first, out)?;
        for ((_, name), raw) in envelope::WRITTEN_META.iter().zip(self.record.written_meta) {
            if let Some(raw) = raw {
                field_name(name, &mut first, out);
                json::write_raw_one_line(out, raw.as_bytes());
            }
        }
        if let Some(before) = &self.record.before {
            field_name("_before", &mut first, out);
            self.object(before, Place::Before, out)?;
        }
        // The leading comma only after another field.
        let fields = self.scratch.plans.fields(self.table);
        let skip = usize::from(std::mem::take(&mut first));
        out.extend_from_slice(fields.get(skip..).unwrap_or_default());
        self.guarded_field(&mut first, out);
        self.key_field(&mut first, out);
        out.extend_from_slice(b"}\n");
        Ok(())
    }

    pub(super) fn envelope(&mut self, out: &mut Vec<u8>) -> Result<(), Reason> {
        out.push(b'{');
        let mut first = true;
        for member in &self.record.top {
            match member.name().as_ref() {
                "data" => {
                    field_name("data", &mut first, out);
                    self.object(&self.record.data, Place::Row, out)?;
                }
                envelope::BEFORE_IMAGE_FIELD => {
                    field_name(envelope::BEFORE_IMAGE_FIELD, &mut first, out);
                    match &self.record.before {
                        Some(before) => self.object(before, Place::Before, out)?,
                        None => out.extend_from_slice(b"null"),
                    }
                }
                "metadata" => {
                    field_name("metadata", &mut first, out);
                    self.metadata(out);
                }
                // Anything else could carry data the policy does not know.
                _ => {}
            }
        }
        self.guarded_field(&mut first, out);
        self.key_field(&mut first, out);
        out.extend_from_slice(b"}\n");
        Ok(())
    }

    /// Copies the metadata, except `partition-key-value` of protected tables
    /// (DMS puts the primary key there, which may itself be PII).
    pub(super) fn metadata(&self, out: &mut Vec<u8>) {
        let protected = self.rules.is_some();
        json::write_members(
            out,
            self.record
                .metadata
                .iter()
                .filter(|m| !(protected && m.name() == "partition-key-value")),
        );
    }

    pub(super) fn key_field(&self, first: &mut bool, out: &mut Vec<u8>) {
        if let (true, Some(key)) = (self.encrypted_any, self.key) {
            field_name("_key", first, out);
            // Providers make descriptors of base64 and ':' only.
            out.push(b'"');
            out.extend_from_slice(key.wrapped().as_bytes());
            out.push(b'"');
        }
    }

    pub(super) fn object(
        &mut self,
        members: &[Member<'_>],
        place: Place,
        out: &mut Vec<u8>,
    ) -> Result<(), Reason> {
        out.push(b'{');
        let mut first = true;
        self.columns(members, place, &mut first, out)?;
        out.push(b'}');
        Ok(())
    }

    pub(super) fn columns(
        &mut self,
        members: &[Member<'_>],
        place: Place,
        first: &mut bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Reason> {
        let mut layout = self.scratch.plans.take(self.table, place);
        let mut written = Ok(());
        for (position, member) in members.iter().enumerate() {
            if !*first {
                out.push(b',');
            }
            *first = false;
            let planned = layout.plan(position, member.raw_name.as_bytes(), |aad, head| {
                if self.transformer.view == View::Encrypted {
                    cipher::append_cell_aad(
                        &self.record.schema,
                        &self.record.table,
                        &member.name(),
                        place,
                        aad,
                    );
                }
                let plan = ColumnPlan::new(
                    self.transformer,
                    self.rules,
                    &member.name(),
                    &mut self.scratch.name,
                );
                write_head(self.transformer, self.rules, member, &plan, head);
                plan
            });
            written = self.column(member, &planned, out);
            if written.is_err() {
                break;
            }
        }
        self.scratch.plans.put(self.table, place, layout);
        written
    }

    /// Writes `"name":value` for one column, protected as its plan says.
    pub(super) fn column(
        &mut self,
        member: &Member<'_>,
        planned: &Planned<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), Reason> {
        let Planned { plan, aad, head } = *planned;
        let view = self.transformer.view;
        let rule = plan.rule_in(self.rules);
        out.extend_from_slice(head);
        let action = match rule.map(|r| r.action(view)) {
            Some(Action::Keep) | None => {
                let detected = if rule.is_none() {
                    self.guard(member, plan.context)
                } else {
                    None
                };
                if detected.is_some() && self.transformer.policy.guard_mode() == GuardMode::Protect
                {
                    return self.protect(member, aad, out);
                }
                if view == View::Encrypted && looks_encrypted(member) {
                    // Readers must refuse a whole ciphertext that does not
                    // open, so one never passes in clear: it is encrypted.
                    return self.encrypt(member, aad, out);
                }
                json::write_raw_one_line(out, member.raw.as_bytes());
                return Ok(());
            }
            Some(action) => action,
        };
        if member.kind == Kind::Null {
            // Nothing to hide in a null; keeping it lets analysts count them.
            out.extend_from_slice(b"null");
            return Ok(());
        }
        let redaction = self.transformer.policy.redact_with();
        match action {
            Action::Redact { with } => mask::redact(with.as_deref().unwrap_or(redaction), out),
            Action::Partial { keep_last } => mask::partial(member, *keep_last, out),
            Action::Token => match &self.transformer.token_key {
                Some(key) => mask::token(member, key, rule.map_or("", |r| &r.domain), out),
                // Unreachable by construction (checked in `new`); fail closed.
                None => mask::redact(redaction, out),
            },
            Action::Null => out.extend_from_slice(b"null"),
            Action::Generalize { to } => mask::generalize(member, *to, redaction, out),
            Action::Encrypt => return self.encrypt(member, aad, out),
            Action::EncryptDeterministic => {
                // Checked in `with_keys`; fail closed all the same.
                let key = self
                    .transformer
                    .deterministic_key
                    .as_deref()
                    .ok_or(Reason::NoDataKey)?;
                let domain = rule.map_or("", |r| &r.domain);
                let value = key
                    .encrypt_json(domain, member.raw.as_bytes())
                    .map_err(|_| Reason::UnsupportedValue)?
                    .ok_or(Reason::UnsupportedValue)?;
                out.push(b'"');
                out.extend_from_slice(value.as_bytes());
                out.push(b'"');
            }
            Action::Keep => out.extend_from_slice(member.raw.as_bytes()),
        }
        Ok(())
    }

    /// Writes the value encrypted under the row's data key, bound by `aad`
    /// to its schema, table, column and place ([`cipher::cell_aad`]).
    pub(super) fn encrypt(
        &mut self,
        member: &Member<'_>,
        aad: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Reason> {
        let key = self.key.ok_or(Reason::NoDataKey)?;
        cipher::write_cell(
            key,
            aad,
            member.raw.as_bytes(),
            &mut self.scratch.sealed,
            out,
        );
        self.encrypted_any = true;
        Ok(())
    }
}

/// Whether a value is a whole cdc-mask ciphertext by its syntax (see
/// [`cipher::is_complete_enc`]); only strings starting `"enc` or `"det` are
/// decoded to find out.
pub(super) fn looks_encrypted(member: &Member<'_>) -> bool {
    if member.kind != Kind::String
        || !(member.raw.starts_with("\"enc") || member.raw.starts_with("\"det"))
    {
        return false;
    }
    let text = member.text();
    cipher::is_complete_enc(&text) || det::is_well_formed(&text)
}

/// Writes what a row writes before the value of the column `member` whose
/// plan is `plan`: `"name":`, renamed with the view's suffix where the
/// policy says, or with [`COLLISION_SUFFIX`] where the name would collide
/// with one the transformer writes.
fn write_head(
    transformer: &Transformer,
    rules: Option<&TableRules>,
    member: &Member<'_>,
    plan: &ColumnPlan,
    out: &mut Vec<u8>,
) {
    let view = transformer.view;
    match plan.rule_in(rules) {
        Some(rule) if !matches!(rule.action(view), Action::Keep) => {
            let collides = transformer.shape == Shape::Flat && !rule.rename && plan.reserved;
            let suffix = if collides {
                COLLISION_SUFFIX
            } else if rule.rename {
                view.suffix()
            } else {
                ""
            };
            write_name(member, suffix, out);
        }
        // Kept: as it came, unless it would collide.
        _ if plan.collides_unprotected => write_name(member, COLLISION_SUFFIX, out),
        _ => out.extend_from_slice(member.raw_name.as_bytes()),
    }
    out.push(b':');
}

/// Writes `"<name><suffix>"`, the name as written when it has no escapes
/// (then writing the decoded name would give the same bytes).
fn write_name(member: &Member<'_>, suffix: &str, out: &mut Vec<u8>) {
    let raw = member.raw_name.as_bytes();
    if !member.name_is_escaped() {
        out.extend_from_slice(&raw[..raw.len() - 1]);
    } else {
        json::write_string(out, &member.name());
        out.pop();
    }
    out.extend_from_slice(suffix.as_bytes());
    out.push(b'"');
}

/// Writes `,"name":` (or without the comma for the first field). Inlined:
/// its callers' names are constants, copied without a call.
#[inline(always)]
pub(super) fn field_name(name: &str, first: &mut bool, out: &mut Vec<u8>) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::policy::{Policy, View};
    use crate::transform::{Outcome, Scratch, Shape, Transformer};

    #[test]
    fn schema_and_table_are_written_as_json_strings_whatever_their_escapes() {
        let policy = Arc::new(Policy::from_slice(br#"{"version":1,"tables":[]}"#).unwrap());
        let transformer = Transformer::new(policy, View::Masked, Shape::Flat, None).unwrap();
        for (schema, table) in [
            ("plain", "t"),
            (r#"q\"uote"#, r"back\\slash"),
            (r"d\u0061taset", r"tab\tle\u0001"),
        ] {
            let input = format!(
                r#"{{"data":{{"id":1}},"metadata":{{"record-type":"data","schema-name":"{schema}","table-name":"{table}"}}}}"#
            );
            let mut out = Vec::new();
            let outcome =
                transformer.transform(input.as_bytes(), None, &mut out, &mut Scratch::default());
            assert!(matches!(outcome, Outcome::Row(_)), "{outcome:?}");
            let row: serde_json::Value = serde_json::from_slice(&out).unwrap();
            let decoded = |s: &str| serde_json::from_str::<String>(&format!("\"{s}\"")).unwrap();
            assert_eq!(row["_schema"], decoded(schema), "{input}");
            assert_eq!(row["_table"], decoded(table), "{input}");
        }
    }
}
