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
import json, sys, shutil
from pathlib import Path
from twisted.internet import defer
from buildbot.reporters.gitlab import GitLabStatusPush
from buildbot.process.properties import Interpolate


class Resp:
    def __init__(self, code, body=None):
        self.code = code
        self._body = body or {}

    def json(self):
        return defer.succeed(self._body)


class FakeHttp:
    def __init__(self):
        self.posts = []
        self.gets = []

    def get(self, path):
        self.gets.append(path)
        name = path.rsplit("/", 1)[1]
        return defer.succeed(Resp(200, {"id": name}))

    def post(self, path, json=None, headers=None):
        self.posts.append((path, json))
        return defer.succeed(Resp(201))


class Config:
    title = "Buildbot"
    buildbotURL = "http://127.0.0.1:8010/"


class FakeData:
    def __init__(self, build):
        self.build = build

    def get(self, path):
        if path[-1] == "changes":
            return defer.succeed(self.build.get("changes", []))
        return defer.succeed(self.build["properties"])


class FakeMaster:
    def __init__(self, build):
        self.config = Config()
        self.data = FakeData(build)


class Parent:
    def __init__(self, master):
        self.master = master


def result_of(d):
    out, failures = [], []
    d.addCallbacks(out.append, failures.append)
    assert not failures, failures
    return out[0] if out else None


def run(case: Path):
    event = (case / "event").read_text().strip()
    build = json.loads((case / "payload.json").read_text())
    settings = {}
    if (case / "settings").exists():
        for line in (case / "settings").read_text().splitlines():
            if line:
                k, v = line.split("=", 1)
                settings[k] = v
    if event == "build-new":
        build = dict(build, complete=False)
    r = GitLabStatusPush.__new__(GitLabStatusPush)
    r.verbose = False
    ctx = settings.get("context")
    r.context = Interpolate(ctx) if ctx else Interpolate('buildbot/%(prop:buildername)s')
    r.project_ids = {}
    r._http = FakeHttp()
    master = FakeMaster(build)
    r.parent = Parent(master)  # ReporterBase.master is its parent's
    gen = r._create_default_generators()[1]  # BuildStartEndStatusGenerator
    formatter = gen.start_formatter if event == "build-new" else gen.end_formatter
    reports = []
    if gen.is_message_needed_by_props(build):
        reports.append(result_of(gen.build_message(formatter, master, r, build)))
    if reports:
        result_of(r.sendMessage(reports))
    shutil.rmtree(case / "requests", ignore_errors=True)
    (case / "no-report").unlink(missing_ok=True)
    if not r._http.posts:
        (case / "no-report").write_text("")
        return 0
    for i, (path, payload) in enumerate(r._http.posts):
        out = case / "requests" / str(i)
        out.mkdir(parents=True)
        (out / "body").write_text(json.dumps(payload))
        sha = path.rsplit("/", 1)[1]
        path = path.removeprefix("/api/v4/")
        meta = {"method": "POST", "path": path, "content_type": "application/json", "headers": [],
                "supersede": f"commit/{sha}/context/{payload['name']}", "keep": [], "fill": False}
        (out / "request.json").write_text(json.dumps(meta, indent=2) + "\n")
    return len(r._http.posts)


for c in sys.argv[1:]:
    print(c, run(Path(c)))
