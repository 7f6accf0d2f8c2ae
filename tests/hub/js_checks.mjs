// The hub's conformance checks written against centrifuge-js, the real SDK, shared by its two
// runners: node_client.mjs (Node, JSON or Protobuf build) and browser_client.mjs (the SDK's
// browser bundle in headless Chromium, where this file is loaded as a module by the page).
// It imports only tests/lib/checks.mjs (which imports nothing; the page server serves it at
// /lib/checks.mjs): the runner hands in the SDK class and everything that differs between Node
// and a page (the WebSocket class, token minting, server API calls), so the same checks run in
// both places.
//
// Every check makes its own clients on channels of its own (`<namespace>:<tag>-<check>`), so a
// check can run alone (`--only node-json/recovery`) and one failure does not cascade. Each
// prints `ok   <name> (<ms> ms)` or `FAIL <name>: <reason>`; run.py turns them into PASS/FAIL
// lines. Every delivery is checked exactly once and in order.

import { Inbox as Queue, deferred, fmt as show, sleep, withTimeout } from '../lib/checks.mjs';

const STEP_MS = 5000;

/** The checks, in the order they run. `originRefused` is Node-only (it needs a custom Origin). */
export const CHECK_NAMES = [
  'connect', 'publish-from-client', 'api-publish-200', 'presence', 'history', 'join-leave',
  'private-refused', 'private-token', 'expired-token', 'token-refresh', 'recovery',
  'killed-mid-stream', 'user-presence', 'delta', 'origin-refused',
];

function fmt(v) {
  return show(v, 160);
}

function expectEq(got, want, what) {
  if (fmt(got) !== fmt(want)) throw new Error(`${what}: expected ${fmt(want)}, got ${fmt(got)}`);
}

function errText(e) {
  if (!e) return String(e);
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && 'code' in e) return `error ${e.code}: ${e.message}`;
  return fmt(e);
}

/** Events of one emitter, queued so that a check can wait for "the next one" in order
 *  (`next`, `take`, `none`: tests/lib/checks.mjs's, with this file's STEP_MS and fmt). */
class Inbox extends Queue {
  constructor(emitter, event, label) {
    super(label || event, { stepMs: STEP_MS, show: fmt });
    emitter.on(event, (ctx) => this.put(ctx));
  }
}

/**
 * Runs the checks. `env`:
 *   Centrifuge         the SDK's class (JSON or Protobuf build)
 *   wsUrl              ws://127.0.0.1:P/connection/websocket
 *   transports         instead of wsUrl, the SDK's list of transports (`[{transport:
 *                      'websocket', endpoint}, {transport: 'http_stream', endpoint}]`, the
 *                      last being the one that must be used), or null
 *   emulationEndpoint  where the fallbacks POST their commands (`/emulation`), or null
 *   protobuf           whether payloads are bytes (Protobuf) or JSON values
 *   websocket          the WebSocket class to hand the SDK (Node: ws), or null
 *   originWebsocket    a WebSocket class sending a disallowed Origin, or null (skips that check)
 *   mintToken(claims)  an HS256 JWT with the hub's secret (claims as given)
 *   api(method, body)  POST /api/<method>, resolves with `result`, rejects with the error
 *   tag                unique per run and runner, for channel names and user ids
 *   recoveryCount      publications sent while the client is away in `recovery`
 *   only               a check name to run alone, or null
 *   log(line)
 */
export async function runChecks(env) {
  const { Centrifuge, wsUrl, protobuf, log, tag } = env;
  const te = new TextEncoder();
  const td = new TextDecoder();
  const enc = (v) => (protobuf ? te.encode(JSON.stringify(v)) : v);
  const dec = (d) => {
    if (!protobuf) return d;
    if (d === undefined || d === null || d.length === 0) return undefined;
    return JSON.parse(td.decode(d));
  };
  const now = () => Math.floor(Date.now() / 1000);
  const token = (user, extra = {}) => env.mintToken({ sub: user, exp: now() + 600, ...extra });
  const subToken = (user, channel) => env.mintToken({ sub: user, channel, exp: now() + 600 });

  let clients = [];
  function newClient(opts = {}) {
    const options = {
      name: 'duplex-hub-test',
      timeout: STEP_MS,
      minReconnectDelay: 100,
      maxReconnectDelay: 2000,
      ...opts,
    };
    // Only where given (Node): in a page the SDK finds the browser's own WebSocket, and an
    // explicit `websocket: undefined` would hide it.
    if (env.websocket && !options.websocket) options.websocket = env.websocket;
    if (env.emulationEndpoint) options.emulationEndpoint = env.emulationEndpoint;
    const c = new Centrifuge(env.transports || wsUrl, options);
    // Errors before the first connect fail the connect at once (a dead port must not hang).
    c.__errors = [];
    c.on('error', (ctx) => c.__errors.push(ctx));
    clients.push(c);
    return c;
  }

  /** connect() and wait for `connected`; rejects on a transport error before it, a terminal
   *  disconnect, or the timeout. */
  function connect(c, what = 'connect') {
    const d = deferred();
    const onConnected = (ctx) => d.resolve(ctx);
    const onError = (ctx) => d.reject(new Error(`${what}: ${ctx.type} error before connected: ${errText(ctx.error)} (is the hub listening at ${wsUrl}?)`));
    const onDisconnected = (ctx) => d.reject(new Error(`${what}: disconnected before connected: code ${ctx.code} ${fmt(ctx.reason)}`));
    c.once('connected', onConnected);
    c.on('error', onError);
    c.once('disconnected', onDisconnected);
    c.connect();
    return withTimeout(d.promise, STEP_MS, what).finally(() => {
      c.off('connected', onConnected);
      c.off('error', onError);
      c.off('disconnected', onDisconnected);
    });
  }

  /** subscribe() and wait for `subscribed`; rejects on `unsubscribed` or the timeout. */
  function subscribed(sub, what = `subscribe ${sub.channel}`) {
    const d = deferred();
    const onSub = (ctx) => d.resolve(ctx);
    const onUnsub = (ctx) => d.reject(new Error(`${what}: unsubscribed: code ${ctx.code} ${fmt(ctx.reason)}`));
    sub.once('subscribed', onSub);
    sub.once('unsubscribed', onUnsub);
    sub.subscribe();
    return withTimeout(d.promise, STEP_MS, what).finally(() => {
      sub.off('subscribed', onSub);
      sub.off('unsubscribed', onUnsub);
    });
  }

  async function connectedClient(user, opts = {}) {
    const c = newClient({ token: await token(user, opts.claims || {}), ...opts.options });
    const ctx = await connect(c, `connect as ${user}`);
    return { c, ctx };
  }

  async function subscribedTo(c, channel, opts = {}) {
    const sub = c.newSubscription(channel, opts);
    const pubs = new Inbox(sub, 'publication', `publications on ${channel}`);
    const ctx = await subscribed(sub);
    return { sub, pubs, ctx };
  }

  /** Checks that `got` publications carry seq from..from+n-1 in order with consecutive offsets. */
  function checkSequence(got, from, what, offsets) {
    for (let i = 0; i < got.length; i++) {
      const data = dec(got[i].data);
      if (!data || data.seq !== from + i) {
        throw new Error(`${what}: publication ${i} carries ${fmt(data)}, expected seq ${from + i}`);
      }
      const off = Number(got[i].offset);
      if (offsets && off !== offsets[i]) throw new Error(`${what}: publication ${i} has offset ${off}, the API said ${offsets[i]}`);
      if (i > 0 && off !== Number(got[i - 1].offset) + 1) {
        throw new Error(`${what}: offsets not consecutive: ${Number(got[i - 1].offset)} then ${off} at publication ${i}`);
      }
    }
  }

  async function apiPublishSeq(channel, from, n) {
    const offsets = [];
    for (let i = from; i < from + n; i++) {
      const r = await env.api('publish', { channel, data: { seq: i } });
      offsets.push(Number(r && r.offset));
    }
    return offsets;
  }

  const ch = (ns, name) => `${ns}:${tag}-${name}`;
  const checks = {};

  checks['connect'] = async () => {
    const user = `${tag}-u1`;
    const { c, ctx } = await connectedClient(user, { claims: { info: { name: 'one' } } });
    if (!ctx.client) throw new Error(`connected without a client id: ${fmt(ctx)}`);
    // With a list of transports, the last is the one the page can use (the fallback).
    expectEq(ctx.transport, env.transports ? env.transports[env.transports.length - 1].transport : 'websocket', 'transport');
    expectEq(c.state, 'connected', 'client state');
    await log(`info connected: client ${ctx.client}`);
  };

  checks['publish-from-client'] = async () => {
    const user = `${tag}-pub`;
    const { c, ctx } = await connectedClient(user);
    const { sub, pubs } = await subscribedTo(c, ch('chat', 'pub'));
    const msg = { text: 'hello from the SDK ✓', n: 1 };
    await sub.publish(enc(msg));
    const p = await pubs.next();
    expectEq(dec(p.data), msg, 'publication data');
    if (!p.info) throw new Error('a client publication must carry info (the publisher)');
    expectEq(p.info.client, ctx.client, 'info.client');
    expectEq(p.info.user, user, 'info.user');
    if (!(Number(p.offset) > 0)) throw new Error(`offset ${fmt(p.offset)}: chat keeps history, so publications carry offsets`);
    await pubs.none(200, 'a second copy of the publication');
  };

  checks['api-publish-200'] = async () => {
    const { c } = await connectedClient(`${tag}-stream`);
    const channel = ch('chat', 'stream');
    const { pubs } = await subscribedTo(c, channel);
    const offsets = await apiPublishSeq(channel, 0, 200);
    const got = await pubs.take(200, STEP_MS, 'API publications');
    checkSequence(got, 0, 'API publications', offsets);
    for (const p of got) if (p.info) throw new Error(`a server API publication carries info ${fmt(p.info)}`);
    await pubs.none(300, 'publications beyond the 200');
  };

  checks['presence'] = async () => {
    const user = `${tag}-pres`;
    const { c, ctx } = await connectedClient(user, { claims: { info: { role: 'tester' } } });
    const { sub } = await subscribedTo(c, ch('chat', 'presence'));
    const p = await sub.presence();
    const ids = Object.keys(p.clients);
    expectEq(ids, [ctx.client], 'presence client ids');
    expectEq(p.clients[ctx.client].user, user, 'presence user');
    expectEq(dec(p.clients[ctx.client].connInfo), { role: 'tester' }, 'presence connInfo (the token\'s info claim)');
    const s = await sub.presenceStats();
    expectEq([s.numClients, s.numUsers], [1, 1], '[numClients, numUsers]');
  };

  checks['history'] = async () => {
    const { c } = await connectedClient(`${tag}-hist`);
    const channel = ch('chat', 'history');
    const { sub, pubs } = await subscribedTo(c, channel);
    const offsets = await apiPublishSeq(channel, 0, 5);
    await pubs.take(5);
    const top = await sub.history({ limit: 0 });
    expectEq(top.publications.length, 0, 'history limit 0: publications');
    expectEq(Number(top.offset), offsets[4], 'history: top offset');
    if (!top.epoch) throw new Error('history: no epoch');
    const first = await sub.history({ limit: 2 });
    expectEq(first.publications.map((p) => Number(p.offset)), offsets.slice(0, 2), 'history limit 2: offsets');
    expectEq(first.publications.map((p) => dec(p.data).seq), [0, 1], 'history limit 2: data');
    const since = await sub.history({ since: { offset: offsets[1], epoch: top.epoch }, limit: 10 });
    expectEq(since.publications.map((p) => Number(p.offset)), offsets.slice(2), 'history since offset 2: offsets');
    expectEq(since.epoch, top.epoch, 'history since: epoch');
    const rev = await sub.history({ limit: 2, reverse: true });
    expectEq(rev.publications.map((p) => Number(p.offset)), [offsets[4], offsets[3]], 'history limit 2 reverse: offsets');
  };

  checks['join-leave'] = async () => {
    const channel = ch('chat', 'joinleave');
    const { c: a } = await connectedClient(`${tag}-a`);
    const { sub } = await subscribedTo(a, channel);
    const joins = new Inbox(sub, 'join');
    const leaves = new Inbox(sub, 'leave');
    const userB = `${tag}-b`;
    const { c: b, ctx: bctx } = await connectedClient(userB, { claims: { info: { name: 'B' } } });
    await subscribedTo(b, channel);
    const j = await joins.next((x) => x.info.user === userB, STEP_MS, 'join of the second client');
    expectEq(j.info.client, bctx.client, 'join: client');
    expectEq(dec(j.info.connInfo), { name: 'B' }, 'join: connInfo');
    b.disconnect();
    const l = await leaves.next((x) => x.info.user === userB, STEP_MS, 'leave of the second client');
    expectEq(l.info.client, bctx.client, 'leave: client');
    await joins.none(200, 'a second join of the second client');
  };

  checks['private-refused'] = async () => {
    const { c } = await connectedClient(`${tag}-priv`);
    const sub = c.newSubscription(ch('private', 'refused'));
    const unsub = new Inbox(sub, 'unsubscribed');
    const ok = new Inbox(sub, 'subscribed');
    sub.subscribe();
    const u = await unsub.next(() => true, STEP_MS, 'unsubscribed (refusal)');
    expectEq(u.code, 103, 'unsubscribe code (permission denied)');
    expectEq(sub.state, 'unsubscribed', 'subscription state');
    await ok.none(0, 'subscribed');
  };

  checks['private-token'] = async () => {
    const user = `${tag}-privtok`;
    const { c } = await connectedClient(user);
    const channel = ch('private', 'granted');
    const asked = [];
    const sub = c.newSubscription(channel, {
      getToken: async (ctx) => { asked.push(ctx.channel); return subToken(user, ctx.channel); },
    });
    const pubs = new Inbox(sub, 'publication');
    await subscribed(sub);
    expectEq(asked, [channel], 'getToken calls');
    await env.api('publish', { channel, data: { seq: 0 } });
    checkSequence(await pubs.take(1), 0, 'publication on the private channel');
  };

  checks['expired-token'] = async () => {
    const user = `${tag}-expired`;
    let asked = 0;
    const c = newClient({
      token: await env.mintToken({ sub: user, exp: now() - 30 }),
      getToken: async () => { asked++; return token(user); },
    });
    // The hub answers connect with 109 (token expired); the SDK then asks getToken and retries.
    // Its `error` event for the 109 is expected here, so this waits for `connected` directly.
    const d = deferred();
    c.once('connected', d.resolve);
    c.once('disconnected', (ctx) => d.reject(new Error(`disconnected: code ${ctx.code} ${fmt(ctx.reason)}`)));
    c.on('error', (ctx) => {
      if (ctx.type === 'transport') d.reject(new Error(`transport error before connected: ${errText(ctx.error)} (is the hub listening at ${wsUrl}?)`));
    });
    c.connect();
    await withTimeout(d.promise, STEP_MS, 'connect after an expired token');
    expectEq(asked, 1, 'getToken calls (the hub must refuse the expired token with 109)');
    const e = c.__errors.find((x) => x.error && x.error.code === 109);
    if (!e) throw new Error(`no error 109 reported for the expired token; errors: ${fmt(c.__errors)}`);
  };

  checks['token-refresh'] = async () => {
    const user = `${tag}-refresh`;
    const ttl = 3;
    const firstExp = now() + ttl;
    let refreshes = 0;
    const c = newClient({
      token: await env.mintToken({ sub: user, exp: firstExp }),
      getToken: async () => { refreshes++; return env.mintToken({ sub: user, exp: now() + ttl }); },
    });
    const ctx = await connect(c);
    const trouble = [];
    c.on('disconnected', (x) => trouble.push(`disconnected ${x.code} ${x.reason}`));
    c.on('connecting', (x) => trouble.push(`connecting ${x.code} ${x.reason}`));
    c.on('error', (x) => trouble.push(`error ${x.type}: ${errText(x.error)}`));
    // Past the first token's expiry by two seconds, and through at least one more refresh.
    while (Date.now() / 1000 < firstExp + 2.5 && trouble.length === 0) await sleep(100);
    if (trouble.length) throw new Error(`while refreshing: ${trouble.join('; ')}`);
    if (refreshes < 1) throw new Error(`getToken was never called: the connect reply must say expires/ttl (token exp ${firstExp})`);
    expectEq(c.state, 'connected', 'client state');
    // Still served after the first token expired: a subscription round trip.
    const { pubs } = await subscribedTo(c, ch('chat', 'refresh'));
    await env.api('publish', { channel: ch('chat', 'refresh'), data: { seq: 0 } });
    checkSequence(await pubs.take(1), 0, 'publication after the refresh');
    if (trouble.length) throw new Error(`after refreshing: ${trouble.join('; ')}`);
    await log(`info token-refresh: ${refreshes} refresh(es), client ${ctx.client} kept`);
  };

  checks['recovery'] = async () => {
    const user = `${tag}-rec`;
    const n = env.recoveryCount;
    const channel = ch('chat', 'recovery');
    // getData runs before every connect attempt: holding it keeps the client away while the
    // server publishes, so the publications must come back by recovery, not live.
    let hold = null;
    const { c, ctx: first } = await connectedClient(user, {
      options: { getData: async () => { if (hold) await hold.promise; return null; } },
    });
    const connecting = new Inbox(c, 'connecting');
    const connected = new Inbox(c, 'connected');
    const { sub, pubs, ctx: sctx } = await subscribedTo(c, channel);
    const subs = new Inbox(sub, 'subscribed');
    if (!sctx.recoverable) throw new Error(`subscribed without recoverable: chat has force_recovery (${fmt(sctx)})`);
    const before = await apiPublishSeq(channel, 0, 10);
    checkSequence(await pubs.take(10), 0, 'publications before the disconnect', before);

    hold = deferred();
    await env.api('disconnect', { user, disconnect: { code: 4000, reason: 'hub test: reconnect' } });
    const cx = await connecting.next(() => true, STEP_MS, 'connecting after the server disconnect');
    expectEq(cx.code, 4000, 'connecting code (the disconnect code sent through the API)');
    const t0 = Date.now();
    const offsets = await apiPublishSeq(channel, 10, n);
    const published = Date.now();
    hold.resolve();
    await log(`info recovery: ${n} API publications in ${published - t0} ms while away`);

    const again = await connected.next(() => true, STEP_MS, 'connected again');
    if (again.client === first.client) throw new Error('the new connection has the old client id');
    const s = await subs.next(() => true, STEP_MS, 'subscribed again');
    expectEq([s.wasRecovering, s.recovered], [true, true], '[wasRecovering, recovered]');
    const got = await pubs.take(n, STEP_MS, 'recovered publications');
    checkSequence(got, 10, 'recovered publications', offsets);
    await pubs.none(300, 'publications after the recovered ones (duplicates)');
  };

  checks['killed-mid-stream'] = async () => {
    // The hub drops the connection while 500 publications are being made: the client comes
    // back on its own and ends with every one of them exactly once, in order, whichever of
    // them it got live and which by recovery.
    const user = `${tag}-kill`;
    const total = 500;
    const channel = ch('chat', 'killed');
    const { c } = await connectedClient(user);
    const connecting = new Inbox(c, 'connecting');
    const { sub, pubs } = await subscribedTo(c, channel);
    const subs = new Inbox(sub, 'subscribed');
    const publishing = (async () => {
      const offsets = await apiPublishSeq(channel, 0, 200);
      await env.api('disconnect', { user, disconnect: { code: 3001, reason: 'hub test: killed' } });
      return offsets.concat(await apiPublishSeq(channel, 200, total - 200));
    })();
    const got = await pubs.take(total, 4 * STEP_MS, 'publications across the kill');
    const offsets = await publishing;
    const cx = await connecting.next(() => true, STEP_MS, 'connecting after the kill');
    const again = await subs.next(() => true, STEP_MS, 'subscribed again');
    const seqs = got.map((p) => dec(p.data).seq);
    const jump = seqs.findIndex((seq, i) => seq !== i);
    const around = jump < 0 ? '' : ` (seqs from ${Math.max(0, jump - 2)}: ${fmt(seqs.slice(Math.max(0, jump - 2), jump + 3))})`;
    const resubscribed = `resubscribed with wasRecovering ${again.wasRecovering}, recovered ${again.recovered}, at offset ${again.streamPosition && again.streamPosition.offset}`;
    try {
      checkSequence(got, 0, 'publications across the kill', offsets);
    } catch (e) {
      throw new Error(`${e.message}${around}; ${resubscribed}`);
    }
    expectEq(cx.code, 3001, 'connecting code');
    expectEq([again.wasRecovering, again.recovered], [true, true], '[wasRecovering, recovered]');
    await pubs.none(300, 'publications after the 500th (duplicates)');
  };

  checks['user-presence'] = async () => {
    // Our extension (users.user_presence): a user with several connections joins once and
    // leaves when the last one goes.
    const channel = ch('users', 'room');
    const { c: obs } = await connectedClient(`${tag}-observer`);
    const { sub } = await subscribedTo(obs, channel);
    const joins = new Inbox(sub, 'join');
    const leaves = new Inbox(sub, 'leave');
    const user = `${tag}-tabs`;
    const { c: tab1 } = await connectedClient(user);
    await subscribedTo(tab1, channel);
    await joins.next((x) => x.info.user === user, STEP_MS, 'join of the first tab');
    const { c: tab2 } = await connectedClient(user);
    await subscribedTo(tab2, channel);
    const stats = await sub.presenceStats();
    expectEq(stats.numUsers, 2, 'presence_stats numUsers (observer + the user with two tabs)');
    await joins.none(300, 'a second join for the same user');
    tab1.disconnect();
    await leaves.none(300, 'a leave while the user still has a tab');
    tab2.disconnect();
    await leaves.next((x) => x.info.user === user, STEP_MS, 'leave after the last tab');
  };

  checks['delta'] = async () => {
    // `delta:` publishes fossil deltas to subscribers that ask for them: the SDK gets the
    // first payload whole and rebuilds every later one from the one before, so the
    // application sees the documents exactly as published.
    const { c } = await connectedClient(`${tag}-delta`);
    const channel = ch('delta', 'doc');
    const { sub, pubs } = await subscribedTo(c, channel, { delta: 'fossil' });
    // Not public API: the one place the SDK keeps the reply's `delta: true`.
    if (!sub._delta_negotiated) throw new Error('the subscribe reply did not say delta: true');
    const doc = (seq) => ({
      seq,
      title: 'a document that changes a little between publications ✓',
      rows: Array.from({ length: 10 }, (_, i) => ({ row: i, value: i === seq % 10 ? seq : i })),
    });
    const n = 5;
    const offsets = [];
    for (let i = 0; i < n; i++) {
      const r = await env.api('publish', { channel, data: doc(i) });
      offsets.push(Number(r && r.offset));
    }
    const got = await pubs.take(n, STEP_MS, 'delta publications');
    checkSequence(got, 0, 'delta publications', offsets);
    got.forEach((p, i) => expectEq(dec(p.data), doc(i), `publication ${i} rebuilt`));
    const stats = sub.deltaStats();
    expectEq([stats.numFullPayloads, stats.numDeltaPayloads], [1, n - 1],
      '[whole, delta] payloads (the first whole, then deltas)');
    await pubs.none(200, 'publications beyond the five');
    await log(`info delta: ${stats.bytesReceived} bytes received for ${stats.bytesDecoded} decoded`);
  };

  checks['origin-refused'] = async () => {
    // The same hub takes a client without the foreign Origin: a refusal below is the Origin's.
    await connectedClient(`${tag}-origin-ok`);
    const c = newClient({ token: await token(`${tag}-origin`), websocket: env.originWebsocket });
    try {
      await connect(c, 'connect with a disallowed Origin');
    } catch (e) {
      if (/error before connected/.test(e.message)) return; // refused at the handshake
      throw e;
    }
    throw new Error('connected although the Origin is not in client.allowed_origins');
  };

  let failed = 0;
  for (const name of CHECK_NAMES) {
    if (env.only && env.only !== name) continue;
    if (name === 'origin-refused' && !env.originWebsocket) continue;
    const t0 = Date.now();
    try {
      await checks[name]();
      await log(`ok   ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      await log(`FAIL ${name}: ${errText(e)}`);
    } finally {
      for (const c of clients) {
        try { c.disconnect(); } catch { /* already gone */ }
      }
      clients = [];
    }
  }
  return failed;
}
