#!/usr/bin/env python3
"""The beside-app example end to end, as its README runs it, with a real browser and database.

    python3 tests/beside-app/run.py [--no-setup] [--no-build]

1. setup (unless --no-setup): tests/hub/setup.sh (Chromium, playwright-core, the centrifuge
   SDK) and tests/lib/setup-postgres.sh (Debian's PostgreSQL);
2. `cargo build --release -p duplex-cli -p beside-app` (unless --no-build);
3. a throwaway PostgreSQL (tests/lib/postgres.py), the hub started with the example's own
   duplex.json (only ports, the database and the allowed origin changed), and the app with the
   environment its README names;
4. browser.mjs in headless Chromium: log in, watch the channel, publish through the server API
   and through the outbox, each message seen once; a browser without a session is refused.

Prints `PASS <check>` / `FAIL <check>: <reason>`, then `beside-app: N passed, M failed`; exits 1
on any failure, with the hub's, the app's and PostgreSQL's logs.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXAMPLE = os.path.join(ROOT, "examples", "beside-app")
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import harness  # noqa: E402
from postgres import Postgres  # noqa: E402

SDK_BUNDLE = os.path.join(ROOT, "tests", "hub", "node_modules", "centrifuge", "dist",
                          "centrifuge.js")


def hub_config(hub_port, app_port, dsn):
    """The example's duplex.json with this run's ports and database."""
    with open(os.path.join(EXAMPLE, "duplex.json")) as f:
        config = json.load(f)
    config["http_server"]["port"] = hub_port
    config["client"]["allowed_origins"] = ["http://127.0.0.1:%d" % app_port]
    config["client"]["proxy"]["connect"]["endpoint"] = "http://127.0.0.1:%d/hub/connect" % app_port
    (consumer,) = config["consumers"]
    consumer["postgresql"]["dsn"] = dsn
    return config


def wait_http(url, proc, log, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s: exited with code %s\n%s" % (url, proc.returncode,
                                                                harness.tail(log)))
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("%s did not answer within %ds\n%s" % (url, timeout, harness.tail(log)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-setup", action="store_true")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    harness.stop_all_on_signals("beside-app")
    if not args.no_setup:
        subprocess.run(["bash", os.path.join(ROOT, "tests", "hub", "setup.sh")], check=True)
        subprocess.run(["bash", os.path.join(ROOT, "tests", "lib", "setup-postgres.sh")],
                       check=True)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "duplex-cli", "-p", "beside-app"],
                       cwd=ROOT, check=True)
    release = os.path.join(harness.target_dir(), "release")
    logs = tempfile.mkdtemp(prefix="beside-app-")
    ok = False
    try:
        with Postgres(logs) as pg:
            ok = run(release, logs, pg)
    finally:
        harness.stop_all()
    if not ok:
        for name in ("hub.log", "app.log", "postgres.log"):
            print(harness.tail(os.path.join(logs, name), 60, empty="(no %s)" % name))
    sys.exit(0 if ok else 1)


def run(release, logs, pg):
    hub_port, app_port = harness.free_port(), harness.free_port()
    config_path = os.path.join(logs, "duplex.json")
    with open(config_path, "w") as f:
        json.dump(hub_config(hub_port, app_port, pg.dsn), f, indent=2)
    data_dir = os.path.join(logs, "hub-data")
    hub_log = os.path.join(logs, "hub.log")
    hub = harness.start([os.path.join(release, "duplex"), "serve", "--config", config_path,
                         "--data-dir", data_dir], hub_log, cwd=logs)
    app_log = os.path.join(logs, "app.log")
    # 127.0.0.1 for both, so the app's cookie reaches the hub (cookies ignore ports).
    app = harness.start([os.path.join(release, "beside-app")], app_log, cwd=EXAMPLE, env={
        "APP_ADDRESS": "127.0.0.1:%d" % app_port,
        "HUB_URL": "http://127.0.0.1:%d" % hub_port,
        "DATABASE_URL": pg.dsn,
    })
    try:
        wait_http("http://127.0.0.1:%d/health" % hub_port, hub, hub_log)
        wait_http("http://127.0.0.1:%d/" % app_port, app, app_log)
    except RuntimeError as e:
        print("FAIL start: %s" % e)
        return False
    browser_log = os.path.join(logs, "browser.log")
    rc, timed_out = harness.run_for(
        ["node", os.path.join(HERE, "browser.mjs"), "http://127.0.0.1:%d/" % app_port,
         "ws://127.0.0.1:%d/connection/websocket" % hub_port, SDK_BUNDLE],
        browser_log, cwd=HERE, env=None, timeout=150)
    with open(browser_log, errors="replace") as f:
        output = f.read()
    print(output, end="")
    lines = output.splitlines()
    passed = sum(1 for line in lines if line.startswith("PASS "))
    failed = sum(1 for line in lines if line.startswith("FAIL "))
    if timed_out:
        print("FAIL browser: did not finish within 150 s")
        failed += 1
    elif rc != 0 and failed == 0:
        print("FAIL browser: exited with code %s" % rc)
        failed += 1
    print("beside-app: %d passed, %d failed" % (passed, failed))
    return failed == 0 and passed == 5


if __name__ == "__main__":
    main()
