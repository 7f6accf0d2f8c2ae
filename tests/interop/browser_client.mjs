#!/usr/bin/env node
// Interop client: headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// using the browser's own WebSocket API against an echo server.
// Usage: node browser_client.mjs ws://127.0.0.1:PORT [--expect-deflate [--expect-param NAME]... |
//        --expect-no-deflate]
// (or wss://, then certificate errors are ignored: the interop runner's CA is made per run).
// Chromium always offers permessage-deflate. --expect-deflate makes ws.extensions a check: it must
// contain permessage-deflate (with each --expect-param, e.g. server_no_context_takeover);
// --expect-no-deflate requires it to be empty.
// Serves a trivial page from http://127.0.0.1:<free port>/ (a realistic origin), runs the checks
// inside that page, prints one line per check, exits 0 when all pass and 1 otherwise.
// Never downloads a browser: it uses /usr/bin/chromium (override with CHROMIUM=/path).
import http from 'node:http';
import { chromium } from 'playwright-core';
import { runBrowserClient } from '../lib/chromium.mjs';

const USAGE = 'usage: node browser_client.mjs ws://HOST:PORT [--expect-deflate [--expect-param NAME]... | --expect-no-deflate]';
let url;
let expectDeflate = null; // null: only report; true / false: check
const expectParams = [];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--expect-deflate') expectDeflate = true;
  else if (a === '--expect-no-deflate') expectDeflate = false;
  else if (a === '--expect-param' && i + 1 < process.argv.length) expectParams.push(process.argv[++i]);
  else if (!a.startsWith('--') && !url) url = a;
  else { console.error(USAGE); process.exit(2); }
}
if (!url || (expectParams.length && expectDeflate !== true)) {
  console.error(USAGE);
  process.exit(2);
}
const OVERALL_TIMEOUT_MS = 110_000;

// This function runs in the page (it is serialized into the served HTML), not in Node.
async function runChecks(url, expectDeflate, expectParams) {
  const STEP_TIMEOUT_MS = 30000;
  const results = (window.__interopResults = []);
  const log = (line) => { results.push(line); };

  function asciiText(n) {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    return alphabet.repeat(Math.floor(n / alphabet.length) + 1).slice(0, n);
  }
  function randomBytes(n) {
    const a = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(a.subarray(i, Math.min(n, i + 65536)));
    return a;
  }
  // About n bytes of JSON that compresses well but is not one repeated block: chat-like records.
  function jsonText(n) {
    const parts = [];
    let len = 2;
    for (let i = 0; len < n; i++) {
      const rec = JSON.stringify({ seq: i, user: `user-${i % 97}`, channel: 'general', text: `message number ${i} from the interop test ✓`, ts: 1700000000000 + i * 17 });
      parts.push(rec);
      len += rec.length + 1;
    }
    return `[${parts.join(',')}]`;
  }
  function checkExtensions(ext) {
    if (expectDeflate === true) {
      let item = null;
      for (const it of ext.split(',')) {
        const [name, ...params] = it.split(';').map((p) => p.trim());
        if (name === 'permessage-deflate') item = new Set(params.map((p) => p.split('=')[0].trim()));
      }
      if (!item) throw new Error(`expected permessage-deflate in ws.extensions, got ${JSON.stringify(ext)}`);
      for (const p of expectParams) if (!item.has(p)) throw new Error(`expected ${p} in ws.extensions, got ${JSON.stringify(ext)}`);
    } else if (expectDeflate === false && ext !== '') {
      throw new Error(`expected no extension, ws.extensions is ${JSON.stringify(ext)}`);
    }
  }
  function firstDiff(a, b) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
    return a.length === b.length ? -1 : n;
  }
  function preview(v) {
    const s = typeof v === 'string' ? JSON.stringify(v) : `<${v.byteLength} bytes>`;
    return s.length > 80 ? s.slice(0, 77) + '...' : s;
  }

  function open(protocols) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols);
      ws.binaryType = 'arraybuffer';
      const conn = { ws, queue: [], waiters: [], closed: null, errored: false };
      const timer = setTimeout(() => reject(new Error(`handshake timed out after ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
      ws.onopen = () => { clearTimeout(timer); resolve(conn); };
      ws.onerror = () => { conn.errored = true; };
      ws.onmessage = (ev) => { conn.queue.push(ev.data); flush(conn); };
      ws.onclose = (ev) => {
        clearTimeout(timer);
        conn.closed = { code: ev.code, reason: ev.reason, wasClean: ev.wasClean };
        // Before open, the browser tells nothing but 1006: see chromium's stderr for the reason.
        reject(new Error(`handshake failed: close code=${ev.code} reason=${JSON.stringify(ev.reason)} (error event: ${conn.errored})`));
        flush(conn);
      };
    });
  }
  function why(conn) {
    const c = conn.closed;
    return `close code=${c.code} reason=${JSON.stringify(c.reason)} wasClean=${c.wasClean}`;
  }
  function flush(conn) {
    while (conn.waiters.length && conn.queue.length) conn.waiters.shift().resolve(conn.queue.shift());
    if (conn.closed) while (conn.waiters.length) conn.waiters.shift().reject(new Error(`connection ended (${why(conn)})`));
  }
  function next(conn, what) {
    if (conn.queue.length) return Promise.resolve(conn.queue.shift());
    if (conn.closed) return Promise.reject(new Error(`${what}: connection ended (${why(conn)})`));
    return new Promise((resolve, reject) => {
      const w = {};
      const timer = setTimeout(() => {
        conn.waiters = conn.waiters.filter((x) => x !== w);
        reject(new Error(`${what}: no message within ${STEP_TIMEOUT_MS} ms`));
      }, STEP_TIMEOUT_MS);
      w.resolve = (m) => { clearTimeout(timer); resolve(m); };
      w.reject = (e) => { clearTimeout(timer); reject(new Error(`${what}: ${e.message}`)); };
      conn.waiters.push(w);
    });
  }
  function waitClose(conn) {
    if (conn.closed) return Promise.resolve(conn.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no close event within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
      conn.ws.addEventListener('close', () => { clearTimeout(timer); resolve(conn.closed); });
    });
  }
  async function echoText(conn, label, text) {
    conn.ws.send(text);
    const got = await next(conn, label);
    if (typeof got !== 'string') throw new Error(`${label}: expected a text message back, got binary (${got.byteLength} bytes)`);
    if (got !== text) throw new Error(`${label}: echo differs: sent ${text.length} chars, got ${got.length} chars, first difference at char ${firstDiff(got, text)}; got ${preview(got)}`);
  }
  async function echoBinary(conn, label, bytes) {
    conn.ws.send(bytes);
    const got = await next(conn, label);
    if (typeof got === 'string') throw new Error(`${label}: expected a binary message back, got text ${preview(got)}`);
    const g = new Uint8Array(got);
    if (g.length !== bytes.length || firstDiff(g, bytes) !== -1) {
      throw new Error(`${label}: echo differs: sent ${bytes.length} bytes, got ${g.length} bytes, first difference at byte ${firstDiff(g, bytes)}`);
    }
  }

  const checks = [];
  const check = (name, fn) => checks.push({ name, fn });
  let main;
  check('handshake offering [superchat, chat] selects superchat', async () => {
    main = await open(['superchat', 'chat']);
    log(`info negotiated extensions: ${main.ws.extensions || '(none)'}`);
    if (main.ws.protocol !== 'superchat') throw new Error(`expected protocol "superchat", got ${JSON.stringify(main.ws.protocol)}`);
  });
  if (expectDeflate !== null) {
    check(expectDeflate ? `extensions: permessage-deflate${expectParams.map((p) => `; ${p}`).join('')} negotiated` : 'extensions: none negotiated',
      async () => checkExtensions(main.ws.extensions));
  }
  check('text: empty', () => echoText(main, 'text empty', ''));
  check('text: multi-byte UTF-8', () => echoText(main, 'text utf-8', 'héllo wörld ✓ 😀 日本語'));
  for (const n of [125, 126, 65535, 65536, 1 << 20]) check(`text: ${n} bytes`, () => echoText(main, `text ${n} bytes`, asciiText(n)));
  check('text: 1 MiB of JSON (compressible)', () => echoText(main, 'text 1 MiB JSON', jsonText(1 << 20)));
  for (const n of [0, 1, 125, 126, 65536, 1 << 20]) check(`binary: ${n} bytes`, () => echoBinary(main, `binary ${n} bytes`, randomBytes(n)));
  check('burst: 1000 messages in order', async () => {
    const N = 1000;
    for (let i = 0; i < N; i++) main.ws.send(`burst ${i}`);
    for (let i = 0; i < N; i++) {
      const got = await next(main, `burst message ${i}`);
      if (got !== `burst ${i}`) throw new Error(`burst: message ${i} expected "burst ${i}", got ${preview(got)}`);
    }
  });
  check('close 4000 "bye ✓" is echoed, wasClean', async () => {
    main.ws.close(4000, 'bye ✓');
    const c = await waitClose(main);
    if (c.code !== 4000 || c.reason !== 'bye ✓' || c.wasClean !== true) {
      throw new Error(`expected close code=4000 reason="bye ✓" wasClean=true, got code=${c.code} reason=${JSON.stringify(c.reason)} wasClean=${c.wasClean}`);
    }
  });
  check('handshake offering [chat] selects chat', async () => {
    const conn = await open(['chat']);
    const proto = conn.ws.protocol;
    conn.ws.close(1000);
    await waitClose(conn);
    if (proto !== 'chat') throw new Error(`expected protocol "chat", got ${JSON.stringify(proto)}`);
  });

  let failed = 0;
  for (const { name, fn } of checks) {
    const needsMain = name !== checks[0].name && !name.startsWith('handshake offering [chat]');
    if (needsMain && (!main || (main.closed && !name.startsWith('close')))) {
      log(`skip ${name}: the first connection is gone${main && main.closed ? ` (${why(main)})` : ''}`);
      continue;
    }
    const t0 = performance.now();
    try {
      await fn();
      log(`ok   ${name} (${Math.round(performance.now() - t0)} ms)`);
    } catch (e) {
      failed++;
      log(`FAIL ${name}: ${e.message}`);
    }
  }
  return { failed, results };
}

const html = `<!doctype html><meta charset="utf-8"><title>duplex interop</title>
<script>${runChecks.toString()}</script><p>duplex interop page</p>`;

const server = http.createServer((req, res) => {
  if (req.url === '/favicon.ico') {
    res.writeHead(204);
    res.end();
  } else if (req.url === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const pageUrl = `http://127.0.0.1:${server.address().port}/`;

let page;
await runBrowserClient({
  chromium,
  who: 'browser client',
  overallMs: OVERALL_TIMEOUT_MS,
  beforeTimeout: async () => {
    const partial = await Promise.race([
      page ? page.evaluate(() => window.__interopResults || []) : [],
      new Promise((r) => setTimeout(() => r([]), 3000)),
    ]);
    for (const line of partial) console.log(line);
  },
  onCleanup: () => server.close(),
}, async (launch) => {
  // wss:// to a throwaway CA the browser does not know (run.py makes it per run).
  const browser = await launch(url.startsWith('wss:') ? ['--ignore-certificate-errors'] : []);
  page = await browser.newPage();
  let started = false;
  page.on('console', (msg) => { if (started) console.log(`[page ${msg.type()}] ${msg.text()}`); });
  page.on('pageerror', (err) => console.log(`[page error] ${err.message}`));
  await page.goto(pageUrl);
  console.log(`info ${browser.version()} on ${pageUrl}`);
  started = true;
  const { failed, results } = await page.evaluate(([u, e, p]) => runChecks(u, e, p), [url, expectDeflate, expectParams]);
  for (const line of results) console.log(line);
  if (failed) console.log(`chromium client: ${failed} check(s) failed`);
  else console.log('chromium client: all checks passed');
  return failed ? 1 : 0;
});
