#!/usr/bin/env python3
"""A stand-in hub for `run.py --self-test` only: just enough of Centrifugo's client protocol v2
(JSON and Protobuf) and server HTTP API, as the scenarios read them, for every check to be able
to pass, so the harness itself (the SDK calls, event handling, gates, timing, reporting) is
proven before duplex's hub exists. It is NOT a reference: it holds the same reading of
Centrifugo's documentation as the checks do, and says nothing about duplex. One process, memory
only, no limits, no pings.

    .venv/bin/python fake_hub.py serve --config config.json --port P [--break FAULT]

`--break` plants one of FAULTS, so that the self-test can see the checks catch it.
"""
import argparse
import base64
import fnmatch
import hashlib
import hmac
import json
import secrets
import sys
import time
import uuid

from aiohttp import WSMsgType, web
from google.protobuf.json_format import MessageToDict, ParseDict

import centrifuge.protocol.client_pb2 as pb


# Faults the self-test plants to prove the checks fail for real (see run.py MUTATIONS).
FAULTS = {
    "recovery-duplicate": "recovery sends again the last publication the client already had",
    "drop-one": "the 100th publication of a channel never reaches subscribers",
    "private-open": "private channels let anyone subscribe without a token",
    "no-ttl": "connect replies never say that the token expires",
    "idempotency-ignored": "a repeated idempotency_key publishes again",
}
FAULT = None


class Refusal(Exception):
    """A command's error reply (Centrifugo's client error codes)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


UNKNOWN_CHANNEL = (102, "unknown channel")
PERMISSION_DENIED = (103, "permission denied")
TOKEN_EXPIRED = (109, "token expired")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def verify(secret, token):
    """HS256 claims, or None when the signature or the form is wrong."""
    try:
        head, body, sig = token.split(".")
        want = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(want, b64url_decode(sig)):
            return None
        return json.loads(b64url_decode(body))
    except (ValueError, TypeError):
        return None


FOSSIL_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"


def fossil_number(n):
    out = ""
    while True:
        out = FOSSIL_DIGITS[n & 63] + out
        n >>= 6
        if not n:
            return out


def fossil_delta(source, target):
    """The simplest valid fossil delta: copy the common prefix, insert the rest."""
    prefix = 0
    while prefix < min(len(source), len(target)) and source[prefix] == target[prefix]:
        prefix += 1
    out = (fossil_number(len(target)) + "\n").encode()
    if prefix:
        out += f"{fossil_number(prefix)}@0,".encode()
    if prefix < len(target):
        out += f"{fossil_number(len(target) - prefix)}:".encode() + target[prefix:]
    padded = target + b"\0" * (-len(target) % 4)  # the checksum sums big-endian words
    total = sum(int.from_bytes(padded[i:i + 4], "big") for i in range(0, len(padded), 4))
    return out + fossil_number(total & 0xFFFFFFFF).encode() + b";"


class Conn:
    def __init__(self, hub, ws, protobuf):
        self.hub, self.ws, self.protobuf = hub, ws, protobuf
        self.id = str(uuid.uuid4())
        self.user = None
        self.info = None  # raw JSON bytes of the token's info claim
        self.channels = set()
        self.deltas = {}  # channel -> the payload this delta subscriber last got (None: none)

    def client_info(self):
        d = {"user": self.user, "client": self.id}
        if self.info is not None:
            d["conn_info"] = self.hub.render(self.info, self.protobuf)
        return d

    async def send(self, replies):
        if self.ws.closed:
            return
        if self.protobuf:
            out = b""
            for r in replies:
                raw = ParseDict(r, pb.Reply()).SerializeToString()
                out += varint(len(raw)) + raw
            await self.ws.send_bytes(out)
        else:
            await self.ws.send_str("\n".join(json.dumps(r) for r in replies))


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


class Hub:
    def __init__(self, cfg):
        client = cfg.get("client", {})
        self.secret = client.get("token", {}).get("hmac_secret_key", "")
        self.origins = client.get("allowed_origins", [])
        self.api_key = cfg.get("http_api", {}).get("key", "")
        self.ns = {n["name"]: n for n in cfg.get("channel", {}).get("namespaces", [])}
        self.conns = {}  # id -> Conn
        self.subs = {}  # channel -> {conn id}
        self.streams = {}  # channel -> {"epoch", "top", "pubs": [pub dicts with raw data]}
        self.idempotent = {}  # (channel, key) -> result
        self.started = time.time()

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def render(raw, protobuf):
        """A payload (JSON bytes) as each encoding carries it."""
        return base64.b64encode(raw).decode() if protobuf else json.loads(raw)

    def namespace(self, channel):
        name = channel.split(":", 1)[0] if ":" in channel else None
        if name is None or name not in self.ns:
            raise Refusal(*UNKNOWN_CHANNEL)
        return self.ns[name]

    def stream(self, channel):
        return self.streams.setdefault(channel, {"epoch": secrets.token_hex(4), "top": 0, "pubs": []})

    def pub_dict(self, p, protobuf):
        d = {"data": self.render(p["data"], protobuf), "offset": p["offset"]}
        if p.get("tags"):
            d["tags"] = p["tags"]
        if p.get("info"):
            info = dict(p["info"])
            if "conn_info" in info:
                info["conn_info"] = self.render(info["conn_info"], protobuf)
            d["info"] = info
        return d

    async def publish(self, channel, raw, tags=None, info=None, key=None):
        ns = self.namespace(channel)
        if key and (channel, key) in self.idempotent and FAULT != "idempotency-ignored":
            return self.idempotent[(channel, key)]
        p = {"data": raw, "tags": tags or {}, "info": info}
        if ns.get("history_size"):
            st = self.stream(channel)
            st["top"] += 1
            p["offset"] = st["top"]
            st["pubs"].append(p)
            del st["pubs"][:-ns["history_size"]]
            result = {"offset": st["top"], "epoch": st["epoch"]}
        else:
            p["offset"] = 0
            result = {}
        if key:
            self.idempotent[(channel, key)] = result
        if FAULT == "drop-one" and p["offset"] == 100:
            return result
        for cid in list(self.subs.get(channel, ())):
            c = self.conns.get(cid)
            if c:
                d = self.pub_dict(p, c.protobuf)
                if channel in c.deltas:
                    d = self.delta_pub(d, raw, c, channel, ns.get("delta_publish"))
                await c.send([{"push": {"channel": channel, "pub": d}}])
        return result

    @staticmethod
    def delta_pub(d, raw, conn, channel, deltas):
        """A publication as a delta subscriber takes it: a fossil delta from the payload it
        last got (the first whole); in JSON the bytes travel as a JSON string."""
        prev = conn.deltas[channel]
        data = raw
        if deltas and prev is not None:
            data = fossil_delta(prev, raw)
            d["delta"] = True
        conn.deltas[channel] = raw
        d["data"] = base64.b64encode(data).decode() if conn.protobuf else data.decode()
        return d

    def users_in(self, channel):
        return {self.conns[c].user for c in self.subs.get(channel, ()) if c in self.conns}

    async def join_leave(self, channel, conn, kind, users_before):
        ns = self.ns.get(channel.split(":", 1)[0], {})
        if not (ns.get("join_leave") and ns.get("force_push_join_leave")):
            return
        if ns.get("user_presence") and ((kind == "join" and conn.user in users_before)
                                        or (kind == "leave" and conn.user in self.users_in(channel))):
            return
        for cid in list(self.subs.get(channel, ())):
            c = self.conns.get(cid)
            if c and c is not conn:
                await c.send([{"push": {"channel": channel, kind: {"info": conn.client_info()}}}])

    async def add_sub(self, channel, conn):
        before = self.users_in(channel)
        self.subs.setdefault(channel, set()).add(conn.id)
        conn.channels.add(channel)
        await self.join_leave(channel, conn, "join", before)

    async def remove_sub(self, channel, conn):
        before = self.users_in(channel)
        self.subs.get(channel, set()).discard(conn.id)
        conn.channels.discard(channel)
        conn.deltas.pop(channel, None)
        if not self.subs.get(channel):
            self.subs.pop(channel, None)
        await self.join_leave(channel, conn, "leave", before)

    def history(self, channel, limit, since, reverse):
        st = self.stream(channel)
        pubs = st["pubs"]
        if since:
            pubs = [p for p in pubs if p["offset"] > int(since.get("offset", 0))]
        if reverse:
            pubs = list(reversed(pubs))
        pubs = pubs[:limit] if limit and limit > 0 else []
        return st, pubs

    # -- the client protocol ---------------------------------------------------------------------
    def token_claims(self, token):
        claims = verify(self.secret, token or "")
        if claims is None:
            raise Refusal(3500, "invalid token")  # a disconnect, see handle()
        if claims.get("exp") and claims["exp"] < time.time():
            raise Refusal(*TOKEN_EXPIRED)
        return claims

    def expiry(self, claims):
        if FAULT == "no-ttl" or not claims.get("exp"):
            return {}
        return {"expires": True, "ttl": max(1, int(claims["exp"] - time.time()))}

    async def command(self, conn, cmd):
        if "connect" in cmd:
            claims = self.token_claims(cmd["connect"].get("token"))
            conn.user = claims.get("sub", "")
            if "info" in claims:
                conn.info = json.dumps(claims["info"]).encode()
            self.conns[conn.id] = conn
            return {"connect": {"client": conn.id, "version": "fake", **self.expiry(claims)}}
        if conn.user is None:
            raise Refusal(3501, "bad request")
        if "refresh" in cmd:
            claims = self.token_claims(cmd["refresh"].get("token"))
            return {"refresh": {"client": conn.id, "version": "fake", **self.expiry(claims)}}
        if "subscribe" in cmd:
            req = cmd["subscribe"]
            ch = req["channel"]
            ns = self.namespace(ch)
            if not ns.get("allow_subscribe_for_client") and FAULT != "private-open":
                claims = verify(self.secret, req.get("token", "")) if req.get("token") else None
                if not claims or claims.get("channel") != ch or claims.get("sub") != conn.user:
                    raise Refusal(*PERMISSION_DENIED)
            res, missed = {}, []
            if ns.get("force_recovery"):
                st = self.stream(ch)
                res = {"recoverable": True, "positioned": True, "epoch": st["epoch"], "offset": st["top"]}
                if req.get("recover"):
                    ok = req.get("epoch") == st["epoch"]
                    since = int(req.get("offset", 0)) - (1 if FAULT == "recovery-duplicate" else 0)
                    missed = [p for p in st["pubs"] if p["offset"] > since]
                    res.update(was_recovering=True, recovered=ok,
                               publications=[self.pub_dict(p, conn.protobuf) for p in missed])
            if req.get("delta") == "fossil" and "fossil" in ns.get("allowed_delta_types", []):
                res["delta"] = True
                conn.deltas[ch] = None
                for d, p in zip(res.get("publications", []), missed):
                    self.delta_pub(d, p["data"], conn, ch, False)
            await self.add_sub(ch, conn)
            return {"subscribe": res}
        if "unsubscribe" in cmd:
            await self.remove_sub(cmd["unsubscribe"]["channel"], conn)
            return {"unsubscribe": {}}
        for name in ("publish", "presence", "presence_stats", "history"):
            if name in cmd:
                req = cmd[name]
                ch = req["channel"]
                self.namespace(ch)
                if ch not in conn.channels:
                    raise Refusal(*PERMISSION_DENIED)
                break
        else:
            raise Refusal(104, "method not found")
        if name == "publish":
            raw = base64.b64decode(req["data"]) if conn.protobuf else json.dumps(req["data"]).encode()
            info = {"user": conn.user, "client": conn.id}
            if conn.info is not None:
                info["conn_info"] = conn.info
            await self.publish(ch, raw, info=info)
            return {"publish": {}}
        if name == "presence":
            return {"presence": {"presence": {cid: self.conns[cid].client_info()
                                              for cid in self.subs.get(ch, ())}}}
        if name == "presence_stats":
            return {"presence_stats": {"num_clients": len(self.subs.get(ch, ())),
                                       "num_users": len(self.users_in(ch))}}
        st, pubs = self.history(ch, int(req.get("limit", 0)), req.get("since"), req.get("reverse"))
        return {"history": {"publications": [self.pub_dict(p, conn.protobuf) for p in pubs],
                            "epoch": st["epoch"], "offset": st["top"]}}

    async def websocket(self, request):
        origin = request.headers.get("Origin")
        if origin and "*" not in self.origins and origin not in self.origins:
            return web.Response(status=403, text="origin not allowed")
        protobuf = "centrifuge-protobuf" in request.headers.get("Sec-WebSocket-Protocol", "")
        ws = web.WebSocketResponse(protocols=["centrifuge-protobuf"] if protobuf else [])
        await ws.prepare(request)
        conn = Conn(self, ws, protobuf)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and not protobuf:
                    cmds = [json.loads(line) for line in msg.data.split("\n") if line.strip()]
                elif msg.type == WSMsgType.BINARY and protobuf:
                    cmds, data, pos = [], msg.data, 0
                    while pos < len(data):
                        n, shift = 0, 0
                        while True:
                            b = data[pos]
                            pos += 1
                            n |= (b & 0x7F) << shift
                            shift += 7
                            if not b & 0x80:
                                break
                        c = pb.Command()
                        c.ParseFromString(data[pos:pos + n])
                        pos += n
                        cmds.append(MessageToDict(c, preserving_proto_field_name=True))
                else:
                    break
                replies = []
                for cmd in cmds:
                    try:
                        r = await self.command(conn, cmd)
                    except Refusal as e:
                        if e.code >= 3000:
                            await conn.send(replies)
                            await ws.close(code=e.code, message=e.message.encode())
                            return ws
                        r = {"error": {"code": e.code, "message": e.message}}
                    replies.append({"id": int(cmd.get("id", 0)), **r})
                await conn.send(replies)
        finally:
            self.conns.pop(conn.id, None)
            for ch in list(conn.channels):
                await self.remove_sub(ch, conn)
        return ws

    # -- the server API --------------------------------------------------------------------------
    def conns_of(self, user):
        return [c for c in list(self.conns.values()) if c.user == user]

    async def api_call(self, method, req):
        if method == "publish":
            raw = json.dumps(req.get("data")).encode()
            return await self.publish(req["channel"], raw, req.get("tags"), None, req.get("idempotency_key"))
        if method == "broadcast":
            out = []
            for ch in req["channels"]:
                try:
                    out.append({"result": await self.publish(ch, json.dumps(req.get("data")).encode(), req.get("tags"))})
                except Refusal as e:
                    out.append({"error": {"code": e.code, "message": e.message}})
            return {"responses": out}
        if method in ("subscribe", "unsubscribe"):
            ch = req["channel"]
            self.namespace(ch)
            for c in self.conns_of(req["user"]):
                if method == "subscribe":
                    await self.add_sub(ch, c)
                    await c.send([{"push": {"channel": ch, "subscribe": {}}}])
                else:
                    await self.remove_sub(ch, c)
                    await c.send([{"push": {"channel": ch, "unsubscribe": {"code": 2000, "reason": "server unsubscribe"}}}])
            return {}
        if method in ("disconnect", "refresh"):
            if method == "refresh" and not req.get("expired"):
                return {}
            d = req.get("disconnect") or {"code": 3503, "reason": "force disconnect"}
            if method == "refresh":
                d = {"code": 3005, "reason": "connection expired"}
            for c in self.conns_of(req["user"]):
                await c.ws.close(code=d["code"], message=d.get("reason", "").encode())
            return {}
        if method in ("presence", "presence_stats", "history", "history_remove"):
            ch = req["channel"]
            self.namespace(ch)
            if method == "presence":
                return {"presence": {cid: self.conns[cid].client_info() for cid in self.subs.get(ch, ())}}
            if method == "presence_stats":
                return {"num_clients": len(self.subs.get(ch, ())), "num_users": len(self.users_in(ch))}
            if method == "history_remove":
                self.stream(ch)["pubs"] = []
                return {}
            st, pubs = self.history(ch, int(req.get("limit") or 0), req.get("since"), req.get("reverse"))
            return {"publications": [self.pub_dict(p, False) for p in pubs], "epoch": st["epoch"], "offset": st["top"]}
        if method == "channels":
            pat = req.get("pattern") or "*"
            return {"channels": {ch: {"num_clients": len(ids)} for ch, ids in self.subs.items()
                                 if fnmatch.fnmatchcase(ch, pat)}}
        if method == "info":
            return {"nodes": [{"uid": "fake-node", "name": "fake", "version": "fake",
                               "num_clients": len(self.conns),
                               "num_users": len({c.user for c in self.conns.values()}),
                               "num_channels": len(self.subs),
                               "num_subs": sum(len(s) for s in self.subs.values()),
                               "uptime": int(time.time() - self.started)}]}
        raise Refusal(104, "method not found")

    async def api(self, request):
        if request.headers.get("X-API-Key") != self.api_key:
            return web.Response(status=401, text="unauthorized")
        method = request.match_info["method"]
        req = await request.json()
        if method == "batch":
            replies = []
            for cmd in req.get("commands", []):
                (name, body), = cmd.items()
                try:
                    replies.append({name: await self.api_call(name, body)})
                except Refusal as e:
                    replies.append({"error": {"code": e.code, "message": e.message}})
            return web.json_response({"replies": replies})
        try:
            return web.json_response({"result": await self.api_call(method, req)})
        except Refusal as e:
            return web.json_response({"error": {"code": e.code, "message": e.message}})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["serve"])
    ap.add_argument("--config", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--break", dest="fault", choices=sorted(FAULTS))
    args = ap.parse_args()
    global FAULT
    FAULT = args.fault
    with open(args.config) as f:
        hub = Hub(json.load(f))
    app = web.Application()
    app.router.add_get("/connection/websocket", hub.websocket)
    app.router.add_post("/api/{method}", hub.api)
    app.router.add_get("/health", lambda _: web.json_response({}))
    print(f"fake hub on 127.0.0.1:{args.port}" + (f", broken: {FAULTS[FAULT]}" if FAULT else ""),
          flush=True)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    sys.exit(main())
