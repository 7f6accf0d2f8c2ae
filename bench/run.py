#!/usr/bin/env python3
"""Peer benchmark: duplex echo against tokio-tungstenite, fastwebsockets, Node ws and uWebSockets.

One command builds every server from its registry (release), then for each scenario and round
starts each server in turn (the order rotates every round) pinned to CPU 0, drives it with
`duplex bench` pinned to CPU 1, and records what the loader reports for the measured window
(after the warmup): rate, payload MB/s, latency percentiles, the server's CPU time per message
or handshake (from /proc/PID/stat), the loader's own CPU, and errors. The runner also samples
both processes and the whole machine (/proc/stat) over each run, so that CPU used by anything
else (another engineer's build) shows up as "other" beside the numbers.

Medians across rounds go to a Markdown table on stdout and, with --write-docs, into
docs/performance.md between the markers. Raw results go to bench/out/results.json.

    python3 bench/run.py                         # 3 rounds, every scenario, every server
    python3 bench/run.py --quick                 # 1 short round: does everything work?
    python3 bench/run.py --scenarios a,e --servers duplex,node --rounds 5
    python3 bench/run.py --write-docs            # also update docs/performance.md
    python3 bench/run.py --no-hub                # the stack scenarios only
    python3 bench/run.py --only-hub --quick      # the hub scenarios only (bench/hub.py)

The hub benchmark (bench/hub.py, issue 22) runs after the stack scenarios, in the same mode
(--quick, --rounds, --write-docs), unless --no-hub or --render-only is given.

Adding a scenario: append a Scenario to SCENARIOS; its `kind` picks a runner in RUNNERS (echo,
connect, idle). A new kind (the broadcast scenarios g1/g2) needs a runner function with the
signature of run_echo that returns a dict of metrics, plus a row format in TABLES.

Needs: Linux, taskset, cargo, node 20 + npm, python3 (stdlib only). Run as root to raise the
open-file limit to 1,048,576 for the idle scenarios (otherwise the hard limit applies).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / "peers"
NODE = ROOT / "bench" / "node"
OUT = ROOT / "bench" / "out"
DOCS = ROOT / "docs" / "performance.md"
DUPLEX = ROOT / "target" / "release" / "duplex"
SERVER_CPU = "0"
LOADER_CPU = "1"
NOFILE = 1_048_576
NOFILE_SPARE = 200  # descriptors kept for listeners, logs, /proc reads
HOST = "127.0.0.1"
BEGIN = "<!-- bench/run.py: begin (generated, do not edit by hand) -->"
END = "<!-- bench/run.py: end -->"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- servers ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Server:
    name: str
    label: str  # what the table says: crate/package and version, setup
    deflate: bool  # can it negotiate permessage-deflate?

    def command(self, port: int, deflate: bool, relay: bool = False) -> list[str]:
        """The server's command line: an echo server, or with `relay` a broadcast server
        (what one client sends goes to every other client) for the g scenarios."""
        addr = f"{HOST}:{port}"
        if relay:
            if self.name == "duplex":
                return [str(DUPLEX), "relay", "--listen", addr, "--threads", "1"]
            if self.name == "duplex-loop":
                return [str(DUPLEX), "relay", "--listen", addr, "--event-loop"]
            if self.name == "tungstenite":
                return [str(PEERS / "target" / "release" / "tungstenite-relay"), "--listen", addr]
            if self.name == "node":
                return ["node", str(NODE / "relay.mjs"), "--port", str(port), "--host", HOST]
            if self.name == "uws":
                return ["node", str(NODE / "uws.mjs"), "--port", str(port), "--host", HOST,
                        "--relay"]
            raise ValueError(f"{self.name} has no broadcast server")
        if self.name == "duplex":
            cmd = [str(DUPLEX), "echo", "--listen", addr, "--threads", "1"]
            return cmd + (["--deflate"] if deflate else [])
        if self.name == "duplex-loop":
            cmd = [str(DUPLEX), "echo", "--listen", addr, "--event-loop"]
            return cmd + (["--deflate"] if deflate else [])
        if self.name == "tungstenite":
            return [str(PEERS / "target" / "release" / "tungstenite-echo"), "--listen", addr]
        if self.name == "fastwebsockets":
            return [str(PEERS / "target" / "release" / "fastwebsockets-echo"), "--listen", addr]
        if self.name == "node":
            cmd = ["node", str(NODE / "echo.mjs"), "--port", str(port), "--host", HOST]
            return cmd + (["--deflate"] if deflate else [])
        if self.name == "uws":
            cmd = ["node", str(NODE / "uws.mjs"), "--port", str(port), "--host", HOST]
            return cmd + (["--deflate"] if deflate else [])
        raise ValueError(self.name)


SERVERS = {
    s.name: s
    for s in [
        Server("duplex", "duplex echo (current-thread)", True),
        Server("duplex-loop", "duplex echo --event-loop (one epoll loop)", True),
        Server("tungstenite", "tokio-tungstenite (split + forward)", False),
        Server("fastwebsockets", "fastwebsockets (upgrade, FragmentCollector)", False),
        Server("node", "Node ws + bufferutil", True),
        Server("uws", "uWebSockets (C++) through uWebSockets.js", True),
    ]
}


# --- scenarios -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    kind: str  # picks the runner in RUNNERS
    params: dict
    deflate: bool = False


SCENARIOS = [
    Scenario("a", "echo 64 B text, 100 conns x 16 in flight", "echo",
             dict(conns=100, pipeline=16, size=64, binary=False)),
    Scenario("b", "echo 512 B text, 500 conns x 4 in flight", "echo",
             dict(conns=500, pipeline=4, size=512, binary=False)),
    Scenario("c", "echo 16 KiB binary, 10 conns x 4 in flight", "echo",
             dict(conns=10, pipeline=4, size=16 * 1024, binary=True)),
    Scenario("d", "echo 1 MiB binary, 1 conn x 2 in flight", "echo",
             dict(conns=1, pipeline=2, size=1024 * 1024, binary=True)),
    Scenario("e", "handshake + close, 50 concurrent", "connect", dict(concurrency=50)),
    Scenario("f", "idle connections, 10k", "idle", dict(conns=10_000)),
    Scenario("f-deflate", "idle connections, 10k, permessage-deflate negotiated", "idle",
             dict(conns=10_000), deflate=True),
    Scenario("f-50k", "idle connections, 50k from 127.0.0.1-20", "idle",
             dict(conns=50_000, source_ips="127.0.0.1-127.0.0.20")),
    Scenario("g1", "broadcast 64 B to 1,000 receivers at 1,000 msg/s", "broadcast",
             dict(receivers=1000, rate=1000, size=64)),
    Scenario("g2", "broadcast 64 B to 10,000 receivers: highest rate with nothing lost and "
             "p99 < 1 s", "broadcast",
             dict(receivers=10_000, rates=[15, 30, 60, 100, 160, 220, 280, 340, 400, 480, 560],
                  size=64,
                  p99_limit_us=1_000_000, source_ips="127.0.0.1-127.0.0.4")),
]

# Servers with a broadcast server (the issue names tokio-tungstenite's examples/server.rs
# pattern and Node ws broadcasting to wss.clients); the others are n/a in g.
RELAYS = {"duplex", "duplex-loop", "tungstenite", "node", "uws"}


@dataclasses.dataclass
class Timing:
    duration: float  # seconds measured
    warmup: float  # seconds of load before measuring
    hold: float  # idle: seconds to hold the connections open
    idle_scale: float  # idle: fraction of the scenario's connection count
    noisy: float = 25  # % of a core used by other processes that makes a run noisy
    wait_quiet: float = 0  # seconds to wait, before each run, for the machine to be quiet


FULL = Timing(duration=5, warmup=2, hold=3, idle_scale=1.0)
QUICK = Timing(duration=1, warmup=0.5, hold=1, idle_scale=0.1)


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs spent running processes (user, nice, system, steal). Interrupt
    and softirq time is left out: on loopback it is mostly the benchmark's own packets."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, _irq, _softirq, steal = (
            int(x) for x in f.readline().split()[1:9])
    return (user + nice + system + steal) / CLK_TCK


def wait_quiet(noisy: float, max_wait: float, log) -> float:
    """Waits (up to `max_wait` s) until processes used at most `noisy`% of a core over one
    second; returns the last such sample."""
    deadline = time.monotonic() + max_wait
    while True:
        before = machine_busy_seconds()
        time.sleep(1)
        busy = 100 * (machine_busy_seconds() - before)
        if busy <= noisy or time.monotonic() >= deadline:
            return busy
        log(f"waiting for a quiet machine: others use {busy:.0f}% of a core")
        time.sleep(min(10, max(0, deadline - time.monotonic())))


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Running:
    """A server started pinned to SERVER_CPU; stopped (by its PID) on exit."""

    def __init__(self, server: Server, deflate: bool, relay: bool = False):
        self.server = server
        self.port = free_port()
        self.log = OUT / f"server-{server.name}.log"
        cmd = ["taskset", "-c", SERVER_CPU] + server.command(self.port, deflate, relay)
        self.logf = open(self.log, "w")
        # taskset execs the server, so the PID is the server's own.
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=ROOT)
        self.pid = self.proc.pid
        self.url = f"ws://{HOST}:{self.port}/"

    def __enter__(self) -> "Running":
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.logf.close()
                raise RuntimeError(f"{self.server.name} exited at start: see {self.log}")
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
                time.sleep(0.2)  # let the accepted probe connection go away
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.server.name} did not listen on {self.port}: see {self.log}")

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def run_loader(args: list[str], server: Running, timeout: float) -> dict:
    """Runs `duplex bench ...` pinned to LOADER_CPU; returns its JSON plus our own samples."""
    cmd = ["taskset", "-c", LOADER_CPU, str(DUPLEX), "bench", *args, "--json", "-q"]
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = cpu_seconds(server.pid)
    busy_before = machine_busy_seconds()
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return {"failed": f"loader timed out after {timeout:.0f} s", "stderr": err[-2000:]}
    finally:
        if proc.poll() is None:  # interrupted: stop the loader we started
            proc.kill()
            proc.wait()
    elapsed = time.monotonic() - started
    busy = machine_busy_seconds() - busy_before
    alive = server.proc.poll() is None
    server_cpu = cpu_seconds(server.pid) - server_before if alive else float("nan")
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    loader_cpu = (after_children.ru_utime + after_children.ru_stime
                  - before_children.ru_utime - before_children.ru_stime)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"failed": f"loader exit {proc.returncode}", "stderr": err[-2000:],
                "stdout": out[-2000:]}
    result = json.loads(lines[-1])
    result["run"] = {
        "elapsed_s": round(elapsed, 3),
        "server_cpu_s": round(server_cpu, 3),
        "loader_cpu_s": round(loader_cpu, 3),
        # CPU that neither the server nor the loader used: other processes on the machine.
        "other_cpu_pct": round(100 * max(0.0, busy - server_cpu - loader_cpu) / elapsed, 1),
        "server_alive": alive,
    }
    if err.strip():
        result["stderr"] = err[-2000:]
    return result


# --- runners: one per scenario kind; each returns the metrics the tables show -----------------


def run_echo(sc: Scenario, srv: Running, t: Timing) -> dict:
    p = sc.params
    args = ["echo", "--url", srv.url, "--conns", str(p["conns"]), "--pipeline",
            str(p["pipeline"]), "--size", str(p["size"]), "--duration", str(t.duration),
            "--warmup", str(t.warmup), "--server-pid", str(srv.pid)]
    args += ["--binary"] if p["binary"] else []
    r = run_loader(args, srv, timeout=t.duration + t.warmup + 60)
    if "failed" in r:
        return r
    return {
        "rate": r["messages_per_s"],
        "mb_s": r["mb_per_s"],
        "p50_us": (r.get("latency_us") or {}).get("p50"),
        "p99_us": (r.get("latency_us") or {}).get("p99"),
        "server_us": r.get("server_cpu_us_per_message"),
        "server_pct": 100 * r["server_cpu_s"] / r["duration_s"] if "server_cpu_s" in r else None,
        "loader_pct": 100 * r["loader_cpu_s"] / r["duration_s"],
        "errors": r["errors"],
        "first_error": r.get("first_error"),
        "other_pct": r["run"]["other_cpu_pct"],
        "raw": r,
    }


def run_connect(sc: Scenario, srv: Running, t: Timing) -> dict:
    args = ["connect", "--url", srv.url, "--concurrency", str(sc.params["concurrency"]),
            "--duration", str(t.duration), "--warmup", str(t.warmup),
            "--server-pid", str(srv.pid)]
    r = run_loader(args, srv, timeout=t.duration + t.warmup + 60)
    if "failed" in r:
        return r
    return {
        "rate": r["handshakes_per_s"],
        "mb_s": None,
        "p50_us": (r.get("latency_us") or {}).get("p50"),
        "p99_us": (r.get("latency_us") or {}).get("p99"),
        "server_us": r.get("server_cpu_us_per_handshake"),
        "server_pct": 100 * r["server_cpu_s"] / r["duration_s"] if "server_cpu_s" in r else None,
        "loader_pct": 100 * r["loader_cpu_s"] / r["duration_s"],
        "errors": r["errors"],
        "first_error": r.get("first_error"),
        "other_pct": r["run"]["other_cpu_pct"],
        "raw": r,
    }


def run_idle(sc: Scenario, srv: Running, t: Timing) -> dict:
    wanted = max(100, int(sc.params["conns"] * t.idle_scale))
    # The server and the loader each need one descriptor per connection, and both inherit our
    # limit: without CAP_SYS_RESOURCE it cannot go above the hard limit, so cap the count.
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    conns = min(wanted, nofile - NOFILE_SPARE)
    args = ["idle", "--url", srv.url, "--conns", str(conns), "--hold", str(t.hold),
            "--server-pid", str(srv.pid)]
    if sc.params.get("source_ips"):
        args += ["--source-ips", sc.params["source_ips"]]
    if sc.deflate:
        args += ["--deflate"]  # offers `permessage-deflate; client_max_window_bits`, as Chromium
    r = run_loader(args, srv, timeout=t.hold + 180)
    if "failed" in r:
        return r
    return {
        "conns": conns,
        "capped": f"capped from {wanted:,} by the open-file limit {nofile:,}"
        if conns < wanted else None,
        "opened": r["opened"],
        "bytes_per_conn": r["bytes_per_conn"],
        "rss_before": r["server_rss_before"],
        "rss_after": r["server_rss_after"],
        "open_s": r["open_s"],
        "errors": r["errors"] + r.get("dropped", 0),
        "first_error": r.get("first_error"),
        "other_pct": r["run"]["other_cpu_pct"],
        "raw": r,
    }


class PeakRss:
    """Samples a process's RSS in a thread (every 0.2 s) while a run lasts; keeps the peak."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_bytes(self.pid))
            except OSError:
                return
            self._stop.wait(0.2)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def broadcast_once(sc: Scenario, srv: Running, t: Timing, rate: int) -> dict:
    """One `duplex bench broadcast` run at `rate` messages/s; the server's peak RSS with it."""
    p = sc.params
    receivers = max(10, int(p["receivers"] * (1 if t.idle_scale >= 1 else 0.1)))
    args = ["broadcast", "--url", srv.url, "--receivers", str(receivers), "--rate", str(rate),
            "--size", str(p["size"]), "--duration", str(t.duration), "--warmup", str(t.warmup),
            "--server-pid", str(srv.pid)]
    if p.get("source_ips"):
        args += ["--source-ips", p["source_ips"]]
    with PeakRss(srv.pid) as peak:
        r = run_loader(args, srv, timeout=t.duration + t.warmup + 240)
    if "failed" in r and "lost" not in (r.get("stderr") or ""):
        return r
    if "failed" in r:  # the loader exits non-zero when messages were lost: still a result
        lines = [line for line in (r.get("stdout") or "").splitlines() if line.startswith("{")]
        if not lines:
            return r
        r = json.loads(lines[-1]) | {"run": {"other_cpu_pct": None}}
    lat = r.get("latency_us") or {}
    return {
        "rate": r["deliveries_per_s"],
        "msg_rate": rate,
        "lost": r["lost"] + r["out_of_order"],
        "p50_us": lat.get("p50"),
        "p99_us": lat.get("p99"),
        # The same, to the receiver's read: adds the loader's own delay (see broadcast.rs).
        "read_p99_us": (r.get("read_latency_us") or {}).get("p99"),
        # With nothing delivered in the window, CPU per delivery means nothing.
        "server_us": r.get("server_cpu_us_per_delivery") if r["deliveries_per_s"] else None,
        "server_pct": 100 * r["server_cpu_s"] / r["duration_s"] if "server_cpu_s" in r else None,
        "loader_pct": 100 * r["loader_cpu_s"] / r["duration_s"],
        "rss": peak.peak or None,
        "errors": r["errors"],
        "first_error": r.get("first_error"),
        "other_pct": r["run"]["other_cpu_pct"],
        "raw": r,
    }


def run_broadcast(sc: Scenario, srv: Running, t: Timing) -> dict:
    """(g1) one fixed rate. (g2) a ladder of rates on the same server: the result is the
    highest step with nothing lost, no errors and p99 under the limit; the step after it
    (the first that failed) is kept to show how it failed."""
    p = sc.params
    if "rates" not in p:
        return broadcast_once(sc, srv, t, p["rate"])
    best, failed_step = None, None
    for rate in p["rates"]:
        r = broadcast_once(sc, srv, t, rate)
        ok = ("failed" not in r and r["lost"] == 0 and r["errors"] == 0
              and (r["p99_us"] or 0) < p["p99_limit_us"])
        if not ok:
            failed_step = r
            break
        best = r
    def why(step):
        if "failed" in step:
            return step["failed"]
        if step["lost"]:
            return f"{fmt(step['lost'])} lost"
        if step["errors"]:
            return f"{step['errors']} errors"
        return f"p99 {fmt_us(step['p99_us'])}"

    if best is None:  # even the lowest step failed: show it, marked as such
        if "failed" in failed_step:
            return failed_step
        failed_step["passed"] = False
        failed_step["next"] = f"lowest step failed: {why(failed_step)}"
        return failed_step
    best["next"] = ("top of the ladder" if failed_step is None else
                    f"{fmt(failed_step.get('rate'))}/s: {why(failed_step)}")
    return best


RUNNERS = {"echo": run_echo, "connect": run_connect, "idle": run_idle, "broadcast": run_broadcast}


def run_once(sc: Scenario, srv: Server, timing: Timing, log) -> dict:
    if timing.wait_quiet:
        wait_quiet(timing.noisy, timing.wait_quiet, log)
    try:
        with Running(srv, sc.deflate, relay=sc.kind == "broadcast") as running:
            return RUNNERS[sc.kind](sc, running, timing)
    except RuntimeError as err:
        return {"failed": str(err)}


def run_quietest(sc, srv, timing: Timing, retries: int, log) -> dict:
    """Runs once; while other processes used more than `timing.noisy`% of a core, runs again
    (up to `retries` times) and keeps the quietest run."""
    best = run_once(sc, srv, timing, log)
    for _ in range(retries):
        if "failed" in best or (best.get("other_pct") or 0) <= timing.noisy:
            break
        log(f"{sc.key} {srv.name}: other processes used {best['other_pct']:.0f}% of a core; "
            f"running again")
        time.sleep(2)
        again = run_once(sc, srv, timing, log)
        if "failed" not in again and (again.get("other_pct") or 0) < (best.get("other_pct") or 0):
            best = again
    return best


# --- tables ----------------------------------------------------------------------------------


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec="{:,.0f}", none="–"):
    return none if v is None else spec.format(v)


def fmt_us(us):
    if us is None:
        return "–"
    return f"{us / 1000:,.1f} ms" if us >= 1000 else f"{us:,.0f} µs"


def fmt_ratio(peer, ours):
    if peer is None or not ours:
        return "–"
    return f"{peer / ours:.2f}x"


def summarize(runs: list[dict], keys: list[str]) -> dict:
    ok = [r for r in runs if "failed" not in r]
    out = {k: median([r.get(k) for r in ok]) for k in keys}
    out["rounds"] = len(ok)
    out["failed"] = [r["failed"] for r in runs if "failed" in r]
    out["errors"] = sum(r.get("errors", 0) for r in ok)
    out["first_error"] = next((r["first_error"] for r in ok if r.get("first_error")), None)
    out["other_pct"] = max(((r.get("other_pct") or 0) for r in ok), default=None)
    return out


def load_table(scenarios, servers, results) -> list[str]:
    """(a)-(e): rates, latency, server CPU per unit and the loader's CPU."""
    rows = [
        "| scenario | server | rate /s | MB/s | p50 | p99 | server µs/unit | cost vs duplex "
        "| rate vs duplex | server CPU | loader CPU | other CPU | errors |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    keys = ["rate", "mb_s", "p50_us", "p99_us", "server_us", "server_pct", "loader_pct"]
    for sc in scenarios:
        if sc.kind not in ("echo", "connect"):
            continue
        per = {s.name: summarize(results.get((sc.key, s.name), []), keys) for s in servers}
        ours = per.get("duplex", {})
        unit = "msg" if sc.kind == "echo" else "handshake"
        for s in servers:
            m = per[s.name]
            if not m["rounds"]:
                why = "; ".join(m["failed"]) or "not run"
                rows.append(f"| {sc.key}: {sc.title} | {s.name} | failed: {why} ||||||||||| |")
                continue
            loader = fmt(m["loader_pct"], "{:.0f}%")
            if (m["loader_pct"] or 0) >= 90:
                loader += " **loader-bound**"
            server_pct = fmt(m["server_pct"], "{:.0f}%")
            errors = str(m["errors"]) + (f" ({m['first_error']})" if m["first_error"] else "")
            rows.append(
                f"| {sc.key}: {sc.title} | {s.name} | {fmt(m['rate'])} "
                f"| {fmt(m['mb_s'], '{:,.1f}')} | {fmt_us(m['p50_us'])} | {fmt_us(m['p99_us'])} "
                f"| {fmt(m['server_us'], '{:,.2f}')} µs/{unit} "
                f"| {fmt_ratio(m['server_us'], ours.get('server_us'))} "
                f"| {fmt_ratio(m['rate'], ours.get('rate'))} "
                f"| {server_pct} | {loader} | {fmt(m['other_pct'], '{:.0f}%')} | {errors} |")
    return rows


def idle_table(scenarios, servers, results) -> list[str]:
    """(f): the server's resident memory per idle connection."""
    rows = [
        "| scenario | server | conns open | server RSS before → with them | bytes per conn "
        "| vs duplex | other CPU | errors |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    keys = ["opened", "bytes_per_conn", "rss_before", "rss_after"]
    for sc in scenarios:
        if sc.kind != "idle":
            continue
        per = {s.name: summarize(results.get((sc.key, s.name), []), keys) for s in servers}
        ours = per.get("duplex", {})
        for s in servers:
            m = per[s.name]
            if sc.deflate and not s.deflate:
                rows.append(f"| {sc.key}: {sc.title} | {s.name} | n/a: no permessage-deflate "
                            f"| | | | | |")
                continue
            if not m["rounds"]:
                why = "; ".join(m["failed"]) or "not run"
                rows.append(f"| {sc.key}: {sc.title} | {s.name} | failed: {why} | | | | | |")
                continue
            mib = lambda b: fmt(b / 2**20 if b is not None else None, "{:,.1f} MiB")
            errors = str(m["errors"]) + (f" ({m['first_error']})" if m["first_error"] else "")
            runs = [r for r in results.get((sc.key, s.name), []) if r.get("capped")]
            capped = f" ({runs[0]['capped']})" if runs else ""
            rows.append(
                f"| {sc.key}: {sc.title} | {s.name} | {fmt(m['opened'])}{capped} "
                f"| {mib(m['rss_before'])} → {mib(m['rss_after'])} "
                f"| {fmt(m['bytes_per_conn'])} "
                f"| {fmt_ratio(m['bytes_per_conn'], ours.get('bytes_per_conn'))} "
                f"| {fmt(m['other_pct'], '{:.0f}%')} | {errors} |")
    return rows


def broadcast_table(scenarios, servers, results) -> list[str]:
    """(g): deliveries per second through each server's broadcast, nothing lost."""
    rows = [
        "| scenario | server | deliveries/s | vs duplex | lost or out of order | p50 | p99 "
        "| p99 to read | server µs/delivery | server CPU | loader CPU | server RSS (peak) "
        "| next step up | errors |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|",
    ]
    keys = ["rate", "lost", "p50_us", "p99_us", "read_p99_us", "server_us", "server_pct",
            "loader_pct", "rss"]
    blank = " | | | | | | | | | | | |"
    for sc in scenarios:
        if sc.kind != "broadcast":
            continue
        ours = summarize(results.get((sc.key, "duplex"), []), keys)["rate"]
        for s in servers:
            if s.name not in RELAYS:
                rows.append(f"| {sc.key}: {sc.title} | {s.name} | n/a: no broadcast server{blank}")
                continue
            runs = results.get((sc.key, s.name), [])
            m = summarize(runs, keys)
            if not m["rounds"]:
                why = "; ".join(m["failed"]) or "not run"
                rows.append(f"| {sc.key}: {sc.title} | {s.name} | failed: {why}{blank}")
                continue
            errors = str(m["errors"]) + (f" ({m['first_error']})" if m["first_error"] else "")
            nexts = sorted({r["next"] for r in runs if r.get("next") and "failed" not in r})
            failed_all = sum(r.get("passed") is False for r in runs)
            if failed_all:  # rounds in which even the lowest step failed
                m["rate_note"] = (" (none passed)" if failed_all == len(runs) else
                                  f" (none passed in {failed_all} of {len(runs)} rounds)")
            rss = f"{m['rss'] / 2**20:,.1f} MiB" if m["rss"] else "–"
            rows.append(
                f"| {sc.key}: {sc.title} | {s.name} | {fmt(m['rate'])}{m.get('rate_note', '')} "
                f"| {fmt_ratio(m['rate'], ours)} | {fmt(m['lost'])} "
                f"| {fmt_us(m['p50_us'])} | {fmt_us(m['p99_us'])} | {fmt_us(m['read_p99_us'])} "
                f"| {fmt(m['server_us'], '{:,.2f}')} | {fmt(m['server_pct'], '{:.0f}%')} "
                f"| {fmt(m['loader_pct'], '{:.0f}%')} | {rss} | {'; '.join(nexts) or '–'} "
                f"| {errors} |")
    return rows


TABLES = [load_table, idle_table, broadcast_table]


# --- the machine -----------------------------------------------------------------------------


def machine() -> dict:
    info = {"kernel": platform.release()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for key in ("Model name", "CPU(s)", "Thread(s) per core", "CPU max MHz"):
            m = re.search(rf"^{re.escape(key)}:\s+(.+)$", lscpu, re.M)
            if m:
                info[key] = m.group(1).strip()
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        kb = int(f.readline().split()[1])
    info["memory"] = f"{kb / 2**20:.1f} GiB"
    return info


def versions() -> dict:
    v = {}
    lock = (PEERS / "Cargo.lock").read_text()
    for crate in ("tokio-tungstenite", "fastwebsockets", "tokio", "hyper"):
        m = re.search(rf'name = "{crate}"\nversion = "([^"]+)"', lock)
        v[crate] = m.group(1) if m else "?"
    for pkg in ("ws", "bufferutil", "@trufflesuite/uws-js-unofficial"):
        try:
            v[pkg] = json.loads((NODE / "node_modules" / pkg / "package.json").read_text())[
                "version"]
        except OSError:
            v[pkg] = "?"
    v["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    v["rustc"] = subprocess.run(["rustc", "--version"], capture_output=True,
                                text=True).stdout.strip()
    v["duplex"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                 capture_output=True, text=True).stdout.strip()
    return v


# --- main ------------------------------------------------------------------------------------


def build(log) -> None:
    steps = [
        (["cargo", "build", "--release", "-p", "duplex-cli"], ROOT),
        (["cargo", "build", "--release"], PEERS),
        (["npm", "ci", "--no-audit", "--no-fund"], NODE),
    ]
    for cmd, cwd in steps:
        log(f"build: {' '.join(cmd)}  (in {cwd.relative_to(ROOT) or '.'})")
        subprocess.run(cmd, cwd=cwd, check=True, stdout=sys.stderr)


def raise_nofile(log) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for target in ((NOFILE, NOFILE), (hard, hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, target)
            break
        except (ValueError, OSError):
            continue
    now = resource.getrlimit(resource.RLIMIT_NOFILE)
    log(f"open-file limit (soft/hard): {soft}/{hard} -> {now[0]}/{now[1]}, inherited by the "
        f"servers and the loader")
    if now[1] < NOFILE:
        log(f"warning: could not raise the hard limit to {NOFILE:,} (needs CAP_SYS_RESOURCE); "
            f"idle scenarios are capped at {now[0] - NOFILE_SPARE:,} connections")
    return now[0]


def render(scenarios, servers, results, meta) -> str:
    lines = []
    m = meta["machine"]
    v = meta["versions"]
    lines.append(f"Run {meta['started']} on {m.get('Model name', '?')}, {m.get('CPU(s)', '?')} "
                 f"CPUs ({m.get('Thread(s) per core', '?')} thread per core), {m['memory']}, "
                 f"Linux {m['kernel']}; duplex {v['duplex']}, {v['rustc']}.")
    lines.append("")
    lines.append(f"Peers: tokio-tungstenite {v['tokio-tungstenite']}, fastwebsockets "
                 f"{v['fastwebsockets']} (hyper {v['hyper']}), tokio {v['tokio']}; Node "
                 f"{v['node']} with ws {v['ws']} + bufferutil {v['bufferutil']}; uWebSockets.js "
                 f"{v.get('@trufflesuite/uws-js-unofficial', '?')} (the "
                 f"`@trufflesuite/uws-js-unofficial` package: uWebSockets' C++ core, callbacks "
                 f"in JavaScript).")
    lines.append("")
    lines.append(f"`{meta['command']}`: {meta['rounds']} round(s), {meta['timing']}; "
                 f"load average at start {meta['load_start']}, at end {meta['load_end']}; "
                 f"most CPU used by other processes during any run: {meta['other_max']}; "
                 f"open-file limit {meta['nofile']:,}.")
    lines.append("")
    for rerun in meta.get("reruns", []):
        lines += [f"Then, {rerun}.", ""]
    for table in TABLES:
        rows = table(scenarios, servers, results)
        if len(rows) > 2:
            lines += rows + [""]
    return "\n".join(lines).rstrip() + "\n"


def write_docs(block: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOCS.write_text(f"{head}{BEGIN}\n{block}{END}{tail}")


def run_hub(a) -> int:
    """The hub benchmark in the same mode as this run."""
    import hub  # imported here: bench/hub.py imports this module for machine() and raise_nofile()
    return hub.main_from_run(quick=a.quick, write_docs=a.write_docs, rounds=a.rounds)


def stop_on_sigterm(signum, frame):
    # Unwinds through the `with Running(...)` blocks, so the server and loader we started stop.
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=None, help="rounds (default 3; --quick: 1)")
    ap.add_argument("--quick", action="store_true",
                    help="1 short round, idle scenarios at a tenth of the connections")
    ap.add_argument("--scenarios", default=",".join(s.key for s in SCENARIOS),
                    help="comma-separated keys (default: all): " +
                         ", ".join(s.key for s in SCENARIOS))
    ap.add_argument("--servers", default=",".join(SERVERS), help="comma-separated (default: all)")
    ap.add_argument("--duration", type=float, help="seconds measured per run (default 5)")
    ap.add_argument("--warmup", type=float, help="seconds of warmup per run (default 2)")
    ap.add_argument("--noisy", type=float, default=25,
                    help="a run during which other processes used more than this %% of a core "
                         "is run again (default 25)")
    ap.add_argument("--retries", type=int, default=1,
                    help="how many times a noisy run is repeated, keeping the quietest")
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="SECS",
                    help="before each run, wait up to SECS for other processes to use less "
                         "than --noisy (default 0: don't wait)")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    ap.add_argument("--merge", action="store_true",
                    help="keep the other rows of bench/out/results.json: re-run only the chosen "
                         "scenarios and servers, then render every row")
    ap.add_argument("--render-only", action="store_true",
                    help="run nothing: render bench/out/results.json (with --write-docs, into "
                         "the docs)")
    ap.add_argument("--write-docs", action="store_true",
                    help="write the tables into docs/performance.md between the markers")
    ap.add_argument("--hub", action=argparse.BooleanOptionalAction, default=True,
                    help="run the hub benchmark (bench/hub.py) after the stack scenarios "
                         "(default: yes)")
    ap.add_argument("--only-hub", action="store_true",
                    help="run the hub benchmark only, not the stack scenarios")
    a = ap.parse_args()
    if a.only_hub:
        return run_hub(a)

    def log(msg):
        print(f"[{datetime.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)

    for tool in ("taskset", "cargo", "node", "npm"):
        if not shutil.which(tool):
            log(f"missing {tool}")
            return 2
    keys = [k.strip() for k in a.scenarios.split(",") if k.strip()]
    unknown = [k for k in keys if k not in {s.key for s in SCENARIOS}]
    names = [n.strip() for n in a.servers.split(",") if n.strip()]
    unknown += [n for n in names if n not in SERVERS]
    if unknown:
        log(f"unknown scenario or server: {', '.join(unknown)}")
        return 2
    scenarios = [s for s in SCENARIOS if s.key in keys]
    servers = [SERVERS[n] for n in SERVERS if n in names]
    base = QUICK if a.quick else FULL
    timing = dataclasses.replace(base, duration=a.duration or base.duration,
                                 warmup=a.warmup if a.warmup is not None else base.warmup,
                                 noisy=a.noisy, wait_quiet=a.wait_quiet)
    rounds = a.rounds or (1 if a.quick else 3)

    OUT.mkdir(exist_ok=True)
    saved = None
    if a.merge or a.render_only:
        saved = json.loads((OUT / "results.json").read_text())
        saved["results"] = {tuple(k.split("/", 1)): v for k, v in saved["results"].items()}
    if a.render_only:
        block = render(SCENARIOS, list(SERVERS.values()), saved["results"], saved["meta"])
        print(block)
        if a.write_docs:
            write_docs(block)
            log(f"wrote {DOCS.relative_to(ROOT)}")
        return 0
    if not a.no_build:
        build(log)
    nofile = raise_nofile(log)
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    log(f"load average {load_start}; server on CPU {SERVER_CPU}, loader on CPU {LOADER_CPU}")
    if os.getloadavg()[0] > 0.5:
        log("warning: the machine is not quiet; see 'other CPU' in the results")

    results: dict[tuple[str, str], list[dict]] = {}
    for sc in scenarios:
        for rnd in range(rounds):
            # Rotate the order every round, so no server always runs first (cold caches) or
            # right after the same neighbour (TIME_WAIT sockets, freed memory).
            order = servers[rnd % len(servers):] + servers[:rnd % len(servers)]
            for srv in order:
                if sc.deflate and not srv.deflate:
                    continue
                if sc.kind == "broadcast" and srv.name not in RELAYS:
                    continue
                r = run_quietest(sc, srv, timing, a.retries, log)
                results.setdefault((sc.key, srv.name), []).append(r)
                brief = {k: v for k, v in r.items() if k not in ("raw",)}
                log(f"{sc.key} round {rnd + 1}/{rounds} {srv.name}: {json.dumps(brief)}")
                time.sleep(1)  # let the loopback settle (closing sockets, freed memory)

    other_max = max(((r.get("other_pct") or 0) for runs in results.values() for r in runs
                     if "failed" not in r), default=0)
    meta = {
        "started": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "command": "python3 bench/run.py " + " ".join(sys.argv[1:]),
        "rounds": rounds,
        "timing": (f"{timing.duration:g} s measured after {timing.warmup:g} s warmup per run, "
                   f"idle connections held {timing.hold:g} s"),
        "nofile": nofile,
        "load_start": load_start,
        "load_end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "other_max": f"{other_max:.0f}% of a core",
        "machine": machine(),
        "versions": versions(),
    }
    if saved is not None:  # --merge: this run's rows replace the saved ones
        meta["reruns"] = saved["meta"].get("reruns", []) + [
            f"at {meta['started']}, with duplex {meta['versions']['duplex']}, "
            f"`{meta['command']}` ran {', '.join(keys)} again on {', '.join(names)}; those "
            f"rows are from that run"]
        meta["versions"] = saved["meta"]["versions"]
        meta["command"] = saved["meta"]["command"]
        meta["rounds"] = saved["meta"]["rounds"]
        meta["started"] = saved["meta"]["started"]
        meta["load_start"] = saved["meta"]["load_start"]
        results = saved["results"] | results
        scenarios, servers = SCENARIOS, list(SERVERS.values())
    (OUT / "results.json").write_text(json.dumps(
        {"meta": meta, "results": {f"{k[0]}/{k[1]}": v for k, v in results.items()}},
        indent=1, default=str))
    block = render(scenarios, servers, results, meta)
    print(block)
    if a.write_docs:
        write_docs(block)
        log(f"wrote {DOCS.relative_to(ROOT)}")
    return run_hub(a) if a.hub else 0


if __name__ == "__main__":
    sys.exit(main())
