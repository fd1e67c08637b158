// {{name}}: a wasmpush report generator in JavaScript (QuickJS, componentize-qjs), contract 0.2.
//
// Build: `WASMPUSH_WIT=/path/to/wasmpush/wit/v0.2 bash build.sh [OUT_DIR]` ->
// OUT_DIR/{{name}}.wasm. Try it:
// `wasmpush render --generator {{name}}.wasm --event build-finished --payload payload.json`.
//
// The contract is world `generator` of package wasmpush:plugin@0.2.0
// (wit/wasmpush.wit). `generate` returns a list of requests, sent in order
// (an empty list: nothing to send); `throw { message: "..." }` returns a
// generate-error. Any other throw (an Error instance too) makes the call trap
// on QuickJS. wasmpush_v2.js builds requests:
// `Request.post("statuses/abc").json({...}).supersede("commit/abc").build()`.

import { log } from "wasmpush:plugin/host@0.2.0";
import { Request } from "./wasmpush_v2.js";

// Buildbot result codes.
const RESULTS = ["success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"];

export function describe() {
    return {
        name: "{{name}}",
        version: "0.1.0",
        description: "{{name}} (JavaScript)",
        events: ["build-finished"],
        needs: {
            properties: false, steps: false, logs: false, logContents: { tag: "none" },
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
        throw { message: `{{name}}: payload is not JSON: ${err}` };
    }
    const builder = (build.builder && build.builder.name) || "?";
    const outcome = RESULTS[build.results] || "unknown";
    let text = `${builder} #${build.number} ${outcome}`;
    if (settings.get("prefix")) text = `${settings.get("prefix")} ${text}`;
    log("debug", `{{name}}: ${text}`);
    // More requests go in the same list, e.g. a commit status that replaces
    // an older one still waiting in the outbox:
    //   Request.post(`statuses/${sha}`).json(status).supersede(`commit/${sha}/context/${builder}`).build()
    return [Request.post(undefined).json({ text }).build()];
}
