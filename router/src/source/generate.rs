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

use std::fmt::Write as _;

use fake::faker::internet::raw::{SafeEmail, Username};
use fake::faker::name::raw::{FirstName, LastName};
use fake::locales::{DE_DE, EN, FR_FR, IT_IT, PT_BR};
use fake::Fake;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

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
const MICROS_PER_DAY: i64 = 86_400_000_000;
const FIRST_TRANSACTION_ID: u64 = 8_589_934_592;
/// Birthdates span 1940-01-01 ..= 2008-11-27 (everyone is an adult at the start).
const BIRTHDATE_DAYS: std::ops::RangeInclusive<i64> =
    days_from_civil(1940, 1, 1)..=days_from_civil(2008, 11, 27);

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

/// Generates every column of a new row of `table`.
fn new_row(rng: &mut StdRng, table: Table) -> Box<[Cell]> {
    let count = table.columns().len();
    let mut cells = Vec::with_capacity(count);
    for column in 0..count {
        let cell = fresh_cell(rng, table, column, &cells);
        cells.push(cell);
    }
    cells.into_boxed_slice()
}

/// Gives `column` (and the columns derived from it) a new value, recording each previous
/// value in `changed` unless an earlier change in the same update already did.
fn regenerate(
    rng: &mut StdRng,
    table: Table,
    cells: &mut [Cell],
    column: usize,
    changed: &mut Vec<(usize, Cell)>,
) {
    // The BBAN is part of the IBAN: changing either means a new account.
    let column = match (table, column) {
        (Table::Bank, BANK_BBAN) => BANK_IBAN,
        _ => column,
    };
    let dependent = match (table, column) {
        (Table::Bank, BANK_IBAN) => Some(BANK_BBAN),
        (Table::Card, CARD_PROVIDER) => Some(CARD_NUMBER),
        _ => None,
    };
    for column in std::iter::once(column).chain(dependent) {
        let cell = fresh_cell(rng, table, column, cells);
        let old = std::mem::replace(&mut cells[column], cell);
        if !changed.iter().any(|(index, _)| *index == column) {
            changed.push((column, old));
        }
    }
}

/// A new value for `column` of `table`; `row` holds at least the columns before it.
fn fresh_cell(rng: &mut StdRng, table: Table, column: usize, row: &[Cell]) -> Cell {
    match (table, column) {
        (Table::Customer, CUSTOMER_USERNAME) => Cell::Text(username(rng)),
        (Table::Customer, CUSTOMER_NAME) => Cell::Text(person_name(rng)),
        (Table::Customer, CUSTOMER_GENDER) => Cell::Static(match rng.random_range(0..100u32) {
            0..=47 => "M",
            48..=95 => "F",
            _ => "X",
        }),
        (Table::Customer, CUSTOMER_MAIL) => {
            Cell::Text(SafeEmail(EN).fake_with_rng::<String, _>(rng).into())
        }
        (Table::Customer, CUSTOMER_BIRTHDATE) => Cell::Date(rng.random_range(BIRTHDATE_DAYS)),
        (Table::Bank, BANK_ACCOUNT_NUMBER) => {
            Cell::Text(format!("XYZ-{}", rng.random_range(0..100u32)).into())
        }
        (Table::Bank, BANK_IBAN) => Cell::Text(iban(rng)),
        (Table::Bank, BANK_BBAN) => match &row[BANK_IBAN] {
            Cell::Text(iban) => Cell::Text(iban[4..].into()),
            other => unreachable!("iban is always text, got {other:?}"),
        },
        (Table::Card, CARD_PROVIDER) => Cell::Static(pick(rng, &CARD_PROVIDERS)),
        (Table::Card, CARD_NUMBER) => match row[CARD_PROVIDER] {
            Cell::Static(provider) => Cell::Text(card_number(rng, provider)),
            ref other => unreachable!("card provider is always static, got {other:?}"),
        },
        (Table::Card, CARD_EXPIRATION) => Cell::Text(
            format!(
                "{:02}/{:02}",
                rng.random_range(1..=12u32),
                rng.random_range(27..=33u32)
            )
            .into(),
        ),
        (Table::Card, CARD_SECURITY_CODE) => {
            // Most sources keep the code as text; some rows carry it as a JSON number to
            // exercise masking of non-string PII.
            if rng.random_bool(0.1) {
                Cell::Int(rng.random_range(100..1000))
            } else {
                Cell::Text(format!("{:03}", rng.random_range(0..1000u32)).into())
            }
        }
        _ => unreachable!("{} has no column {column}", table.name()),
    }
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    *items
        .choose(rng)
        .expect("pick is only called with non-empty lists")
}

/// A fake username; one in two hundred is a Windows domain account (`CORP\jdoe`).
fn username(rng: &mut StdRng) -> Box<str> {
    let name: String = Username(EN).fake_with_rng(rng);
    if rng.random_ratio(1, 200) {
        let domain = pick(rng, &["ACME", "CORP", "EMEA"]);
        format!("{domain}\\{name}").into()
    } else {
        name.into()
    }
}

/// Spanish names (fake has no Spanish locale).
const ES_FIRST_NAMES: [&str; 16] = [
    "José", "María", "Lucía", "Sofía", "Andrés", "Raúl", "Iñigo", "Begoña", "Jesús", "Inés",
    "Álvaro", "Martín", "Pilar", "Joaquín", "Ramón", "Nuria",
];
const ES_LAST_NAMES: [&str; 16] = [
    "García",
    "Martínez",
    "Rodríguez",
    "Fernández",
    "López",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Muñoz",
    "Jiménez",
    "Núñez",
    "Ibáñez",
    "Ortega",
    "Castillo",
    "Peña",
    "Álvarez",
];
/// Surnames with an apostrophe (none of fake's locales has any).
const APOSTROPHE_LAST_NAMES: [&str; 12] = [
    "O'Brien",
    "O'Connor",
    "O'Neill",
    "O'Sullivan",
    "O'Reilly",
    "O'Hara",
    "D'Angelo",
    "D'Amico",
    "D'Souza",
    "N'Diaye",
    "Dell'Acqua",
    "D'Arcy",
];
/// First names with diacritics from other European languages.
const ACCENTED_FIRST_NAMES: [&str; 12] = [
    "Zoë",
    "Chloë",
    "Noël",
    "Søren",
    "Björn",
    "Łukasz",
    "Siobhán",
    "Renée",
    "Anaïs",
    "Małgorzata",
    "Jürgen",
    "Åsa",
];
const NICKNAMES: [&str; 6] = ["Bob", "Liz", "Jim", "Kate", "Chuck", "Mo"];
const EMOJIS: [&str; 5] = ["🌸", "🎉", "😀", "🚀", "☕"];

/// A full name mixing locales; one in a hundred has a quoted nickname or an emoji.
fn person_name(rng: &mut StdRng) -> Box<str> {
    let (first, last, second_last): (&str, &str, Option<&str>) = match rng.random_range(0..100u32) {
        0..=39 => (
            FirstName(EN).fake_with_rng(rng),
            LastName(EN).fake_with_rng(rng),
            None,
        ),
        40..=51 => (
            FirstName(FR_FR).fake_with_rng(rng),
            LastName(FR_FR).fake_with_rng(rng),
            None,
        ),
        52..=61 => (
            FirstName(DE_DE).fake_with_rng(rng),
            LastName(DE_DE).fake_with_rng(rng),
            None,
        ),
        62..=67 => (
            FirstName(IT_IT).fake_with_rng(rng),
            LastName(IT_IT).fake_with_rng(rng),
            None,
        ),
        68..=73 => (
            FirstName(PT_BR).fake_with_rng(rng),
            LastName(PT_BR).fake_with_rng(rng),
            None,
        ),
        74..=83 => (
            pick(rng, &ES_FIRST_NAMES),
            pick(rng, &ES_LAST_NAMES),
            rng.random_bool(0.5).then(|| pick(rng, &ES_LAST_NAMES)),
        ),
        84..=91 => (
            FirstName(EN).fake_with_rng(rng),
            pick(rng, &APOSTROPHE_LAST_NAMES),
            None,
        ),
        _ => (
            pick(rng, &ACCENTED_FIRST_NAMES),
            LastName(DE_DE).fake_with_rng(rng),
            None,
        ),
    };
    let special = rng.random_ratio(1, 100).then(|| rng.random_bool(0.5));
    let mut name = String::with_capacity(first.len() + last.len() + 24);
    name.push_str(first);
    if special == Some(true) {
        name.push_str(" \"");
        name.push_str(pick(rng, &NICKNAMES));
        name.push('"');
    }
    name.push(' ');
    name.push_str(last);
    if let Some(second) = second_last {
        name.push(' ');
        name.push_str(second);
    }
    if special == Some(false) {
        name.push(' ');
        name.push_str(pick(rng, &EMOJIS));
    }
    name.into()
}

/// A 22-character IBAN (country, check digits, 18-digit numeric BBAN) with valid check
/// digits: mostly German, some Serbian and Montenegrin accounts.
fn iban(rng: &mut StdRng) -> Box<str> {
    let country: &[u8; 2] = match rng.random_range(0..10u32) {
        0..=7 => b"DE",
        8 => b"RS",
        _ => b"ME",
    };
    let mut iban = [b'0'; 22];
    iban[..2].copy_from_slice(country);
    for (position, digit) in iban[4..].iter_mut().enumerate() {
        // German bank codes (BLZ) start with 1..=8.
        let range = if position == 0 && country == b"DE" {
            1..=8
        } else {
            0..=9
        };
        *digit = b'0' + rng.random_range(range);
    }
    let check = iban_check_digits(country, &iban[4..]);
    iban[2] = b'0' + check / 10;
    iban[3] = b'0' + check % 10;
    std::str::from_utf8(&iban)
        .expect("an IBAN built from ASCII letters and digits is UTF-8")
        .into()
}

/// ISO 13616 check digits for a numeric `bban` in `country`.
fn iban_check_digits(country: &[u8; 2], bban: &[u8]) -> u8 {
    let mut remainder = 0u32;
    for &digit in bban {
        remainder = (remainder * 10 + u32::from(digit - b'0')) % 97;
    }
    for &letter in country {
        remainder = (remainder * 100 + u32::from(letter - b'A') + 10) % 97;
    }
    remainder = remainder * 100 % 97;
    (98 - remainder) as u8
}

const CARD_PROVIDERS: [&str; 4] = [
    "VISA 16 digit",
    "Mastercard",
    "American Express",
    "Discover",
];

/// A card number with the issuer prefix and length of `provider` and a valid Luhn digit.
fn card_number(rng: &mut StdRng, provider: &str) -> Box<str> {
    let (prefix, length) = match provider {
        "American Express" => (pick(rng, &[34, 37]), 15),
        "Mastercard" => {
            if rng.random_bool(0.8) {
                (rng.random_range(51..=55), 16)
            } else {
                (rng.random_range(2221..=2720), 16)
            }
        }
        "Discover" => (pick(rng, &[6011, 65]), 16),
        _ => (4, 16),
    };
    let mut number = String::with_capacity(length);
    write!(number, "{prefix}").expect("writing to a String cannot fail");
    while number.len() < length - 1 {
        number.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    number.push(char::from(b'0' + luhn_check_digit(number.as_bytes())));
    number.into()
}

/// The digit that makes `payload` followed by it pass the Luhn check.
fn luhn_check_digit(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(position, &digit)| {
            let value = u32::from(digit - b'0');
            if position % 2 == 0 {
                let doubled = value * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                value
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Writes `{"id":…,"column":value,…}`; a column listed in `overrides` is written with the
/// value given there instead of its value in `cells`.
fn write_row(
    out: &mut Vec<u8>,
    table: Table,
    id: u64,
    cells: &[Cell],
    overrides: &[(usize, Cell)],
) {
    out.extend_from_slice(b"{\"id\":");
    push_u64(out, id);
    for (index, (column, cell)) in table.columns().iter().zip(cells).enumerate() {
        out.push(b',');
        push_key(out, column.name);
        let cell = overrides
            .iter()
            .find(|(overridden, _)| *overridden == index)
            .map_or(cell, |(_, old)| old);
        match cell {
            Cell::Text(text) => push_json_str(out, text),
            Cell::Static(text) => push_json_str(out, text),
            Cell::Date(days) => {
                out.push(b'"');
                push_date(out, *days);
                out.push(b'"');
            }
            Cell::Int(value) => push_u64(out, *value),
        }
    }
    out.push(b'}');
}

/// Writes `,"metadata":{…}}`, closing the record object.
fn write_metadata(
    out: &mut Vec<u8>,
    micros: i64,
    table: Table,
    operation: &str,
    transaction_id: Option<u64>,
) {
    out.extend_from_slice(b",\"metadata\":{\"timestamp\":\"");
    push_timestamp(out, micros);
    out.extend_from_slice(b"\",\"record-type\":\"data\",\"operation\":\"");
    out.extend_from_slice(operation.as_bytes());
    out.extend_from_slice(b"\",\"partition-key-type\":\"schema-table\"");
    push_location(out, table);
    if let Some(transaction_id) = transaction_id {
        out.extend_from_slice(b",\"transaction-id\":");
        push_u64(out, transaction_id);
    }
    out.extend_from_slice(b"}}");
}

/// Writes the `create-table` control record of `table`.
fn write_control(out: &mut Vec<u8>, micros: i64, table: Table) {
    out.extend_from_slice(
        b"{\"control\":{\"table-def\":{\"columns\":{\"id\":{\"type\":\"INT32\",\"nullable\":false}",
    );
    for column in table.columns() {
        out.push(b',');
        push_key(out, column.name);
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(column.dms_type.as_bytes());
        out.push(b'"');
        if let Some(length) = column.length {
            out.extend_from_slice(b",\"length\":");
            push_u64(out, length.into());
        }
        out.extend_from_slice(b",\"nullable\":true}");
    }
    out.extend_from_slice(b"},\"primary-key\":[\"id\"]}},\"metadata\":{\"timestamp\":\"");
    push_timestamp(out, micros);
    out.extend_from_slice(
        b"\",\"record-type\":\"control\",\"operation\":\"create-table\",\"partition-key-type\":\"task-id\"",
    );
    push_location(out, table);
    out.extend_from_slice(b"}}");
}

/// Writes `,"schema-name":"dataset","table-name":"<table>"`.
fn push_location(out: &mut Vec<u8>, table: Table) {
    out.extend_from_slice(b",\"schema-name\":\"");
    out.extend_from_slice(SCHEMA.as_bytes());
    out.extend_from_slice(b"\",\"table-name\":\"");
    out.extend_from_slice(table.name().as_bytes());
    out.push(b'"');
}

/// Writes `"name":` for one of this module's column names (plain ASCII, no escaping needed).
fn push_key(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Writes `text` as a JSON string literal, escaped by serde_json.
fn push_json_str(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(&mut *out, text).expect("serialising a str into a Vec cannot fail");
}

fn push_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Writes `value` as exactly `width` decimal digits (zero-padded; `value < 10^width`).
fn push_padded(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for digit in out[start..].iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
    debug_assert_eq!(value, 0, "value does not fit in {width} digits");
}

/// Writes `YYYY-MM-DD` for `days` since 1970-01-01 (years 0..=9999).
fn push_date(out: &mut Vec<u8>, days: i64) {
    let (year, month, day) = civil_from_days(days);
    push_padded(out, year as u64, 4);
    out.push(b'-');
    push_padded(out, month.into(), 2);
    out.push(b'-');
    push_padded(out, day.into(), 2);
}

/// Writes `YYYY-MM-DDTHH:MM:SS.ffffffZ` for `micros` since the Unix epoch.
fn push_timestamp(out: &mut Vec<u8>, micros: i64) {
    push_date(out, micros.div_euclid(MICROS_PER_DAY));
    let of_day = micros.rem_euclid(MICROS_PER_DAY) as u64;
    let seconds = of_day / 1_000_000;
    out.push(b'T');
    push_padded(out, seconds / 3600, 2);
    out.push(b':');
    push_padded(out, seconds / 60 % 60, 2);
    out.push(b':');
    push_padded(out, seconds % 60, 2);
    out.push(b'.');
    push_padded(out, of_day % 1_000_000, 6);
    out.push(b'Z');
}

/// Proleptic Gregorian (year, month, day) of `days` since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let shifted_month = (5 * day_of_year + 2) / 153; // [0, 11], March-based
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u8;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u8;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = (month + 9) % 12; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use serde_json::value::RawValue;
    use serde_json::Value;

    use super::*;

    fn records(config: GeneratorConfig, count: usize) -> Vec<Vec<u8>> {
        Generator::new(config).take(count).collect()
    }

    fn default_records(count: usize) -> Vec<Vec<u8>> {
        records(GeneratorConfig::default(), count)
    }

    /// Keys of the JSON object `text`, in document order.
    fn object_keys(text: &str) -> Vec<String> {
        let bytes = text.as_bytes();
        let mut keys = Vec::new();
        let mut depth = 0usize;
        let mut expect_key = false;
        let mut index = 0;
        while index < bytes.len() {
            match bytes[index] {
                b'"' => {
                    let start = index;
                    index += 1;
                    while bytes[index] != b'"' {
                        index += if bytes[index] == b'\\' { 2 } else { 1 };
                    }
                    if depth == 1 && expect_key {
                        keys.push(serde_json::from_str(&text[start..=index]).unwrap());
                        expect_key = false;
                    }
                }
                b'{' | b'[' => {
                    depth += 1;
                    expect_key = depth == 1 && bytes[index] == b'{';
                }
                b'}' | b']' => depth -= 1,
                b',' if depth == 1 => expect_key = true,
                _ => {}
            }
            index += 1;
        }
        keys
    }

    fn fields(record: &[u8]) -> HashMap<String, Box<RawValue>> {
        serde_json::from_slice(record).unwrap()
    }

    fn column_names(table: &str) -> Vec<&'static str> {
        let table = Table::ALL.iter().find(|t| t.name() == table).unwrap();
        std::iter::once("id")
            .chain(table.columns().iter().map(|c| c.name))
            .collect()
    }

    fn string_values(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.push(s.clone()),
            Value::Object(map) => map.values().for_each(|v| string_values(v, out)),
            Value::Array(items) => items.iter().for_each(|v| string_values(v, out)),
            _ => {}
        }
    }

    #[test]
    fn same_seed_is_byte_identical_and_other_seed_differs() {
        let a = default_records(2_000);
        let b = default_records(2_000);
        assert_eq!(a, b);
        let c = records(
            GeneratorConfig {
                seed: 43,
                ..GeneratorConfig::default()
            },
            2_000,
        );
        assert_ne!(a, c);
        // The first control record does not depend on the seed.
        assert_eq!(a[0], c[0]);
    }

    #[test]
    fn records_parse_with_dms_key_order() {
        for record in default_records(20_000) {
            let text = std::str::from_utf8(&record).unwrap();
            assert!(!text.ends_with('\n'));
            let value: Value = serde_json::from_str(text).unwrap();
            let table = value["metadata"]["table-name"].as_str().unwrap().to_owned();
            let fields = fields(&record);
            let top = object_keys(text);
            let metadata_keys = object_keys(fields["metadata"].get());
            if top[0] == "control" {
                assert_eq!(top, ["control", "metadata"]);
                let table_def = &value["control"]["table-def"];
                let raw: HashMap<String, Box<RawValue>> =
                    serde_json::from_str(fields["control"].get()).unwrap();
                assert_eq!(
                    object_keys(raw["table-def"].get()),
                    ["columns", "primary-key"]
                );
                let raw: HashMap<String, Box<RawValue>> =
                    serde_json::from_str(raw["table-def"].get()).unwrap();
                assert_eq!(object_keys(raw["columns"].get()), column_names(&table));
                assert_eq!(table_def["primary-key"], serde_json::json!(["id"]));
                assert_eq!(
                    metadata_keys,
                    [
                        "timestamp",
                        "record-type",
                        "operation",
                        "partition-key-type",
                        "schema-name",
                        "table-name"
                    ]
                );
                continue;
            }
            let operation = value["metadata"]["operation"].as_str().unwrap();
            if operation == "update" {
                assert_eq!(top, ["data", "before-image", "metadata"]);
                assert_eq!(
                    object_keys(fields["before-image"].get()),
                    column_names(&table)
                );
            } else {
                assert_eq!(top, ["data", "metadata"]);
            }
            assert_eq!(object_keys(fields["data"].get()), column_names(&table));
            let mut expected = vec![
                "timestamp",
                "record-type",
                "operation",
                "partition-key-type",
                "schema-name",
                "table-name",
            ];
            if operation != "load" {
                expected.push("transaction-id");
            }
            assert_eq!(metadata_keys, expected);
            assert_eq!(value["metadata"]["record-type"], "data");
            assert_eq!(value["metadata"]["partition-key-type"], "schema-table");
            assert_eq!(value["metadata"]["schema-name"], SCHEMA);
        }
    }

    #[test]
    fn first_three_records_are_control_records() {
        let all = default_records(4);
        for (record, table) in all.iter().zip(TABLES) {
            let value: Value = serde_json::from_slice(record).unwrap();
            assert_eq!(value["metadata"]["record-type"], "control");
            assert_eq!(value["metadata"]["operation"], "create-table");
            assert_eq!(value["metadata"]["partition-key-type"], "task-id");
            assert_eq!(value["metadata"]["table-name"], table);
            assert!(value["metadata"].get("transaction-id").is_none());
            let columns = &value["control"]["table-def"]["columns"];
            assert_eq!(columns["id"]["type"], "INT32");
            assert_eq!(columns["id"]["nullable"], false);
        }
        let first = String::from_utf8(all[0].clone()).unwrap();
        assert!(first.starts_with(
            "{\"control\":{\"table-def\":{\"columns\":{\"id\":{\"type\":\"INT32\",\"nullable\":false},\
             \"username\":{\"type\":\"STRING\",\"length\":64,\"nullable\":true},"
        ));
        let fourth: Value = serde_json::from_slice(&all[3]).unwrap();
        assert_eq!(fourth["metadata"]["operation"], "load");
        assert_eq!(fourth["data"]["id"], 1);
    }

    #[test]
    fn load_then_cdc_with_consistent_ids() {
        let load = GeneratorConfig::default().load_rows_per_table;
        let mut live: HashMap<String, HashSet<u64>> = HashMap::new();
        let mut max_id: HashMap<String, u64> = HashMap::new();
        let mut next_transaction = FIRST_TRANSACTION_ID;
        let mut counts: HashMap<String, usize> = HashMap::new();
        for (index, record) in default_records(20_000).iter().enumerate().skip(3) {
            let value: Value = serde_json::from_slice(record).unwrap();
            let metadata = &value["metadata"];
            let table = metadata["table-name"].as_str().unwrap().to_owned();
            let operation = metadata["operation"].as_str().unwrap();
            let id = value["data"]["id"].as_u64().unwrap();
            let ids = live.entry(table.clone()).or_default();
            let in_load = index < 3 + 3 * load as usize;
            assert_eq!(operation == "load", in_load, "record {index}");
            if in_load {
                assert_eq!(table, TABLES[(index - 3) / load as usize]);
                assert_eq!(id, (index as u64 - 3) % load + 1);
                assert!(metadata.get("transaction-id").is_none());
            } else {
                assert_eq!(metadata["transaction-id"], next_transaction);
                next_transaction += 1;
            }
            *counts.entry(operation.to_owned()).or_default() += 1;
            match operation {
                "load" | "insert" => {
                    let max = max_id.entry(table.clone()).or_default();
                    assert_eq!(id, *max + 1, "ids are assigned in sequence");
                    *max = id;
                    assert!(ids.insert(id));
                    assert!(value.get("before-image").is_none());
                }
                "update" => {
                    assert!(ids.contains(&id), "update of unknown {table} id {id}");
                    let before = &value["before-image"];
                    assert_eq!(before["id"], id);
                    let data = value["data"].as_object().unwrap();
                    let before = before.as_object().unwrap();
                    assert!(data.values().chain(before.values()).all(|v| !v.is_null()));
                }
                "delete" => {
                    assert!(ids.remove(&id), "delete of unknown {table} id {id}");
                    assert!(value.get("before-image").is_none());
                    let data = value["data"].as_object().unwrap();
                    assert_eq!(data.len(), column_names(&table).len());
                    assert!(data
                        .iter()
                        .all(|(column, v)| (column == "id") != v.is_null()));
                }
                other => panic!("unexpected operation {other}"),
            }
        }
        // Roughly 50 / 35 / 15 % of the CDC records.
        let cdc = (counts["insert"] + counts["update"] + counts["delete"]) as f64;
        assert!((0.45..0.55).contains(&(counts["insert"] as f64 / cdc)));
        assert!((0.30..0.40).contains(&(counts["update"] as f64 / cdc)));
        assert!((0.11..0.19).contains(&(counts["delete"] as f64 / cdc)));
    }

    #[test]
    fn updates_change_only_the_picked_and_coupled_columns() {
        let (mut updates, mut unchanged) = (0, 0);
        for record in default_records(5_000) {
            let value: Value = serde_json::from_slice(&record).unwrap();
            if value["metadata"]["operation"] != "update" {
                continue;
            }
            updates += 1;
            let data = value["data"].as_object().unwrap();
            let before = value["before-image"].as_object().unwrap();
            assert_eq!(
                data.keys().collect::<Vec<_>>(),
                before.keys().collect::<Vec<_>>()
            );
            let differing = data.iter().filter(|(k, v)| before[*k] != **v).count();
            // At most 3 picked columns, plus the column coupled to one of them (provider and
            // number, IBAN and BBAN); a new random value may equal the old one (gender, say).
            assert!(differing <= 4, "{value}");
            unchanged += usize::from(differing == 0);
        }
        assert!(updates > 1_000);
        assert!(
            unchanged * 20 < updates,
            "{unchanged} of {updates} updates changed nothing"
        );
    }

    #[test]
    fn without_load_rows_cdc_follows_control_records() {
        let all = records(
            GeneratorConfig {
                seed: 7,
                load_rows_per_table: 0,
            },
            50,
        );
        let fourth: Value = serde_json::from_slice(&all[3]).unwrap();
        assert_eq!(fourth["metadata"]["operation"], "insert");
        assert_eq!(fourth["metadata"]["transaction-id"], FIRST_TRANSACTION_ID);
        assert_eq!(fourth["data"]["id"], 1);
    }

    #[test]
    fn timestamps_are_well_formed_and_strictly_increasing() {
        let mut previous = String::new();
        for (index, record) in default_records(20_000).iter().enumerate() {
            let value: Value = serde_json::from_slice(record).unwrap();
            let ts = value["metadata"]["timestamp"].as_str().unwrap().to_owned();
            let b = ts.as_bytes();
            assert_eq!(b.len(), 27, "{ts}");
            for (position, &byte) in b.iter().enumerate() {
                match position {
                    4 | 7 => assert_eq!(byte, b'-'),
                    10 => assert_eq!(byte, b'T'),
                    13 | 16 => assert_eq!(byte, b':'),
                    19 => assert_eq!(byte, b'.'),
                    26 => assert_eq!(byte, b'Z'),
                    _ => assert!(byte.is_ascii_digit(), "{ts}"),
                }
            }
            let number = |range: std::ops::Range<usize>| ts[range].parse::<i64>().unwrap();
            let (year, month, day) = (number(0..4), number(5..7), number(8..10));
            assert!((1..=12).contains(&month), "{ts}");
            assert!(day >= 1 && day <= days_in_month(year, month), "{ts}");
            assert!(number(11..13) < 24 && number(14..16) < 60 && number(17..19) < 60);
            if index == 0 {
                assert_eq!(ts, "2026-11-28T00:00:00.000000Z");
            }
            assert!(ts > previous, "{ts} after {previous}");
            previous = ts;
        }
    }

    fn days_in_month(year: i64, month: i64) -> i64 {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    #[test]
    fn civil_conversion_matches_the_calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_785), (2026, 11, 28));
        assert_eq!(days_from_civil(2026, 11, 28), 20_785);
        assert_eq!(days_from_civil(1940, 1, 1), -10_958);
        // Walk day by day from 0001-01-01 to 9999-12-31.
        let first = days_from_civil(1, 1, 1);
        let last = days_from_civil(9999, 12, 31);
        let mut expected = (1i64, 1i64, 1i64);
        for days in first..=last {
            let (year, month, day) = civil_from_days(days);
            assert_eq!((year, i64::from(month), i64::from(day)), expected);
            assert_eq!(days_from_civil(year, month.into(), day.into()), days);
            let (y, m, d) = expected;
            expected = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
        let mut out = Vec::new();
        push_timestamp(&mut out, -1);
        assert_eq!(out, b"1969-12-31T23:59:59.999999Z");
        out.clear();
        push_timestamp(&mut out, START_MICROS + 3_723_000_042);
        assert_eq!(out, b"2026-11-28T01:02:03.000042Z");
    }

    #[test]
    fn values_exercise_unicode_apostrophes_and_escaping() {
        let (mut non_ascii, mut apostrophe, mut escaped, mut emoji) = (false, false, false, false);
        for record in default_records(20_000) {
            let value: Value = serde_json::from_slice(&record).unwrap();
            let mut strings = Vec::new();
            string_values(&value["data"], &mut strings);
            for s in strings {
                non_ascii |= !s.is_ascii();
                apostrophe |= s.contains('\'');
                escaped |= s.contains(['"', '\\']);
                emoji |= s.chars().any(|c| u32::from(c) >= 0x1_0000);
            }
        }
        assert!(non_ascii && apostrophe && escaped && emoji);
    }

    #[test]
    fn bank_and_card_values_are_well_formed() {
        let mut numeric_codes = 0;
        let mut text_codes = 0;
        let mut providers = HashSet::new();
        for record in default_records(20_000) {
            let value: Value = serde_json::from_slice(&record).unwrap();
            let table = &value["metadata"]["table-name"];
            let operation = &value["metadata"]["operation"];
            if operation == "delete" || operation == "create-table" {
                continue;
            }
            let rows = [Some(&value["data"]), value.get("before-image")];
            for row in rows.into_iter().flatten() {
                if table == "bank" {
                    let account = row["account_number"].as_str().unwrap();
                    let digits = account.strip_prefix("XYZ-").expect(account);
                    assert!((1..=2).contains(&digits.len()), "{account}");
                    assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{account}");
                    let iban = row["iban"].as_str().unwrap();
                    let b = iban.as_bytes();
                    assert_eq!(b.len(), 22, "{iban}");
                    assert!(b[..2].iter().all(u8::is_ascii_uppercase), "{iban}");
                    assert!(b[2..].iter().all(u8::is_ascii_digit), "{iban}");
                    // ISO 13616: country and check digits moved to the end, mod 97 == 1.
                    let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
                    let remainder = rearranged.fold(0u32, |r, c| {
                        if c.is_ascii_digit() {
                            (r * 10 + u32::from(c - b'0')) % 97
                        } else {
                            (r * 100 + u32::from(c - b'A') + 10) % 97
                        }
                    });
                    assert_eq!(remainder, 1, "{iban}");
                    assert_eq!(row["bban"].as_str().unwrap(), &iban[4..]);
                } else if table == "card" {
                    let provider = row["cred_card_provider"].as_str().unwrap();
                    providers.insert(provider.to_owned());
                    let number = row["card_number"].as_str().unwrap();
                    assert!(number.bytes().all(|b| b.is_ascii_digit()));
                    let (prefixes, length): (&[&str], usize) = match provider {
                        "VISA 16 digit" => (&["4"], 16),
                        "Mastercard" => (&["5", "2"], 16),
                        "American Express" => (&["34", "37"], 15),
                        "Discover" => (&["6011", "65"], 16),
                        other => panic!("unknown provider {other}"),
                    };
                    assert_eq!(number.len(), length, "{number}");
                    assert!(prefixes.iter().any(|p| number.starts_with(p)), "{number}");
                    let (payload, check) = number.split_at(number.len() - 1);
                    assert_eq!(
                        luhn_check_digit(payload.as_bytes()),
                        check.as_bytes()[0] - b'0'
                    );
                    let expiration = row["card_expiration"].as_str().unwrap().as_bytes();
                    assert_eq!(expiration.len(), 5);
                    assert_eq!(expiration[2], b'/');
                    let month = std::str::from_utf8(&expiration[..2]).unwrap();
                    assert!((1..=12).contains(&month.parse::<u32>().unwrap()));
                    match &row["card_security_code"] {
                        Value::String(code) => {
                            assert_eq!(code.len(), 3);
                            assert!(code.bytes().all(|b| b.is_ascii_digit()));
                            text_codes += 1;
                        }
                        Value::Number(code) => {
                            assert!((100..1000).contains(&code.as_u64().unwrap()));
                            numeric_codes += 1;
                        }
                        other => panic!("unexpected security code {other}"),
                    }
                }
            }
        }
        assert_eq!(providers.len(), CARD_PROVIDERS.len());
        let share = f64::from(numeric_codes) / f64::from(numeric_codes + text_codes);
        assert!((0.05..0.15).contains(&share), "{share}");
    }

    #[test]
    fn check_digit_helpers_match_known_values() {
        assert_eq!(iban_check_digits(b"DE", b"370400440532013000"), 89);
        // 4111 1111 1111 1111 is the classic VISA test number.
        assert_eq!(luhn_check_digit(b"411111111111111"), 1);
        // 3782 822463 10005 is a published American Express test number.
        assert_eq!(luhn_check_digit(b"37828224631000"), 5);
    }
}
