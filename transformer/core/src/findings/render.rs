//! The policy file as `findings compile` writes it: indented down to the
//! columns, one line per column, so a change in the findings is a one-line
//! diff.

use std::io;

use serde::Serialize as _;

use crate::policy::{Policy, PolicyError, PolicyFile};

/// Containers nested this deep or deeper (a column: policy → `tables` →
/// table → `columns` → column) are written on one line.
const ONE_LINE_DEPTH: usize = 5;

/// The policy as JSON: two-space indentation, one line per column, a final
/// newline. The same policy always gives the same bytes.
pub fn policy_json(policy: &PolicyFile) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, ColumnPerLine::default());
    // Writing to a Vec cannot fail, and every field of a policy serialises.
    policy
        .serialize(&mut serializer)
        .expect("a policy serialises to JSON");
    out.push(b'\n');
    out
}

/// [`policy_json`], checked to load as the transformer loads it (from the
/// bytes), so a policy that is written is a policy that works.
///
/// # Errors
/// [`PolicyError`] when the policy is not usable.
pub fn checked_policy_json(policy: &PolicyFile) -> Result<Vec<u8>, PolicyError> {
    let bytes = policy_json(policy);
    Policy::from_slice(&bytes)?;
    Ok(bytes)
}

/// Pretty above [`ONE_LINE_DEPTH`], `{"a": 1, "b": [2]}` from there on.
#[derive(Default)]
struct ColumnPerLine {
    depth: usize,
    has_value: bool,
}

impl ColumnPerLine {
    fn one_line(&self) -> bool {
        self.depth >= ONE_LINE_DEPTH
    }

    fn begin<W: ?Sized + io::Write>(&mut self, writer: &mut W, open: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(open)
    }

    fn end<W: ?Sized + io::Write>(&mut self, writer: &mut W, close: &[u8]) -> io::Result<()> {
        let one_line = self.one_line();
        self.depth -= 1;
        if self.has_value && !one_line {
            self.newline(writer)?;
        }
        writer.write_all(close)
    }

    fn item<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if self.one_line() {
            return writer.write_all(if first { b"" } else { b", " });
        }
        writer.write_all(if first { b"" } else { b"," })?;
        self.newline(writer)
    }

    fn newline<W: ?Sized + io::Write>(&self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b"\n")?;
        for _ in 0..self.depth {
            writer.write_all(b"  ")?;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for ColumnPerLine {
    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin(writer, b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin(writer, b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_column() {
        let policy: PolicyFile = serde_json::from_str(
            r#"{"version":1,"tables":[{"schema":"s","table":"t","columns":{
              "a":{"types":["NAME"],"masked":"token","findings":["f1","f2"]},
              "b":{"masked":{"action":"partial","keep_last":4}}}},
              {"schema":"s","table":"u","columns":{}}]}"#,
        )
        .unwrap();
        let json = String::from_utf8(policy_json(&policy)).unwrap();
        assert_eq!(
            json,
            r#"{
  "version": 1,
  "tables": [
    {
      "schema": "s",
      "table": "t",
      "columns": {
        "a": {"types": ["NAME"], "masked": {"action": "token"}, "encrypted": {"action": "encrypt"}, "rename": true, "findings": ["f1", "f2"]},
        "b": {"masked": {"action": "partial", "keep_last": 4}, "encrypted": {"action": "encrypt"}, "rename": true}
      }
    },
    {
      "schema": "s",
      "table": "u",
      "columns": {}
    }
  ]
}
"#
        );
        let back: PolicyFile = serde_json::from_str(&json).unwrap();
        assert_eq!(back, policy);
    }
}
