#!/usr/bin/env python3
"""What the hub's fallback transports cost per delivered publication, against WebSocket.

    python3 bench/hub_fallbacks.py [--binary PATH] [--subscribers N] [--publications M] [--runs R]

Starts `duplex serve --engine memory` pinned to CPU 0 (taskset; clients and publisher on CPU 1),
and for each transport — none (the publishing alone), WebSocket, HTTP-streaming, SSE — connects
N subscribers to one channel over it, publishes M publications through the server API (one
keep-alive HTTP connection), waits until every subscriber has every publication (each once, in
order: a gap or a repeat fails the run), and reads the server's CPU time (utime + stime from
/proc/PID/stat) over the publishing. A transport's cost per delivery is its CPU minus the
publishing alone, divided by N x M; its bytes per delivery are what a subscriber read off the
socket over the run, divided by M (HTTP chunked framing and SSE's `data:` lines included).
Medians of R runs. Clients are written here with the standard library (asyncio sockets), so the
server's figures are what matter; the clients' own speed only bounds the rate.
"""
import argparse
import asyncio
import http.client
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "hub"))

import harness  # noqa: E402
from hublib import mint_token  # noqa: E402

SERVER_CPU, LOAD_CPU = "0", "1"
PATIENCE = 30.0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Subscriber:
    """One connection over `transport`, counting publications and bytes read."""

    def __init__(self, transport):
        self.transport = transport
        self.seen = 0
        self.bytes = 0
        self.done = asyncio.Event()
        self.expected = 0
        self.failure = None

    def on_reply(self, reply):
        pub = reply.get("push", {}).get("pub")
        if pub is None:
            return
        seq = pub["data"]["seq"]
        if seq != self.seen:
            self.failure = f"{self.transport}: publication {seq} where {self.seen} was due"
        self.seen += 1
        if self.seen >= self.expected:
            self.done.set()


async def open_ws(port, token, channel, sub):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    writer.write((f"GET /connection/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    await reader.readuntil(b"\r\n\r\n")

    def send(text):
        data = text.encode()
        mask = os.urandom(4)
        head = bytes([0x81])
        head += bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + len(data).to_bytes(2, "big")
        writer.write(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    send(json.dumps({"id": 1, "connect": {"token": token}}) + "\n" +
         json.dumps({"id": 2, "subscribe": {"channel": channel}}))
    subscribed = asyncio.Event()

    async def read():
        while True:
            head = await reader.readexactly(2)
            length = head[1] & 0x7F
            extra = 2 if length == 126 else 8 if length == 127 else 0
            if extra:
                length = int.from_bytes(await reader.readexactly(extra), "big")
            payload = await reader.readexactly(length)
            sub.bytes += 2 + extra + length
            if head[0] & 0x0F == 0x1:
                for line in payload.decode().split("\n"):
                    reply = json.loads(line)
                    if reply.get("id") == 2:
                        subscribed.set()
                    if reply == {}:
                        send("{}")
                    sub.on_reply(reply)

    task = asyncio.create_task(read())
    await asyncio.wait_for(subscribed.wait(), PATIENCE)
    return task, writer


async def open_stream(port, token, channel, sub, kind):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    connect = json.dumps({"id": 1, "connect": {"token": token}})
    if kind == "http_stream":
        writer.write((f"POST /connection/http_stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Content-Type: application/json\r\nContent-Length: {len(connect)}\r\n\r\n"
                      f"{connect}").encode())
    else:
        query = urllib.parse.urlencode({"cf_connect": connect})
        writer.write(f"GET /connection/sse?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    sub.bytes += len(head)
    session = asyncio.get_running_loop().create_future()
    subscribed = asyncio.Event()

    async def read():
        pending = b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.strip(), 16)
            chunk = await reader.readexactly(size + 2)
            sub.bytes += len(size_line) + size + 2
            pending += chunk[:-2]
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if kind == "sse":
                    if not line.startswith(b"data: "):
                        continue
                    line = line[6:]
                reply = json.loads(line)
                if "connect" in reply and not session.done():
                    session.set_result(reply["connect"]["session"])
                if reply.get("id") == 2:
                    subscribed.set()
                sub.on_reply(reply)

    task = asyncio.create_task(read())
    session_id = await asyncio.wait_for(session, PATIENCE)
    body = json.dumps({"session": session_id,
                       "data": json.dumps({"id": 2, "subscribe": {"channel": channel}})})
    await asyncio.to_thread(post, port, "/emulation", body, {})
    await asyncio.wait_for(subscribed.wait(), PATIENCE)
    return task, writer


def post(port, path, body, headers, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", path, body, {"Content-Type": "application/json", **headers})
    response = conn.getresponse()
    data = response.read()
    if own:
        conn.close()
    if response.status >= 300:
        raise RuntimeError(f"{path}: {response.status} {data[:200]!r}")
    return data


async def one_run(port, pid, secret, api_key, transport, subscribers, publications):
    channel = f"bench:{transport}-{secrets.token_hex(3)}"
    subs, tasks, writers = [], [], []
    for n in range(subscribers if transport != "none" else 0):
        sub = Subscriber(transport)
        sub.expected = publications
        token = mint_token(secret, {"sub": f"u{n}", "exp": int(time.time() + 3600)})
        if transport == "websocket":
            task, writer = await open_ws(port, token, channel, sub)
        else:
            task, writer = await open_stream(port, token, channel, sub, transport)
        subs.append(sub)
        tasks.append(task)
        writers.append(writer)
    bytes_before = [s.bytes for s in subs]

    def publish_all():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for seq in range(publications):
            post(port, "/api/publish", json.dumps({"channel": channel, "data": {"seq": seq}}),
                 {"X-API-Key": api_key}, conn)
        conn.close()

    cpu0 = cpu_seconds(pid)
    t0 = time.monotonic()
    await asyncio.to_thread(publish_all)
    await asyncio.wait_for(asyncio.gather(*(s.done.wait() for s in subs)), PATIENCE)
    elapsed = time.monotonic() - t0
    cpu = cpu_seconds(pid) - cpu0
    for s in subs:
        if s.failure or s.seen != publications:
            raise RuntimeError(s.failure or f"{transport}: {s.seen} of {publications}")
    per_sub_bytes = [(s.bytes - b) / publications for s, b in zip(subs, bytes_before)]
    for task in tasks:
        task.cancel()
    for writer in writers:
        writer.close()
    await asyncio.sleep(0.3)  # let the server end the sessions before the next run
    return cpu, elapsed, statistics.median(per_sub_bytes) if per_sub_bytes else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(harness.target_dir(), "release", "duplex"))
    ap.add_argument("--subscribers", type=int, default=20)
    ap.add_argument("--publications", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    os.sched_setaffinity(0, {int(LOAD_CPU)})
    secret, api_key = secrets.token_hex(16), secrets.token_hex(16)
    port = harness.free_port()
    with tempfile.TemporaryDirectory(prefix="duplex-fallbacks-") as workdir:
        config = os.path.join(workdir, "config.json")
        with open(config, "w") as f:
            json.dump({"client": {"token": {"hmac_secret_key": secret}},
                       "http_api": {"key": api_key},
                       "channel": {"namespaces": [{"name": "bench",
                                                   "allow_subscribe_for_client": True}]}}, f)
        log = os.path.join(workdir, "hub.log")
        hub = harness.start(["taskset", "-c", SERVER_CPU, args.binary, "serve", "--config", config,
                             "--engine", "memory", "--port", str(port), "--address", "127.0.0.1"],
                            log, workdir)
        try:
            error = harness.wait_ready(hub, 15, harness.tcp_probe(port),
                                       exited=lambda c: f"hub exited with {c}",
                                       timed_out=lambda last: f"hub did not listen ({last})")
            if error:
                raise SystemExit(f"{error}\n{harness.tail(log)}")
            server_pid = hub.pid  # taskset execs the server: same process
            results = {}
            for _ in range(args.runs):
                for transport in ("none", "websocket", "http_stream", "sse"):
                    run = asyncio.run(one_run(port, server_pid, secret, api_key, transport,
                                              args.subscribers, args.publications))
                    results.setdefault(transport, []).append(run)
        finally:
            harness.stop(hub)
    deliveries = args.subscribers * args.publications
    base = statistics.median(r[0] for r in results["none"])
    print(f"{args.subscribers} subscribers x {args.publications} publications, median of "
          f"{args.runs} runs; server on CPU {SERVER_CPU}, clients on CPU {LOAD_CPU}")
    print("| transport | server CPU per delivery | vs WebSocket | bytes per delivery |")
    print("| --- | --- | --- | --- |")
    ws = None
    for transport in ("websocket", "http_stream", "sse"):
        cpu = statistics.median(r[0] for r in results[transport])
        per = (cpu - base) / deliveries * 1e6
        ws = ws if ws is not None else per
        size = statistics.median(r[2] for r in results[transport])
        print(f"| {transport} | {per:.2f} µs | {per / ws:.2f}x | {size:.1f} |")
    print(f"(the publishing alone: {base / args.publications * 1e6:.1f} µs of server CPU per "
          "publication through the API, subtracted above)")


if __name__ == "__main__":
    main()
