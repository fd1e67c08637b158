// js-v2: a chat message per build, edited when the build finishes, and the
// latest result per builder; contract 0.2 (wit/v0.2) with componentize-qjs.
//
// Events: build-new, build-finished. Needs: properties.
//
// build-new: one request,
//   POST messages  {"text": "<builder> #<n> started: <url>"}
//   keeping the response's `/id` as `message_id`.
// build-finished: two requests, in this order:
//   1. PATCH messages/{message_id}  {"text": "<builder> #<n> <result>: <url>"}
//      (`fill`: the host puts in the id kept when the build started), which
//      edits the started message into the result;
//   2. PUT builders/<builder>/latest  {"builder", "number", "result", "url"}
//      with the supersede key `builder/<builder>/latest`: a newer build's
//      result replaces an older one still waiting in the outbox.
// The reporter must allow them: methods = ["POST", "PATCH", "PUT"].
//
// Settings (optional): `prefix`, put before every message text.
//
// The typed request helpers (`Request.post(path).json(v).supersede(k)` ...)
// are in wasmpush_v2.js beside this file (componentize-qjs resolves the
// import while it builds).

import { log } from "wasmpush:plugin/host@0.2.0";
import { Request } from "./wasmpush_v2.js";

const RESULTS = ["success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"];

function nonEmpty(value) {
    return typeof value === "string" && value.length > 0 ? value : null;
}

/** Payload text in a filled request loses its braces: the host would
 *  otherwise fill a `{message_id}` written in, say, a builder's name. */
function noBraces(text) {
    return text.replace(/\{/g, "(").replace(/\}/g, ")");
}

export function describe() {
    return {
        name: "js-v2",
        version: "0.2.0",
        description: "Chat message per build, edited when it finishes (JavaScript, contract 0.2)",
        events: ["build-new", "build-finished"],
        needs: {
            properties: true, steps: false, logs: false, logContents: { tag: "none" },
            previousBuild: false, changes: false,
        },
    };
}

export function generate(event) {
    const settings = new Map(event.settings);
    let build;
    try {
        build = JSON.parse(event.payload);
    } catch (err) {
        throw { message: `js-v2: payload is not JSON: ${err}` };
    }
    if (build === null || typeof build !== "object" || Array.isArray(build)) {
        throw { message: "js-v2: payload is not a JSON object (expected a build)" };
    }
    const builder = (build.builder && nonEmpty(build.builder.name)) || "unknown";
    const prefix = nonEmpty(settings.get("prefix")) ? `${settings.get("prefix")} ` : "";
    const url = nonEmpty(build.url) || "";
    const title = `${prefix}${builder} #${build.number}`;

    if (event.kind === "build-new") {
        return [Request.post("messages").json({ text: `${title} started: ${url}` }).keep("message_id", "/id").build()];
    }
    if (event.kind !== "build-finished") return [];
    const result = Number.isInteger(build.results) ? (RESULTS[build.results] || "unknown") : "unknown";
    if (result === "unknown") log("warn", `js-v2: build ${build.buildid} finished without a known result`);
    const latest = { builder, number: build.number, result, url };
    return [
        Request.patch("messages/{message_id}").json({ text: noBraces(`${title} ${result}: ${url}`) }).fill().build(),
        Request.put(`builders/${encodeURIComponent(builder)}/latest`).json(latest)
            .supersede(`builder/${builder}/latest`).build(),
    ];
}
