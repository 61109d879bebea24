//! The policy as the warm Lambda (and the router) holds it: re-checked in
//! the background once per TTL with a conditional fetch, swapped between
//! batches (never inside one), and refused once it is older than its max
//! age without a successful check — after one synchronous check with a
//! bounded wait, so that an instance idle for an hour whose source is
//! healthy answers its next batch normally.
//!
//! It never fails to start: a policy that cannot be read or used at cold
//! start is simply not there yet, and every batch until it is gets
//! [`PolicyUnavailable`] (its records are sealed, never failed back). Time
//! is tokio's clock, so tests pause it instead of sleeping.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cdc_mask_core::{Policy, Transformer};
use tokio::time::Instant;

use crate::policy_source::{Fetched, PolicySource};

/// Both transformers of one policy version.
#[derive(Debug, Clone)]
pub struct Views {
    /// The masked view's transformer.
    pub masked: Transformer,
    /// The encrypted view's transformer.
    pub encrypted: Transformer,
}

/// Builds the transformers of a policy (checks the token key, …); the error
/// is one line for people.
pub type BuildViews = dyn Fn(Arc<Policy>) -> Result<Views, String> + Send + Sync;

/// How long a policy is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyLimits {
    /// Re-check the source after this long (default 60 s).
    pub ttl: Duration,
    /// Refuse to use a policy not confirmed for this long (default 15 min).
    pub max_age: Duration,
    /// Longest a batch waits for a check of a policy past its max age, or
    /// of a missing one (default 2 s).
    pub wait: Duration,
}

impl Default for PolicyLimits {
    fn default() -> Self {
        PolicyLimits {
            ttl: Duration::from_secs(60),
            max_age: Duration::from_secs(15 * 60),
            wait: Duration::from_secs(2),
        }
    }
}

/// No usable policy for this batch. Names the source and the cause, never
/// policy content.
#[derive(Debug, Clone, thiserror::Error)]
#[error("policy {location} not usable: {cause}")]
pub struct PolicyUnavailable {
    /// Where the policy comes from.
    pub location: String,
    /// Why: not read yet, invalid, or not confirmed within its max age.
    pub cause: String,
}

struct State {
    views: Arc<Views>,
    version: String,
    /// Last successful check (load or "unchanged").
    confirmed: Instant,
}

struct Inner {
    state: Option<State>,
    /// Last check started.
    attempted: Option<Instant>,
    /// Why the last check failed, if it did.
    last_error: Option<String>,
}

/// The current policy's transformers.
pub struct PolicyCache {
    source: Box<dyn PolicySource>,
    build: Box<BuildViews>,
    limits: PolicyLimits,
    inner: Mutex<Inner>,
    refreshing: AtomicBool,
}

impl PolicyCache {
    /// A cache over `source`, with a first check now (bounded by
    /// `limits.wait`; its failure is logged and retried on the first batch).
    pub async fn start(
        source: Box<dyn PolicySource>,
        build: Box<BuildViews>,
        limits: PolicyLimits,
    ) -> Arc<Self> {
        let cache = Arc::new(PolicyCache {
            source,
            build,
            limits,
            inner: Mutex::new(Inner {
                state: None,
                attempted: None,
                last_error: None,
            }),
            refreshing: AtomicBool::new(false),
        });
        cache.refresh_within(limits.wait).await;
        cache
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where the policy comes from.
    pub fn location(&self) -> String {
        self.source.location()
    }

    /// Time since the policy in use was last confirmed, if there is one.
    pub fn age(&self) -> Option<Duration> {
        let inner = self.lock();
        inner.state.as_ref().map(|s| s.confirmed.elapsed())
    }

    /// The transformers for the next batch. Past the TTL a background
    /// re-check starts; past the max age (or with no policy yet) this waits
    /// for one check, at most `wait`, before giving up.
    ///
    /// # Errors
    /// [`PolicyUnavailable`] when no policy confirmed within its max age can
    /// be had.
    pub async fn current(self: &Arc<Self>) -> Result<Arc<Views>, PolicyUnavailable> {
        if let Some(views) = self.usable(true) {
            return Ok(views);
        }
        self.refresh_within(self.limits.wait).await;
        self.usable(false).ok_or_else(|| {
            let inner = self.lock();
            PolicyUnavailable {
                location: self.source.location(),
                cause: match (&inner.state, &inner.last_error) {
                    (Some(state), _) => format!(
                        "not confirmed for {}s (max age {}s){}",
                        state.confirmed.elapsed().as_secs(),
                        self.limits.max_age.as_secs(),
                        inner
                            .last_error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    ),
                    (None, Some(error)) => error.clone(),
                    (None, None) => "not loaded yet".to_owned(),
                },
            }
        })
    }

    /// The views if the policy is within its max age; with `background`,
    /// starts a re-check when the TTL has passed.
    fn usable(self: &Arc<Self>, background: bool) -> Option<Arc<Views>> {
        let mut inner = self.lock();
        let now = Instant::now();
        let due = inner
            .attempted
            .is_none_or(|at| now.duration_since(at) >= self.limits.ttl);
        if background && due && !self.refreshing.swap(true, Ordering::AcqRel) {
            inner.attempted = Some(now);
            let cache = Arc::clone(self);
            tokio::spawn(async move { cache.refresh().await });
        }
        let state = inner.state.as_ref()?;
        (now.duration_since(state.confirmed) <= self.limits.max_age)
            .then(|| Arc::clone(&state.views))
    }

    /// One check, waited for at most `wait` (it goes on in the background
    /// if slower).
    async fn refresh_within(self: &Arc<Self>, wait: Duration) {
        let cache = Arc::clone(self);
        let check = tokio::spawn(async move { cache.refresh().await });
        let _ = tokio::time::timeout(wait, check).await;
    }

    /// Checks the source once, now; returns whether a new policy was taken.
    pub async fn refresh(&self) -> bool {
        let known = {
            let mut inner = self.lock();
            inner.attempted = Some(Instant::now());
            inner.state.as_ref().map(|s| s.version.clone())
        };
        let fetched = self.source.fetch(known).await;
        let now = Instant::now();
        let location = self.source.location();
        // Until a policy is in use, a failure is the batch's to report (it
        // seals its records, naming the cause) or the command's (it stops).
        let have_one = self.lock().state.is_some();
        let (taken, error) = match fetched {
            Ok(Fetched::Unchanged) => {
                if let Some(state) = self.lock().state.as_mut() {
                    state.confirmed = now;
                }
                (false, None)
            }
            Ok(Fetched::Changed { bytes, version }) => match compile(&bytes, &*self.build) {
                Ok(views) => {
                    self.lock().state = Some(State {
                        views: Arc::new(views),
                        version,
                        confirmed: now,
                    });
                    tracing::info!(location = %location, "policy loaded");
                    (true, None)
                }
                Err(e) => {
                    if have_one {
                        tracing::error!(location = %location, error = %e, "policy rejected; keeping the last good one until its max age");
                    }
                    (false, Some(e))
                }
            },
            Err(e) => {
                if have_one {
                    tracing::warn!(error = %e, "policy check failed; keeping the last good one until its max age");
                }
                (false, Some(e.to_string()))
            }
        };
        self.lock().last_error = error;
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

    fn limits() -> PolicyLimits {
        PolicyLimits {
            ttl: Duration::from_secs(60),
            max_age: Duration::from_secs(900),
            wait: Duration::from_secs(2),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn swaps_on_change_and_keeps_the_last_good_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, ONE).unwrap();
        let cache =
            PolicyCache::start(Box::new(FilePolicy::new(path.clone())), build(), limits()).await;
        let first = cache.current().await.unwrap();
        assert!(!cache.refresh().await, "unchanged");
        std::fs::write(&path, TWO).unwrap();
        assert!(cache.refresh().await, "changed");
        assert!(!Arc::ptr_eq(&first, &cache.current().await.unwrap()));
        std::fs::write(&path, "not json").unwrap();
        assert!(!cache.refresh().await, "an invalid policy is not taken");
        assert!(cache.current().await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_instance_rechecks_before_declaring_the_policy_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, ONE).unwrap();
        let cache =
            PolicyCache::start(Box::new(FilePolicy::new(path.clone())), build(), limits()).await;
        // An hour idle, the source healthy: the next batch goes through.
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(cache.current().await.is_ok());
        assert!(cache.age().unwrap() < Duration::from_secs(1));

        // An hour idle, the source gone: stale, with the cause.
        std::fs::remove_file(&path).unwrap();
        tokio::time::advance(Duration::from_secs(3600)).await;
        let stale = cache.current().await.unwrap_err().to_string();
        assert!(
            stale.contains("not confirmed for 3600s (max age 900s)"),
            "{stale}"
        );
        // Back: usable again.
        std::fs::write(&path, ONE).unwrap();
        assert!(cache.current().await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_policy_missing_at_cold_start_is_unavailable_until_it_appears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        let cache =
            PolicyCache::start(Box::new(FilePolicy::new(path.clone())), build(), limits()).await;
        let missing = cache.current().await.unwrap_err().to_string();
        assert!(missing.contains("cannot read policy"), "{missing}");
        std::fs::write(&path, "{\"version\":7}").unwrap();
        let invalid = cache.current().await.unwrap_err().to_string();
        assert!(invalid.contains("invalid policy"), "{invalid}");
        std::fs::write(&path, ONE).unwrap();
        assert!(cache.current().await.is_ok());
    }
}
