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
import json, sys, shutil
from pathlib import Path
from twisted.internet import defer
from buildbot.reporters import base, bitbucketserver
from buildbot.reporters.bitbucketserver import BitbucketServerCoreAPIStatusPush
from buildbot.process.properties import Interpolate


class Resp:
    def __init__(self, code):
        self.code = code


class FakeHttp:
    def __init__(self):
        self.posts = []

    def post(self, path, json=None, headers=None):
        self.posts.append((path, json))
        return defer.succeed(Resp(204))


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
    if event == "build-new":
        build = dict(build, complete=False)
    http = FakeHttp()
    # reconfigService without a master: no mq subscription, no real session.
    base.ReporterBase.reconfigService = lambda self, generators: defer.succeed(None)
    bitbucketserver.httpclientservice.HTTPSession = lambda *a, **kw: http
    r = BitbucketServerCoreAPIStatusPush.__new__(BitbucketServerCoreAPIStatusPush)
    master = FakeMaster(build)
    r.parent = Parent(master)
    result_of(r.reconfigService("https://bitbucket.example", token="t",
                                **{k: Interpolate(v) for k, v in settings.items()}))
    gen = r._create_default_generators()[1]  # BuildStartEndStatusGenerator
    formatter = gen.start_formatter if event == "build-new" else gen.end_formatter
    reports = []
    if gen.is_message_needed_by_props(build):
        reports.append(result_of(gen.build_message(formatter, master, r, build)))
    if reports:
        result_of(r.sendMessage(reports), allow_failure=True)
    shutil.rmtree(case / "requests", ignore_errors=True)
    (case / "no-report").unlink(missing_ok=True)
    if not http.posts:
        (case / "no-report").write_text("")
        return 0
    for i, (path, payload) in enumerate(http.posts):
        out = case / "requests" / str(i)
        out.mkdir(parents=True)
        (out / "body").write_text(json.dumps(payload))
        sha = path.split("/")[-2]
        meta = {"method": "POST", "path": path.lstrip("/"), "content_type": "application/json", "headers": [],
                "supersede": f"commit/{sha}/key/{payload['key']}", "keep": [], "fill": False}
        (out / "request.json").write_text(json.dumps(meta, indent=2) + "\n")
    return len(http.posts)


for c in sys.argv[1:]:
    print(c, run(Path(c)))
