#!/usr/bin/env python3
"""Runs every examples/<name>/expected/<case>/ through `wasmpush render` and
compares the result with what the case expects.

Usage (from the repository root, after scripts/build-generators.sh):
    python3 scripts/check-expected.py [--wasmpush target/debug/wasmpush]
        [--generators target/generators] [EXAMPLE ...]

Case folder layout (see docs/languages/README.md):
    event         build-new | build-finished | buildset-complete (one line)
    payload.json  the payload JSON text
    settings      optional: one `key=value` per line, in order
    body          the exact expected body bytes          } one of
    report.json   {"content_type", "path", "headers"}    } these two
    no-report     (empty) the generator must return none } or this

Prints one line per case and `N passed, N failed` at the end; exit 1 on any
failure. The content type, path and headers are read from render's stderr
lines `content-type: ...`, `path: ...`, `header: name: value`.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path


def render(wasmpush, wasm, case):
    cmd = [wasmpush, "render", "--generator", str(wasm), "--event", (case / "event").read_text().strip(),
           "--payload", str(case / "payload.json")]
    settings = case / "settings"
    if settings.exists():
        for line in settings.read_text().splitlines():
            if line:
                cmd += ["--set", line]
    return subprocess.run(cmd, capture_output=True, timeout=300)


def metadata(stderr):
    meta = {"content_type": "", "path": None, "headers": []}
    for line in stderr.decode("utf-8", "replace").splitlines():
        if line.startswith("content-type: "):
            meta["content_type"] = line[len("content-type: "):]
        elif line.startswith("path: "):
            meta["path"] = line[len("path: "):]
        elif line.startswith("header: "):
            name, _, value = line[len("header: "):].partition(": ")
            meta["headers"].append([name, value])
    return meta


def check(wasmpush, wasm, case):
    result = render(wasmpush, wasm, case)
    if (case / "no-report").exists():
        if result.returncode == 0 and result.stdout == b"":
            return None
        return f"expected no report, got exit {result.returncode}, stdout {result.stdout[:200]!r}"
    if result.returncode != 0:
        return f"render failed (exit {result.returncode}): {result.stderr.decode('utf-8', 'replace')[-500:]}"
    want = (case / "body").read_bytes()
    if result.stdout != want:
        return f"body differs:\n  want {want[:400]!r}\n  got  {result.stdout[:400]!r}"
    report = case / "report.json"
    if report.exists():
        want_meta = json.loads(report.read_text())
        got = metadata(result.stderr)
        for key in ("content_type", "path", "headers"):
            if got[key] != want_meta.get(key):
                return f"{key} differs: want {want_meta.get(key)!r}, got {got[key]!r}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wasmpush", default="target/debug/wasmpush")
    ap.add_argument("--generators", default="target/generators")
    ap.add_argument("examples", nargs="*")
    args = ap.parse_args()
    root = Path(__file__).resolve().parents[1]
    names = args.examples or sorted(p.parent.name for p in (root / "examples").glob("*/expected"))
    passed = failed = 0
    for name in names:
        wasm = Path(args.generators) / f"{name}.wasm"
        for case in sorted((root / "examples" / name / "expected").iterdir()):
            if not case.is_dir():
                continue
            problem = check(args.wasmpush, wasm, case) if wasm.exists() else f"{wasm} not built"
            label = f"{name}/{case.name}"
            if problem is None:
                passed += 1
                print(f"ok   {label}")
            else:
                failed += 1
                print(f"FAIL {label}: {problem}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
