#!/usr/bin/env python3
"""Soak: many connections echoing for a long, bounded time against `duplex echo`.

    python3 tests/soak/run.py                      # 1,000 connections for 10 minutes
    python3 tests/soak/run.py --conns 200 --seconds 60
    python3 tests/soak/run.py --seconds 30 --size 65536 --pipeline 4 --max-message-size 65536
                                                   # every client sends max-size messages

Passes when the load generator saw zero errors (every echo checked for content and order),
the server's RSS after warm-up stays flat (growth under --max-growth, default 10%), and after
every client has gone the server holds no more file descriptors than before the run (no
leaked connection, and so no leaked connection task). Prints RSS samples, the figures, and a
final line `soak: N passed, M failed`. Server pinned to CPU 0, load to CPU 1. Loopback only.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--conns", type=int, default=1000)
    p.add_argument("--seconds", type=int, default=600)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--pipeline", type=int, default=1)
    p.add_argument("--max-message-size", type=int, default=None,
                   help="the server's message limit (duplex echo --max-message-size)")
    p.add_argument("--max-growth", type=float, default=0.10)
    p.add_argument("--no-build", action="store_true")
    args = p.parse_args()

    if not args.no_build:
        subprocess.check_call(["cargo", "build", "--release", "-q", "-p", "duplex-cli"], cwd=REPO)
    duplex = os.path.join(REPO, "target", "release", "duplex")
    limit = ["--max-message-size", str(args.max_message_size)] if args.max_message_size else []
    server = subprocess.Popen(["taskset", "-c", "0", duplex, "echo", "--listen", "127.0.0.1:0"] + limit,
                              stderr=subprocess.PIPE, text=True)
    url = None
    for line in server.stderr:
        if "listening on " in line:
            url = line.split("listening on ", 1)[1].strip()
            break
    if url is None:
        print("soak: duplex echo did not start")
        return 1
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
    pid = server.pid
    # taskset execs duplex in place, so the pid is the server's.
    fds_before, rss_before = fds(pid), rss_kib(pid)

    samples = []
    stop = threading.Event()

    def sample():
        start = time.monotonic()
        while not stop.wait(2 if args.seconds < 120 else 10):
            samples.append((round(time.monotonic() - start), rss_kib(pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    bench = subprocess.run(
        ["taskset", "-c", "1", duplex, "bench", "echo", "--url", url, "--conns", str(args.conns),
         "--pipeline", str(args.pipeline), "--size", str(args.size), "--warmup", str(args.warmup),
         "--duration", str(args.seconds), "--server-pid", str(pid), "--json", "-q"],
        capture_output=True, text=True, timeout=args.seconds + args.warmup + 300)
    stop.set()
    time.sleep(3)  # let the server finish its closing handshakes
    fds_after, rss_end = fds(pid), rss_kib(pid)
    server.terminate()
    server.wait(timeout=20)

    report = json.loads(bench.stdout.strip().splitlines()[-1]) if bench.stdout.strip() else {}
    print(bench.stdout.rstrip())
    after_warmup = [kib for t, kib in samples if t >= args.warmup]
    start_kib = after_warmup[0] if after_warmup else rss_before
    end_kib = max(after_warmup[-3:]) if after_warmup else rss_end
    growth = (end_kib - start_kib) / start_kib if start_kib else 0.0
    print(f"RSS samples (s, KiB): {samples}")
    print(f"server RSS: {rss_before} KiB idle, {start_kib} KiB after warm-up, {end_kib} KiB at the end "
          f"({growth:+.1%}), {rss_end} KiB after all closed")
    peak = max((kib for _, kib in samples), default=rss_end)
    print(f"server RSS peak: {peak} KiB ({peak / 1024:.1f} MiB) with {args.conns} connections x "
          f"{args.pipeline} in flight of {args.size} B")
    print(f"server file descriptors: {fds_before} before, {fds_after} after all closed")
    checks = [
        ("bench ran", bench.returncode == 0, f"exit {bench.returncode}: {bench.stderr[-500:]}"),
        ("zero errors", report.get("errors") == 0, f"errors: {report.get('errors')} {report.get('first_error')}"),
        ("RSS flat after warm-up", growth <= args.max_growth, f"grew {growth:+.1%}"),
        ("no leaked file descriptors", fds_after <= fds_before, f"{fds_before} -> {fds_after}"),
    ]
    failed = 0
    for name, ok, why in checks:
        print(f"{'PASS' if ok else 'FAIL'} {name}" + ("" if ok else f": {why}"))
        failed += not ok
    print(f"soak: {len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
