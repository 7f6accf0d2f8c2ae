#!/usr/bin/env python3
"""Hub benchmark (issue 22): duplex's real-time hub against Sockudo, Socket.IO and uWebSockets
pub/sub, through each one's own protocol, with every delivery checked (once, in order).

bench/run.py measures the WebSocket stack; this measures what is built on it, the way people
choose a real-time server: deliveries per core, what a connected user costs, how fast a crowd
comes back. For each scenario and round every server is started afresh (bench/hub_servers.py)
pinned to CPU 0 and driven by `duplex bench hub` pinned to CPU 1; servers take turns in an order
that rotates every round, and the tables show medians over rounds.

  h1     one channel, many subscribers, publications at rising rates until a rung fails
  h2     many clients x 5 of many channels, rising rates: a fixed rate, then the highest passing
  h3     idle clients with 5 subscriptions: server memory per client
  h4     connect + token + subscribe per second; duplex only: a mass reconnect on SQLite
  h5     publish latency to 1,000 subscribers at a modest rate, memory and SQLite engines
  cores  h1 and h2 for duplex with two threads against one

    python3 bench/hub.py --quick --servers duplex,uws --scenarios h1,h3
    python3 bench/hub.py --write-docs     # tables into docs/performance.md, charts to docs/images

Raw results go to bench/out/hub-results.json, charts to bench/out/ (docs/images with
--write-docs). Standard library only.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chart  # noqa: E402
import hub_servers  # noqa: E402
import run as stack_bench  # noqa: E402  (machine(), raise_nofile(): one definition for both)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DOCS = ROOT / "docs" / "performance.md"
IMAGES = ROOT / "docs" / "images"
SERVER_CPU = "0"
LOADER_CPU = "1"
BEGIN = "<!-- bench/hub.py: begin (generated, do not edit by hand) -->"
END = "<!-- bench/hub.py: end -->"
SCENARIOS = ("h1", "h2", "h3", "h4", "h5", "cores")
# One address gives ~28k ephemeral ports per destination; four leave room at 10,000 clients
# reconnecting while the old sockets sit in TIME_WAIT.
SOURCE_IPS = "127.0.0.1-127.0.0.4"
P99_LIMIT_US = 1_000_000  # the "p99 under 1 s"
RATE_SHORTFALL = 0.9  # a server that cannot take 90% of the offered rate has saturated
REFERENCE = "duplex"  # the row the ratios compare against


@dataclasses.dataclass(frozen=True)
class Setup:
    """One row of a table: a server from hub_servers, and how it is run."""

    key: str
    server: str
    engine: str | None = None  # None: hub_servers' default (memory)
    threads: int = 1
    pinned: bool = True

    def describe(self) -> str:
        parts = [self.server]
        if self.engine:
            parts.append(f"{self.engine} engine")
        if self.threads != 1 or not self.pinned:
            parts.append(f"{self.threads} threads, {'pinned' if self.pinned else 'unpinned'}")
        return ", ".join(parts)


DUPLEX_SQLITE = Setup("duplex-sqlite", "duplex", engine="sqlite")
DUPLEX_ONE_CORE = Setup("duplex, 1 thread", "duplex")
DUPLEX_TWO_CORES = Setup("duplex, 2 threads", "duplex", threads=2, pinned=False)


@dataclasses.dataclass(frozen=True)
class Settings:
    duration: float
    warmup: float
    hold: float
    h1_clients: int
    h1_ladder: tuple[int, ...]
    h2_clients: int
    h2_channels: int
    h2_ladder: tuple[int, ...]
    idle_clients: int
    idle_channels: int
    connect_duration: float
    reconnect_clients: int
    reconnect_channels: int
    reconnect_subs: int
    h5_clients: int
    h5_rate: int
    size: int = 100
    subs_per_client: int = 5


FULL = Settings(duration=5, warmup=2, hold=3,
                h1_clients=10_000, h1_ladder=(5, 10, 20, 50, 100, 200, 400, 800),
                h2_clients=10_000, h2_channels=1_000,
                h2_ladder=(200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 40_000),
                idle_clients=10_000, idle_channels=1_000, connect_duration=5,
                reconnect_clients=10_000, reconnect_channels=1_000, reconnect_subs=5,
                h5_clients=1_000, h5_rate=100)
QUICK = Settings(duration=1, warmup=0.5, hold=1,
                 h1_clients=1_000, h1_ladder=(50, 200, 800, 3_000),
                 h2_clients=1_000, h2_channels=100, h2_ladder=(200, 1_000, 4_000, 16_000),
                 idle_clients=1_000, idle_channels=100, connect_duration=1,
                 reconnect_clients=1_000, reconnect_channels=100, reconnect_subs=5,
                 h5_clients=1_000, h5_rate=100)


def log(message: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] hub: {message}", file=sys.stderr, flush=True)


# --- servers and the loader ------------------------------------------------------------------


def start(setup: Setup) -> hub_servers.Started:
    return hub_servers.start(setup.server, hub_servers.free_port(),
                             cpu=SERVER_CPU if setup.pinned else None, threads=setup.threads,
                             engine=setup.engine or "memory")


def run_loader(kind: str, server: hub_servers.Started, args: list[str], timeout: float) -> dict:
    """One `duplex bench hub KIND` run against a started server. Never raises: a loader that
    exits non-zero still printed its JSON (lost deliveries are a result, not a crash), and a
    timeout, a missing JSON line or a dead server come back as {"failed": why}."""
    cmd = ["taskset", "-c", LOADER_CPU, str(hub_servers.DUPLEX_BIN), "-q", "bench", "hub", kind,
           "--json", "--hub-protocol", server.protocol, "--url", server.ws_url,
           "--publish-url", server.publish_url, "--server-pid", str(server.pid),
           *server.loader_args, *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"failed": f"loader timed out after {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else None
    except ValueError:
        result = None
    if server.proc.poll() is not None:
        return {"failed": f"server exited with {server.proc.returncode}: "
                          f"{server.log_tail(3).strip()[-300:]}", **(result or {})}
    if not isinstance(result, dict):
        return {"failed": f"loader exited with {done.returncode} and no JSON: "
                          f"{done.stderr.strip()[-300:]}"}
    result["exit_code"] = done.returncode
    return result


def run_on_fresh_server(setup: Setup, kind: str, args: list[str], timeout: float,
                        extra=None) -> dict:
    """Starts the server, runs the loader once, stops the server: no run inherits another's
    sockets, memory or history. `extra(server)` adds arguments that need the running server."""
    try:
        server = start(setup)
    except Exception as error:  # a server that cannot start fails this run, not the benchmark
        return {"failed": f"start: {str(error)[-300:]}"}
    with server:
        return run_loader(kind, server, args + (extra(server) if extra else []), timeout)


def common_args(clients: int) -> list[str]:
    return ["--clients", str(clients)] + (["--source-ips", SOURCE_IPS] if clients > 5_000 else [])


def open_time(clients: int) -> float:
    """Generous: opening 10,000 authenticated clients takes seconds on a loaded core."""
    return 60 + clients / 200


# --- scenarios -------------------------------------------------------------------------------


def rung_failure(result: dict, rate: int, saturated_counts: bool = False) -> str | None:
    """Why a rung of the ladder does not count (None: it passed). With `saturated_counts`, a
    server that took less than the offered rate but delivered everything it took, in time,
    passes: that rung measures its ceiling, the issue's "highest deliveries/s with nothing lost
    and p99 under 1 s"."""
    if "failed" in result:
        return result["failed"]
    for key in ("lost", "duplicated", "out_of_order", "errors", "publish_failed"):
        if result.get(key):
            return f"{key} {result[key]:,}" + (
                f" ({result['first_error']})" if key == "errors" and result.get("first_error")
                else "")
    p99 = (result.get("latency_us") or {}).get("p99")
    if p99 is None or p99 > P99_LIMIT_US:
        return f"p99 {fmt_ms(p99)}"
    if not saturated_counts and (result.get("publish_rate") or 0) < RATE_SHORTFALL * rate:
        return f"published {result.get('publish_rate', 0):,.0f}/s of {rate:,}/s"
    return None


def climb(setup: Setup, s: Settings, clients: int, channels: int, subs: int,
          ladder: tuple[int, ...]) -> dict:
    """Fan-out at each rate of the ladder until one fails; returns every rung and the best."""
    rungs = []
    for rate in ladder:
        args = common_args(clients) + [
            "--channels", str(channels), "--subs-per-client", str(subs), "--rate", str(rate),
            "--size", str(s.size), "--duration", str(s.duration), "--warmup", str(s.warmup)]
        result = run_on_fresh_server(setup, "fanout", args,
                                     open_time(clients) + s.duration + s.warmup)
        why = rung_failure(result, rate)
        rungs.append({"rate": rate, "passed": why is None, "why": why,
                      "clean": rung_failure(result, rate, saturated_counts=True) is None,
                      "deliveries_per_s": result.get("deliveries_per_s"),
                      "p99_us": (result.get("latency_us") or {}).get("p99"),
                      "server_cpu_us_per_delivery": result.get("server_cpu_us_per_delivery"),
                      "raw": result})
        log(f"  {setup.key} {rate:,}/s: {result.get('deliveries_per_s') or 0:,.0f} deliveries/s, "
            f"p99 {fmt_ms(rungs[-1]['p99_us'])}" + (f" — FAILED: {why}" if why else ""))
        if why:
            break
    passing = [rung for rung in rungs if rung["passed"]]
    clean = [rung for rung in rungs if rung["clean"]]
    return {"rungs": rungs,
            "best": max(passing, key=lambda r: r["deliveries_per_s"] or 0) if passing else None,
            "peak": max(clean, key=lambda r: r["deliveries_per_s"] or 0) if clean else None}


def run_h1(setup: Setup, s: Settings) -> dict:
    return climb(setup, s, s.h1_clients, 1, 1, s.h1_ladder)


def run_h2(setup: Setup, s: Settings) -> dict:
    return climb(setup, s, s.h2_clients, s.h2_channels, s.subs_per_client, s.h2_ladder)


def run_h3(setup: Setup, s: Settings) -> dict:
    args = common_args(s.idle_clients) + [
        "--channels", str(s.idle_channels), "--subs-per-client", str(s.subs_per_client),
        "--hold", str(s.hold)]
    return run_on_fresh_server(setup, "idle", args, open_time(s.idle_clients) + s.hold)


def run_h4(setup: Setup, s: Settings) -> dict:
    connect = run_on_fresh_server(setup, "connect", [
        "--concurrency", "16", "--subs-per-client", "1", "--duration", str(s.connect_duration),
        "--warmup", str(min(1.0, s.warmup))], 60 + s.connect_duration)
    result = {"connect": connect}
    if setup.server == "duplex":  # only duplex speaks Centrifugo's recovery
        def metrics(server):
            return ["--metrics-url", f"http://{hub_servers.HOST}:{server.port}/metrics"]
        result["reconnect"] = run_on_fresh_server(
            dataclasses.replace(setup, engine="sqlite"), "reconnect",
            common_args(s.reconnect_clients) + [
                "--channels", str(s.reconnect_channels),
                "--subs-per-client", str(s.reconnect_subs), "--missed", "100",
                "--open-concurrency", "1000"],
            3 * open_time(s.reconnect_clients) + 60, extra=metrics)
    return result


def run_h5(setup: Setup, s: Settings) -> dict:
    args = common_args(s.h5_clients) + [
        "--channels", "1", "--rate", str(s.h5_rate), "--size", str(s.size),
        "--duration", str(s.duration), "--warmup", str(s.warmup)]
    return run_on_fresh_server(setup, "fanout", args,
                               open_time(s.h5_clients) + s.duration + s.warmup)


def run_cores(setup: Setup, s: Settings) -> dict:
    log("  cores, H1:")
    h1 = run_h1(setup, s)
    log("  cores, H2:")
    return {"h1": h1, "h2": run_h2(setup, s)}


RUNNERS = {"h1": run_h1, "h2": run_h2, "h3": run_h3, "h4": run_h4, "h5": run_h5,
           "cores": run_cores}


def setups_for(scenario: str, servers: list[str]) -> list[Setup]:
    if scenario == "cores":
        return [DUPLEX_ONE_CORE, DUPLEX_TWO_CORES] if "duplex" in servers else []
    rows = [Setup(name, name) for name in servers]
    if scenario == "h5" and "duplex" in servers:
        rows.insert(servers.index("duplex") + 1, DUPLEX_SQLITE)
    return rows


# --- summaries -------------------------------------------------------------------------------


median = stack_bench.median


def dig(result, *path):
    for key in path:
        if not isinstance(result, dict):
            return None
        result = result.get(key)
    return result


def ladder_summary(rounds: list[dict]) -> dict:
    """Medians over rounds: per rate (for the charts) and of each round's best passing rung."""
    rates = sorted({rung["rate"] for r in rounds for rung in r["rungs"]})
    per_rate = {}
    for rate in rates:
        rungs = [rung for r in rounds for rung in r["rungs"] if rung["rate"] == rate]
        per_rate[rate] = {
            "deliveries_per_s": median([rung["deliveries_per_s"] for rung in rungs]),
            "p99_us": median([rung["p99_us"] for rung in rungs]),
            "passed": sum(rung["passed"] for rung in rungs), "runs": len(rungs),
            "why": next((rung["why"] for rung in rungs if rung["why"]), None)}
    bests = [r["best"] for r in rounds]
    passing = [b for b in bests if b]
    return {
        "per_rate": per_rate,
        "best_deliveries_per_s": median([b["deliveries_per_s"] for b in passing]),
        "best_rate": median([b["rate"] for b in passing]),
        "best_p99_us": median([b["p99_us"] for b in passing]),
        "best_cpu_us": median([b["server_cpu_us_per_delivery"] for b in passing]),
        "peak_deliveries_per_s": median([dig(r, "peak", "deliveries_per_s") for r in rounds]),
        "peak_p99_us": median([dig(r, "peak", "p99_us") for r in rounds]),
        "rounds_with_a_pass": len(passing), "rounds": len(rounds),
        "stopped_by": next((rung["why"] for r in rounds for rung in r["rungs"] if rung["why"]),
                           None),
    }


def failures(rounds: list[dict], path=()) -> str | None:
    for r in rounds:
        why = dig(r, *path, "failed") if path else r.get("failed")
        if why:
            return why
    return None


# The stack benchmark's formats, so both tables read alike.
fmt = stack_bench.fmt
fmt_ms = stack_bench.fmt_us


def fmt_ratio(numerator, denominator):
    if not numerator or not denominator:
        return "–"
    return f"{numerator / denominator:,.1f}x"


# --- tables ----------------------------------------------------------------------------------


def cell(text: str) -> str:
    """A table cell: error messages carry newlines and pipes, which would break the table."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= 90 else text[:89] + "…"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows])


def ladder_table(key, title, results, setups, s: Settings, fixed_rate=None) -> list[str]:
    summaries = {setup.key: ladder_summary(results[key][setup.key])
                 for setup in setups if results.get(key, {}).get(setup.key)}
    reference = summaries.get(REFERENCE, {}).get("peak_deliveries_per_s")
    header = ["server"]
    if fixed_rate:
        header += [f"deliveries/s at {fixed_rate:,}/s", f"p99 at {fixed_rate:,}/s"]
    header += ["highest passing rate", "deliveries/s there", "p99 there",
               "server µs CPU/delivery", "most deliveries/s, nothing lost", "p99 there",
               f"{REFERENCE} ÷ this", "stopped by"]
    rows = []
    notes = []
    for setup in setups:
        summary = summaries.get(setup.key)
        if summary is None:
            rows.append([setup.key] + ["n/a"] * (len(header) - 1))
            continue
        row = [setup.key]
        if fixed_rate:
            at = summary["per_rate"].get(fixed_rate, {})
            row += [fmt(at.get("deliveries_per_s")), fmt_ms(at.get("p99_us"))]
        best = summary["best_deliveries_per_s"]
        row += [fmt(summary["best_rate"], "{:,.0f}/s"), fmt(best), fmt_ms(summary["best_p99_us"]),
                fmt(summary["best_cpu_us"], "{:.2f}"), fmt(summary["peak_deliveries_per_s"]),
                fmt_ms(summary["peak_p99_us"]),
                "–" if setup.key == REFERENCE
                else fmt_ratio(reference, summary["peak_deliveries_per_s"]),
                summary["stopped_by"] or f"passed every rung (to {max(summary['per_rate']):,}/s)"]
        rows.append(row)
        if summary["rounds_with_a_pass"] < summary["rounds"]:
            notes.append(f"{setup.key}: {summary['rounds'] - summary['rounds_with_a_pass']} of "
                         f"{summary['rounds']} round(s) passed no rung.")
    lines = [f"**{title}**", ""] + table(header, rows) + [
        "", "\"Highest passing rate\": the last rung where the server also took the offered "
            "rate. \"Most deliveries/s, nothing lost\" also counts the rung where it saturated "
            "(took less than offered, as the one publish stream per channel waits for each "
            "answer) but delivered all it took, in order, with p99 under 1 s: the issue's "
            "measure, and the one the ratio uses."]
    if notes:
        lines += [""] + notes
    return lines


def h3_table(results, setups, s: Settings) -> list[str]:
    rounds = results.get("h3", {})
    values = {key: median([r.get("bytes_per_client") for r in runs if "failed" not in r])
              for key, runs in rounds.items()}
    reference = values.get(REFERENCE)
    rows = []
    for setup in setups:
        runs = rounds.get(setup.key)
        if not runs:
            rows.append([setup.key, "n/a", "n/a", "n/a", ""])
            continue
        value = values[setup.key]
        rows.append([setup.key, fmt(value / 1024 if value else None, "{:,.1f} KB"),
                     fmt(median([r.get("joined") for r in runs])),
                     "–" if setup.key == REFERENCE else fmt_ratio(value, reference),
                     failures(runs) or ""])
    return [f"**H3 — server memory per idle client**, {s.idle_clients:,} clients x "
            f"{s.subs_per_client} subscriptions over {s.idle_channels:,} channels "
            f"(RSS growth ÷ clients)", ""] + table(
        ["server", "memory per client", "clients joined", f"this ÷ {REFERENCE}", "failed"], rows)


def h4_tables(results, setups, s: Settings) -> list[str]:
    rounds = results.get("h4", {})
    joins = {key: median([dig(r, "connect", "joins_per_s") for r in runs])
             for key, runs in rounds.items()}
    reference = joins.get(REFERENCE)
    rows = []
    for setup in setups:
        runs = rounds.get(setup.key)
        if not runs:
            rows.append([setup.key] + ["n/a"] * 5)
            continue
        rows.append([setup.key, fmt(joins[setup.key]),
                     fmt_ms(median([dig(r, "connect", "latency_us", "p99") for r in runs])),
                     fmt(median([dig(r, "connect", "server_cpu_us_per_client") for r in runs]),
                         "{:,.0f}"),
                     "–" if setup.key == REFERENCE else fmt_ratio(reference, joins[setup.key]),
                     failures(runs, ("connect",)) or ""])
    lines = [f"**H4 — connect, authenticate and subscribe**, 16 at a time, "
             f"{s.connect_duration:g} s measured", ""] + table(
        ["server", "joins/s", "p99 join", "server µs CPU/join", f"{REFERENCE} ÷ this", "failed"],
        rows)
    reconnects = [r["reconnect"] for r in rounds.get(REFERENCE, []) if "reconnect" in r]
    if reconnects:
        ok = [r for r in reconnects if "failed" not in r]
        reads = median([r.get("engine_reads") for r in ok])
        row = [REFERENCE + " (SQLite engine)",
               fmt(median([r.get("recovered_clients") for r in ok])),
               fmt(median([r.get("all_recovered_s") for r in ok]), "{:.2f} s"),
               fmt_ms(median([dig(r, "recovered_after_us", "p99") for r in ok])),
               fmt(reads), fmt(reads / s.reconnect_channels if reads is not None else None,
                               "{:.2f}"),
               fmt(median([r.get("server_cpu_s") for r in ok]), "{:.2f} s"),
               failures(reconnects) or ""]
        lines += ["", f"**H4 — mass reconnect**: {s.reconnect_clients:,} clients x "
                      f"{s.reconnect_subs} subscriptions over {s.reconnect_channels:,} channels, "
                      f"each missed 100 publications per channel; Centrifugo protocol only "
                      f"(the peers have no recovery: n/a)", ""]
        lines += table(["server", "clients recovered", "all recovered after",
                        "p99 recovered after", "engine reads", "reads per channel",
                        "server CPU", "failed"], [row])
    return lines


def h5_table(results, setups, s: Settings) -> list[str]:
    rounds = results.get("h5", {})
    rows = []
    for setup in setups:
        runs = rounds.get(setup.key)
        if not runs:
            rows.append([setup.key] + ["n/a"] * 7)
            continue
        ok = [r for r in runs if "failed" not in r]
        rows.append([setup.describe() if setup.engine else setup.key] + [
            fmt_ms(median([dig(r, "latency_us", p) for r in ok])) for p in ("p50", "p99", "p999")
        ] + [fmt(median([r.get("publish_rate") for r in ok]), "{:,.0f}/s"),
             fmt(median([r.get("deliveries_per_s") for r in ok])),
             fmt(sum((r.get("lost") or 0) + (r.get("out_of_order") or 0) for r in ok)),
             failures(runs) or ""])
    return [f"**H5 — publish latency through the server API**: {s.h5_clients:,} subscribers "
            f"of one channel, {s.h5_rate}/s, {s.size} B (from the publish request to the "
            f"subscriber's kernel receive time)", ""] + table(
        ["server", "p50", "p99", "p99.9", "publications taken", "deliveries/s",
         "lost or out of order", "failed"], rows) + [
        "", "A server that takes fewer publications than offered answers each publish request "
            "more slowly than the rate allows (one publish stream per channel)."]


def cores_table(results, s: Settings) -> list[str]:
    rounds = results.get("cores", {})
    if not rounds:
        return []
    rows = []
    bests = {}
    for setup in (DUPLEX_ONE_CORE, DUPLEX_TWO_CORES):
        runs = rounds.get(setup.key, [])
        row = [setup.key]
        for part in ("h1", "h2"):
            summary = ladder_summary([r[part] for r in runs]) if runs else None
            best = summary["peak_deliveries_per_s"] if summary else None
            bests[(setup.key, part)] = best
            row += [fmt(best), fmt_ms(summary["peak_p99_us"]) if summary else "n/a"]
        rows.append(row)
    rows.append(["two ÷ one"] + [
        fmt_ratio(bests[(DUPLEX_TWO_CORES.key, p)], bests[(DUPLEX_ONE_CORE.key, p)]) if i == 0
        else "" for p in ("h1", "h2") for i in range(2)])
    return [f"**Cores — duplex with two threads against one**: H1 ({s.h1_clients:,} subscribers) "
            f"and H2 ({s.h2_clients:,} clients), most deliveries/s with nothing lost and p99 under "
            f"1 s", ""] + table(
        ["duplex", "H1 deliveries/s", "H1 p99", "H2 deliveries/s", "H2 p99"], rows) + [
        "", "With two threads the server is not pinned, and this machine has "
            f"{os.cpu_count()} cores: the loader (pinned to CPU {LOADER_CPU}) shares a core with "
            "the server, so two threads get less than two cores and the ratio understates the "
            "scaling."]


def render(results, meta, s: Settings, servers: list[str]) -> str:
    m = meta["machine"]
    lines = [f"Hub run {meta['started']} UTC on {m.get('Model name', '?')}, "
             f"{m.get('CPU(s)', '?')} CPUs, {m['memory']}, Linux {m['kernel']}; "
             f"duplex {meta['commit']}. `{meta['command']}`: {meta['rounds']} round(s), "
             f"{s.duration:g} s measured after {s.warmup:g} s warmup per run, medians over rounds; "
             f"server pinned to CPU {SERVER_CPU}, loader (`duplex bench hub`) to CPU {LOADER_CPU}; "
             f"a fresh server per run; open-file limit {meta['nofile']:,}.", "",
             "Servers:", ""]
    lines += [f"- **{name}**: {meta['labels'].get(name, '?')}" for name in servers]
    lines += ["", "A rung of a rate ladder passes when nothing is lost, duplicated or out of "
                  f"order, no error, p99 ≤ {P99_LIMIT_US // 1_000_000} s and the server took at "
                  f"least {RATE_SHORTFALL:.0%} of the offered publication rate. Centrifugo itself "
                  "cannot be built here: its published figures are about 27 KB per idle "
                  "connection by default (11 KB tuned), and 1M connections with 500k "
                  "deliveries/s on 40 cores with Redis.", ""]
    if "h1" in results:
        lines += ladder_table("h1", f"H1 — one channel, {s.h1_clients:,} subscribers, {s.size} B, "
                              f"rates {', '.join(f'{r:,}' for r in s.h1_ladder)}/s",
                              results, setups_for("h1", servers), s) + [
            "", "![H1 deliveries/s](images/bench-hub-h1-deliveries.svg) "
                "![H1 p99](images/bench-hub-h1-p99.svg)", ""]
    if "h2" in results:
        lines += ladder_table("h2", f"H2 — {s.h2_clients:,} clients x {s.subs_per_client} of "
                              f"{s.h2_channels:,} channels, {s.size} B, rates "
                              f"{', '.join(f'{r:,}' for r in s.h2_ladder)}/s",
                              results, setups_for("h2", servers), s,
                              fixed_rate=s.h2_ladder[1]) + [
            "", "![H2 deliveries/s](images/bench-hub-h2-deliveries.svg) "
                "![H2 p99](images/bench-hub-h2-p99.svg)", ""]
    if "h3" in results:
        lines += h3_table(results, setups_for("h3", servers), s) + [""]
    if "h4" in results:
        lines += h4_tables(results, setups_for("h4", servers), s) + [""]
    if "h5" in results:
        lines += h5_table(results, setups_for("h5", servers), s) + [""]
    if "cores" in results:
        lines += cores_table(results, s) + [""]
    return "\n".join(lines).rstrip() + "\n"


# --- charts ----------------------------------------------------------------------------------


def ladder_series(rounds_by_setup: dict[str, list[dict]], metric: str, scale: float = 1.0):
    series = {}
    for key, rounds in rounds_by_setup.items():
        summary = ladder_summary(rounds)
        series[key] = [(rate, (v[metric] or 0) * scale) for rate, v in summary["per_rate"].items()]
    return series


def draw_charts(results, s: Settings, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    charts = {}
    for key, what in (("h1", f"H1: one channel, {s.h1_clients:,} subscribers"),
                      ("h2", f"H2: {s.h2_clients:,} clients x {s.subs_per_client} of "
                             f"{s.h2_channels:,} channels")):
        if key in results:
            charts[key] = (what, results[key])
    for part in ("h1", "h2"):
        if "cores" in results:
            charts[f"cores-{part}"] = (f"Cores, {part.upper()}: duplex, 2 threads vs 1", {
                key: [r[part] for r in rounds] for key, rounds in results["cores"].items()})
    written = []
    for name, (what, by_setup) in charts.items():
        for metric, label, scale, suffix in (
                ("deliveries_per_s", "deliveries/s", 1.0, "deliveries"),
                ("p99_us", "p99 latency (ms)", 0.001, "p99")):
            svg = chart.line_chart(f"{what} — {label}", "publications/s offered (log)",
                                   f"{label} (log)", ladder_series(by_setup, metric, scale),
                                   note="drawn by bench/hub.py; each line ends at the rung "
                                        "where that server failed")
            path = folder / f"bench-hub-{name}-{suffix}.svg"
            path.write_text(svg)
            written.append(path)
    return written


# --- main ------------------------------------------------------------------------------------


def write_docs(block: str) -> bool:
    text = DOCS.read_text() if DOCS.exists() else ""
    if BEGIN not in text or END not in text:
        log(f"{DOCS.relative_to(ROOT)} has no hub markers: add the two lines\n    {BEGIN}\n    "
            f"{END}\nwhere the hub tables belong (the table is on stdout and in "
            f"bench/out/hub-results.json)")
        return False
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOCS.write_text(f"{head}{BEGIN}\n{block}{END}{tail}")
    return True


def git_commit() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                          capture_output=True, text=True).stdout.strip() or "?"


def stop_on_sigterm(signum, frame):
    # Unwinds through the `with server:` blocks, so the servers we started are stopped.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="1 short round at 1,000 clients: does everything work?")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help=f"comma-separated (default: all): {', '.join(SCENARIOS)}")
    ap.add_argument("--servers", default=",".join(hub_servers.SERVERS),
                    help=f"comma-separated (default: all): {', '.join(hub_servers.SERVERS)}")
    ap.add_argument("--rounds", type=int, help="rounds (default 3; --quick: 1)")
    ap.add_argument("--write-docs", action="store_true",
                    help="write the tables into docs/performance.md and the charts to docs/images")
    a = ap.parse_args(argv)
    scenarios = [k.strip() for k in a.scenarios.split(",") if k.strip()]
    servers = [n.strip() for n in a.servers.split(",") if n.strip()]
    unknown = [k for k in scenarios if k not in SCENARIOS]
    unknown += [n for n in servers if n not in hub_servers.SERVERS]
    if unknown:
        log(f"unknown scenario or server: {', '.join(unknown)}")
        return 2
    # Keep the documented order, whatever order they were asked in.
    scenarios = [k for k in SCENARIOS if k in scenarios]
    servers = [n for n in hub_servers.SERVERS if n in servers]
    settings = QUICK if a.quick else FULL
    rounds = a.rounds or (1 if a.quick else 3)
    signal.signal(signal.SIGTERM, stop_on_sigterm)

    needed = sorted({setup.server for k in scenarios for setup in setups_for(k, servers)})
    labels = hub_servers.prepare(needed, log=log)
    nofile = stack_bench.raise_nofile(log)
    started = datetime.datetime.now(datetime.timezone.utc)
    log(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; scenarios "
        f"{', '.join(scenarios)}; servers {', '.join(servers)}; {rounds} round(s)")

    results: dict[str, dict[str, list]] = {}
    for scenario in scenarios:
        setups = setups_for(scenario, servers)
        for round_index in range(rounds):
            # Rotate, so no server always runs first (cold caches) or after the same neighbour.
            shift = round_index % max(1, len(setups))
            for setup in setups[shift:] + setups[:shift]:
                log(f"{scenario} round {round_index + 1}/{rounds}: {setup.describe()}")
                outcome = RUNNERS[scenario](setup, settings)
                results.setdefault(scenario, {}).setdefault(setup.key, []).append(outcome)
                if isinstance(outcome, dict) and outcome.get("failed"):
                    log(f"  {setup.key} failed: {outcome['failed']}")
                time.sleep(1)  # let closing sockets and freed memory settle

    meta = {"started": started.strftime("%Y-%m-%d %H:%M"), "commit": git_commit(),
            "command": "python3 bench/hub.py " + " ".join(argv if argv is not None
                                                            else sys.argv[1:]),
            "rounds": rounds, "quick": a.quick, "nofile": nofile, "labels": labels,
            "machine": stack_bench.machine(), "settings": dataclasses.asdict(settings)}
    OUT.mkdir(exist_ok=True)
    (OUT / "hub-results.json").write_text(json.dumps({"meta": meta, "results": results},
                                                     indent=1, default=str))
    block = render(results, meta, settings, servers)
    print(block)
    charts = draw_charts(results, settings, IMAGES if a.write_docs else OUT)
    log(f"charts: {', '.join(str(p.relative_to(ROOT)) for p in charts) or 'none'}")
    if a.write_docs and write_docs(block):
        log(f"wrote {DOCS.relative_to(ROOT)}")
    return 0


def main_from_run(quick: bool, write_docs: bool, rounds: int | None = None) -> int:
    """bench/run.py's entry: the hub scenarios after the stack ones, in the same mode."""
    return main((["--quick"] if quick else []) + (["--write-docs"] if write_docs else [])
                + (["--rounds", str(rounds)] if rounds else []))


if __name__ == "__main__":
    sys.exit(main())
