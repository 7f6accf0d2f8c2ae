#!/usr/bin/env python3
"""The servers of the hub benchmark (issue 22): how to build them, start them and point the loader
at them.

The benchmark compares the hub with the servers people would run instead, in one run and on
the same core, so every server has to be started the same way (pinned with taskset, its own
work folder, waited for until it answers) and described the same way to the loader
(`duplex bench hub`): which protocol it speaks, where clients connect, where publications are
posted, and which credentials go with it. Keeping that knowledge here, apart from the
orchestrator, lets a server be checked on its own with

    python3 bench/hub_servers.py smoke [NAME ...]

which builds what is missing, starts each server on a free port, runs its smoke script (two
clients, ten publications, each received once and in order) and prints PASS or FAIL per server.

The servers:
  duplex         this checkout's hub, Centrifugo protocol, memory engine, history and recovery on
  duplex-pusher  the same hub process, spoken to with the Pusher protocol 7
  sockudo        Sockudo from crates.io (Rust, Pusher protocol), in-memory adapter, rate limits off
  socketio       Socket.IO 4 from npm at default settings, rooms and io.to(room).emit
  uws            uWebSockets pub/sub (uWebSockets.js), the raw floor with no hub features

Standard library only, so it runs on a fresh clone with nothing but Python 3.11.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NODE_DIR = REPO / "bench" / "node"
SOCKUDO_DIR = REPO / "bench" / "sockudo"
SOCKUDO_ROOT = REPO / "bench" / "out" / "sockudo"
SOCKUDO_BIN = SOCKUDO_ROOT / "bin" / "sockudo"
# Where `cargo build` in the checkout puts the hub: CARGO_TARGET_DIR (relative to the checkout,
# where prepare() runs cargo) when set, as cargo itself reads it, else ./target.
DUPLEX_BIN = REPO / os.environ.get("CARGO_TARGET_DIR", "target") / "release" / "duplex"

SERVERS = ("duplex", "duplex-pusher", "sockudo", "socketio", "uws")
HOST = "127.0.0.1"
READY_TIMEOUT_S = 30.0
STOP_GRACE_S = 5.0
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Credentials shared by the hub's configuration, Sockudo's template and the smoke scripts.
API_KEY = "bench-api-key"
TOKEN_SECRET = "bench-secret"
PUSHER_APP_ID = "bench"
PUSHER_APP_KEY = "bench-key"
PUSHER_APP_SECRET = "bench-secret"
PUSHER_LOADER_ARGS = ["--app-id", PUSHER_APP_ID, "--app-key", PUSHER_APP_KEY,
                      "--app-secret", PUSHER_APP_SECRET]

# The hub as the benchmark runs it: tokens and API key as the loader uses them, and the
# namespace `fan:` with history and forced recovery, because the issue measures the hub with its
# whole protocol switched on (history is what a reconnecting client recovers from in H4).
# Pusher channels live in the namespace `pusher-bench`, added by the hub with every option off.
DUPLEX_CONFIG = {
    "http_server": {"address": HOST},
    "client": {"token": {"hmac_secret_key": TOKEN_SECRET}},
    "http_api": {"key": API_KEY},
    "channel": {
        "namespaces": [{
            "name": "fan",
            "allow_subscribe_for_client": True,
            "history_size": 1000,
            "history_ttl": "300s",
            "force_recovery": True,
        }],
    },
    "pusher": {"apps": [{"id": PUSHER_APP_ID, "key": PUSHER_APP_KEY,
                         "secret": PUSHER_APP_SECRET}]},
}

# Environment variables that are not hub configuration keys and that the caller may set on
# purpose (the event loop's switch); every other DUPLEX_* variable would silently override the
# configuration above, so it is not passed on.
DUPLEX_ENV_PASSED_ON = {"DUPLEX_IO_URING"}


# --- measuring a running server ----------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (VmRSS from /proc/PID/status), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far, user plus system, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        # The command name (field 2) may contain spaces and parentheses: split after its ")".
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# --- building ----------------------------------------------------------------------------------


def _run(cmd: list[str], cwd: Path, log) -> None:
    log(f"prepare: {' '.join(cmd)}  (in {cwd.relative_to(REPO) if cwd != REPO else '.'})")
    # Build output goes to stderr so that a caller printing results on stdout keeps them clean.
    subprocess.run(cmd, cwd=cwd, check=True, stdout=sys.stderr, stdin=subprocess.DEVNULL)


def _node_packages_match_lock() -> bool:
    """Whether every dependency pinned in bench/node/package.json is installed at that version."""
    pinned = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]
    for name, version in pinned.items():
        installed = NODE_DIR / "node_modules" / name / "package.json"
        try:
            if json.loads(installed.read_text())["version"] != version:
                return False
        except (OSError, ValueError, KeyError):
            return False
    return True


def _node_package_version(name: str) -> str:
    return json.loads((NODE_DIR / "node_modules" / name / "package.json").read_text())["version"]


def _command_output(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def prepare(names, log=print) -> dict[str, str]:
    """Builds or installs what the named servers need and is missing; returns a label per server
    for the benchmark's tables (name, version, where it came from, how it is run)."""
    unknown = [name for name in names if name not in SERVERS]
    if unknown:
        raise ValueError(f"unknown servers {unknown}; known: {', '.join(SERVERS)}")
    labels: dict[str, str] = {}
    wanted = set(names)

    if wanted & {"duplex", "duplex-pusher"}:
        # Always asked: cargo answers at once when the binary is current, and a stale binary
        # would measure another version of the hub than the checkout claims.
        _run(["cargo", "build", "--release", "-p", "duplex-cli"], REPO, log)
        version = _command_output([str(DUPLEX_BIN), "--version"])
        # "-dirty" when the working tree differs from the commit, so a table never credits a
        # commit with figures measured on uncommitted changes.
        commit = _command_output(["git", "-C", str(REPO), "describe", "--always", "--dirty"])
        if "duplex" in wanted:
            labels["duplex"] = (f"{version} (this checkout, {commit}), Centrifugo protocol, "
                                f"memory engine, history and recovery on")
        if "duplex-pusher" in wanted:
            labels["duplex-pusher"] = (f"{version} (this checkout, {commit}), Pusher protocol 7, "
                                       f"memory engine")

    if wanted & {"socketio", "uws"}:
        if not _node_packages_match_lock():
            _run(["npm", "ci", "--no-audit", "--no-fund"], NODE_DIR, log)
        node = _command_output(["node", "--version"])
        if "socketio" in wanted:
            labels["socketio"] = (
                f"Socket.IO {_node_package_version('socket.io')} (npm; engine.io "
                f"{_node_package_version('engine.io')}, ws {_node_package_version('ws')}), "
                f"default settings, Node {node}")
        if "uws" in wanted:
            labels["uws"] = (
                f"uWebSockets.js {_node_package_version('@trufflesuite/uws-js-unofficial')} "
                f"(npm), pub/sub only, no hub features, Node {node}")

    if "sockudo" in wanted:
        # The script returns at once when the pinned version is already installed.
        _run([str(SOCKUDO_DIR / "install.sh")], REPO, log)
        version = _command_output([str(SOCKUDO_BIN), "--version"])
        labels["sockudo"] = (f"{version} (crates.io), in-memory adapter, rate limits off, "
                             f"default buffers")

    return labels


# --- running -----------------------------------------------------------------------------------


@dataclass
class Started:
    """A running server and what the loader needs to know to drive it."""

    name: str
    proc: subprocess.Popen
    pid: int
    port: int
    protocol: str  # "centrifugo" | "pusher" | "socketio" | "uws"
    ws_url: str
    publish_url: str
    loader_args: list[str]
    workdir: Path
    log_path: Path
    _log_file: object = field(repr=False, default=None)
    _owns_workdir: bool = field(repr=False, default=False)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 5 s; waits for it either way."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> "Started":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _duplex_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items()
            if not key.startswith("DUPLEX_") or key in DUPLEX_ENV_PASSED_ON}


def _sockudo_env(threads: int) -> dict[str, str]:
    """A clean environment: Sockudo lets dozens of ordinary names (PORT, HOST, DEBUG, REDIS_URL,
    QUEUE_DRIVER, ...) override its configuration file, and any of them may be set here."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        # Warnings and errors only: info lines per connection would be measured as server work.
        "RUST_LOG": "warn",
        # Its tokio runtime sizes itself to the visible cores otherwise; stated for clarity.
        "TOKIO_WORKER_THREADS": str(threads),
    }


def _sockudo_config(port: int) -> str:
    text = (SOCKUDO_DIR / "config.template.toml").read_text().replace("@PORT@", str(port))
    # Sockudo skips a file it cannot parse without a word (before its logging starts), so parse
    # it here and fail loudly instead.
    tomllib.loads(text)
    return text


# What pusher-js puts on its WebSocket URL; duplex refuses a connection without the protocol
# version (4008), as Pusher does.
PUSHER_QUERY = "?protocol=7&client=duplex-bench&version=1"


def _command_for(name: str, port: int, threads: int, workdir: Path, engine: str = "memory"):
    """The command, environment, health URL and loader description of one server."""
    http = f"http://{HOST}:{port}"
    if name in ("duplex", "duplex-pusher"):
        config_path = workdir / "duplex-config.json"
        config_path.write_text(json.dumps(DUPLEX_CONFIG, indent=2))
        cmd = [str(DUPLEX_BIN), "-q", "serve", "--config", str(config_path), "--port", str(port),
               "--threads", str(threads), "--engine", engine,
               "--data-dir", str(workdir / "data")]
        if name == "duplex":
            return cmd, _duplex_env(), f"{http}/health", (
                "centrifugo", f"ws://{HOST}:{port}/connection/websocket", f"{http}/api",
                ["--api-key", API_KEY, "--token-secret", TOKEN_SECRET])
        return cmd, _duplex_env(), f"{http}/health", (
            "pusher", f"ws://{HOST}:{port}/app/{PUSHER_APP_KEY}{PUSHER_QUERY}", http,
            PUSHER_LOADER_ARGS)
    if name == "sockudo":
        config_path = workdir / "sockudo.toml"
        config_path.write_text(_sockudo_config(port))
        return [str(SOCKUDO_BIN), "--config", str(config_path)], _sockudo_env(threads), \
            f"{http}/up", ("pusher", f"ws://{HOST}:{port}/app/{PUSHER_APP_KEY}{PUSHER_QUERY}", http,
                           PUSHER_LOADER_ARGS)
    # The Node servers run one event loop whatever `threads` says: that is how they are deployed
    # on one core (more cores means more processes and an adapter between them, not measured).
    script = {"socketio": "hub_socketio.mjs", "uws": "hub_uws.mjs"}[name]
    ws_url = (f"ws://{HOST}:{port}/socket.io/?EIO=4&transport=websocket" if name == "socketio"
              else f"ws://{HOST}:{port}/")
    return ["node", str(NODE_DIR / script), str(port)], dict(os.environ), f"{http}/health", (
        name, ws_url, f"{http}/publish", [])


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
            return True
        except OSError:
            return False


def _listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` itself holds a listening TCP socket on `port`. A health answer alone
    proves nothing when another process (a server left over from an earlier run) holds the port,
    or shares it: uSockets and tokio servers may set SO_REUSEPORT."""
    listening_inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as sockets:
                next(sockets)
                for line in sockets:
                    fields = line.split()
                    local_port = int(fields[1].rsplit(":", 1)[1], 16)
                    if local_port == port and fields[3] == "0A":  # 0A: TCP_LISTEN
                        listening_inodes.add(fields[9])
        except OSError:
            continue
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for descriptor in descriptors:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in listening_inodes:
            return True
    return False


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start(name: str, port: int, cpu: str | None = "0", workdir: Path | str | None = None,
          threads: int = 1, engine: str = "memory") -> Started:
    """Starts a server pinned to `cpu` (taskset -c; None leaves it unpinned), its log and files in
    `workdir` (a new temporary folder, removed by stop(), when not given), and returns once it
    answers its health URL. Raises RuntimeError with the end of its log if it exits first or
    does not answer within 30 s. `engine` is duplex's (memory or sqlite); the peers have one."""
    if name not in SERVERS:
        raise ValueError(f"unknown server {name!r}; known: {', '.join(SERVERS)}")
    if not _port_is_free(port):
        raise RuntimeError(f"cannot start {name}: port {port} is already in use")
    owns_workdir = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix=f"hub-{name}-")) if owns_workdir else Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    cmd, env, health_url, (protocol, ws_url, publish_url, loader_args) = _command_for(
        name, port, threads, workdir, engine)
    if cpu is not None:
        # taskset execs the server, so the PID below is the server's own (for /proc readings).
        cmd = ["taskset", "-c", str(cpu), *cmd]
    log_path = workdir / f"{name}.log"
    log_file = open(log_path, "w")
    # Started from its work folder: Sockudo reads ./config/config.toml before --config.
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    started = Started(name=name, proc=proc, pid=proc.pid, port=port, protocol=protocol,
                      ws_url=ws_url, publish_url=publish_url, loader_args=list(loader_args),
                      workdir=workdir, log_path=log_path, _log_file=log_file,
                      _owns_workdir=owns_workdir)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = started.log_tail()
            started.stop()
            raise RuntimeError(f"{name} exited with {proc.returncode} at start:\n{tail}")
        if _listens_on(proc.pid, port) and _answers(health_url):
            return started
        time.sleep(0.1)
    tail = started.log_tail()
    started.stop()
    raise RuntimeError(f"{name} did not answer {health_url} within {READY_TIMEOUT_S:.0f} s:\n{tail}")


# --- smoke test --------------------------------------------------------------------------------


def smoke_command(server: Started) -> list[str]:
    """The script that checks a started server's whole path: subscribe, publish, receive."""
    port = str(server.port)
    if server.name == "duplex":
        return ["node", str(NODE_DIR / "hub_smoke.mjs"), "centrifugo", port, API_KEY, TOKEN_SECRET]
    if server.protocol == "pusher":
        return ["node", str(SOCKUDO_DIR / "smoke.mjs"), port, PUSHER_APP_ID, PUSHER_APP_KEY,
                PUSHER_APP_SECRET]
    return ["node", str(NODE_DIR / "hub_smoke.mjs"), server.protocol, port]


def smoke(names) -> bool:
    everything_passed = True
    labels: dict[str, str | Exception] = {}
    # Both duplex entries are one binary: prepared together, it is built once. The other servers
    # are prepared one by one so that one failing to build does not hide the others' results.
    hub_names = [name for name in names if name in ("duplex", "duplex-pusher")]
    groups = ([hub_names] if hub_names else []) + [[n] for n in names if n not in hub_names]
    for group in groups:
        try:
            labels.update(prepare(group, log=lambda line: print(line, file=sys.stderr)))
        except Exception as error:
            labels.update({name: error for name in group})
    for name in names:
        try:
            if isinstance(labels[name], Exception):
                raise labels[name]
            label = labels[name]
            with start(name, free_port()) as server:
                result = subprocess.run(smoke_command(server), capture_output=True, text=True,
                                        timeout=60)
                output = (result.stdout + result.stderr).strip()
                if result.returncode == 0:
                    print(f"PASS {name}: {label}\n     {output}")
                else:
                    everything_passed = False
                    print(f"FAIL {name}: {output}\n--- server log ---\n{server.log_tail()}")
        except Exception as error:  # one server's failure must not hide the others' results
            everything_passed = False
            print(f"FAIL {name}: {error}")
        sys.stdout.flush()
    return everything_passed


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "smoke":
        print(__doc__.strip().split("\n\n")[0], file=sys.stderr)
        print(f"usage: python3 {sys.argv[0]} smoke [{' | '.join(SERVERS)} ...]", file=sys.stderr)
        sys.exit(2)
    sys.exit(0 if smoke(sys.argv[2:] or SERVERS) else 1)
