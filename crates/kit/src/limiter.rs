//! A limiter for repeated failures, used to slow and then stop password guessing.
//!
//! Each key (a username, an IP address) counts its failures in a sliding window. The first
//! `free` failures cost nothing; each later one makes the next attempt wait a little longer
//! (`delay_step` per failure over `free`, or doubling from `delay_step` when the policy is
//! exponential, never past `max_delay`); at `max` failures the key is locked until the
//! window has passed since its last failure (a `max` of `u32::MAX` never locks: the key
//! is only slowed). A success clears the key.
//!
//! Cost: one short mutex hold per check; memory is bounded by pruning keys whose window
//! has passed whenever the table grows past `prune_at` entries.
//!
//! **Shared between nodes**: given a [`SharedFailures`] store (Redis, in a cluster), the
//! `*_shared` methods count in it, so that a guesser spreading attempts over many nodes
//! meets one count; each check or failure is one atomic operation there. While the
//! store cannot be reached (or answers slowly), they fall back to this node's own
//! counts, which are kept as well, and recover by themselves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

/// How a [`FailureLimiter`] behaves.
#[derive(Debug, Clone)]
pub struct FailurePolicy {
    /// Failures allowed before attempts are slowed.
    pub free: u32,
    /// Extra wait per failure beyond `free`.
    pub delay_step: Duration,
    /// Failures at which further attempts are refused until the window passes.
    pub max: u32,
    /// How long failures are remembered, counted from the latest one.
    pub window: Duration,
    /// Double the wait with each failure instead of adding `delay_step`.
    pub exponential: bool,
    /// The longest wait a failure can add.
    pub max_delay: Duration,
}

impl FailurePolicy {
    /// The verdict for a key with `failures` failures, the latest `age` ago.
    pub fn verdict(&self, failures: u32, age: Duration) -> Verdict {
        if failures == 0 || age >= self.window {
            return Verdict::Allow;
        }
        if failures >= self.max {
            return Verdict::Refuse(self.window - age);
        }
        match self.delay(failures) {
            Duration::ZERO => Verdict::Allow,
            d => Verdict::Delay(d),
        }
    }

    /// The wait before the next attempt after `failures` failures (none while free).
    fn delay(&self, failures: u32) -> Duration {
        let over = failures.saturating_sub(self.free);
        if over == 0 {
            return Duration::ZERO;
        }
        let d = if self.exponential {
            self.delay_step.saturating_mul(1 << (over - 1).min(20))
        } else {
            self.delay_step.saturating_mul(over)
        };
        d.min(self.max_delay)
    }
}

impl Default for FailurePolicy {
    fn default() -> Self {
        Self {
            free: 3,
            delay_step: Duration::from_millis(250),
            max: 10,
            window: Duration::from_secs(15 * 60),
            exponential: false,
            max_delay: Duration::from_secs(10),
        }
    }
}

/// What to do with the next attempt for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Go ahead after waiting this long.
    Delay(Duration),
    /// Refuse; the key unlocks after this long.
    Refuse(Duration),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
}

/// Failure counts every node sees (see the module documentation). Keys are namespaced
/// by the caller; `window` is how long a key's count lives after its latest failure.
pub trait SharedFailures: Send + Sync + 'static {
    /// Counts a failure of `key`; the count now.
    fn record(&self, key: String, window: Duration) -> BoxFuture<'_, Result<u32, String>>;
    /// `key`'s count and how long ago its latest failure was; `None` when it has none.
    fn read(&self, key: String) -> BoxFuture<'_, Result<Option<(u32, Duration)>, String>>;
    /// Forgets `key`.
    fn clear(&self, key: String) -> BoxFuture<'_, Result<(), String>>;
}

/// How long a shared store may take before this node decides alone.
const SHARED_WAIT: Duration = Duration::from_millis(250);

/// Counts failures per key; see the module documentation.
pub struct FailureLimiter {
    policy: FailurePolicy,
    entries: Mutex<HashMap<String, Entry>>,
    prune_at: usize,
    /// Names this limiter's keys in the shared store.
    name: &'static str,
    shared: OnceLock<Arc<dyn SharedFailures>>,
}

impl std::fmt::Debug for FailureLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailureLimiter")
            .field("name", &self.name)
            .field("policy", &self.policy)
            .field("shared", &self.shared.get().is_some())
            .finish_non_exhaustive()
    }
}

impl FailureLimiter {
    pub fn new(policy: FailurePolicy) -> Self {
        Self::named("failures", policy)
    }

    /// A limiter whose keys are `name:…` in a shared store.
    pub fn named(name: &'static str, policy: FailurePolicy) -> Self {
        Self {
            policy,
            entries: Mutex::new(HashMap::new()),
            prune_at: 100_000,
            name,
            shared: OnceLock::new(),
        }
    }

    /// Counts in `store` from now on (once; later calls are ignored).
    pub fn share(&self, store: Arc<dyn SharedFailures>) {
        let _ = self.shared.set(store);
    }

    fn shared_key(&self, key: &str) -> String {
        format!("{}:{key}", self.name)
    }

    fn fell_back(&self, what: &str, e: &str) {
        metrics::counter!("limits_shared_fallback_total", "limiter" => self.name).increment(1);
        tracing::warn!(
            limiter = self.name,
            "shared limits unavailable ({what}: {e}); counting on this node"
        );
    }

    /// Waits up to [`SHARED_WAIT`] for the shared store's answer; `None` (and a fallback
    /// counted and logged) when it fails or is late.
    async fn ask<T>(
        &self,
        what: &str,
        answer: impl std::future::Future<Output = Result<T, String>>,
    ) -> Option<T> {
        match tokio::time::timeout(SHARED_WAIT, answer).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                self.fell_back(what, &e);
                None
            }
            Err(_) => {
                self.fell_back(what, "timed out");
                None
            }
        }
    }

    /// [`FailureLimiter::check`], against the shared count when there is one.
    pub async fn check_shared(&self, key: &str) -> Verdict {
        let Some(store) = self.shared.get() else {
            return self.check(key);
        };
        match self.ask("read", store.read(self.shared_key(key))).await {
            Some(None) => Verdict::Allow,
            Some(Some((failures, age))) => self.policy.verdict(failures, age),
            None => self.check(key),
        }
    }

    /// [`FailureLimiter::fail`], in the shared count too when there is one.
    pub async fn fail_shared(&self, key: &str) {
        self.fail(key);
        if let Some(store) = self.shared.get() {
            let window = self.policy.window;
            self.ask("record", store.record(self.shared_key(key), window))
                .await;
        }
    }

    /// [`FailureLimiter::clear`], in the shared count too when there is one.
    pub async fn clear_shared(&self, key: &str) {
        self.clear(key);
        if let Some(store) = self.shared.get() {
            self.ask("clear", store.clear(self.shared_key(key))).await;
        }
    }

    /// The verdict for the next attempt on `key`, at time `now`.
    pub fn check_at(&self, key: &str, now: Instant) -> Verdict {
        let entries = self.lock();
        let Some(e) = entries.get(key) else {
            return Verdict::Allow;
        };
        self.policy
            .verdict(e.failures, now.saturating_duration_since(e.last))
    }

    pub fn check(&self, key: &str) -> Verdict {
        self.check_at(key, Instant::now())
    }

    /// Records a failure on `key` at time `now`.
    pub fn fail_at(&self, key: &str, now: Instant) {
        let mut entries = self.lock();
        if entries.len() >= self.prune_at {
            let window = self.policy.window;
            entries.retain(|_, e| now.saturating_duration_since(e.last) < window);
        }
        let e = entries.entry(key.to_string()).or_insert(Entry {
            failures: 0,
            last: now,
        });
        if now.saturating_duration_since(e.last) >= self.policy.window {
            e.failures = 0;
        }
        e.failures = e.failures.saturating_add(1);
        e.last = now;
    }

    pub fn fail(&self, key: &str) {
        self.fail_at(key, Instant::now())
    }

    /// Forgets `key`'s failures (after a success).
    pub fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A poisoned lock only means another thread panicked mid-update of a counter;
        // the map itself is still usable.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The stricter of two verdicts: refusal beats delay beats allow; longer waits win.
pub fn stricter(a: Verdict, b: Verdict) -> Verdict {
    use Verdict::*;
    match (a, b) {
        (Refuse(x), Refuse(y)) => Refuse(x.max(y)),
        (Refuse(x), _) | (_, Refuse(x)) => Refuse(x),
        (Delay(x), Delay(y)) => Delay(x.max(y)),
        (Delay(x), _) | (_, Delay(x)) => Delay(x),
        (Allow, Allow) => Allow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> FailureLimiter {
        FailureLimiter::new(FailurePolicy {
            free: 2,
            delay_step: Duration::from_millis(100),
            max: 4,
            window: Duration::from_secs(60),
            ..FailurePolicy::default()
        })
    }

    #[test]
    fn an_exponential_policy_doubles_up_to_its_cap_and_never_refuses() {
        let l = FailureLimiter::new(FailurePolicy {
            free: 1,
            delay_step: Duration::from_millis(100),
            max: u32::MAX,
            window: Duration::from_secs(60),
            exponential: true,
            max_delay: Duration::from_millis(700),
        });
        let t = Instant::now();
        let mut seen = Vec::new();
        for _ in 0..40 {
            l.fail_at("root", t);
            seen.push(l.check_at("root", t));
        }
        let ms = |v: u64| Verdict::Delay(Duration::from_millis(v));
        assert_eq!(seen[0], Verdict::Allow);
        assert_eq!(&seen[1..5], &[ms(100), ms(200), ms(400), ms(700)]);
        assert_eq!(seen[39], ms(700), "capped, and never a refusal");
    }

    #[test]
    fn failures_are_slowed_then_refused_then_forgotten() {
        let l = limiter();
        let t = Instant::now();
        assert_eq!(l.check_at("a", t), Verdict::Allow);
        l.fail_at("a", t);
        l.fail_at("a", t);
        assert_eq!(l.check_at("a", t), Verdict::Allow);
        l.fail_at("a", t);
        assert_eq!(
            l.check_at("a", t),
            Verdict::Delay(Duration::from_millis(100))
        );
        l.fail_at("a", t);
        assert_eq!(l.check_at("a", t), Verdict::Refuse(Duration::from_secs(60)));
        let later = t + Duration::from_secs(61);
        assert_eq!(l.check_at("a", later), Verdict::Allow);
        assert_eq!(l.check_at("b", t), Verdict::Allow);
    }

    #[test]
    fn success_clears_the_key() {
        let l = limiter();
        let t = Instant::now();
        for _ in 0..4 {
            l.fail_at("a", t);
        }
        l.clear("a");
        assert_eq!(l.check_at("a", t), Verdict::Allow);
    }

    #[test]
    fn stricter_prefers_refusal() {
        let d = Verdict::Delay(Duration::from_secs(1));
        let r = Verdict::Refuse(Duration::from_secs(2));
        assert_eq!(stricter(d, r), r);
        assert_eq!(stricter(Verdict::Allow, d), d);
    }

    /// A shared store: counts in a map, or fails every call when `down`.
    struct Store {
        down: std::sync::atomic::AtomicBool,
        counts: Mutex<HashMap<String, u32>>,
    }

    impl SharedFailures for Store {
        fn record(&self, key: String, _: Duration) -> BoxFuture<'_, Result<u32, String>> {
            Box::pin(async move {
                if self.down.load(std::sync::atomic::Ordering::Relaxed) {
                    return Err("down".into());
                }
                let mut c = self.counts.lock().unwrap();
                let n = c.entry(key).or_insert(0);
                *n += 1;
                Ok(*n)
            })
        }
        fn read(&self, key: String) -> BoxFuture<'_, Result<Option<(u32, Duration)>, String>> {
            Box::pin(async move {
                if self.down.load(std::sync::atomic::Ordering::Relaxed) {
                    return Err("down".into());
                }
                Ok(self
                    .counts
                    .lock()
                    .unwrap()
                    .get(&key)
                    .map(|n| (*n, Duration::ZERO)))
            })
        }
        fn clear(&self, key: String) -> BoxFuture<'_, Result<(), String>> {
            Box::pin(async move {
                self.counts.lock().unwrap().remove(&key);
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn a_shared_count_is_what_every_node_sees_and_its_absence_falls_back() {
        let store = Arc::new(Store {
            down: false.into(),
            counts: Mutex::new(HashMap::new()),
        });
        let policy = FailurePolicy {
            free: 0,
            max: 2,
            ..FailurePolicy::default()
        };
        let (a, b) = (
            FailureLimiter::named("t", policy.clone()),
            FailureLimiter::named("t", policy),
        );
        a.share(store.clone());
        b.share(store.clone());
        a.fail_shared("k").await;
        b.fail_shared("k").await;
        // One failure on each node, two in all: both refuse.
        assert!(matches!(a.check_shared("k").await, Verdict::Refuse(_)));
        assert!(matches!(b.check_shared("k").await, Verdict::Refuse(_)));
        // The store goes away: each node decides from its own count (one failure).
        store.down.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(matches!(a.check_shared("k").await, Verdict::Delay(_)));
        a.fail_shared("k").await;
        assert!(matches!(a.check_shared("k").await, Verdict::Refuse(_)));
        assert!(matches!(b.check_shared("k").await, Verdict::Delay(_)));
    }
}
