//! Deterministic generator of AWS DMS change records, in the JSON shape DMS writes to a
//! Kinesis target.
//!
//! The generated stream covers the three tables of the AWS sample "secure data lake with
//! Amazon Macie and AWS Lake Formation" (schema [`SCHEMA`], tables [`TABLES`]):
//!
//! * `customer(id, username, name, gender, mail, birthdate)`
//! * `bank(id, account_number, iban, bban)`
//! * `card(id, cred_card_provider, card_number, card_expiration, card_security_code)`
//!
//! The stream is, in order:
//!
//! 1. one control record (`"record-type":"control"`, `"operation":"create-table"`) per table;
//! 2. a full-load phase: [`GeneratorConfig::load_rows_per_table`] `load` records per table,
//!    with ids `1..=N`;
//! 3. an endless CDC phase: each record picks a table uniformly, then inserts a new row (50 %),
//!    updates 1–3 columns of a live row (35 %, with the complete previous row in
//!    `before-image`) or deletes a live row (15 %, `data` holds the key and `null` for every
//!    other column, as DMS does with a PostgreSQL source). A table without live rows always
//!    gets an insert, so no update or delete ever names an id that does not exist.
//!
//! Every record is one compact JSON object whose keys come in the order DMS writes them
//! (`data`, `before-image`, `metadata`, or `control`, `metadata`). Timestamps start at
//! `2026-11-28T00:00:00.000000Z` and strictly increase; CDC records carry a `transaction-id`
//! that starts at 8589934592 and increases by one per record.
//!
//! Values are realistic PII: names mix English, French, German, Italian, Brazilian and
//! Spanish spellings (accents, apostrophes such as `O'Brien`); about 1 % of names carry a
//! quoted nickname or an emoji and 0.5 % of usernames a `DOMAIN\` prefix, so that JSON
//! escaping and non-BMP characters get exercised. IBANs carry valid mod-97 check digits and
//! card numbers valid Luhn check digits.
//!
//! The output is a pure function of [`GeneratorConfig`]: the same seed yields the same bytes.
//!
//! # Layout
//! - this module: the generator (the simulated tables, the sequence of records);
//! - `values`: realistic values for each column (names, IBANs, card numbers);
//! - `dms_json`: the records written in DMS's JSON, keys in DMS's order.

mod dms_json;
#[cfg(test)]
mod tests;
mod values;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use dms_json::{
    days_from_civil, push_key, push_u64, write_control, write_metadata, write_row, MICROS_PER_DAY,
};
use values::{new_row, regenerate};

/// Schema (PostgreSQL namespace) of the generated tables.
pub const SCHEMA: &str = "dataset";

/// Names of the generated tables, in the order their control and load records are emitted.
pub const TABLES: [&str; 3] = ["customer", "bank", "card"];

/// Settings of a [`Generator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// Seed of the pseudo-random generator; equal seeds give byte-identical streams.
    pub seed: u64,
    /// Number of full-load rows emitted per table (ids `1..=load_rows_per_table`) before the
    /// CDC phase starts.
    pub load_rows_per_table: u64,
}

impl Default for GeneratorConfig {
    /// Seed 42 and 100 full-load rows per table.
    fn default() -> Self {
        Self {
            seed: 42,
            load_rows_per_table: 100,
        }
    }
}

/// Endless iterator over serialised DMS records (one compact JSON object per item, without a
/// trailing newline). See the [module documentation](self) for the sequence it produces.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: StdRng,
    load_rows_per_table: u64,
    phase: Phase,
    /// Timestamp of the next record, in microseconds since the Unix epoch.
    now_micros: i64,
    /// `transaction-id` of the next CDC record.
    next_transaction_id: u64,
    tables: [TableState; 3],
    /// Previous values of the columns changed by the update being written.
    changed: Vec<(usize, Cell)>,
    /// Reused serialisation buffer; each item is an exact-size copy of it.
    scratch: Vec<u8>,
}

impl Generator {
    /// Creates a generator positioned before the first control record.
    pub fn new(config: GeneratorConfig) -> Self {
        Self {
            rng: StdRng::seed_from_u64(config.seed),
            load_rows_per_table: config.load_rows_per_table,
            phase: Phase::Control(Table::Customer),
            now_micros: START_MICROS,
            next_transaction_id: FIRST_TRANSACTION_ID,
            tables: Default::default(),
            changed: Vec::with_capacity(4),
            scratch: Vec::with_capacity(1024),
        }
    }

    /// The phase that follows the control records of all tables or the load of `table`.
    fn load_phase(&self, table: Option<Table>) -> Phase {
        match table {
            Some(table) if self.load_rows_per_table > 0 => Phase::Load(table),
            _ => Phase::Cdc,
        }
    }

    /// Writes an insert (or full-load) record for a fresh row of `table` and keeps the row.
    fn insert(&mut self, table: Table, operation: &str, transaction_id: Option<u64>) {
        let Self {
            rng,
            tables,
            scratch,
            now_micros,
            ..
        } = self;
        let state = &mut tables[table as usize];
        let id = state.next_id;
        state.next_id += 1;
        let cells = new_row(rng, table);
        scratch.extend_from_slice(b"{\"data\":");
        write_row(scratch, table, id, &cells, &[]);
        write_metadata(scratch, *now_micros, table, operation, transaction_id);
        state.live.push(Row { id, cells });
    }

    /// Writes an update record for a random live row of `table` (which must have one).
    fn update(&mut self, table: Table, transaction_id: u64) {
        let Self {
            rng,
            tables,
            scratch,
            changed,
            now_micros,
            ..
        } = self;
        let live = &mut tables[table as usize].live;
        let index = rng.random_range(0..live.len());
        let row = &mut live[index];
        let columns = table.columns().len();
        let count = rng.random_range(1..=columns.min(3));
        changed.clear();
        for column in rand::seq::index::sample(rng, columns, count) {
            regenerate(rng, table, &mut row.cells, column, changed);
        }
        scratch.extend_from_slice(b"{\"data\":");
        write_row(scratch, table, row.id, &row.cells, &[]);
        scratch.extend_from_slice(b",\"before-image\":");
        write_row(scratch, table, row.id, &row.cells, changed);
        write_metadata(scratch, *now_micros, table, "update", Some(transaction_id));
        changed.clear();
    }

    /// Writes a delete record for a random live row of `table` (which must have one).
    fn delete(&mut self, table: Table, transaction_id: u64) {
        let live = &mut self.tables[table as usize].live;
        let row = live.swap_remove(self.rng.random_range(0..live.len()));
        let out = &mut self.scratch;
        out.extend_from_slice(b"{\"data\":{\"id\":");
        push_u64(out, row.id);
        for column in table.columns() {
            out.push(b',');
            push_key(out, column.name);
            out.extend_from_slice(b"null");
        }
        out.push(b'}');
        write_metadata(out, self.now_micros, table, "delete", Some(transaction_id));
    }

    /// Writes one CDC record: a random table, then insert, update or delete.
    fn cdc(&mut self) {
        let table = Table::ALL[self.rng.random_range(0..Table::ALL.len())];
        let roll = self.rng.random_range(0..100u32);
        let transaction_id = self.next_transaction_id;
        self.next_transaction_id += 1;
        if roll < 50 || self.tables[table as usize].live.is_empty() {
            self.insert(table, "insert", Some(transaction_id));
        } else if roll < 85 {
            self.update(table, transaction_id);
        } else {
            self.delete(table, transaction_id);
        }
    }
}

impl Iterator for Generator {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        self.scratch.clear();
        let step = match self.phase {
            Phase::Control(table) => {
                write_control(&mut self.scratch, self.now_micros, table);
                self.phase = match table.next() {
                    Some(next) => Phase::Control(next),
                    None => self.load_phase(Some(Table::Customer)),
                };
                1..=1_000
            }
            Phase::Load(table) => {
                self.insert(table, "load", None);
                if self.tables[table as usize].next_id > self.load_rows_per_table {
                    self.phase = self.load_phase(table.next());
                }
                1..=500
            }
            Phase::Cdc => {
                self.cdc();
                100..=20_000
            }
        };
        self.now_micros += self.rng.random_range(step);
        Some(self.scratch.clone())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

/// Timestamp of the first record: 2026-11-28T00:00:00.000000Z.
const START_MICROS: i64 = days_from_civil(2026, 11, 28) * MICROS_PER_DAY;
const FIRST_TRANSACTION_ID: u64 = 8_589_934_592;

#[derive(Debug, Clone, Copy)]
enum Phase {
    Control(Table),
    Load(Table),
    Cdc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Customer = 0,
    Bank = 1,
    Card = 2,
}

impl Table {
    const ALL: [Table; 3] = [Table::Customer, Table::Bank, Table::Card];

    fn name(self) -> &'static str {
        TABLES[self as usize]
    }

    fn next(self) -> Option<Table> {
        Table::ALL.get(self as usize + 1).copied()
    }

    /// The non-key columns; the key column `id` (INT32, not null) precedes them.
    fn columns(self) -> &'static [Column] {
        match self {
            Table::Customer => &CUSTOMER_COLUMNS,
            Table::Bank => &BANK_COLUMNS,
            Table::Card => &CARD_COLUMNS,
        }
    }
}

/// A non-key column as announced in the control record (always nullable).
#[derive(Debug)]
struct Column {
    name: &'static str,
    dms_type: &'static str,
    length: Option<u32>,
}

const fn string_column(name: &'static str, length: u32) -> Column {
    Column {
        name,
        dms_type: "STRING",
        length: Some(length),
    }
}

const CUSTOMER_USERNAME: usize = 0;
const CUSTOMER_NAME: usize = 1;
const CUSTOMER_GENDER: usize = 2;
const CUSTOMER_MAIL: usize = 3;
const CUSTOMER_BIRTHDATE: usize = 4;
const CUSTOMER_COLUMNS: [Column; 5] = [
    string_column("username", 64),
    string_column("name", 128),
    string_column("gender", 1),
    string_column("mail", 128),
    Column {
        name: "birthdate",
        dms_type: "DATE",
        length: None,
    },
];

const BANK_ACCOUNT_NUMBER: usize = 0;
const BANK_IBAN: usize = 1;
const BANK_BBAN: usize = 2;
const BANK_COLUMNS: [Column; 3] = [
    string_column("account_number", 16),
    string_column("iban", 34),
    string_column("bban", 30),
];

const CARD_PROVIDER: usize = 0;
const CARD_NUMBER: usize = 1;
const CARD_EXPIRATION: usize = 2;
const CARD_SECURITY_CODE: usize = 3;
const CARD_COLUMNS: [Column; 4] = [
    string_column("cred_card_provider", 64),
    string_column("card_number", 19),
    string_column("card_expiration", 5),
    string_column("card_security_code", 4),
];

/// Rows of one table that currently exist in the simulated source database.
#[derive(Debug, Clone)]
struct TableState {
    next_id: u64,
    live: Vec<Row>,
}

impl Default for TableState {
    fn default() -> Self {
        Self {
            next_id: 1,
            live: Vec::new(),
        }
    }
}

/// A live row: its key and its non-key values, in column order.
#[derive(Debug, Clone)]
struct Row {
    id: u64,
    cells: Box<[Cell]>,
}

/// One column value.
#[derive(Debug, Clone)]
enum Cell {
    Text(Box<str>),
    Static(&'static str),
    /// A DATE, as days since 1970-01-01.
    Date(i64),
    Int(u64),
}
