#!/usr/bin/env python3
"""centrifuge-python (PyPI `centrifuge-python`, import name `centrifuge`) against the hub, over
JSON or, with `--protobuf`, over Protobuf (`use_protobuf=True`: payloads are bytes). The same
checks as js_checks.mjs, in the Python SDK's terms.

    HUB_*=... .venv/bin/python python_client.py [--protobuf] [--only CHECK]

Every check makes its own clients on channels of its own; prints `plan`, then `ok`/`FAIL` per
check; exits 0 when all pass.
"""
import asyncio
import json
import sys
import time

from centrifuge import (Client, ClientEventHandler, DeltaType, StreamPosition,
                        SubscriptionEventHandler)

from hublib import (STEP, Api, Settings, expect_eq, inbox_handlers, parse_args, run_client,
                    short)

CHECKS = ["connect", "publish-from-client", "api-publish-200", "presence", "history",
          "join-leave", "private-refused", "private-token", "expired-token", "token-refresh",
          "recovery", "user-presence", "delta"]


class ClientEvents(inbox_handlers("connecting", "connected", "disconnected", "error"),
                   ClientEventHandler):
    """Every client event into an inbox. `gate`, when set, is awaited in on_connecting: the SDK
    awaits that handler before it schedules the reconnect, so the client stays away meanwhile."""

    def __init__(self):
        super().__init__()
        self.gate = None

    async def on_connecting(self, ctx):
        await super().on_connecting(ctx)
        if self.gate is not None:
            await self.gate.wait()


class SubEvents(inbox_handlers("subscribed", "unsubscribed", "publication", "join", "leave", "error"),
                SubscriptionEventHandler):
    def __init__(self, channel):
        super().__init__(f" on {channel}")


async def main():
    only, flags = parse_args(CHECKS)
    protobuf = "--protobuf" in flags
    s = Settings()
    api = Api(s.api_url, s.api_key)
    tag = s.tag
    clients = []

    def enc(v):
        return json.dumps(v).encode() if protobuf else v

    def dec(d):
        if not protobuf:
            return d
        return json.loads(d) if d else None

    def ch(ns, name):
        return f"{ns}:{tag}-{name}"

    def new_client(user=None, token=None, **kw):
        ev = ClientEvents()
        c = Client(s.ws_url, events=ev, token=token if token is not None else s.token(user),
                   use_protobuf=protobuf, timeout=STEP, name="duplex-hub-test",
                   min_reconnect_delay=0.1, max_reconnect_delay=2.0, proxy=None, **kw)
        clients.append(c)
        return c, ev

    async def connect(c, ev, what="connect"):
        """connect() runs the first attempt to its end; then connected, or why not."""
        await c.connect()
        deadline = time.monotonic() + STEP
        while time.monotonic() < deadline:
            if ev.inbox["connected"].items:
                # connect()'s own on_connecting (code 0, "connect called") is not news.
                ev.inbox["connecting"].items = [x for x in ev.inbox["connecting"].items if x.code]
                return ev.inbox["connected"].items.pop(0)
            if ev.inbox["error"].items:
                e = ev.inbox["error"].items[0]
                raise AssertionError(f"{what}: error before connected: code {e.code}: {e.error!r}"
                                     f" (is the hub listening at {s.ws_url}?)")
            if ev.inbox["disconnected"].items:
                d = ev.inbox["disconnected"].items[0]
                raise AssertionError(f"{what}: disconnected: code {d.code} {d.reason!r}")
            await asyncio.sleep(0.02)
        raise AssertionError(f"{what}: not connected within {STEP:g} s")

    async def connected_client(user, **claims):
        c, ev = new_client(token=s.token(user, **claims))
        ctx = await connect(c, ev, f"connect as {user}")
        return c, ev, ctx

    async def subscribed_to(c, channel, **kw):
        sev = SubEvents(channel)
        sub = c.new_subscription(channel, events=sev, **kw)
        await sub.subscribe()
        try:
            ctx = await sev.inbox["subscribed"].next(what=f"subscribe {channel}")
        except AssertionError:
            u = sev.inbox["unsubscribed"].items
            if u:
                raise AssertionError(f"subscribe {channel}: unsubscribed: code {u[0].code} "
                                     f"{u[0].reason!r}") from None
            raise
        return sub, sev, ctx

    async def publish_seq(channel, start, n):
        offsets = []
        for i in range(start, start + n):
            r = await api("publish", {"channel": channel, "data": {"seq": i}})
            offsets.append(int(r.get("offset", 0)))
        return offsets

    def check_sequence(got, start, what, offsets=None):
        for i, ctx in enumerate(got):
            data = dec(ctx.pub.data)
            if not isinstance(data, dict) or data.get("seq") != start + i:
                raise AssertionError(f"{what}: publication {i} carries {short(data)}, "
                                     f"expected seq {start + i}")
            if offsets is not None and ctx.pub.offset != offsets[i]:
                raise AssertionError(f"{what}: publication {i} has offset {ctx.pub.offset}, "
                                     f"the API said {offsets[i]}")
            if i and ctx.pub.offset != got[i - 1].pub.offset + 1:
                raise AssertionError(f"{what}: offsets not consecutive: "
                                     f"{got[i - 1].pub.offset} then {ctx.pub.offset}")

    async def c_connect():
        c, _, ctx = await connected_client(f"{tag}-u1", info={"name": "one"})
        if not ctx.client:
            raise AssertionError(f"connected without a client id: {ctx!r}")
        print(f"info connected: client {ctx.client}, server version {ctx.version!r}", flush=True)

    async def c_publish_from_client():
        user = f"{tag}-pub"
        c, _, ctx = await connected_client(user)
        sub, sev, _ = await subscribed_to(c, ch("chat", "pub"))
        msg = {"text": "hello from the SDK ✓", "n": 1}
        await sub.publish(enc(msg))
        p = (await sev.inbox["publication"].next()).pub
        expect_eq(dec(p.data), msg, "publication data")
        if p.info is None:
            raise AssertionError("a client publication must carry info (the publisher)")
        expect_eq((p.info.client, p.info.user), (ctx.client, user), "info (client, user)")
        if p.offset <= 0:
            raise AssertionError(f"offset {p.offset}: chat keeps history, so it must be > 0")
        await sev.inbox["publication"].none(0.2, "a second copy of the publication")

    async def c_api_publish_200():
        c, _, _ = await connected_client(f"{tag}-stream")
        channel = ch("chat", "stream")
        _, sev, _ = await subscribed_to(c, channel)
        offsets = await publish_seq(channel, 0, 200)
        got = await sev.inbox["publication"].take(200, what="API publications")
        check_sequence(got, 0, "API publications", offsets)
        for g in got:
            if g.pub.info is not None:
                raise AssertionError(f"a server API publication carries info {g.pub.info!r}")
        await sev.inbox["publication"].none(0.3, "publications beyond the 200")

    async def c_presence():
        user = f"{tag}-pres"
        c, _, ctx = await connected_client(user, info={"role": "tester"})
        sub, _, _ = await subscribed_to(c, ch("chat", "presence"))
        p = await sub.presence()
        expect_eq(list(p.clients), [ctx.client], "presence client ids")
        info = p.clients[ctx.client]
        expect_eq(info.user, user, "presence user")
        expect_eq(dec(info.conn_info), {"role": "tester"}, "presence conn_info (the info claim)")
        st = await sub.presence_stats()
        expect_eq((st.num_clients, st.num_users), (1, 1), "(num_clients, num_users)")

    async def c_history():
        c, _, _ = await connected_client(f"{tag}-hist")
        channel = ch("chat", "history")
        sub, sev, _ = await subscribed_to(c, channel)
        offsets = await publish_seq(channel, 0, 5)
        await sev.inbox["publication"].take(5)
        top = await sub.history(limit=0)
        expect_eq(len(top.publications), 0, "history limit 0: publications")
        expect_eq(top.offset, offsets[4], "history: top offset")
        if not top.epoch:
            raise AssertionError("history: no epoch")
        first = await sub.history(limit=2)
        expect_eq([p.offset for p in first.publications], offsets[:2], "history limit 2: offsets")
        expect_eq([dec(p.data)["seq"] for p in first.publications], [0, 1], "history limit 2: data")
        since = await sub.history(limit=10, since=StreamPosition(offset=offsets[1], epoch=top.epoch))
        expect_eq([p.offset for p in since.publications], offsets[2:], "history since: offsets")
        expect_eq(since.epoch, top.epoch, "history since: epoch")
        rev = await sub.history(limit=2, reverse=True)
        expect_eq([p.offset for p in rev.publications], [offsets[4], offsets[3]],
                  "history limit 2 reverse: offsets")

    async def c_join_leave():
        channel = ch("chat", "joinleave")
        a, _, _ = await connected_client(f"{tag}-a")
        _, sev, _ = await subscribed_to(a, channel)
        user_b = f"{tag}-b"
        b, _, bctx = await connected_client(user_b, info={"name": "B"})
        await subscribed_to(b, channel)
        j = await sev.inbox["join"].next(lambda x: x.info.user == user_b,
                                         what="join of the second client")
        expect_eq(j.info.client, bctx.client, "join: client")
        expect_eq(dec(j.info.conn_info), {"name": "B"}, "join: conn_info")
        await b.disconnect()
        l = await sev.inbox["leave"].next(lambda x: x.info.user == user_b,
                                          what="leave of the second client")
        expect_eq(l.info.client, bctx.client, "leave: client")
        await sev.inbox["join"].none(0.2, "a second join of the second client")

    async def c_private_refused():
        c, _, _ = await connected_client(f"{tag}-priv")
        channel = ch("private", "refused")
        sev = SubEvents(channel)
        sub = c.new_subscription(channel, events=sev)
        await sub.subscribe()
        u = await sev.inbox["unsubscribed"].next(what="unsubscribed (the refusal)")
        expect_eq(u.code, 103, "unsubscribe code (permission denied)")
        expect_eq(sub.state.value, "unsubscribed", "subscription state")
        await sev.inbox["subscribed"].none(0, "subscribed")

    async def c_private_token():
        user = f"{tag}-privtok"
        c, _, _ = await connected_client(user)
        channel = ch("private", "granted")
        asked = []

        async def get_token(chan):
            asked.append(chan)
            return s.token(user, channel=chan)

        _, sev, _ = await subscribed_to(c, channel, get_token=get_token)
        expect_eq(asked, [channel], "get_token calls")
        await api("publish", {"channel": channel, "data": {"seq": 0}})
        check_sequence(await sev.inbox["publication"].take(1), 0, "publication on the private channel")

    async def c_expired_token():
        user = f"{tag}-expired"
        asked = []

        async def get_token():
            asked.append(1)
            return s.token(user)

        c, ev = new_client(token=s.token(user, ttl=-30), get_token=get_token)
        await c.connect()
        # The hub answers 109 (token expired); the SDK asks get_token and connects again.
        deadline = time.monotonic() + STEP
        while not ev.inbox["connected"].items:
            other = [e for e in ev.inbox["error"].items if getattr(e.error, "code", None) != 109]
            if other:
                raise AssertionError(f"error before connected: code {other[0].code}: "
                                     f"{other[0].error!r} (is the hub listening at {s.ws_url}?)")
            if time.monotonic() > deadline:
                raise AssertionError(f"not connected within {STEP:g} s after the expired token")
            await asyncio.sleep(0.02)
        expect_eq(len(asked), 1, "get_token calls (the hub must refuse the expired token with 109)")
        codes = [getattr(e.error, "code", None) for e in ev.inbox["error"].items]
        if 109 not in codes:
            raise AssertionError(f"no error 109 reported for the expired token: {short(codes)}")

    async def c_token_refresh():
        user = f"{tag}-refresh"
        ttl = 3
        first_exp = int(time.time()) + ttl
        refreshes = []

        async def get_token():
            refreshes.append(time.time())
            return s.token(user, ttl=ttl)

        c, ev = new_client(token=s.token(user, ttl=first_exp - time.time()), get_token=get_token)
        ctx = await connect(c, ev)

        def trouble():
            out = [f"connecting {x.code} {x.reason}" for x in ev.inbox["connecting"].items
                   if x.code != 0]
            out += [f"disconnected {x.code} {x.reason}" for x in ev.inbox["disconnected"].items]
            out += [f"error {x.code}: {x.error!r}" for x in ev.inbox["error"].items]
            return out

        while time.time() < first_exp + 2.5 and not trouble():
            await asyncio.sleep(0.1)
        if trouble():
            raise AssertionError(f"while refreshing: {'; '.join(trouble())}")
        if not refreshes:
            raise AssertionError("get_token was never called: the connect reply must carry "
                                 f"expires/ttl (token exp {first_exp})")
        expect_eq(c.state.value, "connected", "client state")
        channel = ch("chat", "refresh")
        _, sev, _ = await subscribed_to(c, channel)
        await api("publish", {"channel": channel, "data": {"seq": 0}})
        check_sequence(await sev.inbox["publication"].take(1), 0, "publication after the refresh")
        if trouble():
            raise AssertionError(f"after refreshing: {'; '.join(trouble())}")
        print(f"info token-refresh: {len(refreshes)} refresh(es), client {ctx.client} kept",
              flush=True)

    async def c_recovery():
        user = f"{tag}-rec"
        n = s.recovery_count
        channel = ch("chat", "recovery")
        c, ev, first = await connected_client(user)
        sub, sev, sctx = await subscribed_to(c, channel)
        if not sctx.recoverable:
            raise AssertionError(f"subscribed without recoverable: chat has force_recovery "
                                 f"({sctx!r})")
        before = await publish_seq(channel, 0, 10)
        check_sequence(await sev.inbox["publication"].take(10), 0, "before the disconnect", before)

        ev.gate = asyncio.Event()
        try:
            await api("disconnect", {"user": user,
                                     "disconnect": {"code": 4000, "reason": "hub test: reconnect"}})
            cx = await ev.inbox["connecting"].next(what="connecting after the server disconnect")
            expect_eq(cx.code, 4000, "connecting code (the disconnect code sent through the API)")
            t0 = time.monotonic()
            offsets = await publish_seq(channel, 10, n)
            print(f"info recovery: {n} API publications in {(time.monotonic() - t0) * 1000:.0f} ms"
                  " while away", flush=True)
        finally:
            ev.gate.set()
        again = await ev.inbox["connected"].next(what="connected again")
        if again.client == first.client:
            raise AssertionError("the new connection has the old client id")
        sc = await sev.inbox["subscribed"].next(what="subscribed again")
        expect_eq((sc.was_recovering, sc.recovered), (True, True), "(was_recovering, recovered)")
        got = await sev.inbox["publication"].take(n, what="recovered publications")
        check_sequence(got, 10, "recovered publications", offsets)
        await sev.inbox["publication"].none(0.3, "publications after the recovered ones")

    async def c_user_presence():
        channel = ch("users", "room")
        obs, _, _ = await connected_client(f"{tag}-observer")
        sub, sev, _ = await subscribed_to(obs, channel)
        user = f"{tag}-tabs"
        tab1, _, _ = await connected_client(user)
        await subscribed_to(tab1, channel)
        await sev.inbox["join"].next(lambda x: x.info.user == user, what="join of the first tab")
        tab2, _, _ = await connected_client(user)
        await subscribed_to(tab2, channel)
        st = await sub.presence_stats()
        expect_eq(st.num_users, 2, "presence_stats num_users (observer + the user with two tabs)")
        await sev.inbox["join"].none(0.3, "a second join for the same user")
        await tab1.disconnect()
        await sev.inbox["leave"].none(0.3, "a leave while the user still has a tab")
        await tab2.disconnect()
        await sev.inbox["leave"].next(lambda x: x.info.user == user, what="leave after the last tab")

    async def c_delta():
        # `delta:` publishes fossil deltas to subscribers that ask for them: the SDK gets the
        # first payload whole and rebuilds every later one from the one before.
        c, _, _ = await connected_client(f"{tag}-delta")
        channel = ch("delta", "doc")
        sub, sev, _ = await subscribed_to(c, channel, delta=DeltaType.FOSSIL)
        # Not public API: the one place the SDK keeps the reply's `delta: true`.
        if not sub._delta_negotiated:
            raise AssertionError("the subscribe reply did not say delta: true")

        def doc(seq):
            return {"seq": seq,
                    "title": "a document that changes a little between publications ✓",
                    "rows": [{"row": i, "value": seq if i == seq % 10 else i} for i in range(10)]}

        n = 5
        offsets = []
        for i in range(n):
            r = await api("publish", {"channel": channel, "data": doc(i)})
            offsets.append(int(r.get("offset", 0)))
        got = await sev.inbox["publication"].take(n, what="delta publications")
        check_sequence(got, 0, "delta publications", offsets)
        for i, g in enumerate(got):
            expect_eq(dec(g.pub.data), doc(i), f"publication {i} rebuilt")
        expect_eq([g.pub.delta for g in got], [False] + [True] * (n - 1),
                  "delta flags (the first whole, then deltas)")
        await sev.inbox["publication"].none(0.2, "publications beyond the five")

    checks = {
        "connect": c_connect, "publish-from-client": c_publish_from_client,
        "api-publish-200": c_api_publish_200, "presence": c_presence, "history": c_history,
        "join-leave": c_join_leave, "private-refused": c_private_refused,
        "private-token": c_private_token, "expired-token": c_expired_token,
        "token-refresh": c_token_refresh, "recovery": c_recovery,
        "user-presence": c_user_presence, "delta": c_delta,
    }
    assert list(checks) == CHECKS
    return await run_client("python client", checks, only, clients, api.close)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
