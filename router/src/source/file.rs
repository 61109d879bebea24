//! DMS JSON lines from a file or stdin, optionally following a growing file,
//! read on a thread of its own and handed over in [`Chunk`]s.

use std::io::{BufRead as _, BufReader, Read};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::mpsc::Sender;

use super::Chunk;
use crate::pipeline::SourceRecord;

/// Records per chunk at most.
const CHUNK_RECORDS: usize = 1024;
/// How often a followed file is polled for growth.
const FOLLOW_POLL: Duration = Duration::from_millis(50);

/// Reads lines from `input` and sends them as chunks; blank lines are
/// skipped. At the end of the input: stops, or with `follow` keeps polling
/// for more (a line is complete when its `\n` arrives). Record ids are
/// `<label>:<byte offset>`. Returns when the input ends (not following), the
/// receiver is gone, or with a read error once the complete lines read
/// before it are sent.
pub fn spawn(
    input: Box<dyn Read + Send>,
    label: String,
    follow: bool,
    tx: Sender<Chunk>,
) -> JoinHandle<std::io::Result<()>> {
    std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(1 << 20, input);
        let mut offset = 0u64;
        let mut line = Vec::new();
        let mut chunk = Chunk::default();
        loop {
            let n = match reader.read_until(b'\n', &mut line) {
                Ok(n) => n,
                Err(e) => {
                    if chunk.end > chunk.start {
                        let _ = tx.blocking_send(chunk);
                    }
                    return Err(e);
                }
            };
            let complete = line.last() == Some(&b'\n');
            let at_end = n == 0 || !complete;
            if complete || (at_end && !follow && !line.is_empty()) {
                let start = offset;
                offset += line.len() as u64;
                push(&mut chunk, &label, start, offset, &line);
                line.clear();
            }
            let full = chunk.records.len() >= CHUNK_RECORDS;
            if (full || at_end)
                && chunk.end > chunk.start
                && tx.blocking_send(std::mem::take(&mut chunk)).is_err()
            {
                return Ok(());
            }
            if at_end {
                if !follow {
                    return Ok(());
                }
                if tx.is_closed() {
                    return Ok(());
                }
                std::thread::sleep(FOLLOW_POLL);
            }
        }
    })
}

fn push(chunk: &mut Chunk, label: &str, start: u64, end: u64, line: &[u8]) {
    let mut bytes = line;
    while let [rest @ .., b'\n' | b'\r'] = bytes {
        bytes = rest;
    }
    if chunk.end == chunk.start {
        chunk.start = start;
    }
    chunk.end = end;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    chunk.records.push(SourceRecord {
        id: format!("{label}:{start}"),
        bytes: bytes.to_vec(),
    });
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::test_support::FailingInput;

    #[tokio::test]
    async fn reads_lines_with_offsets_and_a_last_line_without_newline() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let input = b"{\"a\":1}\r\n\n{\"b\":2}".to_vec();
        let handle = spawn(Box::new(Cursor::new(input)), "f".into(), false, tx);
        let chunk = rx.recv().await.unwrap();
        assert_eq!((chunk.start, chunk.end), (0, 17));
        let ids: Vec<_> = chunk.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["f:0", "f:10"]);
        assert_eq!(chunk.records[0].bytes, b"{\"a\":1}");
        assert_eq!(chunk.records[1].bytes, b"{\"b\":2}");
        assert!(rx.recv().await.is_none());
        handle.join().unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_read_error_comes_after_the_lines_read_before_it() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let input = FailingInput(Cursor::new(b"{\"a\":1}\n{\"b\":2}\n{\"c\"".to_vec()));
        let handle = spawn(Box::new(input), "f".into(), false, tx);
        let chunk = rx.recv().await.unwrap();
        let ids: Vec<_> = chunk.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["f:0", "f:8"], "the complete lines, not the torn one");
        assert!(rx.recv().await.is_none());
        let e = handle.join().unwrap().unwrap_err();
        assert_eq!(e.to_string(), "the disk went away");
    }
}
