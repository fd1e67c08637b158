//! Byte sizes in config files: a plain integer (`4194304`) or a string with
//! a unit (`"4MiB"`, `"512 KiB"`, `"10kB"`), parsed by `bytesize`.

use serde::{Deserialize, Deserializer, de::Error};

/// `"64MiB"` → 67108864. Accepts B, KB/KiB, MB/MiB, GB/GiB (any case).
pub fn parse(s: &str) -> Result<u64, String> {
    s.trim().parse::<bytesize::ByteSize>().map(|b| b.as_u64()).map_err(|e| format!("invalid size {s:?}: {e}"))
}

/// `#[serde(deserialize_with = "wasmpush_model::size::deserialize")]`.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Int(u64),
        Text(String),
    }
    match Size::deserialize(d)? {
        Size::Int(n) => Ok(n),
        Size::Text(s) => parse(&s).map_err(D::Error::custom),
    }
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
