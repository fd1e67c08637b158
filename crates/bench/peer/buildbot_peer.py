#!/usr/bin/env python3
"""The peer in wasmpush's end-to-end benchmark: Buildbot 4.3.0's own
HttpStatusPush, pushing recorded build objects through its real sendMessage
path.

Run with the Buildbot venv's python (the e2e bench does this itself):

    python buildbot_peer.py --url http://127.0.0.1:PORT/peer \
        --payloads payloads.jsonl --concurrency 1,2,4 --backends txrequests,treq

What runs is Buildbot's code, unchanged: a `HttpStatusPush(serverUrl)`
reporter (default generator, no auth) started as a service of a FakeMaster
(buildbot.test.fake.fakemaster: a MasterService without database or
message queue), whose `httpservice` is the real
`HTTPClientService.getService(master, '')` exactly as `BuildMaster` creates
it, on the real Twisted reactor. For each payload (one build object per line
of --payloads, i.e. what Buildbot's default formatter puts in the report
body) the script awaits `reporter.sendMessage([report])`: Buildbot's
`json.dumps`, its HTTP session (txrequests in a thread pool by default when
txrequests is installed, as in tests/buildbot/setup.sh; treq with
`HTTPClientService.PREFER_TREQ`), the POST and the status check.

What it leaves out, so the peer's figure is an upper bound on what Buildbot
achieves: the message queue, the generator's filters and the data API
queries that assemble the build object (`getDetailsForBuild`), which a real
master performs before `sendMessage` for every report.

`--concurrency C` runs C reports at a time (C build requests in flight:
Buildbot serialises reports per build request and runs different build
requests concurrently). Prints one JSON object on stdout:

    {"buildbot": "4.3.0", "cells": [{"backend", "concurrency", "reports",
      "elapsed_s", "rate", "p50_ms", "p99_ms", "cpu_s", "failures"}]}
"""

import argparse
import json
import os
import resource
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="receiver URL (127.0.0.1 only)")
    p.add_argument("--payloads", required=True, help="JSON lines, one build object each")
    p.add_argument("--concurrency", default="1,2,4", help="comma-separated")
    p.add_argument("--backends", default="txrequests", help="txrequests and/or treq, comma-separated")
    p.add_argument("--warmup", type=int, default=50, help="reports sent before each measured cell")
    args = p.parse_args()
    if not (args.url.startswith("http://127.0.0.1:") or args.url.startswith("http://localhost:")):
        p.error("--url must point at 127.0.0.1")
    return args


def quantile(sorted_values, q):
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 1))))
    return sorted_values[rank - 1]


def main():
    args = parse_args()
    with open(args.payloads, encoding="utf-8") as f:
        payloads = [json.loads(line) for line in f if line.strip()]
    if not payloads:
        sys.exit(f"{args.payloads}: no payloads")
    concurrencies = [int(c) for c in args.concurrency.split(",") if c]
    backends = [b for b in args.backends.split(",") if b]
    for b in backends:
        if b not in ("txrequests", "treq"):
            sys.exit(f"unknown backend {b!r} (txrequests or treq)")

    from twisted.internet import defer, reactor, task

    import buildbot
    from buildbot.reporters.http import HttpStatusPush
    from buildbot.test.fake.fakemaster import FakeMaster
    from buildbot.util import httpclientservice

    if "txrequests" in backends and httpclientservice.txrequests is None:
        sys.exit("txrequests is not installed in this venv (run tests/buildbot/setup.sh)")

    class NoMQ:
        """sendMessage is called directly; nothing is consumed."""

        def startConsuming(self, callback, filter, persistent_name=None):
            class Consumer:
                def stopConsuming(self):
                    return None

            return defer.succeed(Consumer())

    async def start_reporter(backend):
        httpclientservice.HTTPClientService.PREFER_TREQ = backend == "treq"
        master = FakeMaster(reactor)
        master.mq = NoMQ()
        master.httpservice = await httpclientservice.HTTPClientService.getService(master, "")
        reporter = HttpStatusPush(args.url)
        await reporter.setServiceParent(master)
        await master.startService()
        return master, reporter

    def report(body):
        return {"body": body, "type": "json", "subject": None, "results": None, "builds": [], "users": [],
                "patches": [], "logs": [], "buildset": None, "worker": None}

    async def push_all(reporter, items, concurrency, latencies, failures):
        queue = iter(items)

        async def lane():
            for body in queue:
                t = time.perf_counter()
                try:
                    await reporter.sendMessage([report(body)])
                except Exception as e:  # a failed push counts, it does not stop the run
                    failures.append(repr(e))
                latencies.append(time.perf_counter() - t)

        await defer.gatherResults([defer.ensureDeferred(lane()) for _ in range(concurrency)], consumeErrors=True)

    async def run(_reactor):
        cells = []
        for backend in backends:
            master, reporter = await start_reporter(backend)
            for c in concurrencies:
                warm = payloads[: min(args.warmup, len(payloads))]
                await push_all(reporter, warm, c, [], [])
                latencies, failures = [], []
                cpu0 = resource.getrusage(resource.RUSAGE_SELF)
                t0 = time.perf_counter()
                await push_all(reporter, payloads, c, latencies, failures)
                elapsed = time.perf_counter() - t0
                cpu1 = resource.getrusage(resource.RUSAGE_SELF)
                latencies.sort()
                cells.append({
                    "backend": backend,
                    "concurrency": c,
                    "reports": len(payloads),
                    "elapsed_s": elapsed,
                    "rate": len(payloads) / elapsed,
                    "p50_ms": quantile(latencies, 0.5) * 1e3,
                    "p99_ms": quantile(latencies, 0.99) * 1e3,
                    "cpu_s": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
                    "failures": len(failures),
                    "first_failure": failures[0] if failures else None,
                })
                print(f"peer {backend} x{c}: {cells[-1]['rate']:.0f} reports/s", file=sys.stderr)
            await master.stopService()
        print(json.dumps({"buildbot": buildbot.version, "python": sys.version.split()[0], "pid": os.getpid(), "cells": cells}))

    task.react(lambda r: defer.ensureDeferred(run(r)))


if __name__ == "__main__":
    main()
