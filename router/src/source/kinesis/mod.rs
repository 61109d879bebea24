//! Kinesis as a source (`replay`, `run --source kinesis:…`): every shard of
//! a stream read concurrently, parents to their end before their children
//! after a reshard, each shard through a batcher checkpointed after each
//! batch.
//!
//! - `shards`: the stream and its shards (`ListShards`, with parents), and
//!   where a shard reader starts.
//! - `reader`: `GetRecords` on one shard, within the shard's limits.
//! - `consumer`: one shard read to its end through a batcher.
//! - `coordinator`: which shards are read when, and what the replay did.
//! - `checkpoint`: the checkpoint file, and each shard's part of it.

mod checkpoint;
mod consumer;
mod coordinator;
mod reader;
mod shards;

pub use coordinator::{Coordinator, End, From, Replay};
pub use shards::{ShardStart, Stream};
