"""python-zulip: a Zulip stream message for every finished Buildbot build.

Built with componentize-py into a wasmpush generator component (world
`wasmpush:plugin/generator`); see ../README.md and docs/languages/python.md.

Events: build-finished only. Needs: properties (for branch/revision).

Body (setting `format`, default `json`):

* `json`: `{"type": "stream", "to": <stream>, "topic": <topic>,
  "content": <markdown>}` as compact UTF-8 JSON, content type
  `application/json`. For relays and Zulip-compatible webhook endpoints.
* `form`: the same four fields `application/x-www-form-urlencoded`, which is
  what Zulip's REST API `POST /api/v1/messages` takes (configure the host's URL
  as `https://<zulip>/api/v1/messages` and its basic auth as the bot's
  email/API key; the generator never sees them).

`content` is Zulip markdown, e.g.

    :check: **pass** build #3 **success** on `main` (`0123456789ab`) in 1 s
    build successful · [open build](http://127.0.0.1:8010/#/builders/4/builds/3)

Settings (all optional):

* `stream`: the stream (channel) name; default `builds`.
* `topic`: the topic; default: the builder's name.
* `only_failures`: `true` stays quiet (no report) for success/warnings/skipped.
* `format`: `json` (default) or `form`.
* `mode`: misbehave on purpose, for the host's limit tests:
  `loop` loops forever, `raise` raises an uncaught exception (the component
  traps), `error` returns a generate-error, `alloc` allocates ~1 GiB,
  `spam` calls the host log 100,000 times. Any other value is an error.
"""

import json
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlencode

import wit_world
from componentize_py_types import Err
from wit_world.imports import host, types

VERSION = "0.1.0"

# Buildbot result codes (buildbot.process.results) -> (word, emoji).
RESULTS = {
    0: ("success", ":check:"),
    1: ("warnings", ":warning:"),
    2: ("failure", ":cross_mark:"),
    3: ("skipped", ":fast_forward:"),
    4: ("exception", ":boom:"),
    5: ("retry", ":repeat:"),
    6: ("cancelled", ":no_entry_sign:"),
}
QUIET_WHEN_ONLY_FAILURES = {0, 1, 3}


def _fail(message: str) -> Err:
    return Err(types.GenerateError(message=message))


def _misbehave(mode: str) -> None:
    """The hostile modes: each one must be stopped or reported by the host."""
    if mode == "loop":
        n = 0
        while True:
            n += 1
    if mode == "raise":
        raise RuntimeError("python-zulip: mode=raise, raising on purpose")
    if mode == "error":
        raise _fail("python-zulip: mode=error, failing on purpose")
    if mode == "alloc":
        hog = bytearray(1 << 30)
        hog[-1] = 1
        return
    if mode == "spam":
        for i in range(100_000):
            host.log(types.Level.INFO, f"python-zulip: spam line {i}")
        return
    raise _fail(f"python-zulip: unknown setting mode={mode!r} (loop, raise, error, alloc, spam)")


def _sourcestamp(build: Dict[str, Any]) -> Dict[str, Any]:
    buildset = build.get("buildset")
    if isinstance(buildset, dict):
        stamps = buildset.get("sourcestamps")
        if isinstance(stamps, list) and stamps and isinstance(stamps[0], dict):
            return stamps[0]
    return {}


def _prop(build: Dict[str, Any], name: str) -> Optional[str]:
    """A string property value (`properties` is `{name: [value, source]}`)."""
    props = build.get("properties")
    if isinstance(props, dict):
        pair = props.get(name)
        if isinstance(pair, list) and pair and isinstance(pair[0], str) and pair[0]:
            return pair[0]
    return None


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value else None


def render_content(build: Dict[str, Any]) -> str:
    """The Zulip markdown message for one finished build."""
    results = build.get("results")
    word, emoji = RESULTS.get(results, ("unknown", ":grey_question:")) if isinstance(results, int) else (
        "not finished", ":hourglass:")
    builder = build.get("builder") if isinstance(build.get("builder"), dict) else {}
    name = _text(builder.get("name")) or f"builder {build.get('builderid', '?')}"
    stamp = _sourcestamp(build)
    line = f"{emoji} **{name}** build #{build.get('number', '?')} **{word}**"
    branch = _prop(build, "branch") or _text(stamp.get("branch"))
    if branch:
        line += f" on `{branch}`"
    revision = _prop(build, "revision") or _text(stamp.get("revision"))
    if revision:
        line += f" (`{revision[:12]}`)"
    started, completed = build.get("started_at"), build.get("complete_at")
    if isinstance(started, int) and isinstance(completed, int) and completed >= started:
        line += f" in {completed - started} s"
    details: List[str] = []
    state = _text(build.get("state_string"))
    if state:
        details.append(state)
    url = _text(build.get("url"))
    if url:
        details.append(f"[open build]({url})")
    if details:
        line += "\n" + " · ".join(details)
    return line


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.Info:
        return types.Info(
            name="python-zulip",
            version=VERSION,
            description="Zulip stream message for finished builds (Python, componentize-py)",
            events=[types.EventKind.BUILD_FINISHED],
            needs=types.Needs(
                properties=True,
                steps=False,
                logs=False,
                log_contents=types.LogContents_None_(),
                previous_build=False,
            ),
        )

    def generate(self, event: types.Event) -> Optional[types.Report]:
        settings: Dict[str, str] = dict(event.settings)
        mode = settings.get("mode")
        if mode:
            _misbehave(mode)
        if event.kind != types.EventKind.BUILD_FINISHED:
            return None
        try:
            build = json.loads(event.payload)
        except ValueError as err:
            raise _fail(f"python-zulip: payload is not JSON: {err}")
        if not isinstance(build, dict):
            raise _fail("python-zulip: payload is not a JSON object (expected a build)")
        results = build.get("results")
        if settings.get("only_failures") == "true" and results in QUIET_WHEN_ONLY_FAILURES:
            return None

        builder = build.get("builder") if isinstance(build.get("builder"), dict) else {}
        message: List[Tuple[str, str]] = [
            ("type", "stream"),
            ("to", settings.get("stream") or "builds"),
            ("topic", settings.get("topic") or _text(builder.get("name")) or "buildbot"),
            ("content", render_content(build)),
        ]
        fmt = settings.get("format", "json")
        if fmt == "json":
            body = json.dumps(dict(message), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            content_type = "application/json"
        elif fmt == "form":
            body = urlencode(message).encode("ascii")
            content_type = "application/x-www-form-urlencoded"
        else:
            raise _fail(f"python-zulip: unknown setting format={fmt!r} (json or form)")
        return types.Report(body=body, content_type=content_type, headers=[], path=None)
