"""What the test harnesses' run.py scripts (tests/interop, tests/hub) share for the processes they
start: a free port (tests/autobahn takes that and the readiness probe too), starting a command in a process group of its own with its output in a log
file, waiting until it is ready, stopping it (and whatever it started, e.g. Chromium) by its
process group, on failure and on Ctrl-C too, the tail of a log, and cargo's target directory.

The scripts import it after putting this folder on sys.path (it is no package): only the
standard library here, since run.py runs on the system Python, before any venv exists.
"""
import json
import os
import random
import signal
import socket
import subprocess
import sys
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
