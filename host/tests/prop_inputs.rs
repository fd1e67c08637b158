//! Property tests of two inputs a hostile (or careless) party controls: the
//! config file and the generator component.
//!
//! * Config: arbitrary TOML-ish text never panics (parsing, nor the checks
//!   `wasmpush check` runs before loading generators); a valid config with
//!   one value replaced, or one unknown key added, in `[runtime]`,
//!   `[outbox]`, `[[source]]`, `[[reporter]]`, `[[reporter.generator]]` or a
//!   `limits` table is either accepted or refused with a one-line error that
//!   names the file and the key; an unknown key is always refused.
//! * Components: real components with flipped bytes, truncated, or with
//!   random bytes spliced in never panic the loader; every refusal starts
//!   with `generator <path>:`; one that still loads runs (Ok or Err).
//!
//! Case count: `PROPTEST_CASES`, else 256 per config property and 64 for
//! the component loader (each case compiles a component).

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use wasmpush::config::{Config, ConfigError};
use wasmpush::filter::Filter;
use wasmpush::plan::settings_pairs;
use wasmpush::runtime::{Limits, Runtime, RuntimeOptions};
use wasmpush_sources::EventKind;

/// `PROPTEST_CASES` if set, else `default`. No failure persistence: a
/// failure prints its minimal input instead of writing a regressions file.
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(cases) }
}

/// A folder for the files the cases write (kept until the process ends).
fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// A fresh file name in [`scratch`].
fn fresh(ext: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    scratch().join(format!("case-{}.{ext}", N.fetch_add(1, Ordering::SeqCst)))
}

// ---------------------------------------------------------------- config

/// Writes `text` to a file and runs every check that needs no generator:
/// parsing, `plan::targets`, `plan::sources`, and per generator what
/// `Plan::build` checks before it loads the component (filter, settings,
/// limits; errors named the way it names them).
fn check_config(text: &str) -> (PathBuf, Result<(), ConfigError>) {
    let path = fresh("toml");
    std::fs::write(&path, text).unwrap();
    let result = (|| {
        let config = Config::load(&path)?;
        wasmpush::plan::targets(&config)?;
        wasmpush::plan::sources(&config)?;
        let _ = (config.cache_dir(), config.outbox_path());
        for (ri, r) in config.reporters.iter().enumerate() {
            for (gi, g) in r.generators.iter().enumerate() {
                let field =
                    format!("reporter {:?} generator {}", r.name, g.name.clone().unwrap_or_else(|| gi.to_string()));
                Filter::new(&g.filter).map_err(|e| config.invalid(&field, e.to_string()))?;
                settings_pairs(&g.settings).map_err(|e| config.invalid(&field, e))?;
                wasmpush::plan::limits(&config, ri, gi)?;
            }
        }
        Ok(())
    })();
    (path, result)
}

/// One table of a config: its header and its `key = value` lines (values
/// as TOML text).
#[derive(Debug, Clone)]
struct Section {
    header: &'static str,
    entries: Vec<(String, String)>,
}

/// A config that passes every check, with every table the properties
/// mutate (see [`Place`] for the indexes).
fn valid() -> Vec<Section> {
    let s = |header, entries: &[(&str, &str)]| Section {
        header,
        entries: entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    };
    vec![
        s(
            "[runtime]",
            &[
                ("cache", "false"),
                ("pooling", "true"),
                ("workers", "2"),
                ("max_memory", "\"256MiB\""),
                ("commit_delay", "\"2ms\""),
            ],
        ),
        s("[runtime.limits]", &[("memory", "\"32MiB\""), ("timeout", "\"500ms\""), ("max_headers", "64")]),
        s("[outbox]", &[("path", "\"outbox.redb\"")]),
        s("[[source]]", &[("type", "\"replay\""), ("path", "\"events/\"")]),
        s(
            "[[source]]",
            &[
                ("type", "\"relay\""),
                ("listen", "\"127.0.0.1:0\""),
                ("auth", "{ type = \"none\" }"),
                ("max_body", "\"4MiB\""),
                ("max_connections", "16"),
                ("header_timeout", "\"10s\""),
            ],
        ),
        s(
            "[[reporter]]",
            &[
                ("name", "\"status\""),
                ("server_url", "\"http://127.0.0.1:1/hook?k=1\""),
                ("timeout", "\"5s\""),
                ("retry_schedule", "[\"1s\", \"10s\"]"),
                ("retry_jitter", "0.1"),
                ("max_attempts", "3"),
                ("concurrency", "2"),
                ("headers", "{ X-Team = \"ci\" }"),
            ],
        ),
        s(
            "[[reporter.generator]]",
            &[
                ("name", "\"json\""),
                ("wasm", "\"generators/buildbot-json.wasm\""),
                ("kind", "\"build-status\""),
                ("mode", "[\"failing\", \"warnings\"]"),
                ("builders", "[\"linux\"]"),
                ("settings", "{ channel = \"#ci\", verbose = true }"),
            ],
        ),
        s("[reporter.generator.limits]", &[("timeout", "\"200ms\""), ("memory", "\"16MiB\"")]),
    ]
}

fn render(sections: &[Section]) -> String {
    let mut out = String::new();
    for s in sections {
        out.push_str(s.header);
        out.push('\n');
        for (k, v) in &s.entries {
            out.push_str(&format!("{k} = {v}\n"));
        }
        out.push('\n');
    }
    out
}

/// `v` as inline TOML (`{ a = 1 }`, `[1, "x"]`), as a user would write it.
fn inline(v: &toml::Value) -> String {
    use toml::Value as V;
    match v {
        V::Array(a) => format!("[{}]", a.iter().map(inline).collect::<Vec<_>>().join(", ")),
        V::Table(t) => {
            let kv: Vec<String> = t.iter().map(|(k, v)| format!("{k} = {}", inline(v))).collect();
            if kv.is_empty() { "{}".to_owned() } else { format!("{{ {} }}", kv.join(", ")) }
        }
        other => other.to_string(),
    }
}

/// Where a mutation goes: an index into [`valid`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    Runtime = 0,
    RuntimeLimits = 1,
    Outbox = 2,
    ReplaySource = 3,
    RelaySource = 4,
    Reporter = 5,
    Generator = 6,
    GeneratorLimits = 7,
}

/// What is done there.
#[derive(Debug, Clone)]
enum Mutation {
    /// The value of the existing key at this index (modulo) is replaced.
    Replace(prop::sample::Index, toml::Value),
    /// A key no table knows is added.
    Unknown(String, toml::Value),
}

fn scalar() -> impl Strategy<Value = toml::Value> {
    use toml::Value as V;
    let interesting = prop::sample::select(
        &[
            "",
            "0",
            "-1",
            "0s",
            "-5s",
            "1ns",
            "99999999999999d",
            "18446744073709551616",
            "64MiB",
            "1 PB",
            "nan",
            "all",
            "failing",
            "buildset-combined",
            "build-start-end",
            "http://",
            "https://u:p@h/x#f",
            "ftp://h/",
            "127.0.0.1:99999",
            "[::1]:0",
            "../../etc/passwd",
            "\u{0}",
            "é\u{202e}",
            "a\nb",
        ][..],
    );
    prop_oneof![
        any::<i64>().prop_map(V::Integer),
        prop_oneof![Just(0i64), Just(-1), Just(1), Just(i64::MAX), Just(1 << 40)].prop_map(V::Integer),
        any::<f64>().prop_map(V::Float),
        any::<bool>().prop_map(V::Boolean),
        ".{0,12}".prop_map(V::String),
        interesting.prop_map(|s| V::String(s.to_owned())),
        Just(V::Datetime("1979-05-27T07:32:00Z".parse().unwrap())),
    ]
}

fn value() -> impl Strategy<Value = toml::Value> {
    scalar().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(toml::Value::Array),
            prop::collection::vec(("[a-z_]{1,6}", inner), 0..3)
                .prop_map(|kv| toml::Value::Table(kv.into_iter().collect())),
        ]
    })
}

fn mutation(places: &'static [Place]) -> impl Strategy<Value = (Place, Mutation)> {
    let m = prop_oneof![
        3 => (any::<prop::sample::Index>(), value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        1 => ("zz[a-z0-9_-]{0,8}", value()).prop_map(|(k, v)| Mutation::Unknown(k, v)),
    ];
    (prop::sample::select(places), m)
}

/// Applies `m` at `place`; returns the text, the key involved and its new
/// value.
fn mutate(place: Place, m: &Mutation) -> (String, String, toml::Value) {
    let mut sections = valid();
    let entries = &mut sections[place as usize].entries;
    let (key, v) = match m {
        Mutation::Replace(i, v) => {
            let at = i.index(entries.len());
            entries[at].1 = inline(v);
            (entries[at].0.clone(), v.clone())
        }
        Mutation::Unknown(k, v) => {
            entries.push((k.clone(), inline(v)));
            (k.clone(), v.clone())
        }
    };
    (render(&sections), key, v)
}

/// Does `msg` name `key` (quoted, backticked, or as the last word of a
/// field: `reporter "x" timeout: …`), or, quoted or backticked, a key inside
/// its new value `v` (`setting "a" must be …`)?
fn names(msg: &str, key: &str, v: &toml::Value) -> bool {
    let msg = msg.replace("invalid type:", "");
    let quoted = |k: &str| [format!("`{k}`"), format!("\"{k}\"")].iter().any(|f| msg.contains(f.as_str()));
    // `key:`, `key.inner:` and `key[3]:` (a key path) all name it.
    let as_word = [format!(" {key}:"), format!(" {key} "), format!("{key}."), format!(" {key}[")]
        .iter()
        .any(|f| msg.contains(f.as_str()));
    fn inner_keys(v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    out.push(k.clone());
                    inner_keys(v, out);
                }
            }
            toml::Value::Array(a) => a.iter().for_each(|v| inner_keys(v, out)),
            _ => {}
        }
    }
    let mut keys = vec![key.to_owned()];
    inner_keys(v, &mut keys);
    msg.starts_with(&format!("{key}:")) || as_word || keys.iter().any(|k| quoted(k))
}

/// TOML-ish text: table headers, known and random keys, plausible and
/// broken values, in any order.
fn tomlish() -> impl Strategy<Value = String> {
    let header = prop::sample::select(
        &[
            "[runtime]",
            "[runtime.limits]",
            "[outbox]",
            "[plugins]",
            "[[source]]",
            "[[reporter]]",
            "[[reporter.generator]]",
            "[reporter.generator.limits]",
            "[[reporter.generator.limits]]",
            "[reporter]",
            "[[runtime]]",
            "[source.auth]",
        ][..],
    );
    let key = prop_oneof![
        prop::sample::select(
            &[
                "name",
                "type",
                "path",
                "wasm",
                "kind",
                "mode",
                "server_url",
                "listen",
                "auth",
                "limits",
                "settings",
                "timeout",
                "memory",
                "workers",
                "cache",
                "cache_dir",
                "max_memory",
                "commit_delay",
                "headers",
                "retry_schedule",
                "max_attempts",
                "concurrency",
                "builders",
                "tags",
                "sha256",
                "generator",
                "source",
                "reporter",
                "runtime",
                "outbox",
                "auth.type",
                "limits.timeout",
                "\"a.b\"",
                "1",
                "",
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z_.]{1,8}",
    ];
    let literal = prop_oneof![
        prop::sample::select(
            &[
                "\"replay\"",
                "\"relay\"",
                "\"buildbot\"",
                "\"x\"",
                "1",
                "-1",
                "0",
                "true",
                "1.5",
                "inf",
                "nan",
                "[]",
                "[1, \"a\"]",
                "{}",
                "{ type = \"none\" }",
                "{ timeout = \"1ms\" }",
                "\"5s\"",
                "\"64MiB\"",
                "\"http://127.0.0.1:1/h\"",
                "\"127.0.0.1:0\"",
                "1979-05-27",
                "\"\"\"\nx\"\"\"",
                "'lit'",
                "\"all\"",
                "[\"all\"]",
                "[[1]]",
            ][..]
        )
        .prop_map(str::to_owned),
        "[ -~]{0,12}",
    ];
    let line = prop_oneof![
        1 => header.prop_map(str::to_owned),
        3 => (key, literal).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => "[ -~\t]{0,20}",
    ];
    prop::collection::vec(line, 0..16).prop_map(|l| l.join("\n"))
}

fn check_error(path: &Path, e: &ConfigError) -> Result<String, TestCaseError> {
    let msg = e.to_string();
    let prefix = match e {
        ConfigError::Read { .. } => format!("cannot read config {}: ", path.display()),
        _ => format!("config {}: ", path.display()),
    };
    prop_assert!(msg.starts_with(&prefix), "{}", msg);
    prop_assert!(!msg.contains('\n'), "more than one line: {:?}", msg);
    Ok(msg[prefix.len()..].to_owned())
}

/// One replaced value or unknown key in a table of `places`: accepted, or
/// refused naming the key; an unknown key is never accepted.
fn check_mutation(place: Place, m: &Mutation) -> Result<(), TestCaseError> {
    let (text, key, v) = mutate(place, m);
    let (path, result) = check_config(&text);
    match result {
        Ok(()) => {
            prop_assert!(!matches!(m, Mutation::Unknown(..)), "{:?}: unknown key `{}` accepted:\n{}", place, key, text)
        }
        Err(e) => {
            let msg = check_error(&path, &e)?;
            prop_assert!(names(&msg, &key, &v), "{:?}: the error does not name `{}`: {}\n{}", place, key, msg, text);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    /// Nothing in the config text panics the checks; refusals are one line.
    #[test]
    fn arbitrary_config_text_never_panics(text in prop_oneof![3 => tomlish(), 1 => ".{0,200}"]) {
        let (path, result) = check_config(&text);
        if let Err(e) = result {
            check_error(&path, &e)?;
        }
    }

    #[test]
    fn runtime_errors_name_the_key((place, m) in mutation(&[Place::Runtime, Place::RuntimeLimits])) {
        check_mutation(place, &m)?;
    }

    #[test]
    fn outbox_errors_name_the_key((place, m) in mutation(&[Place::Outbox])) {
        check_mutation(place, &m)?;
    }

    #[test]
    fn source_errors_name_the_key((place, m) in mutation(&[Place::ReplaySource, Place::RelaySource])) {
        check_mutation(place, &m)?;
    }

    #[test]
    fn reporter_errors_name_the_key((place, m) in mutation(&[Place::Reporter])) {
        check_mutation(place, &m)?;
    }

    #[test]
    fn generator_errors_name_the_key((place, m) in mutation(&[Place::Generator, Place::GeneratorLimits])) {
        check_mutation(place, &m)?;
    }
}

#[test]
fn the_unmutated_config_is_valid() {
    let (_, result) = check_config(&render(&valid()));
    result.unwrap();
    // The renderer writes what a user would: inline tables and arrays.
    let v: toml::Value = toml::from_str("v = { a = [1, { b = \"x\" }], c = {} }").unwrap();
    assert_eq!(inline(&v["v"]), "{ a = [1, { b = \"x\" }], c = {} }");
}

/// The smallest configs the properties above found refused without naming
/// the key, or accepted although they have an unknown key. Each asserts the
/// behaviour the properties expect.
mod minimal {
    use super::*;

    const REPORTER: &str = "[[reporter]]\nname = \"s\"\nserver_url = \"http://127.0.0.1:1/hook\"\n";
    const GENERATOR: &str = "[[reporter.generator]]\nwasm = \"g.wasm\"\n";

    /// The error for `text` (which must be refused), without the file prefix.
    fn refusal(text: &str) -> String {
        let (path, result) = check_config(text);
        let e = result.expect_err(text);
        let msg = e.to_string();
        msg.strip_prefix(&format!("config {}: ", path.display())).unwrap_or(&msg).to_owned()
    }

    fn assert_names(text: &str, key: &str) {
        let msg = refusal(text);
        assert!(names(&msg, key, &toml::Value::Boolean(true)), "{msg:?} does not name `{key}`; config:\n{text}");
    }

    /// A typo in a generator table (`mdoe` for `mode`) is silently ignored;
    /// every other table refuses unknown keys.
    #[test]
    fn generator_unknown_key_is_refused() {
        assert_names(&format!("{REPORTER}{GENERATOR}mdoe = \"all\"\n"), "mdoe");
    }

    /// Filter keys (flattened into the generator table) lose their position:
    /// the error points at the `[[reporter.generator]]` line, not the key.
    #[test]
    fn generator_filter_errors_name_the_key() {
        assert_names(&format!("{REPORTER}{GENERATOR}kind = 1\n"), "kind");
        assert_names(&format!("{REPORTER}{GENERATOR}mode = 1\n"), "mode");
        assert_names(&format!("{REPORTER}{GENERATOR}builders = \"linux\"\n"), "builders");
    }

    /// `plan::limits` reports `toml::de::Error::message()` only.
    #[test]
    fn generator_limits_errors_name_the_key() {
        assert_names(&format!("{REPORTER}{GENERATOR}limits = {{ timeout = 5 }}\n"), "timeout");
        assert_names(&format!("{REPORTER}{GENERATOR}limits = {{ memory = true }}\n"), "memory");
    }

    /// `plan::targets` reports `toml::de::Error::message()` only.
    #[test]
    fn reporter_type_errors_name_the_key() {
        assert_names(&format!("{REPORTER}max_attempts = \"3\"\n{GENERATOR}"), "max_attempts");
        assert_names(&format!("{REPORTER}timeout = true\n{GENERATOR}"), "timeout");
        assert_names(&format!("{REPORTER}headers = 1\n{GENERATOR}"), "headers");
    }

    /// `plan::sources` reports `toml::de::Error::message()` only.
    #[test]
    fn relay_source_type_errors_name_the_key() {
        let relay = "[[source]]\ntype = \"relay\"\nauth = { type = \"none\" }\n";
        assert_names(&format!("{relay}listen = \"localhost\"\n"), "listen");
        assert_names(&format!("{relay}listen = \"127.0.0.1:0\"\nmax_connections = -1\n"), "max_connections");
    }

    /// The source type is copied raw into the error's field name.
    #[test]
    fn source_type_errors_are_one_line() {
        let msg = refusal("[[source]]\ntype = \"a\\nb\"\n");
        assert!(!msg.contains('\n'), "{msg:?}");
    }
}

// ------------------------------------------------------------ components

const PAYLOAD: &str = r#"{"buildid": 1, "number": 1, "builderid": 1, "results": 0, "complete": true}"#;

/// One engine for every case (building one is not free).
fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| Runtime::new(&RuntimeOptions::default()).unwrap())
}

fn component(name: &str) -> &'static [u8] {
    static PING: OnceLock<Vec<u8>> = OnceLock::new();
    static JSON: OnceLock<Vec<u8>> = OnceLock::new();
    let cell = if name == "wat-ping" { &PING } else { &JSON };
    cell.get_or_init(|| std::fs::read(common::generator(name)).unwrap())
}

#[derive(Debug, Clone)]
enum Damage {
    /// XOR these bytes at these positions.
    Flip(Vec<(prop::sample::Index, u8)>),
    /// Keep only the first part.
    Truncate(prop::sample::Index),
    /// Replace `len` bytes at the position with random ones.
    Splice(prop::sample::Index, usize, Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        prop::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..8).prop_map(Damage::Flip),
        any::<prop::sample::Index>().prop_map(Damage::Truncate),
        (any::<prop::sample::Index>(), 0..16usize, prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(i, n, b)| Damage::Splice(i, n, b)),
    ]
}

fn apply(orig: &[u8], d: &Damage) -> Vec<u8> {
    let mut b = orig.to_vec();
    match d {
        Damage::Flip(flips) => {
            for (i, x) in flips {
                let at = i.index(b.len());
                b[at] ^= x;
            }
        }
        Damage::Truncate(i) => b.truncate(i.index(b.len())),
        Damage::Splice(i, n, bytes) => {
            let at = i.index(b.len());
            let end = (at + n).min(b.len());
            b.splice(at..end, bytes.iter().copied());
        }
    }
    b
}

proptest! {
    #![proptest_config(config(64))]

    /// A damaged component is refused with `generator <path>: …` or loads
    /// and runs; nothing panics.
    #[test]
    fn damaged_components_never_panic_the_loader(
        name in prop::sample::select(&["wat-ping", "buildbot-json"][..]),
        d in damage(),
    ) {
        let path = fresh("wasm");
        std::fs::write(&path, apply(component(name), &d)).unwrap();
        let limits = Limits { timeout: Duration::from_millis(200), ..Limits::default() };
        match runtime().load(&path, None, limits) {
            Ok(g) => {
                if let Err(e) = g.generate(EventKind::BuildFinished, PAYLOAD, &[]) {
                    let msg = e.to_string();
                    prop_assert!(msg.starts_with(&format!("generator {}: ", g.name())), "{}", msg);
                    prop_assert!(!msg.contains('\n'), "a run error is one line: {:?}", msg);
                }
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.starts_with(&format!("generator {}: ", path.display())), "{}", msg);
            }
        }
        std::fs::remove_file(&path).unwrap();
    }
}
