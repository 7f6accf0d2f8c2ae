#!/usr/bin/env python3
"""Autobahn testsuite conformance runner for duplex (both directions, both server drivers).

Server direction: `duplex echo` is tested by `wstest -m fuzzingclient`; server-loop: the same
with `--event-loop` (duplex::event_loop).
Client direction: the `autobahn_client` example is tested against `wstest -m fuzzingserver`.

Reads each report's index.json, prints counts per behaviour and every case that is not
OK/INFORMATIONAL (with the reason from the per-case report), and exits non-zero on any
FAILED / NON-STRICT / UNIMPLEMENTED / other non-OK result or on a case that did not run.
The last line is always `autobahn: N passed, M failed`.

Runs tests/autobahn/setup.sh first when tests/autobahn/.venv has no wstest.
Standard library only.
"""

import argparse
import atexit
import concurrent.futures
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VENV = os.path.join(HERE, ".venv")
VENV_PY = os.path.join(VENV, "bin", "python")
WSTEST = os.path.join(VENV, "bin", "wstest")
REPORTS = os.path.join(HERE, "reports")
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from harness import accepts, free_port  # noqa: E402  (a port outside the ephemeral range)

WSTEST_TIMEOUT = 40 * 60  # seconds, per wstest run
START_TIMEOUT = 30  # seconds to wait for a listener to accept

ALL_CASES = ["*"]
DEFLATE_CASES = ["12.*", "13.*"]
QUICK_CASES = [
    "1.*", "2.*", "3.*", "4.*", "5.*",
    "6.1.*", "6.4.*",
    "7.1.*", "7.5.*", "7.7.*", "7.9.*",
    "9.1.1",
    "10.*",
]
# With --quick (unless --no-deflate): the first case of each permessage-deflate group.
QUICK_DEFLATE_CASES = [
    "12.1.1", "12.2.1", "12.3.1", "12.4.1", "12.5.1",
    "13.1.1", "13.2.1", "13.3.1", "13.4.1", "13.5.1", "13.6.1", "13.7.1",
]

MAX_DETAILS = 40  # failing cases per direction printed with their reasons; the rest as ids
PASS_BEHAVIORS = ("OK", "INFORMATIONAL")
MAIN_BEHAVIORS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")

# Python 2.7 snippet run in the venv: resolve the spec's case selection exactly as wstest does.
RESOLVE_CASES_PY = r"""
import json, sys
from autobahntestsuite.case import Cases, CaseCategories, CaseSubCategories, CaseSetname, CaseBasename
from autobahntestsuite.caseset import CaseSet
cs = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
spec = json.load(open(sys.argv[1]))
ids = cs.parseSpecCases(spec)
sys.stdout.write(json.dumps({"cases": ids, "unknown": [i for i in ids if i not in cs.CasesIndices]}))
"""

# Python 2.7 wrapper around wstest: stock listenWS binds all interfaces ('') whatever host the
# spec's url names; bind the url's host instead (127.0.0.1), so nothing is exposed off-box.
WSTEST_LOCAL_PY = r"""
import sys
from autobahn.twisted import websocket as _ws
from autobahntestsuite import fuzzing as _fz
_orig = _ws.listenWS
def _listen_local(factory, contextFactory=None, backlog=50, interface=''):
    if not interface:
        interface = factory.host if factory.host not in ('', 'localhost') else '127.0.0.1'
    return _orig(factory, contextFactory, backlog, interface)
_fz.listenWS = _listen_local
from autobahntestsuite.wstest import run
sys.argv[0] = 'wstest'
sys.exit(run())
"""

_children = []  # Popen objects we started (each in its own process group)


_buffers = threading.local()


def log(msg=""):
    """Prints a line, or holds it while a direction runs in a worker thread (so the two
    directions' reports come out whole, one after the other)."""
    held = getattr(_buffers, "lines", None)
    if held is not None:
        held.append(msg)
    else:
        print(msg, flush=True)


def run_held(run_direction, args, cases, exclude):
    """Runs one direction in a worker thread, returning its result and its held output."""
    _buffers.lines = []
    try:
        try:
            result = run_direction(args, cases, exclude)
        except RunError as e:
            log("ERROR: %s" % e)
            result = (0, 0, False)
        return result, _buffers.lines
    finally:
        _buffers.lines = None


def stop_process(proc, name="process", grace=5.0):
    """Stop one child we started (and its process group) by its id."""
    if proc is None or proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            proc.send_signal(sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
    log("warning: could not stop %s (pid %d)" % (name, proc.pid))


def stop_all_children():
    for proc in list(_children):
        stop_process(proc, grace=2.0)


def _on_signal(signum, _frame):
    stop_all_children()
    sys.exit(128 + signum)


def spawn(argv, logfile, cwd=None, env=None, shown=None):
    log("  $ " + " ".join(shown or argv))
    out = open(logfile, "wb")
    proc = subprocess.Popen(
        argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        cwd=cwd or REPO, env=env, start_new_session=True,
    )
    out.close()
    _children.append(proc)
    return proc


def wait_for_port(port, proc, name, logfile, timeout=START_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RunError("%s exited with code %s before accepting on port %d\n%s"
                           % (name, proc.returncode, port, tail(logfile)))
        if accepts(port, timeout=0.5) is None:
            return
        time.sleep(0.1)
    raise RunError("%s did not accept on 127.0.0.1:%d within %ds\n%s"
                   % (name, port, timeout, tail(logfile)))


def tail(path, lines=30):
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "(no log at %s)" % path
    shown = data[-lines:]
    return "---- last %d lines of %s ----\n%s" % (len(shown), path, "\n".join(shown))


def count_lines(path, needle):
    try:
        with open(path, "rb") as f:
            return f.read().count(needle)
    except OSError:
        return 0


def wait_with_progress(proc, name, timeout, logfile, expected):
    """Wait for proc, printing how many cases the suite has started every 30 s."""
    start = time.monotonic()
    next_report = start + 30
    while True:
        try:
            proc.wait(timeout=1.0)
            return proc.returncode
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if now - start > timeout:
            log("  %s timed out after %d s; killing it" % (name, timeout))
            stop_process(proc, name)
            return None
        if now >= next_report:
            next_report = now + 30
            done = count_lines(logfile, b"Running test case ID")
            log("  ... %s: %d/%d cases started, %ds" % (name, done, expected, now - start))


class RunError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# case selection


def build_selection(args):
    if args.cases:
        cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    elif args.quick:
        cases = QUICK_CASES + ([] if args.no_deflate else QUICK_DEFLATE_CASES)
    else:
        cases = list(ALL_CASES)
    exclude = list(DEFLATE_CASES) if args.no_deflate else []
    return cases, exclude


def resolve_cases(spec_path):
    out = subprocess.run([VENV_PY, "-c", RESOLVE_CASES_PY, spec_path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if out.returncode != 0:
        raise RunError("could not resolve the case selection:\n"
                       + out.stderr.decode("utf-8", "replace"))
    res = json.loads(out.stdout.decode("utf-8"))
    if res["unknown"]:
        raise RunError("unknown case id(s): %s (patterns are prefixes with '*', e.g. '1.1.*')"
                       % ", ".join(res["unknown"]))
    return res["cases"]


def write_spec(path, spec):
    with open(path, "w") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")


# --------------------------------------------------------------------------------------------
# report parsing


def case_sort_key(case_id):
    return tuple(int(p) if p.isdigit() else 0 for p in case_id.split("."))


def read_report(outdir, agent, expected, quiet=False):
    """Returns (results, problems): results maps case id -> (behavior, behaviorClose, reason)."""
    index_path = os.path.join(outdir, "index.json")
    problems = []
    results = {}
    try:
        with open(index_path) as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        if not quiet:  # otherwise the error already reported explains it
            problems.append("no usable report %s (%s)" % (index_path, e))
        return results, problems
    if agent not in index:
        problems.append("agent %r not in %s (agents: %s)"
                        % (agent, index_path, ", ".join(sorted(index)) or "none"))
    for other in sorted(index):
        if other != agent:
            problems.append("unexpected agent %r in %s" % (other, index_path))
    for case_id, entry in index.get(agent, {}).items():
        behavior = entry.get("behavior", "?")
        close = entry.get("behaviorClose", "?")
        reason = ""
        if behavior not in PASS_BEHAVIORS or close not in PASS_BEHAVIORS:
            reason = case_reason(outdir, entry, behavior, close)
        results[case_id] = (behavior, close, reason)
    return results, problems


def _clean(text, limit=400):
    text = " ".join(re.sub(r"</?[a-zA-Z][^>]*>", "", str(text)).split())
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def case_reason(outdir, entry, behavior, close):
    path = os.path.join(outdir, entry.get("reportfile", ""))
    try:
        with open(path) as f:
            case = json.load(f)
    except (OSError, ValueError):
        return "(no per-case report %s)" % path
    lines = ["description: " + _clean(case.get("description", ""))]
    if behavior not in PASS_BEHAVIORS:
        lines.append("expectation: " + _clean(case.get("expectation", "")))
        lines.append("result: " + _clean(case.get("result", "")))
    if close not in PASS_BEHAVIORS:
        lines.append("close: " + _clean(case.get("resultClose", "")))
        lines.append("close codes: local %s, remote %s, closed by %s, was clean %s"
                     % (case.get("localCloseCode"), case.get("remoteCloseCode"),
                        "testee" if case.get("closedByMe") is False else "suite",
                        case.get("wasClean")))
    return "\n".join(lines)


def summarize(direction, results, expected, extra_problems):
    """Print the direction's summary; return (passed, failed, ok_flag)."""
    log()
    log("=== %s direction: %d/%d cases reported ===" % (direction, len(results), len(expected)))
    for label, idx in (("behavior", 0), ("behaviorClose", 1)):
        counts = {}
        for r in results.values():
            counts[r[idx]] = counts.get(r[idx], 0) + 1
        names = list(MAIN_BEHAVIORS) + sorted(k for k in counts if k not in MAIN_BEHAVIORS)
        log("  %-14s %s" % (label + ":", ", ".join("%s %d" % (n, counts.get(n, 0)) for n in names)))

    passed = failed = 0
    bad = []
    for case_id in sorted(results, key=case_sort_key):
        behavior, close, reason = results[case_id]
        if behavior in PASS_BEHAVIORS and close in PASS_BEHAVIORS:
            passed += 1
        else:
            failed += 1
            bad.append((case_id, behavior, close, reason))
    missing = sorted(set(expected) - set(results), key=case_sort_key)
    unexpected = sorted(set(results) - set(expected), key=case_sort_key)
    failed += len(missing)

    if bad:
        log("  not OK (%d):" % len(bad))
        for case_id, behavior, close, reason in bad[:MAX_DETAILS]:
            log("  - %s: behavior=%s behaviorClose=%s" % (case_id, behavior, close))
            for line in reason.splitlines():
                log("      " + line)
        if len(bad) > MAX_DETAILS:
            groups = {}
            for case_id, behavior, close, _ in bad[MAX_DETAILS:]:
                groups.setdefault((behavior, close), []).append(case_id)
            log("  ... and %d more (details in the per-case reports):" % (len(bad) - MAX_DETAILS))
            for (behavior, close), ids in sorted(groups.items()):
                log("  - behavior=%s behaviorClose=%s: %s"
                    % (behavior, close, compress_ids(ids, limit=len(ids))))
    if missing:
        log("  MISSING: %d expected case(s) did not run: %s"
            % (len(missing), compress_ids(missing)))
    if unexpected:
        log("  note: %d case(s) ran that were not expected: %s"
            % (len(unexpected), compress_ids(unexpected)))
    for p in extra_problems:
        log("  ERROR: " + p)
    ok = not bad and not missing and not extra_problems
    log("  %s direction: %s" % (direction, "PASS" if ok else "FAIL"))
    return passed, failed, ok


def compress_ids(ids, limit=60):
    if len(ids) <= limit:
        return ", ".join(ids)
    return ", ".join(ids[:limit]) + ", ... (%d more)" % (len(ids) - limit)


# --------------------------------------------------------------------------------------------
# the two directions


def fresh_dir(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)


def wstest_env():
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_server_direction(args, cases, exclude):
    """duplex echo server (a tokio task per connection) <- wstest fuzzingclient."""
    return _run_server(args, cases, exclude, "server", [])


def run_server_loop_direction(args, cases, exclude):
    """duplex echo --event-loop (one epoll loop, duplex::event_loop) <- wstest fuzzingclient."""
    return _run_server(args, cases, exclude, "server-loop", ["--event-loop"])


def _run_server(args, cases, exclude, direction, extra_args):
    agent = "duplex"
    outdir = os.path.join(REPORTS, direction)
    fresh_dir(outdir)
    port = free_port()
    spec_path = os.path.join(outdir, "fuzzingclient.json")
    spec = {
        "outdir": outdir,
        "servers": [{"agent": agent, "url": "ws://127.0.0.1:%d" % port}],
        "cases": cases,
        "exclude-cases": exclude,
        "exclude-agent-cases": {},
    }
    write_spec(spec_path, spec)
    expected = resolve_cases(spec_path)
    if not expected:
        raise RunError("the case selection is empty for the server direction%s"
                       % (" (12.* and 13.* were left out by --no-deflate)" if exclude else ""))

    log()
    log("=== %s direction: duplex echo %son 127.0.0.1:%d, %d cases ==="
        % (direction, "".join(a + " " for a in extra_args), port, len(expected)))
    problems = []
    server_log = os.path.join(outdir, "duplex-echo.log")
    server = spawn([args.binary, "echo", "--deflate", "--listen", "127.0.0.1:%d" % port]
                   + extra_args, server_log)
    try:
        wait_for_port(port, server, "duplex echo", server_log)
    except RunError as e:
        problems.append(str(e))
    try:
        if not problems:
            _run_fuzzingclient(args, outdir, spec_path, expected, server, server_log, problems)
    finally:
        stop_process(server, "duplex echo")
    results, report_problems = read_report(outdir, agent, expected, quiet=bool(problems))
    return summarize(direction, results, expected, problems + report_problems)


def _run_fuzzingclient(args, outdir, spec_path, expected, server, server_log, problems):
    wstest_log = os.path.join(outdir, "wstest.log")
    t0 = time.monotonic()
    proc = spawn([WSTEST, "-m", "fuzzingclient", "-s", spec_path], wstest_log,
                 cwd=outdir, env=wstest_env())
    rc = wait_with_progress(proc, "wstest fuzzingclient", args.timeout, wstest_log,
                            len(expected))
    log("  wstest finished in %.0fs (exit %s); log: %s"
        % (time.monotonic() - t0, rc, os.path.relpath(wstest_log, REPO)))
    if rc is None:
        problems.append("wstest fuzzingclient timed out after %ds" % args.timeout)
    elif rc != 0:
        problems.append("wstest fuzzingclient exited with code %d\n%s" % (rc, tail(wstest_log)))
    if server.poll() is not None:
        problems.append("duplex echo server exited early with code %s\n%s"
                        % (server.returncode, tail(server_log)))


def run_client_direction(args, cases, exclude):
    """autobahn_client example -> wstest fuzzingserver."""
    agent = "duplex"
    outdir = os.path.join(REPORTS, "client")
    fresh_dir(outdir)
    port = free_port()
    spec_path = os.path.join(outdir, "fuzzingserver.json")
    spec = {
        "url": "ws://127.0.0.1:%d" % port,
        "outdir": outdir,
        "cases": cases,
        "exclude-cases": exclude,
        "exclude-agent-cases": {},
    }
    write_spec(spec_path, spec)
    expected = resolve_cases(spec_path)
    if not expected:
        raise RunError("the case selection is empty for the client direction%s"
                       % (" (12.* and 13.* were left out by --no-deflate)" if exclude else ""))

    log()
    log("=== client direction: wstest fuzzingserver on 127.0.0.1:%d, %d cases ==="
        % (port, len(expected)))
    problems = []
    wstest_log = os.path.join(outdir, "wstest.log")
    # -u 0: no embedded web UI (stock wstest would also listen on 0.0.0.0:8080).
    server = spawn([VENV_PY, "-c", WSTEST_LOCAL_PY, "-m", "fuzzingserver", "-s", spec_path,
                    "-u", "0"], wstest_log, cwd=outdir, env=wstest_env(),
                   shown=[WSTEST + "(bound to 127.0.0.1)", "-m", "fuzzingserver", "-s", spec_path,
                          "-u", "0"])
    try:
        wait_for_port(port, server, "wstest fuzzingserver", wstest_log)
    except RunError as e:
        problems.append(str(e))
    try:
        if not problems:
            _run_client(args, outdir, port, agent, expected, server, wstest_log, problems)
    finally:
        stop_process(server, "wstest fuzzingserver")
    results, report_problems = read_report(outdir, agent, expected, quiet=bool(problems))
    return summarize("client", results, expected, problems + report_problems)


def _run_client(args, outdir, port, agent, expected, server, wstest_log, problems):
    client_log = os.path.join(outdir, "autobahn_client.log")
    t0 = time.monotonic()
    client = spawn([args.client_binary, "ws://127.0.0.1:%d" % port, agent], client_log)
    rc = wait_with_progress(client, "autobahn_client", args.timeout, wstest_log,
                            len(expected))
    log("  autobahn_client finished in %.0fs (exit %s); logs: %s, %s"
        % (time.monotonic() - t0, rc, os.path.relpath(client_log, REPO),
           os.path.relpath(wstest_log, REPO)))
    if rc is None:
        problems.append("autobahn_client timed out after %ds" % args.timeout)
    elif rc != 0:
        problems.append("autobahn_client exited with code %d\n%s" % (rc, tail(client_log)))
    # /updateReports writes index.json inside wstest; give it a moment to land.
    index_path = os.path.join(outdir, "index.json")
    deadline = time.monotonic() + 10
    while not os.path.exists(index_path) and time.monotonic() < deadline:
        if server.poll() is not None:
            break
        time.sleep(0.2)
    if not os.path.exists(index_path) and server.poll() is None:
        # The client never asked for the report (crashed or stopped early): ask for it
        # ourselves, so the cases that did run are still reported.
        problems.append("autobahn_client did not request /updateReports; "
                        "the runner fetched the partial report")
        try:
            request_update_reports(port, agent)
        except OSError as e:
            problems.append("fetching the partial report failed: %s" % e)
        deadline = time.monotonic() + 10
        while not os.path.exists(index_path) and time.monotonic() < deadline:
            time.sleep(0.2)
    if server.poll() is not None:
        problems.append("wstest fuzzingserver exited early with code %s\n%s"
                        % (server.returncode, tail(wstest_log)))


def request_update_reports(port, agent):
    """Minimal WebSocket handshake to the fuzzingserver's /updateReports (stdlib only)."""
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    req = ("GET /updateReports?agent=%s HTTP/1.1\r\n"
           "Host: 127.0.0.1:%d\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n" % (urllib.parse.quote(agent), port, key))
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(req.encode("ascii"))
        # The server writes the reports, then sends a close frame; read until it hangs up.
        try:
            while s.recv(65536):
                pass
        except ConnectionResetError:
            pass  # we do not answer the close frame; the server may reset


# --------------------------------------------------------------------------------------------


def cargo_target_dir():
    env_dir = os.environ.get("CARGO_TARGET_DIR")
    try:
        out = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                             cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             check=True)
        return json.loads(out.stdout.decode("utf-8"))["target_directory"]
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError):
        return env_dir or os.path.join(REPO, "target")


def build(args):
    cmd = ["cargo", "build", "--release"]
    if args.only in (None, "server", "server-loop"):
        cmd += ["-p", "duplex-cli", "--bin", "duplex"]
    if args.only in (None, "client"):
        cmd += ["-p", "duplex", "--example", "autobahn_client"]
    log("$ " + " ".join(cmd))
    rc = subprocess.call(cmd, cwd=REPO)
    if rc != 0:
        raise RunError("cargo build failed (exit %d)" % rc)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Run the Autobahn testsuite against duplex (server and client).")
    p.add_argument("--quick", action="store_true",
                   help="run a representative subset (%s)" % ", ".join(QUICK_CASES))
    p.add_argument("--cases", metavar="PATTERN,...",
                   help="comma-separated case ids/patterns, e.g. '1.*,5.*,9.1.1' "
                        "(patterns are prefixes: '1.*' is group 1, '1*' also matches 10, 12, 13)")
    p.add_argument("--only", choices=("server", "server-loop", "client"),
                   help="run one direction only (server-loop: duplex echo --event-loop)")
    p.add_argument("--no-deflate", action="store_true",
                   help="leave out the permessage-deflate cases 12.* and 13.* (the slowest)")
    p.add_argument("--no-build", action="store_true", help="do not run cargo build first")
    p.add_argument("--serial", action="store_true",
                   help="run the two directions one after the other instead of side by side")
    p.add_argument("--binary", help="duplex binary (default: <target>/release/duplex)")
    p.add_argument("--client-binary",
                   help="client testee (default: <target>/release/examples/autobahn_client)")
    p.add_argument("--timeout", type=int, default=WSTEST_TIMEOUT,
                   help="seconds allowed per direction (default: %(default)s)")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    atexit.register(stop_all_children)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)

    passed = failed = 0
    all_ok = True
    try:
        if not (os.path.exists(WSTEST) and os.path.exists(VENV_PY)):
            setup = os.path.join(HERE, "setup.sh")
            log("autobahn: %s not found; running %s" % (os.path.relpath(WSTEST, REPO),
                                                        os.path.relpath(setup, REPO)))
            if subprocess.call(["bash", setup], cwd=REPO) != 0:
                raise RunError("tests/autobahn/setup.sh failed")
        if not args.no_build:
            build(args)
        if not (args.binary and args.client_binary):
            target = cargo_target_dir()
            args.binary = args.binary or os.path.join(target, "release", "duplex")
            args.client_binary = args.client_binary or os.path.join(
                target, "release", "examples", "autobahn_client")
        for name, path in (("server", args.binary), ("server-loop", args.binary),
                           ("client", args.client_binary)):
            if args.only in (None, name) and not os.access(path, os.X_OK):
                raise RunError("%s testee not found or not executable: %s" % (name, path))

        cases, exclude = build_selection(args)
        log("autobahn: cases %s" % ", ".join(cases))
        if exclude:
            log("autobahn: excluding %s as asked by --no-deflate" % ", ".join(exclude))
        os.makedirs(REPORTS, exist_ok=True)

        directions = []
        if args.only in (None, "server"):
            directions.append(run_server_direction)
        if args.only in (None, "server-loop"):
            directions.append(run_server_loop_direction)
        if args.only in (None, "client"):
            directions.append(run_client_direction)
        # The two directions share nothing but the machine: run them side by side (each is
        # mostly one single-threaded Python process), unless asked not to.
        workers = 1 if args.serial else len(directions)
        log("autobahn: running %s" % (" and ".join(d.__name__[4:] for d in directions)
                                       + (" side by side" if workers > 1 else "")))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(run_held, d, args, cases, exclude) for d in directions]
            for future in futures:
                (p, f, ok), lines = future.result()
                for line in lines:
                    log(line)
                passed += p
                failed += f
                all_ok = all_ok and ok
        log()
        log("reports: %s" % os.path.relpath(REPORTS, REPO))
    except RunError as e:
        log("ERROR: %s" % e)
        all_ok = False
    except KeyboardInterrupt:
        log("interrupted")
        all_ok = False
    finally:
        stop_all_children()
    log("autobahn: %d passed, %d failed" % (passed, failed))
    return 0 if all_ok and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
