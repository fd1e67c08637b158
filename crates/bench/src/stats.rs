//! Summaries of per-call timings: median, p99, mean.
//!
//! Criterion reports the mean time of batches; the issue asks for the median
//! and the 99th percentile of single calls, so the benches also record every
//! call and summarise them here.

use std::time::Duration;

/// Order statistics of a set of durations.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// 50th and 99th percentile (nearest rank).
    pub median: Duration,
    pub p99: Duration,
    /// Arithmetic mean.
    pub mean: Duration,
    /// Smallest and largest sample.
    pub min: Duration,
    pub max: Duration,
}

/// The `q`-quantile (0..=1) of sorted `v` (nearest rank).
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Summarises `v` (any order).
pub fn summarize(v: &[Duration]) -> Summary {
    if v.is_empty() {
        return Summary::default();
    }
    let mut s = v.to_vec();
    s.sort_unstable();
    let total: Duration = s.iter().sum();
    Summary {
        n: s.len(),
        median: quantile(&s, 0.5),
        p99: quantile(&s, 0.99),
        mean: total / s.len() as u32,
        min: s[0],
        max: s[s.len() - 1],
    }
}

/// A duration as µs with sensible precision (`12.3 µs`, `1,234 µs`).
pub fn us(d: Duration) -> String {
    let v = d.as_secs_f64() * 1e6;
    if v < 100.0 { format!("{v:.1} µs") } else { format!("{} µs", thousands(v.round() as u64)) }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_nearest_rank() {
        let v: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        let s = summarize(&v);
        assert_eq!(
            (s.median, s.p99, s.min, s.max),
            (
                Duration::from_micros(50),
                Duration::from_micros(99),
                Duration::from_micros(1),
                Duration::from_micros(100)
            )
        );
        assert_eq!(s.mean, Duration::from_nanos(50_500));
        assert_eq!(summarize(&[]).n, 0);
    }

    #[test]
    fn formats() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(us(Duration::from_nanos(12_340)), "12.3 µs");
        assert_eq!(us(Duration::from_micros(2_500)), "2,500 µs");
    }
}
