#!/usr/bin/env python3
"""clients/js (one hub connection shared by the tabs of an origin) in headless Chromium against a
real `duplex serve`.

    python3 tests/tabs/run.py [--binary PATH] [--no-setup] [--only MODE[/CHECK]]... [--timeout S]

1. setup.sh unless --no-setup: Chromium from apt, node_modules here and in clients/js, the
   package built (clients/js/dist) and the test bundles (build/tabs.js, build/worker.js);
2. `duplex serve --config <json> --engine memory --port P --address 127.0.0.1` (the binary:
   --binary, default target/release/duplex; nothing is built here), waited for through
   GET /health;
3. a page server on another free port, the page origin (the hub allows only it);
4. tabs_client.mjs: three tabs in each mode (shared-worker, leader, tab), the checks
   `share`, `unsubscribe` and `handover` (`close-one` in mode tab), publications through the
   server API, connections counted with its `info` method.

Prints `PASS <mode>/<check>` or `FAIL <mode>/<check>: <reason>` (the client's and the hub's
output under the first failure), then `tabs: N passed, M failed`; exits 1 on any failure.
Every process this starts (the hub; the client and its Chromium) is stopped through its process
group, on failure and on Ctrl-C too.
"""
import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import harness  # noqa: E402
from harness import indent  # noqa: E402

PAGE = b"""<!doctype html><meta charset="utf-8"><title>duplex: shared tabs</title>
<script type="module" src="/tabs.js"></script><p>clients/js test tab</p>
"""
FILES = {"/tabs.js": "build/tabs.js", "/worker.js": "build/worker.js"}


def hub_config(secret, api_key, origin):
    """A Centrifugo v6 JSON config: a recoverable namespace the tabs may subscribe to."""
    feed = {
        "name": "feed", "history_size": 1000, "history_ttl": "300s", "force_recovery": True,
        "allow_subscribe_for_client": True, "allow_history_for_subscriber": True,
        "allow_publish_for_subscriber": True,
    }
    return {
        "client": {"token": {"hmac_secret_key": secret}, "allowed_origins": [origin],
                   "recovery_max_publication_limit": 1000},
        "http_api": {"key": api_key},
        "channel": {"namespaces": [feed]},
    }


class PageHandler(harness.QuietHandler):
    """`/` (the tab page) and the bundles it loads."""

    def do_GET(self):
        path = self.path.partition("?")[0]
        if path == "/":
            self._send(200, "text/html; charset=utf-8", PAGE)
        elif path in FILES:
            try:
                with open(os.path.join(HERE, FILES[path]), "rb") as f:
                    body = f.read()
            except OSError:
                self._send(404, "text/plain", b"missing: run tests/tabs/setup.sh")
                return
            self._send(200, "text/javascript", body)
        else:
            self._send(404, "text/plain", b"not found")


def start_page_server():
    return harness.serve(PageHandler, harness.free_port())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(harness.target_dir(), "release", "duplex"))
    ap.add_argument("--no-setup", action="store_true")
    ap.add_argument("--only", action="append", default=[], help="MODE or MODE/CHECK")
    ap.add_argument("--timeout", type=float, default=110.0, help="seconds for the client")
    args = ap.parse_args()
    harness.stop_all_on_signals("tabs")
    t_start = time.monotonic()

    if not args.no_setup:
        r = subprocess.run(["bash", os.path.join(HERE, "setup.sh")])
        if r.returncode != 0:
            print("FAIL setup: tests/tabs/setup.sh failed")
            print("tabs: 0 passed, 1 failed")
            return 1
    if not os.access(args.binary, os.X_OK):
        print(f"FAIL setup: no duplex binary at {args.binary} (cargo build --release -p duplex-cli)")
        print("tabs: 0 passed, 1 failed")
        return 1

    workdir = tempfile.mkdtemp(prefix="duplex-tabs-")
    secret, api_key = secrets.token_hex(16), secrets.token_hex(16)
    page_server, origin = start_page_server()
    port = harness.free_port()
    config = os.path.join(workdir, "hub.json")
    with open(config, "w") as f:
        json.dump(hub_config(secret, api_key, origin), f, indent=2)
    hub_log = os.path.join(workdir, "hub.log")
    client_log = os.path.join(workdir, "client.log")
    passed = failed = 0
    try:
        hub = harness.start([args.binary, "serve", "--config", config, "--engine", "memory",
                             "--port", str(port), "--address", "127.0.0.1"], hub_log, workdir)
        error = harness.wait_health(hub, port, 20)
        if error:
            print(f"FAIL setup: {error}\n{indent(harness.tail(hub_log))}")
            print("tabs: 0 passed, 1 failed")
            return 1
        env = {
            "TABS_WS_URL": f"ws://127.0.0.1:{port}/connection/websocket",
            "TABS_API_URL": f"http://127.0.0.1:{port}/api",
            "TABS_API_KEY": api_key, "TABS_SECRET": secret,
            "TABS_PAGE_URL": f"{origin}/", "TABS_TAG": secrets.token_hex(3),
            "TABS_CLIENT_TIMEOUT_MS": str(int(args.timeout * 1000) - 5000),
        }
        cmd = ["node", "tabs_client.mjs"]
        for o in args.only:
            cmd += ["--only", o]
        rc, timed_out = harness.run_for(cmd, client_log, HERE, env, args.timeout)

        lines = harness.tail(client_log, 100_000).splitlines()
        plan = [line[5:].strip() for line in lines if line.startswith("plan ")]
        results = {}
        for line in lines:
            if line.startswith("ok   "):
                results[line[5:].split(" (")[0].strip()] = (True, line[5:].strip())
            elif line.startswith("FAIL ") and ":" in line:
                name, _, reason = line[5:].partition(":")
                results.setdefault(name.strip(), (False, reason.strip()))
            elif line.startswith("info "):
                print(line, flush=True)
        details = (f"client output ({client_log}):\n{harness.tail(client_log)}\n"
                   f"hub output ({hub_log}):\n{harness.tail(hub_log, 25)}")
        shown = False
        for name in plan + [n for n in results if n not in plan]:
            ok, text = results.get(name, (False, "timed out" if timed_out else "no result"))
            if ok:
                passed += 1
                print(f"PASS {name}  {text[len(name):].strip()}", flush=True)
            else:
                failed += 1
                print(f"FAIL {name}: {text}", flush=True)
                if not shown:
                    print(indent(details), flush=True)
                    shown = True
        if not plan:
            failed += 1
            print(f"FAIL tabs: the client planned nothing (exit {rc})\n{indent(details)}")
        elif rc != 0 and failed == 0:
            failed += 1
            print(f"FAIL tabs: the client exited with {rc}\n{indent(details)}")
    finally:
        harness.stop_all()
        page_server.shutdown()
    if failed:
        print(f"(took {time.monotonic() - t_start:.1f} s; logs in {workdir})")
    else:
        print(f"(took {time.monotonic() - t_start:.1f} s)")
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"tabs: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
