//! The sample generator as a live source: records at a fixed rate (or as
//! fast as they are taken), on a thread of its own, until the receiver goes.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::Sender;

use super::generate::{Generator, GeneratorConfig};
use super::Chunk;
use crate::pipeline::SourceRecord;

/// Records per chunk when unpaced.
const UNPACED_CHUNK: u64 = 1024;
/// Chunks per second when paced.
const TICKS_PER_SECOND: u64 = 10;

/// Sends generated records, `rate` per second (or unbounded), as chunks.
/// Positions are record ordinals from 0; ids are `generate:<ordinal>`.
/// Returns (never with an error: the generator cannot fail) once the
/// receiver is gone.
pub fn spawn(
    config: GeneratorConfig,
    rate: Option<u64>,
    tx: Sender<Chunk>,
) -> JoinHandle<std::io::Result<()>> {
    std::thread::spawn(move || {
        let mut generator = Generator::new(config);
        let started = Instant::now();
        let mut produced = 0u64;
        loop {
            let size = match rate {
                None => UNPACED_CHUNK,
                Some(rate) => {
                    // Records due by now, at most one tick's worth ahead.
                    let elapsed = started.elapsed().as_millis();
                    let due = u64::try_from(elapsed * u128::from(rate) / 1000).unwrap_or(u64::MAX);
                    if due <= produced {
                        std::thread::sleep(Duration::from_millis(1000 / TICKS_PER_SECOND));
                        continue;
                    }
                    (due - produced).min(rate.div_ceil(TICKS_PER_SECOND).max(1))
                }
            };
            let mut chunk = Chunk {
                records: Vec::with_capacity(usize::try_from(size).unwrap_or(0)),
                start: produced,
                end: produced + size,
            };
            for ordinal in produced..produced + size {
                chunk.records.push(SourceRecord {
                    id: format!("generate:{ordinal}"),
                    // The generator never ends.
                    bytes: generator.next().unwrap_or_default(),
                });
            }
            produced += size;
            if tx.blocking_send(chunk).is_err() {
                return Ok(());
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn paced_chunks_are_contiguous_and_rate_bounded() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let started = Instant::now();
        let _handle = spawn(GeneratorConfig::default(), Some(100), tx);
        let mut next = 0;
        while next < 30 {
            let chunk = rx.recv().await.unwrap();
            assert_eq!(chunk.start, next);
            assert_eq!(chunk.records.len() as u64, chunk.end - chunk.start);
            next = chunk.end;
        }
        // 30 records at 100/s take at least ~0.2 s after the first tick.
        assert!(started.elapsed() >= Duration::from_millis(150));
    }
}
