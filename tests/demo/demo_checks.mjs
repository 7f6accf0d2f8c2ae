#!/usr/bin/env node
// The pages of `duplex serve --demo` as people use them: headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core; never a browser download) opens each demo as two
// users, alice and bob, each in a browser context of their own (`?user=NAME`), does what a
// person would (types, sends, switches rooms, moves the mouse) and checks what the other page
// shows, through the DOM hooks the pages promise (README.md). The hub is a real one run.py
// started; the server API (`makeApi`) plays the backend and the operator.
//
//   node demo_checks.mjs --group index|chat|dashboard|results|cursors [--only CHECK[,CHECK]]
//
// Settings come from run.py through DEMO_* variables. Prints `plan <check>` for each check, then
// `ok   <check> (<ms> ms)` or `FAIL <check>: <reason>`, and `info` lines; tests/lib/harness.py
// reads them. The checks of a group share their pages (the chat's history check reads the
// messages the earlier checks sent), so they run in order; each opens what it needs when an
// earlier one did not (`--only`). Every group ends with `no-page-errors`: no console error and
// no uncaught exception on any page it opened. With DEMO_SCREENSHOTS set, a `screenshots` check
// saves the demo at 1280×800 and 375×812 once the pages show live content.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { runBrowserClient } from '../lib/chromium.mjs';
import { fmt as show, needEnv, sleep } from '../lib/checks.mjs';
import { makeApi } from '../hub/hub_node.mjs';

/** How long any one wait for something on a page may take. */
const STEP_MS = 10_000;
/** How long "nothing more arrives" is watched for. */
const QUIET_MS = 700;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };
/** Screenshots over this are a regression in the page (or in what the check left on it). */
const MAX_PNG_BYTES = 250 * 1024;

const fmt = (v) => show(v, 300);

function settings() {
  const need = (name) => needEnv(name, 'tests/demo/run.py');
  return {
    base: need('DEMO_URL').replace(/\/$/, ''),
    apiKey: need('DEMO_API_KEY'),
    feed: process.env.DEMO_FEED || null,
    screenshots: process.env.DEMO_SCREENSHOTS || null,
    tag: process.env.DEMO_TAG || Math.random().toString(16).slice(2, 8),
    overallMs: Number(process.env.DEMO_CLIENT_TIMEOUT_MS || 85_000),
  };
}

const s = settings();
const api = makeApi(`${s.base}/api`, s.apiKey);

// --- assertions and waiting ----------------------------------------------------------------------

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

function expectEq(got, want, what) {
  const [g, w] = [JSON.stringify(got), JSON.stringify(want)];
  if (g !== w) throw new Error(`${what}: got ${fmt(got)}, want ${fmt(want)}`);
}

/** Calls `probe()` every 100 ms until `pred` holds for its value (returned), for at most `ms`;
 *  then fails saying `what` and the last value. */
async function until(probe, pred, what, ms = STEP_MS) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await probe();
    if (pred(last)) return last;
    if (Date.now() > deadline) throw new Error(`${what}: still ${fmt(last)} after ${ms} ms`);
    await sleep(100);
  }
}

// --- pages ---------------------------------------------------------------------------------------

let browser = null;
const contexts = [];
/** Every console error and uncaught exception of every page, with the page's label. */
const pageErrors = [];

/** One demo page as one user sees it. */
class DemoPage {
  constructor(label, page) {
    this.label = label;
    this.page = page;
  }

  state() {
    return this.page.evaluate(() => document.body.dataset.state ?? null);
  }

  async connected() {
    await until(() => this.state(), (st) => st === 'connected', `${this.label}: body[data-state]`);
  }

  texts(selector) {
    return this.page.$$eval(selector, (els) => els.map((e) => e.textContent.trim()));
  }

  users(selector) {
    return this.page.$$eval(selector, (els) => els.map((e) => e.dataset.user));
  }

  async close() {
    await this.page.close().catch(() => {});
  }
}

/** A fresh browser context: one person's browser. */
async function newContext() {
  const context = await browser.newContext({ viewport: DESKTOP, deviceScaleFactor: 1 });
  contexts.push(context);
  return context;
}

/**
 * Opens `path` as `user` (`?user=NAME`) in `context` (default: a fresh one), with its console
 * errors and uncaught exceptions recorded; `label` names it in failures (default: the user);
 * `beforeLoad(page)` runs before the navigation (to watch its requests).
 */
async function openPage(path, user, { context = null, label = user, beforeLoad = null } = {}) {
  const ctx = context ?? await newContext();
  const page = await ctx.newPage();
  if (beforeLoad) beforeLoad(page);
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const where = msg.location()?.url ? ` (${msg.location().url})` : '';
      pageErrors.push(`${label} ${path}: console error: ${msg.text()}${where}`);
    }
  });
  page.on('pageerror', (err) => pageErrors.push(`${label} ${path}: uncaught ${err.message}`));
  const url = `${s.base}${path}${user ? `?user=${encodeURIComponent(user)}` : ''}`;
  const res = await page.goto(url, { timeout: STEP_MS });
  if (!res || res.status() !== 200) throw new Error(`${url}: HTTP ${res && res.status()}`);
  return new DemoPage(label, page);
}

/** Opens `path` as `user` and waits for `body[data-state=connected]`. */
async function openConnected(path, user, options) {
  const p = await openPage(path, user, options);
  await p.connected();
  return p;
}

/** Saves `p` as DIR/demo-<name>.png at 1280×800 and DIR/demo-<name>-phone.png at 375×812
 *  (`ready()` runs again after the resize, for layouts that redraw), then restores the size.
 *  CSS animations are stopped at their end unless `animations: 'allow'` (a flash caught
 *  mid-way). */
async function screenshots(name, p, ready = async () => {}, { animations = 'disabled' } = {}) {
  const files = [];
  for (const [suffix, size] of [['', DESKTOP], ['-phone', PHONE]]) {
    await p.page.setViewportSize(size);
    await sleep(400); // resize observers, charts, the status pill's transition
    await ready();
    const path = join(s.screenshots, `demo-${name}${suffix}.png`);
    await p.page.screenshot({ path, animations, caret: 'hide' });
    const bytes = statSync(path).size;
    expect(bytes < MAX_PNG_BYTES, `${path} is ${bytes} bytes (over ${MAX_PNG_BYTES})`);
    files.push(`${path} (${Math.round(bytes / 1024)} KB)`);
  }
  await p.page.setViewportSize(DESKTOP);
  console.log(`info screenshots: ${files.join(', ')}`);
}

const GROUPS = {};

// --- index ---------------------------------------------------------------------------------------

const DEMOS = ['/chat', '/dashboard', '/results', '/cursors'];

GROUPS.index = {
  async 'lists-demos'() {
    const p = await openPage('/', null, { label: 'index' });
    const hrefs = await p.page.$$eval('a[href]', (els) => els.map((a) => new URL(a.href).pathname));
    const demos = DEMOS.filter((d) => hrefs.includes(d));
    expectEq(demos, DEMOS, 'links on / to the four demos');
    for (const path of DEMOS) {
      await p.page.click(`a[href="${path}"]`);
      await p.page.waitForURL(`${s.base}${path}`, { timeout: STEP_MS });
      await until(() => p.state(), (st) => st === 'connected', `${path} (followed from /): body[data-state]`);
      await p.page.goBack({ timeout: STEP_MS });
    }
  },

  async 'assets-load'() {
    // Every request each page makes (scripts, styles, the vendored SDK, the worker, tokens)
    // succeeds, from the first navigation until the page is connected and settled.
    const failed = [];
    for (const path of ['/', ...DEMOS]) {
      let watching = true;
      const watch = (page) => {
        page.on('requestfailed', (r) => { if (watching) failed.push(`${path}: ${r.url()} ${r.failure()?.errorText}`); });
        page.on('response', (r) => { if (watching && r.status() >= 400) failed.push(`${path}: ${r.url()} HTTP ${r.status()}`); });
      };
      const p = await openPage(path, 'alice', { label: `assets ${path}`, beforeLoad: watch });
      if (path !== '/') await p.connected();
      await sleep(300);
      watching = false; // closing aborts what is in flight: not the page's fault
      await p.page.context().close();
    }
    expectEq(failed, [], 'failed requests');
  },

  async screenshots() {
    const p = await openPage('/', null, { label: 'index' });
    await screenshots('index', p);
  },
};

// --- chat ----------------------------------------------------------------------------------------

const chat = { alice: null, bob: null, sent: [] };
const msg = (who, n) => `${who} ${n} · ${s.tag}`;

async function chatPair() {
  if (!chat.alice) chat.alice = await openConnected('/chat', 'alice');
  if (!chat.bob) chat.bob = await openConnected('/chat', 'bob');
  return chat;
}

/** What `p` shows in #messages: [{user, offset, text}] in page order. */
function messagesOn(p) {
  return p.page.$$eval('#messages li.message', (els) => els.map((e) => ({
    user: e.dataset.user, offset: e.dataset.offset, text: e.querySelector('.text')?.textContent ?? null,
  })));
}

/** Sends `text` as a person does: types it into #message-input and submits #message-form. */
async function send(p, text) {
  await p.page.fill('#message-input', text);
  await p.page.$eval('#message-form', (f) => f.requestSubmit());
}

/** Waits until `p` shows exactly `want` (texts, in order) from `user`; `what` says whose view. */
async function seesMessages(p, user, want, what) {
  const texts = async () => (await messagesOn(p)).filter((m) => m.user === user).map((m) => m.text);
  await until(texts, (got) => got.length >= want.length, `${what}: messages from ${user}`);
  await sleep(QUIET_MS); // duplicates arrive late, if at all
  expectEq(await texts(), want, `${what}: messages from ${user}, once each, in order`);
}

/** Types into `p`'s #message-input a key every 150 ms, as a person does, until `seen()` holds
 *  (the page sends at most one typing signal every 2 s, so the first keys may say nothing);
 *  fails after `ms` saying `what` and the last value. */
async function typeUntil(p, seen, what, ms = 6000) {
  const deadline = Date.now() + ms;
  const input = p.page.locator('#message-input');
  let last;
  for (let i = 0; ; i++) {
    await input.press('abcdefghijklmnopqrstuvwxyz'[i % 26]);
    last = await seen();
    if (last) return;
    if (Date.now() > deadline) throw new Error(`${what}: nothing after ${ms} ms of typing`);
    await sleep(150);
  }
}

function presentIn(p) {
  return p.users('#presence li[data-user]');
}

GROUPS.chat = {
  async presence() {
    const { alice, bob } = await chatPair();
    await until(() => presentIn(alice), (u) => u.includes('bob') && u.includes('alice'), 'alice\'s #presence');
    await until(() => presentIn(bob), (u) => u.includes('alice') && u.includes('bob'), 'bob\'s #presence');
  },

  async 'twenty-in-order'() {
    const { alice, bob } = await chatPair();
    const texts = Array.from({ length: 20 }, (_, i) => msg('alice', i + 1));
    for (const text of texts) await send(alice, text);
    chat.sent.push(...texts.map((text) => ({ user: 'alice', text })));
    await seesMessages(bob, 'alice', texts, 'bob');
    await seesMessages(alice, 'alice', texts, 'alice (her own, as the hub delivered them)');
    const offsets = (await messagesOn(bob)).map((m) => Number(m.offset));
    expect(offsets.every((o, i) => i === 0 || o > offsets[i - 1]), `bob's data-offset not increasing: ${fmt(offsets)}`);
  },

  async typing() {
    const { alice, bob } = await chatPair();
    const bobSees = async () => ((await bob.page.textContent('#typing')) ?? '').includes('alice is typing…');
    await typeUntil(alice, bobSees, 'bob\'s #typing saying "alice is typing…" while alice types');
    const own = await alice.page.textContent('#typing');
    expect(!(own ?? '').includes('alice is typing'), `alice's own #typing says ${fmt(own)}`);
    await alice.page.fill('#message-input', '');
  },

  async 'user-presence'() {
    const { alice, bob } = await chatPair();
    // A second tab of alice's (same browser, same user): presence is per user, so bob still
    // sees one alice, and when the tab closes alice (still in her first tab) stays.
    const second = await openConnected('/chat', 'alice', { context: alice.page.context(), label: 'alice (2nd tab)' });
    await until(() => presentIn(second), (u) => u.includes('bob') && u.includes('alice'), 'alice\'s 2nd tab #presence');
    await sleep(QUIET_MS);
    expectEq((await presentIn(bob)).filter((u) => u === 'alice'), ['alice'], 'bob\'s #presence entries for alice with two alice tabs');
    await second.close();
    await sleep(1500); // a leave, if the hub sent one, arrives within this
    expectEq((await presentIn(bob)).filter((u) => u === 'alice'), ['alice'], 'bob\'s #presence entries for alice after her 2nd tab closed');
  },

  async 'history-on-join'() {
    await chatPair();
    if (!chat.sent.length) {
      // Run alone (--only): send a few first.
      const texts = [1, 2, 3].map((n) => msg('alice', n));
      for (const text of texts) await send(chat.alice, text);
      chat.sent.push(...texts.map((text) => ({ user: 'alice', text })));
    }
    const carol = await openConnected('/chat', 'carol');
    const want = chat.sent.filter((m) => m.user === 'alice').map((m) => m.text);
    await seesMessages(carol, 'alice', want, 'carol, who joined after them');
    await until(() => presentIn(carol), (u) => ['alice', 'bob', 'carol'].every((x) => u.includes(x)), 'carol\'s #presence');
    await carol.page.context().close();
  },

  async recovery() {
    const { alice, bob } = await chatPair();
    const before = await messagesOn(alice);
    // The server API disconnects alice with a code that tells her SDK to reconnect (4000-4499:
    // an application's own, docs/protocol.md); it waits 0.5-1 s first (its backoff), and bob's
    // three messages go in that gap.
    await api('disconnect', { user: 'alice', disconnect: { code: 4000, reason: 'demo test' } });
    await alice.page.waitForFunction(() => document.body.dataset.state !== 'connected', null, { timeout: STEP_MS, polling: 10 });
    const texts = [1, 2, 3].map((n) => msg('bob', n));
    await bob.page.evaluate((list) => {
      const input = document.getElementById('message-input');
      const form = document.getElementById('message-form');
      for (const text of list) {
        input.value = text;
        form.requestSubmit();
      }
    }, texts);
    // Bob's page shows his messages once the hub delivered them back: alice must still be away.
    await until(async () => (await messagesOn(bob)).filter((m) => m.user === 'bob').length, (n) => n >= 3, 'bob\'s own messages');
    const away = await alice.state();
    expect(away !== 'connected', 'alice was back before bob\'s three messages were delivered (the test\'s timing, not the page)');
    await seesMessages(bob, 'bob', texts, 'bob (his own)');
    chat.sent.push(...texts.map((text) => ({ user: 'bob', text })));

    const notices = () => alice.texts('#messages li.notice');
    const got = await until(notices, (n) => n.some((t) => /recovered \d+/.test(t)), 'alice\'s notices');
    const reconnecting = got.findIndex((t) => t.includes('reconnecting…'));
    const recovered = got.findIndex((t) => /recovered \d+/.test(t));
    expect(reconnecting >= 0 && reconnecting < recovered, `alice's notices: no "reconnecting…" before "recovered": ${fmt(got)}`);
    expect(got[recovered].includes('recovered 3'), `alice's notice says ${fmt(got[recovered])}, want "recovered 3"`);
    await alice.connected();
    const want = [...before.map((m) => m.text), ...texts];
    await until(async () => (await messagesOn(alice)).map((m) => m.text), (t) => t.length >= want.length, 'alice\'s messages');
    await sleep(QUIET_MS);
    const after = await messagesOn(alice);
    expectEq(after.map((m) => m.text), want, 'alice\'s messages after the recovery, once each, in order');
    const offsets = after.map((m) => Number(m.offset));
    expect(offsets.every((o, i) => i === 0 || o > offsets[i - 1]), `alice's data-offset not increasing: ${fmt(offsets)}`);
  },

  async rooms() {
    const { alice, bob } = await chatPair();
    for (const p of [alice, bob]) await p.page.click('button[data-room="random"]');
    await until(() => presentIn(alice), (u) => u.includes('bob'), 'alice\'s #presence in #random');
    await until(() => presentIn(bob), (u) => u.includes('alice'), 'bob\'s #presence in #random');
    const [fromAlice, fromBob] = [`random from alice · ${s.tag}`, `random from bob · ${s.tag}`];
    await send(alice, fromAlice);
    await send(bob, fromBob);
    await api('publish', { channel: 'chat:lobby', data: { text: `lobby meanwhile · ${s.tag}` } });
    for (const [p, what] of [[alice, 'alice in #random'], [bob, 'bob in #random']]) {
      await until(async () => (await messagesOn(p)).map((m) => m.text), (t) => t.includes(fromAlice) && t.includes(fromBob), what);
      await sleep(QUIET_MS);
      expectEq((await messagesOn(p)).map((m) => m.text), [fromAlice, fromBob], `${what}: only #random's messages`);
    }
  },

  async screenshots() {
    // A conversation as people have it, in a room the other checks left empty (#rust): alice
    // and bob type and send in turn, each waiting for the other's message, then bob types a
    // reply he has not sent yet. Alice's page is the picture: both present, only these
    // messages (no test ones, no notices), "bob is typing…".
    const { alice, bob } = await chatPair();
    for (const p of [alice, bob]) await p.page.click('button[data-room="rust"]');
    for (const [p, other] of [[alice, 'bob'], [bob, 'alice']]) {
      await until(() => presentIn(p), (u) => u.includes(other) && u.includes(p.label), `${p.label}'s #presence in #rust`);
    }
    const said = [];
    for (const [p, text] of CONVERSATION.map(([who, text]) => [who === 'alice' ? alice : bob, text])) {
      await p.page.locator('#message-input').pressSequentially(text, { delay: 12 });
      await p.page.$eval('#message-form', (f) => f.requestSubmit());
      said.push(text);
      for (const q of [alice, bob]) {
        await until(async () => (await messagesOn(q)).map((m) => m.text), (t) => t.length >= said.length, `${q.label}'s #rust messages`);
      }
      await sleep(250); // reading it before answering
    }
    expectEq((await messagesOn(alice)).map((m) => m.text), said, 'alice\'s #rust: only the conversation');
    expectEq(await alice.texts('#messages li.notice, #messages li.empty'), [], 'alice\'s #rust notices');
    // Bob types his next reply, a key at a time, until both pictures are taken (the page
    // shows "is typing…" for 3 s after a signal, and signals at most every 2 s).
    let typing = true;
    const draft = (async () => {
      const input = bob.page.locator('#message-input');
      while (typing) {
        for (const ch of BOB_DRAFT) {
          if (!typing) break;
          await input.pressSequentially(ch);
          await sleep(110);
        }
        if (typing) await input.fill('');
      }
    })();
    try {
      const bobTyping = () => alice.page.textContent('#typing').then((t) => (t ?? '').trim());
      await until(bobTyping, (t) => t === 'bob is typing…', 'alice\'s #typing while bob types');
      await screenshots('chat', alice, async () => {
        await alice.page.$eval('#messages', (m) => { m.scrollTop = m.scrollHeight; });
        // A phone shows the conversation's bottom (the input) only scrolled down.
        await alice.page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
        await until(bobTyping, (t) => t === 'bob is typing…', 'alice\'s #typing while bob types');
      });
    } finally {
      typing = false;
      await draft;
      await bob.page.fill('#message-input', '');
    }
  },
};

/** The chat pictures' conversation: [who, text], in order. */
const CONVERSATION = [
  ['bob', 'Morning! CI is green apart from one flaky test on the reconnect path.'],
  ['alice', 'The one that times out on the slow runner?'],
  ['bob', 'That one. The backoff waited a full second before the first retry.'],
  ['alice', 'Ha, good catch. Is the fix up for review?'],
  ['bob', 'Yes, only a few lines. Then we can ship the release.'],
  ['alice', 'Looking now. Lunch after we tag it?'],
];
const BOB_DRAFT = 'Deal, the usual place at 1';

// --- dashboard -----------------------------------------------------------------------------------

const dash = { alice: null, bob: null };

async function dashPair() {
  if (!dash.alice) dash.alice = await openConnected('/dashboard', 'alice');
  if (!dash.bob) dash.bob = await openConnected('/dashboard', 'bob');
  return dash;
}

async function metric(p, name) {
  const text = await p.page.textContent(`[data-metric="${name}"]`);
  const n = Number.parseFloat((text ?? '').replace(/[^0-9.eE+\-]/g, ''));
  return Number.isFinite(n) ? n : null;
}

async function points(p) {
  return Number(await p.page.evaluate(() => document.body.dataset.points ?? 'NaN'));
}

GROUPS.dashboard = {
  async connections() {
    const { alice, bob } = await dashPair();
    for (const p of [alice, bob]) {
      await until(() => metric(p, 'connections'), (n) => n !== null && n >= 2, `${p.label}: [data-metric=connections]`);
    }
  },

  async 'points-grow'() {
    const { alice, bob } = await dashPair();
    for (const p of [alice, bob]) await until(() => points(p), (n) => n >= 1, `${p.label}: body[data-points]`);
    const before = [await points(alice), await points(bob)];
    await sleep(3000);
    const after = [await points(alice), await points(bob)];
    expect(after[0] >= before[0] + 2 && after[1] >= before[1] + 2,
      `body[data-points] over 3 s (a point a second): alice ${before[0]} → ${after[0]}, bob ${before[1]} → ${after[1]}`);
  },

  async 'numbers-move'() {
    const { alice } = await dashPair();
    // The hub's own point a second already makes a delivery or two a second (one per dashboard):
    // traffic of about ten publications a second to a room a chat page reads must show above it.
    const quiet = { pub: await metric(alice, 'publications_per_second'), del: await metric(alice, 'deliveries_per_second') };
    const reader = await openConnected('/chat', 'dora');
    let n = 0;
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        await api('publish', { channel: 'chat:lobby', data: { text: `dashboard traffic ${++n}` } }).catch(() => {});
        await sleep(100);
      }
    })();
    try {
      const del = await until(() => metric(alice, 'deliveries_per_second'), (v) => v !== null && v >= 5, `alice: [data-metric=deliveries_per_second] (before the traffic: ${quiet.del})`, 8000);
      const pub = await until(() => metric(alice, 'publications_per_second'), (v) => v !== null && v >= 5, `alice: [data-metric=publications_per_second] (before the traffic: ${quiet.pub})`, 4000);
      const p99 = await metric(alice, 'latency_p99');
      console.log(`info dashboard: publications/s ${quiet.pub} → ${pub}, deliveries/s ${quiet.del} → ${del} with ${n} publications sent; latency_p99 shows ${p99}`);
    } finally {
      stop = true;
      await traffic;
      await reader.page.context().close();
    }
  },

  async screenshots() {
    const { alice } = await dashPair();
    await until(() => points(alice), (n) => n >= 3, 'alice: body[data-points]');
    await screenshots('dashboard', alice);
  },
};

// --- results -------------------------------------------------------------------------------------

const results = { alice: null, bob: null, feed: null, changedSeen: false };

async function resultsPair() {
  if (!results.alice) results.alice = await openConnected('/results', 'alice');
  if (!results.bob) results.bob = await openConnected('/results', 'bob');
  return results;
}

/** Runs the feed to its end (`--updates 30`), watching `pages` for a `.changed` cell meanwhile. */
function runFeed(args, pages) {
  return new Promise((resolve, reject) => {
    const child = spawn(s.feed, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    let done = false;
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, 30_000);
    (async () => {
      while (!done) {
        for (const p of pages) {
          if (await p.page.$('.changed').catch(() => null)) results.changedSeen = true;
        }
        await sleep(100);
      }
    })();
    child.on('error', (e) => { done = true; clearTimeout(timer); reject(new Error(`cannot run ${s.feed}: ${e.message}`)); });
    child.on('close', (code, signal) => {
      done = true;
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

/** Runs results-feed against the hub once per group (`--interval-ms 200 --updates 30 --seed 7`),
 *  alice's and bob's pages open and watched for `.changed` meanwhile; later calls return the
 *  first run (or its failure). */
async function feedOnce() {
  if (!results.feed) results.feed = runFeedOnce();
  return results.feed;
}

async function runFeedOnce() {
  expect(s.feed, 'DEMO_FEED (the results-feed binary) is not set');
  const { alice, bob } = await resultsPair();
  const port = new URL(s.base).port;
  const args = ['--url', `http://127.0.0.1:${port}`, '--api-key', s.apiKey, '--interval-ms', '200', '--updates', '30', '--seed', '7'];
  const t0 = Date.now();
  const run = await runFeed(args, [alice, bob]);
  expect(run.code === 0, `results-feed exited with ${run.code ?? run.signal}: ${run.out.trim().split('\n').slice(-3).join(' | ')}`);
  console.log(`info results: results-feed published 30 snapshots in ${Date.now() - t0} ms`);
  return run;
}

/** The newest publication on results:scoreboard, read back through the server API. */
async function lastSnapshot() {
  const history = await api('history', { channel: 'results:scoreboard', limit: 1, reverse: true });
  const last = (history.publications || [])[0];
  expect(last && last.data && Array.isArray(last.data.matches), `history of results:scoreboard: ${fmt(history)}`);
  return last;
}

/** What a results page shows: round, matches (scores as numbers), the table's order and points. */
function board(p) {
  return p.page.evaluate(() => ({
    round: document.body.dataset.round ?? null,
    matches: [...document.querySelectorAll('#matches tr[data-match]')].map((tr) => {
      const cells = [...tr.cells].map((c) => c.textContent.trim());
      const score = tr.querySelector('.score')?.textContent ?? '';
      return { id: tr.dataset.match, teams: cells.filter((c) => /^[A-Z][a-z]+$/.test(c)), score: (score.match(/\d+/g) ?? []).map(Number) };
    }),
    table: [...document.querySelectorAll('#table tr[data-team]')].map((tr) => tr.dataset.team),
    points: [...document.querySelectorAll('#table tr[data-team]')].map((tr) => Number(tr.cells[tr.cells.length - 1].textContent.trim())),
  }));
}

/** What `board` should read for `snapshot`. */
function expectedBoard(snapshot) {
  return {
    round: String(snapshot.round),
    matches: snapshot.matches.map((m) => ({
      id: m.id, teams: [m.home, m.away], score: m.status === 'scheduled' ? [] : [m.home_score, m.away_score],
    })),
    table: snapshot.table.map((t) => t.team),
    points: snapshot.table.map((t) => t.points),
  };
}

GROUPS.results = {
  async 'empty-state'() {
    const history = await api('history', { channel: 'results:scoreboard', limit: 1, reverse: true });
    expect(!(history.publications || []).length, 'results:scoreboard already has publications: this check needs a fresh hub');
    const { alice } = await resultsPair();
    await alice.page.waitForSelector('#empty', { state: 'visible', timeout: STEP_MS });
    const command = await until(() => alice.page.textContent('#feed-command'), (t) => (t ?? '').includes('results-feed'), 'alice: the empty state\'s #feed-command');
    const info = await (await fetch(`${s.base}/demo/info`)).json();
    expect(String(info.feed_command).includes('results-feed'), `GET /demo/info: ${fmt(info)}`);
    console.log(`info results: the empty state says ${fmt(command.trim())}`);
    expectEq(await alice.page.$$('#matches tr[data-match]').then((r) => r.length), 0, 'match rows before any snapshot');
  },

  async 'feed-to-both-pages'() {
    const { alice, bob } = await resultsPair();
    await feedOnce();
    const last = await lastSnapshot();
    const want = expectedBoard(last.data);
    for (const p of [alice, bob]) {
      const got = await until(() => board(p), (b) => JSON.stringify(b) === JSON.stringify(want), `${p.label}'s board vs the last snapshot (offset ${last.offset}) ${fmt(want)}`, 5000);
      expect(got.matches.length === 3, `${p.label}: ${got.matches.length} match rows`);
    }
  },

  async 'changed-marked'() {
    await feedOnce();
    expect(results.changedSeen, 'no cell had class "changed" while 30 snapshots came in');
  },

  async screenshots() {
    // The board as it looks while a round is played: a second run of the feed (its league
    // starts again from round 1) at about a real match's pace (a tick every 0.5 s, so the 4 s
    // flash marks the last few minutes only), caught with every match live between the 30th
    // and the 80th minute right after a goal, the only one still flashing (the table is a live
    // one: it counts the scores in play, and marks the rows the goal moved). The feed stops
    // there, so both pictures show the same board, taken with the flash's animation running
    // (disabled, it would be over).
    const { alice } = await resultsPair();
    await feedOnce();
    const port = new URL(s.base).port;
    const child = spawn(s.feed, ['--url', `http://127.0.0.1:${port}`, '--api-key', s.apiKey,
      '--interval-ms', '500', '--updates', '60', '--seed', '18'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => { child.on('close', resolve); child.on('error', resolve); });
    try {
      // A goal: a score that differs from the previous look (a tick is 0.5 s, a look 0.1 s).
      let before = null;
      await until(async () => {
        const now = await alice.page.evaluate(() => ({
          scores: [...document.querySelectorAll('#matches .score')].map((el) => el.textContent),
          minutes: [...document.querySelectorAll('#matches .status')].map((el) =>
            (el.classList.contains('live') ? Number.parseInt(el.textContent, 10) : NaN)),
          flashing: document.querySelectorAll('#matches .changed').length,
        }));
        const goals = before ? now.scores.filter((sc, i) => sc !== before.scores[i]).length : 0;
        before = now;
        return { ...now, goals };
      }, (b) => b.goals === 1 && b.flashing === 1 && b.minutes.length === 3 && b.minutes.every((m) => m >= 30 && m <= 80),
      'alice\'s board mid-round right after a goal, the only one flashing', 25_000);
      child.kill('SIGKILL');
      await exited;
      await screenshots('results', alice, async () => {}, { animations: 'allow' });
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  },
  async 'late-page'() {
    // A page opened after the feed stopped draws the board from history alone.
    await feedOnce();
    const last = await lastSnapshot();
    const carol = await openConnected('/results', 'carol');
    const want = expectedBoard(last.data);
    await until(() => board(carol), (b) => JSON.stringify(b) === JSON.stringify(want), `carol's board vs the last snapshot ${fmt(want)}`, 5000);
    await carol.page.context().close();
  },

};

// --- cursors -------------------------------------------------------------------------------------

const cur = { alice: null, bob: null };

async function cursorPair() {
  if (!cur.alice) cur.alice = await openConnected('/cursors', 'alice');
  if (!cur.bob) cur.bob = await openConnected('/cursors', 'bob');
  for (const p of [cur.alice, cur.bob]) {
    await until(() => p.page.evaluate(() => document.querySelector('#canvas') !== null), Boolean, `${p.label}: #canvas`);
  }
  return cur;
}

/** Moves `p`'s mouse to (fx, fy) of its #canvas (fractions of its box); returns them. */
async function moveTo(p, fx, fy) {
  const box = await p.page.locator('#canvas').boundingBox();
  expect(box && box.width > 0 && box.height > 0, `${p.label}: #canvas has no box (${fmt(box)})`);
  await p.page.mouse.move(box.x + fx * box.width, box.y + fy * box.height, { steps: 4 });
  return [fx, fy];
}

/** Where `viewer` draws `user`'s cursor: [left, top] in % (null when it draws none). */
function cursorOf(viewer, user) {
  return viewer.page.evaluate((u) => {
    const el = document.querySelector(`.cursor[data-user="${u}"]`);
    return el ? [Number.parseFloat(el.style.left), Number.parseFloat(el.style.top)] : null;
  }, user);
}

async function follows(mover, viewer) {
  for (const [fx, fy] of [[0.25, 0.4], [0.7, 0.65], [0.5, 0.2]]) {
    await moveTo(mover, fx, fy);
    await until(() => cursorOf(viewer, mover.label), (c) => c && Math.abs(c[0] - fx * 100) < 2 && Math.abs(c[1] - fy * 100) < 2,
      `${viewer.label}'s .cursor[data-user=${mover.label}] (left/top %) for ${mover.label} at ${fx * 100}%, ${fy * 100}%`, 5000);
  }
}

GROUPS.cursors = {
  async here() {
    const { alice, bob } = await cursorPair();
    for (const p of [alice, bob]) {
      await until(() => p.users('#here li[data-user]'), (u) => u.includes('alice') && u.includes('bob'), `${p.label}'s #here`);
    }
  },

  async 'alice-to-bob'() {
    const { alice, bob } = await cursorPair();
    await follows(alice, bob);
  },

  async 'bob-to-alice'() {
    const { alice, bob } = await cursorPair();
    await follows(bob, alice);
    expect(await cursorOf(alice, 'alice') === null, 'alice\'s page draws her own cursor');
  },

  async screenshots() {
    // Two cursors on alice's page (her own pointer is not drawn): bob's and carol's.
    const { alice, bob } = await cursorPair();
    const carol = await openConnected('/cursors', 'carol');
    await moveTo(bob, 0.3, 0.35);
    await moveTo(carol, 0.68, 0.6);
    for (const who of ['bob', 'carol']) await until(() => cursorOf(alice, who), Boolean, `alice's .cursor[data-user=${who}]`);
    await screenshots('cursors', alice);
    await carol.page.context().close();
    await until(() => alice.users('#here li[data-user]'), (u) => !u.includes('carol'), 'alice\'s #here after carol left');
  },

  async leave() {
    const { alice, bob } = await cursorPair();
    if (!(await cursorOf(alice, 'bob'))) await follows(bob, alice);
    await bob.page.context().close();
    cur.bob = null;
    await until(async () => ({ cursor: await cursorOf(alice, 'bob'), here: await alice.users('#here li[data-user]') }),
      (v) => v.cursor === null && !v.here.includes('bob'), 'alice\'s page after bob\'s closed (bob\'s .cursor and #here entry)');
  },
};

// Every group ends with this one.
for (const checks of Object.values(GROUPS)) {
  checks['no-page-errors'] = async () => {
    await sleep(200); // an error on the last action's heels
    expectEq(pageErrors, [], 'console errors and uncaught exceptions');
  };
}

// --- main ----------------------------------------------------------------------------------------

async function runChecks(checks, names) {
  let failed = 0;
  for (const name of names) {
    const t0 = Date.now();
    try {
      await checks[name]();
      console.log(`ok   ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${String(e && e.message ? e.message : e).split('\n')[0]}`);
    }
  }
  return failed;
}

const args = process.argv.slice(2);
const at = args.indexOf('--group');
const group = at >= 0 ? args[at + 1] : null;
if (!GROUPS[group]) {
  console.log(`FAIL setup: --group takes one of ${Object.keys(GROUPS).join(', ')} (got ${group})`);
  process.exit(2);
}
const checks = GROUPS[group];
if (!s.screenshots) delete checks.screenshots;
// --only CHECK[,CHECK]: those checks, in the group's order.
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? String(args[onlyAt + 1] ?? '').split(',').filter(Boolean) : null;
const unknown = (only ?? []).filter((n) => !(n in checks) && !(n === 'screenshots' && !s.screenshots));
if (unknown.length) {
  console.log(`FAIL setup: unknown check ${unknown[0]}; checks: ${Object.keys(checks).join(', ')}`);
  process.exit(2);
}
const names = Object.keys(checks).filter((n) => !only || only.includes(n));
for (const n of names) console.log(`plan ${n}`);

await runBrowserClient({ chromium, who: `${group} client`, overallMs: s.overallMs }, async (launch) => {
  browser = await launch();
  const failed = await runChecks(checks, names);
  for (const c of contexts) await c.close().catch(() => {});
  console.log(failed ? `${group} client: ${failed} check(s) failed` : `${group} client: all checks passed`);
  return failed ? 1 : 0;
});
