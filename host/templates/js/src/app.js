// {{name}}: a wasmpush report generator in JavaScript (QuickJS, componentize-qjs).
//
// Build: `WASMPUSH_WIT=/path/to/wasmpush/wit bash build.sh [OUT_DIR]` ->
// OUT_DIR/{{name}}.wasm. Try it:
// `wasmpush render --generator {{name}}.wasm --event build-finished --payload build.json`.
//
// The contract is world `generator` of package wasmpush:plugin
// (wit/wasmpush.wit). WIT -> JS: records are objects with camelCase keys,
// enums are strings ("build-finished"), option<T> is T or null, list<u8> a
// Uint8Array, tuples arrays. `generate` returns a report object or null
// (nothing to send); `throw { message: "..." }` returns a generate-error. Any
// other throw (an Error instance too) makes the call trap on QuickJS.

import { log } from "wasmpush:plugin/host@0.1.0";

/** UTF-8 bytes of a string (QuickJS has no TextEncoder). */
function utf8(text) {
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

// Buildbot result codes.
const RESULTS = ["success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"];

export function describe() {
    return {
        name: "{{name}}",
        version: "0.1.0",
        description: "{{name}} (JavaScript)",
        events: ["build-finished"],
        needs: { properties: false, steps: false, logs: false, logContents: { tag: "none" }, previousBuild: false },
    };
}

export function generate(event) {
    const settings = new Map(event.settings);
    let build;
    try {
        build = JSON.parse(event.payload);
    } catch (err) {
        throw { message: `{{name}}: payload is not JSON: ${err}` };
    }
    const builder = (build.builder && build.builder.name) || "?";
    const outcome = RESULTS[build.results] || "unknown";
    let text = `${builder} #${build.number} ${outcome}`;
    if (settings.get("prefix")) text = `${settings.get("prefix")} ${text}`;
    log("debug", `{{name}}: ${text}`);
    return {
        body: utf8(JSON.stringify({ text })),
        contentType: "application/json",
        headers: [],
        path: null,
    };
}
