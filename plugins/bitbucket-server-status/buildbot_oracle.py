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
import json, sys, shutil
from pathlib import Path
from twisted.internet import defer
from buildbot.reporters.bitbucketserver import BitbucketServerStatusPush
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
    r = BitbucketServerStatusPush.__new__(BitbucketServerStatusPush)
    r.verbose = False
    r.debug = False
    # reconfigService's defaults
    r.key = Interpolate(settings["key"]) if "key" in settings else Interpolate('%(prop:buildername)s')
    r.context = Interpolate(settings["statusName"]) if "statusName" in settings else None
    r._http = FakeHttp()
    master = FakeMaster(build)
    r.parent = Parent(master)
    gen = r._create_default_generators()[0]  # BuildStartEndStatusGenerator
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
        meta = {"method": "POST", "path": path.lstrip("/"), "content_type": "application/json", "headers": [],
                "supersede": f"commit/{sha}/key/{payload['key']}", "keep": [], "fill": False}
        (out / "request.json").write_text(json.dumps(meta, indent=2) + "\n")
    return len(r._http.posts)


for c in sys.argv[1:]:
    print(c, run(Path(c)))
