"""What the catalog's case writers share (`plugins/*/buildbot_oracle.py`,
`write_expected.py`, `golden.py`): reading a case folder, Buildbot's HTTP
client and master captured, running a reporter's default generator, and
writing `requests/<i>/{body,request.json}` or `no-report` (the format of
docs/contract-0.2.md). Each writer keeps only what is its reporter's own.

A writer in plugins/<name>/ imports it with
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import oracle
and ends with `oracle.main(run)`: `run(case)` for each case folder named on
the command line, printing the folder and what `run` returns.

Importing Twisted is left to the functions that need it, so the writers
that do not run Buildbot (slack, msteams, discord, github-checks) run with
any python3.
"""
import datetime
import json
import shutil
import sys
from pathlib import Path


def read_case(case: Path):
    """A case's `event`, `payload.json` (parsed) and `settings` (`k=v`
    lines, as a dict)."""
    event = (case / "event").read_text().strip()
    build = json.loads((case / "payload.json").read_text())
    settings = {}
    if (case / "settings").exists():
        for line in (case / "settings").read_text().splitlines():
            if line:
                k, v = line.split("=", 1)
                settings[k] = v
    return event, build, settings


def started(event, build):
    """The build as Buildbot reports it: not complete at build-new."""
    return dict(build, complete=False) if event == "build-new" else build


def when(epoch):
    """An epoch time as Buildbot's data API has it (a UTC datetime)."""
    return None if epoch is None else datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)


def with_datetimes(build):
    return dict(build, started_at=when(build["started_at"]), complete_at=when(build["complete_at"]))


def request(path, supersede=None, method="POST", keep=(), fill=False):
    """A request.json as the contract writes it (key order kept)."""
    return {"method": method, "path": path, "content_type": "application/json", "headers": [],
            "supersede": supersede, "keep": [list(k) for k in keep], "fill": fill}


def write_requests(case: Path, requests):
    """Replaces the case's expectation: `requests` is a list of
    (body, request.json dict); a body that is not a str is written as
    `json.dumps(body)` (Buildbot's HTTP client's serialisation). No
    requests: `no-report`. Returns how many."""
    shutil.rmtree(case / "requests", ignore_errors=True)
    (case / "no-report").unlink(missing_ok=True)
    if not requests:
        (case / "no-report").write_text("")
        return 0
    for i, (body, meta) in enumerate(requests):
        out = case / "requests" / str(i)
        out.mkdir(parents=True)
        (out / "body").write_bytes((body if isinstance(body, str) else json.dumps(body)).encode("utf-8"))
        (out / "request.json").write_text(json.dumps(meta, indent=2) + "\n")
    return len(requests)


def main(run):
    for c in sys.argv[1:]:
        print(c, run(Path(c)))


# --- Buildbot's side, captured ---------------------------------------------

class Resp:
    def __init__(self, code, body=None):
        self.code = code
        self._body = body or {}

    def json(self):
        from twisted.internet import defer
        return defer.succeed(self._body)


class FakeHttp:
    """Buildbot's HTTPSession: every post is recorded as (path, json) and
    answered with `code`."""

    def __init__(self, code=201):
        self.code = code
        self.posts = []

    def post(self, path, json=None, headers=None):
        from twisted.internet import defer
        self.posts.append((path, json))
        return defer.succeed(Resp(self.code))


class Config:
    title = "Buildbot"  # the master's title
    buildbotURL = "http://127.0.0.1:8010/"


class FakeData:
    """The data API a generator asks: the build's changes and properties
    come from the payload."""

    def __init__(self, build):
        self.build = build

    def get(self, path):
        from twisted.internet import defer
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


def attach_master(reporter, build):
    """Gives the reporter a master (ReporterBase.master is its parent's)
    whose data API serves `build`; returns the master."""
    master = FakeMaster(build)
    reporter.parent = Parent(master)
    return master


def result_of(d, allow_failure=False):
    """A fired Deferred's result; a failure fails the oracle, or with
    `allow_failure` is printed and ends the report as in Buildbot (what was
    posted before it is the expectation)."""
    out, failures = [], []
    d.addCallbacks(out.append, failures.append)
    if failures and allow_failure:
        print("  Buildbot raised:", failures[0].getErrorMessage() or failures[0].type.__name__)
        return None
    assert not failures, failures
    return out[0] if out else None


def send_generated(reporter, gen, formatter, master, build, allow_failure=False, by_results=False):
    """What the reporter's generator does for one build: the report when
    the generator wants it (its props filter, and with `by_results` its
    mode), then sendMessage."""
    reports = []
    if gen.is_message_needed_by_props(build) and (not by_results or gen.is_message_needed_by_results(build)):
        reports.append(result_of(gen.build_message(formatter, master, reporter, build)))
    if reports:
        result_of(reporter.sendMessage(reports), allow_failure=allow_failure)


def start_end_formatter(gen, event):
    """BuildStartEndStatusGenerator's formatter for the event."""
    return gen.start_formatter if event == "build-new" else gen.end_formatter


def stub_reconfig(module, http):
    """Lets reconfigService run without a master: no mq subscription, and
    `module`'s HTTP session is `http`."""
    from twisted.internet import defer
    from buildbot.reporters import base
    base.ReporterBase.reconfigService = lambda self, generators: defer.succeed(None)
    module.httpclientservice.HTTPSession = lambda *a, **kw: http
