//! Unwrapped data keys by descriptor, so that a reader unwraps each
//! distinct key once (one KMS `DeriveSharedSecret` or `Decrypt` per data
//! key, not per row).

use std::collections::HashMap;
use std::sync::Arc;

use cdc_mask_core::decrypt::{DecryptError, DetReader, EncryptedRow, QuarantineRecord, Unsealed};
use cdc_mask_core::keys::{DataKey, Purpose};

use super::{KeyError, Unwrapper};

/// Most unwrapped keys kept by an [`UnwrapCache`].
const MAX_UNWRAPPED: usize = 1024;

/// Unwrapped data keys by descriptor.
pub struct UnwrapCache {
    unwrapper: Arc<dyn Unwrapper>,
    keys: HashMap<(Purpose, String), Arc<DataKey>>,
    det: Option<DetReader>,
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

impl UnwrapCache {
    /// An empty cache over `unwrapper`.
    pub fn new(unwrapper: Arc<dyn Unwrapper>) -> Self {
        UnwrapCache {
            unwrapper,
            keys: HashMap::new(),
            det: None,
        }
    }

    /// Reads `det` values too, with `reader` (the deterministic key and the
    /// columns' join domains).
    #[must_use]
    pub fn with_deterministic(mut self, reader: DetReader) -> Self {
        self.det = Some(reader);
        self
    }

    /// Remote key-service calls made so far.
    pub fn remote_calls(&self) -> u64 {
        self.unwrapper.remote_calls()
    }

    /// The data key wrapped in `wrapped`, unwrapping it on first sight.
    ///
    /// # Errors
    /// The unwrapper's [`KeyError`].
    pub async fn get(&mut self, purpose: Purpose, wrapped: &str) -> Result<Arc<DataKey>, KeyError> {
        let id = (purpose, wrapped.to_owned());
        if let Some(key) = self.keys.get(&id) {
            return Ok(Arc::clone(key));
        }
        let key = Arc::new(self.unwrapper.unwrap(purpose, wrapped.to_owned()).await?);
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
        Ok(row.decrypt_with(key.as_deref(), self.det.as_ref(), out)?)
    }

    /// Opens one quarantine line (admins only: it needs the quarantine key):
    /// one record, or every record of an overflow bundle.
    ///
    /// # Errors
    /// [`ReadError`] if the line is not a quarantine record, its key cannot
    /// be unwrapped or it does not authenticate.
    pub async fn unseal(&mut self, line: &[u8]) -> Result<Vec<Unsealed>, ReadError> {
        let record = QuarantineRecord::parse(line)?;
        let key = self.get(Purpose::Quarantine, record.wrapped_key()).await?;
        Ok(record.unseal(&key)?)
    }
}
