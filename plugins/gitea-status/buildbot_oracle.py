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
import json, sys, shutil
from pathlib import Path
from urllib.parse import quote
from buildbot.process.properties import Interpolate
from buildbot_gitea.reporter import GiteaStatusPush


class Resp:
    code = 201


class FakeHttp:
    def __init__(self): self.posts = []
    def post(self, path, json=None, headers=None):
        self.posts.append((path, json))
        return Resp()


def run(case: Path):
    event = (case / "event").read_text().strip()
    build = json.loads((case / "payload.json").read_text())
    settings = {}
    if (case / "settings").exists():
        for line in (case / "settings").read_text().splitlines():
            if line:
                k, v = line.split("=", 1); settings[k] = v
    r = GiteaStatusPush.__new__(GiteaStatusPush)
    r.verbose = False
    r.context = Interpolate(settings.get("context", "buildbot/%(prop:buildername)s"))
    r.context_pr = Interpolate(settings.get("context_pr", "buildbot/pull_request/%(prop:buildername)s"))
    r.warningAsSuccess = settings.get("warningAsSuccess", "false").lower() in ("true", "1", "yes", "on")
    r._http = FakeHttp()
    targets = []
    create = r.createStatus
    def capture(project_owner, repo_name, sha, **kw):
        targets.append((str(project_owner), str(repo_name), str(sha)))
        return create(project_owner, repo_name, sha, **kw)
    r.createStatus = capture
    if event == "build-new":
        build = dict(build, complete=False)
    body = "Build started." if event == "build-new" else "Build done."
    d = r.sendMessage([{"builds": [build], "body": body}])
    failures = []
    d.addErrback(failures.append)
    assert not failures, failures
    shutil.rmtree(case / "requests", ignore_errors=True)
    (case / "no-report").unlink(missing_ok=True)
    if not r._http.posts:
        (case / "no-report").write_text("")
        return 0
    for i, ((path, payload), (owner, repo, sha)) in enumerate(zip(r._http.posts, targets)):
        assert path == f"/api/v1/repos/{owner}/{repo}/statuses/{sha}", path
        out = case / "requests" / str(i)
        out.mkdir(parents=True)
        (out / "body").write_text(json.dumps(payload))
        encoded = "/".join(quote(s, safe="") for s in (owner, repo))
        meta = {"method": "POST", "path": f"api/v1/repos/{encoded}/statuses/{quote(sha, safe='')}",
                "content_type": "application/json", "headers": [],
                "supersede": f"commit/{sha}/context/{payload['context']}", "keep": [], "fill": False}
        (out / "request.json").write_text(json.dumps(meta, indent=2) + "\n")
    return len(r._http.posts)


for c in sys.argv[1:]:
    print(c, run(Path(c)))
