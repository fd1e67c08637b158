#!/usr/bin/env bash
# A real full disk under the real binary (issue 11). Needs root (it mounts a
# small tmpfs), so it is not part of scripts/test.sh: CI tests the same
# promise with a fault-injecting storage backend (host/tests/faults.rs).
#
# 1. The outbox lives on an 8 MiB tmpfs, 7 MiB of it taken by a filler file.
# 2. wasmpush runs a relay; its target is down. Bodies are POSTed until the
#    disk is full: every POST is answered 200 (stored) or 503 (refused).
# 3. The run must end by itself with a non-zero exit and a clear last line.
# 4. The filler is deleted (space back), a receiver starts, wasmpush starts
#    again: every POST that got a 200 must arrive.
#
# Usage: sudo bash scripts/disk-full-tmpfs.sh      (prints the figures)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --bin wasmpush
[ -f target/generators/buildbot-json.wasm ] || bash scripts/build-generators.sh
work=$(mktemp -d)
mnt="$work/disk"
mkdir -p "$mnt"
mount -t tmpfs -o size=8m tmpfs "$mnt"
trap 'umount "$mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
dd if=/dev/zero of="$mnt/filler" bs=1M count=7 status=none
python3 - "$work" "$mnt" "$PWD" <<'PY'
import http.client, http.server, json, os, signal, socket, subprocess, sys, threading, time

work, mnt, repo = sys.argv[1:4]
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
relay, target = free_port(), free_port()
config = os.path.join(work, "wasmpush.toml")
with open(config, "w") as f:
    f.write(f"""[[source]]
type = "relay"
listen = "127.0.0.1:{relay}"
auth = {{ type = "none" }}
[outbox]
path = "{mnt}/outbox.redb"
[runtime]
cache_dir = "{work}/cache"
[[reporter]]
name = "target"
server_url = "http://127.0.0.1:{target}/hook"
retry_schedule = ["1s"]
retry_jitter = 0.0
max_attempts = 100000
[[reporter.generator]]
wasm = "{repo}/target/generators/buildbot-json.wasm"
kind = "build-start-end"
""")
capture = json.load(open(f"{repo}/tests/fixtures/buildbot-4.3.0/captures/082.json"))
base = json.loads(capture["body_raw"])
binary = f"{repo}/target/debug/wasmpush"

def start():
    p = subprocess.Popen([binary, "run", config], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t = time.time()
    while True:
        try:
            socket.create_connection(("127.0.0.1", relay), timeout=1).close()
            return p
        except OSError:
            if p.poll() is not None or time.time() - t > 60:
                sys.exit(f"wasmpush did not start: {p.stderr.read()}")
            time.sleep(0.05)

def post(buildid):
    body = dict(base, buildid=buildid, buildrequestid=buildid)
    try:
        c = http.client.HTTPConnection("127.0.0.1", relay, timeout=60)
        c.request("POST", "/buildbot", json.dumps(body), {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        return r.status
    except OSError:
        return None

p = start()
acked, statuses, buildid = set(), {}, 0
while p.poll() is None and buildid < 100000:
    buildid += 1
    s = post(buildid)
    statuses[s] = statuses.get(s, 0) + 1
    if s == 200:
        acked.add(buildid)
try:
    code = p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    sys.exit("FAIL: wasmpush idled on after the disk filled")
last = p.stderr.read().strip().splitlines()[-1:] or ["(nothing)"]
print(f"posted {buildid}, answers {statuses}; wasmpush exited {code}: {last[0]}")
assert code != 0, "a full disk must end the process non-zero"
assert statuses.get(503, 0) >= 1, "the full disk must be answered 503"

os.remove(f"{mnt}/filler")
received = set()
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        received.add(json.loads(body)["buildid"])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", target), Hook)
threading.Thread(target=server.serve_forever, daemon=True).start()
p = start()
t = time.time()
while not acked <= received and time.time() - t < 120:
    time.sleep(0.2)
p.send_signal(signal.SIGTERM)
p.wait(timeout=60)
missing = sorted(acked - received)
print(f"after restart with space back: {len(acked)} acknowledged, {len(received & acked)} delivered, missing {missing[:20]}")
assert not missing, "an acknowledged event was lost"
print("PASS")
PY
