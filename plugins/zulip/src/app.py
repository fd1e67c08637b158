"""zulip: Buildbot's ZulipStatusPush as a contract 0.2 generator
(componentize-py, world `wasmpush:plugin/generator@0.2.0`).

As Buildbot 4.3.0's `buildbot/reporters/zulip.py` does it, one
`POST external/buildbot` (relative to the reporter's `server_url`,
`https://<zulip>/api/v1`) when a build starts and when it finishes, to
Zulip's Buildbot integration, with the JSON body

    {"event": "new"|"finished", "buildid": ..., "buildername": ...,
     "url": ..., "project": ..., "timestamp": ..., ["results": ...]}

in that key order, written by `json.dumps` with its defaults as Buildbot's
HTTP client does. `event` is `new` while the build is not complete;
`timestamp` is the start time (new) or the completion time (finished), in
epoch seconds; `results` only when finished; `project` is the build's
`project` property (a build without it is an error, as Buildbot's KeyError).

The bot's API key and the stream travel in the query string: the host adds
them (`query = { api_key = { env = "ZULIP_KEY" }, stream = "builds" }`), the
generator never sees them. No settings.
"""

import json
from typing import Any, Dict, List

import wit_world
from componentize_py_types import Err
from wit_world.imports import types

from wasmpush_v2 import Request, needs

VERSION = "0.2.0"


def _fail(message: str) -> Err:
    return Err(types.GenerateError(message=message))


def zulip_body(build: Dict[str, Any], kind: str) -> Dict[str, Any]:
    """Buildbot's `jsondata` for one build."""
    event = "new" if kind == "build-new" or build.get("complete") is False else "finished"
    try:
        body = {
            "event": event,
            "buildid": build["buildid"],
            "buildername": build["builder"]["name"],
            "url": build["url"],
            "project": build["properties"]["project"][0],
        }
    except (KeyError, TypeError, IndexError) as err:
        raise _fail(f"zulip: the build has no {err} (Buildbot's ZulipStatusPush needs it too)")
    when = build.get("started_at") if event == "new" else build.get("complete_at")
    if not isinstance(when, int):
        raise _fail(f"zulip: the build has no {'started_at' if event == 'new' else 'complete_at'}")
    body["timestamp"] = when
    if event == "finished":
        body["results"] = build.get("results")
    return body


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.Info:
        return types.Info(
            name="zulip",
            version=VERSION,
            description="Zulip Buildbot integration message, like Buildbot's ZulipStatusPush (Python, contract 0.2)",
            events=[types.EventKind.BUILD_NEW, types.EventKind.BUILD_FINISHED],
            needs=needs(properties=True),
        )

    def generate(self, event: types.Event) -> List[types.Request]:
        try:
            build = json.loads(event.payload)
        except ValueError as err:
            raise _fail(f"zulip: payload is not JSON: {err}")
        if not isinstance(build, dict):
            raise _fail("zulip: payload is not a JSON object (expected a build)")
        kind = "build-new" if event.kind == types.EventKind.BUILD_NEW else "build-finished"
        return [Request.post("external/buildbot").json(zulip_body(build, kind)).build()]
