//! The operator status page of the admin listener in a real headless
//! Chromium (Debian's `/usr/bin/chromium` driven through
//! `/usr/bin/chromedriver` by fantoccini): a running service whose target
//! is down turns two reports into dead letters; once the target is up, the
//! page shows them, refuses a cross-site form, asks before a drop, and its
//! Retry button delivers the report. Screenshots go to
//! `target/artifacts/status-page*.png`.
//!
//! Chromium and chromedriver are required: `scripts/test.sh` installs them
//! (`apt-get install chromium chromium-driver`); without them this test
//! fails, it does not skip.

mod common;

use fantoccini::{Client, ClientBuilder, Locator};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wasmpush::config::Config;
use wasmpush::service::Service;
use wasmpush_testkit::Receiver;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Longest wait for anything in this test (a cold Chromium start included).
const DEADLINE: Duration = Duration::from_secs(60);

/// `GET path`: (status, head, body).
fn get(port: u16, path: &str) -> Option<(u16, String, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.split(' ').nth(1)?.parse().ok()?;
    let (head, body) = resp.split_once("\r\n\r\n")?;
    Some((status, head.to_ascii_lowercase(), body.to_string()))
}

async fn get_async(port: u16, path: &'static str) -> Option<(u16, String, String)> {
    tokio::task::spawn_blocking(move || get(port, path)).await.unwrap()
}

/// The dead letters as `/api/outbox?state=dead` lists them.
async fn dead_letters(admin: u16) -> Vec<serde_json::Value> {
    let (status, _, body) = get_async(admin, "/api/outbox?state=dead").await.expect("admin answers");
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    json["entries"].as_array().unwrap_or_else(|| panic!("no entries in {body}")).clone()
}

/// Fails (never skips) without Debian's Chromium and chromedriver.
fn require_chromium() {
    for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing: this test drives Debian's Chromium; install it with \
             `apt-get install -y chromium chromium-driver` (scripts/test.sh does) [package {package}]"
        );
    }
}

/// chromedriver on its own port, in its own process group (the Chromium
/// it starts joins it), killed with everything in it on drop.
struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Driver {
    fn start(dir: &Path) -> Driver {
        require_chromium();
        let port = common::free_port();
        let log = dir.join("chromedriver.log");
        let child = Command::new(CHROMEDRIVER)
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let mut driver = Driver { child, port, log };
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited at start ({status}):\n{}", driver.log_text());
            }
            assert!(t.elapsed() < DEADLINE, "chromedriver does not listen on {port}:\n{}", driver.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
        driver
    }

    fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// A new headless Chromium session with a fresh profile in `profile`.
    async fn session(&self, profile: &Path) -> Client {
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1280,960",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let serde_json::Value::Object(caps) = caps else { unreachable!() };
        let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(caps);
        builder
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| panic!("no Chromium session: {e}\nchromedriver log:\n{}", self.log_text()))
    }
}

impl Drop for Driver {
    /// Ends chromedriver and any Chromium left over (a failed test never
    /// closed its session): the whole process group, then reaps chromedriver.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let killed = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        if !killed.is_ok_and(|s| s.success()) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The text of the first element matching `css`, if any.
async fn text_of(client: &Client, css: &str) -> Option<String> {
    let found = client.find_all(Locator::Css(css)).await.ok()?;
    found.first()?.text().await.ok()
}

/// How many elements match `css` now.
async fn count(client: &Client, css: &str) -> usize {
    client.find_all(Locator::Css(css)).await.map_or(0, |v| v.len())
}

/// Waits until the browser shows a document at `path` of `origin` that is
/// fully loaded.
async fn wait_for_page(client: &Client, origin: &str, path: &str) {
    let t = Instant::now();
    loop {
        let url = client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
        let done = client.execute("return document.readyState", vec![]).await.ok();
        if url == format!("{origin}{path}") && done.as_ref().and_then(|v| v.as_str()) == Some("complete") {
            return;
        }
        assert!(t.elapsed() < DEADLINE, "the browser is at {url} ({done:?}), not {origin}{path}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn save_png(name: &str, png: &[u8]) -> PathBuf {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a screenshot is a PNG");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, png).unwrap();
    path
}

/// Another site: one page with a form that posts to the admin listener's
/// drop endpoint (what a CSRF attack would do).
async fn other_site(admin: u16) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let page = format!(
        "<!DOCTYPE html><html><head><title>elsewhere</title></head><body>\
         <form method=\"post\" action=\"http://127.0.0.1:{admin}/api/outbox/drop\">\
         <input type=\"hidden\" name=\"dead\" value=\"1\"><button id=\"go\" type=\"submit\">win a prize</button>\
         </form></body></html>"
    );
    let app = axum::Router::new().route("/", axum::routing::get(move || async move { axum::response::Html(page) }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_retries_a_dead_letter_from_the_status_page_in_chromium() {
    let started = Instant::now();
    require_chromium();
    let dir = tempfile::tempdir().unwrap();
    let (relay, target, admin) = (common::free_port(), common::free_port(), common::free_port());
    // The target is down and a report gets one attempt: it goes dead.
    let path = common::relay_config(dir.path(), relay, target, "1h", false);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("max_attempts = 100000"), "{text}");
    let text = format!(
        "[admin]\nlisten = \"127.0.0.1:{admin}\"\n{}",
        text.replace("max_attempts = 100000", "max_attempts = 1")
    );
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let service = std::sync::Arc::new(Service::start(&config).await.unwrap());
    let (stop_tx, run) = common::run_until_stopped(service.clone(), Duration::from_secs(5));
    let t = Instant::now();
    while !matches!(get_async(admin, "/readyz").await, Some((200, _, _))) {
        assert!(t.elapsed() < DEADLINE, "the service never got ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    for buildid in [1, 2] {
        let status = tokio::task::spawn_blocking(move || {
            common::post(relay, "/buildbot/build-finished", &common::build_body(buildid))
        })
        .await
        .unwrap();
        assert_eq!(status, Some(200));
    }
    let t = Instant::now();
    let dead = loop {
        let dead = dead_letters(admin).await;
        if dead.len() == 2 {
            break dead;
        }
        assert!(t.elapsed() < DEADLINE, "not two dead letters: {dead:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let id_of = |e: &serde_json::Value| e["id"].as_str().expect("an id").to_string();
    let (retry_id, drop_id) = (id_of(&dead[0]), id_of(&dead[1]));
    assert_ne!(retry_id, drop_id);
    assert!(dead.iter().all(|e| e["reporter"] == "target" && e["state"] == "dead"), "{dead:?}");

    // The page as the server sends it: HTML under a strict policy.
    let (status, head, html) = get_async(admin, "/").await.expect("the page");
    assert_eq!(status, 200, "{head}\n{html}");
    assert!(head.contains("content-type: text/html; charset=utf-8"), "{head}");
    assert!(head.contains("content-security-policy: default-src 'none'; script-src 'self'"), "{head}");
    assert!(html.contains(&format!("data-retry=\"{retry_id}\"")), "{html}");
    let (status, head, _) = get_async(admin, "/status.js").await.expect("the script");
    assert_eq!(status, 200);
    // text/javascript (RFC 9239) or the older application/javascript.
    assert!(
        head.contains("content-type: text/javascript") || head.contains("content-type: application/javascript"),
        "{head}"
    );
    let (status, head, _) = get_async(admin, "/status.css").await.expect("the style");
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/css"), "{head}");

    // The target comes up (before Chromium starts, so nothing else takes its port).
    let receiver = Receiver::bind(format!("127.0.0.1:{target}").parse().unwrap()).await.unwrap();

    let driver = Driver::start(dir.path());
    let profile = tempfile::tempdir().unwrap();
    let client = driver.session(profile.path()).await;
    let origin = format!("http://127.0.0.1:{admin}");
    client.goto(&format!("{origin}/")).await.unwrap();
    wait_for_page(&client, &origin, "/").await;
    assert!(client.title().await.unwrap().starts_with("wasmpush "), "{}", client.source().await.unwrap());

    // The script ran (the policy lets /status.js in): its refresh control
    // shows; pause it so the page holds still. The stylesheet applies.
    let toggle = client.find(Locator::Css("#refresh-toggle")).await.unwrap();
    assert!(toggle.is_displayed().await.unwrap(), "the script did not run");
    assert_eq!(toggle.text().await.unwrap(), "pause");
    toggle.click().await.unwrap();
    let refresh = client.find(Locator::Css("#refresh")).await.unwrap();
    assert_eq!(refresh.attr("data-paused").await.unwrap().as_deref(), Some("true"));
    assert_eq!(toggle.text().await.unwrap(), "resume");
    let font = client.execute("return getComputedStyle(document.body).fontFamily", vec![]).await.unwrap();
    assert!(font.as_str().is_some_and(|f| f.contains("system-ui")), "the stylesheet did not apply: {font}");

    // The reporter and both dead letters, each with its buttons.
    assert_eq!(text_of(&client, "#readiness").await.as_deref(), Some("ready"));
    assert_eq!(text_of(&client, "tr[data-reporter=\"target\"] td.name").await.as_deref(), Some("target"));
    assert_eq!(text_of(&client, "tr[data-reporter=\"target\"] td.dead").await.as_deref(), Some("2"));
    assert_eq!(text_of(&client, "tr[data-reporter=\"target\"] td.delivered").await.as_deref(), Some("0"));
    for id in [&retry_id, &drop_id] {
        assert_eq!(count(&client, &format!("tr[data-dead=\"{id}\"]")).await, 1, "{id}");
        assert_eq!(count(&client, &format!("button[data-retry=\"{id}\"]")).await, 1, "{id}");
        assert_eq!(count(&client, &format!("button[data-drop=\"{id}\"]")).await, 1, "{id}");
    }
    assert_eq!(count(&client, "#no-dead").await, 0);
    // The failed attempts are listed as such.
    assert_eq!(count(&client, "#recent tr[data-outcome=\"dead\"]").await, 2);
    assert_eq!(text_of(&client, "#recent tr[data-outcome=\"dead\"] td.status").await.as_deref(), Some("no response"));
    let shot = save_png("status-page.png", &client.screenshot().await.unwrap());

    // Another site's form posting "drop all dead" here is refused: the
    // browser sends it (and lands on the answer), nothing is dropped.
    let elsewhere = other_site(admin).await;
    client.goto(&format!("http://127.0.0.1:{elsewhere}/")).await.unwrap();
    client.find(Locator::Css("#go")).await.unwrap().click().await.unwrap();
    wait_for_page(&client, &origin, "/api/outbox/drop").await;
    assert_eq!(dead_letters(admin).await.len(), 2, "a cross-site form dropped dead letters");

    // Drop asks first: dismissed, nothing happens; accepted, it is gone.
    client.goto(&format!("{origin}/")).await.unwrap();
    wait_for_page(&client, &origin, "/").await;
    let drop_button = format!("button[data-drop=\"{drop_id}\"]");
    client.find(Locator::Css(&drop_button)).await.unwrap().click().await.unwrap();
    let question = client.get_alert_text().await.unwrap();
    assert!(question.contains(&drop_id) && question.starts_with("Drop dead letter"), "{question}");
    client.dismiss_alert().await.unwrap();
    assert_eq!(dead_letters(admin).await.len(), 2, "a dismissed drop dropped");
    assert_eq!(count(&client, &format!("tr[data-dead=\"{drop_id}\"]")).await, 1);
    client.find(Locator::Css(&drop_button)).await.unwrap().click().await.unwrap();
    client.accept_alert().await.unwrap();
    let t = Instant::now();
    loop {
        // After the 303 the browser is back on / without that row.
        let url = client.current_url().await.map(|u| u.path().to_string()).unwrap_or_default();
        if url == "/" && count(&client, &format!("tr[data-dead=\"{drop_id}\"]")).await == 0 {
            break;
        }
        assert!(t.elapsed() < DEADLINE, "the dropped dead letter is still shown");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_for_page(&client, &origin, "/").await;
    let left = dead_letters(admin).await;
    assert_eq!(left.iter().map(id_of).collect::<Vec<_>>(), vec![retry_id.clone()]);
    assert!(receiver.received().is_empty(), "a drop delivered something");

    // Retry: the target gets the report, the page (after the 303) shows no
    // dead letter and one delivery.
    client.find(Locator::Css(&format!("button[data-retry=\"{retry_id}\"]"))).await.unwrap().click().await.unwrap();
    assert_eq!(receiver.wait_for(1, DEADLINE).await, 1, "the retried report did not arrive");
    let got = receiver.received();
    assert_eq!(got[0].header("webhook-id"), Some(retry_id.as_str()), "{:?}", got[0].headers);
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].path, "/hook");
    let t = Instant::now();
    loop {
        let url = client.current_url().await.map(|u| u.path().to_string()).unwrap_or_default();
        let delivered = text_of(&client, "tr[data-reporter=\"target\"] td.delivered").await;
        if url == "/" && count(&client, "#no-dead").await == 1 && delivered.as_deref() == Some("1") {
            break;
        }
        assert!(t.elapsed() < DEADLINE, "the page at {url} does not show the delivery (delivered: {delivered:?})");
        // The redirect may show the page a moment before the delivery ends.
        tokio::time::sleep(Duration::from_millis(100)).await;
        client.refresh().await.unwrap();
    }
    assert_eq!(count(&client, "tr[data-dead]").await, 0);
    assert_eq!(text_of(&client, "tr[data-reporter=\"target\"] td.dead").await.as_deref(), Some("0"));
    assert_eq!(text_of(&client, "#no-dead").await.as_deref(), Some("no dead letters"));
    assert_eq!(count(&client, "#recent tr[data-outcome=\"delivered\"]").await, 1);
    assert_eq!(text_of(&client, "#recent tr[data-outcome=\"delivered\"] td.status").await.as_deref(), Some("200"));
    // The pause survived the reloads (kept in this browser).
    assert_eq!(text_of(&client, "#refresh-toggle").await.as_deref(), Some("resume"));
    assert!(dead_letters(admin).await.is_empty());
    let after = save_png("status-page-after-retry.png", &client.screenshot().await.unwrap());

    client.close().await.unwrap();
    drop(driver);
    let _ = stop_tx.send(());
    run.await.unwrap().unwrap();
    eprintln!(
        "status page test: {:.1}s; screenshots {} and {}",
        started.elapsed().as_secs_f64(),
        shot.display(),
        after.display()
    );
}
