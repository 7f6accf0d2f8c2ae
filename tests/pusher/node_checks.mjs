#!/usr/bin/env node
// The hub's Pusher front door against the real SDKs in Node: pusher-js (the client, its Node
// build: the package's main entry) and `pusher` (the server SDK: HTTP API, channel and user
// authorization, webhook verification). One group of checks per run:
//   node node_checks.mjs --group GROUP [--only CHECK]      (run.py sets the PUSHER_* variables)
// Prints `plan <check>` for each check, then `ok   <check>` / `FAIL <check>: <reason>` / `info`;
// exits 0 when all pass. Every check makes its own connections on channels of its own
// (`<name>-<tag>`), waits at most STEP_MS for any one thing, and closes its connections after.
import Pusher from 'pusher-js';
import {
  STEP_MS, QUIET_MS, sleep, settings, serverSdk, wrongSecret, deferred, withTimeout, fmt, expectEq,
  expect, errText, answer, Inbox, preflight, snap, channelInboxes, subscriptionOutcome, eventually,
  runChecks, groupArg, onlyCheck, makeApi,
} from './pusher_node.mjs';

const s = settings();
const server = serverSdk(s);
// The same SDK with another secret: everything it signs must be refused.
const forger = serverSdk(s, { secret: wrongSecret(s.secret) });
const tag = s.tag;
const name = (base) => `${base}-${tag}`;
const SOCKET_ID = /^\d+\.\d+$/;

let clients = [];

/**
 * A pusher-js client for the hub, as an application makes one, with what a check needs to see:
 *   c.p             the Pusher instance
 *   c.messages      every protocol message the connection received (decoded), in order
 *   c.pusherErrors  the data of every `pusher:error` (pusher-js's global binding)
 *   c.errors        the connection's `error` events; c.states its state changes
 * `user` ({id, name}) is who the authorizers say it is: presence channel data `{user_id,
 * user_info: {name}}` and the sign-in's `{id}`. `signer` signs them (the forger, to forge).
 * Authorization answers asynchronously, as an HTTP auth endpoint would.
 */
function newClient(label, { user = null, signer = server, key = s.key, options = {} } = {}) {
  const c = {
    label, user, errors: [], states: [],
    messages: new Inbox(`messages to ${label}`),
    pusherErrors: new Inbox(`pusher:error to ${label}`),
  };
  const authorize = (params, cb) => setImmediate(() => {
    let auth;
    try {
      const presence = params.channelName.startsWith('presence-') && user
        ? { user_id: user.id, user_info: { name: user.name } } : undefined;
      auth = signer.authorizeChannel(params.socketId, params.channelName, presence);
    } catch (e) {
      cb(e, null);
      return;
    }
    cb(null, auth);
  });
  const authenticate = (params, cb) => setImmediate(() => {
    let auth;
    try {
      auth = signer.authenticateUser(params.socketId, { id: user.id });
    } catch (e) {
      cb(e, null);
      return;
    }
    cb(null, auth);
  });
  c.p = new Pusher(key, {
    wsHost: s.host, wsPort: s.port, forceTLS: false, enabledTransports: ['ws'],
    disableStats: true, cluster: 'mt1',
    channelAuthorization: { customHandler: authorize },
    userAuthentication: { customHandler: authenticate },
    ...options,
  });
  c.p.connection.bind('state_change', (x) => c.states.push(x));
  c.p.connection.bind('error', (e) => c.errors.push(errorView(e)));
  c.p.connection.bind('message', (m) => c.messages.put(snap(m)));
  c.p.bind('pusher:error', (d) => c.pusherErrors.put(snap(d)));
  clients.push(c);
  return c;
}

/** What a connection `error` event says, without the socket objects some carry: pusher-js's
 *  `{type, data}` or `{type, error: {type: 'PusherError', data: {code, message}}}`. */
function errorView(e) {
  if (!e || typeof e !== 'object') return snap(e);
  const inner = e.error;
  return snap({
    type: e.type,
    data: e.data,
    error: inner && typeof inner === 'object'
      ? (inner.data !== undefined ? { type: inner.type, data: inner.data } : { type: inner.type, message: inner.message })
      : inner,
  });
}

/** Resolves when `c` is connected; rejects when it ends up failed/unavailable/disconnected
 *  first, or after STEP_MS. */
function waitConnected(c, what = `connect ${c.label}`) {
  if (c.p.connection.state === 'connected') return Promise.resolve();
  const d = deferred();
  const on = ({ current }) => {
    if (current === 'connected') d.resolve();
    else if (['failed', 'unavailable', 'disconnected'].includes(current)) {
      d.reject(new Error(`${what}: state ${current} before connected (errors: ${fmt(c.errors)}; does ws://${s.host}:${s.port}/app/<key> take a Pusher connection?)`));
    }
  };
  c.p.connection.bind('state_change', on);
  return withTimeout(d.promise, STEP_MS, `${what} (state ${c.p.connection.state}, errors ${fmt(c.errors)})`)
    .finally(() => c.p.connection.unbind('state_change', on));
}

/** Resolves when `c`'s state is `state` (now or later), within STEP_MS. */
function waitState(c, state, what) {
  if (c.p.connection.state === state) return Promise.resolve();
  const d = deferred();
  const on = ({ current }) => { if (current === state) d.resolve(); };
  c.p.connection.bind('state_change', on);
  return withTimeout(d.promise, STEP_MS, what).finally(() => c.p.connection.unbind('state_change', on));
}

async function connected(label, opts) {
  const c = newClient(label, opts);
  await waitConnected(c);
  return c;
}

/** Subscribes `c` to `channel` and returns its inboxes (channelInboxes) with `ch`, the
 *  pusher-js channel, without waiting for the outcome. */
function subscribe(c, channel) {
  const ch = c.p.subscribe(channel);
  const w = channelInboxes(channel);
  ch.bind_global((event, data) => w.put(event, snap(data)));
  return { ch, ...w };
}

/** subscribe() and wait for pusher:subscription_succeeded (its data in `.succeeded`). */
async function subscribed(c, channel) {
  const w = subscribe(c, channel);
  w.succeeded = await subscriptionOutcome(w, `subscribe ${channel} (${c.label})`);
  return w;
}

/** A specific event's callbacks, with the metadata pusher-js passes as the 2nd argument. */
function bindEvent(w, event) {
  const inbox = new Inbox(`${event} on ${w.name}`);
  w.ch.bind(event, (data, metadata) => inbox.put({ data: snap(data), metadata: snap(metadata) }));
  return inbox;
}

/** GET through the server SDK: `{status, body}` (the body parsed). */
const apiGet = (sdk, path, params) => answer(sdk.get({ path, params }), `GET ${path}`);

/** The presence data a subscriber's subscription_succeeded shows (pusher-js's Members). */
const membersView = (m) => ({ count: m.count, me: m.me, members: m.members });
const info = (u) => ({ name: u.name });
const member = (u) => ({ id: u.id, info: info(u) });

/** Triggers `{n: from..from+count-1}` as `event` on `channel`, one after another. */
async function triggerSeq(channel, event, from, count) {
  for (let n = from; n < from + count; n++) {
    const r = await answer(server.trigger(channel, event, { n }), `trigger ${channel}`);
    if (r.status !== 200) throw new Error(`trigger ${channel} ${event} #${n}: HTTP ${r.status} ${fmt(r.body)}`);
  }
}

/** Checks that `got` is exactly `{event, data: {n}}` for n = from.. in order. */
function checkSeq(got, event, from, what) {
  got.forEach((x, i) => {
    if (x.event !== event || !x.data || x.data.n !== from + i) {
      throw new Error(`${what}: event ${i} is ${fmt(x)}, expected ${event} {n: ${from + i}}`);
    }
  });
}

// --- the groups ---------------------------------------------------------------------------------

const GROUPS = {};

GROUPS['connect'] = {
  async connected() {
    // A client setting far above the server's: pusher-js then takes the handshake's
    // activity_timeout (pusher.activity_timeout, 120s in run.py's config).
    const c = await connected('c1', { options: { activityTimeout: 600_000 } });
    expectEq(c.p.connection.state, 'connected', 'state');
    const id = c.p.connection.socket_id;
    expect(SOCKET_ID.test(String(id)), `socket_id ${fmt(id)} does not match ${SOCKET_ID}`);
    expectEq(c.p.connection.activityTimeout, 120_000, 'activity timeout from the handshake (ms)');
    const c2 = await connected('c2');
    expect(SOCKET_ID.test(String(c2.p.connection.socket_id)), `second socket_id ${fmt(c2.p.connection.socket_id)}`);
    expect(c2.p.connection.socket_id !== id, `two connections share socket_id ${id}`);
    expectEq(c.errors, [], 'connection errors');
    console.log(`info socket ids ${id}, ${c2.p.connection.socket_id}`);
  },

  async 'unknown-key'() {
    // Pusher: 4001 "Application does not exist"; pusher-js gives up (refused) on 4000-4099.
    const c = newClient('bad-key', { key: `nosuchkey${tag}` });
    const deadline = Date.now() + STEP_MS;
    while (Date.now() < deadline && !JSON.stringify(c.errors).includes('4001')) {
      expect(c.p.connection.state !== 'connected', 'connected with an app key no app has');
      await sleep(50);
    }
    expect(JSON.stringify(c.errors).includes('4001'), `no error with code 4001 within ${STEP_MS} ms; errors ${fmt(c.errors)}, state ${c.p.connection.state}`);
    await sleep(QUIET_MS);
    expect(!c.states.some((x) => x.current === 'connected'), `reached connected: ${fmt(c.states)}`);
    console.log(`info unknown key: ${fmt(c.errors[0])}; state ${c.p.connection.state}`);
  },
};

GROUPS['public'] = {
  async subscribe() {
    const c = await connected('c1');
    const w = await subscribed(c, name('news'));
    expect(w.ch.subscribed === true, 'pusher-js does not count the channel as subscribed');
    await w.control.none(QUIET_MS, 'pusher: events after subscription_succeeded');
    await w.events.none(0, 'events on a fresh channel');
    await c.pusherErrors.none(0, 'pusher:error');
  },

  async '200-in-order'() {
    const c = await connected('c1');
    const channel = name('news');
    const w = await subscribed(c, channel);
    await triggerSeq(channel, 'tick', 0, 200);
    const got = await w.events.take(200, STEP_MS, `ticks on ${channel}`);
    checkSeq(got, 'tick', 0, 'ticks');
    await w.events.none(QUIET_MS, 'events beyond the 200 (duplicates)');
  },

  async 'not-subscribed'() {
    const c = await connected('c1');
    const w = await subscribed(c, name('news'));
    // Another channel's event first, then one on ours: by the time ours arrives, the other
    // would have too.
    await triggerSeq(name('elsewhere'), 'tick', 0, 1);
    await triggerSeq(name('news'), 'tick', 7, 1);
    checkSeq(await w.events.take(1), 'tick', 7, 'event on the subscribed channel');
    await sleep(QUIET_MS);
    const stray = c.messages.items.filter((m) => m.channel === name('elsewhere'));
    expectEq(stray, [], 'messages for a channel the connection never subscribed to');
    await w.events.none(0, 'more events');
  },
};

GROUPS['private'] = {
  async authorized() {
    const c = await connected('c1');
    const channel = name('private-news');
    const w = await subscribed(c, channel);
    await triggerSeq(channel, 'tick', 0, 3);
    checkSeq(await w.events.take(3), 'tick', 0, 'events on the private channel');
    await w.events.none(QUIET_MS, 'more events');
  },

  async 'forged-auth'() {
    const c = await connected('forger', { signer: forger });
    const id = c.p.connection.socket_id;
    const channel = name('private-forged');
    const w = subscribe(c, channel);
    const first = await w.control.next((x) => x.event.startsWith('pusher:subscription_'), STEP_MS, `outcome of a forged subscribe to ${channel}`);
    expectEq(first.event, 'pusher:subscription_error', 'outcome of a subscription with a forged auth');
    console.log(`info forged auth: pusher:subscription_error ${fmt(first.data)}`);
    await triggerSeq(channel, 'tick', 0, 1);
    await w.events.none(QUIET_MS, 'events on the channel with the refused subscription');
    expect(!w.ch.subscribed, 'pusher-js counts the refused channel as subscribed');
    // The connection stays, and still works.
    expectEq(c.p.connection.state, 'connected', 'state after the refusal');
    expectEq(c.p.connection.socket_id, id, 'socket_id after the refusal (the same connection)');
    const ok = await subscribed(c, name('after-forged'));
    await triggerSeq(name('after-forged'), 'tick', 1, 1);
    checkSeq(await ok.events.take(1), 'tick', 1, 'event on a public channel after the refusal');
    await w.events.none(0, 'events on the refused channel');
  },
};

GROUPS['presence'] = {
  async members() {
    const room = name('presence-room');
    const alice = { id: `alice-${tag}`, name: 'Alice' };
    const bob = { id: `bob-${tag}`, name: 'Bob' };
    const a1 = await connected('A1', { user: alice });
    const sa1 = await subscribed(a1, room);
    expectEq(membersView(sa1.succeeded), { count: 1, me: member(alice), members: { [alice.id]: info(alice) } }, 'A1 subscription_succeeded members');

    const b = await connected('B', { user: bob });
    const sb = await subscribed(b, room);
    expectEq(membersView(sb.succeeded), { count: 2, me: member(bob), members: { [alice.id]: info(alice), [bob.id]: info(bob) } }, 'B subscription_succeeded members');
    const added = await sa1.members.next(() => true, STEP_MS, 'member event on A1 after B joined');
    expectEq(added, { event: 'pusher:member_added', data: member(bob) }, 'A1 sees B join');

    // A second connection of a user already present: no member_added anywhere.
    const a2 = await connected('A2', { user: alice });
    const sa2 = await subscribed(a2, room);
    expectEq(membersView(sa2.succeeded), { count: 2, me: member(alice), members: { [alice.id]: info(alice), [bob.id]: info(bob) } }, 'A2 subscription_succeeded members (users, not connections)');
    await Promise.all([
      sa1.members.none(QUIET_MS, 'A1: member event for A\'s second connection'),
      sb.members.none(QUIET_MS, 'B: member event for A\'s second connection'),
    ]);

    // A's second connection goes: A is still present through A1.
    a2.p.disconnect();
    await waitState(a2, 'disconnected', 'A2 disconnected');
    await Promise.all([
      sa1.members.none(2 * QUIET_MS, 'A1: member event when A\'s second connection left'),
      sb.members.none(2 * QUIET_MS, 'B: member event when A\'s second connection left'),
    ]);
    expectEq(sb.ch.members.count, 2, 'B\'s member count after A2 left');

    // A's last connection goes: B sees A leave, once.
    a1.p.disconnect();
    const removed = await sb.members.next(() => true, STEP_MS, 'member event on B after A\'s last connection left');
    expectEq(removed, { event: 'pusher:member_removed', data: member(alice) }, 'B sees A leave');
    await sb.members.none(QUIET_MS, 'B: more member events');
    expectEq(sb.ch.members.count, 1, 'B\'s member count after A left');
  },

  async 'http-api'() {
    const room = name('presence-api');
    const alice = { id: `alice-${tag}`, name: 'Alice' };
    const bob = { id: `bob-${tag}`, name: 'Bob' };
    for (const [label, user] of [['A1', alice], ['A2', alice], ['B', bob]]) {
      await subscribed(await connected(label, { user }), room);
    }
    const users = async () => {
      const r = await apiGet(server, `/channels/${room}/users`);
      return r.status === 200 && r.body && Array.isArray(r.body.users)
        ? { status: 200, ids: r.body.users.map((u) => u.id).sort() } : r;
    };
    await eventually(users, { status: 200, ids: [alice.id, bob.id].sort() }, `GET /channels/${room}/users`);
    const userCount = () => apiGet(server, `/channels/${room}`, { info: 'user_count' });
    await eventually(userCount, { status: 200, body: { occupied: true, user_count: 2 } }, `GET /channels/${room}?info=user_count`);
    const both = () => apiGet(server, `/channels/${room}`, { info: 'subscription_count,user_count' });
    await eventually(both, { status: 200, body: { occupied: true, user_count: 2, subscription_count: 3 } }, `GET /channels/${room}?info=subscription_count,user_count`);
  },
};

GROUPS['client-events'] = {
  async private() {
    const channel = name('private-chat');
    const c1 = await connected('c1');
    const c2 = await connected('c2');
    const w1 = await subscribed(c1, channel);
    const w2 = await subscribed(c2, channel);
    const got1 = bindEvent(w1, 'client-typing');
    const got2 = bindEvent(w2, 'client-typing');
    expectEq(w1.ch.trigger('client-typing', { x: 1 }), true, 'channel.trigger (sent)');
    const r = await got2.next(() => true, STEP_MS, 'client-typing on the other connection');
    expectEq(r, { data: { x: 1 }, metadata: {} }, 'client event received');
    const raw = c2.messages.items.find((m) => m.event === 'client-typing');
    expect(raw && !('user_id' in raw), `the protocol message carries a user_id on a private channel: ${fmt(raw)}`);
    await Promise.all([
      got1.none(QUIET_MS, 'the client event echoed to its sender'),
      got2.none(0, 'a second copy of the client event'),
    ]);
    await c1.pusherErrors.none(0, 'pusher:error to the sender');
  },

  async presence() {
    const channel = name('presence-chat');
    const u1 = { id: `u1-${tag}`, name: 'One' };
    const u2 = { id: `u2-${tag}`, name: 'Two' };
    const c1 = await connected('c1', { user: u1 });
    const c2 = await connected('c2', { user: u2 });
    const w1 = await subscribed(c1, channel);
    const w2 = await subscribed(c2, channel);
    const got1 = bindEvent(w1, 'client-typing');
    const got2 = bindEvent(w2, 'client-typing');
    expectEq(w1.ch.trigger('client-typing', { x: 1 }), true, 'channel.trigger (sent)');
    const r = await got2.next(() => true, STEP_MS, 'client-typing on the other connection');
    expectEq(r, { data: { x: 1 }, metadata: { user_id: u1.id } }, 'client event received, with the sender\'s user_id');
    await got1.none(QUIET_MS, 'the client event echoed to its sender');
    await got2.none(0, 'a second copy of the client event');
  },

  async 'public-refused'() {
    const channel = name('chat');
    const c1 = await connected('c1');
    const c2 = await connected('c2');
    const w1 = await subscribed(c1, channel);
    const w2 = await subscribed(c2, channel);
    const id = c1.p.connection.socket_id;
    const got2 = bindEvent(w2, 'client-typing');
    w1.ch.trigger('client-typing', { x: 1 });
    const e = await c1.pusherErrors.next(() => true, STEP_MS, 'pusher:error after a client event on a public channel');
    console.log(`info client event on a public channel: pusher:error ${fmt(e)}`);
    await got2.none(QUIET_MS, 'the refused client event delivered');
    await w1.events.none(0, 'events on the sender');
    expectEq([c1.p.connection.state, c1.p.connection.socket_id], ['connected', id], '[state, socket_id] of the sender after the error');
  },
};

GROUPS['batch'] = {
  async 'ten-over-three'() {
    const channels = [0, 1, 2].map((i) => name(`batch${i}`));
    const c = await connected('c1');
    const ws = [];
    for (const ch of channels) ws.push(await subscribed(c, ch));
    const batch = Array.from({ length: 10 }, (_, n) => ({ channel: channels[n % 3], name: 'item', data: { n } }));
    const r = await answer(server.triggerBatch(batch), 'triggerBatch');
    expectEq(r.status, 200, `triggerBatch status (body ${fmt(r.body)})`);
    for (let i = 0; i < 3; i++) {
      const want = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].filter((n) => n % 3 === i);
      const got = await ws[i].events.take(want.length, STEP_MS, `batch events on ${channels[i]}`);
      expectEq(got, want.map((n) => ({ event: 'item', data: { n } })), `events on ${channels[i]} in order`);
    }
    for (let i = 0; i < 3; i++) await ws[i].events.none(i === 0 ? QUIET_MS : 0, `more events on ${channels[i]}`);
  },
};

GROUPS['api-auth'] = {
  async 'signed-accepted'() {
    const prefix = name('apiauth') + '-';
    const c = await connected('c1');
    await subscribed(c, `${prefix}a`);
    await subscribed(c, `${prefix}b`);
    await subscribed(c, name('other'));
    await eventually(() => apiGet(server, '/channels', { filter_by_prefix: prefix }),
      { status: 200, body: { channels: { [`${prefix}a`]: {}, [`${prefix}b`]: {} } } },
      `GET /channels?filter_by_prefix=${prefix}`);
  },

  async 'forged-refused'() {
    const channel = name('apiauth-forged');
    const c = await connected('c1');
    const w = await subscribed(c, channel);
    const r = await apiGet(forger, '/channels');
    expectEq(r.status, 401, `GET /channels signed with a wrong secret: status (body ${fmt(r.body)})`);
    const t = await answer(forger.trigger(channel, 'tick', { n: 0 }), 'forged trigger');
    expectEq(t.status, 401, `trigger signed with a wrong secret: status (body ${fmt(t.body)})`);
    await w.events.none(QUIET_MS, 'the forged event delivered');
    // And the genuine one still goes through.
    await triggerSeq(channel, 'tick', 1, 1);
    checkSeq(await w.events.take(1), 'tick', 1, 'the genuine event after the forged one');
  },

  async 'unknown-app'() {
    // The same request for the configured app succeeds: the refusal below is the app id's.
    const mine = await apiGet(server, '/channels');
    expectEq(mine.status, 200, `GET /apps/${s.appId}/channels: status (body ${fmt(mine.body)})`);
    const other = serverSdk(s, { appId: `9${s.appId}9` });
    const r = await apiGet(other, '/channels');
    expect(r.status === 404 || r.status === 401, `GET /apps/${other.config.appId}/channels: expected 404 or 401, got ${r.status} ${fmt(r.body)}`);
    console.log(`info unknown app id: HTTP ${r.status} ${fmt(r.body)}`);
  },
};

GROUPS['channels-info'] = {
  async 'subscription-count'() {
    const channel = name('info');
    const c1 = await connected('c1');
    const c2 = await connected('c2');
    await subscribed(c1, channel);
    await subscribed(c2, channel);
    const q = () => apiGet(server, `/channels/${channel}`, { info: 'subscription_count' });
    await eventually(q, { status: 200, body: { occupied: true, subscription_count: 2 } }, `GET /channels/${channel}?info=subscription_count`);
    c2.p.unsubscribe(channel);
    await eventually(q, { status: 200, body: { occupied: true, subscription_count: 1 } }, 'after one subscriber unsubscribed');
    c1.p.disconnect();
    await eventually(() => apiGet(server, `/channels/${channel}`), { status: 200, body: { occupied: false } }, 'after the last subscriber disconnected');
  },

  async empty() {
    const r = await apiGet(server, `/channels/${name('empty')}`);
    expectEq(r, { status: 200, body: { occupied: false } }, `GET /channels/${name('empty')}`);
  },
};

GROUPS['cross-protocol'] = {
  async 'centrifugo-publish'() {
    const channel = name('news');
    const c = await connected('c1');
    const w = await subscribed(c, channel);
    const api = makeApi(`${s.httpBase}/api`, s.apiKey);
    await api('publish', { channel: `${s.namespace}:${channel}`, data: { text: 'hi' } });
    const got = await w.events.next(() => true, STEP_MS, `event from the Centrifugo API publish to ${s.namespace}:${channel}`);
    expectEq(got, { event: 'message', data: { text: 'hi' } }, 'the Centrifugo publication as a Pusher event');
    await w.events.none(QUIET_MS, 'a second copy');
  },
};

GROUPS['terminate'] = {
  async 'user-connections'() {
    const u1 = { id: `u1-${tag}`, name: 'One' };
    const u2 = { id: `u2-${tag}`, name: 'Two' };
    const cs = [
      await connected('u1-a', { user: u1 }), await connected('u1-b', { user: u1 }),
      await connected('u2', { user: u2 }), await connected('anonymous'),
    ];
    for (const c of cs.slice(0, 3)) {
      c.p.signin();
      const ok = await c.messages.next((m) => m.event === 'pusher:signin_success', STEP_MS, `pusher:signin_success for ${c.label}`);
      const data = typeof ok.data.user_data === 'string' ? JSON.parse(ok.data.user_data) : ok.data.user_data;
      expectEq(data && data.id, c.user.id, `${c.label}: the signed-in user id`);
    }
    const ids = cs.map((c) => c.p.connection.socket_id);
    const before = cs.map((c) => c.states.length);
    const r = await answer(server.terminateUserConnections(u1.id), 'terminateUserConnections');
    expectEq(r.status, 200, `terminateUserConnections status (body ${fmt(r.body)})`);
    const left = (c, i) => c.states.slice(before[i]).some((x) => x.previous === 'connected');
    const deadline = Date.now() + STEP_MS;
    while (Date.now() < deadline && !(left(cs[0], 0) && left(cs[1], 1))) await sleep(50);
    for (const i of [0, 1]) {
      expect(left(cs[i], i), `${cs[i].label} still connected ${STEP_MS} ms after terminateUserConnections (states ${fmt(cs[i].states.slice(before[i]))})`);
    }
    await sleep(2 * QUIET_MS);
    for (const i of [2, 3]) {
      expectEq(cs[i].states.slice(before[i]), [], `${cs[i].label}'s state changes (another user's / no user's connection)`);
      expectEq([cs[i].p.connection.state, cs[i].p.connection.socket_id], ['connected', ids[i]], `${cs[i].label}: [state, socket_id]`);
    }
    console.log(`info terminated: ${cs.slice(0, 2).map((c, i) => `${c.label} ${fmt(c.states.slice(before[i]).map((x) => x.current))}`).join(', ')}; errors ${fmt(cs[0].errors.slice(-1))}`);
  },
};

// --- the groups run only when named (--only) -----------------------------------------------------

/** The webhook receiver's requests (run.py records them), each verified with the server SDK:
 *  `valid` (the app's secret) and `forgedValid` (a wrong secret: must be false), its events
 *  queued one by one. */
function webhookInbox() {
  if (!s.hooksUrl) throw new Error('PUSHER_HOOKS_URL is not set (run.py sets it with --only webhooks)');
  const inbox = new Inbox('webhook events');
  let from = 0;
  let stopped = false;
  inbox.problems = [];
  (async () => {
    while (!stopped) {
      try {
        const res = await fetch(`${s.hooksUrl}?from=${from}`);
        const { requests } = await res.json();
        for (const req of requests) {
          from++;
          const hook = { headers: req.headers, rawBody: req.body };
          const valid = server.webhook(hook).isValid();
          const forgedValid = forger.webhook(hook).isValid();
          let body = null;
          try { body = JSON.parse(req.body); } catch { inbox.problems.push(`not JSON: ${req.body.slice(0, 120)}`); }
          for (const ev of (body && body.events) || []) {
            inbox.put({ ...ev, valid, forgedValid, timeMs: body.time_ms, contentType: req.headers['content-type'] });
          }
        }
      } catch (e) {
        inbox.problems.push(`receiver: ${errText(e)}`);
      }
      await sleep(100);
    }
  })();
  inbox.stop = () => { stopped = true; };
  return inbox;
}

/** Fails if a webhook event for `channel` arrives within `ms` (the inbox also holds other
 *  channels' events: it starts from the receiver's first request). */
async function noHook(hooks, channel, ms, what) {
  await sleep(ms);
  const more = hooks.items.filter((e) => e.channel === channel);
  if (more.length) throw new Error(`${what}: unexpected ${fmt(more[0])} (${more.length} in all)`);
}

/** The next webhook event on `channel`, which must be `want` (plus anything in `extra`) and
 *  signed validly. */
async function nextHook(hooks, channel, want, what) {
  const ev = await hooks.next((e) => e.channel === channel, STEP_MS, what);
  const { valid, forgedValid, timeMs, contentType, ...fields } = ev;
  expectEq(fields, want, what);
  expect(valid, `${what}: the server SDK's webhook().isValid() is false (X-Pusher-Signature / X-Pusher-Key / Content-Type ${fmt(contentType)})`);
  expect(!forgedValid, `${what}: valid under a wrong secret too`);
  expect(Number.isInteger(timeMs), `${what}: time_ms ${fmt(timeMs)}`);
  return ev;
}

GROUPS['webhooks'] = {
  async 'occupied-vacated'() {
    const hooks = webhookInbox();
    try {
      const channel = name('hook');
      const c = await connected('c1');
      await subscribed(c, channel);
      await nextHook(hooks, channel, { name: 'channel_occupied', channel }, `channel_occupied for ${channel}`);
      c.p.disconnect();
      await nextHook(hooks, channel, { name: 'channel_vacated', channel }, `channel_vacated for ${channel}`);
      await noHook(hooks, channel, QUIET_MS, `more webhook events for ${channel}`);
      expectEq(hooks.problems, [], 'webhook receiver problems');
    } finally {
      hooks.stop();
    }
  },

  async 'member-added-removed'() {
    const hooks = webhookInbox();
    try {
      const channel = name('presence-hook');
      const alice = { id: `alice-${tag}`, name: 'Alice' };
      const bob = { id: `bob-${tag}`, name: 'Bob' };
      const a = await connected('A', { user: alice });
      await subscribed(a, channel);
      const b = await connected('B', { user: bob });
      await subscribed(b, channel);
      const seen = [];
      // channel_occupied and member_added for A may come in either order; then B's join.
      for (let i = 0; i < 3; i++) {
        const ev = await hooks.next((e) => e.channel === channel, STEP_MS, `webhook ${i + 1} of 3 for ${channel}`);
        expect(ev.valid && !ev.forgedValid, `webhook ${fmt(ev)} not validly signed`);
        seen.push(ev.name === 'member_added' ? `member_added ${ev.user_id}` : ev.name);
      }
      expectEq(seen.filter((x) => x !== 'channel_occupied'), [`member_added ${alice.id}`, `member_added ${bob.id}`], 'member_added webhooks in join order');
      b.p.disconnect();
      await nextHook(hooks, channel, { name: 'member_removed', channel, user_id: bob.id }, `member_removed for ${bob.id}`);
      await noHook(hooks, channel, QUIET_MS, `more webhook events for ${channel}`);
    } finally {
      hooks.stop();
    }
  },

  async 'client-event'() {
    const hooks = webhookInbox();
    try {
      const channel = name('private-hook');
      const c1 = await connected('c1');
      const c2 = await connected('c2');
      const w1 = await subscribed(c1, channel);
      await subscribed(c2, channel);
      w1.ch.trigger('client-typing', { x: 1 });
      const ev = await hooks.next((e) => e.channel === channel && e.name === 'client_event', STEP_MS, `client_event webhook for ${channel}`);
      const { valid, forgedValid, timeMs, contentType, data, ...fields } = ev;
      expectEq(fields, { name: 'client_event', channel, event: 'client-typing', socket_id: c1.p.connection.socket_id }, 'client_event webhook');
      expectEq(typeof data === 'string' ? JSON.parse(data) : data, { x: 1 }, 'client_event webhook data');
      expect(valid && !forgedValid, 'client_event webhook not validly signed');
    } finally {
      hooks.stop();
    }
  },
};

GROUPS['cache'] = {
  async 'last-event'() {
    const channel = name('cache-scores');
    await triggerSeq(channel, 'score', 1, 2);
    const c = await connected('c1');
    const w = await subscribed(c, channel);
    checkSeq(await w.events.take(1, STEP_MS, 'the cached event after subscribing'), 'score', 2, 'the cached (last) event');
    await w.events.none(QUIET_MS, 'events beyond the last one');
    expectEq(w.control.items.map((x) => x.event), [], 'pusher: events after subscription_succeeded (no cache_miss)');
  },

  async 'cache-miss'() {
    const channel = name('cache-empty');
    const c = await connected('c1');
    const w = await subscribed(c, channel);
    const miss = await w.control.next(() => true, STEP_MS, 'pusher:cache_miss');
    expectEq(miss.event, 'pusher:cache_miss', 'the event after subscribing to an empty cache channel');
    await w.events.none(QUIET_MS, 'events on an empty cache channel');
  },
};

// --- main ----------------------------------------------------------------------------------------

const args = process.argv.slice(2);
const group = groupArg(args, Object.keys(GROUPS));
const only = onlyCheck(args, Object.keys(GROUPS[group]));
const unreachable = await preflight(s);
const failed = await runChecks(GROUPS[group], only, async () => {
  for (const c of clients) {
    try { c.p.disconnect(); } catch { /* already gone */ }
  }
  clients = [];
  await sleep(50);
}, { unreachable });
console.log(failed ? `node checks ${group}: ${failed} check(s) failed` : `node checks ${group}: all checks passed`);
process.exit(failed ? 1 : 0);
