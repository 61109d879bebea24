//! Command-line arguments of `cdc-mask`.

use std::path::PathBuf;

use cdc_mask_transformer::findings::{Pattern, TableName};
use clap::{Args, Parser, Subcommand};

/// Masks and encrypts PII in AWS DMS change streams.
///
/// Start with `cdc-mask demo`: it generates change data for three sample
/// tables, masks and encrypts it, and writes a local lake laid out like S3.
#[derive(Debug, Parser)]
#[command(name = "cdc-mask", version, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// `cdc-mask` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole path locally on generated sample data (no AWS account).
    Demo(DemoArgs),
    /// Answer a Firehose transformation event as the Lambda would.
    TransformEvent(TransformEventArgs),
    /// Decrypt encrypted-view rows (or unseal quarantined records).
    Decrypt(DecryptArgs),
    /// Amazon Macie findings: compile them into a policy.
    Findings(FindingsArgs),
}

/// Where keys come from. The same environment variables as the Lambda's
/// work as defaults.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// Local keyring directory (stands in for KMS; created on first use).
    #[arg(
        long,
        env = "CDCMASK_KEYRING",
        value_name = "DIR",
        conflicts_with = "kms_key_id"
    )]
    pub keyring: Option<PathBuf>,
    /// KMS key (id, ARN or alias) for data keys.
    #[arg(long, env = "CDCMASK_KMS_KEY_ID", value_name = "ID")]
    pub kms_key_id: Option<String>,
    /// KMS key for quarantine data keys [default: --kms-key-id].
    #[arg(
        long,
        env = "CDCMASK_QUARANTINE_KMS_KEY_ID",
        value_name = "ID",
        requires = "kms_key_id"
    )]
    pub quarantine_kms_key_id: Option<String>,
    /// Base64 KMS ciphertext of the token (HMAC) key, needed with KMS when the
    /// policy tokenises (`aws kms encrypt --plaintext fileb://token.key`).
    #[arg(
        long,
        env = "CDCMASK_TOKEN_KEY_CIPHERTEXT",
        value_name = "BASE64",
        requires = "kms_key_id"
    )]
    pub token_key_ciphertext: Option<String>,
    /// Secrets Manager secret (name or ARN) holding the token key, as the
    /// deployed Lambda reads it (`infra/template.yaml`), so replays give the
    /// same tokens.
    #[arg(
        long,
        env = "CDCMASK_TOKEN_KEY_SECRET",
        value_name = "ID",
        requires = "kms_key_id",
        conflicts_with = "token_key_ciphertext"
    )]
    pub token_key_secret: Option<String>,
    /// Version written into tokens (`tok<N>_…`).
    #[arg(
        long,
        env = "CDCMASK_TOKEN_KEY_VERSION",
        value_name = "N",
        default_value_t = 1
    )]
    pub token_key_version: u32,
    /// Send every AWS call to this endpoint (a compatible local service).
    /// `AWS_ENDPOINT_URL` works too.
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory of the local lake (and of its keyring, reused across runs).
    #[arg(long, default_value = "./lake", value_name = "DIR")]
    pub out: PathBuf,
    /// Number of change records to generate.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub records: u64,
    /// Seed of the generator (same seed, same data).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Arguments of `transform-event`.
#[derive(Debug, Args)]
pub struct TransformEventArgs {
    /// Which view to write: masked, encrypted, or auto (from the event's
    /// deliveryStreamArn, as the Lambda does).
    #[arg(long, value_name = "VIEW")]
    pub view: String,
    /// Policy JSON (see schemas/policy.schema.json): a path or s3://bucket/key.
    #[arg(long, env = "CDCMASK_POLICY", value_name = "FILE|S3_URL")]
    pub policy: String,
    /// Output shape: flat (one object per change) or envelope (DMS layout).
    #[arg(
        long,
        env = "CDCMASK_SHAPE",
        default_value = "flat",
        value_name = "SHAPE"
    )]
    pub shape: String,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Print `records=N seconds=S records_per_s=R kms_calls=K` on stderr.
    #[arg(long)]
    pub stats: bool,
    /// Firehose event JSON; `-` or nothing reads stdin.
    #[arg(value_name = "EVENT_FILE")]
    pub event: Option<PathBuf>,
}

/// Arguments of `decrypt`.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// Local keyring directory that encrypted the rows.
    #[arg(
        long,
        env = "CDCMASK_KEYRING",
        value_name = "DIR",
        conflicts_with = "kms"
    )]
    pub keyring: Option<PathBuf>,
    /// Unwrap data keys with AWS KMS (the key is named inside each row).
    #[arg(long)]
    pub kms: bool,
    /// Same as --kms, for symmetry with the other commands (the id is not
    /// needed to decrypt; if given, KMS checks the rows were made with it).
    #[arg(long, value_name = "ID", conflicts_with = "keyring")]
    pub kms_key_id: Option<String>,
    /// Send every AWS call to this endpoint. `AWS_ENDPOINT_URL` works too.
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Input is quarantine records: print each original record's exact bytes
    /// followed by a newline (needs the quarantine key: admins only).
    #[arg(long)]
    pub quarantine: bool,
    /// Encrypted-view JSON lines; `-` or nothing reads stdin.
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,
}

/// Arguments of `findings`.
#[derive(Debug, Args)]
pub struct FindingsArgs {
    /// What to do with the findings.
    #[command(subcommand)]
    pub command: FindingsCommand,
}

/// `findings` subcommands.
#[derive(Debug, Subcommand)]
pub enum FindingsCommand {
    /// Compile Macie findings (and overrides) into a protection policy.
    ///
    /// Each sensitive-data finding names an S3 object (mapped to
    /// schema.table by --layout) and the columns its detections occur in;
    /// columns are unioned over all findings. Masked action per type: card
    /// numbers partial (last 4), e-mail token, everything else redact; the
    /// encrypted view encrypts. The output is deterministic and records the
    /// finding ids per column.
    ///
    /// Sources are files, folders and s3://bucket/prefix (every object under
    /// it, in key order); gzip-compressed ones, as Firehose delivers them,
    /// are decompressed. Any malformed finding stops the run with its file
    /// or object, line and finding id, and nothing is written.
    Compile(CompileArgs),
}

/// Arguments of `findings compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// Overrides, in the policy format (a file or s3://bucket/key): the
    /// fields a column gives win over the findings (`"masked": "keep"`
    /// forces keep); columns Macie missed are added.
    #[arg(long, value_name = "FILE|S3_URL")]
    pub overrides: Option<String>,
    /// Where to write the policy: a file (written atomically), or
    /// s3://bucket/key (one PutObject, only when the bytes change); `-` or
    /// nothing: stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE|S3_URL")]
    pub output: Option<String>,
    /// Compile the readable findings when some are malformed (each one is
    /// reported). Without it, nothing is written and the exit code is 1.
    #[arg(long)]
    pub keep_going: bool,
    /// Map object keys to tables with a pattern over the whole key:
    /// `{schema}` and `{table}` once each, `*` any text within a segment,
    /// `**` any number of segments (e.g. `raw/{schema}/{table}/**`).
    /// Default: the DMS layout `…/<schema>/<table>/[<date partitions>/]<file>`.
    #[arg(long, value_name = "PATTERN", conflicts_with = "table")]
    pub layout: Option<Pattern>,
    /// Every object belongs to this table (one table per run).
    #[arg(long, value_name = "SCHEMA.TABLE")]
    pub table: Option<TableName>,
    /// Redact every type, exactly as the AWS sample's Glue job does, instead
    /// of the per-type defaults.
    #[arg(long)]
    pub redact_all: bool,
    /// Send every S3 call to this endpoint (path-style addressing), for
    /// S3-compatible local services. `AWS_ENDPOINT_URL` works too.
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Files or folders (read recursively), or s3://bucket/prefix (every
    /// object under it), of findings: EventBridge `Macie Finding` events
    /// (one per line or concatenated, as Firehose writes them), findings
    /// alone, or `aws macie2 get-findings` output; gzip-compressed or not;
    /// `-` reads stdin.
    #[arg(value_name = "SOURCE", required = true)]
    pub sources: Vec<String>,
}
