// discord: a Discord webhook message when a build starts and when it
// finishes (Buildbot has no Discord reporter in core); contract 0.2
// (wit/v0.2), built with componentize-qjs.
//
// The webhook URL is the credential: the reporter's `server_url_env`; every
// request goes to that URL itself (no path). Body:
//
//   {"content": "pass #3 finished: success",
//    "embeds": [{"title": "pass #3: success", "url": "<build url>", "color": 3066993,
//                "description": "build successful\ndemo/repo · main · `0123456789ab`"}],
//    "allowed_mentions": {"parse": []}}
//
// - content: `<builder> #<n> started` / `finished: <result>`;
// - embed title `<builder> #<n>: <result>` (`started` while it runs), url
//   the build's (left out when it has none), colour by result (blue while
//   it runs), description: the state string (finished), then the first
//   sourcestamp's project, branch and revision (12 characters), those
//   present; left out when empty;
// - text from the build is Markdown-escaped, and `allowed_mentions` is
//   empty, so a branch named `@everyone` pings no one.
//
// The JSON is compact (JSON.stringify); the typed request helpers are in
// wasmpush_v2.js beside this file.

import { Request } from "./wasmpush_v2.js";

const RESULTS = ["success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"];
// Discord embed colours (decimal RGB) per result; RUNNING while it runs.
const COLORS = [0x2ecc71, 0xf1c40f, 0xe74c3c, 0x95a5a6, 0x9b59b6, 0x3498db, 0x95a5a6];
const RUNNING = 0x3498db;
const UNKNOWN = 0x95a5a6;

function nonEmpty(value) {
    return typeof value === "string" && value.length > 0 ? value : null;
}

/** Discord Markdown: a backslash before the characters with a meaning
 *  (`#` and `>` only where they start a line: headings and quotes). */
function escape(text) {
    return text.replace(/[\\*_~`|\[\]]/g, (c) => `\\${c}`).replace(/^[#>]/gm, (c) => `\\${c}`);
}

/** At most `max` code points (Discord's limits: title 256, content 2000). */
function cut(text, max) {
    const chars = Array.from(text);
    return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}\u2026`;
}

export function describe() {
    return {
        name: "discord",
        version: "0.2.0",
        description: "Discord webhook message per build start and finish (JavaScript, contract 0.2)",
        events: ["build-new", "build-finished"],
        needs: {
            properties: true, steps: false, logs: false, logContents: { tag: "none" },
            previousBuild: false, changes: false,
        },
    };
}

export function generate(event) {
    let build;
    try {
        build = JSON.parse(event.payload);
    } catch (err) {
        throw { message: `discord: payload is not JSON: ${err}` };
    }
    if (build === null || typeof build !== "object" || Array.isArray(build)) {
        throw { message: "discord: payload is not a JSON object (expected a build)" };
    }
    const finished = event.kind === "build-finished" && build.complete === true;
    const builder = (build.builder && nonEmpty(build.builder.name)) || "build";
    const title = `${builder} #${build.number}`;
    const known = Number.isInteger(build.results) && build.results >= 0 && build.results < RESULTS.length;
    const result = known ? RESULTS[build.results] : "unknown";

    const lines = [];
    if (finished && nonEmpty(build.state_string)) lines.push(escape(build.state_string));
    const stamps = (build.buildset && Array.isArray(build.buildset.sourcestamps)) ? build.buildset.sourcestamps : [];
    const stamp = stamps.length > 0 && stamps[0] && typeof stamps[0] === "object" ? stamps[0] : null;
    if (stamp) {
        const parts = [];
        if (nonEmpty(stamp.project)) parts.push(escape(stamp.project));
        if (nonEmpty(stamp.branch)) parts.push(escape(stamp.branch));
        if (nonEmpty(stamp.revision)) parts.push(`\`${Array.from(stamp.revision).slice(0, 12).join("").replace(/`/g, "'")}\``);
        if (parts.length > 0) lines.push(parts.join(" \u00b7 "));
    }

    const embed = { title: cut(finished ? `${title}: ${result}` : `${title}: started`, 256) };
    const url = nonEmpty(build.url);
    if (url) embed.url = url;
    embed.color = finished ? (known ? COLORS[build.results] : UNKNOWN) : RUNNING;
    if (lines.length > 0) embed.description = cut(lines.join("\n"), 4096);
    const content = cut(escape(finished ? `${title} finished: ${result}` : `${title} started`), 2000);
    const body = { content, embeds: [embed], allowed_mentions: { parse: [] } };
    return [Request.post(undefined).json(body).build()];
}
