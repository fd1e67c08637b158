"""Writes the expected requests of plugins/zulip's cases with Buildbot
4.3.0's own ZulipStatusPush.sendMessage (its HTTP post captured): for each
case folder, `requests/0/body` + `request.json`, or `no-report`.

Usage, with Buildbot 4.3.0 installed in a venv (pip install buildbot==4.3.0):
    VENV/bin/python plugins/zulip/buildbot_oracle.py plugins/zulip/expected/*

Buildbot posts to `/api/v1/external/buildbot?api_key=<token>&stream=<stream>`
on its endpoint; wasmpush's reporter has `server_url = .../api/v1`, the
generator's path is `external/buildbot` and the host adds the query. The
body is serialised as Buildbot's HTTP client does (`json.dumps` defaults);
the payload's epoch times become datetimes as Buildbot's data API has them.
"""
import datetime
import json
import shutil
import sys
from pathlib import Path

from buildbot.reporters.zulip import ZulipStatusPush


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
    r = ZulipStatusPush.__new__(ZulipStatusPush)
    r._http = FakeHttp()
    r.token, r.stream = "TOKEN", "builds"
    build = dict(build, started_at=when(build["started_at"]), complete_at=when(build["complete_at"]))
    if event == "build-new":
        build["complete"] = False
    d = r.sendMessage([{"builds": [build], "body": None}])
    failures = []
    d.addErrback(failures.append)
    assert not failures, failures
    shutil.rmtree(case / "requests", ignore_errors=True)
    (case / "no-report").unlink(missing_ok=True)
    if not r._http.posts:
        (case / "no-report").write_text("")
        return 0
    for i, (path, payload) in enumerate(r._http.posts):
        assert path == "/api/v1/external/buildbot?api_key=TOKEN&stream=builds", path
        out = case / "requests" / str(i)
        out.mkdir(parents=True)
        (out / "body").write_text(json.dumps(payload))
        meta = {"method": "POST", "path": "external/buildbot", "content_type": "application/json", "headers": [],
                "supersede": None, "keep": [], "fill": False}
        (out / "request.json").write_text(json.dumps(meta, indent=2) + "\n")
    return len(r._http.posts)


for c in sys.argv[1:]:
    print(c, run(Path(c)))
