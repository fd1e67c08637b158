//! Byte sizes in config files: a plain integer (`4194304`) or a string with
//! a unit (`"4MiB"`, `"512 KiB"`, `"10kB"`), parsed by `bytesize`.

use serde::{Deserializer, de::Error};

/// `"64MiB"` → 67108864. Accepts B, KB/KiB, MB/MiB, GB/GiB (any case).
pub fn parse(s: &str) -> Result<u64, String> {
    s.trim().parse::<bytesize::ByteSize>().map(|b| b.as_u64()).map_err(|e| format!("invalid size {s:?}: {e}"))
}

/// `#[serde(deserialize_with = "wasmpush_model::size::deserialize")]`.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a size: a number of bytes or a string like \"4MiB\"")
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::custom("a size cannot be negative"))
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<u64, E> {
            parse(v).map_err(E::custom)
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_with_and_without_units() {
        assert_eq!(super::parse("4MiB"), Ok(4 << 20));
        assert_eq!(super::parse("10kB"), Ok(10_000));
        assert_eq!(super::parse("512 KiB"), Ok(512 << 10));
        assert_eq!(super::parse("4194304"), Ok(4194304));
        assert!(super::parse("4 parsecs").unwrap_err().contains("4 parsecs"));
        #[derive(serde::Deserialize)]
        struct S {
            #[serde(deserialize_with = "super::deserialize")]
            n: u64,
        }
        let a: S = serde_json::from_str(r#"{"n": 7}"#).unwrap();
        let b: S = serde_json::from_str(r#"{"n": "1KiB"}"#).unwrap();
        assert_eq!((a.n, b.n), (7, 1024));
    }
}
