"""Writes plugins/discord/expected/*/requests from each case's payload, as
the message is specified in README.md (an independent Python rendition of
the spec, checked against the plugin by the catalog test; Buildbot has no
Discord reporter to run instead). Bodies are compact JSON with UTF-8 text,
as JavaScript's JSON.stringify writes them.

Usage: python3 plugins/discord/write_expected.py plugins/discord/expected/*
"""
import json
import re
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # a plugins/__pycache__ would be a Cargo workspace member (plugins/*)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import oracle  # noqa: E402 (plugins/oracle.py)

RESULTS = ["success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"]
COLORS = [0x2ECC71, 0xF1C40F, 0xE74C3C, 0x95A5A6, 0x9B59B6, 0x3498DB, 0x95A5A6]


def esc(s):
    return re.sub(r"(?m)^([#>])", r"\\\1", re.sub(r"([\\*_~`|\[\]])", r"\\\1", s))


def cut(s, n):
    return s if len(s) <= n else s[: n - 1] + "\u2026"


def message(event, b):
    finished = event == "build-finished" and b["complete"] is True
    title = f"{b['builder']['name'] or 'build'} #{b['number']}"
    r = b.get("results")
    known = isinstance(r, int) and 0 <= r < len(RESULTS)
    result = RESULTS[r] if known else "unknown"
    lines = []
    if finished and b.get("state_string"):
        lines.append(esc(b["state_string"]))
    stamps = (b.get("buildset") or {}).get("sourcestamps") or []
    if stamps:
        s, parts = stamps[0], []
        if s.get("project"):
            parts.append(esc(s["project"]))
        if s.get("branch"):
            parts.append(esc(s["branch"]))
        if s.get("revision"):
            parts.append("`" + s["revision"][:12].replace("`", "'") + "`")
        if parts:
            lines.append(" \u00b7 ".join(parts))
    embed = {"title": cut(f"{title}: {result}" if finished else f"{title}: started", 256)}
    if b.get("url"):
        embed["url"] = b["url"]
    embed["color"] = (COLORS[r] if known else 0x95A5A6) if finished else 0x3498DB
    if lines:
        embed["description"] = cut("\n".join(lines), 4096)
    content = cut(esc(f"{title} finished: {result}" if finished else f"{title} started"), 2000)
    return {"content": content, "embeds": [embed], "allowed_mentions": {"parse": []}}



def run(case: Path):
    event, b, _ = oracle.read_case(case)
    body = message(event, b)
    oracle.write_requests(case, [(json.dumps(body, separators=(",", ":"), ensure_ascii=False), oracle.request(None))])
    return body["content"]


oracle.main(run)
