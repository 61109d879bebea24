//! `GetRecords` on one shard: within the shard's limits, throttling waited
//! out with backoff and jitter, an expired iterator replaced after the last
//! record handed out.

use std::time::Duration;

use anyhow::{anyhow, bail};
use aws_sdk_kinesis::operation::get_records::GetRecordsError;
use aws_sdk_kinesis::types::ShardIteratorType;
use aws_sdk_kinesis::Client;
use cdc_mask_transformer::aws::error_line;

use super::shards::{Shard, ShardStart, Stream};
use crate::backoff::jitter;

/// Records asked for per `GetRecords` call (the service maximum).
const MAX_RECORDS_PER_CALL: i32 = 10_000;
/// First wait after a throttled call; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Longest wait between throttled calls.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

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
                    _ => bail!("GetRecords on {}: {}", self.shard.id, error_line(&e)),
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
        let out = request
            .send()
            .await
            .map_err(|e| anyhow!("GetShardIterator on {}: {}", self.shard.id, error_line(&e)))?;
        out.shard_iterator().map(str::to_owned).ok_or_else(|| {
            anyhow!(
                "GetShardIterator on {}: no iterator returned",
                self.shard.id
            )
        })
    }
}
