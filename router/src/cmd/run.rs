//! `cdc-mask run`: a source through both views into a sink, continuously,
//! with batches delivered by size and time, and an accounting summary.

use anyhow::bail;

use super::shared;
use crate::cli::RunArgs;
use crate::plan::{Plan, Source};
use crate::source::feed::FeedSpec;
use crate::source::kinesis::{End, From, Replay, ShardStart, Stream};
use crate::source::SourceSpec;

pub(super) async fn run(args: RunArgs) -> anyhow::Result<()> {
    let source = SourceSpec::parse(&args.source)?;
    if args.follow && !matches!(source, SourceSpec::File(_)) {
        bail!("--follow applies to a file:PATH source only");
    }
    let output = shared::output_plan(&args.output)?;
    let source = match source {
        SourceSpec::Kinesis(stream) => Source::Kinesis(Replay {
            stream: Stream(stream),
            from: From::Start(ShardStart::Latest),
            end: End::Never,
            records_per_call: args.kinesis.records_per_call,
            checkpoint: args.kinesis.checkpoint,
        }),
        _ if args.kinesis.checkpoint.is_some() => {
            bail!("--checkpoint applies to a kinesis: source only")
        }
        SourceSpec::File(path) => Source::Feed(FeedSpec::File {
            path,
            follow: args.follow,
        }),
        SourceSpec::Stdin => Source::Feed(FeedSpec::Stdin),
        SourceSpec::Generate(rate) => Source::Feed(FeedSpec::Generate {
            seed: args.seed,
            rate,
        }),
    };
    Plan {
        command: "run",
        source,
        output,
    }
    .execute()
    .await
}
