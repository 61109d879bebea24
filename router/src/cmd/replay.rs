//! `cdc-mask replay`: every shard of a Kinesis stream, from a time, the trim
//! horizon or a sequence number, through both views into a sink.

use anyhow::Context as _;
use aws_sdk_kinesis::primitives::{DateTime, DateTimeFormat};

use super::shared;
use crate::cli::ReplayArgs;
use crate::plan::{Plan, Source};
use crate::source::kinesis::{End, From, Replay, ShardStart, Stream};

pub(super) async fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let from = parse_from(&args.from)?;
    let end = match (&args.to, args.until_caught_up) {
        (Some(to), _) => End::At(parse_time(to, "--to")?.to_millis()?),
        (None, true) => End::CaughtUp,
        (None, false) => End::Never,
    };
    let output = shared::output_plan(&args.output)?;
    Plan {
        command: "replay",
        source: Source::Kinesis(Replay {
            stream: Stream(args.stream),
            from,
            end,
            records_per_call: args.kinesis.records_per_call,
            checkpoint: args.kinesis.checkpoint,
        }),
        output,
    }
    .execute()
    .await
}

/// `--from`: `trim-horizon`, `latest`, a time, or a sequence number.
fn parse_from(text: &str) -> anyhow::Result<From> {
    match text {
        "trim-horizon" => Ok(From::Start(ShardStart::TrimHorizon)),
        "latest" => Ok(From::Start(ShardStart::Latest)),
        t if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
            let n = t.parse().context("--from: sequence number too long")?;
            Ok(From::Sequence(n, t.to_owned()))
        }
        t => Ok(From::Start(ShardStart::AtTimestamp(parse_time(
            t, "--from",
        )?))),
    }
}

fn parse_time(text: &str, option: &str) -> anyhow::Result<DateTime> {
    DateTime::from_str(text, DateTimeFormat::DateTime).map_err(|_| {
        anyhow::anyhow!(
            "{option} {text}: not a time (2026-11-28T10:00:00Z), trim-horizon or a sequence number"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_from() {
        assert_eq!(
            parse_from("trim-horizon").unwrap(),
            From::Start(ShardStart::TrimHorizon)
        );
        assert_eq!(
            parse_from("123").unwrap(),
            From::Sequence(123, "123".into())
        );
        assert!(matches!(
            parse_from("2026-11-28T10:00:00Z").unwrap(),
            From::Start(ShardStart::AtTimestamp(_))
        ));
        let e = parse_from("yesterday").unwrap_err().to_string();
        assert!(e.starts_with("--from yesterday: not a time"), "{e}");
    }
}
