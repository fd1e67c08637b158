// js-github-status: a GitHub commit status for every started and finished
// Buildbot build, like Buildbot's GitHubStatusPush.
//
// Built with componentize-qjs (QuickJS) into a wasmpush generator component
// (world wasmpush:plugin/generator); see docs/languages/js.md.
//
// Events: build-new, build-finished. Needs: properties.
//
// Report:
//   path  "repos/<owner>/<repo>/statuses/<revision>" (the host appends it to
//         the configured URL, e.g. https://api.github.com/; the host adds the
//         `Authorization: token ...` header itself, the generator never sees it)
//   body  {"state": ..., "target_url": <build url>, "description": ...,
//          "context": "buildbot/<builder>"}, compact JSON, application/json
//   headers  Accept: application/vnd.github+json, X-GitHub-Api-Version: 2022-11-28
//
// state, as GitHubStatusPush maps it: build-new -> pending; finished:
// success/warnings/skipped -> success, failure -> failure,
// exception/cancelled -> error, retry -> pending, anything else -> error.
// description: "Build #<n> started." / "Build #<n> done: <state_string>",
// cut to GitHub's 140 characters.
// owner/repo: the setting `repository` ("owner/repo") if given, else the
// first sourcestamp's `project` when it is "owner/repo", else parsed from its
// `repository` URL (https://host/owner/repo(.git), git@host:owner/repo(.git)).
// revision: the first sourcestamp's revision, else the `revision` property.
// No revision or no owner/repo -> no report (and a warning in the host log).
//
// Settings (all optional):
//   repository    "owner/repo", overrides what the sourcestamp says (anything
//                 else is a generate-error)
//   context       the status context; default "buildbot/<builder name>"
//   mode          misbehave on purpose, for the host's limit tests:
//                 loop (loop forever), raise (throw an Error object: QuickJS
//                 cannot lower it to generate-error, so the call traps),
//                 error (throw {message}: a clean generate-error), alloc
//                 (allocate until memory runs out), spam (100,000 host log
//                 calls). Any other value is a generate-error.
//
// Errors: a top-level `throw` of an object shaped like generate-error
// ({message: string}) becomes `err(generate-error)`; throwing anything else
// (an Error instance included) makes the component trap.

import { log } from "wasmpush:plugin/host@0.1.0";

const VERSION = "0.1.0";
const DESCRIPTION_LIMIT = 140;

// Buildbot results codes -> GitHub state (buildbot/reporters/github.py).
const STATES = ["success", "success", "failure", "success", "error", "pending", "error"];

/** UTF-8 bytes of a string (TextEncoder when the engine has one). */
function utf8(text) {
    if (typeof TextEncoder !== "undefined") {
        return new TextEncoder().encode(text);
    }
    const out = [];
    for (const ch of text) {
        const c = ch.codePointAt(0);
        if (c < 0x80) out.push(c);
        else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
        else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(out);
}

function nonEmpty(value) {
    return typeof value === "string" && value.length > 0 ? value : null;
}

function property(build, name) {
    const pair = build.properties && build.properties[name];
    return Array.isArray(pair) ? nonEmpty(pair[0]) : null;
}

/** "owner/repo" from a git URL, or null. */
function ownerRepoFromUrl(url) {
    const m = /^(?:[a-z+]+:\/\/(?:[^@/]+@)?[^/]+\/|[^@\s]+@[^:\s]+:)(.+?)(?:\.git)?\/?$/.exec(url);
    if (!m) return null;
    const parts = m[1].split("/");
    return parts.length >= 2 ? [parts[parts.length - 2], parts[parts.length - 1]] : null;
}

const OWNER_REPO = /^[^/\s]+\/[^/\s]+$/;

function ownerRepo(settings, stamp) {
    const fromSetting = nonEmpty(settings.get("repository"));
    if (fromSetting) {
        if (!OWNER_REPO.test(fromSetting)) {
            throw { message: `js-github-status: setting repository=${JSON.stringify(fromSetting)} is not "owner/repo"` };
        }
        return fromSetting.split("/");
    }
    const project = nonEmpty(stamp.project);
    if (project && OWNER_REPO.test(project)) return project.split("/");
    const repository = nonEmpty(stamp.repository);
    return repository ? ownerRepoFromUrl(repository) : null;
}

function misbehave(mode) {
    switch (mode) {
        case "loop":
            for (;;) {}
        case "raise":
            throw new Error("js-github-status: mode=raise, throwing on purpose");
        case "error":
            throw { message: "js-github-status: mode=error, failing on purpose" };
        case "alloc": {
            const hog = [];
            for (;;) hog.push(new Array(1 << 20).fill(7));
        }
        case "spam":
            for (let i = 0; i < 100000; i++) log("info", `js-github-status: spam line ${i}`);
            return;
        default:
            throw { message: `js-github-status: unknown setting mode=${JSON.stringify(mode)} (loop, raise, error, alloc, spam)` };
    }
}

export function describe() {
    return {
        name: "js-github-status",
        version: VERSION,
        description: "GitHub commit status for started and finished builds (JavaScript, QuickJS)",
        events: ["build-new", "build-finished"],
        needs: { properties: true, steps: false, logs: false, logContents: { tag: "none" }, previousBuild: false },
    };
}

export function generate(event) {
    const settings = new Map(event.settings);
    const mode = settings.get("mode");
    if (mode) misbehave(mode);
    if (event.kind !== "build-new" && event.kind !== "build-finished") return null;

    let build;
    try {
        build = JSON.parse(event.payload);
    } catch (err) {
        throw { message: `js-github-status: payload is not JSON: ${err}` };
    }
    if (build === null || typeof build !== "object" || Array.isArray(build)) {
        throw { message: "js-github-status: payload is not a JSON object (expected a build)" };
    }

    const stamps = (build.buildset && Array.isArray(build.buildset.sourcestamps)) ? build.buildset.sourcestamps : [];
    const stamp = stamps.find((s) => s && nonEmpty(s.revision)) || stamps[0] || {};
    const revision = nonEmpty(stamp.revision) || property(build, "revision");
    if (!revision) {
        log("warn", `js-github-status: build ${build.buildid} has no revision; no status sent`);
        return null;
    }
    const repo = ownerRepo(settings, stamp);
    if (!repo) {
        log("warn", `js-github-status: cannot tell the GitHub owner/repo of build ${build.buildid}` +
            " (set the `repository` setting to owner/repo); no status sent");
        return null;
    }

    const builder = (build.builder && nonEmpty(build.builder.name)) || property(build, "buildername") || "unknown";
    let state;
    let description;
    if (event.kind === "build-new") {
        state = "pending";
        description = `Build #${build.number} started.`;
    } else {
        state = Number.isInteger(build.results) ? (STATES[build.results] || "error") : "error";
        const detail = nonEmpty(build.state_string);
        description = detail ? `Build #${build.number} done: ${detail}` : `Build #${build.number} done.`;
    }
    const chars = Array.from(description); // code points, not UTF-16 units
    if (chars.length > DESCRIPTION_LIMIT) {
        description = chars.slice(0, DESCRIPTION_LIMIT - 3).join("") + "...";
    }

    const body = {
        state,
        target_url: nonEmpty(build.url) || "",
        description,
        context: nonEmpty(settings.get("context")) || `buildbot/${builder}`,
    };
    const path = ["repos", repo[0], repo[1], "statuses", revision].map(encodeURIComponent).join("/");
    return {
        body: utf8(JSON.stringify(body)),
        contentType: "application/json",
        headers: [
            ["Accept", "application/vnd.github+json"],
            ["X-GitHub-Api-Version", "2022-11-28"],
        ],
        path,
    };
}
