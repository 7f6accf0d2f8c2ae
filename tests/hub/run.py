#!/usr/bin/env python3
"""The hub's conformance against the real Centrifugo SDKs, installed from their registries.

    python3 tests/hub/run.py [--no-setup] [--no-build] [--binary PATH] [--only NAME]...
    python3 tests/hub/run.py --self-test      # the harness's own pieces; no hub needed

1. setup.sh (Chromium, node_modules from package-lock.json, .venv) unless --no-setup;
2. `cargo build --release -p duplex-cli` unless --no-build (or --binary PATH);
3. a Centrifugo v6 JSON config in a temporary directory (random HMAC secret and API key,
   namespaces chat / private / users / delta, allowed origin = the page server below), a static server
   for the browser page (the SDK's own bundle from node_modules/centrifuge/dist), and
   `duplex serve --config <file> --port <P>`, waited for through GET /health;
4. the scenarios, one after another against that hub:
     node-json, node-protobuf       centrifuge-js in Node (node_client.mjs)
     python-json, python-protobuf   centrifuge-python (python_client.py)
     chromium-json, chromium-protobuf  centrifuge-js's browser bundle in headless Chromium
     chromium-http-stream, chromium-sse  the same with no WebSocket in the page: the SDK's
                                    HTTP-streaming and SSE fallbacks with /emulation
     cent                           the cent server API client (cent_client.py)

--self-test runs the harness against itself: token minting (verified by PyJWT), the config, the
page server, every client failing fast where nothing listens, every scenario against
fake_hub.py (a stand-in with the checks' own reading of Centrifugo), and faults planted in it
that the checks must catch. See README.md.

Each client prints its checks; this prints `PASS <scenario>/<check>` or
`FAIL <scenario>/<check>: <reason>` (with the client's and the hub's output on failure), then
`hub sdk: N passed, M failed`, and exits 1 on any failure. `--only` takes a scenario or
`scenario/check`, with shell-style wildcards (`--only 'node-*'`, `--only cent/batch`). Every
scenario has a timeout (--timeout); every process this starts is stopped by its process group,
on failure and Ctrl-C too.
"""
import argparse
import fnmatch
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VENV_PY = os.path.join(HERE, ".venv", "bin", "python")
BUILD_CMD = ["cargo", "build", "--release", "-p", "duplex-cli"]
sys.path[:0] = [HERE, os.path.join(ROOT, "tests", "lib")]
import harness  # noqa: E402  (after the path: run.py may be started from anywhere)
import hublib  # noqa: E402
from harness import free_port, indent, stop, stop_all, target_dir  # noqa: E402

# name -> (command, extra environment). Each prints `plan`/`ok`/`FAIL` lines.
SCENARIOS = {
    "node-json": (["node", "node_client.mjs", "--origin-check"], {}),
    "node-protobuf": (["node", "node_client.mjs", "--protobuf"], {}),
    "python-json": ([VENV_PY, "-u", "python_client.py"], {}),
    "python-protobuf": ([VENV_PY, "-u", "python_client.py", "--protobuf"], {}),
    "chromium-json": (["node", "browser_client.mjs"], {"HUB_RECOVERY_COUNT": "200"}),
    "chromium-protobuf": (["node", "browser_client.mjs", "--protobuf"], {"HUB_RECOVERY_COUNT": "200"}),
    # The fallbacks, with WebSocket deleted from the page: every check again over each.
    "chromium-http-stream": (["node", "browser_client.mjs", "--transport", "http_stream"],
                             {"HUB_RECOVERY_COUNT": "200"}),
    "chromium-sse": (["node", "browser_client.mjs", "--transport", "sse"], {"HUB_RECOVERY_COUNT": "200"}),
    "cent": ([VENV_PY, "-u", "cent_client.py"], {}),
}

# Faults planted in fake_hub.py (--break) and a check that must catch each: the self-test's proof
# that the checks fail for real.
MUTATIONS = [
    ("recovery-duplicate", "node-json", "recovery"),
    ("drop-one", "python-protobuf", "api-publish-200"),
    ("private-open", "chromium-json", "private-refused"),
    ("no-ttl", "python-json", "token-refresh"),
    ("idempotency-ignored", "cent", "publish"),
]

# How a client says it could not reach the hub (the SDKs' transport errors, cent's network error).
UNREACHABLE = re.compile(r"is the hub listening|CentNetworkError|Cannot connect to host")

def tail(path, lines=40):
    """harness.tail, saying "(no output)" where there is none."""
    return harness.tail(path, lines, empty="(no output)")


# --- the hub's configuration -------------------------------------------------------------------

def hub_config(secret, api_key, origin):
    """A Centrifugo v6 JSON config: what the scenarios rely on, and nothing else."""
    chat = {
        "name": "chat", "presence": True, "join_leave": True, "force_push_join_leave": True,
        "history_size": 2000, "history_ttl": "300s", "force_recovery": True,
        "allow_subscribe_for_client": True, "allow_publish_for_subscriber": True,
        "allow_presence_for_subscriber": True, "allow_history_for_subscriber": True,
    }
    private = {  # no allow_subscribe_for_client: a subscription token is the only way in
        "name": "private", "presence": True, "history_size": 100, "history_ttl": "300s",
        "allow_presence_for_subscriber": True, "allow_history_for_subscriber": True,
    }
    users = {  # user_presence is duplex's extension: one join per user, not per connection
        "name": "users", "presence": True, "user_presence": True, "join_leave": True,
        "force_push_join_leave": True, "allow_subscribe_for_client": True,
        "allow_presence_for_subscriber": True,
    }
    delta = {  # fossil deltas for subscribers that negotiate them
        "name": "delta", "history_size": 100, "history_ttl": "300s",
        "allow_subscribe_for_client": True,
        "delta_publish": True, "allowed_delta_types": ["fossil"],
    }
    return {
        "client": {
            "token": {"hmac_secret_key": secret},
            "allowed_origins": [origin],
            # Centrifugo's default is 300; recovery here brings back 1,000 publications.
            "recovery_max_publication_limit": 2000,
        },
        "http_api": {"key": api_key},
        "channel": {"without_namespace": {}, "namespaces": [chat, private, users, delta]},
    }


# --- the page server -----------------------------------------------------------------------------

PAGE = """<!doctype html><meta charset="utf-8"><title>duplex hub: centrifuge-js</title>
<script src="/{bundle}"></script><p>duplex hub conformance page ({bundle})</p>
"""
FILES = {  # path -> (file under tests/hub, content type)
    "/centrifuge.js": ("node_modules/centrifuge/dist/centrifuge.js", "text/javascript"),
    "/centrifuge.protobuf.js": ("node_modules/centrifuge/dist/centrifuge.protobuf.js",
                                "text/javascript"),
    "/js_checks.mjs": ("js_checks.mjs", "text/javascript"),
    "/lib/checks.mjs": ("../lib/checks.mjs", "text/javascript"),  # js_checks.mjs imports it
}


class PageHandler(harness.QuietHandler):
    """`/` (the page, `?protobuf=1` for the Protobuf bundle) and the files the page loads."""

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/":
            bundle = "centrifuge.protobuf.js" if "protobuf=1" in query else "centrifuge.js"
            self._send(200, "text/html; charset=utf-8", PAGE.format(bundle=bundle).encode())
        elif path == "/favicon.ico":
            self._send(204, "text/plain", b"")
        elif path in FILES:
            rel, ctype = FILES[path]
            try:
                with open(os.path.join(HERE, rel), "rb") as f:
                    body = f.read()
            except OSError:
                self._send(404, "text/plain", f"{rel} is missing: run tests/hub/setup.sh".encode())
                return
            self._send(200, ctype, body)
        else:
            self._send(404, "text/plain", b"not found")


def start_page_server():
    return harness.serve(PageHandler)


# --- running the clients -------------------------------------------------------------------------

def wanted(only, scenario):
    """The check filter for `scenario` under --only: None = skip it, "" = all checks."""
    if not only:
        return ""
    for pat in only:
        scen, _, check = pat.partition("/")
        if fnmatch.fnmatch(scenario, scen):
            return "" if check in ("", "*") else check
    return None


class Runner(harness.Reporter):
    def __init__(self, workdir, timeout, env):
        super().__init__()
        self.workdir = workdir
        self.timeout = timeout
        self.env = env
        # self.prefix: "self-test/fake-hub/" while the self-test runs the scenarios

    def run(self, scenario, check, hub_proc=None, hub_log=None, expect_failure=False,
            expect_caught=None):
        """Runs one scenario's client; reports a line per check (or per scenario when
        `expect_failure`: the self-test's dead-port run, where every check must FAIL, fast)."""
        cmd, extra = SCENARIOS[scenario]
        cmd = list(cmd) + (["--only", check] if check else [])
        clog = os.path.join(self.workdir, f"{scenario}.log")
        env = {**self.env, **extra, "HUB_TAG": f"{scenario.replace('-', '')}{secrets.token_hex(2)}",
               "HUB_CLIENT_TIMEOUT_MS": str(int(self.timeout * 1000) - 5000)}
        run = harness.run_checks(cmd, clog, HERE, env, self.timeout, "client", hub_log)

        if expect_caught:
            caught = run.results.get(check, (True, ""))
            ok = not run.timed_out and run.rc not in (0, None) and caught[0] is False
            self.report(ok, f"{scenario}/{check} catches {expect_caught}",
                        "timed out" if run.timed_out else f"the check says {caught}, exit code {run.rc}",
                        "" if ok else run.details)
            if ok:
                print(indent(f"caught: {caught[1]}"), flush=True)
            return
        if expect_failure:
            # Every check must fail, and for the right reason: it could not reach the hub (not,
            # say, an SDK misuse that fails before connecting).
            self.report_unreachable(scenario, run, UNREACHABLE, self.timeout)
            return
        self.report_plan(scenario, run, self.timeout, "client", hub_proc)


# --- the self-test -------------------------------------------------------------------------------

def self_test(runner, only):
    """The harness's own pieces, without a hub: token minting (Python and Node) verified by
    PyJWT and by recomputing the HMAC, the config, the page server, and every client against a
    port where nothing listens (each must report every planned check as FAILed, quickly)."""
    secret = secrets.token_urlsafe(24)
    claims = {"sub": "42", "exp": int(time.time()) + 60, "info": {"name": "ü"}, "channel": "private:x"}
    py_token = hublib.mint_token(secret, claims)
    node = subprocess.run(
        ["node", "--input-type=module", "-e",
         "import { mintToken } from './hub_node.mjs';"
         "process.stdout.write(mintToken(process.env.T_SECRET, JSON.parse(process.env.T_CLAIMS)));"],
        cwd=HERE, capture_output=True, text=True,
        env={**os.environ, "T_SECRET": secret, "T_CLAIMS": json.dumps(claims)})
    node_token = node.stdout.strip()
    for who, token in (("python", py_token), ("node", node_token)):
        head, body, sig = (token.split(".") + ["", "", ""])[:3]
        want = hublib.b64url(hmac.new(secret.encode(), f"{head}.{body}".encode(),
                                      hashlib.sha256).digest())
        verify = subprocess.run(
            [VENV_PY, "-c",
             "import jwt, json, sys\n"
             "c = jwt.decode(sys.argv[1], sys.argv[2], algorithms=['HS256'])\n"
             "print(json.dumps(c, sort_keys=True))\n"
             "try:\n"
             "    jwt.decode(sys.argv[1], sys.argv[2] + 'x', algorithms=['HS256'])\n"
             "    print('ACCEPTED WITH A WRONG SECRET')\n"
             "except jwt.InvalidSignatureError:\n"
             "    print('wrong secret refused')\n",
             token, secret], capture_output=True, text=True)
        out = verify.stdout.splitlines()
        ok = (sig == want and verify.returncode == 0 and len(out) == 2
              and json.loads(out[0]) == claims and out[1] == "wrong secret refused")
        runner.report(ok, f"self-test/{who} token minting (HS256, verified by PyJWT)",
                      f"signature {'ok' if sig == want else 'differs'}; PyJWT: "
                      f"{verify.stdout.strip() or verify.stderr.strip()[-300:]}"
                      + (f"; node: {node.stderr.strip()[-300:]}" if who == "node" else ""))

    cfg = hub_config(secret, "key", "http://127.0.0.1:1")
    names = [ns["name"] for ns in cfg["channel"]["namespaces"]]
    chat = cfg["channel"]["namespaces"][0]
    ok = (names == ["chat", "private", "users", "delta"] and json.loads(json.dumps(cfg)) == cfg
          and cfg["client"]["token"]["hmac_secret_key"] == secret
          and chat["history_size"] >= 1010 and chat["force_recovery"]
          and "allow_subscribe_for_client" not in cfg["channel"]["namespaces"][1]
          and cfg["client"]["recovery_max_publication_limit"] >= 1010)
    runner.report(ok, "self-test/config", f"unexpected config {json.dumps(cfg)[:300]}")

    server, base = start_page_server()
    try:
        problems = []
        for path, ctype, needle in (("/", "text/html", b"centrifuge.js"),
                                    ("/?protobuf=1", "text/html", b"centrifuge.protobuf.js"),
                                    ("/centrifuge.js", "text/javascript", b"Centrifuge"),
                                    ("/centrifuge.protobuf.js", "text/javascript", b"Centrifuge"),
                                    ("/js_checks.mjs", "text/javascript", b"export async function runChecks"),
                                    ("/lib/checks.mjs", "text/javascript", b"export class Inbox")):
            try:
                with urllib.request.urlopen(base + path, timeout=5) as r:
                    body = r.read()
                    if not r.headers.get("content-type", "").startswith(ctype) or needle not in body:
                        problems.append(f"{path}: {r.headers.get('content-type')}, {len(body)} bytes")
            except OSError as e:
                problems.append(f"{path}: {e}")
        runner.report(not problems, "self-test/page server", "; ".join(problems))

        dead = free_port()  # bound and released: nothing listens there now
        runner.env = {**runner.env, "HUB_WS_URL": f"ws://127.0.0.1:{dead}/connection/websocket",
                      "HUB_API_URL": f"http://127.0.0.1:{dead}/api", "HUB_API_KEY": "key",
                      "HUB_SECRET": secret, "HUB_PAGE_URL": base + "/"}
        for scenario in SCENARIOS:
            check = wanted(only, scenario)
            if check is not None:
                runner.run(scenario, check, expect_failure=True)
    finally:
        server.shutdown()

    # Every scenario against fake_hub.py, a stand-in with the checks' own reading of Centrifugo:
    # it proves that the checks can pass at all (SDK calls, events, gates, timing), not the hub.
    runner.prefix = "self-test/fake-hub/"
    try:
        run_hub(runner, [VENV_PY, "-u", os.path.join(HERE, "fake_hub.py")], only, runner.workdir)
    finally:
        runner.prefix = ""

    # And with each planted fault, the check meant to catch it must FAIL.
    for fault, scenario, check in MUTATIONS:
        if wanted(only, scenario) is None:
            continue
        runner.prefix = "self-test/fake-hub --break "
        try:
            run_hub(runner, [VENV_PY, "-u", os.path.join(HERE, "fake_hub.py"), "--break", fault],
                    [f"{scenario}/{check}"], runner.workdir, caught=fault)
        finally:
            runner.prefix = ""


def run_hub(runner, hub_cmd, only, workdir, caught=None):
    """Starts the page server and `<hub_cmd> serve --config <file> --port <P>` with a fresh
    config, waits for GET /health, runs the scenarios `only` selects against it, stops it.
    Returns 1 when the hub never became ready (reported), else 0. With `caught` (a fault
    planted in fake_hub.py) the selected check must FAIL instead."""
    server, page_base = start_page_server()
    secret, api_key = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    config_path = os.path.join(workdir, "config.json")
    with open(config_path, "w") as f:
        json.dump(hub_config(secret, api_key, page_base), f, indent=2)
    port = free_port()
    hub_log = os.path.join(workdir, "hub.log")
    hub = harness.start(hub_cmd + ["serve", "--config", config_path, "--port", str(port)], hub_log,
                        ROOT)
    try:
        err = harness.wait_health(hub, port, 30)
        if err:
            runner.report(False, "hub", err, f"hub output ({hub_log}):\n{tail(hub_log)}")
            return 1
        runner.env = {"HUB_WS_URL": f"ws://127.0.0.1:{port}/connection/websocket",
                      "HUB_API_URL": f"http://127.0.0.1:{port}/api",
                      "HUB_API_KEY": api_key, "HUB_SECRET": secret,
                      "HUB_PAGE_URL": page_base + "/"}
        for scenario in SCENARIOS:
            check = wanted(only, scenario)
            if check is None:
                continue
            runner.run(scenario, check, hub, hub_log, expect_caught=caught)
            if hub.poll() is not None:
                runner.report(False, "hub", f"the hub exited with code {hub.returncode}; stopping",
                              f"hub output ({hub_log}):\n{tail(hub_log)}")
                break
        return 0
    finally:
        stop(hub)
        server.shutdown()


# --- main ----------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="scenarios: " + ", ".join(SCENARIOS))
    ap.add_argument("--no-setup", action="store_true", help="skip tests/hub/setup.sh")
    ap.add_argument("--no-build", action="store_true", help="skip the cargo build")
    ap.add_argument("--binary", help="the duplex binary to test (implies --no-build)")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="a scenario or scenario/check, wildcards allowed; repeatable")
    ap.add_argument("--timeout", type=float, default=90.0,
                    help="seconds per scenario (default 90)")
    ap.add_argument("--self-test", action="store_true",
                    help="check the harness itself (tokens, config, page, fail-fast clients)")
    args = ap.parse_args()
    if args.only:
        unknown = [p for p in args.only
                   if not any(fnmatch.fnmatch(s, p.partition("/")[0]) for s in SCENARIOS)]
        if unknown:
            ap.error(f"--only {unknown[0]} matches no scenario ({', '.join(SCENARIOS)})")

    harness.stop_all_on_signals("hub sdk")

    def give_up(name, reason):
        print(f"FAIL {name}: {reason}", flush=True)
        print("hub sdk: 0 passed, 1 failed", flush=True)
        return 1

    t_start = time.monotonic()
    if not args.no_setup:
        r = subprocess.run(["bash", os.path.join(HERE, "setup.sh")], cwd=ROOT)
        if r.returncode != 0:
            return give_up("setup", f"tests/hub/setup.sh exited with code {r.returncode}")

    with tempfile.TemporaryDirectory(prefix="duplex-hub-sdk-") as workdir:
        runner = Runner(workdir, args.timeout, {})
        try:
            if args.self_test:
                self_test(runner, args.only)
            else:
                binary = args.binary
                if binary is None:
                    if not args.no_build:
                        print("hub sdk: " + " ".join(BUILD_CMD), flush=True)
                        r = subprocess.run(BUILD_CMD, cwd=ROOT)
                        if r.returncode != 0:
                            return give_up("build", f"cargo exited with code {r.returncode}")
                    binary = os.path.join(target_dir(), "release", "duplex")
                if not os.access(binary, os.X_OK):
                    return give_up("build", f"{binary} is missing (build it, or drop --no-build)")

                run_hub(runner, [binary], args.only, workdir)
        finally:
            stop_all()
    print(f"hub sdk: took {time.monotonic() - t_start:.0f} s", flush=True)
    print(f"hub sdk: {runner.passed} passed, {runner.failed} failed", flush=True)
    return 1 if runner.failed else 0


if __name__ == "__main__":
    sys.exit(main())
