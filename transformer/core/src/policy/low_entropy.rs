//! Low-entropy columns (genders, birthdates, flags): protected
//! deterministically, their few distinct values fall to frequency analysis,
//! so the policy warns about them.

use super::{lowercase, PolicyFile};

/// Column names (lower-cased, as words of the name) of values with few
/// distinct values: gender, birthdates, flags, small enums.
const LOW_ENTROPY_WORDS: [&str; 9] = [
    "gender",
    "sex",
    "birthdate",
    "dob",
    "birthday",
    "flag",
    "status",
    "active",
    "enabled",
];

/// Whether a column probably holds few distinct values (by its name or its
/// types): frequency analysis reverses such values when they are
/// protected deterministically.
pub fn is_low_entropy(name: &str, types: &[String]) -> bool {
    let lower = lowercase(name);
    let by_name = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| LOW_ENTROPY_WORDS.contains(&word))
        || lower.starts_with("is_")
        || lower.starts_with("has_")
        || lower.contains("birth");
    by_name
        || types
            .iter()
            .any(|t| t == "DATE_OF_BIRTH" || t == "GENDER" || t == "SEX")
}

/// One warning per low-entropy column that a view tokenises or encrypts
/// deterministically.
pub fn low_entropy_warnings(file: &PolicyFile) -> Vec<String> {
    let mut warnings = Vec::new();
    for table in &file.tables {
        for (name, column) in &table.columns {
            let deterministic = [&column.masked, &column.encrypted]
                .into_iter()
                .filter(|a| a.is_deterministic())
                .count();
            if deterministic > 0 && is_low_entropy(name, &column.types) {
                warnings.push(format!(
                    "{}.{}.{name}: low-entropy column protected deterministically (token or encrypt-deterministic): frequency analysis can reverse its values",
                    table.schema, table.table
                ));
            }
        }
    }
    warnings
}
