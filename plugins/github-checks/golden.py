"""Writes the golden cases of plugins/github-checks by hand: Buildbot has no
Checks API reporter, so there is no oracle. This is the plugin's contract
(README.md) transcribed independently in Python, from GitHub's REST API
documentation for check runs (create: name, head_sha, status, started_at,
details_url, external_id; update: status, conclusion, completed_at, output
{title, summary}); it does not run the plugin.

Usage: python3 plugins/github-checks/golden.py   (rewrites expected/*/requests)
Payloads come from plugins/github-status/expected and the steps Buildbot
4.3.0 recorded for builds 9 and 10 (/work/shared/reference, copied in).
"""
import datetime, json, re, sys
from pathlib import Path

sys.dont_write_bytecode = True  # a plugins/__pycache__ would be a Cargo workspace member (plugins/*)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import oracle  # noqa: E402 (plugins/oracle.py)

HERE = Path(__file__).resolve().parent
RESULTS = ["success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"]
CONCLUSION = {0: "success", 1: "success", 2: "failure", 3: "skipped", 4: "failure", 5: "neutral", 6: "cancelled"}


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def owner_repo(ss):
    if ss["project"] and ss["project"].count("/") == 1:
        return ss["project"].split("/")
    m = re.match(r"^(?:https?://|ssh://|git://)?(?:[^@/]+@)?[^:/]+[:/](?:\d+/)?(.+)/([^/]+?)(?:\.git)?$", ss["repository"] or "")
    return [m.group(1), m.group(2)] if m else None


def result(code):
    return RESULTS[code] if code is not None and 0 <= code < len(RESULTS) else "not finished"


def summary(b):
    s = f"Build {b['number']} of {b['builder']['name']} finished: {result(b['results'])}"
    if b["state_string"]:
        s += f" ({b['state_string']})"
    s += "."
    if b.get("url"):
        s += f"\n\n{b['url']}"
    steps = [st for st in b.get("steps") or [] if not st["hidden"]]
    if steps:
        s += "\n\n| # | step | result | state |\n|---|---|---|---|"
        for st in steps:
            cell = lambda x: x.replace("\n", " ").replace("|", "\\|")
            s += f"\n| {st['number']} | {cell(st['name'])} | {result(st['results'])} | {cell(st['state_string'])} |"
    return s


def escape_braces(text):
    return re.sub(r"\{(?=[A-Za-z0-9_])", r"\\u007b", text)


def write(case, event, settings=None):
    b = json.loads((case / "payload.json").read_text())
    name = (settings or {}).get("context", "buildbot/%(prop:buildername)s").replace(
        "%(prop:buildername)s", b["properties"]["buildername"][0])
    reqs = []
    for ss in (b.get("buildset") or {}).get("sourcestamps", []):
        pair, sha = owner_repo(ss), ss["revision"]
        if not pair or not sha:
            continue
        runs = f"repos/{pair[0]}/{pair[1]}/check-runs"
        kept = f"check_run_{ss['ssid']}"
        if event == "build-new":
            body = {"name": name, "head_sha": sha, "status": "in_progress", "started_at": iso(b["started_at"]),
                    "details_url": b["url"], "external_id": str(b["buildid"])}
            reqs.append((json.dumps(body), oracle.request(runs, keep=[(kept, "/id")])))
        else:
            body = {"status": "completed", "conclusion": CONCLUSION.get(b["results"], "failure"),
                    "completed_at": iso(b["complete_at"]),
                    "output": {"title": f"Build {b['number']}: {result(b['results'])}", "summary": summary(b)}}
            reqs.append((escape_braces(json.dumps(body)), oracle.request(
                f"{runs}/{{{kept}}}", f"check-run/{pair[0]}/{pair[1]}/{sha}/build/{b['buildid']}/{name}",
                method="PATCH", fill=True)))
    (case / "event").write_text(event + "\n")
    if settings:
        (case / "settings").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    print(case.name, oracle.write_requests(case, reqs))


CASES = {
    "new-in-progress": ("build-new", None),
    "new-no-sourcestamps": ("build-new", None),
    "finished-success-steps": ("build-finished", None),
    "finished-failure-steps-context": ("build-finished", {"context": "ci/%(prop:buildername)s"}),
    "finished-codebases-exception": ("build-finished", None),
    "finished-cancelled-braces": ("build-finished", None),
}
for name, (event, settings) in CASES.items():
    write(HERE / "expected" / name, event, settings)
