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
import json, sys, shutil
from pathlib import Path
from twisted.internet import defer
from buildbot.reporters import base, bitbucketserver
from buildbot.reporters.bitbucketserver import BitbucketServerPRCommentPush


class Resp:
    def __init__(self, code):
        self.code = code


class FakeHttp:
    def __init__(self):
        self.posts = []

    def post(self, path, json=None, headers=None):
        self.posts.append((path, json))
        return defer.succeed(Resp(201))


class Config:
    title = "Buildbot"  # the master's title (the plugin's `title` setting)
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
        self.httpservice = None
        self.data = FakeData(build)


class Parent:
    def __init__(self, master):
        self.master = master


def result_of(d, allow_failure=False):
    out, failures = [], []
    d.addCallbacks(out.append, failures.append)
    if failures and allow_failure:
        print("  Buildbot raised:", failures[0].getErrorMessage() or failures[0].type.__name__)
        return None
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
    assert event == "build-finished", "BuildStatusGenerator reports finished builds only"
    http = FakeHttp()
    # reconfigService without a master: no mq subscription, no real session.
    base.ReporterBase.reconfigService = lambda self, generators: defer.succeed(None)
    bitbucketserver.httpclientservice.HTTPSession = lambda *a, **kw: http
    r = BitbucketServerPRCommentPush.__new__(BitbucketServerPRCommentPush)
    master = FakeMaster(build)
    master.config.title = settings.get("title", "Buildbot")
    r.parent = Parent(master)
    result_of(r.reconfigService("https://bitbucket.example", "user", "password"))
    gen = r._create_default_generators()[0]  # BuildStatusGenerator
    reports = []
    if gen.is_message_needed_by_props(build) and gen.is_message_needed_by_results(build):
        reports.append(result_of(gen.build_message(gen.formatter, master, r, build)))
    if reports:
        result_of(r.sendMessage(reports))
    shutil.rmtree(case / "requests", ignore_errors=True)
    (case / "no-report").unlink(missing_ok=True)
    if not http.posts:
        (case / "no-report").write_text("")
        return 0
    for i, (path, payload) in enumerate(http.posts):
        out = case / "requests" / str(i)
        out.mkdir(parents=True)
        (out / "body").write_text(json.dumps(payload))
        meta = {"method": "POST", "path": path.lstrip("/"), "content_type": "application/json", "headers": [],
                "supersede": None, "keep": [], "fill": False}
        (out / "request.json").write_text(json.dumps(meta, indent=2) + "\n")
    return len(http.posts)


for c in sys.argv[1:]:
    print(c, run(Path(c)))
