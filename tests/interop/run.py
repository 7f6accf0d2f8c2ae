#!/usr/bin/env python3
"""Interop tests of duplex against peers nobody here wrote.

    python3 tests/interop/run.py [--no-setup] [--no-build] [--self-test] [--timeout SECONDS]

1. setup.sh (Chromium, node_modules, .venv) unless --no-setup;
2. cargo build of `duplex` and the `interop_client` and `axum_upgrade` examples unless --no-build;
3. `duplex echo` on a free port, with three clients against it: Node ws, Python websockets and
   headless Chromium (all three offer permessage-deflate; each checks that nothing is agreed);
   then `duplex echo --deflate` and `--deflate --deflate-lean` (each client checks that
   permessage-deflate is agreed, with both no_context_takeover parameters in lean mode); then
   plain and --deflate over wss:// (`duplex echo --cert --key`) with a CA and a
   server certificate made by the `openssl` CLI at run time: Node trusts the CA through
   NODE_EXTRA_CA_CERTS, Python through SSL_CERT_FILE, and Chromium is started with
   --ignore-certificate-errors;
4. the `axum_upgrade` example (a page at / and a WebSocket echo at /ws on one port): headless
   Chromium loads the page, whose own script must get its message echoed through /ws; then the
   `h2_page` example (crates/duplex, features axum and http2: the same over HTTPS with ALPN h2
   and extended CONNECT): Chromium loads the page over HTTP/2 and its `wss://` must arrive as an
   HTTP/2 extended CONNECT (RFC 8441), which the server says in its answer to `version?`;
5. a Python websockets echo server (deflate on), a Node ws echo server (deflate off) and one with
   `--deflate`, each on a free port, with duplex's interop_client against it twice: without an
   offer (expects no extension) and with `--deflate` (expects what the peer does).

--self-test runs the three clients against the three peer echo servers instead (no duplex needed):
it proves the harness itself.

Prints one line per pair, `PASS <client> -> <server>` or `FAIL <client> -> <server>: <reason>`
(followed by the client's and the server's output), then `interop: N passed, M failed`. Exits 1 on
any failure. Every process it starts is stopped by its PID (its process group), on failure and on
Ctrl-C too.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VENV_PY = os.path.join(HERE, ".venv", "bin", "python")
BUILD_CMD = ["cargo", "build", "--release", "-p", "duplex-cli", "--bin", "duplex",
             "-p", "duplex", "--example", "interop_client",
             "-p", "duplex-examples", "--example", "axum_upgrade"]
# Its own build: duplex's `http2` feature stays out of the binaries above.
H2_BUILD_CMD = ["cargo", "build", "--release", "-p", "duplex", "--features", "axum,http2",
                "--example", "h2_page"]
PROTOCOLS = ["chat", "superchat"]
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import harness  # noqa: E402  (after the path: shared with tests/hub/run.py)
from harness import free_port, stop, stop_all, tail, target_dir  # noqa: E402


def wait_listening(proc, port, timeout):
    """Wait until 127.0.0.1:port accepts TCP connections; returns an error string or None."""
    return harness.wait_ready(
        proc, timeout, harness.tcp_probe(port),
        exited=lambda code: f"server exited with code {code} before listening",
        timed_out=lambda _: f"server not listening on 127.0.0.1:{port} after {timeout:.0f} s")


def reason_from(output, rc):
    fails = [line[5:] for line in output.splitlines() if line.startswith("FAIL ")]
    if fails:
        more = f" (+{len(fails) - 1} more)" if len(fails) > 1 else ""
        return fails[0] + more
    lines = [line for line in output.splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    return f"exit code {rc}: {last}"


class Runner(harness.Reporter):
    """harness.Reporter's PASS/FAIL lines; under a PASS, `details` are the client's info/warn
    lines (e.g. the negotiated extensions)."""

    def __init__(self, workdir, timeout):
        super().__init__()
        self.workdir = workdir
        self.timeout = timeout
        self.n = 0

    def with_server(self, server_name, server_cmd_for_port, clients, scheme="ws", client_env=None):
        """Start a server on a free port, run each (client_name, cmd_for_url) against it."""
        self.n += 1
        port = free_port()
        slog = os.path.join(self.workdir, f"server-{self.n}.log")
        proc = harness.start(server_cmd_for_port(port), slog, ROOT)
        try:
            err = wait_listening(proc, port, 30)
            if err:
                for client_name, _ in clients:
                    self.report(False, f"{client_name} -> {server_name}", err,
                                "server output:\n" + tail(slog))
                return
            url = f"{scheme}://127.0.0.1:{port}"
            for client_name, client_cmd_for_url in clients:
                self.run_client(f"{client_name} -> {server_name}", client_cmd_for_url(url),
                                proc, slog, client_env)
        finally:
            stop(proc)

    def run_client(self, name, cmd, server_proc, slog, env=None):
        self.n += 1
        clog = os.path.join(self.workdir, f"client-{self.n}.log")
        rc, timed_out = harness.run_for(cmd, clog, ROOT, env, self.timeout)
        output = tail(clog, 10_000)
        server_note = ""
        if server_proc.poll() is not None:
            server_note = f" [the server exited with code {server_proc.returncode}]"
        if timed_out:
            self.report(False, name, f"timed out after {self.timeout:.0f} s{server_note}",
                        f"client output:\n{tail(clog)}\nserver output:\n{tail(slog)}")
        elif rc == 0:
            notes = [line for line in output.splitlines()
                     if line.startswith(("info negotiated", "info 1 MiB", "warn "))]
            self.report(True, name, details="\n".join(notes))
        else:
            self.report(False, name, reason_from(output, rc) + server_note,
                        f"client output:\n{tail(clog)}\nserver output (so far):\n{tail(slog, 20)}")


def make_certificates(workdir):
    """A throwaway CA and a certificate it signs for 127.0.0.1 and localhost, with the openssl
    CLI (setup.sh installs it). The server key is written as SEC1 (`EC PRIVATE KEY`), the format
    older tools produce, so that path of the PEM loader is exercised too. Returns the paths
    (ca, cert, key)."""
    d = os.path.join(workdir, "pki")
    os.makedirs(d, exist_ok=True)
    path = lambda name: os.path.join(d, name)  # noqa: E731
    with open(path("server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        ["openssl", "req", "-x509", *ec, "-keyout", path("ca.key"), "-out", path("ca.pem"),
         "-days", "2", "-subj", "/CN=duplex interop CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", *ec, "-keyout", path("server.pkcs8.key"), "-out", path("server.csr"),
         "-subj", "/CN=127.0.0.1"],
        ["openssl", "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"),
         "-CAkey", path("ca.key"), "-CAcreateserial", "-days", "2",
         "-extfile", path("server.ext"), "-out", path("server.pem")],
        ["openssl", "ec", "-in", path("server.pkcs8.key"), "-out", path("server.key")],
    ]
    for cmd in steps:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:3])} failed: {r.stderr.strip()}")
    return path("ca.pem"), path("server.pem"), path("server.key")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-setup", action="store_true", help="skip tests/interop/setup.sh")
    ap.add_argument("--no-build", action="store_true", help="skip the cargo build")
    ap.add_argument("--self-test", action="store_true",
                    help="run the clients against the peer echo servers (no duplex)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per pair (default 120)")
    args = ap.parse_args()

    harness.stop_all_on_signals("interop")

    t_start = time.monotonic()
    if not args.no_setup:
        t0 = time.monotonic()
        r = subprocess.run(["bash", os.path.join(HERE, "setup.sh")], cwd=ROOT)
        if r.returncode != 0:
            print("FAIL setup: tests/interop/setup.sh exited with code", r.returncode)
            print("interop: 0 passed, 1 failed")
            return 1
        print(f"interop: setup took {time.monotonic() - t0:.1f} s", flush=True)

    node = ["node"]
    client_cmds = [
        ("node-ws", node + [os.path.join(HERE, "node_client.mjs")]),
        ("python-websockets", [VENV_PY, os.path.join(HERE, "python_client.py")]),
        ("chromium", node + [os.path.join(HERE, "browser_client.mjs")]),
    ]

    def clients(*flags, only=None):
        """The three clients (or those named in `only`), each given the URL and then `flags`
        (what to expect of the extension negotiation)."""
        return [(name, lambda url, cmd=cmd: cmd + [url, *flags])
                for name, cmd in client_cmds if only is None or name in only]

    # Every client offers permessage-deflate by default (Chromium always does).
    no_deflate = ["--expect-no-deflate"]
    deflate = ["--expect-deflate"]
    lean = deflate + ["--expect-param", "server_no_context_takeover",
                      "--expect-param", "client_no_context_takeover"]
    python_echo = lambda port: [VENV_PY, "-u", os.path.join(HERE, "python_echo_server.py"),  # noqa: E731
                                str(port)]
    node_echo = lambda port: node + [os.path.join(HERE, "node_echo_server.mjs"), str(port)]  # noqa: E731
    # (name, command for a port, client flags: what the peer does with a deflate offer)
    peers = [
        ("python-websockets echo", python_echo, deflate),
        ("node-ws echo", node_echo, no_deflate),
        ("node-ws echo --deflate", lambda port: node_echo(port) + ["--deflate"], deflate),
    ]

    with tempfile.TemporaryDirectory(prefix="duplex-interop-") as workdir:
        runner = Runner(workdir, args.timeout)
        try:
            if args.self_test:
                for peer_name, peer_cmd, flags in peers:
                    runner.with_server(peer_name, peer_cmd, clients(*flags))
            else:
                if not args.no_build:
                    t0 = time.monotonic()
                    print("interop: " + " ".join(BUILD_CMD), flush=True)
                    r = subprocess.run(BUILD_CMD, cwd=ROOT)
                    if r.returncode == 0:
                        print("interop: " + " ".join(H2_BUILD_CMD), flush=True)
                        r = subprocess.run(H2_BUILD_CMD, cwd=ROOT)
                    if r.returncode != 0:
                        print(f"FAIL build: cargo exited with code {r.returncode}")
                        print("interop: 0 passed, 1 failed")
                        return 1
                    print(f"interop: build took {time.monotonic() - t0:.1f} s", flush=True)
                release = os.path.join(target_dir(), "release")
                duplex = os.path.join(release, "duplex")
                interop_client = os.path.join(release, "examples", "interop_client")
                axum_upgrade = os.path.join(release, "examples", "axum_upgrade")
                h2_page = os.path.join(release, "examples", "h2_page")
                for path in (duplex, interop_client, axum_upgrade, h2_page):
                    if not os.access(path, os.X_OK):
                        print(f"FAIL build: {path} is missing (build it, or drop --no-build)")
                        print("interop: 0 passed, 1 failed")
                        return 1

                def duplex_echo(port):
                    cmd = [duplex, "echo", "--listen", f"127.0.0.1:{port}"]
                    for p in PROTOCOLS:
                        cmd += ["--protocol", p]
                    return cmd

                runner.with_server("duplex echo", duplex_echo, clients(*no_deflate))
                runner.with_server("duplex echo --deflate",
                                   lambda port: duplex_echo(port) + ["--deflate"], clients(*deflate))
                runner.with_server("duplex echo --deflate --deflate-lean",
                                   lambda port: duplex_echo(port) + ["--deflate", "--deflate-lean"],
                                   clients(*lean))
                # The page is served by the same listener as the WebSocket: load it over http.
                runner.with_server(
                    "duplex axum_upgrade example",
                    lambda port: [axum_upgrade, f"127.0.0.1:{port}"],
                    [("chromium page", lambda url: node + [
                        os.path.join(HERE, "browser_page.mjs"),
                        "http://" + url.removeprefix("ws://") + "/"])])
                # The same over HTTPS with HTTP/2: the WebSocket must come as an extended CONNECT.
                runner.with_server(
                    "duplex h2_page example (https, ALPN h2)",
                    lambda port: [h2_page, f"127.0.0.1:{port}"],
                    [("chromium over HTTP/2", lambda url: node + [
                        os.path.join(HERE, "browser_h2.mjs"),
                        "https://" + url.removeprefix("ws://") + "/"])])

                try:
                    ca, cert, key = make_certificates(workdir)
                except (RuntimeError, OSError) as e:
                    for client_name, _ in clients:
                        runner.report(False, f"{client_name} -> duplex echo (wss)",
                                      f"could not make certificates: {e}")
                else:
                    tls_env = {"NODE_EXTRA_CA_CERTS": ca, "SSL_CERT_FILE": ca}
                    runner.with_server(
                        "duplex echo (wss)",
                        lambda port: duplex_echo(port) + ["--cert", cert, "--key", key],
                        clients(*no_deflate), scheme="wss", client_env=tls_env)
                    runner.with_server(
                        "duplex echo --deflate (wss)",
                        lambda port: duplex_echo(port) + ["--deflate", "--cert", cert, "--key", key],
                        clients(*deflate), scheme="wss", client_env=tls_env)
                for peer_name, peer_cmd, flags in peers:
                    # Without an offer nothing is agreed; with one, what the peer does with it.
                    runner.with_server(peer_name, peer_cmd, [
                        ("duplex interop_client",
                         lambda url: [interop_client, url, "--expect-no-deflate"]),
                        ("duplex interop_client --deflate",
                         lambda url, flags=flags: [interop_client, url, "--deflate", *flags]),
                    ])
        finally:
            stop_all()

        print(f"interop: took {time.monotonic() - t_start:.1f} s", flush=True)
        print(f"interop: {runner.passed} passed, {runner.failed} failed", flush=True)
        return 0 if runner.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
