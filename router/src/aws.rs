//! The AWS configuration of one command: loaded once, on first use (a local
//! run never reads it), and shared by every source and sink that calls AWS,
//! so each client has the same endpoint, read timeout and retry counting.

use cdc_mask_transformer::aws::Aws;
use tokio::sync::OnceCell;

/// [`Aws`], loaded when a source or sink first needs it.
#[derive(Debug)]
pub struct LazyAws {
    endpoint_url: Option<String>,
    loaded: OnceCell<Aws>,
}

impl LazyAws {
    /// Nothing is loaded yet; `endpoint_url` as given to [`Aws::load`].
    pub fn new(endpoint_url: Option<String>) -> Self {
        LazyAws {
            endpoint_url,
            loaded: OnceCell::new(),
        }
    }

    /// The configuration, loaded on the first call.
    pub async fn get(&self) -> &Aws {
        self.loaded
            .get_or_init(|| Aws::load(self.endpoint_url.as_deref()))
            .await
    }
}
