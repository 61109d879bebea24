//! Caches of data keys: one for encrypting (rotated by age and use count, so
//! KMS is called once per many records, not per record) and one for
//! decrypting (one unwrap per distinct wrapped key).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cdc_mask_core::decrypt::{DecryptError, EncryptedRow, QuarantineRecord, Unsealed};
use cdc_mask_core::keys::{DataKey, Purpose};

use super::{KeyError, KeyProvider};

/// When a cached data key must be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Oldest a data key may be (default 5 minutes).
    pub max_age: Duration,
    /// Most records one data key may encrypt (default 1,000,000; with a few
    /// protected values per record this stays far below the 2^32 AES-GCM
    /// invocations NIST allows per key).
    pub max_records: u64,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            max_age: Duration::from_secs(300),
            max_records: 1_000_000,
        }
    }
}

struct Cached {
    key: Arc<DataKey>,
    born: Instant,
    records: u64,
}

/// The current data key of one purpose, replaced when a limit is reached.
pub struct DataKeyCache {
    provider: Arc<dyn KeyProvider>,
    purpose: Purpose,
    limits: CacheLimits,
    current: Mutex<Option<Cached>>,
}

impl DataKeyCache {
    /// A cache over `provider` for keys of `purpose`.
    pub fn new(provider: Arc<dyn KeyProvider>, purpose: Purpose, limits: CacheLimits) -> Self {
        DataKeyCache {
            provider,
            purpose,
            limits,
            current: Mutex::new(None),
        }
    }

    /// A data key good for `records` more records: the cached one if it is
    /// young enough and has room, else a new one from the provider. A batch
    /// never straddles two keys, and no key exceeds `max_records` unless a
    /// single batch is larger than that.
    ///
    /// # Errors
    /// The provider's [`KeyError`] when a new key is needed and cannot be had.
    pub async fn key_for(&self, records: u64) -> Result<Arc<DataKey>, KeyError> {
        if let Some(key) = self.take_from_cache(records) {
            return Ok(key);
        }
        let key = Arc::new(self.provider.generate(self.purpose).await?);
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        *current = Some(Cached {
            key: Arc::clone(&key),
            born: Instant::now(),
            records,
        });
        Ok(key)
    }

    fn take_from_cache(&self, records: u64) -> Option<Arc<DataKey>> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let cached = current.as_mut()?;
        let fresh = cached.born.elapsed() < self.limits.max_age;
        let room = cached.records.saturating_add(records) <= self.limits.max_records;
        if fresh && room {
            cached.records += records;
            Some(Arc::clone(&cached.key))
        } else {
            None
        }
    }

    /// The provider behind this cache.
    pub fn provider(&self) -> &Arc<dyn KeyProvider> {
        &self.provider
    }
}

/// Most unwrapped keys kept by an [`UnwrapCache`].
const MAX_UNWRAPPED: usize = 1024;

/// Unwrapped data keys by descriptor, so each distinct key is unwrapped once.
pub struct UnwrapCache {
    provider: Arc<dyn KeyProvider>,
    keys: HashMap<(Purpose, String), Arc<DataKey>>,
}

impl UnwrapCache {
    /// An empty cache over `provider`.
    pub fn new(provider: Arc<dyn KeyProvider>) -> Self {
        UnwrapCache {
            provider,
            keys: HashMap::new(),
        }
    }

    /// The data key wrapped in `wrapped`, unwrapping it on first sight.
    ///
    /// # Errors
    /// The provider's [`KeyError`].
    pub async fn get(&mut self, purpose: Purpose, wrapped: &str) -> Result<Arc<DataKey>, KeyError> {
        let id = (purpose, wrapped.to_owned());
        if let Some(key) = self.keys.get(&id) {
            return Ok(Arc::clone(key));
        }
        let key = Arc::new(self.provider.unwrap(purpose, wrapped.to_owned()).await?);
        if self.keys.len() >= MAX_UNWRAPPED {
            self.keys.clear();
        }
        self.keys.insert(id, Arc::clone(&key));
        Ok(key)
    }

    /// Decrypts one encrypted-view row into `out` (see
    /// [`EncryptedRow::decrypt`]), unwrapping its data key on first sight.
    ///
    /// # Errors
    /// [`ReadError`] if the row is malformed, its key cannot be unwrapped or
    /// a value does not authenticate.
    pub async fn decrypt_row(&mut self, line: &[u8], out: &mut Vec<u8>) -> Result<(), ReadError> {
        let row = EncryptedRow::parse(line)?;
        let key = match row.wrapped_key() {
            Some(wrapped) => Some(self.get(Purpose::Data, &wrapped).await?),
            None => None,
        };
        Ok(row.decrypt(key.as_deref(), out)?)
    }

    /// Opens one quarantine line (admins only: it needs the quarantine key).
    ///
    /// # Errors
    /// [`ReadError`] if the line is not a quarantine record, its key cannot
    /// be unwrapped or it does not authenticate.
    pub async fn unseal(&mut self, line: &[u8]) -> Result<Unsealed, ReadError> {
        let record = QuarantineRecord::parse(line)?;
        let key = self.get(Purpose::Quarantine, record.wrapped_key()).await?;
        Ok(record.unseal(&key)?)
    }
}

/// Why an encrypted row or a quarantine record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Its data key could not be unwrapped.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// It is malformed or does not authenticate.
    #[error(transparent)]
    Decrypt(#[from] DecryptError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::LocalKeyring;

    #[tokio::test]
    async fn rotates_by_records_and_age() {
        let dir = tempfile::tempdir().unwrap();
        let ring: Arc<dyn KeyProvider> = Arc::new(LocalKeyring::open(dir.path()).unwrap());
        let limits = CacheLimits {
            max_age: Duration::from_secs(3600),
            max_records: 10,
        };
        let cache = DataKeyCache::new(Arc::clone(&ring), Purpose::Data, limits);
        let a = cache.key_for(4).await.unwrap();
        let b = cache.key_for(6).await.unwrap();
        assert!(Arc::ptr_eq(&a, &b), "10 records fit one key");
        let c = cache.key_for(1).await.unwrap();
        assert!(!Arc::ptr_eq(&b, &c), "the 11th record needs a new key");

        let aged = DataKeyCache::new(
            ring,
            Purpose::Data,
            CacheLimits {
                max_age: Duration::ZERO,
                max_records: 10,
            },
        );
        let d = aged.key_for(1).await.unwrap();
        let e = aged.key_for(1).await.unwrap();
        assert!(!Arc::ptr_eq(&d, &e), "an expired key is replaced");
    }
}
