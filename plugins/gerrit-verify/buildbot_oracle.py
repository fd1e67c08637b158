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
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # a plugins/__pycache__ would be a Cargo workspace member (plugins/*)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import oracle  # noqa: E402 (plugins/oracle.py)
from buildbot.process.properties import Interpolate  # noqa: E402
from buildbot.reporters.gerrit_verify_status import GerritVerifyStatusPush  # noqa: E402


def run(case: Path):
    event, build, settings = oracle.read_case(case)
    r = GerritVerifyStatusPush.__new__(GerritVerifyStatusPush)
    r._http = oracle.FakeHttp(200)
    r._verbose = False
    name = settings.get("verification_name")
    r._verification_name = Interpolate(name) if name else Interpolate("%(prop:buildername)s")
    r._reporter = Interpolate(settings["reporter"]) if "reporter" in settings else "buildbot"
    r._abstain = settings.get("abstain", "false") == "true"
    r._category = Interpolate(settings["category"]) if "category" in settings else None
    build = oracle.started(event, oracle.with_datetimes(build))
    body = "Build started." if event == "build-new" else "Build done."
    oracle.result_of(r.sendMessage([{"builds": [build], "body": body}]))
    requests = []
    for path, payload in r._http.posts:
        parts = path.split("/")  # ['', 'a', 'changes', <change>, 'revisions', <revision>, 'verify-status~verifications']
        change, revision = parts[3], parts[5]
        requests.append((payload, oracle.request(
            path.lstrip("/"), f"change/{change}/revision/{revision}/name/{payload['name']}")))
    return oracle.write_requests(case, requests)


oracle.main(run)
