"""{{name}}: a wasmpush report generator in Python (componentize-py), contract 0.2.

Build: `WASMPUSH_WIT=/path/to/wasmpush/wit/v0.2 bash build.sh [OUT_DIR]` ->
OUT_DIR/{{name}}.wasm. Try it:
`wasmpush render --generator {{name}}.wasm --event build-finished --payload payload.json`.

The contract is world `generator` of package wasmpush:plugin@0.2.0
(wit/wasmpush.wit): `describe()` says which events the generator wants;
`generate(event)` turns one event into a list of requests, sent in order (an
empty list: nothing to send). `event.payload` is the Buildbot build as JSON
text; `event.settings` the (key, value) pairs from the host config. Raise
`Err(GenerateError(...))` to report a problem; any other exception makes the
call fail (trap). `wasmpush_v2.py` builds requests:
`Request.post("statuses/abc").json({...}).supersede("commit/abc").build()`.
"""

import json
from typing import List

import wit_world
from componentize_py_types import Err
from wit_world.imports import host, types

from wasmpush_v2 import Request, needs

# Buildbot result codes.
RESULTS = ["success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"]


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.Info:
        return types.Info(
            name="{{name}}",
            version="0.1.0",
            description="{{name}} (Python)",
            events=[types.EventKind.BUILD_FINISHED],
            needs=needs(properties=False),
        )

    def generate(self, event: types.Event) -> List[types.Request]:
        settings = dict(event.settings)
        try:
            build = json.loads(event.payload)
        except ValueError as err:
            raise Err(types.GenerateError(message=f"{{name}}: payload is not JSON: {err}"))
        builder = (build.get("builder") or {}).get("name", "?")
        results = build.get("results")
        outcome = RESULTS[results] if isinstance(results, int) and 0 <= results < len(RESULTS) else "unknown"
        text = f"{builder} #{build.get('number')} {outcome}"
        if settings.get("prefix"):
            text = settings["prefix"] + " " + text
        host.log(types.Level.DEBUG, f"{{name}}: {text}")
        body = json.dumps({"text": text}, separators=(",", ":")).encode("utf-8")
        # More requests go in the same list, e.g. a commit status that replaces
        # an older one still waiting in the outbox:
        #   Request.post(f"statuses/{sha}").json(status).supersede(f"commit/{sha}/context/{builder}")
        return [Request.post().body(body, "application/json").build()]
