//! When to try again: the schedule, jitter, `Retry-After`, and which
//! failures are worth retrying at all.

use std::time::{Duration, SystemTime};

/// Default waits between attempts: Standard Webhooks' example schedule
/// (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) extended by two
/// 24 h waits so that a report survives a receiver outage of about three
/// days (10 attempts over ~75.6 h).
pub const DEFAULT_SCHEDULE: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(24 * 3600),
    Duration::from_secs(24 * 3600),
];

/// A `Retry-After` longer than this is capped, so a hostile or buggy
/// receiver cannot park a report for ever.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Retry schedule of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    schedule: Vec<Duration>,
    jitter: f64,
    max_attempts: u32,
}

impl RetryPolicy {
    /// `schedule[i]` is the wait after failed attempt `i + 1`. `max_attempts`
    /// defaults to `schedule.len() + 1`; beyond the schedule the last wait
    /// repeats. `jitter` is clamped to 0..=1.
    pub fn new(schedule: Vec<Duration>, jitter: f64, max_attempts: Option<u32>) -> Self {
        let max_attempts = max_attempts
            .unwrap_or_else(|| u32::try_from(schedule.len()).unwrap_or(u32::MAX - 1).saturating_add(1))
            .max(1);
        RetryPolicy { schedule, jitter: jitter.clamp(0.0, 1.0), max_attempts }
    }

    /// Total attempts allowed.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// After `attempts_done` failed attempts, how long to wait before the
    /// next one, or `None` when the report must go to the dead-letter list.
    /// The wait is the schedule's, spread by ±jitter, and never shorter than
    /// the receiver's `Retry-After` (capped at [`MAX_RETRY_AFTER`]).
    pub fn next_delay(&self, attempts_done: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempts_done >= self.max_attempts {
            return None;
        }
        let idx = usize::try_from(attempts_done.saturating_sub(1)).unwrap_or(usize::MAX);
        let base = self.schedule.get(idx).or(self.schedule.last()).copied().unwrap_or(Duration::ZERO);
        let factor = if self.jitter > 0.0 { 1.0 + rand::random_range(-self.jitter..=self.jitter) } else { 1.0 };
        // Saturating: no configured wait can make this panic.
        let jittered = Duration::try_from_secs_f64(base.as_secs_f64() * factor).unwrap_or(Duration::MAX);
        Some(match retry_after {
            Some(ra) => jittered.max(ra.min(MAX_RETRY_AFTER)),
            None => jittered,
        })
    }
}

/// What a response status means for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// 2xx: delivered; the report leaves the outbox.
    Success,
    /// 408, 429, 5xx: try again later.
    Retry,
    /// Any other status (3xx, other 4xx): straight to the dead-letter list.
    Permanent,
}

/// Classifies an HTTP status (Buildbot: `code // 100 == 2` is success).
pub fn classify_status(status: u16) -> StatusClass {
    match status {
        200..=299 => StatusClass::Success,
        408 | 429 | 500..=599 => StatusClass::Retry,
        _ => StatusClass::Permanent,
    }
}

/// Parses `Retry-After`: delay-seconds or an HTTP-date (relative to `now`).
/// Returns `None` for anything else.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_spans_about_three_days() {
        let total: Duration = DEFAULT_SCHEDULE.iter().sum();
        let hours = total.as_secs_f64() / 3600.0;
        assert!((70.0..80.0).contains(&hours), "{hours}");
        let p = RetryPolicy::new(DEFAULT_SCHEDULE.to_vec(), 0.0, None);
        assert_eq!(p.max_attempts(), 10);
        assert_eq!(p.next_delay(1, None), Some(Duration::from_secs(5)));
        assert_eq!(p.next_delay(9, None), Some(Duration::from_secs(24 * 3600)));
        assert_eq!(p.next_delay(10, None), None);
    }

    #[test]
    fn retry_after_wins_when_longer_and_is_capped() {
        let p = RetryPolicy::new(vec![Duration::from_millis(100)], 0.0, Some(5));
        assert_eq!(p.next_delay(1, Some(Duration::from_secs(2))), Some(Duration::from_secs(2)));
        assert_eq!(p.next_delay(4, None), Some(Duration::from_millis(100)));
        assert_eq!(p.next_delay(1, Some(Duration::from_secs(10 * 86400))), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn a_huge_wait_saturates_instead_of_panicking() {
        let p = RetryPolicy { schedule: vec![Duration::MAX], jitter: 0.5, max_attempts: 10 };
        for _ in 0..100 {
            assert!(p.next_delay(1, None).is_some());
        }
    }

    #[test]
    fn jitter_stays_in_bounds() {
        let p = RetryPolicy::new(vec![Duration::from_secs(10)], 0.2, None);
        for _ in 0..200 {
            let d = p.next_delay(1, None).unwrap();
            assert!(d >= Duration::from_secs(8) && d <= Duration::from_secs(12), "{d:?}");
        }
    }

    #[test]
    fn statuses_and_retry_after() {
        assert_eq!(classify_status(204), StatusClass::Success);
        assert_eq!(classify_status(429), StatusClass::Retry);
        assert_eq!(classify_status(503), StatusClass::Retry);
        assert_eq!(classify_status(404), StatusClass::Permanent);
        assert_eq!(classify_status(301), StatusClass::Permanent);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
