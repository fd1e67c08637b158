#!/usr/bin/env python3
"""Warm start with 5 generators (one per guest language, Python's 19 MB
included), for one or more `wasmpush` binaries side by side in one run.

    python3 crates/bench/warm-start.py [--runs 21] BIN [BIN...]

e.g. a binary built before a change and one built after it:

    cp target/debug/wasmpush /tmp/wasmpush-before   # at the old commit
    cargo build -p wasmpush --bin wasmpush           # at the new one
    python3 crates/bench/warm-start.py /tmp/wasmpush-before target/debug/wasmpush

The generators are copied from target/generators into a scratch folder (so a
rebuild during the run changes nothing) and left to settle (a file changed
less than 2 s ago is not recorded by identity). Each binary first runs
`check` once to fill the shared compile cache. Then, alternating the
binaries run by run:

- `check`: process start to exit of `wasmpush check` (config, engine,
  fetch and pin checks, load of the 5 generators, each describing itself);
- `run`: process start to ready of `wasmpush run` (the relay source's port
  accepts, which happens after every generator is loaded and the outbox is
  open); 1 s later its RSS (VmRSS, RssAnon, RssFile) is read, then the
  process is stopped with SIGTERM.

Prints medians (and min/max) per binary and the ratio to the first binary.
No timing here is asserted anywhere: the machine may be loaded.
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

GENERATORS = ["buildbot-json", "c-summary", "js-github-status", "python-zulip", "wat-ping"]
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(dir: Path, source: str) -> Path:
    text = source + '[outbox]\npath = "outbox.redb"\n[runtime]\ncache_dir = "../cache"\n'
    for g in GENERATORS:
        text += (
            f'\n[[reporter]]\nname = "{g}"\nserver_url = "http://127.0.0.1:9/{g}"\n'
            f'[[reporter.generator]]\nwasm = "../{g}.wasm"\nkind = "build-status"\nmode = "all"\n'
        )
    dir.mkdir(parents=True, exist_ok=True)
    (dir / "events").mkdir(exist_ok=True)
    p = dir / "wasmpush.toml"
    p.write_text(text)
    return p


def status_kib(pid: int) -> dict:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile"):
            out[k] = int(v.split()[0])
    return out


def time_check(bin: str, cfg: Path) -> float:
    t = time.perf_counter()
    subprocess.run([bin, "check", str(cfg)], check=True, capture_output=True)
    return (time.perf_counter() - t) * 1000


def time_run(bin: str, cfg: Path, port: int) -> tuple[float, dict]:
    t = time.perf_counter()
    child = subprocess.Popen([bin, "run", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if child.poll() is not None:
                raise RuntimeError(f"{bin} run exited with {child.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
                break
            except OSError:
                time.sleep(0.001)
        ready = (time.perf_counter() - t) * 1000
        time.sleep(1.0)
        rss = status_kib(child.pid)
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return ready, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("bins", nargs="+")
    a = ap.parse_args()
    bins = [str(Path(b).resolve()) for b in a.bins]
    with tempfile.TemporaryDirectory(prefix="warm-start-") as tmp:
        tmp = Path(tmp)
        for g in GENERATORS:
            shutil.copyfile(REPO / "target/generators" / f"{g}.wasm", tmp / f"{g}.wasm")
        time.sleep(2.5)
        check_cfg = config(tmp / "check", '[[source]]\ntype = "replay"\npath = "events"\n')
        port = free_port()
        run_cfg = config(
            tmp / "run",
            f'[[source]]\ntype = "relay"\nlisten = "127.0.0.1:{port}"\nauth = {{ type = "none" }}\n',
        )
        for b in bins:  # fills the compile cache (and the identity record, where there is one)
            time_check(b, check_cfg)
            time_run(b, run_cfg, port)
        checks = {b: [] for b in bins}
        runs = {b: [] for b in bins}
        rss = {b: [] for b in bins}
        for i in range(a.runs):
            order = bins if i % 2 == 0 else bins[::-1]
            for b in order:
                checks[b].append(time_check(b, check_cfg))
            for b in order:
                ready, r = time_run(b, run_cfg, port)
                runs[b].append(ready)
                rss[b].append(r)
        load = os.getloadavg()
        print(f"runs {a.runs} per binary, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs")
        print("| binary | check, median (min-max) | ratio | run to ready, median (min-max) | ratio "
              "| idle RSS (anon / file), median |")
        print("|---|---|---|---|---|---|")
        base_c = statistics.median(checks[bins[0]])
        base_r = statistics.median(runs[bins[0]])
        for b in bins:
            c, r = sorted(checks[b]), sorted(runs[b])
            mc, mr = statistics.median(c), statistics.median(r)
            med = {k: statistics.median(x[k] for x in rss[b]) / 1024 for k in ("VmRSS", "RssAnon", "RssFile")}
            print(
                f"| {os.path.relpath(b)} | {mc:.1f} ms ({c[0]:.1f}-{c[-1]:.1f}) | {mc / base_c:.2f} "
                f"| {mr:.1f} ms ({r[0]:.1f}-{r[-1]:.1f}) | {mr / base_r:.2f} "
                f"| {med['VmRSS']:.1f} MiB ({med['RssAnon']:.1f} / {med['RssFile']:.1f}) |"
            )


if __name__ == "__main__":
    main()
