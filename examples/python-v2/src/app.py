"""python-v2: a GitHub check run and a commit status per build, on contract 0.2.

Built with componentize-py against `wit/v0.2` (world
`wasmpush:plugin/generator@0.2.0`); the typed request helpers are in
`wasmpush_v2.py` beside this file.

Events: build-new, build-finished. Needs: properties and `changes` (new in
0.2: the build's change objects).

- build-new: one request,
  `POST repos/<owner>/<repo>/check-runs`
  `{"name": <context>, "head_sha": <sha>, "status": "in_progress",
  "details_url": <build url>, "external_id": "<buildid>"}`,
  keeping the response's `/id` as `check_run_id`.
- build-finished: two requests, in this order:
  1. `POST repos/<owner>/<repo>/statuses/<sha>` with Buildbot's
     GitHubStatusPush body (`state`, `description`, `target_url`, `context`)
     and the supersede key `commit/<sha>/context/<context>`;
  2. `PATCH repos/<owner>/<repo>/check-runs/{check_run_id}` (filled by the
     host from the value kept on build-new)
     `{"status": "completed", "conclusion": ..., "output": {"title": ...,
     "summary": ...}}`, the summary listing the build's changes.

The reporter must allow PATCH: `methods = ["POST", "PATCH"]`.

Bodies are `json.dumps` with Python's defaults, as Buildbot writes them.
owner/repo: the setting `repository` (`owner/repo`), else the sourcestamp's
`project` when it is `owner/repo`, else its `repository` URL. sha: the first
sourcestamp with a revision. Without either, nothing is sent (a warning in
the host log). Setting `context`: default `buildbot/<builder name>`.
"""

import json
import re
from typing import Any, Dict, List, Optional, Tuple

import wit_world
from componentize_py_types import Err
from wit_world.imports import host, types

from wasmpush_v2 import Request, needs

VERSION = "0.2.0"

# Buildbot result code -> (commit status state, check run conclusion).
RESULTS = {
    0: ("success", "success"),
    1: ("success", "neutral"),
    2: ("failure", "failure"),
    3: ("success", "skipped"),
    4: ("error", "failure"),
    5: ("pending", "neutral"),
    6: ("error", "cancelled"),
}
URL = re.compile(r"^(?:[a-z+]+://(?:[^@/]+@)?[^/]+/|[^@\s]+@[^:\s]+:)(?:\d+/)?(.+?)(?:\.git)?/?$")
OWNER_REPO = re.compile(r"^[^/\s]+/[^/\s]+$")


def _fail(message: str) -> Err:
    return Err(types.GenerateError(message=message))


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value else None


def _target(build: Dict[str, Any], settings: Dict[str, str]) -> Optional[Tuple[str, str, str]]:
    """(owner, repo, sha) of the build, or None."""
    buildset = build.get("buildset") if isinstance(build.get("buildset"), dict) else {}
    stamps = [s for s in buildset.get("sourcestamps") or [] if isinstance(s, dict)]
    stamp = next((s for s in stamps if _text(s.get("revision"))), None)
    if stamp is None:
        return None
    repo = settings.get("repository")
    if repo:
        if not OWNER_REPO.match(repo):
            raise _fail(f"python-v2: setting repository={repo!r} is not owner/repo")
    elif OWNER_REPO.match(stamp.get("project") or ""):
        repo = stamp["project"]
    else:
        m = URL.match(stamp.get("repository") or "")
        parts = m.group(1).split("/") if m else []
        if len(parts) < 2:
            return None
        repo = "/".join(parts[-2:])
    owner, name = repo.split("/")
    return owner, name, stamp["revision"]


def _no_braces(text: str) -> str:
    """The PATCH below is filled: the host would replace a `{check_run_id}`
    anywhere in its body, also inside a commit message. Text from the
    payload loses its braces so only our own placeholder is filled."""
    return text.replace("{", "(").replace("}", ")")


def _summary(build: Dict[str, Any]) -> str:
    changes = [c for c in build.get("changes") or [] if isinstance(c, dict)]
    if not changes:
        return "No changes."
    lines = []
    for c in changes:
        first = (_text(c.get("comments")) or "").splitlines()
        lines.append(f"- `{(_text(c.get('revision')) or '?')[:12]}` {first[0] if first else ''}"
                     f" ({_text(c.get('author')) or 'unknown'})")
    return _no_braces(f"{len(changes)} change(s):\n" + "\n".join(lines))


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.Info:
        return types.Info(
            name="python-v2",
            version=VERSION,
            description="GitHub check run and commit status per build (Python, contract 0.2)",
            events=[types.EventKind.BUILD_NEW, types.EventKind.BUILD_FINISHED],
            needs=needs(properties=True, changes=True),
        )

    def generate(self, event: types.Event) -> List[types.Request]:
        settings: Dict[str, str] = dict(event.settings)
        try:
            build = json.loads(event.payload)
        except ValueError as err:
            raise _fail(f"python-v2: payload is not JSON: {err}")
        if not isinstance(build, dict):
            raise _fail("python-v2: payload is not a JSON object (expected a build)")
        target = _target(build, settings)
        if target is None:
            host.log(types.Level.WARN, f"python-v2: build {build.get('buildid')} has no GitHub repository"
                     " and revision; nothing sent")
            return []
        owner, repo, sha = target
        builder = build.get("builder") if isinstance(build.get("builder"), dict) else {}
        context = settings.get("context") or f"buildbot/{_text(builder.get('name')) or 'unknown'}"
        url = _text(build.get("url"))
        base = f"repos/{owner}/{repo}"

        if event.kind == types.EventKind.BUILD_NEW:
            check = {"name": context, "head_sha": sha, "status": "in_progress", "details_url": url,
                     "external_id": str(build.get("buildid"))}
            return [Request.post(f"{base}/check-runs").json(check).keep("check_run_id", "/id").build()]

        state, conclusion = RESULTS.get(build.get("results"), ("error", "failure"))
        status = {"state": state, "description": "Build done.", "target_url": url, "context": context}
        title = f"Build #{build.get('number')}: {_text(build.get('state_string')) or state}"
        done = {
            "status": "completed",
            "conclusion": conclusion,
            "output": {"title": _no_braces(title), "summary": _summary(build)},
        }
        return [
            Request.post(f"{base}/statuses/{sha}").json(status).supersede(f"commit/{sha}/context/{context}").build(),
            Request.patch(base + "/check-runs/{check_run_id}").json(done).fill().build(),
        ]
