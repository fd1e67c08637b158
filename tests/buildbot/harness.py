#!/usr/bin/env python3
"""Real Buildbot 4.3.0 master + worker for wasmpush's tests (stdlib only here).

Run it with the venv's python (`target/buildbot-venv/bin/python`, made by
`tests/buildbot/setup.sh`); the `buildbot` and `buildbot-worker` scripts are
taken from the same folder as that python.

Commands (each prints one JSON object on stdout; logs go to stderr):

  harness.py start --dir D [--reporter NAME=URL]... [--capture-out FILE]
                   [--www-user U --www-password P]
      Creates a master in D/master (master.cfg from this folder) and a worker
      in D/worker, both on 127.0.0.1 with free ports, and waits until the
      worker is connected. Each --reporter adds one HttpStatusPush with its
      default generator, posting to URL (no trailing "/"; user:password@
      in the URL becomes the reporter's HTTP Basic `auth`). With
      --capture-out, a capture receiver is started too and a reporter named
      "default" posting to <capture>/default is added. With --www-user, the
      web UI/API require that user (anonymous access is denied; log in with
      HTTP Basic at /auth/login). An old run in D is stopped and wiped first.
      -> {"dir", "buildbot_url", "api_url", "ws_url", "www_port", "pb_port",
          "capture_url"?, "capture_file"?, "reporters": [...]}

  harness.py run-builds --dir D [--only pass,fail,...] [--sequential]
      Forces pass, fail, warn, exception, slow, parent (which triggers
      child), stops "slow" once its sleep runs, waits until every buildset is
      complete. -> {"builds": [{"builder", "buildid", "number", "bsid",
      "buildrequestid", "results"}], "elapsed_s"}

  harness.py stop --dir D
      Stops worker, master and capture receiver (by the pids recorded by
      `start`). Idempotent. -> {"stopped": [...]}

  harness.py capture --out FILE [--port N] [--port-file F]
      Foreground capture receiver: records every POST as one JSON line
      {"path", "headers": [[k, v]...], "body_b64", "body", "received_at"}
      and answers 200 "OK".

  harness.py wait-captures --file FILE --count N [--timeout S]
      Waits until FILE holds at least N records. -> {"count"}

Reporter parity (host/tests/reporter_parity/):

  harness.py start --dir D --config parity.cfg --forges --capture-out FILE
      --config uses another master config from this folder (default
      master.cfg); `harness.json` always carries "capture_url" when there is
      a capture receiver. --forges starts the receiver in forge mode (see
      `capture --forges`) and adds no "default" HttpStatusPush.

  harness.py capture ... --forges
      Forge mode: records every method (GET, POST, PUT, PATCH, DELETE) with a
      "method" field, and answers like the forges where a reporter reads the
      answer. An emulation, not the forges: GitLab `GET .../api/v4/projects/<path>`
      -> 200 {"id": 42, ...}; an OAuth token URL (`.../oauth2/access_token`)
      -> 200 {"access_token", "expires_in": 3600}; commit statuses and comments
      -> 201 with a JSON object; Bitbucket Server build statuses and Gerrit
      verifications -> 204; Zulip -> 200 {"result": "success"}; anything else
      200 "OK".

  harness.py run-parity-builds --dir D
      Forces, concurrently, one build of each kind of parity.cfg: pass, fail,
      warn, exception, slow (stopped once it sleeps -> cancelled), multi (two
      codebases), pr (refs/pull/7/head), each with revisions of its own
      (sha1 of "revision of <kind>", of "revision of multi-lib" for multi's
      "lib" codebase); waits
      until every buildset is complete. -> {"builds": [{"kind", "builder",
      "buildid", "number", "builderid", "url", "revisions", "results", ...}],
      "elapsed_s"}
"""

import argparse
import base64
import hashlib
import re
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(os.path.abspath(sys.executable))
ALL_BUILDERS = ["pass", "fail", "warn", "exception", "slow", "parent"]
OWNER = "Zo\u00eb \u00dcnicode <zoe@example.com>"


def log(msg):
    print(f"[harness {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    log(f"ERROR: {msg}")
    print(json.dumps({"error": msg}))
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def state_path(d):
    return os.path.join(d, "harness-state.json")


def load_state(d):
    try:
        with open(state_path(d), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def save_state(d, state):
    tmp = state_path(d) + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1)
    os.replace(tmp, state_path(d))


def run(cmd, **kw):
    log("$ " + " ".join(cmd))
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        die(f"{cmd[0]} exited {p.returncode}: {p.stdout[-2000:]} {p.stderr[-2000:]}")
    return p


# ---------------------------------------------------------------- REST helpers

SESSION = {"cookie": None}


def login(base, user, password):
    """Logs in at /auth/login (HTTP Basic) and keeps the session cookie."""
    tok = base64.b64encode(f"{user}:{password}".encode()).decode()
    req = urllib.request.Request(base + "auth/login", headers={"Authorization": f"Basic {tok}"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        r = opener.open(req, timeout=10)
        headers = r.headers
    except urllib.error.HTTPError as e:  # the 302 after a successful login
        if e.code >= 400:
            die(f"login as {user} failed: HTTP {e.code}")
        headers = e.headers
    # Buildbot sets the anonymous session cookie, then the logged-in one under
    # the same name: the last value of each name wins.
    jar = {}
    for c in headers.get_all("Set-Cookie") or []:
        name, _, value = c.split(";")[0].strip().partition("=")
        jar.pop(name, None)
        jar[name] = value
    if not jar:
        die("login answered without a session cookie")
    SESSION["cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())


def api(base, method, path, body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if SESSION["cookie"]:
        headers["Cookie"] = SESSION["cookie"]
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def api_get(base, path):
    return api(base, "GET", path)


def rpc(base, path, method, params):
    reply = api(base, "POST", path, {"jsonrpc": "2.0", "method": method, "id": 1, "params": params})
    if "error" in reply and reply["error"]:
        die(f"JSON-RPC {method} {path} failed: {reply['error']}")
    return reply.get("result")


def wait_for(what, fn, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = fn()
        except (urllib.error.URLError, ConnectionError, OSError, http.client.HTTPException) as e:
            # A master under load may cut an answer short (IncompleteRead): ask again.
            v = None
            last = e
        if v:
            return v
        if time.monotonic() > deadline:
            die(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ------------------------------------------------------------ capture receiver

class CaptureHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    out = None
    lock = threading.Lock()

    def log_message(self, fmt, *args):  # quiet
        pass

    def _reply(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    forges = False

    def do_GET(self):
        if self.forges:
            return self._record_and_answer("GET")
        self._reply(200, "capture receiver")

    def do_POST(self):
        if self.forges:
            return self._record_and_answer("POST")
        self._record("POST")
        self._reply(200, "OK")

    def do_PUT(self):
        self._record_and_answer("PUT")

    def do_PATCH(self):
        self._record_and_answer("PATCH")

    def do_DELETE(self):
        self._record_and_answer("DELETE")

    def _record(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        rec = {
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_b64": base64.b64encode(raw).decode(),
            "body": raw.decode("utf-8", "replace"),
            "received_at": time.time(),
            "method": method,
        }
        line = json.dumps(rec) + "\n"
        with self.lock:
            with open(self.out, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()

    def _record_and_answer(self, method):
        self._record(method)
        code, body = forge_answer(method, urllib.parse.urlsplit(self.path).path)
        if body is None:
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif isinstance(body, str):
            self._reply(code, body)
        else:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)


# An emulation of what each forge answers, only as far as a reporter reads
# the answer (status code, a JSON field); the real services say more.
FORGE_ANSWERS = [
    # GitLab: project lookup by URL-encoded path -> its numeric id
    ("GET", r"/api/v4/projects/([^/]+)$", 200,
     lambda m: {"id": 42, "path_with_namespace": urllib.parse.unquote_plus(m.group(1))}),
    # Bitbucket Cloud (and any OAuth2 client-credentials token URL)
    ("POST", r"/oauth2/access_token$", 200,
     lambda m: {"access_token": "bb-access-token", "token_type": "bearer", "expires_in": 3600,
                "scopes": "repository"}),
    # GitLab commit status
    ("POST", r"/api/v4/projects/[^/]+/statuses/[0-9a-f]+$", 201, lambda m: {"id": 1, "status": "created"}),
    # Bitbucket Server build status (old API) and core API: 204 No Content
    ("POST", r"/rest/build-status/1\.0/commits/[^/]+$", 204, None),
    ("POST", r"/rest/api/1\.0/projects/[^/]+/repos/[^/]+/commits/[^/]+/builds$", 204, None),
    # Bitbucket Server pull-request comment
    ("POST", r"/rest/api/1\.0/.*/comments$", 201, lambda m: {"id": 1, "version": 0}),
    # Bitbucket Cloud commit status
    ("POST", r"/2\.0/repositories/[^/]+/[^/]+/commit/[^/]+/statuses/build$", 201, lambda m: {"type": "build"}),
    # GitHub commit status and issue comment
    ("POST", r"/repos/[^/]+/[^/]+/statuses/[^/]+$", 201, lambda m: {"id": 1}),
    ("POST", r"/repos/[^/]+/[^/]+/issues/[0-9]+/comments$", 201, lambda m: {"id": 1}),
    # Gerrit verify-status plugin
    ("POST", r"/a/changes/[^/]+/revisions/[^/]+/verify-status~verifications$", 204, None),
    # Zulip's Buildbot integration
    ("POST", r"/api/v1/external/buildbot$", 200, lambda m: {"result": "success", "msg": ""}),
]


def forge_answer(method, path):
    for want, pattern, code, body in FORGE_ANSWERS:
        m = re.search(pattern, path)
        if want == method and m:
            return code, (body(m) if body else None)
    return 200, "OK"


def cmd_capture(a):
    CaptureHandler.out = a.out
    CaptureHandler.forges = a.forges
    open(a.out, "a").close()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), CaptureHandler)
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, a.port_file)
    log(f"capture receiver on 127.0.0.1:{port} -> {a.out}")
    signal.signal(signal.SIGTERM, lambda *_: (srv.server_close(), os._exit(0)))
    srv.serve_forever()


# --------------------------------------------------------------- start / stop

def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def stop_pid(pid, name, timeout=20):
    if not pid or not pid_alive(pid):
        return False
    log(f"stopping {name} (pid {pid})")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        try:  # reap it if it is our child (capture receiver started by us)
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if time.monotonic() > deadline:
            log(f"{name} (pid {pid}) ignored SIGTERM for {timeout}s: SIGKILL")
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    return True


def twistd_pid(basedir):
    try:
        with open(os.path.join(basedir, "twistd.pid")) as f:
            return int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None


def do_stop(d):
    stopped = []
    st = load_state(d) or {}
    for name, sub in (("worker", "worker"), ("master", "master")):
        pid = twistd_pid(os.path.join(d, sub)) or st.get("pids", {}).get(name)
        if stop_pid(pid, name):
            stopped.append(name)
    cap = st.get("pids", {}).get("capture")
    if stop_pid(cap, "capture receiver", timeout=5):
        stopped.append("capture")
    return stopped


def cmd_stop(a):
    print(json.dumps({"stopped": do_stop(a.dir)}))


def tail(path, n=60):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except FileNotFoundError:
        return f"({path} missing)"


def cmd_start(a):
    t0 = time.monotonic()
    d = os.path.abspath(a.dir)
    if os.path.exists(d):
        do_stop(d)
        shutil.rmtree(d)
    os.makedirs(d)
    state = {"dir": d, "pids": {}}
    save_state(d, state)

    reporters = []
    for spec in a.reporter:
        name, sep, url = spec.partition("=")
        parts = urllib.parse.urlsplit(url)
        if not sep or not name or parts.scheme != "http" or parts.hostname != "127.0.0.1" or not parts.port:
            die(f"--reporter must be NAME=http://[user:password@]127.0.0.1:PORT/..., got {name!r}")
        if url.endswith("/"):
            die(f"--reporter {name}: URL must not end with '/' (Buildbot refuses it)")
        reporters.append({"name": name, "url": url})

    if a.capture_out:
        port_file = os.path.join(d, "capture.port")
        capture_file = os.path.abspath(a.capture_out)
        forges = ["--forges"] if a.forges else []
        with open(os.path.join(d, "capture.log"), "w") as logf:
            p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "capture", "--out", capture_file,
                                  "--port-file", port_file] + forges, stdout=logf, stderr=logf,
                                 start_new_session=True)
        state["pids"]["capture"] = p.pid
        save_state(d, state)
        port = int(wait_for("capture receiver port", lambda: os.path.exists(port_file) and open(port_file).read(), 10))
        state["capture_url"] = f"http://127.0.0.1:{port}"
        state["capture_file"] = capture_file
        if not a.forges:
            reporters.insert(0, {"name": "default", "url": f"{state['capture_url']}/default"})

    www, pb = free_port(), free_port()
    while pb == www:
        pb = free_port()
    master = os.path.join(d, "master")
    url = f"http://127.0.0.1:{www}/"
    run([os.path.join(BIN, "buildbot"), "create-master", "--quiet", master])
    shutil.copy(os.path.join(HERE, a.config), os.path.join(master, "master.cfg"))
    with open(os.path.join(master, "harness.json"), "w", encoding="utf-8") as f:
        cfg = {"www_port": www, "pb_port": pb, "buildbot_url": url, "reporters": reporters}
        if "capture_url" in state:
            cfg["capture_url"] = state["capture_url"]
        if a.www_user:
            cfg.update(www_user=a.www_user, www_password=a.www_password)
            state.update(www_user=a.www_user, www_password=a.www_password)
        json.dump(cfg, f, indent=1)
    t1 = time.monotonic()
    p = subprocess.run([os.path.join(BIN, "buildbot"), "start", master], capture_output=True, text=True)
    if p.returncode != 0:
        do_stop(d)
        die(f"master did not start ({p.stdout.strip()[-500:]}); twistd.log:\n{tail(os.path.join(master, 'twistd.log'))}")
    state["pids"]["master"] = twistd_pid(master)
    save_state(d, state)
    t2 = time.monotonic()

    wdir = os.path.join(d, "worker")
    run([os.path.join(BIN, "buildbot-worker"), "create-worker", "--quiet", wdir, f"127.0.0.1:{pb}", "w1", "pass"])
    run([os.path.join(BIN, "buildbot-worker"), "start", wdir])
    state["pids"]["worker"] = twistd_pid(wdir)
    save_state(d, state)
    if a.www_user:
        login(url, a.www_user, a.www_password)
    wait_for("worker w1 to connect",
             lambda: any(w["connected_to"] for w in api_get(url, "api/v2/workers")["workers"]), 60)
    t3 = time.monotonic()

    state.update({
        "buildbot_url": url, "api_url": url + "api/v2/", "ws_url": f"ws://127.0.0.1:{www}/ws",
        "www_port": www, "pb_port": pb, "reporters": reporters,
        "timings_s": {"create_master": round(t1 - t0, 2), "master_start": round(t2 - t1, 2),
                      "worker_start": round(t3 - t2, 2), "total": round(t3 - t0, 2)},
    })
    save_state(d, state)
    log(f"master {url} up, worker connected in {t3 - t0:.1f}s")
    print(json.dumps(state))


# ----------------------------------------------------------------- run builds

def cmd_run_builds(a):
    st = load_state(a.dir) or die(f"no harness state in {a.dir}: run `start` first")
    base = st["buildbot_url"]
    if st.get("www_user"):
        login(base, st["www_user"], st["www_password"])
    wanted = a.only.split(",") if a.only else ALL_BUILDERS
    unknown = set(wanted) - set(ALL_BUILDERS)
    if unknown:
        die(f"unknown builders {sorted(unknown)} (known: {ALL_BUILDERS})")
    builder_ids = {b["name"]: b["builderid"] for b in api_get(base, "api/v2/builders")["builders"]}
    t0 = time.monotonic()
    forced = []  # (builder, bsid, brid)

    def force(name):
        res = rpc(base, "api/v2/forceschedulers/force", "force", {
            "builderNames": [name], "owner": OWNER,
            "reason": f"conformance {name} \u2013 r\u00e9sum\u00e9",
            "myprop": f"myprop-for-{name} \u00fcn\u00efc\u00f6d\u00e9 \u2713", "ticket": "TICKET-42",
        })
        bsid, brids = res[0], res[1]
        forced.append((name, bsid, list(brids.values())[0]))
        log(f"forced {name}: buildset {bsid}")
        return bsid

    def wait_complete(bsid, timeout=120):
        wait_for(f"buildset {bsid} to complete",
                 lambda: api_get(base, f"api/v2/buildsets/{bsid}")["buildsets"][0]["complete"], timeout)

    def cancel_slow(brid):
        def sleeping_build():
            builds = api_get(base, f"api/v2/buildrequests/{brid}/builds")["builds"]
            if not builds:
                return None
            steps = api_get(base, f"api/v2/builds/{builds[0]['buildid']}/steps")["steps"]
            return builds[0]["buildid"] if any(s["name"] == "sleep" and s["started_at"] for s in steps) else None
        buildid = wait_for("slow build to reach its sleep step", sleeping_build, 60)
        rpc(base, f"api/v2/builds/{buildid}", "stop", {"reason": "cancelled by the conformance driver"})
        log(f"stopped slow build {buildid}")

    for name in wanted:
        bsid = force(name)
        if name == "slow":
            cancel_slow(forced[-1][2])
        if a.sequential:
            wait_complete(bsid)
    for _, bsid, _ in forced:
        wait_complete(bsid)

    builds = []
    for name, bsid, brid in forced:
        for b in api_get(base, f"api/v2/buildrequests/{brid}/builds")["builds"]:
            builds.append({"builder": name, "buildid": b["buildid"], "number": b["number"], "bsid": bsid,
                           "buildrequestid": brid, "results": b["results"]})
            # builds triggered by this one (the child of "parent")
            for cbs in api_get(base, f"api/v2/buildsets?parent_buildid={b['buildid']}")["buildsets"]:
                for br in api_get(base, f"api/v2/buildrequests?buildsetid={cbs['bsid']}")["buildrequests"]:
                    for cb in api_get(base, f"api/v2/buildrequests/{br['buildrequestid']}/builds")["builds"]:
                        builds.append({"builder": [k for k, v in builder_ids.items() if v == cb["builderid"]][0],
                                       "buildid": cb["buildid"], "number": cb["number"], "bsid": cbs["bsid"],
                                       "buildrequestid": br["buildrequestid"], "results": cb["results"]})
    builds.sort(key=lambda b: b["buildid"])
    elapsed = round(time.monotonic() - t0, 2)
    log(f"{len(builds)} builds done in {elapsed}s")
    print(json.dumps({"builds": builds, "elapsed_s": elapsed}))


PARITY_KINDS = ["pass", "fail", "warn", "exception", "slow", "multi", "pr"]


def parity_revision(name):
    # not sha1(name): Bitbucket Cloud's status key is sha1(buildername)
    return hashlib.sha1(f"revision of {name}".encode()).hexdigest()


def cmd_run_parity_builds(a):
    st = load_state(a.dir) or die(f"no harness state in {a.dir}: run `start` first")
    base = st["buildbot_url"]
    if st.get("www_user"):
        login(base, st["www_user"], st["www_password"])
    builder_ids = {b["name"]: b["builderid"] for b in api_get(base, "api/v2/builders")["builders"]}
    missing = set(PARITY_KINDS) - set(builder_ids)
    if missing:
        die(f"the master has no builders {sorted(missing)}: start it with --config parity.cfg")
    t0 = time.monotonic()
    forced = []  # (kind, revisions, bsid, brid)
    for kind in PARITY_KINDS:
        revisions = {"": parity_revision(kind)}
        params = {"builderNames": [kind], "owner": OWNER, "reason": f"parity {kind}",
                  "revision": revisions[""]}
        scheduler = "force"
        if kind == "multi":
            revisions["lib"] = parity_revision("multi-lib")
            params["lib_revision"] = revisions["lib"]
            scheduler = "force-multi"
        elif kind == "pr":
            scheduler = "force-pr"
        res = rpc(base, f"api/v2/forceschedulers/{scheduler}", "force", params)
        bsid, brids = res[0], res[1]
        forced.append((kind, revisions, bsid, list(brids.values())[0]))
        log(f"forced {kind}: buildset {bsid}")

    def sleeping_build(brid):
        builds = api_get(base, f"api/v2/buildrequests/{brid}/builds")["builds"]
        if not builds:
            return None
        steps = api_get(base, f"api/v2/builds/{builds[0]['buildid']}/steps")["steps"]
        return builds[0]["buildid"] if any(s["name"] == "sleep" and s["started_at"] for s in steps) else None

    for kind, _, _, brid in forced:
        if kind == "slow":
            buildid = wait_for("slow build to reach its sleep step", lambda: sleeping_build(brid), 60)
            rpc(base, f"api/v2/builds/{buildid}", "stop", {"reason": "cancelled by the parity driver"})
            log(f"stopped slow build {buildid}")
    for _, _, bsid, _ in forced:
        wait_for(f"buildset {bsid} to complete",
                 lambda: api_get(base, f"api/v2/buildsets/{bsid}")["buildsets"][0]["complete"], 120)

    builds = []
    for kind, revisions, bsid, brid in forced:
        for b in api_get(base, f"api/v2/buildrequests/{brid}/builds")["builds"]:
            builds.append({"kind": kind, "builder": kind, "buildid": b["buildid"], "number": b["number"],
                           "builderid": b["builderid"], "bsid": bsid, "buildrequestid": brid,
                           "url": f"{base}#/builders/{b['builderid']}/builds/{b['number']}",
                           "revisions": revisions, "results": b["results"]})
    builds.sort(key=lambda b: b["buildid"])
    elapsed = round(time.monotonic() - t0, 2)
    log(f"{len(builds)} parity builds done in {elapsed}s")
    print(json.dumps({"builds": builds, "elapsed_s": elapsed}))


def cmd_wait_captures(a):
    def count():
        try:
            with open(a.file, encoding="utf-8") as f:
                n = sum(1 for line in f if line.strip())
        except FileNotFoundError:
            n = 0
        return n if n >= a.count else None
    print(json.dumps({"count": wait_for(f"{a.count} captures in {a.file}", count, a.timeout)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start")
    s.add_argument("--dir", required=True)
    s.add_argument("--reporter", action="append", default=[], metavar="NAME=URL")
    s.add_argument("--capture-out")
    s.add_argument("--www-user")
    s.add_argument("--www-password")
    s.add_argument("--config", default="master.cfg", help="master config from this folder")
    s.add_argument("--forges", action="store_true", help="capture receiver in forge mode")
    s.set_defaults(fn=cmd_start)
    s = sub.add_parser("run-parity-builds")
    s.add_argument("--dir", required=True)
    s.set_defaults(fn=cmd_run_parity_builds)
    s = sub.add_parser("run-builds")
    s.add_argument("--dir", required=True)
    s.add_argument("--only")
    s.add_argument("--sequential", action="store_true")
    s.set_defaults(fn=cmd_run_builds)
    s = sub.add_parser("stop")
    s.add_argument("--dir", required=True)
    s.set_defaults(fn=cmd_stop)
    s = sub.add_parser("capture")
    s.add_argument("--out", required=True)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--port-file")
    s.add_argument("--forges", action="store_true")
    s.set_defaults(fn=cmd_capture)
    s = sub.add_parser("wait-captures")
    s.add_argument("--file", required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--timeout", type=float, default=60)
    s.set_defaults(fn=cmd_wait_captures)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
