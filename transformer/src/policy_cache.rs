//! The policy as the warm Lambda holds it: loaded at cold start, re-checked
//! in the background once per TTL with a conditional fetch, swapped between
//! batches (never inside one), and refused once it is older than its max age
//! without a successful check (fail closed).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cdc_mask_core::{Policy, Transformer};

use crate::policy_source::{FetchError, Fetched, PolicySource};

/// Both transformers of one policy version.
#[derive(Debug, Clone)]
pub struct Views {
    /// The masked view's transformer.
    pub masked: Transformer,
    /// The encrypted view's transformer.
    pub encrypted: Transformer,
}

/// Builds the transformers of a policy (checks the token key, …).
pub type BuildViews = dyn Fn(Arc<Policy>) -> Result<Views, String> + Send + Sync;

/// How long a policy is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyLimits {
    /// Re-check the source after this long (default 60 s).
    pub ttl: Duration,
    /// Refuse to use a policy not confirmed for this long (default 15 min).
    pub max_age: Duration,
}

impl Default for PolicyLimits {
    fn default() -> Self {
        PolicyLimits {
            ttl: Duration::from_secs(60),
            max_age: Duration::from_secs(15 * 60),
        }
    }
}

/// The policy could not be confirmed within its max age.
#[derive(Debug, Clone, thiserror::Error)]
#[error("policy {location} not confirmed for {age:?} (max age {max_age:?}): refusing to transform")]
pub struct StalePolicy {
    /// Where the policy comes from.
    pub location: String,
    /// Time since the last successful check.
    pub age: Duration,
    /// The limit.
    pub max_age: Duration,
}

/// Why the first load failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The source could not be read.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The policy is not usable.
    #[error("{0}")]
    Invalid(String),
}

struct State {
    views: Arc<Views>,
    version: String,
    /// Last successful check (load or "unchanged").
    confirmed: Instant,
    /// Last check started.
    attempted: Instant,
}

/// The current policy's transformers, refreshed in the background.
pub struct PolicyCache {
    source: Box<dyn PolicySource>,
    build: Box<BuildViews>,
    limits: PolicyLimits,
    state: Mutex<State>,
    refreshing: AtomicBool,
}

impl PolicyCache {
    /// Loads the policy now (cold start).
    ///
    /// # Errors
    /// [`LoadError`] if it cannot be read, parsed or built.
    pub async fn load(
        source: Box<dyn PolicySource>,
        build: Box<BuildViews>,
        limits: PolicyLimits,
    ) -> Result<Arc<Self>, LoadError> {
        let Fetched::Changed { bytes, version } = source.fetch(None).await? else {
            return Err(LoadError::Invalid(format!(
                "{}: no policy",
                source.location()
            )));
        };
        let views = compile(&bytes, &*build).map_err(LoadError::Invalid)?;
        let now = Instant::now();
        Ok(Arc::new(PolicyCache {
            source,
            build,
            limits,
            state: Mutex::new(State {
                views: Arc::new(views),
                version,
                confirmed: now,
                attempted: now,
            }),
            refreshing: AtomicBool::new(false),
        }))
    }

    /// The transformers to use for the next batch. Starts a background
    /// re-check when the TTL has passed (needs a tokio runtime).
    ///
    /// # Errors
    /// [`StalePolicy`] when the policy was not confirmed within its max age.
    pub fn current(self: &Arc<Self>) -> Result<Arc<Views>, StalePolicy> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if now.duration_since(state.attempted) >= self.limits.ttl
            && !self.refreshing.swap(true, Ordering::AcqRel)
        {
            state.attempted = now;
            let cache = Arc::clone(self);
            tokio::spawn(async move { cache.refresh().await });
        }
        let age = now.duration_since(state.confirmed);
        if age > self.limits.max_age {
            return Err(StalePolicy {
                location: self.source.location(),
                age,
                max_age: self.limits.max_age,
            });
        }
        Ok(Arc::clone(&state.views))
    }

    /// Checks the source once, now; returns whether a new policy was taken.
    pub async fn refresh(&self) -> bool {
        let known = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .version
            .clone();
        let fetched = self.source.fetch(Some(known)).await;
        let now = Instant::now();
        let taken = match fetched {
            Ok(Fetched::Unchanged) => {
                self.state
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .confirmed = now;
                false
            }
            Ok(Fetched::Changed { bytes, version }) => match compile(&bytes, &*self.build) {
                Ok(views) => {
                    let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                    state.views = Arc::new(views);
                    state.version = version;
                    state.confirmed = now;
                    tracing::info!(location = %self.source.location(), "policy updated");
                    true
                }
                Err(e) => {
                    tracing::error!(location = %self.source.location(), error = %e, "new policy rejected; keeping the last good one until its max age");
                    false
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "policy refresh failed; keeping the last good one until its max age");
                false
            }
        };
        self.refreshing.store(false, Ordering::Release);
        taken
    }
}

fn compile(bytes: &[u8], build: &BuildViews) -> Result<Views, String> {
    let policy = Policy::from_slice(bytes).map_err(|e| e.to_string())?;
    build(Arc::new(policy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_source::FilePolicy;
    use cdc_mask_core::{Shape, View};

    fn build() -> Box<BuildViews> {
        Box::new(|policy: Arc<Policy>| {
            let make = |view| {
                Transformer::new(Arc::clone(&policy), view, Shape::Flat, None)
                    .map_err(|e| e.to_string())
            };
            Ok(Views {
                masked: make(View::Masked)?,
                encrypted: make(View::Encrypted)?,
            })
        })
    }

    const ONE: &str = r#"{"version":1,"tables":[]}"#;
    const TWO: &str = r#"{"version":1,"tables":[{"schema":"s","table":"t","columns":{"c":{}}}]}"#;

    #[tokio::test]
    async fn swaps_on_change_keeps_the_last_good_and_goes_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, ONE).unwrap();
        let limits = PolicyLimits {
            ttl: Duration::from_secs(3600),
            max_age: Duration::from_millis(300),
        };
        let cache = PolicyCache::load(Box::new(FilePolicy::new(path.clone())), build(), limits)
            .await
            .unwrap();
        let first = cache.current().unwrap();
        assert!(!cache.refresh().await, "unchanged");
        std::fs::write(&path, TWO).unwrap();
        assert!(cache.refresh().await, "changed");
        assert!(!Arc::ptr_eq(&first, &cache.current().unwrap()));
        std::fs::write(&path, "not json").unwrap();
        assert!(!cache.refresh().await, "an invalid policy is not taken");
        assert!(cache.current().is_ok());
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(
            cache.current().is_err(),
            "past max age without a good check"
        );
        std::fs::write(&path, ONE).unwrap();
        assert!(cache.refresh().await);
        assert!(cache.current().is_ok(), "a good check revives it");
    }
}
