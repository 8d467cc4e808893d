//! How long a failed job waits before its next attempt.

use std::time::Duration;

/// The wait after failed attempt number `attempt` (1-based): `base · 2^(attempt-1)`, never
/// more than `cap`. No jitter: retries of jobs that failed together stay together, which is
/// fine at momo's scale and keeps the schedule predictable.
pub(crate) fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let doublings = attempt.saturating_sub(1).min(31);
    base.checked_mul(1u32 << doublings)
        .map_or(cap, |d| d.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        let waits: Vec<u64> = (1..=8).map(|a| backoff(a, base, cap).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(0, base, cap), base);
        assert_eq!(backoff(u32::MAX, base, cap), cap);
    }
}
