#!/usr/bin/env python3
"""The hub's Pusher Channels front door against the real Pusher SDKs, installed from npm.

    python3 tests/pusher/run.py [--no-setup] [--no-build] [--binary PATH] [--only GROUP[,GROUP]]...
    python3 tests/pusher/run.py --self-test      # the harness's own pieces; no hub needed

1. setup.sh (Chromium, node_modules from package-lock.json) unless --no-setup;
2. `cargo build --release -p duplex-cli` unless --no-build (or --binary PATH);
3. a JSON config in a temporary directory (one Pusher app, id 1001, random hex key and secret,
   a random server API key), a static server for the browser pages (node_modules files, so
   pusher-js's browser bundle and Laravel Echo's ESM build load as they are) which also records
   webhooks, and `duplex serve --config <file> --port <P>`, waited for through GET /health;
4. the check groups, one Node process each, against that hub:
     connect public private presence client-events batch api-auth channels-info
     cross-protocol terminate         (node_checks.mjs, pusher-js + `pusher` in Node)
     webhooks cache                   (node_checks.mjs)
     chromium echo                    (browser_client.mjs, headless Chromium)
   `webhooks` adds `webhook_url` (the recorder) to the app in the config.

Each group prints its checks; this prints `PASS <group>/<check>` or `FAIL <group>/<check>:
<reason>` (with the group's and the hub's output under a group's first failure), then
`pusher: N passed, M failed`, and exits 1 on any failure. `--only` takes groups or
`group/check`, comma-separated or repeated, with shell-style wildcards. Every group has a timeout
(--timeout); every process this starts is stopped by its process group, on failure and Ctrl-C
too. On failure the temporary directory (config, hub log, each group's log) is kept.

--self-test checks the config, the page server and webhook recorder (a signed webhook stored
and read back must pass the `pusher` SDK's own verification, and fail it under a wrong secret),
and that every group fails fast, for want of a hub, where nothing listens. See README.md.
"""
import argparse
import fnmatch
import hashlib
import hmac
import json
import mimetypes
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD_CMD = ["cargo", "build", "--release", "-p", "duplex-cli"]
sys.path[:0] = [os.path.join(ROOT, "tests", "lib")]
import harness  # noqa: E402  (after the path: run.py may be started from anywhere)
from harness import free_port, indent, stop, stop_all, target_dir  # noqa: E402

APP_ID = "1001"

NODE_CHECKS = ["node", "node_checks.mjs", "--group"]
BROWSER = ["node", "browser_client.mjs", "--group"]
# group -> the command that runs it (plus the group's name).
GROUPS = {
    "connect": NODE_CHECKS,
    "public": NODE_CHECKS,
    "private": NODE_CHECKS,
    "presence": NODE_CHECKS,
    "client-events": NODE_CHECKS,
    "batch": NODE_CHECKS,
    "api-auth": NODE_CHECKS,
    "channels-info": NODE_CHECKS,
    "cross-protocol": NODE_CHECKS,
    "terminate": NODE_CHECKS,
    "webhooks": NODE_CHECKS,
    "cache": NODE_CHECKS,
    "chromium": BROWSER,
    "echo": BROWSER,
}
DEFAULT_GROUPS = list(GROUPS)

# How a group says it could not reach the hub (pusher_node.mjs's preflight).
UNREACHABLE = re.compile(r"is the hub listening")


def tail(path, lines=40):
    """harness.tail, saying "(no output)" where there is none."""
    return harness.tail(path, lines, empty="(no output)")


# --- the hub's configuration -------------------------------------------------------------------

def hub_config(app, api_key, page_origin, webhook_url=None):
    """The config: one Pusher app, the server API key, the page server's origin allowed (for
    Chromium's WebSocket Origin, should the hub check it on this door too)."""
    pusher_app = {"id": app["id"], "key": app["key"], "secret": app["secret"]}
    if webhook_url:  # only when the webhooks group runs: older hubs refuse the unknown field
        pusher_app["webhook_url"] = webhook_url
    return {
        "client": {"insecure": False, "allowed_origins": [page_origin]},
        "http_api": {"key": api_key},
        "pusher": {"activity_timeout": "120s", "apps": [pusher_app]},
    }


def new_app():
    """Random credentials in Pusher's shapes: a 20-hex key and secret."""
    return {"id": APP_ID, "key": secrets.token_hex(10), "secret": secrets.token_hex(10)}


# --- the page server and webhook recorder ------------------------------------------------------

PAGE = """<!doctype html><meta charset="utf-8"><title>duplex hub: pusher-js</title>
<script src="/node_modules/pusher-js/dist/web/pusher.min.js"></script>
<script type="module" src="/page.mjs"></script>
<p>duplex hub Pusher conformance page (pusher-js browser bundle)</p>
"""
ECHO_PAGE = """<!doctype html><meta charset="utf-8"><title>duplex hub: Laravel Echo</title>
<script src="/node_modules/pusher-js/dist/web/pusher.min.js"></script>
<script type="importmap">{"imports": {"laravel-echo": "/node_modules/laravel-echo/dist/echo.js"}}</script>
<script type="module">import Echo from 'laravel-echo'; window.Echo = Echo;</script>
<script type="module" src="/page.mjs"></script>
<p>duplex hub Pusher conformance page (Laravel Echo, ESM through an import map)</p>
"""
NODE_MODULES = os.path.join(HERE, "node_modules")


class Recorder:
    """The webhook requests the hub sent, in order: method, path, headers (lower-case names),
    the body as text (raw: the signature is over these bytes)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []

    def add(self, req):
        with self.lock:
            self.requests.append(req)

    def since(self, start):
        with self.lock:
            return self.requests[start:]


class HarnessHandler(harness.QuietHandler):
    """GET `/` and `/echo.html` (the pages), `/page.mjs`, `/lib/checks.mjs` (which page.mjs
    imports), `/node_modules/<file>` (only files under tests/pusher/node_modules); POST `/hook` (a webhook: recorded, answered 200) and GET
    `/received?from=N` (the recorded ones from the N-th on, as JSON)."""

    recorder = None  # set per server

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/":
            self._send(200, "text/html; charset=utf-8", PAGE.encode())
        elif path == "/echo.html":
            self._send(200, "text/html; charset=utf-8", ECHO_PAGE.encode())
        elif path == "/favicon.ico":
            self._send(204, "text/plain", b"")
        elif path == "/page.mjs":
            self._file(os.path.join(HERE, "page.mjs"))
        elif path == "/lib/checks.mjs":
            self._file(os.path.join(ROOT, "tests", "lib", "checks.mjs"))
        elif path.startswith("/node_modules/"):
            rel = urllib.parse.unquote(path[len("/node_modules/"):])
            full = os.path.realpath(os.path.join(NODE_MODULES, rel))
            if not full.startswith(os.path.realpath(NODE_MODULES) + os.sep):
                self._send(404, "text/plain", b"not found")
                return
            self._file(full)
        elif path == "/received":
            start = int(urllib.parse.parse_qs(query).get("from", ["0"])[0])
            body = json.dumps({"requests": self.recorder.since(start)}).encode()
            self._send(200, "application/json", body)
        else:
            self._send(404, "text/plain", b"not found")

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.partition("?")[0] != "/hook":
            self._send(404, "text/plain", b"not found")
            return
        self.recorder.add({
            "method": "POST", "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"), "at": time.time(),
        })
        self._send(200, "text/plain", b"ok")

    def _file(self, full):
        try:
            with open(full, "rb") as f:
                body = f.read()
        except OSError:
            self._send(404, "text/plain", f"{os.path.relpath(full, HERE)} is missing: run "
                       "tests/pusher/setup.sh".encode())
            return
        ctype = "text/javascript" if full.endswith((".js", ".mjs")) else (
            mimetypes.guess_type(full)[0] or "application/octet-stream")
        self._send(200, ctype, body)


def start_harness_server():
    """The page server and webhook recorder on a port of its own: (server, base URL, recorder)."""
    recorder = Recorder()
    handler = type("Handler", (HarnessHandler,), {"recorder": recorder})
    server, base = harness.serve(handler)
    return server, base, recorder


# --- running the groups --------------------------------------------------------------------------

def selected(only):
    """[(group, check filter)] that `only` selects, in GROUPS order ("" = every check)."""
    if not only:
        return [(g, "") for g in DEFAULT_GROUPS]
    out = []
    for group in GROUPS:
        for pat in only:
            pat_group, _, check = pat.partition("/")
            if fnmatch.fnmatch(group, pat_group):
                out.append((group, "" if check in ("", "*") else check))
                break
    return out


class Runner(harness.Reporter):
    def __init__(self, workdir, timeout):
        super().__init__()
        self.workdir = workdir
        self.timeout = timeout
        self.env = {}

    def run(self, group, check, hub_proc=None, hub_log=None, expect_unreachable=False, cmd=None):
        """Runs one group (or `cmd`, reported under the name `group`); reports a line per check
        (or, with `expect_unreachable`, one line for the group: every planned check must FAIL
        for want of a hub, quickly)."""
        cmd = (cmd or GROUPS[group] + [group]) + (["--only", check] if check else [])
        clog = os.path.join(self.workdir, f"{group}.log")
        env = {**self.env, "PUSHER_TAG": f"{group.replace('-', '')}{secrets.token_hex(3)}",
               "PUSHER_CLIENT_TIMEOUT_MS": str(int(self.timeout * 1000) - 5000)}
        run = harness.run_checks(cmd, clog, HERE, env, self.timeout, "group", hub_log)
        if expect_unreachable:
            self.report_unreachable(group, run, UNREACHABLE, self.timeout, within=15)
            return
        self.report_plan(group, run, self.timeout, "group", hub_proc)


def group_env(port, app, api_key, page_base):
    return {"PUSHER_HOST": "127.0.0.1", "PUSHER_PORT": str(port), "PUSHER_APP_ID": app["id"],
            "PUSHER_KEY": app["key"], "PUSHER_SECRET": app["secret"], "PUSHER_API_KEY": api_key,
            "PUSHER_PAGE_URL": page_base + "/", "PUSHER_HOOKS_URL": page_base + "/received"}


def run_hub(runner, hub_cmd, only):
    """Starts the page server and `<hub_cmd> serve --config <file> --port <P>` with a fresh
    config, waits for GET /health, runs the groups `only` selects against it, stops it."""
    groups = selected(only)
    server, page_base, _ = start_harness_server()
    app, api_key = new_app(), secrets.token_urlsafe(24)
    hooks = any(g == "webhooks" for g, _ in groups)
    config = hub_config(app, api_key, page_base, page_base + "/hook" if hooks else None)
    config_path = os.path.join(runner.workdir, "config.json")
    with open(config_path, "w") as f:
        json.dump(config, f, indent=2)
    port = free_port()
    hub_log = os.path.join(runner.workdir, "hub.log")
    cmd = hub_cmd + ["serve", "--config", config_path, "--port", str(port)]
    try:
        hub = harness.start(cmd, hub_log, ROOT)
    except OSError as e:
        runner.report(False, "hub", f"cannot start {hub_cmd[0]}: {e}")
        server.shutdown()
        return
    try:
        err = harness.wait_health(hub, port, 30)
        if err:
            runner.report(False, "hub", err, f"hub output ({hub_log}):\n{tail(hub_log)}")
            return
        runner.env = group_env(port, app, api_key, page_base)
        for group, check in groups:
            runner.run(group, check, hub, hub_log)
            if hub.poll() is not None:
                runner.report(False, "hub", f"the hub exited with code {hub.returncode}; stopping",
                              f"hub output ({hub_log}):\n{tail(hub_log)}")
                break
    finally:
        stop(hub)
        server.shutdown()


# --- the self-test -------------------------------------------------------------------------------

def self_test(runner, only):
    """The harness's own pieces, without a hub (see the module's docstring)."""
    app = new_app()
    cfg = hub_config(app, "key", "http://127.0.0.1:1")
    with_hooks = hub_config(app, "key", "http://127.0.0.1:1", "http://127.0.0.1:2/hook")
    ok = (json.loads(json.dumps(cfg)) == cfg and cfg["pusher"]["apps"] == [
              {"id": APP_ID, "key": app["key"], "secret": app["secret"]}]
          and re.fullmatch(r"[0-9a-f]{20}", app["key"]) and app["key"] != app["secret"]
          and cfg["pusher"]["activity_timeout"] == "120s" and cfg["client"]["insecure"] is False
          and with_hooks["pusher"]["apps"][0]["webhook_url"] == "http://127.0.0.1:2/hook")
    runner.report(ok, "self-test/config", f"unexpected config {json.dumps(cfg)[:300]}")

    server, base, recorder = start_harness_server()
    try:
        problems = []
        for path, status, ctype, needle in (
                ("/", 200, "text/html", b"pusher.min.js"),
                ("/echo.html", 200, "text/html", b'"laravel-echo": "/node_modules/laravel-echo/dist/echo.js"'),
                ("/page.mjs", 200, "text/javascript", b"window.pusherTest"),
                ("/lib/checks.mjs", 200, "text/javascript", b"export function snap"),
                ("/node_modules/pusher-js/dist/web/pusher.min.js", 200, "text/javascript", b"Pusher"),
                ("/node_modules/laravel-echo/dist/echo.js", 200, "text/javascript", b"export"),
                ("/node_modules/../run.py", 404, "text/plain", b""),
                ("/node_modules/%2e%2e/run.py", 404, "text/plain", b"")):
            try:
                with urllib.request.urlopen(base + path, timeout=5) as r:
                    got, body, got_ctype = r.status, r.read(), r.headers.get("content-type", "")
            except urllib.error.HTTPError as e:
                got, body, got_ctype = e.code, e.read(), e.headers.get("content-type", "")
            except OSError as e:
                problems.append(f"{path}: {e}")
                continue
            if got != status or not got_ctype.startswith(ctype) or needle not in body:
                problems.append(f"{path}: {got} {got_ctype}, {len(body)} bytes")
        runner.report(not problems, "self-test/page server", "; ".join(problems))

        # A webhook signed as Pusher signs them (HMAC-SHA256 of the body, hex, X-Pusher-Key and
        # X-Pusher-Signature), through the recorder and back: the `pusher` SDK must accept it,
        # and refuse it under another secret.
        body = json.dumps({"time_ms": int(time.time() * 1000),
                           "events": [{"name": "channel_occupied", "channel": "x"}]})
        sig = hmac.new(app["secret"].encode(), body.encode(), hashlib.sha256).hexdigest()
        req = urllib.request.Request(base + "/hook", data=body.encode(), method="POST", headers={
            "Content-Type": "application/json", "X-Pusher-Key": app["key"],
            "X-Pusher-Signature": sig})
        try:
            urllib.request.urlopen(req, timeout=5).read()
        except OSError as e:
            problems.append(f"POST /hook: {e}")
        verify = subprocess.run(
            ["node", "--input-type=module", "-e",
             "import Pusher from 'pusher';"
             "const r = (await (await fetch(process.env.U)).json()).requests;"
             "const o = {appId: '1', key: process.env.K, secret: process.env.S};"
             "const h = {headers: r[0].headers, rawBody: r[0].body};"
             "console.log(r.length, new Pusher(o).webhook(h).isValid(),"
             " new Pusher({...o, secret: o.secret + 'x'}).webhook(h).isValid(),"
             " JSON.stringify(new Pusher(o).webhook(h).getEvents()));"],
            cwd=HERE, capture_output=True, text=True, timeout=30,
            env={**os.environ, "U": base + "/received?from=0", "K": app["key"], "S": app["secret"]})
        want = '1 true false [{"name":"channel_occupied","channel":"x"}]'
        runner.report(verify.stdout.strip() == want and not problems,
                      "self-test/webhook recorder (verified by the pusher SDK)",
                      f"{'; '.join(problems)} node says {verify.stdout.strip()!r} "
                      f"{verify.stderr.strip()[-300:]}, expected {want!r}")

        dead = free_port()  # bound and released: nothing listens there now
        app = new_app()
        runner.env = group_env(dead, app, "key", base)
        # The pages in Chromium: bundle, import map and Echo load; clients can be made there.
        if not only or any(fnmatch.fnmatch(g, p.partition("/")[0]) for p in only
                           for g in ("chromium", "echo")):
            runner.run("self-test", "", cmd=BROWSER[:-1] + ["--self-test"])
        for group, check in selected(only or ["*"]):
            runner.run(group, check, expect_unreachable=True)
    finally:
        server.shutdown()


# --- main ----------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=f"groups: {', '.join(GROUPS)} (default: "
                                        f"{', '.join(DEFAULT_GROUPS)})")
    ap.add_argument("--no-setup", action="store_true", help="skip tests/pusher/setup.sh")
    ap.add_argument("--no-build", action="store_true", help="skip the cargo build")
    ap.add_argument("--binary", help="the duplex binary to test (implies --no-build)")
    ap.add_argument("--only", action="append", metavar="GROUP[,GROUP]",
                    help="groups or group/check, comma-separated, wildcards allowed; repeatable")
    ap.add_argument("--timeout", type=float, default=90.0, help="seconds per group (default 90)")
    ap.add_argument("--self-test", action="store_true",
                    help="check the harness itself (config, pages, webhook recorder, fail-fast)")
    args = ap.parse_args()
    only = [p.strip() for arg in (args.only or []) for p in arg.split(",") if p.strip()] or None
    if only:
        unknown = [p for p in only if not any(fnmatch.fnmatch(g, p.partition("/")[0]) for g in GROUPS)]
        if unknown:
            ap.error(f"--only {unknown[0]} matches no group ({', '.join(GROUPS)})")

    harness.stop_all_on_signals("pusher")

    def give_up(name, reason):
        print(f"FAIL {name}: {reason}", flush=True)
        print("pusher: 0 passed, 1 failed", flush=True)
        return 1

    t_start = time.monotonic()
    if not args.no_setup:
        r = subprocess.run(["bash", os.path.join(HERE, "setup.sh")], cwd=ROOT)
        if r.returncode != 0:
            return give_up("setup", f"tests/pusher/setup.sh exited with code {r.returncode}")
    if not os.path.isdir(os.path.join(NODE_MODULES, "pusher-js")):
        return give_up("setup", f"{NODE_MODULES} has no pusher-js: run tests/pusher/setup.sh")

    binary = args.binary
    if not args.self_test and binary is None:
        if not args.no_build:
            print("pusher: " + " ".join(BUILD_CMD), flush=True)
            r = subprocess.run(BUILD_CMD, cwd=ROOT)
            if r.returncode != 0:
                return give_up("build", f"cargo exited with code {r.returncode}")
        binary = os.path.join(target_dir(), "release", "duplex")
    if not args.self_test and not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        return give_up("build", f"{binary} is missing or not executable (build it, or drop --no-build)")

    workdir = tempfile.mkdtemp(prefix="duplex-pusher-")
    runner = Runner(workdir, args.timeout)
    try:
        if args.self_test:
            self_test(runner, only)
        else:
            run_hub(runner, [os.path.abspath(binary)], only)
    finally:
        stop_all()
    print(f"pusher: took {time.monotonic() - t_start:.0f} s", flush=True)
    if runner.failed:
        print(f"pusher: logs and config kept in {workdir}", flush=True)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"pusher: {runner.passed} passed, {runner.failed} failed", flush=True)
    return 1 if runner.failed else 0


if __name__ == "__main__":
    sys.exit(main())
