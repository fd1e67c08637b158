"""Writes the expected requests of plugins/bitbucket-server-status's cases
with Buildbot 4.3.0's own BitbucketServerStatusPush: its default generator
(BuildStartEndStatusGenerator, "Build started." / "Build done.") builds the
report, then sendMessage runs with its HTTP client captured. For each case
folder: `requests/<i>/body` + `request.json`, or `no-report`.

Usage, with Buildbot 4.3.0 installed in a venv (pip install buildbot==4.3.0):
    VENV/bin/python plugins/bitbucket-server-status/buildbot_oracle.py plugins/bitbucket-server-status/expected/*

A case's `settings` may hold `key=...` and `statusName=...` (Buildbot's
arguments, as Interpolates). Paths are relative to Buildbot's base_url (the
reporter's server_url). The supersede key is wasmpush's own
(`commit/<sha>/key/<key>`).
"""
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # a plugins/__pycache__ would be a Cargo workspace member (plugins/*)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import oracle  # noqa: E402 (plugins/oracle.py)
from buildbot.reporters.bitbucketserver import BitbucketServerStatusPush  # noqa: E402
from buildbot.process.properties import Interpolate  # noqa: E402


def run(case: Path):
    event, build, settings = oracle.read_case(case)
    build = oracle.started(event, build)
    r = BitbucketServerStatusPush.__new__(BitbucketServerStatusPush)
    r.verbose = False
    r.debug = False
    # reconfigService's defaults
    r.key = Interpolate(settings["key"]) if "key" in settings else Interpolate('%(prop:buildername)s')
    r.context = Interpolate(settings["statusName"]) if "statusName" in settings else None
    r._http = oracle.FakeHttp(204)
    master = oracle.attach_master(r, build)
    gen = r._create_default_generators()[0]  # BuildStartEndStatusGenerator
    oracle.send_generated(r, gen, oracle.start_end_formatter(gen, event), master, build)
    return oracle.write_requests(case, [
        (payload, oracle.request(path.lstrip("/"), f"commit/{path.rsplit('/', 1)[1]}/key/{payload['key']}"))
        for path, payload in r._http.posts])


oracle.main(run)
