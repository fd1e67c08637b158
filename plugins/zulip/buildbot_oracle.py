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
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # a plugins/__pycache__ would be a Cargo workspace member (plugins/*)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import oracle  # noqa: E402 (plugins/oracle.py)
from buildbot.reporters.zulip import ZulipStatusPush  # noqa: E402


def run(case: Path):
    event, build, _ = oracle.read_case(case)
    r = ZulipStatusPush.__new__(ZulipStatusPush)
    r._http = oracle.FakeHttp(200)
    r.token, r.stream = "TOKEN", "builds"
    build = oracle.started(event, oracle.with_datetimes(build))
    oracle.result_of(r.sendMessage([{"builds": [build], "body": None}]))
    for path, _ in r._http.posts:
        assert path == "/api/v1/external/buildbot?api_key=TOKEN&stream=builds", path
    return oracle.write_requests(case, [(payload, oracle.request("external/buildbot"))
                                        for _, payload in r._http.posts])


oracle.main(run)
