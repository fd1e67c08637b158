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
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # a plugins/__pycache__ would be a Cargo workspace member (plugins/*)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import oracle  # noqa: E402 (plugins/oracle.py)
from buildbot.reporters.github import GitHubStatusPush  # noqa: E402
from buildbot.process.properties import Interpolate  # noqa: E402


def run(case: Path):
    event, build, settings = oracle.read_case(case)
    r = GitHubStatusPush.__new__(GitHubStatusPush)
    r.token = "t"; r.verbose = False
    ctx = settings.get("context")
    r.context = r.setup_context(Interpolate(ctx) if ctx else None)
    r._http = oracle.FakeHttp(201)
    body = "Build started." if event == "build-new" else "Build done."
    oracle.result_of(r.sendMessage([{"builds": [oracle.started(event, build)], "body": body}]))
    return oracle.write_requests(case, [
        (payload, oracle.request(path.lstrip("/"),
                                 f"commit/{path.rsplit('/', 1)[1]}/context/{payload['context']}"))
        for path, payload in r._http.posts])


oracle.main(run)
