//! Durations in config files, written one way everywhere: a humantime
//! string (`"10s"`, `"250ms"`, `"2h 30m"`) or a plain number of seconds.
//! Keys that used to take a number in another unit (`initial_ms`) are kept
//! as deprecated aliases through [`millis`].

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::time::Duration;

/// A duration given as seconds (`10`, `0.5`) or a humantime string
/// (`"10s"`, `"250ms"`, `"2h 30m"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationValue(pub Duration);

/// Reads a duration whose bare numbers are in `unit` (seconds or ms).
struct Visitor {
    unit: Duration,
}

impl serde::de::Visitor<'_> for Visitor {
    type Value = Duration;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration string like \"10s\" or \"5m\", or a number")
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Duration, E> {
        self.unit
            .checked_mul(u32::try_from(v).map_err(|_| E::custom("duration too long"))?)
            .ok_or_else(|| E::custom("duration too long"))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
        let v = u64::try_from(v).map_err(|_| E::custom("a duration cannot be negative"))?;
        self.visit_u64(v)
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Duration, E> {
        Duration::try_from_secs_f64(v * self.unit.as_secs_f64())
            .map_err(|_| E::custom("a duration must be a finite, non-negative number"))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
        humantime::parse_duration(v.trim()).map_err(|e| E::custom(format!("bad duration {v:?}: {e}")))
    }
}

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        secs(d).map(DurationValue)
    }
}

/// `#[serde(deserialize_with = "wasmpush_model::duration::secs")]`: a
/// humantime string or a number of seconds.
pub fn secs<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_any(Visitor { unit: Duration::from_secs(1) })
}

/// Like [`secs`], but a bare number is milliseconds (for the deprecated
/// `*_ms` keys).
pub fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_any(Visitor { unit: Duration::from_millis(1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct S {
        #[serde(deserialize_with = "secs")]
        s: Duration,
        #[serde(deserialize_with = "millis")]
        ms: Duration,
    }

    #[test]
    fn strings_and_numbers_in_their_unit() {
        let a: S = serde_json::from_str(r#"{"s": 30, "ms": 500}"#).unwrap();
        assert_eq!((a.s, a.ms), (Duration::from_secs(30), Duration::from_millis(500)));
        let b: S = serde_json::from_str(r#"{"s": "1m 30s", "ms": "2s"}"#).unwrap();
        assert_eq!((b.s, b.ms), (Duration::from_secs(90), Duration::from_secs(2)));
        assert!(serde_json::from_str::<S>(r#"{"s": -1, "ms": 1}"#).is_err());
        assert!(serde_json::from_str::<S>(r#"{"s": "soon", "ms": 1}"#).unwrap_err().to_string().contains("soon"));
    }
}
