//! The wasmpush side of the parity test: the catalog plugin each row names,
//! its `[reporter]` block from `plugin.toml` rebased on the capture server, and
//! the `wasmpush run` that follows the master.

use super::*;

/// How the config names a plugin: `catalog:<name>` when `plugins/catalog.lock`
/// (compiled into the host) pins the file the catalog build wrote, else
/// that file's path (a plugin not locked yet, or a lock not rewritten after
/// a rebuild: that is `host/tests/catalog.rs`'s business, not parity's).
pub(crate) fn plugin_wasm(name: &str) -> String {
    let p = plugin_file(name);
    let actual = wasmpush_distribute::Sha256::of(&std::fs::read(&p).unwrap()).hex();
    match wasmpush::catalog::lock().get(name) {
        Some(locked) if *locked == actual => format!("catalog:{name}"),
        Some(_) => {
            eprintln!("reporter parity: {name}.wasm differs from plugins/catalog.lock: using the file");
            p.to_str().unwrap().to_string()
        }
        None => p.to_str().unwrap().to_string(),
    }
}

/// `target/catalog/<name>.wasm`; a missing one fails the test, loudly.
pub(crate) fn plugin_file(name: &str) -> PathBuf {
    let p = common::repo().join("target/catalog").join(format!("{name}.wasm"));
    assert!(
        p.exists(),
        "reporter parity: catalog plugin {name:?} is missing ({}): build the catalog with \
         `bash scripts/build-generators.sh` (WASMPUSH_ONLY_RUST=1 skips the non-Rust plugins, \
         e.g. zulip), or the plugin does not exist yet",
        p.display()
    );
    p
}

/// `url` with its scheme and authority replaced by `base` (its path kept).
pub(crate) fn rebase(url: &str, base: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    format!("{base}{}", path.trim_end_matches('/'))
}

/// Every environment variable a `[reporter]` block reads (`*_env`, `env`).
pub(crate) fn env_names(v: &toml::Value, out: &mut BTreeSet<String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                match v {
                    toml::Value::String(s) if k == "env" || k.ends_with("_env") => {
                        out.insert(s.clone());
                    }
                    _ => env_names(v, out),
                }
            }
        }
        toml::Value::Array(a) => a.iter().for_each(|v| env_names(v, out)),
        _ => {}
    }
}

/// The `[[reporter]]` table for `row`: plugin.toml's `[reporter]` block with
/// the URLs on the capture receiver, the row's overrides and generator.
pub(crate) fn reporter_table(row: &Row, capture_url: &str) -> toml::Table {
    let manifest = common::repo().join("plugins").join(row.plugin).join("plugin.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("reporter parity: {}: {e} (plugin {:?} missing?)", manifest.display(), row.plugin));
    let manifest: toml::Table = text.parse().unwrap_or_else(|e| panic!("{}: {e}", row.plugin));
    let mut r = manifest
        .get("reporter")
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_else(|| panic!("plugins/{}/plugin.toml has no [reporter] block", row.plugin));
    let base = format!("{capture_url}/wasmpush/{}", row.plugin);
    let server = r.get("server_url").and_then(toml::Value::as_str).unwrap_or("").to_string();
    r.insert("server_url".into(), rebase(&server, &base).into());
    if let Some(auth) = r.get_mut("auth").and_then(toml::Value::as_table_mut) {
        for key in ["token_url", "api_url"] {
            if let Some(u) = auth.get(key).and_then(toml::Value::as_str).map(str::to_string) {
                auth.insert(key.into(), rebase(&u, &base).into());
            }
        }
    }
    for (key, value) in row.reporter {
        let value: toml::Table = format!("v = {value}").parse().unwrap();
        let mut at = &mut r;
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().unwrap();
        for p in parts {
            at = at.entry(p).or_insert_with(|| toml::Table::new().into()).as_table_mut().unwrap();
        }
        at.insert(last.into(), value["v"].clone());
    }
    let mut names = BTreeSet::new();
    env_names(&toml::Value::Table(r.clone()), &mut names);
    let given: BTreeSet<String> = row.env.iter().map(|(k, _)| k.to_string()).collect();
    assert!(
        names.is_subset(&given),
        "reporter parity: plugins/{}/plugin.toml reads {names:?}; the row gives {given:?}",
        row.plugin
    );
    r.insert("name".into(), row.plugin.into());
    let mut generator: toml::Table = row.generator.parse().unwrap();
    generator.insert("wasm".into(), plugin_wasm(row.plugin).into());
    r.insert("generator".into(), toml::Value::Array(vec![generator.into()]));
    r
}

pub(crate) fn wasmpush_run(dir: &Path, buildbot_url: &str, capture_url: &str) -> Child {
    let mut cfg = toml::Table::new();
    let mut source = toml::Table::new();
    source.insert("type".into(), "buildbot".into());
    source.insert("url".into(), buildbot_url.into());
    source.insert("state_file".into(), "cursor.json".into());
    source.insert("start_from".into(), "beginning".into());
    cfg.insert("source".into(), toml::Value::Array(vec![source.into()]));
    let mut outbox = toml::Table::new();
    outbox.insert("path".into(), "outbox.redb".into());
    cfg.insert("outbox".into(), outbox.into());
    let mut runtime = toml::Table::new();
    runtime.insert("cache_dir".into(), "cache".into());
    cfg.insert("runtime".into(), runtime.into());
    let reporters = REPORTERS.iter().map(|row| toml::Value::Table(reporter_table(row, capture_url))).collect();
    cfg.insert("reporter".into(), toml::Value::Array(reporters));
    let path = dir.join("wasmpush.toml");
    std::fs::write(&path, toml::to_string(&cfg).unwrap()).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmpush"));
    cmd.args(["run", path.to_str().unwrap()]);
    for row in REPORTERS {
        for (k, v) in row.env {
            cmd.env(k, v);
        }
    }
    cmd.stdout(Stdio::null()).stderr(std::fs::File::create(dir.join("wasmpush.log")).unwrap()).spawn().unwrap()
}
