"""Writes the expected requests of plugins/bitbucket-server-pr-comment's
cases with Buildbot 4.3.0's own BitbucketServerPRCommentPush: its default
generator (BuildStatusGenerator with the default MessageFormatter, mode
failing/passing/warnings) builds the report from the payload (steps, logs
and the blamelist from the payload's `changes` and `owner`/`owners`
properties through Buildbot's getResponsibleUsersForBuild), then
sendMessage runs with its HTTP client captured. For each case folder:
`requests/<i>/body` + `request.json`, or `no-report`.

Usage, with Buildbot 4.3.0 installed in a venv (pip install buildbot==4.3.0):
    VENV/bin/python plugins/bitbucket-server-pr-comment/buildbot_oracle.py plugins/bitbucket-server-pr-comment/expected/*

A case's `settings` may hold `title=...` (the master's title, which the
default message names when no sourcestamp has a project). Paths are
relative to Buildbot's base_url (the reporter's server_url). Cases whose
result the default mode does not report get `no-report` here; in wasmpush
that filter is the host's (`kind = "build-status"`), so cases should use
results the mode reports.
"""
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # a plugins/__pycache__ would be a Cargo workspace member (plugins/*)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import oracle  # noqa: E402 (plugins/oracle.py)
from buildbot.reporters import bitbucketserver  # noqa: E402
from buildbot.reporters.bitbucketserver import BitbucketServerPRCommentPush  # noqa: E402


def run(case: Path):
    event, build, settings = oracle.read_case(case)
    assert event == "build-finished", "BuildStatusGenerator reports finished builds only"
    http = oracle.FakeHttp(201)
    oracle.stub_reconfig(bitbucketserver, http)
    r = BitbucketServerPRCommentPush.__new__(BitbucketServerPRCommentPush)
    master = oracle.attach_master(r, build)
    master.config.title = settings.get("title", "Buildbot")  # the plugin's `title` setting
    oracle.result_of(r.reconfigService("https://bitbucket.example", "user", "password"))
    gen = r._create_default_generators()[0]  # BuildStatusGenerator
    oracle.send_generated(r, gen, gen.formatter, master, build, by_results=True)
    return oracle.write_requests(case, [(payload, oracle.request(path.lstrip("/")))
                                        for path, payload in http.posts])


oracle.main(run)
