//! The guard's part of the transform: the per-column context cache, the
//! scan of an unlisted column's value, its protection, `_guarded`, and the
//! DDL records that announce unlisted columns.

use std::borrow::Cow;

use super::{field_name, RowWriter, Scratch, Transformer};
use crate::guard::{Context, Detector};
use crate::json::{self, Kind, Member};
use crate::mask;
use crate::policy::{View, GUARDED_FIELD};
use crate::reason::Reason;

impl Transformer {
    /// Logs (names only) and counts the columns a DDL control record
    /// announces that the policy does not list.
    pub(super) fn note_unlisted_columns(
        &self,
        input: &[u8],
        schema: Option<&str>,
        table: Option<&str>,
        scratch: &mut Scratch,
    ) {
        let (schema, table) = (schema.unwrap_or_default(), table.unwrap_or_default());
        let unlisted = crate::ddl::unlisted_columns(&self.policy, input, schema, table);
        if !unlisted.is_empty() {
            tracing::warn!(
                schema,
                table,
                columns = ?unlisted,
                guard = self.policy.guard_mode().as_str(),
                "unlisted_column_added: a DDL record announces columns the policy does not list"
            );
            scratch
                .tally
                .add_unlisted_columns(u64::try_from(unlisted.len()).unwrap_or(u64::MAX));
        }
    }
}

impl RowWriter<'_, '_, '_> {
    /// `"_guarded":[names]`: the columns the guard protected in this row.
    pub(super) fn guarded_field(&self, first: &mut bool, out: &mut Vec<u8>) {
        if self.scratch.guarded.is_empty() {
            return;
        }
        field_name(GUARDED_FIELD, first, out);
        out.push(b'[');
        for (i, name) in self.scratch.guarded.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::write_string(out, name);
        }
        out.push(b']');
    }

    /// The detector that fires on an unlisted column's value, if the guard
    /// runs; counted in the tally.
    pub(super) fn guard(&mut self, member: &Member<'_>, context: Context) -> Option<Detector> {
        let guard = self.transformer.policy.guard()?;
        let (bytes, is_number): (Cow<'_, [u8]>, bool) = match member.kind {
            Kind::Null | Kind::Bool => return None,
            Kind::Number => (Cow::Borrowed(member.raw.as_bytes()), true),
            // Borrowed unless it has escapes (which the scanner saw).
            Kind::String => match member.text() {
                Cow::Borrowed(text) => (Cow::Borrowed(text.as_bytes()), false),
                Cow::Owned(text) => (Cow::Owned(text.into_bytes()), false),
            },
            // Nested JSON is scanned as its text.
            Kind::Object | Kind::Array => (Cow::Borrowed(member.raw.as_bytes()), false),
        };
        if !guard.may_match(&bytes, is_number) {
            return None;
        }
        let detector = guard.detect_bytes(&context, &bytes, is_number)?;
        self.scratch.tally.add(
            &self.record.schema,
            &self.record.table,
            &member.name(),
            detector,
            1,
        );
        Some(detector)
    }

    /// Writes a value the guard caught as the view's default action does:
    /// redacted in the masked view, encrypted in the encrypted view; the row
    /// lists the column in `_guarded`.
    pub(super) fn protect(
        &mut self,
        member: &Member<'_>,
        aad: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Reason> {
        let name = member.name();
        if !self.scratch.guarded.iter().any(|n| *n == name) {
            self.scratch.guarded.push(name.into_owned());
        }
        match self.transformer.view {
            View::Masked => {
                mask::redact(self.transformer.policy.redact_with(), out);
                Ok(())
            }
            View::Encrypted => self.encrypt(member, aad, out),
        }
    }
}
