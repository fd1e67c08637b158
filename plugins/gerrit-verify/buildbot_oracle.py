"""Writes the expected requests of plugins/gerrit-verify's cases with
Buildbot 4.3.0's own GerritVerifyStatusPush.sendMessage (its HTTP post
captured): for each case folder, `requests/<i>/body` + `request.json`, or
`no-report`.

Usage, with Buildbot 4.3.0 installed in a venv (pip install buildbot==4.3.0):
    VENV/bin/python plugins/gerrit-verify/buildbot_oracle.py plugins/gerrit-verify/expected/*

A case's `settings` may hold Buildbot's arguments `verification_name`,
`reporter`, `category` (as Interpolate) and `abstain` (true/false). The
report body is what the default formatters give ("Build started." /
"Build done."); the payload's epoch times become datetimes as Buildbot's data
API has them. The supersede key
(`change/<change>/revision/<revision>/name/<name>`) is wasmpush's own.
"""
import datetime
import json
import shutil
import sys
from pathlib import Path

from buildbot.process.properties import Interpolate
from buildbot.reporters.gerrit_verify_status import GerritVerifyStatusPush


class Resp:
    code = 200


class FakeHttp:
    def __init__(self):
        self.posts = []

    def post(self, path, json=None, headers=None):
        self.posts.append((path, json))
        return Resp()


def when(epoch):
    return None if epoch is None else datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)


def run(case: Path):
    event = (case / "event").read_text().strip()
    build = json.loads((case / "payload.json").read_text())
    settings = {}
    if (case / "settings").exists():
        for line in (case / "settings").read_text().splitlines():
            if line:
                k, v = line.split("=", 1)
                settings[k] = v
    r = GerritVerifyStatusPush.__new__(GerritVerifyStatusPush)
    r._http = FakeHttp()
    r._verbose = False
    name = settings.get("verification_name")
    r._verification_name = Interpolate(name) if name else Interpolate("%(prop:buildername)s")
    r._reporter = Interpolate(settings["reporter"]) if "reporter" in settings else "buildbot"
    r._abstain = settings.get("abstain", "false") == "true"
    r._category = Interpolate(settings["category"]) if "category" in settings else None
    build = dict(build, started_at=when(build["started_at"]), complete_at=when(build["complete_at"]))
    body = "Build started." if event == "build-new" else "Build done."
    if event == "build-new":
        build["complete"] = False
    d = r.sendMessage([{"builds": [build], "body": body}])
    failures = []
    d.addErrback(failures.append)
    assert not failures, failures
    shutil.rmtree(case / "requests", ignore_errors=True)
    (case / "no-report").unlink(missing_ok=True)
    if not r._http.posts:
        (case / "no-report").write_text("")
        return 0
    for i, (path, payload) in enumerate(r._http.posts):
        out = case / "requests" / str(i)
        out.mkdir(parents=True)
        (out / "body").write_text(json.dumps(payload))
        parts = path.split("/")  # ['', 'a', 'changes', <change>, 'revisions', <revision>, 'verify-status~verifications']
        change, revision = parts[3], parts[5]
        meta = {"method": "POST", "path": path.lstrip("/"),
                "content_type": "application/json", "headers": [],
                "supersede": f"change/{change}/revision/{revision}/name/{payload['name']}", "keep": [], "fill": False}
        (out / "request.json").write_text(json.dumps(meta, indent=2) + "\n")
    return len(r._http.posts)


for c in sys.argv[1:]:
    print(c, run(Path(c)))
