"""Writes the expected requests of plugins/gitea-status's cases with the
buildbot-gitea plugin's own GiteaStatusPush (its HTTP post captured), on
Buildbot 4.3.0: for each case folder, `requests/<i>/body` + `request.json`,
or `no-report`.

Buildbot has no Gitea reporter; the source of truth is
`buildbot_gitea/reporter.py` of github.com/lab132/buildbot-gitea (version
1.8.0, commit bee7d00adaa61248dd56f6d9464527140db0d64a, the last one).
Usage, with Buildbot 4.3.0 in a venv and that package importable
(`pip install buildbot-gitea`, or a checkout on PYTHONPATH):
    PYTHONPATH=/path/to/buildbot-gitea VENV/bin/python \
        plugins/gitea-status/buildbot_oracle.py plugins/gitea-status/expected/*
(in this repository: target/buildbot-venv/bin/python)

A case's `settings` may hold `context=...` / `context_pr=...` (as
Interpolate) and `warningAsSuccess=true|false`. The report's body is what
the plugin's default generators give (`Build started.` / `Build done.`).

Two things are wasmpush's own and written here from what the plugin posted:
the path's segments are percent-encoded (owner, repository and sha as path
segments, `urllib.parse.quote(s, safe='')`), and the supersede key is
`commit/<sha>/context/<context>`.
"""
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # a plugins/__pycache__ would be a Cargo workspace member (plugins/*)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import oracle  # noqa: E402 (plugins/oracle.py)
from urllib.parse import quote  # noqa: E402
from buildbot.process.properties import Interpolate  # noqa: E402
from buildbot_gitea.reporter import GiteaStatusPush  # noqa: E402


def run(case: Path):
    event, build, settings = oracle.read_case(case)
    r = GiteaStatusPush.__new__(GiteaStatusPush)
    r.verbose = False
    r.context = Interpolate(settings.get("context", "buildbot/%(prop:buildername)s"))
    r.context_pr = Interpolate(settings.get("context_pr", "buildbot/pull_request/%(prop:buildername)s"))
    r.warningAsSuccess = settings.get("warningAsSuccess", "false").lower() in ("true", "1", "yes", "on")
    r._http = oracle.FakeHttp(201)
    targets = []
    create = r.createStatus
    def capture(project_owner, repo_name, sha, **kw):
        targets.append((str(project_owner), str(repo_name), str(sha)))
        return create(project_owner, repo_name, sha, **kw)
    r.createStatus = capture
    body = "Build started." if event == "build-new" else "Build done."
    oracle.result_of(r.sendMessage([{"builds": [oracle.started(event, build)], "body": body}]))
    requests = []
    for (path, payload), (owner, repo, sha) in zip(r._http.posts, targets):
        assert path == f"/api/v1/repos/{owner}/{repo}/statuses/{sha}", path
        encoded = "/".join(quote(s, safe="") for s in (owner, repo))
        requests.append((payload, oracle.request(f"api/v1/repos/{encoded}/statuses/{quote(sha, safe='')}",
                                                 f"commit/{sha}/context/{payload['context']}")))
    return oracle.write_requests(case, requests)


oracle.main(run)
