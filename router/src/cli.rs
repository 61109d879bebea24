//! Command-line arguments of `cdc-mask`.

use std::path::PathBuf;

use cdc_mask_core::findings::{Pattern, TableName};
use clap::{Args, Parser, Subcommand};

mod values;

use values::{parse_duration, parse_size};

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
    /// Run continuously: a source through both views into a sink.
    ///
    /// Every record ends in exactly one place: a row in both views, the
    /// control log, or the quarantine (sealed; its reason, not its content,
    /// in quarantine/reasons/). Output is delivered in batches, one object
    /// per partition named after the source range it holds. SIGINT/SIGTERM
    /// deliver what was read (and checkpoint) before the summary.
    Run(RunArgs),
    /// Re-process a Kinesis stream's history into a sink.
    ///
    /// Reads every shard concurrently (parents to their end before their
    /// children after a reshard) and delivers batches named
    /// `<shard>-<first sequence>-<last sequence>`, cut at --flush-bytes of
    /// input, so replaying the same range again overwrites the same objects.
    /// With --checkpoint, a killed replay resumes after the last delivered
    /// batch, each record delivered exactly once. Throttling, 5xx answers
    /// and timeouts are retried with backoff and jitter and counted in the
    /// summary; SIGINT/SIGTERM deliver and checkpoint before it.
    Replay(ReplayArgs),
    /// Count the quarantine, or bring back what a transient cause sealed.
    ///
    /// `list` counts sealed records by reason and by object from the fields
    /// kept in clear (no key needed). `reprocess` unseals the records sealed
    /// because the policy, a key or the view was missing, or a response was
    /// full, and runs them through both views into the normal prefixes;
    /// a second pass overwrites the same objects. Records sealed for their
    /// own bytes (invalid JSON and the like) stay sealed, and leave in clear
    /// only with --export-unsealed FILE, a local file.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
}

/// Where output goes and how it is made: shared by `run` and `replay`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Where output goes: `dir:PATH` (local lake), `s3://bucket/prefix`
    /// (gzip JSON lines under masked/, encrypted/, control/, quarantine/).
    /// Or `firehose:MASKED_STREAM,ENCRYPTED_STREAM` (Direct-PUT delivery
    /// streams; control and quarantine lines go to --side-sink).
    #[arg(long, value_name = "SINK")]
    pub sink: String,
    /// With a firehose: sink, where control and quarantine lines go
    /// (`dir:PATH` or `s3://bucket/prefix`).
    #[arg(long, value_name = "SINK")]
    pub side_sink: Option<String>,
    #[command(flatten)]
    pub transform: TransformArgs,
    /// Deliver a batch once this much input is in it (`8MiB`, `512KiB`,
    /// bytes).
    #[arg(long, default_value = "8MiB", value_name = "SIZE", value_parser = parse_size)]
    pub flush_bytes: u64,
    /// Deliver a batch at the latest this long after its first record
    /// (`5s`, `500ms`, `2m`).
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = parse_duration)]
    pub flush_interval: std::time::Duration,
}

/// What the transformer runs with (the policy, the row shape, the keys):
/// shared by `run`, `replay` and `transform-event`.
#[derive(Debug, Args)]
pub struct TransformArgs {
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
}

/// Kinesis reading options: shared by `run --source kinesis:…` and `replay`.
#[derive(Debug, Args)]
pub struct KinesisArgs {
    /// Checkpoint file: read at start (resume), rewritten after each
    /// delivered batch.
    #[arg(long, value_name = "PATH")]
    pub checkpoint: Option<PathBuf>,
    /// Records per GetRecords call (at most 10000).
    #[arg(long, default_value_t = 10_000, value_name = "N",
          value_parser = clap::value_parser!(i32).range(1..=10_000))]
    pub records_per_call: i32,
}

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Where records come from: `file:PATH` or `-` (DMS JSON lines),
    /// `generate[:RATE]` (sample data, RATE records/s), `kinesis:STREAM`
    /// (from LATEST, or from --checkpoint).
    #[arg(long, value_name = "SRC")]
    pub source: String,
    /// Keep reading a file as it grows (until SIGINT/SIGTERM).
    #[arg(long)]
    pub follow: bool,
    /// Seed of `generate` (same seed, same data).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[command(flatten)]
    pub kinesis: KinesisArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Arguments of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The Kinesis stream: a name or an ARN.
    #[arg(long, value_name = "NAME|ARN")]
    pub stream: String,
    /// Where to start: a time (`2026-11-28T10:00:00Z`), `trim-horizon`, or
    /// a sequence number (shards from their first record at or after it).
    #[arg(long, value_name = "TIME|trim-horizon|SEQ")]
    pub from: String,
    /// Stop each shard at the first record that arrived at or after this time.
    #[arg(long, value_name = "TIME", conflicts_with = "until_caught_up")]
    pub to: Option<String>,
    /// Stop each shard once it is read to its tip.
    #[arg(long)]
    pub until_caught_up: bool,
    #[command(flatten)]
    pub kinesis: KinesisArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where keys come from. The same environment variables as the Lambda's
/// work as defaults.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// Local keyring directory (stands in for KMS; created on first use).
    #[arg(long, env = "CDCMASK_KEYRING", value_name = "DIR")]
    pub keyring: Option<PathBuf>,
    /// KMS key (id, ARN or alias; key spec ECC_NIST_P256, usage
    /// KEY_AGREEMENT) data keys are wrapped to: its public key is read once
    /// (GetPublicKey); nothing else is asked of KMS.
    #[arg(long, env = "CDCMASK_KMS_KEY_ID", value_name = "ID")]
    pub kms_key_id: Option<String>,
    /// Or the public key itself: a PEM `PUBLIC KEY` block (no KMS call).
    #[arg(long, env = "CDCMASK_DATA_PUBLIC_KEY", value_name = "PEM")]
    pub data_public_key: Option<String>,
    /// KMS key (ECC_NIST_P256, KEY_AGREEMENT) quarantined records are
    /// sealed to: use one only admins may derive with.
    #[arg(long, env = "CDCMASK_QUARANTINE_KMS_KEY_ID", value_name = "ID")]
    pub quarantine_kms_key_id: Option<String>,
    /// Or its public key, PEM.
    #[arg(long, env = "CDCMASK_QUARANTINE_PUBLIC_KEY", value_name = "PEM")]
    pub quarantine_public_key: Option<String>,
    /// Base64 KMS ciphertext of the token (HMAC) key, needed when the
    /// policy tokenises (`aws kms encrypt --plaintext fileb://token.key`).
    #[arg(long, env = "CDCMASK_TOKEN_KEY_CIPHERTEXT", value_name = "BASE64")]
    pub token_key_ciphertext: Option<String>,
    /// Secrets Manager secret (name or ARN) holding the token key, as the
    /// deployed Lambda reads it (`infra/template.yaml`), so replays give the
    /// same tokens.
    #[arg(long, env = "CDCMASK_TOKEN_KEY_SECRET", value_name = "ID")]
    pub token_key_secret: Option<String>,
    /// Version written into tokens (`tok<N>_…`).
    #[arg(long, env = "CDCMASK_TOKEN_KEY_VERSION", value_name = "N")]
    pub token_key_version: Option<String>,
    /// The detection guard over columns the policy does not list: off,
    /// report (count only) or protect. Overrides the policy's `guard.mode`
    /// (a policy without a guard section protects).
    #[arg(long, env = "CDCMASK_GUARD", value_name = "MODE")]
    pub guard: Option<String>,
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
    /// Which view to write: masked, encrypted, auto (from the event's
    /// deliveryStreamArn, as the Lambda does), or quarantine (the third
    /// stream of an iceberg deployment).
    #[arg(long, value_name = "VIEW")]
    pub view: String,
    #[command(flatten)]
    pub transform: TransformArgs,
    /// Where the answers go: s3 (partitionKeys) or iceberg (each row with
    /// otfMetadata naming its table; sealed and control records Dropped).
    #[arg(long, env = "CDCMASK_DESTINATION", value_name = "s3|iceberg")]
    pub destination: Option<String>,
    /// Iceberg database of the masked view (default `<schema>_masked`).
    #[arg(long, env = "CDCMASK_ICEBERG_DATABASE_MASKED", value_name = "NAME")]
    pub iceberg_database_masked: Option<String>,
    /// Iceberg database of the encrypted view (default `<schema>_encrypted`).
    #[arg(long, env = "CDCMASK_ICEBERG_DATABASE_ENCRYPTED", value_name = "NAME")]
    pub iceberg_database_encrypted: Option<String>,
    /// Print `records=N seconds=S records_per_s=R kms_calls=K` on stderr.
    #[arg(long)]
    pub stats: bool,
    /// Write what the guard found in unlisted columns to FILE: suggested
    /// findings, one `{schema, table, column, detector, count}` JSON line
    /// each (schemas/suggested-findings.md), never values. `findings
    /// compile` takes the file as a source.
    #[arg(long, value_name = "FILE")]
    pub guard_report: Option<PathBuf>,
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
        conflicts_with_all = ["kms_key_id", "quarantine_kms_key_id"]
    )]
    pub keyring: Option<PathBuf>,
    /// The KMS key the rows' data keys were wrapped to (KEY_AGREEMENT, read
    /// with DeriveSharedSecret; version 1 rows: the symmetric key, read
    /// with Decrypt). Always named here: a row never chooses the key.
    #[arg(long, value_name = "ID")]
    pub kms_key_id: Option<String>,
    /// The KMS key quarantined records were sealed to (with --quarantine).
    #[arg(long, value_name = "ID")]
    pub quarantine_kms_key_id: Option<String>,
    /// Send every AWS call to this endpoint. `AWS_ENDPOINT_URL` works too.
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Input is quarantine records: print each original record's exact bytes
    /// followed by a newline (an overflow bundle gives all of its records;
    /// needs the quarantine key: admins only).
    #[arg(long)]
    pub quarantine: bool,
    /// The 64-byte AES-SIV key of `det<N>_` values (encrypt-deterministic):
    /// a file of the 64 bytes or 128 hex digits, as the deployed secret
    /// holds it. Default: `deterministic.key` of --keyring, if it has one.
    #[arg(long, value_name = "FILE")]
    pub deterministic_key: Option<PathBuf>,
    /// Version of that key, as in `det<N>_`.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub deterministic_key_version: u32,
    /// Join domain of a deterministic column: COLUMN, TABLE.COLUMN or
    /// SCHEMA.TABLE.COLUMN (original names), `=` and the policy's `domain`.
    /// Columns not named use the default domain (empty). Repeatable.
    #[arg(long = "domain", value_name = "COLUMN=DOMAIN")]
    pub domains: Vec<String>,
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
    /// alone, or `aws macie2 get-findings` output; or the guard's suggested
    /// findings (`findings/suggested/` of the lake, `transform-event
    /// --guard-report`; schemas/suggested-findings.md); or DMS control
    /// records (`control/` of the lake that `run` and `replay` write): a
    /// table's primary key becomes its policy `key` where the overrides give
    /// none; gzip-compressed or not; `-` reads stdin.
    #[arg(value_name = "SOURCE", required = true)]
    pub sources: Vec<String>,
}

/// `cdc-mask quarantine` subcommands.
#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// Count sealed records by reason and by object (no key needed).
    List(QuarantineListArgs),
    /// Unseal what a transient cause sealed and run it through both views.
    Reprocess(Box<QuarantineReprocessArgs>),
}

/// Arguments of `cdc-mask quarantine list`.
#[derive(Debug, Args)]
pub struct QuarantineListArgs {
    /// The lake whose quarantine/ prefix is read: `dir:PATH` or
    /// `s3://bucket/prefix` (the prefix that holds quarantine/).
    #[arg(value_name = "LAKE")]
    pub lake: String,
    /// Also print one line per object: its name, counts and the record ids
    /// (source positions) of its first and last sealed record.
    #[arg(long)]
    pub objects: bool,
    /// AWS endpoint (moto, LocalStack) for an s3:// lake.
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// Arguments of `cdc-mask quarantine reprocess`.
#[derive(Debug, Args)]
pub struct QuarantineReprocessArgs {
    /// The lake whose quarantine/ prefix is read: `dir:PATH` or
    /// `s3://bucket/prefix`.
    #[arg(value_name = "LAKE")]
    pub lake: String,
    /// Where both views go (default: the same lake).
    #[arg(long, value_name = "SINK")]
    pub sink: Option<String>,
    /// The policy the records go through now.
    #[arg(long, env = "CDCMASK_POLICY", value_name = "FILE|S3_URL")]
    pub policy: String,
    /// Row shape of the views: `flat` or `envelope`.
    #[arg(
        long,
        env = "CDCMASK_SHAPE",
        default_value = "flat",
        value_name = "SHAPE"
    )]
    pub shape: String,
    /// Write the records sealed for their own bytes, unsealed, one per line,
    /// to this local file (created; never overwritten; mode 0600).
    #[arg(long, value_name = "FILE")]
    pub export_unsealed: Option<PathBuf>,
    /// The keys: --keyring DIR, or --kms-key-id / --data-public-key to write
    /// and --quarantine-kms-key-id to unseal.
    #[command(flatten)]
    pub keys: KeyArgs,
}
