//! The operator's status page (`GET /` of the admin listener): one
//! server-rendered HTML5 document from a [`StatusView`], readable without
//! JavaScript and served under a strict Content-Security-Policy, so it has
//! no inline script or style: [`SCRIPT`] (`/status.js`) and [`STYLE`]
//! (`/status.css`) come from the binary like the page itself.
//!
//! Every piece of dynamic text (reporter names, ids, errors from remote
//! servers) goes through [`Esc`]. The buttons are plain forms that POST to
//! `/api/outbox/retry` and `/api/outbox/drop` (the server answers a form
//! with `303 See Other` back to `/`); the script only adds a confirmation
//! before a drop and an auto-refresh that can be paused.

use super::view::{DeliveryView, EntryView, GeneratorView, ReporterView, StatusView};
use std::fmt::{self, Display, Write};

/// `/status.js`: confirmation before a drop, pausable auto-refresh.
pub const SCRIPT: &str = include_str!("status.js");

/// `/status.css`.
pub const STYLE: &str = include_str!("status.css");

/// Text escaped for HTML content and quoted attribute values.
pub struct Esc<'a>(pub &'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// `2024-05-01 12:00:03` (UTC) for ms since the Unix epoch.
fn utc(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t).to_string().replace('T', " ").trim_end_matches('Z').to_string()
}

/// An optional error: the text, or a dash.
fn error_cell(out: &mut String, error: Option<&str>) {
    match error {
        Some(e) => {
            let _ = write!(out, "<td class=\"error\">{}</td>", Esc(e));
        }
        None => out.push_str("<td class=\"error none\">—</td>"),
    }
}

/// The whole page.
pub fn render(view: &StatusView) -> String {
    let mut out = String::with_capacity(8192);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>wasmpush {version} status</title>\n\
         <link rel=\"icon\" href=\"data:,\">\n\
         <link rel=\"stylesheet\" href=\"/status.css\">\n\
         <script src=\"/status.js\" defer></script>\n</head>\n<body>\n",
        version = Esc(&view.version)
    );
    header(&mut out, view);
    out.push_str("<main>\n");
    reporters(&mut out, &view.reporters);
    dead_letters(&mut out, view);
    recent(&mut out, &view.recent);
    generators(&mut out, &view.generators);
    out.push_str(
        "</main>\n<footer>\n<p>Machine-readable: <a href=\"/api/status\">/api/status</a> · \
         <a href=\"/api/outbox?state=dead\">/api/outbox?state=dead</a> · \
         <a href=\"/api/outbox?state=pending\">/api/outbox?state=pending</a> · \
         <a href=\"/metrics\">/metrics</a> · <a href=\"/readyz\">/readyz</a></p>\n\
         </footer>\n</body>\n</html>\n",
    );
    out
}

fn header(out: &mut String, view: &StatusView) {
    let _ = write!(out, "<header>\n<h1>wasmpush <span class=\"version\">{}</span></h1>\n", Esc(&view.version));
    match &view.not_ready {
        None => out.push_str("<p id=\"readiness\" class=\"ready\" data-ready=\"true\">ready</p>\n"),
        Some(reason) => {
            let _ = writeln!(
                out,
                "<p id=\"readiness\" class=\"not-ready\" data-ready=\"false\">not ready: {}</p>",
                Esc(reason)
            );
        }
    }
    // Shown by the script only: without it the page is simply static.
    out.push_str(
        "<div id=\"refresh\" hidden>\
         <span id=\"refresh-state\">auto-refresh every 5 s</span> \
         <button type=\"button\" id=\"refresh-toggle\">pause</button> \
         <span id=\"loaded-at\"></span></div>\n</header>\n",
    );
}

fn reporters(out: &mut String, rows: &[ReporterView]) {
    out.push_str("<section id=\"reporters\">\n<h2>Reporters</h2>\n");
    if rows.is_empty() {
        out.push_str("<p class=\"empty\">no reporters</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<table>\n<thead><tr><th>reporter</th><th class=\"num\">delivered</th><th class=\"num\">pending</th>\
         <th class=\"num\">dead</th><th class=\"num\">retries</th><th>last error</th></tr></thead>\n<tbody>\n",
    );
    for r in rows {
        let _ = write!(
            out,
            "<tr data-reporter=\"{name}\"><td class=\"name\">{name}</td><td class=\"num delivered\">{}</td>\
             <td class=\"num pending\">{}</td><td class=\"num dead{}\">{}</td><td class=\"num retries\">{}</td>",
            r.delivered,
            r.pending,
            if r.dead > 0 { " alert" } else { "" },
            r.dead,
            r.retries,
            name = Esc(&r.name),
        );
        error_cell(out, r.last_error.as_deref());
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// A one-button form posting `field=value` to `/api/outbox/{action}`.
fn action_form(out: &mut String, action: &str, field: &str, value: &str, button: &str, confirm: Option<&str>) {
    let _ = write!(out, "<form method=\"post\" action=\"/api/outbox/{action}\" class=\"action\"");
    if let Some(question) = confirm {
        let _ = write!(out, " data-confirm=\"{}\"", Esc(question));
    }
    let _ = write!(out, "><input type=\"hidden\" name=\"{field}\" value=\"{}\">{button}</form>", Esc(value));
}

fn dead_letters(out: &mut String, view: &StatusView) {
    out.push_str("<section id=\"dead-letters\">\n<h2>Dead letters</h2>\n");
    if view.dead.is_empty() {
        out.push_str("<p class=\"empty\" id=\"no-dead\">no dead letters</p>\n</section>\n");
        return;
    }
    let total: u64 = view.reporters.iter().map(|r| r.dead).sum();
    let shown = view.dead.len() as u64;
    if total > shown {
        let _ = writeln!(out, "<p class=\"note\">showing the oldest {shown} of {total}</p>");
    }
    out.push_str("<div class=\"bulk\">");
    action_form(
        out,
        "retry",
        "dead",
        "1",
        "<button type=\"submit\" id=\"retry-all-dead\">retry all dead</button>",
        None,
    );
    action_form(
        out,
        "drop",
        "dead",
        "1",
        "<button type=\"submit\" id=\"drop-all-dead\" class=\"danger\">drop all dead</button>",
        Some("Drop every dead letter? Their reports are deleted for good."),
    );
    out.push_str("</div>\n");
    out.push_str(
        "<table>\n<thead><tr><th>id</th><th>reporter</th><th>build</th><th>plugin</th>\
         <th class=\"num\">attempts</th><th>enqueued (UTC)</th><th>last error</th><th>action</th></tr></thead>\n<tbody>\n",
    );
    for e in &view.dead {
        dead_row(out, e);
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn dead_row(out: &mut String, e: &EntryView) {
    let id = Esc(&e.id);
    let _ = write!(
        out,
        "<tr data-dead=\"{id}\"><td class=\"id\"><a href=\"/api/outbox/{href}\">{id}</a></td>\
         <td class=\"reporter\">{}</td><td class=\"build\">{}</td><td class=\"plugin\">{}</td>\
         <td class=\"num\">{}</td><td class=\"time\">{}</td>",
        Esc(&e.reporter),
        Esc(&e.ordering_key),
        Esc(&e.generator),
        e.attempts,
        utc(e.enqueued_at_ms),
        href = Esc(&percent_path(&e.id)),
    );
    error_cell(out, e.last_error.as_deref());
    out.push_str("<td class=\"actions\">");
    action_form(
        out,
        "retry",
        "id",
        &e.id,
        &format!("<button type=\"submit\" data-retry=\"{id}\">Retry</button>"),
        None,
    );
    action_form(
        out,
        "drop",
        "id",
        &e.id,
        &format!("<button type=\"submit\" data-drop=\"{id}\" class=\"danger\">Drop</button>"),
        Some(&format!("Drop dead letter {}? Its report is deleted for good.", e.id)),
    );
    out.push_str("</td></tr>\n");
}

/// `id` as one URL path segment (unreserved characters kept, the rest
/// percent-encoded).
fn percent_path(id: &str) -> String {
    let mut s = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    s
}

fn recent(out: &mut String, rows: &[DeliveryView]) {
    out.push_str("<section id=\"recent\">\n<h2>Recent deliveries</h2>\n");
    if rows.is_empty() {
        out.push_str("<p class=\"empty\" id=\"no-recent\">no deliveries yet</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<table>\n<thead><tr><th>time (UTC)</th><th>reporter</th><th>build</th><th>plugin</th>\
         <th class=\"num\">status</th><th class=\"num\">latency ms</th><th>outcome</th></tr></thead>\n<tbody>\n",
    );
    for d in rows {
        let status = d.status.map_or_else(|| "no response".to_string(), |s| s.to_string());
        let _ = writeln!(
            out,
            "<tr data-delivery=\"{}\" data-outcome=\"{outcome}\"><td class=\"time\">{}</td><td class=\"reporter\">{}</td>\
             <td class=\"build\">{}</td><td class=\"plugin\">{}</td><td class=\"num status\">{status}</td>\
             <td class=\"num\">{}</td><td class=\"outcome outcome-{outcome}\">{outcome}</td></tr>",
            Esc(&d.id),
            utc(d.at_ms),
            Esc(&d.reporter),
            Esc(&d.ordering_key),
            Esc(&d.generator),
            d.latency_ms,
            outcome = Esc(&d.outcome),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn generators(out: &mut String, rows: &[GeneratorView]) {
    out.push_str("<section id=\"generators\">\n<h2>Generators</h2>\n");
    if rows.is_empty() {
        out.push_str("<p class=\"empty\">no generators loaded</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<table>\n<thead><tr><th>reporter</th><th>generator</th><th class=\"num\">calls</th>\
         <th class=\"num\">failures</th><th class=\"num\">mean µs</th><th>last error</th></tr></thead>\n<tbody>\n",
    );
    for g in rows {
        let _ = write!(
            out,
            "<tr data-generator=\"{}\"><td class=\"reporter\">{}</td><td class=\"name\">{}</td><td class=\"num calls\">{}</td>\
             <td class=\"num failures{}\">{}</td><td class=\"num\">{}</td>",
            Esc(&g.generator),
            Esc(&g.reporter),
            Esc(&g.generator),
            g.calls,
            if g.failures > 0 { " alert" } else { "" },
            g.failures,
            g.mean_micros,
        );
        error_cell(out, g.last_error.as_deref());
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>alert(\"x\")</script>' onmouseover='x' &amp; </td></table>";

    fn dead(id: &str) -> EntryView {
        EntryView {
            seq: 1,
            id: id.into(),
            reporter: "target".into(),
            ordering_key: "buildrequest:7".into(),
            generator: "buildbot-json".into(),
            state: "dead".into(),
            attempts: 1,
            enqueued_at_ms: 1_714_564_803_000,
            next_attempt_at_ms: 0,
            last_error: Some("connection refused".into()),
            body_len: 10,
        }
    }

    fn full() -> StatusView {
        StatusView {
            version: "0.1.0".into(),
            not_ready: None,
            reporters: vec![ReporterView {
                name: "target".into(),
                delivered: 3,
                retries: 2,
                pending: 1,
                dead: 2,
                superseded: 0,
                last_error: Some("HTTP 500".into()),
            }],
            recent: vec![
                DeliveryView {
                    at_ms: 1_714_564_803_000,
                    reporter: "target".into(),
                    id: "msg_a".into(),
                    ordering_key: "buildrequest:7".into(),
                    generator: "buildbot-json".into(),
                    status: Some(200),
                    latency_ms: 12,
                    outcome: "delivered".into(),
                },
                DeliveryView { status: None, outcome: "dead".into(), id: "msg_b".into(), ..Default::default() },
            ],
            generators: vec![GeneratorView {
                reporter: "target".into(),
                generator: "buildbot-json".into(),
                calls: 4,
                failures: 0,
                mean_micros: 850,
                last_error: None,
            }],
            dead: vec![dead("msg_1"), dead("msg_2")],
        }
    }

    #[test]
    fn escapes_the_five_characters() {
        assert_eq!(Esc("a&b<c>d\"e'f").to_string(), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
        assert_eq!(Esc("plain µs text").to_string(), "plain µs text");
        assert_eq!(Esc("").to_string(), "");
        assert_eq!(Esc("&&").to_string(), "&amp;&amp;");
    }

    #[test]
    fn hostile_text_renders_as_text_everywhere() {
        let mut view = full();
        view.version = HOSTILE.into();
        view.not_ready = Some(HOSTILE.into());
        view.reporters[0].name = HOSTILE.into();
        view.reporters[0].last_error = Some(HOSTILE.into());
        view.recent[0].reporter = HOSTILE.into();
        view.recent[0].id = HOSTILE.into();
        view.recent[0].ordering_key = HOSTILE.into();
        view.recent[0].generator = HOSTILE.into();
        view.recent[0].outcome = HOSTILE.into();
        view.generators[0].reporter = HOSTILE.into();
        view.generators[0].generator = HOSTILE.into();
        view.generators[0].last_error = Some(HOSTILE.into());
        view.dead[0] = EntryView {
            id: HOSTILE.into(),
            reporter: HOSTILE.into(),
            ordering_key: HOSTILE.into(),
            generator: HOSTILE.into(),
            last_error: Some(HOSTILE.into()),
            ..dead("x")
        };
        let html = render(&view);
        // The one script element is the page's own.
        assert_eq!(html.matches("<script").count(), 1, "{html}");
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("onmouseover='"), "{html}");
        assert!(!html.contains("</td></table>"), "{html}");
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;x&#39; &amp;amp; &lt;/td&gt;&lt;/table&gt;";
        // Every field above shows up escaped: 2 for the version (title and
        // heading), 1 reason, 3 in the reporter row, 7 in the delivery row
        // (the outcome thrice), 4 in the generator row and 11 in the dead
        // letter row (the id in the row, link text, hidden inputs, button
        // data attributes and the drop question).
        assert_eq!(html.matches(escaped).count(), 28, "{html}");
        // The id in the link is percent-encoded.
        assert!(html.contains("href=\"/api/outbox/%3Cscript%3Ealert%28%22x%22%29"), "{html}");
        // Still exactly one table per non-empty section.
        assert_eq!(html.matches("<table>").count(), 4);
        assert_eq!(html.matches("</table>").count(), 4);
    }

    #[test]
    fn an_empty_view_renders_every_empty_state() {
        let html = render(&StatusView { version: "0.1.0".into(), ..Default::default() });
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(html.trim_end().ends_with("</html>"));
        for empty in ["no reporters", "no dead letters", "no deliveries yet", "no generators loaded"] {
            assert!(html.contains(&format!(">{empty}</p>")), "{empty}: {html}");
        }
        assert!(html.contains("data-ready=\"true\">ready</p>"));
        assert!(!html.contains("<table>"));
        assert!(!html.contains("<form"), "no dead letters: no buttons");
    }

    #[test]
    fn not_ready_shows_the_reason() {
        let view = StatusView { not_ready: Some("starting: sources are not running yet".into()), ..full() };
        let html = render(&view);
        assert!(html.contains("data-ready=\"false\">not ready: starting: sources are not running yet</p>"), "{html}");
    }

    #[test]
    fn every_dead_letter_has_its_retry_and_drop_forms() {
        let html = render(&full());
        for id in ["msg_1", "msg_2"] {
            assert!(html.contains(&format!("<tr data-dead=\"{id}\">")), "{html}");
            assert!(html.contains(&format!(
                "<form method=\"post\" action=\"/api/outbox/retry\" class=\"action\"><input type=\"hidden\" name=\"id\" value=\"{id}\"><button type=\"submit\" data-retry=\"{id}\">Retry</button></form>"
            )), "{html}");
            assert!(html.contains(&format!(
                "<form method=\"post\" action=\"/api/outbox/drop\" class=\"action\" data-confirm=\"Drop dead letter {id}? Its report is deleted for good.\"><input type=\"hidden\" name=\"id\" value=\"{id}\"><button type=\"submit\" data-drop=\"{id}\" class=\"danger\">Drop</button></form>"
            )), "{html}");
        }
        assert_eq!(html.matches("data-retry=").count(), 2);
        assert_eq!(html.matches("data-drop=").count(), 2);
        // Bulk forms.
        assert!(html.contains(
            "<input type=\"hidden\" name=\"dead\" value=\"1\"><button type=\"submit\" id=\"retry-all-dead\">"
        ));
        assert!(html.contains("action=\"/api/outbox/drop\" class=\"action\" data-confirm=\"Drop every dead letter?"));
        assert!(html.contains("id=\"drop-all-dead\""));
        assert!(!html.contains("no dead letters"));
        // Every form posts to the API only.
        assert_eq!(html.matches("<form method=\"post\" action=\"/api/outbox/").count(), html.matches("<form").count());
    }

    #[test]
    fn more_dead_letters_than_rows_says_so() {
        let mut view = full();
        view.reporters[0].dead = 500;
        assert!(render(&view).contains("showing the oldest 2 of 500"));
        view.reporters[0].dead = 2;
        assert!(!render(&view).contains("showing the oldest"));
    }

    #[test]
    fn tables_show_the_numbers_and_the_times_in_utc() {
        let html = render(&full());
        assert!(html.contains("<tr data-reporter=\"target\"><td class=\"name\">target</td><td class=\"num delivered\">3</td><td class=\"num pending\">1</td><td class=\"num dead alert\">2</td><td class=\"num retries\">2</td><td class=\"error\">HTTP 500</td></tr>"), "{html}");
        // 1_714_564_803_000 ms = 2024-05-01 12:00:03 UTC.
        assert!(html.contains("<td class=\"time\">2024-05-01 12:00:03</td>"), "{html}");
        assert!(html.contains("<td class=\"num status\">200</td><td class=\"num\">12</td><td class=\"outcome outcome-delivered\">delivered</td>"), "{html}");
        assert!(html.contains("<td class=\"num status\">no response</td>"), "{html}");
        assert!(html.contains("<td class=\"num calls\">4</td><td class=\"num failures\">0</td><td class=\"num\">850</td><td class=\"error none\">—</td>"), "{html}");
    }

    #[test]
    fn nothing_inline_that_the_content_security_policy_would_block() {
        let mut view = full();
        view.not_ready = Some("x".into());
        let html = render(&view);
        // One script element, external, and no inline code of any kind.
        assert_eq!(html.matches("<script").count(), 1);
        assert!(html.contains("<script src=\"/status.js\" defer></script>"));
        assert!(!html.contains("<style"));
        assert!(!html.contains("style="));
        assert!(!html.contains("javascript:"));
        let lower = html.to_ascii_lowercase();
        for handler in [" onclick", " onsubmit", " onload", " onerror", " onchange"] {
            assert!(!lower.contains(handler), "{handler}");
        }
        // Nothing fetched from elsewhere: every URL is a path of this
        // listener (or the empty data: icon).
        for attr in ["href=\"", "src=\"", "action=\""] {
            for part in html.split(attr).skip(1) {
                assert!(part.starts_with('/') || part.starts_with("data:,\""), "{attr}{}", &part[..40.min(part.len())]);
            }
        }
        // The script and style are real files.
        assert!(SCRIPT.contains("confirm(") && SCRIPT.contains("refresh"));
        assert!(STYLE.contains("table"));
    }
}
