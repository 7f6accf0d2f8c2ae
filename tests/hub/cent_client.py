#!/usr/bin/env python3
"""cent (PyPI, Centrifugo's Python server API client) against the hub's POST /api/<method>:
every method it has for the hub, each checked for its effect on a real connected client
(centrifuge-python, JSON), and cent's errors (unknown channel -> CentApiResponseError 102, a
wrong API key -> CentUnauthorizedError from the HTTP 401).

    HUB_*=... .venv/bin/python cent_client.py [--only CHECK]
"""
import asyncio
import sys
import time

from cent import (AsyncClient, BatchRequest, BroadcastRequest, CentApiResponseError,
                  CentUnauthorizedError, ChannelsRequest, Disconnect, DisconnectRequest,
                  HistoryRemoveRequest, HistoryRequest, InfoRequest, PresenceRequest,
                  PresenceStatsRequest, PublishRequest, RefreshRequest, StreamPosition,
                  SubscribeRequest, UnsubscribeRequest)
from centrifuge import Client, ClientEventHandler, SubscriptionEventHandler

from hublib import STEP, Settings, expect_eq, inbox_handlers, parse_args, run_client

CHECKS = ["publish", "broadcast", "subscribe-unsubscribe", "presence", "history",
          "history-remove", "channels", "info", "refresh", "batch", "disconnect",
          "error-unknown-channel", "error-bad-key"]


class Events(inbox_handlers("connecting", "connected", "disconnected", "error", "subscribed",
                            "unsubscribed", "publication"), ClientEventHandler):
    """Client events, server-side subscription events included (cent's subscribe)."""


class SubEvents(inbox_handlers("subscribed", "unsubscribed", "publication"),
                SubscriptionEventHandler):
    def __init__(self, channel):
        super().__init__(f" on {channel}")


async def main():
    only, _ = parse_args(CHECKS)
    s = Settings()
    tag = s.tag
    cent = AsyncClient(s.api_url, s.api_key, timeout=STEP)
    clients = []

    def ch(ns, name):
        return f"{ns}:{tag}-{name}"

    async def peer(user):
        """A connected centrifuge-python client (JSON) as `user`."""
        ev = Events()
        c = Client(s.ws_url, events=ev, token=s.token(user, info={"via": "cent test"}),
                   timeout=STEP, min_reconnect_delay=0.1, max_reconnect_delay=2.0, proxy=None)
        clients.append(c)
        await c.connect()
        deadline = time.monotonic() + STEP
        while not ev.inbox["connected"].items:
            if ev.inbox["error"].items or ev.inbox["disconnected"].items:
                e = (ev.inbox["error"].items or ev.inbox["disconnected"].items)[0]
                raise AssertionError(f"connect as {user}: {e!r} (is the hub listening at {s.ws_url}?)")
            if time.monotonic() > deadline:
                raise AssertionError(f"connect as {user}: not connected within {STEP:g} s")
            await asyncio.sleep(0.02)
        # connect()'s own on_connecting (code 0, "connect called") is not news.
        ev.inbox["connecting"].items = [x for x in ev.inbox["connecting"].items if x.code]
        return c, ev, ev.inbox["connected"].items.pop(0)

    async def sub_to(c, channel):
        sev = SubEvents(channel)
        sub = c.new_subscription(channel, events=sev)
        await sub.subscribe()
        await sev.inbox["subscribed"].next(what=f"subscribe {channel}")
        return sub, sev

    async def c_publish():
        channel = ch("chat", "publish")
        c, _, _ = await peer(f"{tag}-pub")
        _, sev = await sub_to(c, channel)
        key = f"{tag}-idem"
        r1 = await cent.publish(PublishRequest(channel=channel, data={"n": 1},
                                               tags={"kind": "test"}, idempotency_key=key))
        if r1.offset <= 0 or not r1.epoch:
            raise AssertionError(f"publish result {r1!r}: chat keeps history, offset and epoch expected")
        p = (await sev.inbox["publication"].next()).pub
        expect_eq((p.data, p.tags, p.offset), ({"n": 1}, {"kind": "test"}, r1.offset),
                  "(data, tags, offset) received")
        r2 = await cent.publish(PublishRequest(channel=channel, data={"n": 1},
                                               tags={"kind": "test"}, idempotency_key=key))
        expect_eq((r2.offset, r2.epoch), (r1.offset, r1.epoch),
                  "the repeated idempotent publish's result (the first one's)")
        await sev.inbox["publication"].none(0.3, "a publication for the repeated idempotency_key")

    async def c_broadcast():
        c, _, _ = await peer(f"{tag}-bc")
        chans = [ch("chat", "bc1"), ch("chat", "bc2")]
        sevs = [(await sub_to(c, x))[1] for x in chans]
        r = await cent.broadcast(BroadcastRequest(channels=chans, data={"hello": "all"}))
        expect_eq(len(r.responses), 2, "broadcast responses")
        for i, resp in enumerate(r.responses):
            if resp.error is not None or resp.result is None or resp.result.offset <= 0:
                raise AssertionError(f"broadcast response {i}: {resp!r}")
        for i, sev in enumerate(sevs):
            p = (await sev.inbox["publication"].next(what=f"publication on {chans[i]}")).pub
            expect_eq(p.data, {"hello": "all"}, f"data on {chans[i]}")
            await sev.inbox["publication"].none(0.1, f"a second publication on {chans[i]}")

    async def c_subscribe_unsubscribe():
        user = f"{tag}-srvsub"
        channel = ch("chat", "srvsub")
        c, ev, _ = await peer(user)
        await cent.subscribe(SubscribeRequest(user=user, channel=channel))
        sc = await ev.inbox["subscribed"].next(lambda x: x.channel == channel,
                                               what="server-side subscription pushed to the client")
        print(f"info server-side subscribed: recoverable={sc.recoverable}", flush=True)
        await cent.publish(PublishRequest(channel=channel, data={"n": 2}))
        p = await ev.inbox["publication"].next(lambda x: x.channel == channel,
                                               what="publication on the server-side subscription")
        expect_eq(p.pub.data, {"n": 2}, "data")
        pres = await cent.presence(PresenceRequest(channel=channel))
        expect_eq([ci.user for ci in pres.presence.values()], [user], "presence users after subscribe")
        await cent.unsubscribe(UnsubscribeRequest(user=user, channel=channel))
        await ev.inbox["unsubscribed"].next(lambda x: x.channel == channel,
                                            what="server-side unsubscribe pushed to the client")
        await cent.publish(PublishRequest(channel=channel, data={"n": 3}))
        await ev.inbox["publication"].none(0.3, "a publication after the unsubscribe")

    async def c_presence():
        user = f"{tag}-pres"
        channel = ch("chat", "presence")
        c, _, ctx = await peer(user)
        await sub_to(c, channel)
        p = await cent.presence(PresenceRequest(channel=channel))
        expect_eq(list(p.presence), [ctx.client], "presence client ids")
        info = p.presence[ctx.client]
        expect_eq((info.client, info.user, info.conn_info), (ctx.client, user, {"via": "cent test"}),
                  "presence (client, user, conn_info)")
        st = await cent.presence_stats(PresenceStatsRequest(channel=channel))
        expect_eq((st.num_clients, st.num_users), (1, 1), "presence_stats (num_clients, num_users)")

    async def c_history():
        channel = ch("chat", "history")
        offsets = []
        for i in range(5):
            r = await cent.publish(PublishRequest(channel=channel, data={"seq": i}, tags={"i": str(i)}))
            offsets.append(r.offset)
        expect_eq(offsets, list(range(offsets[0], offsets[0] + 5)), "publish offsets")
        top = await cent.history(HistoryRequest(channel=channel))
        expect_eq((len(top.publications), top.offset), (0, offsets[4]),
                  "history without limit: (publications, top offset)")
        h = await cent.history(HistoryRequest(channel=channel, limit=3))
        expect_eq([(p.offset, p.data, p.tags) for p in h.publications],
                  [(offsets[i], {"seq": i}, {"i": str(i)}) for i in range(3)],
                  "history limit 3: (offset, data, tags)")
        since = await cent.history(HistoryRequest(
            channel=channel, limit=10, since=StreamPosition(offset=offsets[2], epoch=top.epoch)))
        expect_eq([p.offset for p in since.publications], offsets[3:], "history since: offsets")
        rev = await cent.history(HistoryRequest(channel=channel, limit=2, reverse=True))
        expect_eq([p.offset for p in rev.publications], [offsets[4], offsets[3]],
                  "history reverse: offsets")

    async def c_history_remove():
        channel = ch("chat", "historyremove")
        for i in range(3):
            await cent.publish(PublishRequest(channel=channel, data={"seq": i}))
        before = await cent.history(HistoryRequest(channel=channel, limit=10))
        expect_eq(len(before.publications), 3, "publications before history_remove")
        await cent.history_remove(HistoryRemoveRequest(channel=channel))
        after = await cent.history(HistoryRequest(channel=channel, limit=10))
        expect_eq(after.publications, [], "publications after history_remove")

    async def c_channels():
        c, _, _ = await peer(f"{tag}-chans")
        mine = [ch("chat", "chan1"), ch("chat", "chan2")]
        for x in mine:
            await sub_to(c, x)
        r = await cent.channels(ChannelsRequest(pattern=f"chat:{tag}-chan*"))
        expect_eq(sorted(r.channels), sorted(mine), "channels matching the pattern")
        for x in mine:
            expect_eq(r.channels[x].num_clients, 1, f"num_clients of {x}")
        everything = await cent.channels(ChannelsRequest())
        missing = [x for x in mine if x not in everything.channels]
        if missing:
            raise AssertionError(f"channels without a pattern misses {missing}")

    async def c_info():
        await peer(f"{tag}-info")
        # Centrifugo refreshes a node's counts on a timer (a few seconds): poll for a while.
        deadline = time.monotonic() + STEP
        while True:
            r = await cent.info(InfoRequest())
            if not r.nodes:
                raise AssertionError("info: no nodes")
            n = r.nodes[0]
            if not n.uid or not n.name:
                raise AssertionError(f"info: node without uid or name: {n!r}")
            if n.num_clients >= 1 and n.num_users >= 1:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"info: a client is connected, yet after {STEP:g} s {n!r}")
            await asyncio.sleep(0.25)
        print(f"info node {n.name} version {n.version!r}: {n.num_clients} clients, "
              f"{n.num_channels} channels, uptime {n.uptime}", flush=True)

    async def c_refresh():
        user = f"{tag}-refresh"
        c, ev, first = await peer(user)
        await cent.refresh(RefreshRequest(user=user, expire_at=int(time.time()) + 600))
        await ev.inbox["connecting"].none(0.3, "a reconnect after a plain refresh")
        await cent.refresh(RefreshRequest(user=user, expired=True))
        cx = await ev.inbox["connecting"].next(what="reconnect after refresh expired=true")
        expect_eq(cx.code, 3005, "connecting code (connection expired)")
        again = await ev.inbox["connected"].next(what="connected again (the token is still valid)")
        if again.client == first.client:
            raise AssertionError("reconnected with the old client id")

    async def c_batch():
        channel = ch("chat", "batch")
        c, _, _ = await peer(f"{tag}-batch")
        _, sev = await sub_to(c, channel)
        r = await cent.batch(BatchRequest(requests=[
            PublishRequest(channel=channel, data={"n": "batched"}),
            PresenceStatsRequest(channel=channel),
            HistoryRequest(channel=channel, limit=10),
        ]))
        expect_eq(len(r.replies), 3, "batch replies")
        pub, stats, hist = r.replies
        if pub.offset <= 0:
            raise AssertionError(f"batch publish reply {pub!r}")
        expect_eq((stats.num_clients, stats.num_users), (1, 1), "batch presence_stats")
        expect_eq([p.offset for p in hist.publications], [pub.offset], "batch history offsets")
        p = (await sev.inbox["publication"].next()).pub
        expect_eq(p.data, {"n": "batched"}, "batched publication received")

    async def c_disconnect():
        user = f"{tag}-disc"
        c, ev, _ = await peer(user)
        await cent.disconnect(DisconnectRequest(
            user=user, disconnect=Disconnect(code=4501, reason="hub test: go away")))
        d = await ev.inbox["disconnected"].next(what="disconnected event")
        expect_eq((d.code, d.reason), (4501, "hub test: go away"), "(code, reason)")
        await asyncio.sleep(0.3)
        expect_eq(c.state.value, "disconnected", "client state (4501 is terminal: no reconnect)")

    async def c_error_unknown_channel():
        try:
            await cent.publish(PublishRequest(channel=f"nosuchns:{tag}", data={}))
        except CentApiResponseError as e:
            expect_eq(e.code, 102, "error code for a channel in an unknown namespace")
            return
        raise AssertionError("publish to an unknown namespace succeeded")

    async def c_error_bad_key():
        bad = AsyncClient(s.api_url, s.api_key + "-wrong", timeout=STEP)
        try:
            await bad.info(InfoRequest())
        except CentUnauthorizedError:
            return
        finally:
            await bad.close()
        raise AssertionError("a wrong API key was accepted")

    checks = {
        "publish": c_publish, "broadcast": c_broadcast,
        "subscribe-unsubscribe": c_subscribe_unsubscribe, "presence": c_presence,
        "history": c_history, "history-remove": c_history_remove, "channels": c_channels,
        "info": c_info, "refresh": c_refresh, "batch": c_batch, "disconnect": c_disconnect,
        "error-unknown-channel": c_error_unknown_channel, "error-bad-key": c_error_bad_key,
    }
    assert list(checks) == CHECKS
    return await run_client("cent client", checks, only, clients, cent.close)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
