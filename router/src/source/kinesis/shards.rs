//! A stream and its shards: whether the stream is there (`DescribeStreamSummary`),
//! every shard with its parents (`ListShards`, for resharding), and where a
//! shard reader starts.

use anyhow::{anyhow, bail};
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::Client;
use cdc_mask_transformer::aws::{error_line, Aws, CountRetries};

/// A stream named by name or ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream(pub String);

impl Stream {
    pub(super) fn arn(&self) -> Option<&str> {
        self.0.starts_with("arn:").then_some(self.0.as_str())
    }
    pub(super) fn name(&self) -> Option<&str> {
        (!self.0.starts_with("arn:")).then_some(self.0.as_str())
    }
}

/// A Kinesis client from the command's AWS configuration, its retries
/// counted.
pub fn client(aws: &Aws) -> Client {
    let config = aws_sdk_kinesis::config::Builder::from(aws.config())
        .interceptor(CountRetries)
        .build();
    Client::from_conf(config)
}

/// Checks that the stream exists and is readable with the credentials at
/// hand.
///
/// # Errors
/// One line: no such stream, access denied, no credentials.
pub async fn check_stream(client: &Client, stream: &Stream) -> anyhow::Result<()> {
    let result = client
        .describe_stream_summary()
        .set_stream_name(stream.name().map(str::to_owned))
        .set_stream_arn(stream.arn().map(str::to_owned))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            bail!("Kinesis stream {} does not exist", stream.0)
        }
        Err(e) => bail!(
            "cannot reach Kinesis stream {}: {}",
            stream.0,
            error_line(&e)
        ),
    }
}

/// One shard of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// `shardId-…`
    pub id: String,
    /// The shard it was split from or merged from.
    pub parent: Option<String>,
    /// The other shard of a merge.
    pub adjacent_parent: Option<String>,
    /// Closed by a reshard: it ends, and its children carry on.
    pub closed: bool,
    /// Its first sequence number.
    pub starting_sequence: String,
    /// Its last sequence number, once closed.
    pub ending_sequence: Option<String>,
}

impl Shard {
    /// Its parents (one after a split, two after a merge).
    pub fn parents(&self) -> impl Iterator<Item = &str> {
        self.parent
            .iter()
            .chain(&self.adjacent_parent)
            .map(String::as_str)
    }
}

/// Every shard of the stream, open and closed, in shard-id order.
///
/// # Errors
/// The `ListShards` failure, in one line.
pub async fn list_shards(client: &Client, stream: &Stream) -> anyhow::Result<Vec<Shard>> {
    let mut shards = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let request = match &token {
            // With a token, the stream must not be named again.
            Some(t) => client.list_shards().next_token(t),
            None => client
                .list_shards()
                .set_stream_name(stream.name().map(str::to_owned))
                .set_stream_arn(stream.arn().map(str::to_owned)),
        };
        let out = request
            .send()
            .await
            .map_err(|e| anyhow!("ListShards on {}: {}", stream.0, error_line(&e)))?;
        for s in out.shards() {
            let range = s.sequence_number_range();
            shards.push(Shard {
                id: s.shard_id().to_owned(),
                parent: s.parent_shard_id().map(str::to_owned),
                adjacent_parent: s.adjacent_parent_shard_id().map(str::to_owned),
                closed: range.and_then(|r| r.ending_sequence_number()).is_some(),
                starting_sequence: range
                    .map(|r| r.starting_sequence_number().to_owned())
                    .unwrap_or_default(),
                ending_sequence: range
                    .and_then(|r| r.ending_sequence_number())
                    .map(str::to_owned),
            });
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    shards.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(shards)
}

/// Where a shard reader starts.
#[derive(Debug, Clone, PartialEq)]
pub enum ShardStart {
    /// The oldest record kept.
    TrimHorizon,
    /// Only records written from now on.
    Latest,
    /// The first record at or after this time.
    AtTimestamp(DateTime),
    /// This record.
    AtSequence(String),
    /// The record after this one (resuming from a checkpoint).
    AfterSequence(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_by_name_or_arn() {
        let arn = Stream("arn:aws:kinesis:us-east-1:123456789012:stream/cdc".into());
        assert_eq!((arn.name(), arn.arn().is_some()), (None, true));
        let name = Stream("cdc".into());
        assert_eq!((name.name(), name.arn()), (Some("cdc"), None));
    }
}
