#!/usr/bin/env python3
"""Peer echo server for the duplex client: Python `websockets` (asyncio).

Usage: python python_echo_server.py PORT   (listens on 127.0.0.1:PORT, prints "ready PORT";
PORT 0 lets the kernel choose, and the line names the port it chose)

Echoes every text/binary message as the same type; selects the first subprotocol the client
offers that is in SUPPORTED (the client's order wins); answers a close with the same code and
reason (websockets does that itself). permessage-deflate is negotiated when the client offers it
(websockets' default), so this peer exercises compressed frames.
"""
import asyncio
import signal
import sys

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

SUPPORTED = ["chat", "superchat"]


def select_subprotocol(connection, offered):
    for proto in offered:
        if proto in SUPPORTED:
            return proto
    return None


async def echo(ws):
    offered = ws.request.headers.get("Sec-WebSocket-Extensions")
    accepted = ws.response.headers.get("Sec-WebSocket-Extensions")
    print(f"connection from {ws.remote_address[0]}:{ws.remote_address[1]}: "
          f"subprotocol={ws.subprotocol!r} extensions offered={offered!r} accepted={accepted!r}",
          flush=True)
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:  # a close code other than 1000/1001 (e.g. 4000) ends up here
        pass


async def main(port):
    async with serve(
        echo,
        "127.0.0.1",
        port,
        subprotocols=SUPPORTED,
        select_subprotocol=select_subprotocol,
        max_size=64 * 1024 * 1024,
        max_queue=None,
    ) as server:
        print("ready", server.sockets[0].getsockname()[1], flush=True)
        stop = asyncio.get_running_loop().create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
        await stop
        server.close()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: python_echo_server.py PORT")
    asyncio.run(main(int(sys.argv[1])))
