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
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # a plugins/__pycache__ would be a Cargo workspace member (plugins/*)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import oracle  # noqa: E402 (plugins/oracle.py)
from buildbot.reporters.github import GitHubCommentPush  # noqa: E402
from buildbot.process.properties import Interpolate, Properties  # noqa: E402


def render(template, build):
    out = []
    Properties.fromDict(build['properties']).render(Interpolate(template)).addCallback(out.append)
    return out[0]


def run(case: Path):
    event, build, settings = oracle.read_case(case)
    r = GitHubCommentPush.__new__(GitHubCommentPush)
    r.token = "t"; r.verbose = False
    r.context = r.setup_context(None)
    r._http = oracle.FakeHttp(201)
    build = oracle.started(event, build)
    if event == "build-new":
        template = settings.get("startDescription")
        body = render(template, build) if template else None
    else:
        body = render(settings.get("endDescription", "Build done."), build)
    oracle.result_of(r.sendMessage([{"builds": [build], "body": body}]))
    return oracle.write_requests(case, [(payload, oracle.request(path.lstrip("/")))
                                        for path, payload in r._http.posts])


oracle.main(run)
