#!/usr/bin/env python3
"""Interop client: Python `websockets` (asyncio) against an echo server.

Usage: python python_client.py ws://127.0.0.1:PORT
           [--expect-deflate [--expect-param NAME]... | --expect-no-deflate]

websockets offers permessage-deflate by default (compression="deflate"). --expect-deflate makes
the negotiation a check: the server's Sec-WebSocket-Extensions must accept permessage-deflate
(with each --expect-param, e.g. server_no_context_takeover) and websockets must have enabled its
PerMessageDeflate extension; --expect-no-deflate requires no extension at all.
Exits 0 when every check passes; otherwise prints "FAIL <check>: <reason>" and exits 1.
"""
import argparse
import asyncio
import json
import os
import sys
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

STEP_TIMEOUT = 30.0
MAX_SIZE = 64 * 1024 * 1024


def ascii_text(n):
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return (alphabet * (n // len(alphabet) + 1))[:n]


def json_text(n):
    """About n bytes of JSON that compresses well but is not one repeated block."""
    parts, length, i = [], 2, 0
    while length < n:
        rec = json.dumps({"seq": i, "user": f"user-{i % 97}", "channel": "general",
                          "text": f"message number {i} from the interop test \u2713",
                          "ts": 1700000000000 + i * 17},
                         separators=(",", ":"), ensure_ascii=False)
        parts.append(rec)
        length += len(rec) + 1
        i += 1
    return "[" + ",".join(parts) + "]"


def deflate_params(header):
    """Parameter names of the permessage-deflate item of a Sec-WebSocket-Extensions value, or
    None when there is no such item."""
    for item in (header or "").split(","):
        name, *params = [p.strip() for p in item.split(";")]
        if name == "permessage-deflate":
            return {p.split("=")[0].strip() for p in params}
    return None


def check_extensions(ws, expect, params):
    header = ws.response.headers.get("Sec-WebSocket-Extensions")
    enabled = [e.name for e in ws.protocol.extensions]
    if expect:
        got = deflate_params(header)
        if got is None:
            raise CheckFailed(f"expected permessage-deflate to be negotiated, the server answered "
                              f"Sec-WebSocket-Extensions: {header!r}")
        if "permessage-deflate" not in enabled:
            raise CheckFailed(f"the answer {header!r} accepted permessage-deflate but websockets "
                              f"enabled {enabled!r}")
        for p in params:
            if p not in got:
                raise CheckFailed(f"expected {p} in the answer, got {header!r}")
    elif header or enabled:
        raise CheckFailed(f"expected no extension, the server answered Sec-WebSocket-Extensions: "
                          f"{header!r} (enabled: {enabled!r})")


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return -1 if len(a) == len(b) else min(len(a), len(b))


def preview(v):
    s = repr(v) if isinstance(v, str) else f"<{len(v)} bytes>"
    return s if len(s) <= 80 else s[:77] + "..."


class CheckFailed(Exception):
    pass


def closed_why(ws):
    rcvd = ws.protocol.close_rcvd
    if rcvd is None:
        return "no close frame received (TCP closed or reset)"
    return f"close code={rcvd.code} reason={rcvd.reason!r}"


async def recv(ws, label):
    try:
        return await asyncio.wait_for(ws.recv(), STEP_TIMEOUT)
    except asyncio.TimeoutError:
        raise CheckFailed(f"{label}: no message within {STEP_TIMEOUT:.0f} s") from None
    except ConnectionClosed:
        raise CheckFailed(f"{label}: connection ended ({closed_why(ws)})") from None


async def echo_text(ws, label, text):
    await ws.send(text)
    got = await recv(ws, label)
    if not isinstance(got, str):
        raise CheckFailed(f"{label}: expected a text message back, got binary ({len(got)} bytes)")
    if got != text:
        raise CheckFailed(
            f"{label}: echo differs: sent {len(text)} chars, got {len(got)} chars, "
            f"first difference at char {first_diff(got, text)}; got {preview(got)}"
        )


async def echo_binary(ws, label, data):
    await ws.send(data)
    got = await recv(ws, label)
    if not isinstance(got, bytes):
        raise CheckFailed(f"{label}: expected a binary message back, got text {preview(got)}")
    if got != data:
        raise CheckFailed(
            f"{label}: echo differs: sent {len(data)} bytes, got {len(got)} bytes, "
            f"first difference at byte {first_diff(got, data)}"
        )


async def open_conn(url, protocols):
    try:
        return await asyncio.wait_for(
            connect(url, subprotocols=protocols, max_size=MAX_SIZE, max_queue=None,
                    open_timeout=STEP_TIMEOUT),
            STEP_TIMEOUT + 5,
        )
    except InvalidStatus as e:
        raise CheckFailed(f"handshake refused: HTTP {e.response.status_code}") from None
    except asyncio.TimeoutError:
        raise CheckFailed(f"handshake timed out after {STEP_TIMEOUT:.0f} s") from None
    except (OSError, Exception) as e:  # InvalidHandshake, NegotiationError, ConnectionRefused...
        raise CheckFailed(f"handshake failed: {type(e).__name__}: {e}") from None


async def run(url, expect_deflate, expect_params):
    failed = 0
    main = None

    async def check(name, coro_fn):
        nonlocal failed
        t0 = time.monotonic()
        try:
            await coro_fn()
            print(f"ok   {name} ({(time.monotonic() - t0) * 1000:.0f} ms)", flush=True)
            return True
        except CheckFailed as e:
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)
        except Exception as e:  # an unexpected exception is a failure too, with its type
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
        return False

    async def first():
        nonlocal main
        main = await open_conn(url, ["superchat", "chat"])
        if main.subprotocol != "superchat":
            raise CheckFailed(f'expected protocol "superchat", got {main.subprotocol!r}')
        ext = main.response.headers.get("Sec-WebSocket-Extensions")
        print(f"info negotiated extensions: {ext or '(none)'} (enabled: "
              f"{[e.name for e in main.protocol.extensions]!r})", flush=True)

    main_checks = []
    if expect_deflate is not None:
        name = ("extensions: permessage-deflate" + "".join(f"; {p}" for p in expect_params)
                + " negotiated") if expect_deflate else "extensions: none negotiated"

        async def extensions():
            check_extensions(main, expect_deflate, expect_params)

        main_checks.append((name, extensions))
    main_checks.append(("text: empty", lambda: echo_text(main, "text empty", "")))
    main_checks.append(("text: multi-byte UTF-8",
                        lambda: echo_text(main, "text utf-8", "héllo wörld ✓ 😀 日本語")))
    for n in (125, 126, 65535, 65536, 1 << 20):
        main_checks.append((f"text: {n} bytes",
                            lambda n=n: echo_text(main, f"text {n} bytes", ascii_text(n))))
    main_checks.append(("text: 1 MiB of JSON (compressible)",
                        lambda: echo_text(main, "text 1 MiB JSON", json_text(1 << 20))))
    for n in (0, 1, 125, 126, 65536, 1 << 20):
        main_checks.append((f"binary: {n} bytes",
                            lambda n=n: echo_binary(main, f"binary {n} bytes", os.urandom(n))))

    async def burst():
        n = 1000
        for i in range(n):
            await main.send(f"burst {i}")
        for i in range(n):
            got = await recv(main, f"burst message {i}")
            if got != f"burst {i}":
                raise CheckFailed(f'burst: message {i} expected "burst {i}", got {preview(got)}')

    main_checks.append(("burst: 1000 messages in order", burst))

    async def close_check():
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(main.close(4000, "bye ✓"), STEP_TIMEOUT)
        except asyncio.TimeoutError:
            raise CheckFailed(f"close handshake did not finish within {STEP_TIMEOUT:.0f} s") from None
        took = time.monotonic() - t0
        if took > 2:
            print(f"warn close handshake took {took:.1f} s: the server did not close the TCP "
                  f"connection after the close frames (websockets waits close_timeout, then "
                  f"closes it itself)", flush=True)
        rcvd = main.protocol.close_rcvd
        if rcvd is None:
            raise CheckFailed("expected server close code=4000 reason='bye ✓', got no close frame "
                              "(connection dropped)")
        if rcvd.code != 4000 or rcvd.reason != "bye ✓":
            raise CheckFailed(f"expected server close code=4000 reason='bye ✓', "
                              f"got code={rcvd.code} reason={rcvd.reason!r}")

    if await check("handshake offering [superchat, chat] selects superchat", first) or main:
        for name, fn in main_checks:
            if main.protocol.close_rcvd is not None or main.state.name != "OPEN":
                print(f"skip {name}: the first connection is gone ({closed_why(main)})", flush=True)
                continue
            await check(name, fn)
        await check('close 4000 "bye ✓" is echoed', close_check)

    async def second():
        conn = await open_conn(url, ["chat"])
        proto = conn.subprotocol
        await asyncio.wait_for(conn.close(), STEP_TIMEOUT)
        if proto != "chat":
            raise CheckFailed(f'expected protocol "chat", got {proto!r}')

    await check("handshake offering [chat] selects chat", second)
    return failed


def main():
    ap = argparse.ArgumentParser(description="websockets interop client")
    ap.add_argument("url")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--expect-deflate", dest="expect", action="store_true", default=None,
                   help="permessage-deflate must be negotiated")
    g.add_argument("--expect-no-deflate", dest="expect", action="store_false",
                   help="no extension may be negotiated")
    ap.add_argument("--expect-param", action="append", default=[], metavar="NAME",
                    help="with --expect-deflate: this parameter must be in the answer")
    args = ap.parse_args()
    if args.expect_param and args.expect is not True:
        ap.error("--expect-param needs --expect-deflate")
    failed = asyncio.run(run(args.url, args.expect, args.expect_param))
    if failed:
        print(f"python-websockets client: {failed} check(s) failed")
        sys.exit(1)
    print("python-websockets client: all checks passed")


if __name__ == "__main__":
    main()
