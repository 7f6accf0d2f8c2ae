#!/usr/bin/env python3
"""The pages of `duplex serve --demo` in headless Chromium, two users each.

    python3 tests/demo/run.py [--no-setup] [--no-build] [--binary PATH] [--feed PATH]
                              [--screenshots DIR] [--only GROUP[/CHECK][,...]]... [--timeout S]

1. setup.sh (Chromium, node_modules from package-lock.json) unless --no-setup;
2. `cargo build --release -p duplex-cli -p results-feed --bin duplex --bin results-feed` unless
   --no-build (with --binary PATH, only `-p results-feed`); the binaries are `release/duplex` and
   `release/results-feed` in cargo's target directory (CARGO_TARGET_DIR, default target/);
3. `DUPLEX_HTTP_API_KEY=<random> duplex serve --demo --engine memory --port <free port>`,
   waited for through GET /health (set DUPLEX_DEMO_DIR to serve the pages from a folder while
   editing them);
4. the groups, one Node process each (demo_checks.mjs --group G), in this order:
     index chat dashboard results cursors
   `results` runs the results-feed binary against the hub (30 snapshots, 200 ms apart, seed 7).

Each group prints its checks; this prints `PASS demo/<group>/<check>` or `FAIL demo/<group>/
<check>: <reason>` (with the group's and the hub's output under a group's first failure), then
`demo: N passed, M failed`, and exits 1 on any failure. `--only` takes groups or `group/check`,
comma-separated or repeated, with shell-style wildcards. With --screenshots DIR every group also
saves DIR/demo-<name>.png (1280×800) and DIR/demo-<name>-phone.png (375×812). Every group has a
timeout (--timeout); every process this starts is stopped by its process group, on failure and
Ctrl-C too. On failure the temporary directory (the hub's log, each group's log) is kept.
See README.md.
"""
import argparse
import fnmatch
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, "tests", "lib")]
import harness  # noqa: E402  (after the path: run.py may be started from anywhere)
from harness import free_port, stop, stop_all, target_dir  # noqa: E402

GROUPS = ["index", "chat", "dashboard", "results", "cursors"]
# The checks of each group, for --only's wildcards (demo_checks.mjs has the same, in order).
CHECKS = {
    "index": ["lists-demos", "assets-load", "screenshots", "no-page-errors"],
    "chat": ["presence", "twenty-in-order", "typing", "user-presence", "history-on-join",
             "recovery", "rooms", "screenshots", "no-page-errors"],
    "dashboard": ["connections", "points-grow", "numbers-move", "screenshots", "no-page-errors"],
    "results": ["empty-state", "feed-to-both-pages", "changed-marked", "screenshots",
                "late-page", "no-page-errors"],
    "cursors": ["here", "alice-to-bob", "bob-to-alice", "screenshots", "leave", "no-page-errors"],
}


def build_cmd(with_duplex):
    """The cargo command building the binaries: the hub's unless one was given, and the feed's.
    Each binary is named: a `--bin` filter applies to every `-p` package, so `-p duplex-cli
    --bin duplex -p results-feed` would leave results-feed out."""
    if not with_duplex:
        return ["cargo", "build", "--release", "-p", "results-feed"]
    return ["cargo", "build", "--release", "-p", "duplex-cli", "-p", "results-feed",
            "--bin", "duplex", "--bin", "results-feed"]


def selected(only):
    """[(group, checks)] that `only` selects, in GROUPS order: `checks` is "" for the whole group,
    else the selected checks comma-separated, in the group's order."""
    if not only:
        return [(g, "") for g in GROUPS]
    out = []
    for group in GROUPS:
        picked = set()
        for pat in only:
            pat_group, _, check = pat.partition("/")
            if fnmatch.fnmatch(group, pat_group):
                picked.update(c for c in CHECKS[group] if fnmatch.fnmatch(c, check or "*"))
        if picked:
            checks = [c for c in CHECKS[group] if c in picked]
            out.append((group, "" if len(checks) == len(CHECKS[group]) else ",".join(checks)))
    return out


class Runner(harness.Reporter):
    def __init__(self, workdir, timeout):
        super().__init__()
        self.workdir = workdir
        self.timeout = timeout
        self.env = {}
        self.prefix = "demo/"

    def run(self, group, check, hub_proc, hub_log):
        cmd = ["node", "demo_checks.mjs", "--group", group] + (["--only", check] if check else [])
        log = os.path.join(self.workdir, f"{group}.log")
        env = {**self.env, "DEMO_TAG": secrets.token_hex(3),
               "DEMO_CLIENT_TIMEOUT_MS": str(int(self.timeout * 1000) - 5000)}
        run = harness.run_checks(cmd, log, HERE, env, self.timeout, "group", hub_log)
        self.report_plan(group, run, self.timeout, "group", hub_proc)


def run_hub(runner, binary, feed, screenshots, only):
    """Starts `<binary> serve --demo` on a free port with a random API key, waits for GET
    /health, runs the selected groups against it, stops it."""
    port = free_port()
    api_key = secrets.token_urlsafe(24)
    hub_log = os.path.join(runner.workdir, "hub.log")
    cmd = [binary, "serve", "--demo", "--engine", "memory", "--port", str(port)]
    try:
        hub = harness.start(cmd, hub_log, runner.workdir, env={"DUPLEX_HTTP_API_KEY": api_key})
    except OSError as e:
        runner.report(False, "hub", f"cannot start {binary}: {e}")
        return
    try:
        err = harness.wait_health(hub, port, 30)
        if err:
            runner.report(False, "hub", err,
                          f"hub output ({hub_log}):\n{harness.tail(hub_log, empty='(no output)')}")
            return
        runner.env = {"DEMO_URL": f"http://127.0.0.1:{port}", "DEMO_API_KEY": api_key,
                      "DEMO_FEED": feed, "DEMO_SCREENSHOTS": screenshots or ""}
        for group, check in selected(only):
            runner.run(group, check, hub, hub_log)
            if hub.poll() is not None:
                runner.report(False, "hub", f"the hub exited with code {hub.returncode}; stopping",
                              f"hub output ({hub_log}):\n{harness.tail(hub_log)}")
                break
    finally:
        stop(hub)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="groups and their checks: " + "; ".join(
                                     f"{g}: {', '.join(c)}" for g, c in CHECKS.items()))
    ap.add_argument("--no-setup", action="store_true", help="skip tests/demo/setup.sh")
    ap.add_argument("--no-build", action="store_true", help="skip the cargo build")
    ap.add_argument("--binary", help="the duplex binary to test (its build is skipped)")
    ap.add_argument("--feed", help="the results-feed binary (default: release/results-feed in "
                                   "cargo's target directory)")
    ap.add_argument("--screenshots", metavar="DIR",
                    help="save DIR/demo-<name>.png and DIR/demo-<name>-phone.png")
    ap.add_argument("--only", action="append", metavar="GROUP[/CHECK][,...]",
                    help="groups or group/check, comma-separated, wildcards allowed; repeatable")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per group (default 60)")
    args = ap.parse_args()
    if not args.screenshots:  # the groups plan no `screenshots` check then
        for checks in CHECKS.values():
            checks.remove("screenshots")
    only = [p.strip() for arg in (args.only or []) for p in arg.split(",") if p.strip()] or None
    if only:
        for pat in only:
            if not any(g for g, _ in selected([pat])):
                ap.error(f"--only {pat} matches no group or check (see --help)")

    harness.stop_all_on_signals("demo")

    def give_up(name, reason):
        print(f"FAIL demo/{name}: {reason}", flush=True)
        print("demo: 0 passed, 1 failed", flush=True)
        return 1

    t_start = time.monotonic()
    if not args.no_setup:
        r = subprocess.run(["bash", os.path.join(HERE, "setup.sh")], cwd=ROOT)
        if r.returncode != 0:
            return give_up("setup", f"tests/demo/setup.sh exited with code {r.returncode}")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        return give_up("setup", "tests/demo/node_modules has no playwright-core: run tests/demo/setup.sh")

    if not args.no_build:
        cmd = build_cmd(with_duplex=args.binary is None)
        print("demo: " + " ".join(cmd), flush=True)
        r = subprocess.run(cmd, cwd=ROOT)
        if r.returncode != 0:
            return give_up("build", f"cargo exited with code {r.returncode}")
    release = os.path.join(target_dir(), "release")
    binary = os.path.abspath(args.binary or os.path.join(release, "duplex"))
    feed = os.path.abspath(args.feed or os.path.join(release, "results-feed"))
    for path in (binary, feed):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return give_up("build", f"{path} is missing or not executable (build it, or drop --no-build)")
    screenshots = None
    if args.screenshots:
        screenshots = os.path.abspath(args.screenshots)
        os.makedirs(screenshots, exist_ok=True)

    workdir = tempfile.mkdtemp(prefix="duplex-demo-")
    runner = Runner(workdir, args.timeout)
    try:
        run_hub(runner, binary, feed, screenshots, only)
    finally:
        stop_all()
    print(f"demo: took {time.monotonic() - t_start:.0f} s", flush=True)
    if runner.failed:
        print(f"demo: logs kept in {workdir}", flush=True)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"demo: {runner.passed} passed, {runner.failed} failed", flush=True)
    return 1 if runner.failed else 0


if __name__ == "__main__":
    sys.exit(main())
