"""Writes plugins/msteams/expected/*/requests from each case's payload, as
the card is specified in README.md (an independent Python rendition of the
spec, checked against the plugin by the catalog test; Buildbot has no Teams
reporter to run instead).

Usage: python3 plugins/msteams/write_expected.py plugins/msteams/expected/*
"""
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # a plugins/__pycache__ would be a Cargo workspace member (plugins/*)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import oracle  # noqa: E402 (plugins/oracle.py)

RESULTS = ["success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"]
COLOR = ["Good", "Warning", "Attention", "Warning", "Attention", "Warning", "Warning"]


def card(event, b):
    finished = event == "build-finished" and b["complete"]
    builder = b["builder"]["name"]
    r = b.get("results")
    known = isinstance(r, int) and 0 <= r < len(RESULTS)
    result = RESULTS[r] if known else "unknown"
    if finished:
        head, color = f"{builder} #{b['number']} finished: {result}", COLOR[r] if known else "Attention"
    else:
        head, color = f"{builder} #{b['number']} started", "Accent"
    facts = [("Builder", builder), ("Build", str(b["number"]))]
    if finished:
        facts.append(("Result", result))
        if b.get("state_string"):
            facts.append(("Status", b["state_string"]))
    stamps = (b.get("buildset") or {}).get("sourcestamps") or []
    if stamps:
        s = stamps[0]
        if s.get("project"):
            facts.append(("Project", s["project"]))
        if s.get("branch"):
            facts.append(("Branch", s["branch"]))
        if s.get("revision"):
            facts.append(("Revision", s["revision"][:12]))
    content = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": head, "size": "Medium", "weight": "Bolder", "color": color, "wrap": True},
            {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in facts]},
        ],
    }
    if b.get("url"):
        content["actions"] = [{"type": "Action.OpenUrl", "title": "View build", "url": b["url"]}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}]}



def run(case: Path):
    event, b, _ = oracle.read_case(case)
    body = card(event, b)
    oracle.write_requests(case, [(body, oracle.request(None))])
    return body["attachments"][0]["content"]["body"][0]["text"]


oracle.main(run)
