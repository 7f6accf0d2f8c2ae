#!/usr/bin/env python3
"""A/B runs: several server commands under the same `duplex bench` load, alternating.

`run.py` compares duplex with its peers; this compares any server commands with each other,
typically two builds of duplex (before and after a change) and a peer as a control. Each round
starts every server afresh (pinned to CPU 0, the loader to CPU 1), runs the load once against
each, and reverses the order every other round, so a slow drift of the machine favours no
one. It prints every run, then the medians: the server's CPU per unit (from /proc, as in
run.py), the rate, the loader's own CPU per unit (a server that paces the loader
differently shows up there), the p99 latency and the server's peak RSS (sampled every 0.2 s, as run.py does).

    cargo build --release -p duplex-cli && cp target/release/duplex /tmp/duplex-before
    # ... change something, build again ...
    python3 bench/ab.py --rounds 5 \\
        'before=/tmp/duplex-before echo --listen {addr} --threads 1' \\
        'after=target/release/duplex echo --listen {addr} --threads 1' \\
        'fast=bench/peers/target/release/fastwebsockets-echo --listen {addr}' \\
        -- connect --concurrency 50 --duration 4 --warmup 1

Each server is `name=command`; `{addr}` becomes 127.0.0.1:PORT and `{port}` the port. What
follows `--` is the `duplex bench` subcommand and its options, without --url and --server-pid.
Needs Linux, taskset and a release build of duplex (the loader).
"""

import argparse
import json
import pathlib
import shlex
import socket
import statistics
import subprocess
import sys
import time

from run import PeakRss  # bench/run.py, beside this file

ROOT = pathlib.Path(__file__).resolve().parent.parent
LOADER = ROOT / "target" / "release" / "duplex"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_listening(port: int, server: subprocess.Popen) -> None:
    for _ in range(100):
        if server.poll() is not None:
            sys.exit(f"the server exited at start (status {server.returncode})")
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            time.sleep(0.2)  # let the probe connection go away
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on port {port} after 5 s")


def one_run(command: str, load: list[str], server_cpus: str = "0") -> tuple[float, ...]:
    """Starts the server, loads it once, stops it. Returns (server µs/unit, rate,
    loader µs/unit, p99 µs, peak RSS MiB); for `idle`, (server bytes per connection, open
    connections, nan, nan, peak RSS MiB)."""
    port = free_port()
    argv = shlex.split(command.format(addr=f"{HOST}:{port}", port=port))
    server = subprocess.Popen(["taskset", "-c", server_cpus, *argv],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, server)
        cmd = ["taskset", "-c", "1", str(LOADER), "bench", load[0], "--url", f"ws://{HOST}:{port}",
               "--server-pid", str(server.pid), "--json", "-q", *load[1:]]
        with PeakRss(server.pid) as peak:
            out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"the loader failed: {out.stderr.strip()}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        server.kill()
        server.wait()
    if "bytes_per_conn" in result:  # `bench idle`: memory per connection, not CPU
        open_conns = result.get("opened", float("nan")) - result.get("dropped", 0)
        return result["bytes_per_conn"], open_conns, float("nan"), float("nan"), peak.peak / 2**20
    rate = next(result[k] for k in ("messages_per_s", "handshakes_per_s", "deliveries_per_s")
                if k in result)
    server_us = next(result[k] for k in result if k.startswith("server_cpu_us_per_"))
    done = rate * result["duration_s"]
    loader_us = result["loader_cpu_s"] * 1e6 / done if done else float("nan")
    p99 = (result.get("latency_us") or {}).get("p99") or float("nan")
    return server_us, rate, loader_us, p99, peak.peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--server-cpus", default="0",
                        help="CPUs the server may run on, for taskset (default 0; the loader "
                             "always runs on 1, so '0,1' lets a server of two loops share it)")
    parser.add_argument("servers", nargs="+", metavar="NAME=COMMAND",
                        help="a server command with {addr} or {port}")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    load = argv[split + 1:]
    if not load:
        parser.error("give the load after --, e.g. -- echo --conns 10 --pipeline 4 --size 16384")
    if not LOADER.exists():
        sys.exit(f"{LOADER} is missing: cargo build --release -p duplex-cli")
    servers = []
    for spec in args.servers:
        name, sep, command = spec.partition("=")
        if not sep or not command:
            parser.error(f"expected NAME=COMMAND, got {spec!r}")
        servers.append((name, command))

    results: dict[str, list[tuple[float, ...]]] = {name: [] for name, _ in servers}
    for round_no in range(args.rounds):
        order = servers if round_no % 2 == 0 else servers[::-1]
        for name, command in order:
            run = one_run(command, load, args.server_cpus)
            results[name].append(run)
            print(f"round {round_no + 1} {name:>10}: {line(run)}", flush=True)
    print()
    for name, runs in results.items():
        medians = tuple(statistics.median(r[i] for r in runs) for i in range(len(runs[0])))
        print(f"median {name:>10}: {line(medians)}")


def line(run: tuple[float, ...]) -> str:
    server_us, rate, loader_us, p99, rss = run
    return (f"server {server_us:9.3f} µs/unit  rate {rate:11,.0f}/s  loader {loader_us:9.2f} "
            f"µs/unit  p99 {p99 / 1000:8.2f} ms  peak RSS {rss:6.1f} MiB")


if __name__ == "__main__":
    main()
