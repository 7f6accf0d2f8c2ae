#!/usr/bin/env node
// The Pusher front door from real browsers: headless Chromium (Debian's /usr/bin/chromium
// driven by playwright-core; never a browser download) opens the pages run.py serves, one client
// per page (each page in a browser context of its own), and the checks run here in Node against
// what the pages report (page.mjs):
//   --group chromium   pusher-js's own browser bundle (dist/web/pusher.min.js), two pages
//   --group echo       Laravel Echo (its ESM build through an import map, no build step) with
//                      that bundle as its Pusher, two pages
// The server SDK stays in Node: pages ask it for channel authorization (window.pusherAuthorize)
// and the checks trigger events through it.
// Usage (run.py sets the PUSHER_* variables): node browser_client.mjs --group GROUP [--only CHECK]
import { chromium } from 'playwright-core';
import { runBrowserClient } from '../lib/chromium.mjs';
import {
  STEP_MS, QUIET_MS, sleep, settings, serverSdk, fmt, expectEq, expect, answer, Inbox,
  preflight, channelInboxes, subscriptionOutcome, runChecks, groupArg, onlyCheck,
} from './pusher_node.mjs';

const s = settings();
const server = serverSdk(s);
const tag = s.tag;
const name = (base) => `${base}-${tag}`;
const SOCKET_ID = /^\d+\.\d+$/;
const PAGES = { chromium: '', echo: 'echo.html' };

let browser = null;
let pages = [];

/** One page with one client in it, and what it reported. */
class PageClient {
  constructor(label, page, user) {
    this.label = label;
    this.page = page;
    this.user = user;
    this.states = [];
    this.errors = [];
    this.pageErrors = [];
    this.channels = {};
    this.echo = new Inbox(`Echo callbacks on ${label}`);
  }

  report(kind, payload) {
    if (kind === 'state') this.states.push(payload);
    else if (kind === 'error') this.errors.push(payload);
    else if (kind === 'channel') {
      const w = this.channels[payload.channel];
      if (w) w.put(payload.event, payload.data);
    } else if (kind === 'echo') this.echo.put(payload);
  }

  presenceData() {
    return this.user ? { user_id: this.user.id, user_info: { name: this.user.name } } : null;
  }

  connectOptions() {
    return { key: s.key, host: s.host, port: s.port, presenceData: this.presenceData() };
  }

  state() {
    return this.page.evaluate(() => window.pusherTest.state());
  }

  /** Polls the page's client until connected (or failed/unavailable/disconnected, or STEP_MS). */
  async waitConnected() {
    const deadline = Date.now() + STEP_MS;
    let st;
    while (Date.now() < deadline) {
      st = await this.state();
      if (st && st.state === 'connected') return st;
      if (st && ['failed', 'unavailable', 'disconnected'].includes(st.state) && this.states.length) {
        throw new Error(`${this.label}: state ${st.state} before connected (errors ${fmt(this.errors)}, page errors ${fmt(this.pageErrors)})`);
      }
      await sleep(100);
    }
    throw new Error(`${this.label}: not connected within ${STEP_MS} ms (state ${fmt(st)}, errors ${fmt(this.errors)}, page errors ${fmt(this.pageErrors)})`);
  }

  async connect() {
    await this.page.evaluate((o) => window.pusherTest.connect(o), this.connectOptions());
    return this.waitConnected();
  }

  async echoConnect() {
    await this.page.evaluate((o) => window.pusherTest.echoConnect(o), this.connectOptions());
    return this.waitConnected();
  }

  /** Subscribes the page's client and waits for subscription_succeeded (`.succeeded`). */
  async subscribed(channel) {
    const w = channelInboxes(channel);
    this.channels[channel] = w;
    await this.page.evaluate((c) => window.pusherTest.subscribe(c), channel);
    w.succeeded = await subscriptionOutcome(w, `subscribe ${channel} (${this.label})`);
    return w;
  }

  async disconnect() {
    await this.page.evaluate(() => window.pusherTest.disconnect());
  }
}

/** A fresh page (its own browser context) at the group's page (or `which`: chromium / echo),
 *  ready to take a client. */
async function openPage(label, user = null, which = group) {
  const page = await browser.newPage();
  const c = new PageClient(label, page, user);
  pages.push(c);
  page.on('pageerror', (err) => { c.pageErrors.push(err.message); console.log(`info [${label} page error] ${err.message}`); });
  page.on('console', (msg) => { if (msg.type() === 'error') console.log(`info [${label} console error] ${msg.text()}`); });
  await page.exposeFunction('pusherReport', (kind, payload) => c.report(kind, payload));
  await page.exposeFunction('pusherAuthorize', (socketId, channelName, presenceData) => {
    try {
      return { auth: server.authorizeChannel(socketId, channelName, presenceData || undefined) };
    } catch (e) {
      return { error: e.message };
    }
  });
  const url = `${s.pageUrl}${PAGES[which]}`;
  const response = await page.goto(url, { timeout: STEP_MS });
  if (!response || response.status() !== 200) throw new Error(`page ${url}: status ${response && response.status()}`);
  const needEcho = which === 'echo';
  try {
    await page.waitForFunction((echo) => window.pusherPageReady === true && (!echo || typeof window.Echo === 'function'),
      needEcho, { timeout: STEP_MS });
  } catch {
    const what = await page.evaluate(() => `typeof Pusher ${typeof window.Pusher}, typeof Echo ${typeof window.Echo}, pusherTest ${typeof window.pusherTest}`);
    throw new Error(`page ${url} did not load its scripts (${what}; page errors ${fmt(c.pageErrors)})`);
  }
  return c;
}

/** Triggers `{n: from..}` as `event` on `channel` through the server SDK, one after another. */
async function triggerSeq(channel, event, from, count) {
  for (let n = from; n < from + count; n++) {
    const r = await answer(server.trigger(channel, event, { n }), `trigger ${channel}`);
    if (r.status !== 200) throw new Error(`trigger ${channel} ${event} #${n}: HTTP ${r.status} ${fmt(r.body)}`);
  }
}

const info = (u) => ({ name: u.name });
const member = (u) => ({ id: u.id, info: info(u) });
const membersView = (m) => ({ count: m.count, me: m.me, members: m.members });

const GROUPS = {};

GROUPS['chromium'] = {
  async public() {
    const channel = name('news');
    const p1 = await openPage('page1');
    const p2 = await openPage('page2');
    const [st1, st2] = [await p1.connect(), await p2.connect()];
    for (const st of [st1, st2]) expect(SOCKET_ID.test(String(st.socket_id)), `socket_id ${fmt(st.socket_id)} does not match ${SOCKET_ID}`);
    expect(st1.socket_id !== st2.socket_id, `two pages share socket_id ${st1.socket_id}`);
    const w1 = await p1.subscribed(channel);
    const w2 = await p2.subscribed(channel);
    const n = 50;
    await triggerSeq(channel, 'tick', 0, n);
    const want = Array.from({ length: n }, (_, i) => ({ event: 'tick', data: { n: i } }));
    expectEq(await w1.events.take(n, STEP_MS, 'ticks on page1'), want, 'ticks on page1, in order');
    expectEq(await w2.events.take(n, STEP_MS, 'ticks on page2'), want, 'ticks on page2, in order');
    await Promise.all([w1.events.none(QUIET_MS, 'page1: more events'), w2.events.none(QUIET_MS, 'page2: more events')]);
    console.log(`info ${browser.version()}: socket ids ${st1.socket_id}, ${st2.socket_id}`);
  },

  async presence() {
    const room = name('presence-room');
    const alice = { id: `alice-${tag}`, name: 'Alice' };
    const bob = { id: `bob-${tag}`, name: 'Bob' };
    const pa = await openPage('alice', alice);
    const pb = await openPage('bob', bob);
    await pa.connect();
    const wa = await pa.subscribed(room);
    expectEq(membersView(wa.succeeded), { count: 1, me: member(alice), members: { [alice.id]: info(alice) } }, 'alice\'s subscription_succeeded members');
    await pb.connect();
    const wb = await pb.subscribed(room);
    expectEq(membersView(wb.succeeded), { count: 2, me: member(bob), members: { [alice.id]: info(alice), [bob.id]: info(bob) } }, 'bob\'s subscription_succeeded members');
    expectEq(await wa.members.next(() => true, STEP_MS, 'member event on alice\'s page'), { event: 'pusher:member_added', data: member(bob) }, 'alice sees bob join');
    await pb.disconnect();
    expectEq(await wa.members.next(() => true, STEP_MS, 'member event on alice\'s page after bob left'), { event: 'pusher:member_removed', data: member(bob) }, 'alice sees bob leave');
    await wa.members.none(QUIET_MS, 'alice: more member events');
  },
};

GROUPS['echo'] = {
  async 'presence-join'() {
    const room = name('room'); // Echo.join('room-<tag>') is channel presence-room-<tag>
    const alice = { id: `alice-${tag}`, name: 'Alice' };
    const bob = { id: `bob-${tag}`, name: 'Bob' };
    const ea = await openPage('alice', alice);
    const eb = await openPage('bob', bob);
    await ea.echoConnect();
    await ea.page.evaluate((r) => window.pusherTest.echoJoin(r), room);
    expectEq(await ea.echo.next(() => true, STEP_MS, 'Echo here() on alice\'s page'), { what: 'here', room, users: [info(alice)] }, 'alice: here()');
    await eb.echoConnect();
    await eb.page.evaluate((r) => window.pusherTest.echoJoin(r), room);
    const here = await eb.echo.next(() => true, STEP_MS, 'Echo here() on bob\'s page');
    expectEq({ ...here, users: (here.users || []).slice().sort((x, y) => String(x.name).localeCompare(String(y.name))) },
      { what: 'here', room, users: [info(alice), info(bob)] }, 'bob: here()');
    expectEq(await ea.echo.next(() => true, STEP_MS, 'Echo joining() on alice\'s page'), { what: 'joining', room, user: info(bob) }, 'alice: joining()');
    await eb.disconnect();
    expectEq(await ea.echo.next(() => true, STEP_MS, 'Echo leaving() on alice\'s page'), { what: 'leaving', room, user: info(bob) }, 'alice: leaving()');
    await ea.echo.none(QUIET_MS, 'alice: more Echo callbacks');
  },

  async listen() {
    // Laravel names broadcast events after their class (`App\Events\OrderShipped`); Echo's
    // listen('OrderShipped') adds its default namespace, and a leading dot names an event as is.
    const channel = name('orders');
    const e = await openPage('listener');
    await e.echoConnect();
    await e.page.evaluate(([c, evs]) => window.pusherTest.echoListen(c, evs), [channel, ['OrderShipped', '.order.paid']]);
    expectEq(await e.echo.next(() => true, STEP_MS, 'Echo subscribed()'), { what: 'subscribed', channel }, 'Echo subscribed()');
    await answer(server.trigger(channel, 'App\\Events\\OrderShipped', { id: 1 }), 'trigger');
    await answer(server.trigger(channel, 'order.paid', { id: 2 }), 'trigger');
    await answer(server.trigger(channel, 'App\\Events\\OrderShipped', { id: 3 }), 'trigger');
    const got = await e.echo.take(3, STEP_MS, 'Echo listen() callbacks');
    expectEq(got, [
      { what: 'listen', channel, event: 'OrderShipped', data: { id: 1 } },
      { what: 'listen', channel, event: '.order.paid', data: { id: 2 } },
      { what: 'listen', channel, event: 'OrderShipped', data: { id: 3 } },
    ], 'Echo listen() callbacks, in order');
    await e.echo.none(QUIET_MS, 'more Echo callbacks');
  },
};

// run.py --self-test: the pages load in Chromium (bundle, import map, Echo), and a client and an
// Echo can be made in them, with the options reaching pusher-js. No hub: nothing connects.
const SELF_TEST = {
  async 'pages-load'() {
    for (const which of ['chromium', 'echo']) {
      const c = await openPage(which, { id: 'u', name: 'U' }, which);
      const st = await c.page.evaluate(([w, o]) => (w === 'echo' ? window.pusherTest.echoConnect(o) : window.pusherTest.connect(o)), [which, c.connectOptions()]);
      expect(['connecting', 'initialized', 'unavailable'].includes(st), `${which}: state ${st} right after making the client`);
      const seen = await c.page.evaluate(() => {
        const p = window.Pusher.instances[0]; // the page's one client (Echo's own, with Echo)
        return { key: p.key, wsPort: p.config.wsPort, useTLS: p.config.useTLS, authorizer: typeof p.config.channelAuthorizer,
          echo: typeof window.Echo };
      });
      expectEq(seen, { key: s.key, wsPort: s.port, useTLS: false, authorizer: 'function', echo: which === 'echo' ? 'function' : 'undefined' }, `${which} page`);
      expectEq(c.pageErrors, [], `${which}: page errors`);
      console.log(`info ${which} page loaded in ${browser.version()}`);
      await c.page.evaluate(() => window.pusherTest.disconnect());
    }
  },
};

// --- main ----------------------------------------------------------------------------------------

const args = process.argv.slice(2);
const selfTest = args.includes('--self-test');
const group = selfTest ? 'self-test' : groupArg(args, Object.keys(GROUPS));
const checks = selfTest ? SELF_TEST : GROUPS[group];
const only = onlyCheck(args, Object.keys(checks));
if (!s.pageUrl) {
  console.log('FAIL setup: PUSHER_PAGE_URL is not set (run.py serves the pages)');
  process.exit(2);
}
for (const n of Object.keys(checks)) if (!only || only === n) console.log(`plan ${n}`);

const cleanup = async () => {
  for (const p of pages) {
    try { await p.disconnect(); } catch { /* the page may be gone */ }
    await p.page.context().close().catch(() => {});
  }
  pages = [];
};

const unreachable = selfTest ? null : await preflight(s);
if (unreachable) {
  // No Chromium for nothing: every check fails at once.
  const failed = await runChecks(checks, only, async () => {}, { unreachable, planned: true });
  console.log(`${group} client: ${failed} check(s) failed`);
  process.exit(1);
}
await runBrowserClient({ chromium, who: `${group} client`, overallMs: s.overallMs }, async (launch) => {
  browser = await launch();
  const failed = await runChecks(checks, only, cleanup, { planned: true });
  console.log(failed ? `${group} client: ${failed} check(s) failed` : `${group} client: all checks passed`);
  return failed ? 1 : 0;
});
