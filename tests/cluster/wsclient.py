"""A minimal Centrifugo-protocol client over WebSocket, in the standard library only (asyncio
streams), for the multi-node harness: it needs exact control over positions (offset, epoch,
recover) and to see every push as it came, with nothing installed.

Speaks RFC 6455 as a client (masked frames, fragment reassembly, ping/pong, close) and the JSON
client protocol: newline-separated commands `{"id":N,"connect":{...}}`, replies with the same id,
pushes without id, and the server's `{}` pings, answered with `{}`.
"""
import asyncio
import base64
import json
import os

STEP = 10.0  # seconds to wait for one reply


class Closed(Exception):
    """The connection is gone (closed by the server, killed node, reset)."""


class Client:
    def __init__(self, reader, writer, name):
        self.reader, self.writer, self.name = reader, writer, name
        self.next_id = 0
        self.waiting = {}  # id -> future of the reply
        self.pushes = asyncio.Queue()  # every push dict, in arrival order
        self.closed = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self._read_loop())

    @classmethod
    async def open(cls, port, name="client", path="/connection/websocket"):
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), STEP)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), STEP)
        if not head.startswith(b"HTTP/1.1 101"):
            writer.close()
            raise Closed(f"{name}: upgrade refused: {head.splitlines()[0]!r}")
        return cls(reader, writer, name)

    async def _frame(self):
        b0, b1 = await self.reader.readexactly(2)
        length = b1 & 0x7F
        if length == 126:
            length = int.from_bytes(await self.reader.readexactly(2), "big")
        elif length == 127:
            length = int.from_bytes(await self.reader.readexactly(8), "big")
        if b1 & 0x80:
            raise Closed("a server frame was masked")
        return b0 & 0x80, b0 & 0x0F, await self.reader.readexactly(length)

    async def _read_loop(self):
        message, why = b"", "closed"
        try:
            while True:
                fin, opcode, payload = await self._frame()
                if opcode == 0x9:
                    self._send_frame(0xA, payload)
                    continue
                if opcode == 0x8:
                    code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                    why = f"close {code} {payload[2:].decode(errors='replace')}"
                    break
                if opcode == 0xA:
                    continue
                message += payload
                if not fin:
                    continue
                text, message = message.decode(), b""
                for line in text.split("\n"):
                    if line.strip():
                        self._dispatch(json.loads(line))
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as e:
            why = f"connection lost: {e!r}"
        finally:
            if not self.closed.done():
                self.closed.set_result(why)
            for future in self.waiting.values():
                if not future.done():
                    future.set_exception(Closed(why))
            self.pushes.put_nowait(None)  # wakes a reader waiting for pushes

    def _dispatch(self, reply):
        if not reply:  # the server's ping: answer with a pong
            self._send_frame(0x1, b"{}")
        elif reply.get("id"):
            future = self.waiting.pop(reply["id"], None)
            if future and not future.done():
                future.set_result(reply)
        elif "push" in reply:
            self.pushes.put_nowait(reply["push"])

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        try:
            self.writer.write(header + mask + masked)
        except (ConnectionError, OSError, RuntimeError):
            pass

    async def call(self, method, params):
        """Sends one command and returns its reply's `method` part; a reply error raises."""
        if self.closed.done():
            raise Closed(self.closed.result())
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = future
        self._send_frame(0x1, json.dumps({"id": self.next_id, method: params}).encode())
        reply = await asyncio.wait_for(future, STEP)
        if "error" in reply:
            raise RuntimeError(f"{self.name}: {method} failed: {reply['error']}")
        return reply.get(method, {})

    async def connect(self, token):
        return await self.call("connect", {"token": token, "name": "cluster-harness"})

    async def subscribe(self, channel, recover_from=None):
        params = {"channel": channel}
        if recover_from is not None:
            offset, epoch = recover_from
            params.update({"recover": True, "offset": offset, "epoch": epoch})
        return await self.call("subscribe", params)

    async def next_push(self, timeout=STEP):
        """The next push, or None when the connection closed first."""
        return await asyncio.wait_for(self.pushes.get(), timeout)

    async def close(self):
        self.task.cancel()
        try:
            self.writer.close()
        except (ConnectionError, OSError, RuntimeError):
            pass
