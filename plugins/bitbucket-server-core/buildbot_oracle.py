"""Writes the expected requests of plugins/bitbucket-server-core's cases
with Buildbot 4.3.0's own BitbucketServerCoreAPIStatusPush: its
reconfigService sets the reporter up from the case's settings (with the HTTP
session and the message-queue subscription stubbed), its default generator
(BuildStartEndStatusGenerator, "Build started." / "Build done.") builds the
report, then sendMessage runs with its HTTP client captured. For each case
folder: `requests/<i>/body` + `request.json`, or `no-report`.

Usage, with Buildbot 4.3.0 installed in a venv (pip install buildbot==4.3.0):
    VENV/bin/python plugins/bitbucket-server-core/buildbot_oracle.py plugins/bitbucket-server-core/expected/*

A case's `settings` may hold Buildbot's arguments `statusName`,
`statusSuffix`, `key`, `parentName`, `buildNumber`, `ref`, `duration`, each
passed as an Interpolate. Paths are relative to Buildbot's base_url (the
reporter's server_url). The supersede key is wasmpush's own
(`commit/<sha>/key/<key>`).
"""
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # a plugins/__pycache__ would be a Cargo workspace member (plugins/*)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import oracle  # noqa: E402 (plugins/oracle.py)
from buildbot.reporters import bitbucketserver  # noqa: E402
from buildbot.reporters.bitbucketserver import BitbucketServerCoreAPIStatusPush  # noqa: E402
from buildbot.process.properties import Interpolate  # noqa: E402


def run(case: Path):
    event, build, settings = oracle.read_case(case)
    build = oracle.started(event, build)
    http = oracle.FakeHttp(204)
    oracle.stub_reconfig(bitbucketserver, http)
    r = BitbucketServerCoreAPIStatusPush.__new__(BitbucketServerCoreAPIStatusPush)
    master = oracle.attach_master(r, build)
    oracle.result_of(r.reconfigService("https://bitbucket.example", token="t",
                                       **{k: Interpolate(v) for k, v in settings.items()}))
    gen = r._create_default_generators()[1]  # BuildStartEndStatusGenerator
    oracle.send_generated(r, gen, oracle.start_end_formatter(gen, event), master, build, allow_failure=True)
    return oracle.write_requests(case, [
        (payload, oracle.request(path.lstrip("/"), f"commit/{path.split('/')[-2]}/key/{payload['key']}"))
        for path, payload in http.posts])


oracle.main(run)
