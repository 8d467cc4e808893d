//! Percentiles and medians, kept exact.
//!
//! Latencies are stored as every sample in microseconds rather than in a histogram: at
//! the rates one machine can drive (a few hundred thousand requests per phase) that is a
//! few megabytes, and it keeps p99 and max exact instead of bucketed.

use serde::Serialize;

/// The value below which `q` (0.0–1.0) of the samples fall, by the nearest-rank method:
/// always one of the samples, never an interpolation between two. `sorted` must be in
/// ascending order; an empty slice gives 0.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The middle value (the mean of the two middle ones for an even count); 0 for none.
/// Used for throughput across rounds, where one disturbed round should not move the
/// result the way it would move a mean.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// Summarises samples given in microseconds (sorted here).
    pub fn from_micros(mut samples: Vec<u64>) -> Self {
        samples.sort_unstable();
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            p50: ms(percentile(&samples, 0.50)),
            p90: ms(percentile(&samples, 0.90)),
            p99: ms(percentile(&samples, 0.99)),
            max: ms(samples.last().copied().unwrap_or(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_uses_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.50), 50);
        assert_eq!(percentile(&v, 0.90), 90);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 1.0), 100);
        assert_eq!(percentile(&v, 0.0), 1);
        let small = [10, 20, 30];
        assert_eq!(percentile(&small, 0.50), 20);
        assert_eq!(percentile(&small, 0.99), 30);
    }

    #[test]
    fn percentile_of_one_or_none() {
        assert_eq!(percentile(&[7], 0.5), 7);
        assert_eq!(percentile(&[7], 0.99), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[5.0]), 5.0);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn one_slow_round_does_not_move_the_median() {
        assert_eq!(median(&[1000.0, 10.0, 1010.0]), 1000.0);
    }

    #[test]
    fn latency_summary_in_milliseconds() {
        let l = Latency::from_micros(vec![3000, 1000, 2000, 100_000]);
        assert_eq!(l.p50, 2.0);
        assert_eq!(l.p90, 100.0);
        assert_eq!(l.max, 100.0);
        let empty = Latency::from_micros(Vec::new());
        assert_eq!(empty.max, 0.0);
    }
}
