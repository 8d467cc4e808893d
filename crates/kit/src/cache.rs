//! A bounded in-process cache with a time-to-live, for hot reads that would otherwise
//! cost a database round trip each (a profile read is ~4x slower than answering from
//! memory on SQLite).
//!
//! Entries are dropped on write by whoever changes the data (after the change commits),
//! and expire after the TTL in any case: the TTL bounds how stale a value can get when an
//! invalidation races a concurrent read, or when another node changed the data.
//! Hits and misses are counted as `cache_requests_total{cache, result}`.

use std::hash::Hash;
use std::time::Duration;

/// A named TTL cache; cheap to clone (clones share the entries).
#[derive(Clone)]
pub struct LocalCache<K, V> {
    name: &'static str,
    inner: Option<moka::sync::Cache<K, V>>,
}

impl<K, V> std::fmt::Debug for LocalCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCache")
            .field("name", &self.name)
            .field("enabled", &self.inner.is_some())
            .finish()
    }
}

impl<K, V> LocalCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of at most `capacity` entries living `ttl` each; a zero TTL or capacity
    /// turns caching off (every lookup misses).
    pub fn new(name: &'static str, capacity: u64, ttl: Duration) -> Self {
        let inner = (capacity > 0 && !ttl.is_zero()).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build()
        });
        Self { name, inner }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let inner = self.inner.as_ref()?;
        let found = inner.get(key);
        let result = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!("cache_requests_total", "cache" => self.name, "result" => result)
            .increment(1);
        found
    }

    pub fn insert(&self, key: K, value: V) {
        if let Some(inner) = &self.inner {
            inner.insert(key, value);
        }
    }

    pub fn invalidate(&self, key: &K) {
        if let Some(inner) = &self.inner {
            inner.invalidate(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_kept_dropped_and_expire() {
        let c = LocalCache::new("t", 10, Duration::from_millis(50));
        c.insert(1, "a");
        assert_eq!(c.get(&1), Some("a"));
        c.invalidate(&1);
        assert_eq!(c.get(&1), None);
        c.insert(2, "b");
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(c.get(&2), None);
    }

    #[test]
    fn zero_ttl_disables_caching() {
        let c = LocalCache::new("t", 10, Duration::ZERO);
        c.insert(1, "a");
        assert_eq!(c.get(&1), None);
    }
}
