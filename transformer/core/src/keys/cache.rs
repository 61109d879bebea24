//! The current data key of one purpose, replaced by age and use count, so
//! that a key is made (and wrapped: one ECDH) per many records, not per
//! record. No key service is involved: keys are wrapped to a public key.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{DataKey, Purpose, RecipientKey, WrapError};

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

/// The current data key of one purpose, wrapped to one recipient.
pub struct DataKeyCache {
    recipient: RecipientKey,
    purpose: Purpose,
    limits: CacheLimits,
    current: Mutex<Option<Cached>>,
}

impl DataKeyCache {
    /// A cache of keys for `purpose`, wrapped to `recipient`.
    pub fn new(recipient: RecipientKey, purpose: Purpose, limits: CacheLimits) -> Self {
        DataKeyCache {
            recipient,
            purpose,
            limits,
            current: Mutex::new(None),
        }
    }

    /// The public key data keys are wrapped to.
    pub fn recipient(&self) -> &RecipientKey {
        &self.recipient
    }

    /// A data key good for `records` more records: the cached one if it is
    /// young enough and has room, else a new one. A batch never straddles
    /// two keys, and no key exceeds `max_records` unless a single batch is
    /// larger than that.
    ///
    /// # Errors
    /// [`WrapError::Random`] if a new key is needed and the system random
    /// generator fails.
    pub fn key_for(&self, records: u64) -> Result<Arc<DataKey>, WrapError> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cached) = current.as_mut() {
            let fresh = cached.born.elapsed() < self.limits.max_age;
            let room = cached.records.saturating_add(records) <= self.limits.max_records;
            if fresh && room {
                cached.records += records;
                return Ok(Arc::clone(&cached.key));
            }
        }
        let key = Arc::new(DataKey::generate(&self.recipient, self.purpose)?);
        *current = Some(Cached {
            key: Arc::clone(&key),
            born: Instant::now(),
            records,
        });
        Ok(key)
    }
}

impl std::fmt::Debug for DataKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKeyCache")
            .field("recipient", &self.recipient.kid())
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::RecipientPrivateKey;

    #[test]
    fn rotates_by_records_and_age() {
        let recipient = RecipientPrivateKey::from_scalar_bytes(&[9; 32])
            .unwrap()
            .recipient()
            .clone();
        let limits = CacheLimits {
            max_age: Duration::from_secs(3600),
            max_records: 10,
        };
        let cache = DataKeyCache::new(recipient.clone(), Purpose::Data, limits);
        let a = cache.key_for(4).unwrap();
        let b = cache.key_for(6).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "10 records fit one key");
        let c = cache.key_for(1).unwrap();
        assert!(!Arc::ptr_eq(&b, &c), "the 11th record needs a new key");
        assert!(c.wrapped().starts_with("ecdh1:"));

        let aged = DataKeyCache::new(
            recipient,
            Purpose::Data,
            CacheLimits {
                max_age: Duration::ZERO,
                max_records: 10,
            },
        );
        let d = aged.key_for(1).unwrap();
        let e = aged.key_for(1).unwrap();
        assert!(!Arc::ptr_eq(&d, &e), "an expired key is replaced");
    }
}
