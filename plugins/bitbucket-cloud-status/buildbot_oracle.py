"""Writes the expected requests of plugins/bitbucket-cloud-status's cases
with Buildbot 4.3.0's own BitbucketStatusPush: its default generator
(BuildStartEndStatusGenerator with MessageFormatter(subject="",
template='')) builds the report, then sendMessage runs with its HTTP client
captured. For each case folder: `requests/<i>/body` + `request.json`, or
`no-report`.

Usage, with Buildbot 4.3.0 installed in a venv (pip install buildbot==4.3.0):
    VENV/bin/python plugins/bitbucket-cloud-status/buildbot_oracle.py plugins/bitbucket-cloud-status/expected/*

A case's `settings` may hold `status_key=...` and `status_name=...`
(Buildbot's arguments, as Interpolates). Buildbot's OAuth token request is
the host's in wasmpush, so the reporter runs with `auth` set (no token
request). Paths are relative to Buildbot's base_url, which is the
reporter's server_url. An exception in sendMessage (Buildbot's
`assert len(parts) == 2` for a repository that is not OWNER/REPONAME) ends
the report as in Buildbot: what was posted before it is the expectation.
The supersede key is wasmpush's own (`commit/<sha>/key/<key>`).
"""
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # a plugins/__pycache__ would be a Cargo workspace member (plugins/*)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import oracle  # noqa: E402 (plugins/oracle.py)
from buildbot.reporters.bitbucket import BitbucketStatusPush, _BASE_URL  # noqa: E402
from buildbot.process.properties import Interpolate, Property  # noqa: E402


def run(case: Path):
    event, build, settings = oracle.read_case(case)
    build = oracle.started(event, build)
    r = BitbucketStatusPush.__new__(BitbucketStatusPush)
    r.auth = ("user", "app-password")
    r.base_url = _BASE_URL
    r.debug = False
    # reconfigService's defaults
    r.status_key = Interpolate(settings["status_key"]) if "status_key" in settings else Property('buildername')
    r.status_name = Interpolate(settings["status_name"]) if "status_name" in settings else Property('buildername')
    r._http = oracle.FakeHttp(201)
    master = oracle.attach_master(r, build)
    gen = r._create_default_generators()[0]  # BuildStartEndStatusGenerator
    oracle.send_generated(r, gen, oracle.start_end_formatter(gen, event), master, build, allow_failure=True)
    return oracle.write_requests(case, [
        (payload, oracle.request(path.lstrip("/"), f"commit/{path.split('/')[4]}/key/{payload['key']}"))
        for path, payload in r._http.posts])


oracle.main(run)
