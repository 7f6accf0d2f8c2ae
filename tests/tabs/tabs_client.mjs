#!/usr/bin/env node
// The browser side of tests/tabs: three tabs (pages of one browser context, so one origin) of
// headless Chromium (Debian's /usr/bin/chromium through playwright-core; never a download) each
// load the page run.py serves (build/tabs.js: clients/js + the centrifuge SDK) and share one
// connection to the hub, in each of the three modes:
//   shared-worker  the SharedWorker owns the connection
//   leader         SharedWorker removed by an init script: a leader tab (Web Locks) owns it,
//                  the others reach it over BroadcastChannel
//   tab            SharedWorker and BroadcastChannel removed: one connection per tab
// Publications go through the server API; sockets are counted with its `info` method.
// Prints `plan <mode>/<check>`, then `ok   <mode>/<check> (...)` or `FAIL <mode>/<check>: why`
// and `info ...` lines; exits 1 when a check failed.
// Usage (run.py sets the TABS_* variables): node tabs_client.mjs [--only MODE[/CHECK]]...
import { createHmac } from 'node:crypto';
import { chromium } from 'playwright-core';
import { runBrowserClient } from '../lib/chromium.mjs';

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.log(`FAIL setup: ${name} is not set (run.py sets it)`);
    process.exit(2);
  }
  return v;
};
const WS_URL = env('TABS_WS_URL');
const API_URL = env('TABS_API_URL');
const API_KEY = env('TABS_API_KEY');
const SECRET = env('TABS_SECRET');
const PAGE_URL = env('TABS_PAGE_URL');
const TAG = env('TABS_TAG');
const OVERALL_MS = Number(process.env.TABS_CLIENT_TIMEOUT_MS || 100_000);
const TABS = 3;
const HANDOVER_PUBLICATIONS = 300;
// Connection tokens are short, so that the SDK refreshes them through getToken during the run:
// the owner must ask a tab that is still there.
const TOKEN_TTL_S = 4;

// Init scripts run before the page's own: they take away what a browser may lack.
const MODES = {
  'shared-worker': { init: null, shared: true },
  leader: { init: 'delete window.SharedWorker;', shared: true },
  tab: { init: 'delete window.SharedWorker; delete window.BroadcastChannel;', shared: false },
};
const CHECKS = {
  'shared-worker': ['share', 'unsubscribe', 'handover', 'token'],
  leader: ['share', 'unsubscribe', 'handover', 'token'],
  tab: ['share', 'unsubscribe', 'close-one', 'token'],
};

const only = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) if (argv[i] === '--only') only.push(argv[++i]);
const wanted = (mode, check) =>
  only.length === 0 || only.some((o) => o === mode || o === `${mode}/${check}` || o === `${mode}/*`);

/** An HS256 JWT, as the hub's client.token.hmac_secret_key verifies it. */
function mint(claims) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${unsigned}.${createHmac('sha256', SECRET).update(unsigned).digest('base64url')}`;
}

async function api(method, body) {
  const r = await fetch(`${API_URL}/${method}`, {
    method: 'POST',
    headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const reply = await r.json();
  if (r.status !== 200 || reply.error) throw new Error(`api ${method}: ${r.status} ${JSON.stringify(reply.error || reply)}`);
  return reply.result;
}

/** Connections the hub has now (nodes[].num_clients of the `info` method). */
async function sockets() {
  const info = await api('info', {});
  return info.nodes.reduce((n, node) => n + (node.num_clients || 0), 0);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last === true) return;
    await sleep(100);
  }
  throw new Error(`${what}${last !== false && last !== undefined ? ` (${last})` : ''} within ${timeoutMs} ms`);
}

/** Why `got` is not 0..n-1 exactly once and in order, or null when it is. */
function sequenceProblem(got, n) {
  for (let i = 0; i < Math.min(got.length, n); i++) {
    if (got[i] !== i) {
      const dup = got.indexOf(got[i]) !== i;
      return `${got.length} delivered; at index ${i} seq ${got[i]} where ${i} was due${dup ? ' (a duplicate)' : ''}`;
    }
  }
  if (got.length !== n) return `${got.length} delivered, ${n} expected`;
  return null;
}

async function publishSeq(channel, n, everyMs = 0, onEach = null) {
  for (let i = 0; i < n; i++) {
    await api('publish', { channel, data: { seq: i } });
    if (onEach) onEach(i);
    if (everyMs) await sleep(everyMs);
  }
}

const got = (page, ch) => page.evaluate((c) => window.T.got(c), ch);
const status = (page) => page.evaluate(() => window.T.status());
const sub = (page, ch) => page.evaluate((c) => window.T.sub(c), ch);
const unsub = (page, ch) => page.evaluate((c) => window.T.unsub(c), ch);

/** Every page has received `n` on `ch` (or more), then a moment for extras to show. */
async function waitDelivered(pages, ch, n, timeoutMs) {
  await waitUntil(`${n} publications on ${ch} in every tab`, async () => {
    const counts = await Promise.all(pages.map((p) => got(p, ch).then((g) => g.length)));
    return counts.every((c) => c >= n) || `counts ${counts.join(', ')}`;
  }, timeoutMs);
  await sleep(300);
}

async function expectSequences(pages, ch, n, names) {
  for (let i = 0; i < pages.length; i++) {
    const problem = sequenceProblem(await got(pages[i], ch), n);
    if (problem) throw new Error(`${names[i]} on ${ch}: ${problem}`);
  }
}

async function expectSockets(n, timeoutMs = 5000) {
  await waitUntil(`the hub to count ${n} connection(s)`, async () => {
    const have = await sockets();
    return have === n || `it counts ${have}`;
  }, timeoutMs);
}

// --- checks: each gets the mode's pages (fresh context) and its own channels ---------------

// Tabs subscribed to different channels and to a common one: one socket, each tab gets its own.
async function share(m, pages, name) {
  const [a, b, all] = [name('a'), name('b'), name('all')];
  await Promise.all([sub(pages[0], a), sub(pages[0], all), sub(pages[1], b), sub(pages[1], all), sub(pages[2], all)]);
  await expectSockets(m.shared ? 1 : TABS);
  const n = 50;
  await Promise.all([publishSeq(a, n), publishSeq(b, n), publishSeq(all, n)]);
  await waitDelivered([pages[0]], a, n, 10_000);
  await waitDelivered([pages[1]], b, n, 10_000);
  await waitDelivered(pages, all, n, 10_000);
  await expectSequences([pages[0]], a, n, ['tab 0']);
  await expectSequences([pages[1]], b, n, ['tab 1']);
  await expectSequences(pages, all, n, ['tab 0', 'tab 1', 'tab 2']);
  for (const [i, ch] of [[1, a], [2, a], [0, b], [2, b]]) {
    const extra = await got(pages[i], ch);
    if (extra.length) throw new Error(`tab ${i} got ${extra.length} publications on ${ch}, which it never subscribed to`);
  }
  await expectSockets(m.shared ? 1 : TABS, 1000);
  return `${n} publications on each of 3 channels, ${m.shared ? 'one socket' : `${TABS} sockets`}`;
}

// One tab leaves a channel another tab is on: the other's subscription goes on; the channel
// leaves the hub only with the last tab.
async function unsubscribe(m, pages, name) {
  const u = name('u');
  await Promise.all([sub(pages[0], u), sub(pages[1], u)]);
  await unsub(pages[0], u);
  await sleep(200);
  const n = 20;
  await publishSeq(u, n);
  await waitDelivered([pages[1]], u, n, 10_000);
  await expectSequences([pages[1]], u, n, ['tab 1 (still subscribed)']);
  const left = await got(pages[0], u);
  if (left.length) throw new Error(`tab 0 got ${left.length} publications after its unsubscribe`);
  const onHub = async () => Object.keys((await api('channels', { pattern: u })).channels || {}).includes(u);
  if (!(await onHub())) throw new Error(`${u} is not on the hub while tab 1 is subscribed`);
  await unsub(pages[1], u);
  await waitUntil(`${u} to leave the hub once the last tab left it`, async () => !(await onHub()), 5000);
  await expectSockets(m.shared ? 1 : TABS, 1000);
  return `tab 1 got ${n}/${n} after tab 0 left; the channel left the hub with tab 1`;
}

// The tab that owns the connection (leader, or the one that started the worker) closes while
// publications keep coming: the others get every one exactly once, in order.
async function handover(m, pages, name, modeName) {
  const h = name('h');
  await Promise.all(pages.map((p) => sub(p, h)));
  let victim = 0;
  if (modeName === 'leader') {
    const leaders = [];
    for (let i = 0; i < pages.length; i++) if ((await status(pages[i])).leader) leaders.push(i);
    if (leaders.length !== 1) throw new Error(`tabs leading: [${leaders}], one expected`);
    victim = leaders[0];
  }
  const survivors = pages.filter((_, i) => i !== victim);
  const names = pages.map((_, i) => `tab ${i}`).filter((_, i) => i !== victim);
  let closing = null;
  let closedAt = 0;
  const t0 = Date.now();
  await publishSeq(h, HANDOVER_PUBLICATIONS, 10, (i) => {
    if (i === 100) {
      closedAt = Date.now();
      closing = pages[victim].close();
    }
  });
  const publishMs = Date.now() - t0;
  await closing;
  await waitDelivered(survivors, h, HANDOVER_PUBLICATIONS, 20_000);
  await expectSequences(survivors, h, HANDOVER_PUBLICATIONS, names);
  await expectSockets(m.shared ? 1 : TABS - 1, 10_000);
  let note = '';
  if (modeName === 'leader') {
    const leaders = [];
    for (let i = 0; i < survivors.length; i++) if ((await status(survivors[i])).leader) leaders.push(names[i]);
    if (leaders.length !== 1) throw new Error(`after the handover, leading: [${leaders}], one expected`);
    note = `, ${leaders[0]} leads now`;
    const events = await survivors[0].evaluate(() => window.T.events());
    console.log(`info leader/handover: ${names[0]}: ${events.filter((e) => e.includes(h)).join('; ')}`);
  }
  pages.splice(victim, 1);
  return `tab ${victim} closed after ${closedAt - t0} ms of ${publishMs} ms publishing; ${survivors.length} tabs got ${HANDOVER_PUBLICATIONS}/${HANDOVER_PUBLICATIONS} each${note}`;
}

// The connection outlives its tokens: each refresh (TOKEN_TTL_S) is asked of a live tab (after
// a handover the tab that gave the first token is gone) and no tab sees its connection drop.
async function token(m, pages) {
  const before = await Promise.all(pages.map(status));
  const asked = (list) => list.reduce((n, s) => n + s.tokens, 0);
  await waitUntil('two token refreshes through the tabs', async () => {
    const now = await Promise.all(pages.map(status));
    return asked(now) >= asked(before) + 2 || `${asked(now) - asked(before)} so far`;
  }, (TOKEN_TTL_S * 2 + 4) * 1000);
  const after = await Promise.all(pages.map(status));
  for (let i = 0; i < pages.length; i++) {
    if (after[i].state !== 'connected' || after[i].drops !== before[i].drops) {
      throw new Error(`a live tab's connection dropped during refreshes (state ${after[i].state}, ${after[i].drops - before[i].drops} drops)`);
    }
  }
  await expectSockets(m.shared ? 1 : pages.length, 1000);
  return `${asked(after) - asked(before)} refreshes asked of live tabs (${after.map((s, i) => s.tokens - before[i].tokens).join('/')}), no drop`;
}

const RUN = { share, unsubscribe, handover, 'close-one': handover, token };

async function runMode(browser, modeName) {
  const m = MODES[modeName];
  const planned = CHECKS[modeName].filter((c) => wanted(modeName, c));
  if (!planned.length) return 0;
  let failed = 0;
  const context = await browser.newContext();
  try {
    await context.exposeFunction('mintToken', (user) => mint({ sub: user, exp: Math.floor(Date.now() / 1000) + TOKEN_TTL_S }));
    if (m.init) await context.addInitScript(m.init);
    const pages = [];
    for (let i = 0; i < TABS; i++) {
      const page = await context.newPage();
      page.on('pageerror', (err) => console.log(`[${modeName} tab ${i} page error] ${err.message}`));
      page.on('console', (msg) => {
        if (msg.type() === 'error') console.log(`[${modeName} tab ${i} console error] ${msg.text()}`);
      });
      const response = await page.goto(PAGE_URL, { timeout: 20_000 });
      if (!response || response.status() !== 200) throw new Error(`page ${PAGE_URL}: status ${response && response.status()}`);
      const mode = await page.evaluate(([ws]) => window.T.start(ws, 'alice'), [WS_URL]);
      if (mode !== modeName) throw new Error(`tab ${i} runs in mode ${mode}, not ${modeName}`);
      pages.push(page);
    }
    await waitUntil('every tab connected', async () => {
      const states = await Promise.all(pages.map((p) => status(p).then((s) => s.state)));
      return states.every((s) => s === 'connected') || `states ${states.join(', ')}`;
    }, 15_000);
    for (const check of planned) {
      const full = `${modeName}/${check}`;
      const name = (what) => `feed:${TAG}-${modeName}-${check}-${what}`;
      const t0 = Date.now();
      try {
        const note = await RUN[check](m, pages, name, modeName);
        console.log(`ok   ${full} (${note}; ${Date.now() - t0} ms)`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${full}: ${e.message.split('\n')[0]}`);
        for (let i = 0; i < pages.length; i++) {
          if (pages[i].isClosed()) continue;
          const events = await pages[i].evaluate(() => window.T.events()).catch(() => []);
          console.log(`  tab ${i} events: ${events.join('; ')}`);
        }
      }
    }
  } catch (e) {
    console.log(`FAIL ${modeName}/setup: ${e.message.split('\n')[0]}`);
    failed++;
  } finally {
    await context.close().catch(() => {});
  }
  // The last tab gone, the hub must see every connection of this mode close.
  try {
    await expectSockets(0, 10_000);
  } catch (e) {
    console.log(`FAIL ${modeName}/closed: ${e.message}`);
    failed++;
  }
  return failed;
}

for (const [mode, checks] of Object.entries(CHECKS)) {
  for (const c of checks) if (wanted(mode, c)) console.log(`plan ${mode}/${c}`);
}

await runBrowserClient({ chromium, who: 'tabs client', overallMs: OVERALL_MS }, async (launch) => {
  const browser = await launch();
  console.log(`info ${browser.version()} on ${PAGE_URL}`);
  let failed = 0;
  for (const mode of Object.keys(MODES)) failed += await runMode(browser, mode);
  return failed ? 1 : 0;
});
