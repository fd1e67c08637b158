"""Writes plugins/slack/expected/*/requests from each case's payload, as the
message is specified in README.md (an independent Python rendition of the
spec, checked against the plugin by the catalog test; Buildbot has no Slack
reporter to run instead).

Usage: python3 plugins/slack/write_expected.py plugins/slack/expected/*
"""
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # a plugins/__pycache__ would be a Cargo workspace member (plugins/*)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import oracle  # noqa: E402 (plugins/oracle.py)

RESULTS = ["success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"]
EMOJI = [":white_check_mark:", ":warning:", ":x:", ":fast_forward:", ":boom:", ":repeat:", ":no_entry_sign:"]


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(event, b):
    finished = event == "build-finished" and b["complete"]
    title = f"{b['builder']['name']} #{b['number']}"
    r = b.get("results")
    known = isinstance(r, int) and 0 <= r < len(RESULTS)
    result = RESULTS[r] if known else "unknown"
    link = f"<{esc(b['url'])}|{esc(title).replace('|', chr(0x2758))}>" if b.get("url") else esc(title)
    if finished:
        emoji = EMOJI[r] if known else ":grey_question:"
        head, text = f"{emoji} *{link}* finished: *{result}*", f"{esc(title)} finished: {result}"
    else:
        head, text = f":arrow_forward: *{link}* started", f"{esc(title)} started"
    parts = []
    if finished and b.get("state_string"):
        parts.append(esc(b["state_string"]))
    stamps = (b.get("buildset") or {}).get("sourcestamps") or []
    if stamps:
        s = stamps[0]
        if s.get("project"):
            parts.append(esc(s["project"]))
        if s.get("branch"):
            parts.append(esc(s["branch"]))
        if s.get("revision"):
            parts.append("`" + esc(s["revision"][:12].replace("`", "'")) + "`")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    if parts:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " \u00b7 ".join(parts)}]})
    return {"text": text, "blocks": blocks}



def run(case: Path):
    event, b, _ = oracle.read_case(case)
    body = message(event, b)
    oracle.write_requests(case, [(body, oracle.request(None))])
    return body["text"]


oracle.main(run)
