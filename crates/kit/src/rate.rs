//! Token buckets by key (a user id, an address): `rate` events per second with bursts of
//! `burst`, shared by everything one key does — a user's five sockets draw from one
//! bucket, not five.
//!
//! Cost: one short mutex hold per event. Memory: a key whose bucket has refilled holds
//! nothing worth keeping, so when the table passes `prune_at` entries such keys are
//! dropped; what remains are keys active within the last `burst / rate` seconds.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets by key; see the module documentation.
#[derive(Debug)]
pub struct KeyedBuckets<K> {
    rate: f64,
    burst: f64,
    prune_at: usize,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Hash + Eq + Clone> KeyedBuckets<K> {
    /// `rate` tokens a second, at most `burst` saved up (both at least 1).
    pub fn new(rate: f64, burst: f64) -> Self {
        KeyedBuckets {
            rate: rate.max(f64::MIN_POSITIVE),
            burst: burst.max(1.0),
            prune_at: 100_000,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key` at `now`: whether the event may happen.
    pub fn take_at(&self, key: &K, now: Instant) -> bool {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.prune_at && !map.contains_key(key) {
            let (rate, burst) = (self.rate, self.burst);
            map.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = map.entry(key.clone()).or_insert((self.burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * self.rate)
            .min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    pub fn take(&self, key: &K) -> bool {
        self.take_at(key, Instant::now())
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_key_bursts_then_gets_its_rate_and_others_are_apart() {
        let b = KeyedBuckets::new(2.0, 4.0);
        let t = Instant::now();
        let taken = (0..10).filter(|_| b.take_at(&1, t)).count();
        assert_eq!(taken, 4, "the burst");
        assert!(b.take_at(&2, t), "another key has its own bucket");
        assert!(!b.take_at(&1, t + Duration::from_millis(100)));
        assert!(
            b.take_at(&1, t + Duration::from_millis(600)),
            "refilled at 2/s"
        );
    }

    #[test]
    fn refilled_keys_are_pruned() {
        let mut b = KeyedBuckets::new(10.0, 2.0);
        b.prune_at = 100;
        let t = Instant::now();
        for k in 0..100 {
            b.take_at(&k, t);
        }
        b.take_at(&1000, t + Duration::from_secs(1));
        assert_eq!(b.len(), 1, "only the new key is left");
    }
}
