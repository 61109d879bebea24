//! The policy compiled in the cloud: `cdc-mask-policy-lambda` recompiles
//! every finding under an S3 prefix (plus optional overrides) whenever it is
//! invoked, and writes the policy object only when its bytes change.
//!
//! Fail closed: a finding that cannot be read or placed, unreadable
//! overrides, no findings at all, or a policy that does not load stop the
//! run before anything is written; the current policy stays as it is.
//!
//! Atomic: the policy is written with one `PutObject`, which replaces the
//! whole object at once, so the transformer reads the old or the new policy,
//! never a part; the bucket is versioned (see `infra/`), so every earlier
//! policy can be restored. Invocations should not overlap (reserved
//! concurrency 1): each one compiles everything, so the last one wins anyway.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::settings::{ConfigError, Setting};
use cdc_mask_core::findings::{checked_policy_json, Compiler, Defaults, Layout, Overrides};
use cdc_mask_core::policy::{lowercase, ColumnPolicy, PolicyFile};

use crate::findings_store::{S3Error, S3Store, S3Url, Written};

/// Environment variables the policy Lambda reads (and nothing else of ours).
pub mod env {
    /// `s3://bucket/prefix/` holding the Macie findings (required).
    pub const FINDINGS: &str = "CDCMASK_FINDINGS";
    /// `s3://bucket/key` of the policy to write (required): the same
    /// variable, with the same value, as the transformer's.
    pub const POLICY: &str = super::Setting::Policy.env();
    /// `s3://bucket/key` of the overrides (optional).
    pub const POLICY_OVERRIDES: &str = "CDCMASK_POLICY_OVERRIDES";
    /// Object key → table pattern, as `findings compile --layout`
    /// (optional; default: the DMS S3-target layout).
    pub const FINDINGS_LAYOUT: &str = "CDCMASK_FINDINGS_LAYOUT";

    /// Every variable above, for documentation and tests.
    pub const ALL: [&str; 4] = [FINDINGS, POLICY, POLICY_OVERRIDES, FINDINGS_LAYOUT];
}

/// What to compile and where to write it.
#[derive(Debug, Clone)]
pub struct CompilerConfig {
    /// The findings prefix.
    pub findings: S3Url,
    /// The policy object.
    pub policy: S3Url,
    /// The overrides object, if any.
    pub overrides: Option<S3Url>,
    /// Object key → table.
    pub layout: Layout,
}

impl CompilerConfig {
    /// Reads the policy Lambda's environment through `var`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or wrong.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let wrong = |name: &'static str, message: String| ConfigError::Invalid { name, message };
        let findings = set(env::FINDINGS).ok_or(ConfigError::Missing {
            name: env::FINDINGS,
            what: "s3://bucket/prefix/ of the Macie findings",
        })?;
        let policy = set(env::POLICY).ok_or(ConfigError::Missing {
            name: env::POLICY,
            what: "s3://bucket/key of the policy to write",
        })?;
        Ok(CompilerConfig {
            findings: S3Url::prefix(&findings).map_err(|e| wrong(env::FINDINGS, e))?,
            policy: S3Url::object(&policy).map_err(|e| wrong(env::POLICY, e))?,
            overrides: set(env::POLICY_OVERRIDES)
                .map(|o| S3Url::object(&o))
                .transpose()
                .map_err(|e| wrong(env::POLICY_OVERRIDES, e))?,
            layout: match set(env::FINDINGS_LAYOUT) {
                Some(pattern) => Layout::Pattern(
                    pattern
                        .parse()
                        .map_err(|e| wrong(env::FINDINGS_LAYOUT, e))?,
                ),
                None => Layout::Dms,
            },
        })
    }
}

/// What one recompilation read and did (counts only: no names, no content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recompiled {
    /// Objects read under the findings prefix.
    pub objects: usize,
    /// Sensitive-data findings in them.
    pub findings: usize,
    /// Detections that name no column (see `findings compile`'s warnings).
    pub warnings: usize,
    /// Tables in the policy.
    pub tables: usize,
    /// Protected columns in the policy.
    pub columns: usize,
    /// Whether the policy object was written (its bytes changed).
    pub written: bool,
    /// Columns the new policy protects and the previous did not.
    pub added: usize,
    /// Columns the previous policy protected and the new one does not.
    pub removed: usize,
    /// Columns in both whose entry (actions, types or provenance) changed.
    pub changed: usize,
}

/// Why nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum RecompileError {
    /// S3 could not be listed, read or written.
    #[error("{0}; policy not written")]
    S3(#[from] S3Error),
    /// The overrides are not a usable policy.
    #[error("overrides {url}: {message}; policy not written")]
    Overrides {
        /// Where they are.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// Some findings could not be read or placed on a table.
    #[error("{first}{}; policy not written", more_problems(*.count))]
    Findings {
        /// The first problem: object, line, finding id and what is wrong.
        first: String,
        /// How many problems in all.
        count: usize,
    },
    /// Nothing to compile.
    #[error("no sensitive-data findings in {objects} object(s) under {prefix} and no overrides; policy not written")]
    Empty {
        /// The findings prefix.
        prefix: String,
        /// Objects read.
        objects: usize,
    },
    /// The compiled policy does not load.
    #[error("the compiled policy is not usable: {0}; policy not written")]
    Invalid(String),
}

fn more_problems(count: usize) -> String {
    match count {
        0 | 1 => String::new(),
        n => format!(" (and {} more problem(s))", n - 1),
    }
}

/// Compiles every finding under `config.findings` with the overrides and
/// writes the policy to `config.policy` if its bytes changed.
///
/// # Errors
/// [`RecompileError`]; then nothing was written.
pub async fn recompile(
    store: &S3Store,
    config: &CompilerConfig,
) -> Result<Recompiled, RecompileError> {
    let overrides = match &config.overrides {
        None => None,
        Some(url) => {
            let bytes = store.read(url).await?;
            Some(
                Overrides::from_slice(&bytes).map_err(|e| RecompileError::Overrides {
                    url: url.to_string(),
                    message: e.to_string(),
                })?,
            )
        }
    };
    let objects = store.list(&config.findings).await?;
    let mut compiler = Compiler::new(config.layout.clone(), Defaults::ByType);
    store.add_objects(&mut compiler, &objects).await?;
    let compiled = compiler.finish(overrides.as_ref());
    if let Some(first) = compiled.errors.first() {
        return Err(RecompileError::Findings {
            first: first.to_string(),
            count: compiled.errors.len(),
        });
    }
    if compiled.findings == 0 && overrides.is_none() {
        return Err(RecompileError::Empty {
            prefix: config.findings.to_string(),
            objects: objects.len(),
        });
    }
    let bytes = checked_policy_json(&compiled.policy)
        .map_err(|e| RecompileError::Invalid(e.to_string()))?;
    let written = store.write_if_changed(&config.policy, &bytes).await?;
    let (written, changes) = match written {
        Written::Unchanged => (false, Changes::default()),
        Written::Replaced { previous } => (true, changes(previous.as_deref(), &compiled.policy)),
    };
    Ok(Recompiled {
        objects: objects.len(),
        findings: compiled.findings,
        warnings: compiled.warnings.len(),
        tables: compiled.policy.tables.len(),
        columns: compiled.columns.len(),
        written,
        added: changes.added,
        removed: changes.removed,
        changed: changes.changed,
    })
}

/// Column counts of a policy change.
#[derive(Debug, Default, PartialEq, Eq)]
struct Changes {
    added: usize,
    removed: usize,
    changed: usize,
}

/// What changed from the `previous` policy bytes (none, or unreadable:
/// everything is added) to `next`. Names compare case-insensitively.
fn changes(previous: Option<&[u8]>, next: &PolicyFile) -> Changes {
    let previous: Option<PolicyFile> = previous.and_then(|b| serde_json::from_slice(b).ok());
    let old = previous.as_ref().map(columns).unwrap_or_default();
    let new = columns(next);
    let mut out = Changes::default();
    for (name, column) in &new {
        match old.get(name) {
            None => out.added += 1,
            Some(before) if before != column => out.changed += 1,
            Some(_) => {}
        }
    }
    out.removed = old.keys().filter(|name| !new.contains_key(*name)).count();
    out
}

fn columns(policy: &PolicyFile) -> BTreeMap<[String; 3], &ColumnPolicy> {
    policy
        .tables
        .iter()
        .flat_map(|t| {
            t.columns.iter().map(|(name, column)| {
                (
                    [lowercase(&t.schema), lowercase(&t.table), lowercase(name)],
                    column,
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<CompilerConfig, ConfigError> {
        CompilerConfig::from_env(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_variable_names_are_the_deployment_contract() {
        // infra/ sets these names; the transformer reads the same policy
        // variable.
        assert_eq!(
            env::ALL,
            [
                "CDCMASK_FINDINGS",
                "CDCMASK_POLICY",
                "CDCMASK_POLICY_OVERRIDES",
                "CDCMASK_FINDINGS_LAYOUT"
            ]
        );
        assert!(crate::settings::env::ALL.contains(&env::POLICY));
    }

    #[test]
    fn reads_the_environment_and_names_what_is_wrong() {
        let config = from(&[
            (env::FINDINGS, "s3://lake/findings/"),
            (env::POLICY, " s3://lake/policy/current.json "),
            (env::FINDINGS_LAYOUT, "raw/{schema}/{table}/**"),
        ])
        .unwrap();
        assert_eq!(config.findings.to_string(), "s3://lake/findings/");
        assert_eq!(config.policy.key, "policy/current.json");
        assert!(config.overrides.is_none());
        assert!(matches!(config.layout, Layout::Pattern(_)));
        for (vars, needle) in [
            (vec![(env::POLICY, "s3://b/p.json")], env::FINDINGS),
            (vec![(env::FINDINGS, "s3://b/f/")], env::POLICY),
            (
                vec![(env::FINDINGS, "s3://b/f/"), (env::POLICY, "/tmp/p.json")],
                env::POLICY,
            ),
            (
                vec![(env::FINDINGS, "findings/"), (env::POLICY, "s3://b/p")],
                env::FINDINGS,
            ),
            (
                vec![
                    (env::FINDINGS, "s3://b/f/"),
                    (env::POLICY, "s3://b/p"),
                    (env::POLICY_OVERRIDES, "s3://b"),
                ],
                env::POLICY_OVERRIDES,
            ),
            (
                vec![
                    (env::FINDINGS, "s3://b/f/"),
                    (env::POLICY, "s3://b/p"),
                    (env::FINDINGS_LAYOUT, "{schema}/*"),
                ],
                env::FINDINGS_LAYOUT,
            ),
        ] {
            let err = from(&vars).unwrap_err().to_string();
            assert!(err.starts_with(needle), "{err}");
        }
    }

    #[test]
    fn counts_added_removed_and_changed_columns() {
        let policy = |columns: &[(&str, &str)]| -> PolicyFile {
            let columns: serde_json::Map<String, serde_json::Value> = columns
                .iter()
                .map(|(c, a)| ((*c).to_owned(), serde_json::json!({ "masked": a })))
                .collect();
            serde_json::from_value(serde_json::json!({
                "version": 1,
                "tables": [{"schema": "s", "table": "t", "columns": columns}]
            }))
            .unwrap()
        };
        let old =
            serde_json::to_vec(&policy(&[("a", "redact"), ("B", "token"), ("c", "null")])).unwrap();
        let new = policy(&[
            ("b", "token"),
            ("c", "redact"),
            ("d", "redact"),
            ("e", "keep"),
        ]);
        assert_eq!(
            changes(Some(&old), &new),
            Changes {
                added: 2,
                removed: 1,
                changed: 1
            }
        );
        let all_new = Changes {
            added: 4,
            removed: 0,
            changed: 0,
        };
        assert_eq!(changes(None, &new), all_new);
        assert_eq!(changes(Some(b"not json"), &new), all_new);
    }
}
