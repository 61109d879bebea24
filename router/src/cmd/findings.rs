//! `cdc-mask findings compile`: Macie findings (files, folders, stdin,
//! `s3://` prefixes) and overrides → one policy, written atomically (a file
//! renamed into place, or one S3 `PutObject` when the bytes change) or not
//! at all.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cdc_mask_core::findings::{
    checked_policy_json, ColumnReport, Compiled, Compiler, Defaults, KeyOrigin, Layout, Origin,
    Overrides, Problem,
};
use cdc_mask_core::policy::{Action, PolicyFile};
use cdc_mask_transformer::findings_store::{S3Store, S3Url, Written};

use crate::aws::LazyAws;
use crate::cli::{CompileArgs, FindingsArgs, FindingsCommand};

/// At most this many errors and warnings are listed; the rest are counted.
const MAX_LISTED: usize = 20;

pub(super) async fn run(args: FindingsArgs) -> anyhow::Result<()> {
    match args.command {
        FindingsCommand::Compile(args) => compile(args).await,
    }
}

async fn compile(args: CompileArgs) -> anyhow::Result<()> {
    let mut s3 = S3::new(args.endpoint_url.clone());
    let overrides = match args.overrides.as_deref() {
        None => None,
        Some(place) => {
            let bytes = if place.starts_with("s3://") {
                let url = S3Url::object(place).map_err(anyhow::Error::msg)?;
                s3.store().await.read(&url).await?
            } else {
                std::fs::read(place).with_context(|| format!("cannot read overrides {place}"))?
            };
            Some(Overrides::from_slice(&bytes).with_context(|| format!("overrides {place}"))?)
        }
    };
    let output = Output::parse(args.output.as_deref())?;
    let layout = match (args.layout, args.table) {
        (Some(pattern), _) => Layout::Pattern(pattern),
        (None, Some(table)) => Layout::Fixed(table),
        (None, None) => Layout::Dms,
    };
    let defaults = if args.redact_all {
        Defaults::RedactAll
    } else {
        Defaults::ByType
    };
    let (files, prefixes) = expand(&args.sources)?;
    let mut objects = Vec::new();
    for prefix in &prefixes {
        objects.extend(s3.store().await.list(prefix).await?);
    }
    objects.sort();
    objects.dedup();
    let sources = files.len() + objects.len();
    let mut compiler = Compiler::new(layout, defaults);
    for source in &files {
        let (name, bytes) = match source {
            Source::Stdin => ("<stdin>".to_owned(), super::shared::read_input(None)?),
            Source::File(path) => (
                path.display().to_string(),
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            ),
        };
        compiler.add_source(&name, &bytes);
    }
    if !objects.is_empty() {
        s3.store()
            .await
            .add_objects(&mut compiler, &objects)
            .await?;
    }
    let compiled = compiler.finish(overrides.as_ref());
    list("warning", &compiled.warnings);
    for line in &compiled.low_entropy {
        eprintln!("warning: {line}");
    }
    if !compiled.errors.is_empty() {
        list("error", &compiled.errors);
        anyhow::ensure!(
            args.keep_going,
            "{}; nothing written (--keep-going compiles the rest)",
            first_of(&compiled.errors)
        );
    }
    anyhow::ensure!(
        compiled.findings > 0 || overrides.is_some(),
        "no sensitive-data findings in {sources} source(s): nothing to compile"
    );
    let bytes = render(&compiled.policy)?;
    let target = match output {
        Output::Stdout => {
            std::io::stdout()
                .write_all(&bytes)
                .context("writing the policy")?;
            "stdout".to_owned()
        }
        Output::File(path) => {
            crate::atomic_file::write(&path, &bytes)?;
            path.display().to_string()
        }
        Output::S3(url) => match s3.store().await.write_if_changed(&url, &bytes).await? {
            Written::Unchanged => format!("{url} (unchanged, not written)"),
            Written::Replaced { .. } => url.to_string(),
        },
    };
    eprint!("{}", summary(&compiled, sources, &target));
    Ok(())
}

/// The S3 client, made on first use (local runs never load AWS config).
struct S3 {
    aws: LazyAws,
    store: Option<S3Store>,
}

impl S3 {
    fn new(endpoint_url: Option<String>) -> Self {
        S3 {
            aws: LazyAws::new(endpoint_url),
            store: None,
        }
    }

    async fn store(&mut self) -> S3Store {
        match &self.store {
            Some(store) => store.clone(),
            None => {
                let client = self.aws.get().await.s3();
                self.store.insert(S3Store::new(client)).clone()
            }
        }
    }
}

/// Where the policy goes.
enum Output {
    Stdout,
    File(PathBuf),
    S3(S3Url),
}

impl Output {
    fn parse(output: Option<&str>) -> anyhow::Result<Self> {
        Ok(match output {
            None | Some("-") => Output::Stdout,
            Some(url) if url.starts_with("s3://") => {
                Output::S3(S3Url::object(url).map_err(anyhow::Error::msg)?)
            }
            Some(path) => Output::File(PathBuf::from(path)),
        })
    }
}

/// A local source to read.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Stdin,
    File(PathBuf),
}

/// The files behind the local sources (folders read recursively, hidden
/// entries skipped; sorted and deduplicated) and the `s3://` prefixes.
fn expand(sources: &[String]) -> anyhow::Result<(Vec<Source>, Vec<S3Url>)> {
    let mut files = Vec::new();
    let mut prefixes = Vec::new();
    for source in sources {
        if source.starts_with("s3://") {
            prefixes.push(S3Url::prefix(source).map_err(anyhow::Error::msg)?);
            continue;
        }
        if source == "-" {
            files.push(Source::Stdin);
            continue;
        }
        let path = Path::new(source);
        let meta =
            std::fs::metadata(path).with_context(|| format!("source {source} does not exist"))?;
        if meta.is_dir() {
            walk(path, &mut files)?;
        } else {
            files.push(Source::File(path.to_path_buf()));
        }
    }
    files.sort();
    files.dedup();
    Ok((files, prefixes))
}

fn walk(dir: &Path, files: &mut Vec<Source>) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Symbolic links to folders are not followed (no cycles).
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot read {}", path.display()))?;
        if kind.is_dir() {
            walk(&path, files)?;
        } else if path.is_file() {
            files.push(Source::File(path));
        }
    }
    Ok(())
}

/// The policy as written (one line per column), checked to load.
pub(super) fn render(policy: &PolicyFile) -> anyhow::Result<Vec<u8>> {
    checked_policy_json(policy).context("the compiled policy is not usable")
}

/// Prints up to [`MAX_LISTED`] problems on stderr, one per line.
fn list(kind: &str, problems: &[Problem]) {
    for problem in problems.iter().take(MAX_LISTED) {
        eprintln!("{kind}: {problem}");
    }
    if problems.len() > MAX_LISTED {
        eprintln!("{kind}: … and {} more", problems.len() - MAX_LISTED);
    }
}

fn first_of(errors: &[Problem]) -> String {
    match errors {
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first}; and {} more, listed above", rest.len()),
        [] => String::new(),
    }
}

/// What was read and what the policy protects, for people.
fn summary(compiled: &Compiled, sources: usize, target: &str) -> String {
    let tables = compiled.policy.tables.len();
    let mut s = String::new();
    let _ = write!(
        s,
        "findings compile: {} sensitive-data finding(s) from {sources} source(s)",
        compiled.findings
    );
    if compiled.control_records > 0 {
        let _ = write!(s, ", {} DMS control record(s)", compiled.control_records);
    }
    if compiled.skipped > 0 {
        let _ = write!(s, ", {} other finding(s) skipped", compiled.skipped);
    }
    if !compiled.errors.is_empty() {
        let _ = write!(s, ", {} unreadable (skipped)", compiled.errors.len());
    }
    let _ = writeln!(
        s,
        " → {tables} table(s), {} column(s) → {target}",
        compiled.columns.len()
    );
    for line in column_lines(&compiled.columns) {
        let _ = writeln!(s, "  {line}");
    }
    for key in &compiled.keys {
        let from = match key.origin {
            KeyOrigin::Overrides => "overrides",
            KeyOrigin::TableDef => "DMS table definition",
        };
        let _ = writeln!(
            s,
            "  key: {} ({}) from {from}",
            key.table,
            key.key.join(", ")
        );
    }
    s
}

/// One line per protected column: `found: dataset.customer.mail
/// (custom:email) → masked token, encrypted encrypt`.
pub(super) fn column_lines(columns: &[ColumnReport]) -> Vec<String> {
    columns
        .iter()
        .map(|c| {
            let (verb, note) = match c.origin {
                Origin::Findings => ("found", ""),
                Origin::Both => ("found", ", overridden"),
                Origin::Overrides => ("added", ", by override"),
            };
            format!(
                "{verb}: {}.{} ({}) → masked {}, encrypted {}{note}",
                c.table,
                c.column,
                if c.types.is_empty() {
                    "no type".to_owned()
                } else {
                    c.types.join(", ")
                },
                describe(&c.masked),
                describe(&c.encrypted),
            )
        })
        .collect()
}

/// An action in a few words.
fn describe(action: &Action) -> String {
    match action {
        Action::Redact { .. } => "redact".into(),
        Action::Partial { keep_last } => format!("partial last {keep_last}"),
        Action::Token => "token".into(),
        Action::Null => "null".into(),
        Action::Keep => "keep".into(),
        Action::Generalize { to } => format!("generalize to {to:?}").to_lowercase(),
        Action::Encrypt => "encrypt".into(),
        Action::EncryptDeterministic => "encrypt-deterministic".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_expand_sorted_with_s3_prefixes_apart() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/c")).unwrap();
        for name in ["b/c/2.json", "a.jsonl", ".hidden", "b/1"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let root = dir.path().display().to_string();
        let (files, prefixes) = expand(&[
            root.clone(),
            "s3://bucket/findings/".into(),
            format!("{root}/a.jsonl"),
        ])
        .unwrap();
        assert_eq!(prefixes, [S3Url::prefix("s3://bucket/findings/").unwrap()]);
        let names: Vec<String> = files
            .iter()
            .map(|s| match s {
                Source::File(p) => p.strip_prefix(dir.path()).unwrap().display().to_string(),
                Source::Stdin => "-".into(),
            })
            .collect();
        assert_eq!(names, ["a.jsonl", "b/1", "b/c/2.json"]);
        let err = expand(&["s3:///findings/".into()]).unwrap_err();
        assert!(err.to_string().contains("s3://bucket/prefix"), "{err}");
        assert!(expand(&["/nonexistent/x".into()]).is_err());
    }
}
