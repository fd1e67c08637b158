"""Writes the expected requests of plugins/gitlab-status's cases with
Buildbot 4.3.0's own GitLabStatusPush: its default generator
(BuildStartEndStatusGenerator) builds the report, then sendMessage runs with
its HTTP client captured. For each case folder: `requests/<i>/body` +
`request.json`, or `no-report`.

Usage, with Buildbot 4.3.0 installed in a venv (pip install buildbot==4.3.0):
    VENV/bin/python plugins/gitlab-status/buildbot_oracle.py plugins/gitlab-status/expected/*

A case's `settings` may hold `context=...` (Buildbot's `context` argument,
as an Interpolate).

The project lookup: Buildbot GETs /api/v4/projects/<quote_plus(owner/repo)>
and posts to /api/v4/projects/<its id>/statuses/<sha>. The fake GitLab here
answers the lookup with the URL-encoded path itself as the id, so the
recorded path is what wasmpush sends (GitLab accepts the encoded path
wherever it takes an id); `/api/v4/` is dropped because the reporter's
server_url holds it. The supersede key is wasmpush's own
(`commit/<sha>/context/<name>`).
"""
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # a plugins/__pycache__ would be a Cargo workspace member (plugins/*)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import oracle  # noqa: E402 (plugins/oracle.py)
from twisted.internet import defer  # noqa: E402
from buildbot.reporters.gitlab import GitLabStatusPush  # noqa: E402
from buildbot.process.properties import Interpolate  # noqa: E402


class GitLabHttp(oracle.FakeHttp):
    """Answers the project lookup with the URL-encoded path as the id."""

    def get(self, path):
        return defer.succeed(oracle.Resp(200, {"id": path.rsplit("/", 1)[1]}))


def run(case: Path):
    event, build, settings = oracle.read_case(case)
    build = oracle.started(event, build)
    r = GitLabStatusPush.__new__(GitLabStatusPush)
    r.verbose = False
    ctx = settings.get("context")
    r.context = Interpolate(ctx) if ctx else Interpolate('buildbot/%(prop:buildername)s')
    r.project_ids = {}
    r._http = GitLabHttp(201)
    master = oracle.attach_master(r, build)
    gen = r._create_default_generators()[1]  # BuildStartEndStatusGenerator
    oracle.send_generated(r, gen, oracle.start_end_formatter(gen, event), master, build)
    return oracle.write_requests(case, [
        (payload, oracle.request(path.removeprefix("/api/v4/"),
                                 f"commit/{path.rsplit('/', 1)[1]}/context/{payload['name']}"))
        for path, payload in r._http.posts])


oracle.main(run)
