//! The Firehose sink: masked rows to one Direct-PUT delivery stream,
//! encrypted rows to another, with `PutRecordBatch` calls of at most 500
//! records and 4 MiB, retrying only the entries Firehose reports failed
//! (exponential backoff, full jitter). Control and quarantine lines have no
//! place in either stream: they go to a lake (`--side-sink`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{anyhow, bail};
use aws_sdk_firehose::error::SdkError;
use aws_sdk_firehose::operation::put_record_batch::PutRecordBatchError;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use aws_sdk_firehose::Client;

use super::{Lake, OutputView, Part};
use cdc_mask_transformer::aws::{error_line, Aws, CountRetries};

use crate::backoff::jitter;

/// Records per `PutRecordBatch` call at most.
pub const MAX_BATCH_RECORDS: usize = 500;
/// Bytes per `PutRecordBatch` call at most.
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Bytes per record at most (before base64).
pub const MAX_RECORD_BYTES: usize = 1_000 * 1024;
/// Attempts per batch before the run stops.
const MAX_ATTEMPTS: u32 = 10;
/// First wait before a retry; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait before a retry.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Two delivery streams and a lake for the rest.
#[derive(Debug)]
pub struct Firehose {
    client: Client,
    masked: String,
    encrypted: String,
    side: Lake,
    retried: AtomicU64,
}

impl Firehose {
    /// Checks that both delivery streams exist (`ListDeliveryStreams`).
    ///
    /// # Errors
    /// One line: a stream does not exist, no access, no credentials.
    pub async fn open(
        masked: &str,
        encrypted: &str,
        side: Lake,
        aws: &Aws,
    ) -> anyhow::Result<Self> {
        let config = aws_sdk_firehose::config::Builder::from(aws.config())
            .interceptor(CountRetries)
            .build();
        let client = Client::from_conf(config);
        let existing = list_streams(&client).await?;
        for stream in [masked, encrypted] {
            if !existing.iter().any(|name| name == stream) {
                bail!("Firehose delivery stream {stream} does not exist");
            }
        }
        Ok(Firehose {
            client,
            masked: masked.to_owned(),
            encrypted: encrypted.to_owned(),
            side,
            retried: AtomicU64::new(0),
        })
    }

    /// Records sent again: Firehose reported them failed, or the whole call
    /// failed after the SDK's own retries.
    pub fn retried(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }

    /// Sends the masked and encrypted lines of a batch to their streams and
    /// the rest to the side lake as objects named `name`. Returns the number
    /// of calls and objects.
    ///
    /// # Errors
    /// A record over the size limit, a permanent failure, or entries still
    /// failing after [`MAX_ATTEMPTS`].
    pub async fn deliver(&self, parts: Vec<Part>, name: &str) -> anyhow::Result<usize> {
        let mut masked = Vec::new();
        let mut encrypted = Vec::new();
        let mut side = Vec::new();
        for part in parts {
            match part.view {
                OutputView::Masked => masked.push(part.lines),
                OutputView::Encrypted => encrypted.push(part.lines),
                OutputView::Control | OutputView::Quarantine => side.push(part),
            }
        }
        let mut count = self.side.deliver_parts(side, name).await?;
        for (stream, buffers) in [(&self.masked, &masked), (&self.encrypted, &encrypted)] {
            let records: Vec<&[u8]> = buffers.iter().flat_map(|b| split_lines(b)).collect();
            for batch in batches(&records)? {
                self.put_batch(stream, batch).await?;
                count += 1;
            }
        }
        Ok(count)
    }

    async fn put_batch(&self, stream: &str, mut pending: Vec<&[u8]>) -> anyhow::Result<()> {
        let mut backoff = FIRST_BACKOFF;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                self.retried
                    .fetch_add(pending.len() as u64, Ordering::Relaxed);
            }
            let records = pending
                .iter()
                .map(|data| Record::builder().data(Blob::new(*data)).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow!("building a Firehose record: {e}"))?;
            let result = self
                .client
                .put_record_batch()
                .delivery_stream_name(stream)
                .set_records(Some(records))
                .send()
                .await;
            match result {
                Ok(out) if out.failed_put_count() == 0 => return Ok(()),
                Ok(out) => {
                    let responses = out.request_responses();
                    if responses.len() != pending.len() {
                        bail!(
                            "Firehose stream {stream} answered {} entries for {} records",
                            responses.len(),
                            pending.len()
                        );
                    }
                    pending = responses
                        .iter()
                        .zip(pending)
                        .filter(|(response, _)| response.error_code().is_some())
                        .map(|(_, data)| data)
                        .collect();
                }
                Err(e) if transient(&e) => {}
                Err(e) => bail!("PutRecordBatch to {stream}: {}", error_line(&e)),
            }
            tokio::time::sleep(jitter(backoff)).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        bail!(
            "{} records still refused by Firehose stream {stream} after {MAX_ATTEMPTS} attempts",
            pending.len()
        )
    }
}

/// Every delivery stream name of the account and region.
async fn list_streams(client: &Client) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    loop {
        let out = client
            .list_delivery_streams()
            .set_exclusive_start_delivery_stream_name(names.last().cloned())
            .send()
            .await
            .map_err(|e| anyhow!("cannot list Firehose delivery streams: {}", error_line(&e)))?;
        names.extend(out.delivery_stream_names().iter().cloned());
        if !out.has_more_delivery_streams() || out.delivery_stream_names().is_empty() {
            return Ok(names);
        }
    }
}

/// Throttling, service unavailable, timeouts, lost connections: worth
/// another attempt after the SDK's own.
fn transient(e: &SdkError<PutRecordBatchError>) -> bool {
    match e {
        SdkError::ServiceError(s) => s.err().is_service_unavailable_exception(),
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    }
}

/// The lines of a buffer, each with its `\n`.
fn split_lines(buffer: &[u8]) -> impl Iterator<Item = &[u8]> {
    buffer.split_inclusive(|b| *b == b'\n')
}

/// Records grouped into calls of at most [`MAX_BATCH_RECORDS`] and
/// [`MAX_BATCH_BYTES`], in order.
///
/// # Errors
/// A record over [`MAX_RECORD_BYTES`] (it can never be delivered).
fn batches<'a>(records: &[&'a [u8]]) -> anyhow::Result<Vec<Vec<&'a [u8]>>> {
    let mut out: Vec<Vec<&[u8]>> = Vec::new();
    let mut bytes = 0;
    for record in records {
        if record.len() > MAX_RECORD_BYTES {
            bail!(
                "an output row of {} bytes is over Firehose's record limit of {MAX_RECORD_BYTES} bytes",
                record.len()
            );
        }
        let fits = out.last().is_some_and(|b| {
            b.len() < MAX_BATCH_RECORDS && bytes + record.len() <= MAX_BATCH_BYTES
        });
        if !fits {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += record.len();
        if let Some(batch) = out.last_mut() {
            batch.push(record);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_keep_within_records_and_bytes() {
        let small = [b'x'; 10];
        let records: Vec<&[u8]> = vec![&small[..]; 1201];
        let sizes: Vec<usize> = batches(&records).unwrap().iter().map(Vec::len).collect();
        assert_eq!(sizes, [500, 500, 201]);
        let big = vec![b'x'; 900 * 1024];
        let records: Vec<&[u8]> = vec![&big[..]; 10];
        let sizes: Vec<usize> = batches(&records).unwrap().iter().map(Vec::len).collect();
        assert_eq!(sizes, [4, 4, 2]);
        let huge = vec![b'x'; MAX_RECORD_BYTES + 1];
        assert!(batches(&[&huge[..]]).is_err());
    }

    #[test]
    fn lines_keep_their_newline() {
        let lines: Vec<&[u8]> = split_lines(b"a\nbc\n").collect();
        assert_eq!(lines, [&b"a\n"[..], b"bc\n"]);
    }
}
