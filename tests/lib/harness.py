"""What the test harnesses' run.py scripts (tests/interop, tests/hub) share for the processes they
start: a free port (tests/autobahn takes that and the readiness probe too), starting a command in a process group of its own with its output in a log
file, waiting until it is ready, stopping it (and whatever it started, e.g. Chromium) by its
process group, on failure and on Ctrl-C too, the tail of a log, and cargo's target directory.
Also the quiet static page server the browser checks load their pages from (tests/hub,
tests/pusher, tests/tabs), and the PASS/FAIL reporting of run.py scripts (Reporter), with
running a check process that prints `plan` / `ok` / `FAIL` / `info` lines and reporting what it
planned (run_checks, Reporter.report_plan) or, where no hub listens, that it failed fast
(Reporter.report_unreachable): tests/hub and tests/pusher.

The scripts import it after putting this folder on sys.path (it is no package): only the
standard library here, since run.py runs on the system Python, before any venv exists.
"""
import http.server
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

started = []  # every subprocess.Popen started through start(), until stop() ends it


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bound and released), chosen outside
    the kernel's ephemeral range. Inside it, the port could be handed to some outgoing
    connection before the server we start binds it, and a probe connecting to a port nobody
    listens on yet can even connect to itself (TCP simultaneous open, when the kernel picks the
    destination port as the source): the probe then sees a listener that is not there and the
    server's bind fails with "address in use". CI lost an Autobahn run to exactly that."""
    low, high = _ephemeral_range()
    candidates = [p for p in range(10000, 65536) if not low <= p <= high]
    for port in random.sample(candidates, 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError("no free TCP port outside the ephemeral range %d-%d" % (low, high))


def free_port_is(port):
    """Whether `port` on 127.0.0.1 can be bound right now."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def accepts(port, timeout=1.0):
    """None when something listening on 127.0.0.1:port accepts a TCP connection, else why not.
    A connection to itself (source port == destination port, see free_port) is no listener."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            if s.getsockname() == s.getpeername():
                return "connected to itself: nothing listens on %d yet" % port
            return None
    except OSError as e:
        return str(e)


def start(cmd, log_path, cwd, env=None):
    """Starts `cmd` in `cwd` with stdout and stderr into `log_path` and `env` over this process's
    environment, as the leader of a new session, so stop() reaches its children too."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env={**os.environ, **(env or {})})
    started.append(proc)
    return proc


def stop(proc):
    """Stops a process start() started, and whatever it started (its process group)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    try:  # the leader may be gone while children (chromium) live on in its group
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    if proc in started:
        started.remove(proc)


def run_for(cmd, log_path, cwd, env, timeout):
    """Runs `cmd` as start() does for at most `timeout` seconds, then stops it (its process group:
    a client's Chromium too). Returns (exit code, or None when it was still running; timed out)."""
    proc = start(cmd, log_path, cwd, env)
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    rc = proc.poll()
    stop(proc)
    return rc, timed_out


def stop_all():
    for proc in list(started):
        stop(proc)


def stop_all_on_signals(label):
    """On SIGINT or SIGTERM: stop every started process, print `<label>: interrupted by signal
    N` and exit 130 (the process groups would otherwise outlive an interrupted run)."""

    def on_signal(signum, _frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all()
        print(f"{label}: interrupted by signal {signum}", flush=True)
        sys.exit(130)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def wait_ready(proc, timeout, probe, exited, timed_out):
    """Calls `probe()` (None when the server is ready, else what it saw) every 0.1 s until it is
    ready, `proc` exits or `timeout` seconds pass. Returns None when ready, else the error the
    caller words: `exited(exit code)` or `timed_out(what the probe last saw)`."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return exited(proc.returncode)
        last = probe()
        if last is None:
            return None
        time.sleep(0.1)
    return timed_out(last)


def tcp_probe(port):
    """A wait_ready() probe: does 127.0.0.1:port accept TCP connections?"""
    return lambda: accepts(port)


def tail(path, lines=40, empty=""):
    """The last `lines` lines of a log (saying how many came before), or `empty` when there is
    no such file or nothing in it."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return empty
    out = text.rstrip("\n").splitlines()
    if len(out) > lines:
        out = [f"... ({len(out) - lines} earlier lines in {path})"] + out[-lines:]
    return "\n".join(out) or empty


def target_dir():
    """Cargo's target directory for this workspace (CARGO_TARGET_DIR and config included)."""
    try:
        out = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return json.loads(out)["target_directory"]
    except (subprocess.CalledProcessError, OSError, ValueError, KeyError):
        return os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))


def health(port):
    """None when the hub on `port` answers GET /health with 200, else what it answered."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
            return None if r.status == 200 else f"status {r.status}"
    except urllib.error.HTTPError as e:
        return f"status {e.code}"
    except OSError as e:
        return str(e)


def wait_health(proc, port, timeout):
    """GET /health on `port` until 200; an error string (the hub exited, or the time ran out),
    or None."""
    return wait_ready(
        proc, timeout, lambda: health(port),
        exited=lambda code: f"the hub exited with code {code} before /health answered",
        timed_out=lambda last: f"GET /health did not answer 200 within {timeout:.0f} s ({last})")



def indent(text):
    """`text` with every line indented by four spaces (details under a PASS/FAIL line)."""
    return "\n".join("    " + line for line in text.splitlines())


# --- the page servers ----------------------------------------------------------------------------

class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that answers through `_send` and logs nothing (failures show in the
    clients' output)."""

    def _send(self, status, ctype, body):
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.send_header("cache-control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(handler, port=0):
    """`handler` on 127.0.0.1:`port` (0: any free one) in a thread: (server, base URL). The caller
    ends it with server.shutdown()."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# --- checks and their reports --------------------------------------------------------------------

class CheckRun:
    """What run_checks saw of one check process: `rc` (None when it was still running),
    `timed_out`, `elapsed` seconds, its output `lines`, the checks it planned (`plan`), its
    `results` (check -> (ok, reason)) and `details` for a failure (its output's tail, the hub's
    under it)."""

    def __init__(self, rc, timed_out, elapsed, lines, details):
        self.rc, self.timed_out, self.elapsed, self.lines = rc, timed_out, elapsed, lines
        self.details = details
        self.plan = [line[5:].strip() for line in lines if line.startswith("plan ")]
        self.results = {}
        for line in lines:
            if line.startswith("ok   "):
                self.results[line[5:].split(" (")[0].strip()] = (True, "")
            elif line.startswith("FAIL ") and ":" in line:
                name, _, reason = line[5:].partition(":")
                self.results[name.strip()] = (False, reason.strip())


def run_checks(cmd, log_path, cwd, env, timeout, what, hub_log=None):
    """Runs a check process (`plan <check>` lines first, then `ok   <check> (...)` or
    `FAIL <check>: <reason>` for each) as run_for does; `what` names it in the details
    ("client", "group"). Returns a CheckRun."""
    t0 = time.monotonic()
    rc, timed_out = run_for(cmd, log_path, cwd, env, timeout)
    elapsed = time.monotonic() - t0
    lines = tail(log_path, 100_000, empty="(no output)").splitlines()
    details = f"{what} output ({log_path}):\n{tail(log_path, empty='(no output)')}"
    if hub_log:
        details += f"\nhub output ({hub_log}):\n{tail(hub_log, 25, empty='(no output)')}"
    return CheckRun(rc, timed_out, elapsed, lines, details)


class Reporter:
    """Prints `PASS <name>` or `FAIL <name>: <reason>` (with `details` indented under it) and
    counts them; `prefix` goes before every name."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.prefix = ""

    def report(self, ok, name, reason="", details=""):
        name = self.prefix + name
        if ok:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}: {reason}", flush=True)
        if details:  # under a FAIL: the outputs; under a PASS: notes (tests/interop)
            print(indent(details), flush=True)

    def report_unreachable(self, name, run, unreachable, timeout, within=None):
        """The self-test's run of `name` where no hub listens: one line, PASS when every planned
        check FAILed for want of a hub (its reason matches the regex `unreachable`), the
        process exited non-zero and (given `within`) in less than `within` seconds."""
        fails = [n for n in run.plan if run.results.get(n, (True,))[0] is False]
        wrong = [f"{n}: {run.results[n][1]}" for n in fails
                 if not unreachable.search(run.results[n][1])]
        ok = (not run.timed_out and run.rc not in (0, None) and run.plan
              and len(fails) == len(run.plan) and not wrong
              and (within is None or run.elapsed < within))
        why = (f"timed out after {timeout:.0f} s" if run.timed_out else
               f"exit code {run.rc}, {len(fails)} of {len(run.plan)} planned checks failed"
               + (f" in {run.elapsed:.1f} s" if within is not None else "")
               + (f"; not for want of a hub: {wrong[0]}" if wrong else ""))
        self.report(ok, f"self-test/{name} fails fast without a hub ({run.elapsed:.1f} s)",
                    why, "" if ok else run.details)

    def report_plan(self, name, run, timeout, what, hub_proc=None):
        """A line per check `name`'s process planned (`<name>/<check>`; a check it never
        reported FAILs as not run), the details under the first failure, its `info` lines and
        the time taken; a FAIL for `name` when it planned nothing, or when every check passed
        but it exited non-zero. `what` says what it was ("client", "group")."""
        hub_note = ""
        if hub_proc is not None and hub_proc.poll() is not None:
            hub_note = f" [the hub exited with code {hub_proc.returncode}]"
        rc, timed_out, plan, results = run.rc, run.timed_out, run.plan, run.results
        if not plan:
            why = f"timed out after {timeout:.0f} s" if timed_out else f"exit code {rc}"
            self.report(False, name, f"the {what} planned no checks ({why}){hub_note}", run.details)
            return
        shown = False
        for check in plan:
            ok, reason = results.get(check, (False, None))
            if reason is None:
                reason = (f"not run: the {what} timed out after {timeout:.0f} s" if timed_out
                          else f"not run: the {what} exited with code {rc}")
            self.report(ok, f"{name}/{check}", reason + ("" if ok else hub_note),
                        "" if ok or shown else run.details)
            shown = shown or not ok
        notes = [line for line in run.lines if line.startswith("info ")]
        print(indent("\n".join(notes + [f"info {name}: {len(plan)} checks in {run.elapsed:.1f} s"])),
              flush=True)
        if rc not in (0, None) and not timed_out and all(results.get(n, (False,))[0] for n in plan):
            self.report(False, name, f"every check passed but the {what} exited with {rc}",
                        run.details)
