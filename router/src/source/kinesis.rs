//! Reading Kinesis shards: the shard list (with parents, for resharding) and
//! a reader per shard that keeps within the shard's limits, backs off on
//! throttling and takes a fresh iterator when one expires.

use std::time::Duration;

use anyhow::{anyhow, bail};
use aws_sdk_kinesis::operation::get_records::GetRecordsError;
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::ShardIteratorType;
use aws_sdk_kinesis::Client;

use cdc_mask_transformer::aws::{Aws, CountRetries};

use crate::backoff::jitter;

/// Records asked for per `GetRecords` call (the service maximum).
pub const MAX_RECORDS_PER_CALL: i32 = 10_000;
/// First wait after a throttled call; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Longest wait between throttled calls.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A stream named by name or ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream(pub String);

impl Stream {
    fn arn(&self) -> Option<&str> {
        self.0.starts_with("arn:").then_some(self.0.as_str())
    }
    fn name(&self) -> Option<&str> {
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
            cdc_mask_transformer::aws::error_line(&e)
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
        let out = request.send().await.map_err(|e| {
            anyhow!(
                "ListShards on {}: {}",
                stream.0,
                cdc_mask_transformer::aws::error_line(&e)
            )
        })?;
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

/// One record read from a shard.
#[derive(Debug, Clone)]
pub struct KinesisRecord {
    /// Its sequence number.
    pub sequence: String,
    /// The DMS record.
    pub data: Vec<u8>,
    /// `ApproximateArrivalTimestamp`, in Unix milliseconds.
    pub arrival_ms: i64,
}

/// What one `GetRecords` call gave.
#[derive(Debug, Default)]
pub struct Fetched {
    /// The records, in order.
    pub records: Vec<KinesisRecord>,
    /// How far behind the tip of the shard the reader is.
    pub millis_behind: i64,
    /// The shard is closed and read to its end.
    pub finished: bool,
}

/// Reads one shard from a start position, remembering the last sequence
/// number handed out so that an expired iterator is replaced without loss.
pub struct ShardReader {
    client: Client,
    stream: Stream,
    shard: Shard,
    start: ShardStart,
    limit: i32,
    iterator: Option<String>,
    last_sequence: Option<String>,
    throttled: u64,
    expired: u64,
}

impl ShardReader {
    /// A reader of `shard`, `limit` records per call at most.
    pub fn new(
        client: Client,
        stream: Stream,
        shard: Shard,
        start: ShardStart,
        limit: i32,
    ) -> Self {
        ShardReader {
            client,
            stream,
            shard,
            start,
            limit: limit.clamp(1, MAX_RECORDS_PER_CALL),
            iterator: None,
            last_sequence: None,
            throttled: 0,
            expired: 0,
        }
    }

    /// Calls refused with `ProvisionedThroughputExceededException` so far
    /// (each retried after a backoff).
    pub fn throttled(&self) -> u64 {
        self.throttled
    }

    /// Iterators that expired and were replaced so far.
    pub fn expired(&self) -> u64 {
        self.expired
    }

    /// The next records. Throttling is waited out (exponential backoff with
    /// full jitter); an expired iterator is replaced after the last record
    /// handed out.
    ///
    /// # Errors
    /// Any other failure, once the SDK's own retries (throttling, 5xx,
    /// timeouts) are spent.
    pub async fn next(&mut self) -> anyhow::Result<Fetched> {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let iterator = match self.iterator.take() {
                Some(iterator) => iterator,
                None => self.fresh_iterator().await?,
            };
            let result = self
                .client
                .get_records()
                .shard_iterator(&iterator)
                .limit(self.limit)
                .send()
                .await;
            let out = match result {
                Ok(out) => out,
                Err(e) => match e.as_service_error() {
                    Some(GetRecordsError::ProvisionedThroughputExceededException(_)) => {
                        self.throttled += 1;
                        self.iterator = Some(iterator);
                        tokio::time::sleep(jitter(backoff)).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                    Some(GetRecordsError::ExpiredIteratorException(_)) => {
                        self.expired += 1;
                        continue;
                    }
                    _ => bail!(
                        "GetRecords on {}: {}",
                        self.shard.id,
                        cdc_mask_transformer::aws::error_line(&e)
                    ),
                },
            };
            let millis_behind = out.millis_behind_latest().unwrap_or(0);
            let records: Vec<KinesisRecord> = out
                .records()
                .iter()
                .map(|r| KinesisRecord {
                    sequence: r.sequence_number().to_owned(),
                    data: r.data().as_ref().to_vec(),
                    arrival_ms: r
                        .approximate_arrival_timestamp()
                        .and_then(|t| t.to_millis().ok())
                        .unwrap_or(0),
                })
                .collect();
            if let Some(last) = records.last() {
                self.last_sequence = Some(last.sequence.clone());
            }
            self.iterator = out.next_shard_iterator().map(str::to_owned);
            // A closed shard ends with no next iterator; a closed shard that
            // gives nothing more and is not behind is at its end as well.
            let finished = self.iterator.is_none()
                || (self.shard.closed && records.is_empty() && millis_behind == 0);
            return Ok(Fetched {
                records,
                millis_behind,
                finished,
            });
        }
    }

    async fn fresh_iterator(&self) -> anyhow::Result<String> {
        let request = self
            .client
            .get_shard_iterator()
            .set_stream_name(self.stream.name().map(str::to_owned))
            .set_stream_arn(self.stream.arn().map(str::to_owned))
            .shard_id(&self.shard.id);
        let request = match (&self.last_sequence, &self.start) {
            (Some(seq), _) | (None, ShardStart::AfterSequence(seq)) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(seq),
            (None, ShardStart::AtSequence(seq)) => request
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .starting_sequence_number(seq),
            (None, ShardStart::AtTimestamp(at)) => request
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(*at),
            (None, ShardStart::TrimHorizon) => {
                request.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            (None, ShardStart::Latest) => request.shard_iterator_type(ShardIteratorType::Latest),
        };
        let out = request.send().await.map_err(|e| {
            anyhow!(
                "GetShardIterator on {}: {}",
                self.shard.id,
                cdc_mask_transformer::aws::error_line(&e)
            )
        })?;
        out.shard_iterator().map(str::to_owned).ok_or_else(|| {
            anyhow!(
                "GetShardIterator on {}: no iterator returned",
                self.shard.id
            )
        })
    }
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
