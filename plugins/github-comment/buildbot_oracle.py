"""Writes the expected requests of plugins/github-comment's cases with
Buildbot 4.3.0's own GitHubCommentPush.sendMessage (its HTTP post captured):
for each case folder, `requests/<i>/body` + `request.json`, or `no-report`.

Usage, with Buildbot 4.3.0 installed in a venv (pip install buildbot==4.3.0):
    VENV/bin/python plugins/github-comment/buildbot_oracle.py plugins/github-comment/expected/*
(in this repository: target/buildbot-venv/bin/python)

The report's body is what GitHubCommentPush's default generator gives
(`BuildStartEndStatusGenerator` with `MessageFormatterRenderable(None)` at the
start and `MessageFormatterRenderable('Build done.')` at the end), or, when a
case's `settings` holds `startDescription=...` / `endDescription=...`, that
text rendered as `MessageFormatterRenderable(Interpolate(text))` renders it.
"""
import json, sys, shutil
from pathlib import Path
from buildbot.reporters.github import GitHubCommentPush
from buildbot.process.properties import Interpolate, Properties


class Resp:
    code = 201


class FakeHttp:
    def __init__(self): self.posts = []
    def post(self, path, json=None, headers=None):
        self.posts.append((path, json))
        return Resp()


def render(template, build):
    out = []
    Properties.fromDict(build['properties']).render(Interpolate(template)).addCallback(out.append)
    return out[0]


def run(case: Path):
    event = (case / "event").read_text().strip()
    build = json.loads((case / "payload.json").read_text())
    settings = {}
    if (case / "settings").exists():
        for line in (case / "settings").read_text().splitlines():
            if line:
                k, v = line.split("=", 1); settings[k] = v
    r = GitHubCommentPush.__new__(GitHubCommentPush)
    r.token = "t"; r.verbose = False
    r.context = r.setup_context(None)
    r._http = FakeHttp()
    if event == "build-new":
        build = dict(build, complete=False)
        template = settings.get("startDescription")
        body = render(template, build) if template else None
    else:
        body = render(settings.get("endDescription", "Build done."), build)
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
        meta = {"method": "POST", "path": path.lstrip("/"), "content_type": "application/json", "headers": [],
                "supersede": None, "keep": [], "fill": False}
        (out / "request.json").write_text(json.dumps(meta, indent=2) + "\n")
    return len(r._http.posts)


for c in sys.argv[1:]:
    print(c, run(Path(c)))
