#!/usr/bin/env python3
"""Several `duplex serve` nodes sharing a broker, as real processes on loopback.

    python3 tests/cluster/run.py --engine nats [--no-build] [--binary PATH] [--only NAME]...
    python3 tests/cluster/run.py --engine redis ...
    python3 tests/cluster/run.py --engine redis-cluster ...

1. `cargo build --release -p duplex-cli` unless --no-build (or --binary PATH);
2. the shared server on a free loopback port outside the ephemeral range: nats-server
   (`--engine nats`), or redis-server with persistence off (`--engine redis`), or a Redis
   Cluster of three such servers (`--engine redis-cluster`: CLUSTER ADDSLOTS and MEET, the
   nodes given all three as `engine.redis.cluster_address`, sharded pub/sub);
3. three nodes A, B, C: `duplex serve --config <json> --port <P> --data-dir <temp>`, each
   config with a random HMAC token secret and API key, the namespaces below and the engine or
   broker pointing at the shared server; each waited for through GET /health;
4. the scenarios of that engine, with clients written here in the standard library
   (wsclient.py: the Centrifugo JSON protocol over a raw WebSocket) and the server API over
   HTTP.

Scenarios, NATS (pub/sub only: no history, presence per node):
  fanout       publish on A through the server API; subscribers on B and C each get every
               publication once, in order
  throughput   (measure) deliveries/s through three nodes vs one, same load
Scenarios, Redis (history, recovery and presence shared by the nodes):
  fanout       as above
  failover     kill -9 node B while 1,000 publications are made; B's clients reconnect to C
               and recover all of them (recovered: true, each once, in order); measures the
               time from B's death to its clients recovered on C
  presence     a user on two nodes is one user: joins once, leaves once, counted once
  redis-restart  Redis restarted mid-run: a node that lost Redis answers /health with non-200;
               a client recovering across the restart is told recovered: false with a new
               epoch, never a silent gap
  throughput   (measure) as above
Scenarios, Redis Cluster: fanout, failover, presence and throughput as for Redis (a primary
restarted empty is tested by the engine's own tests: crates/duplex-hub/tests/engine_redis.rs).

Prints `ok <scenario>` or `FAIL <scenario>: <reason>` (with the nodes' log tails), the measures
as `measure: ...` lines, then `cluster <engine>: N passed, M failed`; exits 1 on any failure.
Every process this starts is stopped by its process group, on failure and Ctrl-C too.
"""
import argparse
import asyncio
import fnmatch
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from wsclient import Client  # noqa: E402

BUILD_CMD = ["cargo", "build", "--release", "-p", "duplex-cli"]
NODES = ("A", "B", "C")
PATIENCE = 15.0  # seconds for anything that must happen


def find_binary(name, env_var):
    """A server binary: $env_var, PATH, /usr/sbin, /usr/bin."""
    if os.environ.get(env_var):
        return os.environ[env_var]
    found = shutil.which(name)
    for path in [found, f"/usr/sbin/{name}", f"/usr/bin/{name}"]:
        if path and os.access(path, os.X_OK):
            return path
    return None


class Failure(Exception):
    pass


def cluster_port():
    """A free port whose cluster bus port (10,000 above) is free and below the ephemeral range."""
    for _ in range(200):
        port = harness.free_port()
        if port <= 22767 and harness.free_port_is(port + 10000):
            return port
    raise OSError("no free pair of ports for a Redis Cluster node")


def redis_command(port, *args):
    """One command to the Redis server on `port`, over RESP; the reply as text (an integer or a
    status as its digits or words, a bulk string as itself)."""
    payload = f"*{len(args)}\r\n".encode()
    for arg in args:
        data = str(arg).encode()
        payload += b"$%d\r\n%s\r\n" % (len(data), data)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload)
        reader = conn.makefile("rb")
        line = reader.readline().rstrip(b"\r\n")
        if line[:1] == b"-":
            raise Failure(f"redis {args[:2]}: {line[1:].decode()}")
        if line[:1] == b"$":
            length = int(line[1:])
            return reader.read(length + 2)[:length].decode() if length >= 0 else ""
        return line[1:].decode()


def check(condition, message):
    if not condition:
        raise Failure(message)


class Cluster:
    """The shared server and the nodes; every process goes through harness.start/stop."""

    def __init__(self, engine, binary, workdir):
        self.engine, self.binary, self.workdir = engine, binary, workdir
        self.secret = secrets.token_hex(16)
        self.api_key = secrets.token_hex(16)
        self.tag = secrets.token_hex(3)
        self.backend = None  # a process, or a list of them (a Redis Cluster)
        if engine == "redis-cluster":
            self.cluster_ports = [cluster_port() for _ in range(3)]
            self.backend_port = self.cluster_ports[0]
        else:
            self.backend_port = harness.free_port()
        self.nodes = {}  # name -> (proc, port, log)
        self.ports = {name: harness.free_port() for name in NODES}

    # --- the shared server -------------------------------------------------------------------
    def start_backend(self):
        if self.engine == "redis-cluster":
            return self.start_redis_cluster()
        log = os.path.join(self.workdir, f"{self.engine}.log")
        port = str(self.backend_port)
        if self.engine == "nats":
            bin_ = find_binary("nats-server", "DUPLEX_NATS_SERVER")
            if not bin_:
                raise Failure("nats-server is not installed (bash tests/lib/setup-nats.sh)")
            cmd = [bin_, "-a", "127.0.0.1", "-p", port]
        else:
            bin_ = find_binary("redis-server", "DUPLEX_REDIS_SERVER")
            if not bin_:
                raise Failure("redis-server is not installed (apt-get install redis-server)")
            cmd = [bin_, "--bind", "127.0.0.1", "--port", port, "--save", "",
                   "--appendonly", "no", "--dir", self.workdir]
        self.backend = harness.start(cmd, log, self.workdir)
        error = harness.wait_ready(
            self.backend, 10, harness.tcp_probe(self.backend_port),
            exited=lambda code: f"{self.engine} server exited with code {code}",
            timed_out=lambda last: f"{self.engine} server did not listen ({last})")
        if error:
            raise Failure(f"{error}\n{harness.tail(log)}")

    def start_redis_cluster(self):
        bin_ = find_binary("redis-server", "DUPLEX_REDIS_SERVER")
        if not bin_:
            raise Failure("redis-server is not installed (apt-get install redis-server)")
        self.backend = []
        for index, port in enumerate(self.cluster_ports):
            folder = os.path.join(self.workdir, f"redis-{index}")
            os.makedirs(folder, exist_ok=True)
            log = os.path.join(self.workdir, f"redis-{index}.log")
            proc = harness.start(
                [bin_, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                 "--appendonly", "no", "--dir", folder, "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"],
                log, folder)
            self.backend.append(proc)
            error = harness.wait_ready(
                proc, 10, harness.tcp_probe(port),
                exited=lambda code: f"redis-server exited with code {code}",
                timed_out=lambda last: f"redis-server did not listen ({last})")
            if error:
                raise Failure(f"{error}\n{harness.tail(log)}")
        share = 16384 // 3 + 1
        for index, port in enumerate(self.cluster_ports):
            slots = range(share * index, min(share * (index + 1), 16384))
            redis_command(port, "CLUSTER", "ADDSLOTS", *slots)
        for port in self.cluster_ports[1:]:
            redis_command(self.cluster_ports[0], "CLUSTER", "MEET", "127.0.0.1", port)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            infos = [redis_command(port, "CLUSTER", "INFO") for port in self.cluster_ports]
            if all("cluster_state:ok" in i and "cluster_known_nodes:3" in i for i in infos):
                return
            time.sleep(0.05)
        raise Failure("the Redis Cluster did not reach cluster_state:ok")

    def kill_backend(self):
        for proc in self.backend if isinstance(self.backend, list) else [self.backend]:
            os.killpg(proc.pid, signal.SIGKILL)
            harness.stop(proc)

    # --- the nodes ---------------------------------------------------------------------------
    def config(self):
        """A Centrifugo v6 JSON config for one node."""
        if self.engine == "nats":
            # The NATS broker keeps no history: namespaces with history are refused with it.
            backend = {"broker": {"enabled": True, "type": "nats",
                                  "nats": {"url": f"nats://127.0.0.1:{self.backend_port}",
                                           "prefix": f"cluster{self.tag}"}}}
            history = {}
        else:
            if self.engine == "redis-cluster":
                redis = {"cluster_address": [f"127.0.0.1:{p}" for p in self.cluster_ports]}
            else:
                redis = {"address": f"redis://127.0.0.1:{self.backend_port}"}
            backend = {"engine": {"type": "redis",
                                  "redis": {**redis, "prefix": f"cluster{self.tag}"}}}
            history = {"history_size": 2000, "history_ttl": "300s", "force_recovery": True,
                       "allow_recovery": True}
        return {
            "client": {"token": {"hmac_secret_key": self.secret}},
            "http_api": {"key": self.api_key},
            "log": {"level": "info"},
            "channel": {"namespaces": [
                {"name": "feed", "allow_subscribe_for_client": True, **history},
                {"name": "room", "allow_subscribe_for_client": True, "presence": True, "join_leave": True,
                 "force_push_join_leave": True, "user_presence": True,
                 "allow_presence_for_client": True},
            ]},
            **backend,
        }

    def start_node(self, name):
        port = self.ports[name]
        path = os.path.join(self.workdir, f"node-{name}.json")
        with open(path, "w") as f:
            json.dump(self.config(), f, indent=2)
        data = os.path.join(self.workdir, f"data-{name}")
        os.makedirs(data, exist_ok=True)
        log = os.path.join(self.workdir, f"node-{name}.log")
        proc = harness.start([self.binary, "serve", "--config", path, "--port", str(port),
                              "--address", "127.0.0.1", "--data-dir", data],
                             log, self.workdir)
        self.nodes[name] = (proc, port, log)
        error = harness.wait_ready(
            proc, PATIENCE, lambda: harness.health(port),
            exited=lambda code: f"node {name} exited with code {code}",
            timed_out=lambda last: f"node {name}: /health not 200 ({last})")
        if error:
            raise Failure(f"{error}\n{harness.tail(log)}")

    def kill_node(self, name):
        proc = self.nodes[name][0]
        os.killpg(proc.pid, signal.SIGKILL)
        harness.stop(proc)

    def port(self, name):
        return self.ports[name]

    def logs(self):
        parts = []
        for name, (_, _, log) in self.nodes.items():
            parts.append(f"--- node {name} ---\n{harness.tail(log, 15)}")
        return "\n".join(parts)

    def token(self, user):
        sys.path.insert(0, os.path.join(ROOT, "tests", "hub"))
        from hublib import mint_token
        return mint_token(self.secret, {"sub": user, "exp": int(time.time() + 3600)})

    def api(self, node, method, body, conn=None):
        """One server API call on `node` (blocking); `conn` keeps a connection alive. Returns
        `result` (or, for `batch`, the whole reply)."""
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port(node), timeout=10)
        try:
            conn.request("POST", f"/api/{method}", json.dumps(body),
                         {"X-API-Key": self.api_key, "Content-Type": "application/json"})
            resp = conn.getresponse()
            reply = json.loads(resp.read() or b"{}")
        finally:
            if own:
                conn.close()
        if resp.status != 200 or "error" in reply:
            raise Failure(f"API {method} on {node}: HTTP {resp.status} {reply}")
        return reply if method == "batch" else reply.get("result", {})


# --- clients ---------------------------------------------------------------------------------
async def subscriber(cluster, node, user, channels):
    client = await Client.open(cluster.port(node), f"{user}@{node}")
    await client.connect(cluster.token(user))
    replies = [await client.subscribe(ch) for ch in channels]
    return client, replies


def publications(pushes, channel=None):
    return [p["pub"] for p in pushes if "pub" in p and (channel is None or p["channel"] == channel)]


async def collect(client, count, counts=lambda push: "pub" in push, timeout=PATIENCE):
    """Pushes until `count` of them satisfy `counts` (by default: publications), the
    connection closes or the timeout passes; returns them all."""
    pushes, matched = [], 0
    deadline = time.monotonic() + timeout
    while matched < count and time.monotonic() < deadline:
        try:
            push = await client.next_push(max(0.01, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            break
        if push is None:
            break
        pushes.append(push)
        matched += bool(counts(push))
    return pushes


def numbered(push):
    """A publication this harness numbered (not a warm-up probe)."""
    return "pub" in push and data_index(push["pub"]) is not None


async def warm_up(cluster, clients, channel, via="A"):
    """Publishes probes until every client got one: a subscription on one node is visible to
    publishers on another only once the broker routed it."""
    seen = set()
    for k in range(100):
        await asyncio.to_thread(cluster.api, via, "publish",
                                {"channel": channel, "data": {"probe": k}})
        await asyncio.sleep(0.05)
        for index, client in enumerate(clients):
            while not client.pushes.empty():
                push = client.pushes.get_nowait()
                if push and "pub" in push:
                    seen.add(index)
        if len(seen) == len(clients):
            await asyncio.sleep(0.2)  # then drop the probes still in flight
            for client in clients:
                while not client.pushes.empty():
                    client.pushes.get_nowait()
            return
    raise Failure(f"subscribers on other nodes never saw a probe on {channel}")


def data_index(pub):
    data = pub.get("data")
    return data.get("i") if isinstance(data, dict) else None


# --- scenarios -------------------------------------------------------------------------------
async def scenario_fanout(cluster, measures):
    channel = f"feed:fanout-{cluster.tag}"
    clients = []
    for node in ("B", "B", "C", "C"):
        client, _ = await subscriber(cluster, node, f"u{len(clients)}", [channel])
        clients.append(client)
    try:
        await warm_up(cluster, clients, channel)
        count = 500

        def publish_all():
            conn = http.client.HTTPConnection("127.0.0.1", cluster.port("A"), timeout=10)
            for i in range(count):
                cluster.api("A", "publish", {"channel": channel, "data": {"i": i}}, conn)
            conn.close()

        publisher = asyncio.create_task(asyncio.to_thread(publish_all))
        results = await asyncio.gather(*[
            collect(c, count, numbered) for c in clients])
        await publisher
        for client, pushes in zip(clients, results):
            got = [data_index(p) for p in publications(pushes) if data_index(p) is not None]
            check(got == list(range(count)),
                  f"{client.name} got {len(got)} of {count}, first differences: "
                  f"{first_difference(got, list(range(count)))}")
    finally:
        for c in clients:
            await c.close()


def first_difference(got, expected):
    for index, (a, b) in enumerate(zip(got, expected)):
        if a != b:
            return f"at {index}: {a} instead of {b}"
    return f"lengths {len(got)} vs {len(expected)}"


async def deliveries_per_second(cluster, layout, channels, each):
    """Subscribers on `layout` nodes (each subscribed to every channel); one publisher thread
    per channel through node A; deliveries/s from the first publish to the last delivery."""
    clients = []
    for node in layout:
        client, _ = await subscriber(cluster, node, f"t{len(clients)}", channels)
        clients.append(client)
    try:
        for channel in channels:
            await warm_up(cluster, clients, channel)
        total = len(channels) * each

        def publish(channel):
            # Batches of 50 (run in order), so the Python publisher is not what is measured.
            conn = http.client.HTTPConnection("127.0.0.1", cluster.port("A"), timeout=10)
            for first in range(0, each, 50):
                commands = [{"publish": {"channel": channel, "data": {"i": i}}}
                            for i in range(first, min(each, first + 50))]
                reply = cluster.api("A", "batch", {"commands": commands}, conn)
                errors = [r for r in reply.get("replies", []) if "error" in r]
                if errors:
                    raise Failure(f"batch publish: {errors[0]}")
            conn.close()

        start = time.monotonic()
        publishers = [asyncio.create_task(asyncio.to_thread(publish, ch)) for ch in channels]
        ends = []

        async def consume(client):
            pushes = await collect(client, total, numbered, 60)
            ends.append(time.monotonic())
            return pushes

        results = await asyncio.gather(*[consume(c) for c in clients])
        await asyncio.gather(*publishers)
        elapsed = max(ends) - start
        for client, pushes in zip(clients, results):
            for channel in channels:
                got = [data_index(p) for p in publications(pushes, channel)
                       if data_index(p) is not None]
                check(got == list(range(each)),
                      f"{client.name} on {channel}: {first_difference(got, list(range(each)))}")
        return len(clients) * total / elapsed, elapsed
    finally:
        for c in clients:
            await c.close()


async def scenario_throughput(cluster, measures):
    each, subscribers = 1000, 6
    one = [f"feed:tp1-{cluster.tag}-{k}" for k in range(4)]
    three = [f"feed:tp3-{cluster.tag}-{k}" for k in range(4)]
    rate_one, t_one = await deliveries_per_second(cluster, ["A"] * subscribers, one, each)
    layout = [NODES[k % 3] for k in range(subscribers)]
    rate_three, t_three = await deliveries_per_second(cluster, layout, three, each)
    load = f"{subscribers} subscribers x 4 channels x {each} publications through A's API in batches of 50"
    measures.append(f"deliveries/s, one node: {rate_one:,.0f} ({t_one:.2f} s; {load})")
    measures.append(f"deliveries/s, three nodes: {rate_three:,.0f} ({t_three:.2f} s; "
                    f"subscribers spread over A, B, C)")


async def scenario_failover(cluster, measures):
    """Redis: B dies during 1,000 publications; its clients recover everything on C."""
    channel = f"feed:failover-{cluster.tag}"
    count = 1000
    clients = []
    for k in range(4):
        client, replies = await subscriber(cluster, "B", f"f{k}", [channel])
        clients.append((client, replies[0]))
    sent = threading.Event()
    progress = [0]

    def publish_all():
        conn = http.client.HTTPConnection("127.0.0.1", cluster.port("A"), timeout=10)
        for i in range(count):
            cluster.api("A", "publish", {"channel": channel, "data": {"i": i}}, conn)
            progress[0] = i + 1
            time.sleep(0.002)  # about 2 s in all, so the kill lands mid-run
        conn.close()
        sent.set()

    publisher = asyncio.create_task(asyncio.to_thread(publish_all))
    killed_at = None
    while progress[0] < count // 3:
        await asyncio.sleep(0.01)
    cluster.kill_node("B")
    killed_at = time.monotonic()

    async def follow(client, reply):
        """What a client SDK does: read until the connection dies, then recover on C."""
        epoch, offset = reply.get("epoch", ""), reply.get("offset", 0)
        seen = []
        while True:
            push = await client.next_push(PATIENCE)
            if push is None:
                break
            if "pub" in push:
                seen.append(push["pub"]["offset"])
                offset = push["pub"]["offset"]
        again = await Client.open(cluster.port("C"), client.name + "->C")
        await again.connect(cluster.token(client.name.split("@")[0]))
        sub = await again.subscribe(channel, recover_from=(offset, epoch))
        recovered_after = time.monotonic() - killed_at
        check(sub.get("recovered") is True, f"{client.name}: not recovered on C: {sub}")
        seen += [p["offset"] for p in sub.get("publications", [])]
        pushes = await collect(again, 1, lambda p: "pub" in p and p["pub"]["offset"] == count,
                               30)
        seen += [p["offset"] for p in publications(pushes)]
        await again.close()
        return seen, recovered_after

    results = await asyncio.gather(*[follow(c, r) for c, r in clients])
    await publisher
    for (client, _), (seen, _) in zip(clients, results):
        check(seen == list(range(1, count + 1)),
              f"{client.name}: offsets {first_difference(seen, list(range(1, count + 1)))}")
    worst = max(after for _, after in results)
    measures.append(f"failover: node B killed -> its {len(clients)} clients recovered on C "
                    f"within {worst * 1000:.0f} ms (client-side reconnect without backoff)")
    cluster.start_node("B")


async def scenario_presence(cluster, measures):
    """Redis: a user with a connection on A and one on B is one user to an observer on C."""
    channel = f"room:p-{cluster.tag}"
    observer, _ = await subscriber(cluster, "C", "watcher", [channel])
    await asyncio.sleep(0.3)
    tabs = []
    for node in ("A", "B"):
        client, _ = await subscriber(cluster, node, "alice", [channel])
        tabs.append(client)
    try:
        stats = await asyncio.to_thread(cluster.api, "A", "presence_stats", {"channel": channel})
        check((stats.get("num_clients"), stats.get("num_users")) == (3, 2),
              f"presence_stats on A: {stats} (want 3 clients, 2 users)")
        stats_b = await asyncio.to_thread(cluster.api, "B", "presence_stats",
                                          {"channel": channel})
        check(stats_b == stats, f"nodes disagree on presence: A {stats}, B {stats_b}")
        for tab in tabs:
            await tab.close()
        pushes = await collect(observer, 1, lambda p: False, timeout=2.0)
        joins = [p for p in pushes if "join" in p and p["join"]["info"].get("user") == "alice"]
        leaves = [p for p in pushes if "leave" in p and p["leave"]["info"].get("user") == "alice"]
        check((len(joins), len(leaves)) == (1, 1),
              f"observer saw alice join {len(joins)} and leave {len(leaves)} times (want 1, 1)")
    finally:
        await observer.close()


async def scenario_redis_restart(cluster, measures):
    """Redis: restarted empty mid-run; never a silent gap."""
    channel = f"feed:restart-{cluster.tag}"
    client, replies = await subscriber(cluster, "A", "r1", [channel])
    epoch = replies[0].get("epoch", "")
    for i in range(10):
        await asyncio.to_thread(cluster.api, "A", "publish", {"channel": channel, "data": {"i": i}})
    pushes = await collect(client, 10)
    offset = publications(pushes)[-1]["offset"] if publications(pushes) else 0
    check(offset == 10, f"before the restart the client saw offset {offset}")
    cluster.kill_backend()
    deadline = time.monotonic() + PATIENCE
    while harness.health(cluster.port("A")) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    check(harness.health(cluster.port("A")) is not None, "/health stayed 200 with Redis gone")
    cluster.start_backend()
    deadline = time.monotonic() + PATIENCE
    while harness.health(cluster.port("A")) is not None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    check(harness.health(cluster.port("A")) is None, "/health did not come back after Redis did")
    for i in range(10, 20):
        await asyncio.to_thread(cluster.api, "A", "publish", {"channel": channel, "data": {"i": i}})
    # The client that stayed: either told (disconnected, unsubscribed) or its offsets show
    # the break (the new stream starts again at 1); a continuation at 11 would be silent.
    after = await collect(client, 10, timeout=5)
    offsets = [p["offset"] for p in publications(after)]
    check(not offsets or offsets[0] != offset + 1,
          f"after the restart the old subscription continued at {offsets[:3]}: a silent gap")
    await client.close()
    again = await Client.open(cluster.port("B"), "r1-again")
    await again.connect(cluster.token("r1"))
    sub = await again.subscribe(channel, recover_from=(offset, epoch))
    # `recovered: false` is left out of the reply, as Centrifugo leaves out every false field.
    check(sub.get("was_recovering") and not sub.get("recovered"),
          f"recovering across the restart: {sub}")
    check(sub.get("epoch") != epoch, f"same epoch {epoch!r} after Redis lost everything")
    await again.close()


SCENARIOS = {
    "nats": {"fanout": scenario_fanout, "throughput": scenario_throughput},
    "redis": {"fanout": scenario_fanout, "failover": scenario_failover,
              "presence": scenario_presence, "redis-restart": scenario_redis_restart,
              "throughput": scenario_throughput},
    "redis-cluster": {"fanout": scenario_fanout, "failover": scenario_failover,
                      "presence": scenario_presence, "throughput": scenario_throughput},
}


async def run_scenarios(cluster, only, counts, measures):
    for name, scenario in SCENARIOS[cluster.engine].items():
        if only and not any(fnmatch.fnmatch(name, pattern) for pattern in only):
            continue
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(scenario(cluster, measures), 180)
            counts[0] += 1
            print(f"ok {name} ({time.monotonic() - t0:.1f} s)", flush=True)
        except Exception as e:  # noqa: BLE001 - any scenario error is that scenario's failure
            counts[1] += 1
            print(f"FAIL {name}: {e!r}\n{cluster.logs()}", flush=True)
            for node in NODES:  # a failed scenario may leave a node down
                proc = cluster.nodes.get(node, (None,))[0]
                if proc is None or proc.poll() is not None:
                    try:
                        cluster.start_node(node)
                    except Failure as error:
                        print(f"cannot restart node {node}: {error}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--engine", choices=sorted(SCENARIOS), default="nats")
    ap.add_argument("--no-build", action="store_true", help="skip the cargo build")
    ap.add_argument("--binary", help="the duplex binary to run (implies --no-build)")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="run only these scenarios (shell wildcards)")
    args = ap.parse_args()
    label = f"cluster {args.engine}"
    harness.stop_all_on_signals(label)
    binary = args.binary
    if binary is None:
        if not args.no_build:
            print(f"{label}: " + " ".join(BUILD_CMD), flush=True)
            if subprocess.run(BUILD_CMD, cwd=ROOT).returncode != 0:
                print(f"FAIL build\n{label}: 0 passed, 1 failed", flush=True)
                return 1
        binary = os.path.join(harness.target_dir(), "release", "duplex")
    if not os.access(binary, os.X_OK):
        print(f"FAIL build: {binary} is missing\n{label}: 0 passed, 1 failed", flush=True)
        return 1
    counts, measures = [0, 0], []
    with tempfile.TemporaryDirectory(prefix="duplex-cluster-") as workdir:
        cluster = Cluster(args.engine, binary, workdir)
        try:
            cluster.start_backend()
            for node in NODES:
                cluster.start_node(node)
            asyncio.run(run_scenarios(cluster, args.only, counts, measures))
        except Failure as e:
            counts[1] += 1
            print(f"FAIL setup: {e}", flush=True)
        finally:
            harness.stop_all()
    for line in measures:
        print(f"measure: {line}", flush=True)
    print(f"{label}: {counts[0]} passed, {counts[1]} failed", flush=True)
    return 1 if counts[1] or not counts[0] else 0


if __name__ == "__main__":
    sys.exit(main())
