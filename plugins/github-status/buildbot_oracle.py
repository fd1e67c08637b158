"""Writes the expected requests of plugins/github-status's cases with
Buildbot 4.3.0's own GitHubStatusPush.sendMessage (its HTTP post captured):
for each case folder, `requests/<i>/body` + `request.json`, or `no-report`.

Usage, with Buildbot 4.3.0 installed in a venv (pip install buildbot==4.3.0):
    VENV/bin/python plugins/github-status/buildbot_oracle.py plugins/github-status/expected/*
(in this repository: target/buildbot-venv/bin/python)

A case's `settings` may hold `context=...` (Buildbot's `context` argument,
as an Interpolate). The supersede key is wasmpush's own
(`commit/<sha>/context/<context>`); the cases are checked by host/tests/catalog.rs.
"""
import json, sys, os, shutil
from pathlib import Path
from buildbot.reporters.github import GitHubStatusPush
from buildbot.process.properties import Interpolate

class Resp:
    code = 201

class FakeHttp:
    def __init__(self): self.posts = []
    def post(self, path, json=None, headers=None):
        self.posts.append((path, json))
        return Resp()

def run(case: Path):
    event = (case / "event").read_text().strip()
    build = json.loads((case / "payload.json").read_text())
    settings = {}
    if (case / "settings").exists():
        for line in (case / "settings").read_text().splitlines():
            if line:
                k, v = line.split("=", 1); settings[k] = v
    r = GitHubStatusPush.__new__(GitHubStatusPush)
    r.token = "t"; r.verbose = False
    ctx = settings.get("context")
    r.context = r.setup_context(Interpolate(ctx) if ctx else None)
    r._http = FakeHttp()
    body = "Build started." if event == "build-new" else "Build done."
    if event == "build-new":
        build = dict(build, complete=False)
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
        sha = path.rsplit("/", 1)[1]
        meta = {"method": "POST", "path": path.lstrip("/"), "content_type": "application/json", "headers": [],
                "supersede": f"commit/{sha}/context/{payload['context']}", "keep": [], "fill": False}
        (out / "request.json").write_text(json.dumps(meta, indent=2) + "\n")
    return len(r._http.posts)

for c in sys.argv[1:]:
    print(c, run(Path(c)))
