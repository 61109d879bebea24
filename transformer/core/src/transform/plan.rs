//! What the policy says of each column, remembered per table and row
//! layout. Rows of one table nearly always list the same columns in the
//! same order, so a column's plan is found by its position in the row and
//! confirmed by its name as written: no lower-casing and no hash lookup per
//! column. A row whose layout differs is planned afresh from where it
//! differs, and that layout is remembered instead.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use super::{Shape, Transformer};
use crate::cipher::Place;
use crate::guard::{Context, Guard};
use crate::policy::{lowercase, ColumnRule, Policy, TableRules, View, RESERVED_NAMES};

/// Tables whose layouts are kept before the cache starts over (table names
/// come from the records, so input cannot grow it without bound).
const MAX_TABLES: usize = 256;

/// Longest `schema` and `table` (together) whose plans are kept; a table
/// with longer names is planned afresh for every record.
const MAX_KEPT_NAME_BYTES: usize = 1024;

/// Columns remembered per layout; later ones are planned every time.
const MAX_COLUMNS: usize = 1024;

/// Bytes of names, heads and associated data remembered per layout. The
/// associated data repeats the schema and table names for every column, so
/// without a bound a record with long names and many columns would hold
/// their product; columns past it are planned every time. With
/// [`MAX_TABLES`], the cache holds at most 32 MiB.
const MAX_LAYOUT_BYTES: usize = 64 * 1024;

/// What the policy says of one column of one table, in one view and shape.
#[derive(Debug, Clone, Copy)]
pub(super) struct ColumnPlan {
    /// Its rule, as an index for [`TableRules::rule_at`]; `None` if the
    /// policy does not list it.
    pub(super) rule: Option<usize>,
    /// Whether its name is one the flat shape writes itself (`_op`, …).
    pub(super) reserved: bool,
    /// Whether, written unprotected, its name would collide with a
    /// reserved name or with one the table's protected columns generate.
    pub(super) collides_unprotected: bool,
    /// What its name hints at, for the guard (unlisted columns only).
    pub(super) context: Context,
}

impl ColumnPlan {
    /// Plans the column `name` (decoded) of the table with `rules`;
    /// `lower` is a reusable buffer.
    pub(super) fn new(
        transformer: &Transformer,
        rules: Option<&TableRules>,
        name: &str,
        lower: &mut String,
    ) -> Self {
        lower.clear();
        if name.is_ascii() {
            lower.push_str(name);
            lower.make_ascii_lowercase();
        } else {
            lower.push_str(&lowercase(name));
        }
        let flat = transformer.shape == Shape::Flat;
        let reserved = flat && RESERVED_NAMES.contains(&lower.as_str());
        let rule = rules.and_then(|r| r.column_index(lower));
        let collides_unprotected =
            reserved || rules.is_some_and(|r| r.collides(transformer.view, lower));
        let context = if rule.is_none() {
            Guard::default().context(lower)
        } else {
            Context::NONE
        };
        ColumnPlan {
            rule,
            reserved,
            collides_unprotected,
            context,
        }
    }

    /// Its rule among `rules`, the rules of the table it was planned for.
    pub(super) fn rule_in<'r>(&self, rules: Option<&'r TableRules>) -> Option<&'r ColumnRule> {
        rules.zip(self.rule).map(|(r, i)| r.rule_at(i))
    }
}

/// The plans of one row layout: the names as written, one after the other
/// in `names`, each with its plan, the associated data of its encrypted
/// values (in `aads`; empty in the masked view) and its name as the row
/// writes it (in `heads`).
#[derive(Debug, Default)]
pub(super) struct Layout {
    names: Vec<u8>,
    aads: Vec<u8>,
    heads: Vec<u8>,
    columns: Vec<PlannedColumn>,
    /// The associated data of the column planned last.
    fresh_aad: Vec<u8>,
    /// The head of the column planned last.
    fresh_head: Vec<u8>,
}

/// One column of a [`Layout`].
#[derive(Debug)]
struct PlannedColumn {
    name: Range<usize>,
    aad: Range<usize>,
    head: Range<usize>,
    plan: ColumnPlan,
}

/// A column's plan, as a [`Layout`] gives it.
pub(super) struct Planned<'l> {
    pub(super) plan: ColumnPlan,
    /// The associated data of its encrypted values.
    pub(super) aad: &'l [u8],
    /// What the row writes before its value: `"name":`, renamed as the
    /// policy says.
    pub(super) head: &'l [u8],
}

impl Layout {
    /// The plan of the column at `position` whose name is written
    /// `raw_name`: remembered, or made by `plan` (which writes the
    /// associated data and the head into the buffers it is given, in that
    /// order) and remembered in place of what was there (and of the
    /// columns after it).
    #[inline]
    pub(super) fn plan(
        &mut self,
        position: usize,
        raw_name: &[u8],
        plan: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> ColumnPlan,
    ) -> Planned<'_> {
        if let Some(known) = self.columns.get(position) {
            if crate::json::name_eq(&self.names[known.name.clone()], raw_name) {
                return Planned {
                    plan: known.plan,
                    aad: &self.aads[known.aad.clone()],
                    head: &self.heads[known.head.clone()],
                };
            }
        }
        self.plan_afresh(position, raw_name, plan)
    }

    /// [`Layout::plan`] of a column that differs from the one remembered
    /// at `position` (or comes after the remembered ones).
    #[inline(never)]
    fn plan_afresh(
        &mut self,
        position: usize,
        raw_name: &[u8],
        plan: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> ColumnPlan,
    ) -> Planned<'_> {
        self.fresh_aad.clear();
        self.fresh_head.clear();
        let made = plan(&mut self.fresh_aad, &mut self.fresh_head);
        // What stays remembered before this column.
        let (name_start, aad_start, head_start) = self.columns.get(position).map_or(
            (self.names.len(), self.aads.len(), self.heads.len()),
            |stale| (stale.name.start, stale.aad.start, stale.head.start),
        );
        let remembered = position <= self.columns.len()
            && position < MAX_COLUMNS
            && name_start
                + aad_start
                + head_start
                + raw_name.len()
                + self.fresh_aad.len()
                + self.fresh_head.len()
                <= MAX_LAYOUT_BYTES;
        if !remembered {
            return Planned {
                plan: made,
                aad: &self.fresh_aad,
                head: &self.fresh_head,
            };
        }
        self.names.truncate(name_start);
        self.aads.truncate(aad_start);
        self.heads.truncate(head_start);
        self.columns.truncate(position);
        self.aads.extend_from_slice(&self.fresh_aad);
        self.heads.extend_from_slice(&self.fresh_head);
        self.names.extend_from_slice(raw_name);
        self.columns.push(PlannedColumn {
            name: name_start..self.names.len(),
            aad: aad_start..self.aads.len(),
            head: head_start..self.heads.len(),
            plan: made,
        });
        Planned {
            plan: made,
            aad: &self.aads[aad_start..],
            head: &self.heads[head_start..],
        }
    }
}

/// The plans of one table: where its rules are in the policy, and the
/// layouts of its rows and of its before-images.
#[derive(Debug, Default)]
struct TablePlans {
    /// Its lookup key (see [`PlanCache::index`]).
    key: Box<[u8]>,
    rules: Option<usize>,
    /// What the flat shape writes of its names at the end of each row
    /// ([`table_fields`]); empty in the envelope shape.
    fields: Box<[u8]>,
    layouts: [Layout; 2],
}

/// The tables seen and their layouts, for one policy, view and shape.
#[derive(Debug, Default)]
pub(super) struct PlanCache {
    /// What the plans were made for; any change empties the cache.
    owner: Option<(Arc<Policy>, View, Shape)>,
    /// The length of the schema's name (8 bytes, little-endian), then the
    /// schema's and the table's names as DMS wrote them → the table's
    /// index in `tables`.
    index: HashMap<Box<[u8]>, usize>,
    tables: Vec<TablePlans>,
    /// The plans of a table whose names are too long to keep, for one
    /// record at a time.
    oversized: TablePlans,
    /// Reused to build lookup keys.
    key: Vec<u8>,
    /// The indexes in `tables` of the tables looked up last, the latest
    /// first: records come in runs of a table (a full load) or from a few
    /// tables in turn (a transaction), which then skip the hash lookup.
    recent: [Option<usize>; RECENT_TABLES],
}

/// Tables a [`PlanCache`] finds without its hash lookup.
const RECENT_TABLES: usize = 4;

/// A table of a [`PlanCache`], from [`PlanCache::table`].
#[derive(Debug, Clone, Copy)]
pub(super) struct TableSlot {
    /// Where its rules are in the policy ([`Policy::table_at`]).
    pub(super) rules: Option<usize>,
    /// Its index in `tables`, or `None` for `oversized`.
    at: Option<usize>,
}

impl PlanCache {
    /// The table `schema.table` for `transformer`, looked up in its policy
    /// the first time only; `lower` is a reusable buffer. Every plan is
    /// forgotten first unless they were made for `transformer`'s policy,
    /// view and shape (the policy is held, so that its address cannot be
    /// reused by another).
    pub(super) fn table(
        &mut self,
        transformer: &Transformer,
        schema: &str,
        table: &str,
        lower: &mut String,
    ) -> TableSlot {
        let same = self.owner.as_ref().is_some_and(|(policy, view, shape)| {
            Arc::ptr_eq(policy, &transformer.policy)
                && *view == transformer.view
                && *shape == transformer.shape
        });
        if !same {
            self.forget();
            self.owner = Some((
                Arc::clone(&transformer.policy),
                transformer.view,
                transformer.shape,
            ));
        }
        let recent = self
            .recent
            .iter()
            .position(|at| at.is_some_and(|at| key_is(&self.tables[at].key, schema, table)));
        if let Some(i) = recent {
            self.recent[..=i].rotate_right(1);
            let at = self.recent[0];
            return TableSlot {
                rules: at.and_then(|at| self.tables[at].rules),
                at,
            };
        }
        // Length-prefixed: names may hold any character.
        self.key.clear();
        self.key
            .extend_from_slice(&(schema.len() as u64).to_le_bytes());
        self.key.extend_from_slice(schema.as_bytes());
        self.key.extend_from_slice(table.as_bytes());
        if let Some(&at) = self.index.get(self.key.as_slice()) {
            self.remember(at);
            let rules = self.tables[at].rules;
            return TableSlot {
                rules,
                at: Some(at),
            };
        }
        let rules = transformer.policy.table_index(schema, table, lower);
        if schema.len() + table.len() > MAX_KEPT_NAME_BYTES {
            self.oversized = TablePlans {
                key: Box::default(),
                rules,
                fields: table_fields(transformer.shape, schema, table),
                layouts: Default::default(),
            };
            return TableSlot { rules, at: None };
        }
        if self.tables.len() >= MAX_TABLES {
            self.forget();
        }
        let at = self.tables.len();
        self.tables.push(TablePlans {
            key: self.key.as_slice().into(),
            rules,
            fields: table_fields(transformer.shape, schema, table),
            layouts: Default::default(),
        });
        self.index.insert(self.key.as_slice().into(), at);
        self.remember(at);
        TableSlot {
            rules,
            at: Some(at),
        }
    }

    /// Puts the table at `at` first among the recent ones.
    fn remember(&mut self, at: usize) {
        self.recent.rotate_right(1);
        self.recent[0] = Some(at);
    }

    fn forget(&mut self) {
        self.index.clear();
        self.tables.clear();
        self.recent = [None; RECENT_TABLES];
    }

    /// Takes the layout of `table`'s `place` out of the cache, for
    /// [`PlanCache::put`] to return.
    pub(super) fn take(&mut self, table: TableSlot, place: Place) -> Layout {
        std::mem::take(&mut self.plans_of(table).layouts[place as usize])
    }

    /// Returns a layout that [`PlanCache::take`] took.
    pub(super) fn put(&mut self, table: TableSlot, place: Place, layout: Layout) {
        self.plans_of(table).layouts[place as usize] = layout;
    }

    /// `,"_schema":…,"_table":…` of `table` ([`table_fields`]).
    pub(super) fn fields(&self, table: TableSlot) -> &[u8] {
        match table.at {
            Some(at) => &self.tables[at].fields,
            None => &self.oversized.fields,
        }
    }

    fn plans_of(&mut self, table: TableSlot) -> &mut TablePlans {
        match table.at {
            Some(at) => &mut self.tables[at],
            None => &mut self.oversized,
        }
    }
}

/// `,"_schema":"…","_table":"…"` of `schema.table` (decoded names, as JSON
/// strings), which the flat shape writes at the end of every row of the
/// table: made once per table. Empty in the envelope shape.
fn table_fields(shape: Shape, schema: &str, table: &str) -> Box<[u8]> {
    if shape != Shape::Flat {
        return Box::default();
    }
    let mut fields = Vec::with_capacity(24 + schema.len() + table.len());
    fields.extend_from_slice(b",\"_schema\":");
    crate::json::write_string(&mut fields, schema);
    fields.extend_from_slice(b",\"_table\":");
    crate::json::write_string(&mut fields, table);
    fields.into_boxed_slice()
}

/// Whether `key` is the lookup key of `schema.table`.
fn key_is(key: &[u8], schema: &str, table: &str) -> bool {
    let Some((length, names)) = key.split_first_chunk::<8>() else {
        return false;
    };
    u64::from_le_bytes(*length) == schema.len() as u64
        && names.len() == schema.len() + table.len()
        && crate::json::name_eq(&names[..schema.len()], schema.as_bytes())
        && crate::json::name_eq(&names[schema.len()..], table.as_bytes())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;
    use zeroize::Zeroizing;

    use crate::decrypt::EncryptedRow;
    use crate::keys::{DataKey, TokenKey};
    use crate::policy::{Policy, View};
    use crate::transform::{Outcome, Scratch, Shape, Transformer};

    /// Two policies that list the same names differently, so that plans
    /// made under one are wrong under the other.
    const POLICIES: [&str; 2] = [
        r#"{"version":1,"tables":[
          {"schema":"s","table":"a","columns":{"mail":{"masked":"token"},"name":{},
            "card":{"masked":{"action":"partial","keep_last":2},"rename":false}}},
          {"schema":"s","table":"b","columns":{"id":{"masked":"null"},"mail":{"rename":false}}},
          {"schema":"s","table":"LONG","columns":{"mail":{"masked":"token"}}}]}"#,
        r#"{"version":1,"tables":[
          {"schema":"s","table":"a","columns":{"id":{},"note":{"masked":"token"}}},
          {"schema":"s","table":"c","columns":{"mail":{}}}]}"#,
    ];

    /// Column names as written: listed in one policy or the other, in
    /// other cases, escaped, reserved, or colliding with generated names.
    const NAMES: [&str; 10] = [
        "id",
        "mail",
        "MAIL",
        r"m\u0061il",
        "name",
        "card",
        "note",
        "_op",
        "mail_masked",
        "email",
    ];

    /// Table names as written; the schema is `s`, or `s\u0000` with the
    /// last one (a name with a NUL, which must not pass for `s.a`).
    const TABLES: [&str; 6] = ["a", "b", "c", "A", r"\u0000a", "LONG"];

    /// What `LONG` stands for: a name too long for its plans to be kept.
    fn long_name() -> String {
        "l".repeat(super::MAX_KEPT_NAME_BYTES)
    }

    fn record(table: &str, columns: &[usize], with_before: bool) -> Vec<u8> {
        let (schema, table) = match table.strip_prefix(r"\u0000") {
            Some(rest) => (r"s\u0000", rest.to_owned()),
            None => ("s", table.replace("LONG", &long_name())),
        };
        let body: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, &n)| format!(r#""{}":"v{i}@example.com""#, NAMES[n]))
            .collect();
        let body = body.join(",");
        let before = if with_before {
            format!(r#","before-image":{{{body}}}"#)
        } else {
            String::new()
        };
        format!(
            r#"{{"data":{{{body}}}{before},"metadata":{{"record-type":"data","operation":"update","schema-name":"{schema}","table-name":"{table}"}}}}"#
        )
        .into_bytes()
    }

    /// A line with every encrypted value replaced by `enc2:` (their nonces
    /// differ from run to run).
    fn comparable(line: &[u8]) -> serde_json::Value {
        fn strip(value: &mut serde_json::Value) {
            match value {
                serde_json::Value::String(s) if s.starts_with("enc2:") => *s = "enc2:".into(),
                serde_json::Value::Object(members) => members.values_mut().for_each(strip),
                serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
                _ => {}
            }
        }
        let mut value: serde_json::Value = serde_json::from_slice(line).unwrap();
        strip(&mut value);
        value
    }

    proptest! {
        /// One scratch kept across records of changing layouts and tables,
        /// both views, both shapes and two policies writes exactly what a
        /// fresh scratch per record writes.
        #[test]
        fn a_kept_scratch_writes_what_a_fresh_one_writes(
            records in prop::collection::vec(
                (
                    0..TABLES.len(),
                    prop::collection::vec(0..NAMES.len(), 0..6),
                    any::<bool>(),
                    0..2usize,
                    any::<bool>(),
                    any::<bool>(),
                ),
                1..40,
            ),
        ) {
            let policies = POLICIES.map(|p| {
                let p = p.replace("LONG", &long_name());
                Arc::new(Policy::from_slice(p.as_bytes()).unwrap())
            });
            let token = TokenKey::new(&[3; 32], 1).unwrap();
            let key = DataKey::new(&Zeroizing::new([5; 32]), "test:key".into());
            let mut kept = Scratch::default();
            for (table, mut columns, before, policy, encrypted, envelope) in records {
                // Duplicate names make the record invalid; keep the first.
                let mut seen = Vec::new();
                columns.retain(|c| {
                    let lower = NAMES[*c].to_ascii_lowercase().replace(r"\u0061", "a");
                    let fresh = !seen.contains(&lower);
                    seen.push(lower);
                    fresh
                });
                let view = if encrypted { View::Encrypted } else { View::Masked };
                let shape = if envelope { Shape::Envelope } else { Shape::Flat };
                let transformer =
                    Transformer::new(policies[policy].clone(), view, shape, Some(token.clone()))
                        .unwrap();
                let input = record(TABLES[table], &columns, before);
                let (mut with_kept, mut with_fresh) = (Vec::new(), Vec::new());
                let kept_outcome = transformer.transform(&input, Some(&key), &mut with_kept, &mut kept);
                let fresh_outcome = transformer.transform(
                    &input,
                    Some(&key),
                    &mut with_fresh,
                    &mut Scratch::default(),
                );
                prop_assert_eq!(&kept_outcome, &fresh_outcome);
                prop_assert!(matches!(kept_outcome, Outcome::Row(_)), "{:?}", kept_outcome);
                prop_assert_eq!(comparable(&with_kept), comparable(&with_fresh));
                if encrypted {
                    // Bound to the same associated data: both decrypt alike.
                    let (mut kept_clear, mut fresh_clear) = (Vec::new(), Vec::new());
                    EncryptedRow::parse(&with_kept)
                        .unwrap()
                        .decrypt(Some(&key), &mut kept_clear)
                        .unwrap();
                    EncryptedRow::parse(&with_fresh)
                        .unwrap()
                        .decrypt(Some(&key), &mut fresh_clear)
                        .unwrap();
                    prop_assert_eq!(kept_clear, fresh_clear);
                }
            }
        }
    }
}

#[cfg(test)]
mod bounds {
    use super::*;

    fn plan() -> ColumnPlan {
        ColumnPlan {
            rule: None,
            reserved: false,
            collides_unprotected: false,
            context: Context::NONE,
        }
    }

    #[test]
    fn a_layout_holds_no_more_than_its_bound_and_still_answers() {
        let mut layout = Layout::default();
        let aad = vec![7u8; 20_000];
        for position in 0..10 {
            let name = format!("\"column{position}\"");
            let given = layout.plan(position, name.as_bytes(), |out, head| {
                out.extend_from_slice(&aad);
                head.extend_from_slice(name.as_bytes());
                plan()
            });
            assert_eq!(given.aad, &aad[..], "column {position}");
            assert_eq!(given.head, name.as_bytes(), "column {position}");
            assert!(
                layout.names.len() + layout.aads.len() + layout.heads.len() <= MAX_LAYOUT_BYTES
            );
        }
        // Three columns fit; the others are planned every time.
        assert_eq!(layout.columns.len(), 3);
        let mut planned = false;
        let given = layout.plan(1, b"\"column1\"", |_, _| {
            planned = true;
            plan()
        });
        assert!(!planned && given.aad == &aad[..], "a remembered column");
        assert_eq!(given.head, b"\"column1\"");
    }
}
